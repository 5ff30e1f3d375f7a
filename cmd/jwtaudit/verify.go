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
	fs := newFlags("verify", verifySynopsis, stderr)
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
	if len(reports) == 1 && len(opts.Instances) == 0 && len(opts.Heads) == 0 {
		return printVerdict(stdout, stderr, reports[0].Report, reports[0].Err, opts, "")
	}
	// A fleet: each instance's chain on its own, a verdict each.
	code := exitOK
	for _, r := range reports {
		prefix := "instance " + shown(r.Instance) + ": "
		one := opts
		if h, ok := opts.Heads[r.Instance]; ok {
			one.Head = &h
		}
		if c := printVerdict(stdout, stderr, r.Report, r.Err, one, prefix); c > code {
			code = c
		}
	}
	return code
}

// verifySynopsis is the verify command's usage line.
const verifySynopsis = "verify [--key-file FILE] [--head [INSTANCE=]SEQ:HASH|FILE]... [--checkpoint-key KEY]... [--open-tail] [--instance ID]... [--fleet FILE] LOG..."

// chainFlags defines the flags that say how to verify a chain and what a
// fleet should be (--key-file, --head, --checkpoint-key, --open-tail,
// --instance, --fleet) and returns what reads them, once parsed, into
// VerifyOptions.
func chainFlags(fs *flag.FlagSet) func() (auditlog.VerifyOptions, error) {
	keyFile := fs.String("key-file", "", "file holding the chain key the log was written with (default $JWTAUDIT_CHAIN_KEY)")
	var heads, checkpointKeys, instances []string
	fs.Func("head", "a saved head, as SEQ:HASH, or a file holding {\"seq\":…,\"hash\":…} or a published checkpoint; for an instance of a fleet, INSTANCE=HEAD (repeat for each)", func(v string) error {
		heads = append(heads, v)
		return nil
	})
	fs.Func("checkpoint-key", "a checkpoint signer's verifier key (name+hash+key); repeat for several", func(k string) error {
		checkpointKeys = append(checkpointKeys, k)
		return nil
	})
	openTail := fs.Bool("open-tail", false, "the log is still being written: records after its last checkpoint are accepted, within its cadence")
	fs.Func("instance", "an instance the fleet has: its log must be among the files (repeat for each)", func(id string) error {
		instances = append(instances, id)
		return nil
	})
	fleetFile := fs.String("fleet", "", "a file naming the fleet's instances, one a line: INSTANCE, or INSTANCE HEAD")
	return func() (auditlog.VerifyOptions, error) {
		key, err := secret(*keyFile, "JWTAUDIT_CHAIN_KEY")
		if err != nil {
			return auditlog.VerifyOptions{}, fmt.Errorf("chain key: %w", err)
		}
		opts := auditlog.VerifyOptions{ChainKey: key, CheckpointKeys: checkpointKeys, OpenTail: *openTail, Instances: instances}
		if *fleetFile != "" {
			if err := readFleet(*fleetFile, &opts); err != nil {
				return opts, fmt.Errorf("--fleet: %w", err)
			}
		}
		for _, h := range heads {
			if err := addHead(&opts, h); err != nil {
				return opts, fmt.Errorf("--head: %w", err)
			}
		}
		return opts, nil
	}
}

// addHead reads one --head value: INSTANCE=HEAD for an instance of a
// fleet, or a head of the one log verified.
func addHead(opts *auditlog.VerifyOptions, v string) error {
	if id, h, ok := strings.Cut(v, "="); ok && auditlog.CheckInstance(id) == nil {
		head, err := parseHead(h)
		if err != nil {
			return fmt.Errorf("instance %s: %w", shown(id), err)
		}
		if opts.Heads == nil {
			opts.Heads = map[string]auditlog.Head{}
		}
		if _, dup := opts.Heads[id]; dup {
			return fmt.Errorf("two heads for instance %s", shown(id))
		}
		opts.Heads[id] = head
		return nil
	}
	if opts.Head != nil {
		return errors.New("two heads for one log: for a fleet, name each head's instance (INSTANCE=HEAD)")
	}
	head, err := parseHead(v)
	if err != nil {
		return err
	}
	opts.Head = &head
	return nil
}

// readFleet reads a fleet file: one instance a line, alone or followed by
// its head (as --head takes it); empty lines and lines starting with # are
// skipped.
func readFleet(path string, opts *auditlog.VerifyOptions) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) > 2 || auditlog.CheckInstance(fields[0]) != nil {
			return fmt.Errorf("%s:%d: want INSTANCE or INSTANCE HEAD", path, n+1)
		}
		opts.Instances = append(opts.Instances, fields[0])
		if len(fields) == 2 {
			if err := addHead(opts, fields[0]+"="+fields[1]); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n+1, err)
			}
		}
	}
	return nil
}

// printVerdict prints one chain's verdict, each line after prefix, and
// returns the exit code it calls for.
func printVerdict(stdout, stderr io.Writer, rep auditlog.Report, err error, opts auditlog.VerifyOptions, prefix string) int {
	var ce *auditlog.ChainError
	var fe *auditlog.FleetError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(stdout, "%sFAILED %s\n", prefix, shown(ce.Error()))
		return exitProblem
	case errors.As(err, &fe):
		fmt.Fprintf(stdout, "%sFAILED %s\n", prefix, shown(fe.Problem))
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
	if rep.Checkpoints > 0 && rep.Uncovered > 0 {
		fmt.Fprintf(stdout, "%snot covered: the %d record(s) after the last checkpoint, %d to %d, are vouched for by the chain alone\n",
			prefix, rep.Uncovered, rep.Head.Seq-rep.Uncovered+1, rep.Head.Seq)
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
