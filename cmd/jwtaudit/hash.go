package main

import (
	"fmt"
	"io"

	"github.com/jwtaudit/jwtaudit"
)

func runHash(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("hash", "hash [--salt-file FILE] VALUE", stderr)
	saltFile := fs.String("salt-file", "", "file holding the redaction salt (default $JWTAUDIT_REDACTION_SALT)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "jwtaudit hash: give exactly one value")
		fs.Usage()
		return exitUsage
	}
	salt, err := secret(*saltFile, "JWTAUDIT_REDACTION_SALT")
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit hash: salt:", err)
		return exitUsage
	}
	if salt == nil {
		fmt.Fprintln(stderr, "jwtaudit hash: no salt: give --salt-file or set JWTAUDIT_REDACTION_SALT")
		return exitUsage
	}
	r, err := jwtaudit.NewRedactor(salt)
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit hash:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, r.Hash(fs.Arg(0)))
	return exitOK
}
