package auditlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// TestStressAsyncToRotatingSink runs 8 goroutines of mixed Issue and
// Verify calls, a third of the verifications on forged tokens, through an
// AsyncSink into a rotating Sink: every call must leave exactly one record,
// the sequence numbers must run without a gap, and the chain must verify
// across the rotated files.
//
// By default each goroutine makes 2,500 calls (20,000 records, a few
// rotated files), enough to prove the point in the everyday test run, race
// detector included. JWTAUDIT_STRESS_FULL=1 makes it 50,000 each (400,000
// records), which CI runs as a step of its own, without the race detector.
func TestStressAsyncToRotatingSink(t *testing.T) {
	goroutines, calls := 8, 2_500
	if os.Getenv("JWTAUDIT_STRESS_FULL") == "1" {
		calls = 50_000
	}
	path := filepath.Join(t.TempDir(), "token.log")
	store, err := Open(path, Options{MaxSize: 4 << 20, ChainKey: testChainKey, Durability: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	async := jwtaudit.NewAsyncSink(store, jwtaudit.AsyncOptions{QueueSize: 1024})
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(async))
	is, _ := jwtaudit.NewIssuer(shared)
	v, _ := jwtaudit.NewVerifier(shared)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var outcomes [4]int // issued, verified, rejected, unexpected
	for g := range goroutines {
		wg.Go(func() {
			var local [4]int
			var last string
			for i := range calls {
				ctx := context.Background()
				if i%2 == 0 || last == "" {
					raw, err := is.Issue(ctx, jwtaudit.Claims{Subject: fmt.Sprintf("user-%d-%d", g, i)})
					if err != nil {
						local[3]++
						continue
					}
					last = raw
					local[0]++
					continue
				}
				tok := last
				forged := i%3 == 0
				if forged {
					tok = tokentest.TamperSignature(tok)
				}
				_, err := v.Verify(ctx, tok)
				switch {
				case err == nil && !forged:
					local[1]++
				case err != nil && forged:
					local[2]++
				default:
					local[3]++
				}
			}
			mu.Lock()
			for i := range local {
				outcomes[i] += local[i]
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := async.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	head := store.Head()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	total := uint64(goroutines * calls)
	if outcomes[3] != 0 {
		t.Errorf("%d calls had an unexpected outcome", outcomes[3])
	}
	if s := async.Stats(); s.Enqueued != total || s.Written != total || s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("async stats %+v, want %d written", s, total)
	}
	files, _ := filepath.Glob(path + "*")
	rep, err := Verify(files, VerifyOptions{ChainKey: testChainKey, Head: &head})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != total || rep.FirstSeq != 1 || rep.Head.Seq != total {
		t.Errorf("chain of %d records (%d to %d), want %d calls", rep.Records, rep.FirstSeq, rep.Head.Seq, total)
	}
	if len(files) < 2 {
		t.Errorf("no rotation happened (%d files)", len(files))
	}
	t.Logf("%d calls: %d issued, %d verified, %d rejected; %d files", total, outcomes[0], outcomes[1], outcomes[2], len(files))
}
