#!/usr/bin/env bash
# instructions.sh PACKAGE BENCHMARK: the instructions one iteration of a
# benchmark executes, counted by valgrind's callgrind. Unlike a time, the
# count does not move with the machine's load.
#
# It runs the benchmark for 1,001 and for 5,001 iterations and divides the
# difference by 4,000, so that set-up and start-up cancel out. GOGC=off
# keeps the collector's work out of the count; GOMAXPROCS=1 keeps idle
# threads from spinning under valgrind, which runs them one at a time; and
# asynchronous preemption is off, since callgrind cannot follow its
# signals. Needs valgrind (Debian: apt-get install valgrind).
#
# From the repository's root:
#
#   benchmarks/instructions.sh ./httpauth '^BenchmarkMiddleware$/^verify-alone$'
set -euo pipefail
pkg=$1
bench=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/bench.test" "$pkg"
cd "$pkg"
count() {
	GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
		--callgrind-out-file="$dir/out.$1" "$dir/bench.test" \
		-test.run '^$' -test.bench "$bench" -test.benchtime "${1}x" -test.benchmem >"$dir/log.$1" 2>&1 ||
		{ cat "$dir/log.$1" >&2; exit 1; }
	sed -n 's/^summary: //p' "$dir/out.$1"
}
few=$(count 1001)
many=$(count 5001)
grep '^Benchmark' "$dir/log.5001"
echo "instructions per iteration: $(((many - few) / 4000))"
