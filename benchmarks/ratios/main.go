// Command ratios runs the comparison benchmarks in interleaved rounds and
// prints each workload's cost as a ratio to golang-jwt's (or to the bare
// cryptography's), the median of the rounds' ratios with their range.
// With -write it puts the tables in the README between the markers
// "<!-- ratios:begin -->" and "<!-- ratios:end -->": the README's
// figures are made by this program, not typed.
//
//	cd benchmarks && go run ./ratios -rounds 15 -write
//
// One round runs every benchmark once; a ratio is taken between two
// benchmarks of the same round, seconds apart, so that the machine's
// drift over the minutes of a run (other load, frequency, a noisy
// neighbour) largely cancels out.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

func main() {
	rounds := flag.Int("rounds", 15, "rounds of the whole benchmark set")
	benchtime := flag.String("benchtime", "300ms", "-benchtime of each benchmark in a round")
	readme := flag.String("readme", "../README.md", "README to write the tables into, with -write")
	write := flag.Bool("write", false, "write the tables into the README between its ratios markers")
	flag.Parse()
	log.SetFlags(0)
	if *rounds < 1 {
		log.Fatal("ratios: -rounds must be at least 1")
	}

	dir, err := os.MkdirTemp("", "ratios")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "benchmarks.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		log.Fatalf("ratios: building the benchmarks: %v\n%s", err, out)
	}

	var runs []round
	cpu := ""
	for i := range *rounds {
		out, err := exec.Command(bin, "-test.run", "^$", "-test.bench", ".", "-test.benchmem",
			"-test.benchtime", *benchtime).CombinedOutput()
		if err != nil {
			log.Fatalf("ratios: round %d: %v\n%s", i+1, err, out)
		}
		r, c := parse(out)
		cpu = c
		runs = append(runs, r)
		log.Printf("round %d of %d: %d benchmarks", i+1, *rounds, len(r))
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "`cd benchmarks && go run ./ratios -rounds %d -benchtime %s`, %s, %s, GOMAXPROCS %d.\n",
		*rounds, *benchtime, cpuName(cpu), runtime.Version(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&buf, "Each cell is the median over the rounds of that round's ratio, with the\nlowest and highest in brackets, and the allocations per operation.\n\n")
	writeRatios(&buf, runs)
	buf.WriteString("\n")
	writeAbsolute(&buf, runs)
	os.Stdout.Write(buf.Bytes())
	if *write {
		if err := replaceBetweenMarkers(*readme, buf.Bytes()); err != nil {
			log.Fatal(err)
		}
	}
}

// result is one benchmark's figures in one round.
type result struct {
	ns     float64
	allocs int64
}

// round maps a benchmark's name, without the -GOMAXPROCS suffix, to its
// result.
type round map[string]result

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s(\d+) allocs/op)?`)

func parse(out []byte) (round, string) {
	r := round{}
	cpu := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = strings.TrimSpace(c)
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		allocs, _ := strconv.ParseInt(m[3], 10, 64)
		r[m[1]] = result{ns: ns, allocs: allocs}
	}
	return r, cpu
}

func cpuName(cpu string) string {
	if cpu == "" {
		return runtime.GOARCH
	}
	return cpu
}

// columns are the contenders, in the tables' order.
var columns = []struct{ suffix, title string }{
	{"golang-jwt", "golang-jwt v5"},
	{"jwtaudit-json", "jwtaudit, audit to JSONSink"},
	{"jwtaudit-slogJSON", "jwtaudit, audit to SlogSink (slog JSON)"},
	{"jwtaudit-off", "jwtaudit, no audit"},
	{"bare", "bare crypto + base64"},
}

// rows are the workloads: the benchmark whose sub-benchmarks are the
// columns, and the column every ratio is taken to.
var rows = []struct{ title, bench, base string }{
	{"Verify HS256", "BenchmarkVerify/HS256", "golang-jwt"},
	{"Issue HS256", "BenchmarkIssue/HS256", "golang-jwt"},
	{"VerifyParallel HS256 (all cores)", "BenchmarkVerifyParallel/HS256", "golang-jwt"},
	{"Verify HS256 again, jwtaudit with WithVerifiedCache", "BenchmarkVerifyCached/HS256", "golang-jwt"},
	{"Verify ES256 again, jwtaudit with WithVerifiedCache", "BenchmarkVerifyCached/ES256", "golang-jwt"},
	{"Verify ES256, × bare", "BenchmarkVerify/ES256", "bare"},
	{"Verify EdDSA, × bare", "BenchmarkVerify/EdDSA", "bare"},
	{"Verify RS256, × bare", "BenchmarkVerify/RS256", "bare"},
}

func writeRatios(buf *bytes.Buffer, runs []round) {
	buf.WriteString("| workload |")
	for _, c := range columns {
		fmt.Fprintf(buf, " %s |", c.title)
	}
	buf.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(columns)) + "\n")
	for _, row := range rows {
		fmt.Fprintf(buf, "| %s |", row.title)
		for _, c := range columns {
			fmt.Fprintf(buf, " %s |", cell(runs, row.bench+"/"+c.suffix, row.bench+"/"+row.base, ""))
		}
		buf.WriteString("\n")
	}
	// The audit alone: the event of one HS256 Verify recorded by each
	// sink, and the difference it makes to a whole Verify.
	golangJWT := "BenchmarkVerify/HS256/golang-jwt"
	fmt.Fprintf(buf, "| audit event of a Verify HS256 alone (Record), × golang-jwt's Verify | — | %s | %s | — | — |\n",
		cell(runs, "BenchmarkAuditEvent/jwtaudit-json", golangJWT, ""),
		cell(runs, "BenchmarkAuditEvent/jwtaudit-slogJSON", golangJWT, ""))
	fmt.Fprintf(buf, "| audited − unaudited Verify HS256, × golang-jwt's Verify | — | %s | %s | — | — |\n",
		cell(runs, "BenchmarkVerify/HS256/jwtaudit-json", golangJWT, "BenchmarkVerify/HS256/jwtaudit-off"),
		cell(runs, "BenchmarkVerify/HS256/jwtaudit-slogJSON", golangJWT, "BenchmarkVerify/HS256/jwtaudit-off"))
}

// cell is the median and range over the rounds of (num − minus) / den,
// and num's allocations; "—" when a round lacks one of them.
func cell(runs []round, num, den, minus string) string {
	var ratios []float64
	var allocs []int64
	for _, r := range runs {
		n, ok1 := r[num]
		d, ok2 := r[den]
		m, ok3 := r[minus]
		if !ok1 || !ok2 || (minus != "" && !ok3) || d.ns == 0 {
			return "—"
		}
		ratios = append(ratios, (n.ns-m.ns)/d.ns)
		allocs = append(allocs, n.allocs-m.allocs)
	}
	slices.Sort(ratios)
	slices.Sort(allocs)
	if num == den {
		return fmt.Sprintf("1.00× (%d allocs)", median(allocs))
	}
	return fmt.Sprintf("%.2f× [%.2f–%.2f] (%d allocs)", median(ratios), ratios[0], ratios[len(ratios)-1], median(allocs))
}

func median[T int64 | float64](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// writeAbsolute lists every benchmark's median time and allocations, so
// that a ratio can be traced to the figures it came from.
func writeAbsolute(buf *bytes.Buffer, runs []round) {
	names := make([]string, 0, len(runs[0]))
	for name := range runs[0] {
		names = append(names, name)
	}
	slices.Sort(names)
	buf.WriteString("| benchmark | ns/op, median [range] | allocs/op |\n| --- | ---: | ---: |\n")
	for _, name := range names {
		var ns []float64
		var allocs []int64
		for _, r := range runs {
			if res, ok := r[name]; ok {
				ns = append(ns, res.ns)
				allocs = append(allocs, res.allocs)
			}
		}
		slices.Sort(ns)
		slices.Sort(allocs)
		fmt.Fprintf(buf, "| %s | %.0f [%.0f–%.0f] | %d |\n", strings.TrimPrefix(name, "Benchmark"),
			median(ns), ns[0], ns[len(ns)-1], median(allocs))
	}
}

const beginMarker, endMarker = "<!-- ratios:begin -->\n", "<!-- ratios:end -->"

// replaceBetweenMarkers puts text between the README's ratios markers.
func replaceBetweenMarkers(path string, text []byte) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin := bytes.Index(old, []byte(beginMarker))
	end := bytes.Index(old, []byte(endMarker))
	if begin < 0 || end < begin {
		return fmt.Errorf("ratios: %s has no %q … %q markers", path, strings.TrimSpace(beginMarker), endMarker)
	}
	var out bytes.Buffer
	out.Write(old[:begin+len(beginMarker)])
	out.Write(text)
	out.Write(old[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
