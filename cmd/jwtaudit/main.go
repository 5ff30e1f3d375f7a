// Command jwtaudit works with the audit trail that jwtaudit's file sink
// (package auditlog) writes.
//
//	jwtaudit verify [--key-file FILE] [--head [INSTANCE=]SEQ:HASH|FILE]... [--checkpoint-key KEY]... [--open-tail] [--instance ID]... [--fleet FILE] LOG...
//	jwtaudit summary [--json] [--top N] LOG...
//	jwtaudit report [the flags of verify] [-o FILE] [--top N] LOG...
//	jwtaudit hash [--salt-file FILE] VALUE
//	jwtaudit keygen [--checkpoint NAME] FILE
//
// verify checks the hash chain across a log and its rotated files and names
// the first line that was edited, deleted, inserted, reordered or torn;
// summary counts what the trail records; report writes it as one HTML
// page that opens offline (charts drawn as SVG, no script); hash prints the redaction hash of
// a value, to search a redacted trail; keygen makes a chain key, a
// redaction salt, or a checkpoint signing key.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0
	exitProblem = 1 // the log does not verify
	exitUsage   = 2 // bad arguments, unreadable files
)

const usage = `jwtaudit works with the audit trail written by jwtaudit's file sink.

Usage:
  jwtaudit verify [--key-file FILE] [--head [INSTANCE=]SEQ:HASH|FILE]... [--checkpoint-key KEY]...
                  [--open-tail] [--instance ID]... [--fleet FILE] LOG...
        Check the hash chain of a log and its rotated files (in any order).
        Exits 1 naming the first bad line: edited, deleted, inserted,
        reordered or torn. With --head, also detects records cut from the end.
        With --checkpoint-key (repeatable), every checkpoint must be signed
        by one of the keys, and every record covered by one (a closed log
        ends with a checkpoint): a rewritten chain, or one whose last
        checkpoints were stripped, is caught whatever the chain key.
        --open-tail accepts records after the last checkpoint of a log still
        being written, within its cadence. Logs of several instances are
        verified each on its own; --instance and --fleet say which instances
        the fleet has, and --head INSTANCE=HEAD each one's saved head, so
        that a log missing or rolled back fails.
  jwtaudit summary [--json] [--top N] LOG...
        Count events by operation, outcome and reason; list the busiest
        subjects, key ids and issuers of the events whose claims are vouched
        for (issued, verified, revoked) and, apart, what rejected tokens
        claimed; each instance's counts, rejections per hour, and the time
        range.
  jwtaudit report [the flags of verify] [-o FILE] [--top N] LOG...
        Write one self-contained HTML page (default report.html): the chain
        verdict per instance, decisions and rejections over time, key
        changes, fetches, revocations and replays, the busiest subjects, key
        ids and issuers, and each instance's counts. It opens offline.
  jwtaudit hash [--salt-file FILE] VALUE
        Print the redaction hash of VALUE, to search a redacted trail.
  jwtaudit keygen FILE
        Write 32 random bytes, as hex, to a new FILE (mode 0600): a chain
        key for --key-file or a redaction salt for --salt-file.
  jwtaudit keygen --checkpoint NAME FILE
        Write a new Ed25519 checkpoint signing key named NAME to FILE (mode
        0600, for note.NewSigner) and print its verifier key, for
        --checkpoint-key.

Keys are read from files (surrounding white space is ignored) or from the
environment: JWTAUDIT_CHAIN_KEY for --key-file, JWTAUDIT_REDACTION_SALT for
--salt-file.

Run 'jwtaudit COMMAND --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	commands := map[string]func([]string, io.Writer, io.Writer) int{
		"verify":  runVerify,
		"summary": runSummary,
		"hash":    runHash,
		"keygen":  runKeygen,
		"report":  runReport,
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		cmd, ok := commands[name]
		if !ok {
			fmt.Fprintf(stderr, "jwtaudit: unknown command %q\n\n%s", name, usage)
			return exitUsage
		}
		return cmd(args[1:], stdout, stderr)
	}
}

// newFlags makes a command's flag set, printing its help on -h.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: jwtaudit %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns an exit code and false when the command
// should stop (help was asked for, or the flags were wrong).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	}
	return exitOK, true
}

// secret reads a key from a file, or else from an environment variable.
// Surrounding white space is not part of it, so that a key written by
// `openssl rand -hex 32 > FILE` works as is.
func secret(path, env string) ([]byte, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		key := strings.TrimSpace(string(data))
		if key == "" {
			return nil, fmt.Errorf("%s is empty", path)
		}
		return []byte(key), nil
	}
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return []byte(v), nil
	}
	return nil, nil
}
