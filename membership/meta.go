package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/memberlist"
)

// Node meta layout (what memberlist gossips for each member):
//
//	byte 0    format version (metaVersion)
//	byte 1    flags (metaLeaving; unknown bits are ignored)
//	then      for each tag, sorted by key:
//	          uvarint len(key), key, uvarint len(value), value
//
// Keys are unique, non-empty and strictly increasing, so the encoding of a
// tag set is canonical.
const (
	metaVersion byte = 1

	// metaLeaving marks a member that is leaving on purpose. memberlist's
	// NotifyLeave does not say whether a node left or died (the Node it
	// passes never carries the state), so a leaving member first gossips
	// this flag; the view then reports "left" rather than "dead".
	metaLeaving byte = 1 << 0

	// metaDraining marks a member that is going away soon (a spot
	// interruption, a rebalance recommendation, an Auto Scaling
	// termination) and still serves until it leaves: views show it as
	// "draining" (see Cluster.SetDraining).
	metaDraining byte = 1 << 1

	metaHeaderLen = 2
)

// ErrMetaTooLarge is wrapped by EncodeTags when the tags do not fit in
// memberlist's node meta.
var ErrMetaTooLarge = errors.New("tags too large for node meta")

// EncodeTags encodes tags as node meta. It fails when the result exceeds
// memberlist.MetaMaxSize (512 bytes) or a key is empty.
func EncodeTags(tags map[string]string) ([]byte, error) {
	return encodeMeta(tags, 0)
}

// DecodeTags decodes node meta written by EncodeTags. Empty meta (a member
// without tags) decodes to an empty map; malformed meta is an error.
func DecodeTags(meta []byte) (map[string]string, error) {
	tags, _, err := decodeMeta(meta)
	return tags, err
}

func encodeMeta(tags map[string]string, flags byte) ([]byte, error) {
	keys := make([]string, 0, len(tags))
	size := metaHeaderLen
	for k, v := range tags {
		if k == "" {
			return nil, fmt.Errorf("tag with an empty key (value %q): every tag needs a name", v)
		}
		keys = append(keys, k)
		size += uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
	}
	if size > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: %d tags encode to %d bytes, over memberlist's limit of %d bytes: shorten or drop tags",
			ErrMetaTooLarge, len(tags), size, memberlist.MetaMaxSize)
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, metaVersion, flags)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		v := tags[k]
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b, nil
}

func decodeMeta(meta []byte) (map[string]string, byte, error) {
	tags := map[string]string{}
	if len(meta) == 0 {
		return tags, 0, nil
	}
	if meta[0] != metaVersion {
		return nil, 0, fmt.Errorf("node meta has format version %d, this agent reads only version %d: upgrade the agent", meta[0], metaVersion)
	}
	if len(meta) < metaHeaderLen {
		return nil, 0, fmt.Errorf("node meta is truncated: %d bytes, header needs %d", len(meta), metaHeaderLen)
	}
	flags := meta[1]
	rest := meta[metaHeaderLen:]
	prev := ""
	for len(rest) > 0 {
		k, n, err := readString(rest)
		if err != nil {
			return nil, 0, fmt.Errorf("node meta tag key at byte %d: %w", len(meta)-len(rest), err)
		}
		rest = rest[n:]
		v, n, err := readString(rest)
		if err != nil {
			return nil, 0, fmt.Errorf("node meta value of tag %q: %w", k, err)
		}
		rest = rest[n:]
		if k == "" {
			return nil, 0, errors.New("node meta has a tag with an empty key")
		}
		if len(tags) > 0 && k <= prev {
			return nil, 0, fmt.Errorf("node meta tag %q is out of order or repeated after %q", k, prev)
		}
		tags[k] = v
		prev = k
	}
	return tags, flags, nil
}

// readString reads one uvarint-length-prefixed string and returns it with
// the number of bytes consumed.
func readString(b []byte) (string, int, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 {
		return "", 0, errors.New("bad length prefix")
	}
	if l > uint64(len(b)-n) {
		return "", 0, fmt.Errorf("length %d exceeds the %d bytes left", l, len(b)-n)
	}
	end := n + int(l)
	return string(b[n:end]), end, nil
}

func uvarintLen(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(n))
}
