package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/mod/sumdb/note"
)

// keyBytes is the size of a key keygen makes: what a chain key and a
// redaction salt each need at least.
const keyBytes = 32

// runKeygen writes a new random key to a file, as hex text, for
// --key-file and --salt-file (and the JWTAUDIT_CHAIN_KEY and
// JWTAUDIT_REDACTION_SALT variables). The file is created with mode 0600
// and never overwritten: replacing a chain key or a salt cuts the trail in
// two.
//
// With --checkpoint NAME it writes an Ed25519 checkpoint signing key
// instead, in the note format (note.NewSigner reads it), and prints the
// verifier key that `verify --checkpoint-key` takes.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	flags := newFlags("keygen", "keygen [--checkpoint NAME] FILE", stderr)
	checkpoint := flags.String("checkpoint", "", "write a checkpoint signing key of this name instead of 32 random bytes")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "jwtaudit keygen: give exactly one file")
		flags.Usage()
		return exitUsage
	}
	path := flags.Arg(0)
	key := make([]byte, keyBytes)
	if _, err := rand.Read(key); err != nil {
		fmt.Fprintln(stderr, "jwtaudit keygen:", err)
		return exitUsage
	}
	text, done := hex.EncodeToString(key), fmt.Sprintf("wrote %d random bytes, hex, to %s (mode 0600)", keyBytes, path)
	if *checkpoint != "" {
		skey, vkey, err := note.GenerateKey(rand.Reader, *checkpoint)
		if err != nil {
			fmt.Fprintln(stderr, "jwtaudit keygen:", err)
			return exitUsage
		}
		text, done = skey, fmt.Sprintf("wrote the checkpoint signing key %s to %s (mode 0600); its verifier key, for --checkpoint-key:\n%s", *checkpoint, path, vkey)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		fmt.Fprintf(stderr, "jwtaudit keygen: %s exists; a key is never overwritten\n", path)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit keygen:", err)
		return exitUsage
	}
	_, err = fmt.Fprintln(f, text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		fmt.Fprintln(stderr, "jwtaudit keygen:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, done)
	return exitOK
}
