package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// keygenBytes is the key size: 32 bytes selects AES-256 in memberlist's keyring.
const keygenBytes = 32

func init() {
	register(&command{
		Name:     "keygen",
		Synopsis: "print a new random gossip encryption key (base64, 32 bytes)",
		Usage:    "",
		Run:      runKeygen,
	})
}

func runKeygen(_ context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("keygen", env)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "keygen", fs) {
		return exitUsage
	}
	key := make([]byte, keygenBytes)
	if _, err := rand.Read(key); err != nil {
		errorf(env, "keygen", "reading random bytes: %v", err)
		return 1
	}
	fmt.Fprintln(env.Stdout, base64.StdEncoding.EncodeToString(key))
	return 0
}
