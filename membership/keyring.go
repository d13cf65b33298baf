package membership

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/memberlist"
)

// Key rotation across a live cluster, one step at a time, each step on
// every member (for example by editing the config and reloading):
//
//  1. SetKeys([old, new]): install the new key; old stays primary.
//  2. SetKeys([new, old]): make the new key primary; old still decrypts.
//  3. SetKeys([new]):      remove the old key.
//
// A member always decrypts with every installed key, so no step loses
// anyone as long as each step has reached every member before the next.

// SetKeys installs keys, makes keys[0] the primary (encrypting) key and
// removes installed keys that are not listed. Encryption cannot be turned
// on or off at runtime: a cluster created without Keys rejects non-empty
// keys, and an encrypted one rejects an empty list.
func (c *Cluster) SetKeys(keys [][]byte) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	switch {
	case c.keyring == nil && len(keys) == 0:
		return nil
	case c.keyring == nil:
		return errors.New("membership: SetKeys: this node started without gossip encryption, which cannot be turned on at runtime: restart the agent with keys")
	case len(keys) == 0:
		return errors.New("membership: SetKeys: empty key list: gossip encryption cannot be turned off at runtime; keep at least the primary key")
	}
	if err := validateKeys(keys); err != nil {
		return fmt.Errorf("membership: SetKeys: %w", err)
	}
	keys = cloneKeys(keys)
	for _, k := range keys {
		if err := c.keyring.AddKey(k); err != nil {
			return fmt.Errorf("membership: SetKeys: install key: %w", err)
		}
	}
	listed := func(k []byte) bool {
		return slices.ContainsFunc(keys, func(w []byte) bool { return bytes.Equal(w, k) })
	}
	// memberlist's RemoveKey shifts the keyring's backing array in place
	// while decrypting goroutines may be reading it (they get it from
	// GetKeys without a copy); removing only the last element writes
	// nothing. UseKey builds a fresh array with its key first and the rest
	// in order, so using the listed keys from last to first leaves them in
	// order at the front and the unlisted ones at the end. Only when some
	// key goes away does a listed non-primary key lead for an instant.
	installed := cloneKeys(c.keyring.GetKeys())
	order := [][]byte{keys[0]}
	if slices.ContainsFunc(installed, func(k []byte) bool { return !listed(k) }) {
		order = slices.Clone(keys)
		slices.Reverse(order)
	}
	for _, k := range order {
		if err := c.keyring.UseKey(k); err != nil {
			return fmt.Errorf("membership: SetKeys: make key primary: %w", err)
		}
	}
	for i := len(installed) - 1; i >= 0; i-- {
		cur := c.keyring.GetKeys()
		last := cur[len(cur)-1]
		if listed(last) {
			break
		}
		if err := c.keyring.RemoveKey(bytes.Clone(last)); err != nil {
			return fmt.Errorf("membership: SetKeys: remove old key: %w", err)
		}
	}
	return nil
}

// Keys returns copies of the installed gossip keys, primary first; nil
// when gossip is not encrypted.
func (c *Cluster) Keys() [][]byte {
	if c.keyring == nil {
		return nil
	}
	return cloneKeys(c.keyring.GetKeys())
}

// GenerateKey returns a new random 32-byte (AES-256) gossip key.
func GenerateKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("membership: generate key: %w", err)
	}
	return k, nil
}

// EncodeKey returns key in standard base64, the form config files hold.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// DecodeKey parses a standard base64 gossip key and checks its size.
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("membership: gossip key is not valid base64 (generate one with `farmhand keygen`): %w", err)
	}
	if err := memberlist.ValidateKey(k); err != nil {
		return nil, fmt.Errorf("membership: gossip key decodes to %d bytes; it must be 16, 24 or 32 (generate one with `farmhand keygen`)", len(k))
	}
	return k, nil
}

// DecodeKeys decodes several base64 keys, naming the one that is bad.
func DecodeKeys(ss []string) ([][]byte, error) {
	out := make([][]byte, 0, len(ss))
	for i, s := range ss {
		k, err := DecodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func validateKeys(keys [][]byte) error {
	for i, k := range keys {
		if memberlist.ValidateKey(k) != nil {
			return fmt.Errorf("key %d is %d bytes; gossip keys must be 16, 24 or 32 bytes (generate one with `farmhand keygen`)", i, len(k))
		}
		for j := range i {
			if bytes.Equal(keys[j], k) {
				return fmt.Errorf("key %d repeats key %d; list each key once", i, j)
			}
		}
	}
	return nil
}

func cloneKeys(keys [][]byte) [][]byte {
	if keys == nil {
		return nil
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = bytes.Clone(k)
	}
	return out
}
