package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/jwtaudit/jwtaudit/auditlog"
	tlog "github.com/transparency-dev/formats/log"
)

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "verify [--key-file FILE] [--head SEQ:HASH|FILE] [--checkpoint-key KEY] LOG...", stderr)
	verifyOptions := chainFlags(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "jwtaudit verify: no log file given")
		fs.Usage()
		return exitUsage
	}
	opts, err := verifyOptions()
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit verify:", err)
		return exitUsage
	}
	reports, err := auditlog.VerifyInstances(fs.Args(), opts)
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit verify:", err)
		return exitUsage
	}
	if len(reports) == 1 {
		return printVerdict(stdout, stderr, reports[0].Report, reports[0].Err, opts, "")
	}
	// A fleet: each instance's chain on its own, a verdict each.
	code := exitOK
	for _, r := range reports {
		prefix := "instance " + shown(r.Instance) + ": "
		if c := printVerdict(stdout, stderr, r.Report, r.Err, opts, prefix); c > code {
			code = c
		}
	}
	return code
}

// chainFlags defines the flags that say how to verify a chain (--key-file,
// --head, --checkpoint-key) and returns what reads them, once parsed, into
// VerifyOptions.
func chainFlags(fs *flag.FlagSet) func() (auditlog.VerifyOptions, error) {
	keyFile := fs.String("key-file", "", "file holding the chain key the log was written with (default $JWTAUDIT_CHAIN_KEY)")
	headArg := fs.String("head", "", "a saved head, as SEQ:HASH, or a file holding {\"seq\":…,\"hash\":…} or a published checkpoint")
	var checkpointKeys []string
	fs.Func("checkpoint-key", "a checkpoint signer's verifier key (name+hash+key); repeat for several", func(k string) error {
		checkpointKeys = append(checkpointKeys, k)
		return nil
	})
	return func() (auditlog.VerifyOptions, error) {
		key, err := secret(*keyFile, "JWTAUDIT_CHAIN_KEY")
		if err != nil {
			return auditlog.VerifyOptions{}, fmt.Errorf("chain key: %w", err)
		}
		opts := auditlog.VerifyOptions{ChainKey: key, CheckpointKeys: checkpointKeys}
		if *headArg != "" {
			head, err := parseHead(*headArg)
			if err != nil {
				return opts, fmt.Errorf("--head: %w", err)
			}
			opts.Head = &head
		}
		return opts, nil
	}
}

// printVerdict prints one chain's verdict, each line after prefix, and
// returns the exit code it calls for.
func printVerdict(stdout, stderr io.Writer, rep auditlog.Report, err error, opts auditlog.VerifyOptions, prefix string) int {
	var ce *auditlog.ChainError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(stdout, "%sFAILED %s\n", prefix, shown(ce.Error()))
		return exitProblem
	case err != nil:
		fmt.Fprintf(stderr, "jwtaudit verify: %s%v\n", prefix, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%sok: %d records, %d to %d, in %d file(s): %s\n",
		prefix, rep.Records, rep.FirstSeq, rep.Head.Seq, len(rep.Files), shown(strings.Join(rep.Files, " ")))
	switch {
	case rep.Checkpoints > 0 && len(opts.CheckpointKeys) > 0:
		fmt.Fprintf(stdout, "%scheckpoints: %d, signed by the keys given; the last signs records to %d\n", prefix, rep.Checkpoints, rep.LastCheckpoint)
	case rep.Checkpoints > 0:
		fmt.Fprintf(stdout, "%scheckpoints: %d, matching the chain (signatures unchecked: give --checkpoint-key); the last signs records to %d\n", prefix, rep.Checkpoints, rep.LastCheckpoint)
	}
	if opts.Head == nil {
		fmt.Fprintf(stdout, "%shead: %d:%s\n%s(keep the head elsewhere; --head %d:%s then also detects records cut from the end)\n",
			prefix, rep.Head.Seq, rep.Head.Hash, prefix, rep.Head.Seq, rep.Head.Hash)
	} else {
		fmt.Fprintf(stdout, "%sthe saved head, record %d, is in the log unchanged\n", prefix, opts.Head.Seq)
	}
	return exitOK
}

// parseHead reads SEQ:HASH, or else a head from a file: JSON, or a signed
// checkpoint the store published (its record count and hash are a head).
func parseHead(arg string) (auditlog.Head, error) {
	if seq, hash, ok := strings.Cut(arg, ":"); ok {
		n, err := strconv.ParseUint(seq, 10, 64)
		if err == nil && len(hash) == 64 {
			return auditlog.Head{Seq: n, Hash: hash}, nil
		}
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return auditlog.Head{}, fmt.Errorf("neither SEQ:HASH nor a readable file: %w", err)
	}
	if text, _, ok := strings.Cut(string(data), "\n\n"); ok {
		var cp tlog.Checkpoint
		if _, err := cp.Unmarshal([]byte(text + "\n")); err == nil && cp.Size > 0 && len(cp.Hash) == 32 {
			return auditlog.Head{Seq: cp.Size, Hash: hex.EncodeToString(cp.Hash)}, nil
		}
	}
	var h auditlog.Head
	if err := json.Unmarshal(data, &h); err != nil || h.Seq == 0 || len(h.Hash) != 64 {
		return auditlog.Head{}, fmt.Errorf("%s does not hold a head ({\"seq\":N,\"hash\":\"64 hex digits\"}, or a signed checkpoint)", arg)
	}
	return h, nil
}
