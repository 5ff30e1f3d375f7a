package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/textclip"
	"github.com/jwtaudit/jwtaudit/internal/urlredact"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// RemoteKeySet follows a JWKS URL, such as an identity provider's, for a
// [Verifier] ([WithKeySource]). It fetches through jwx's jwk.Cache, which
// refreshes in the background as the response's Cache-Control says, kept
// between a minimum and a maximum interval, and adds what that cache lacks:
//
//   - A token with an unknown "kid" triggers one refresh, shared by every
//     caller waiting for it and rate limited, so that a storm of made-up
//     kids costs at most one fetch per RefreshRateLimit.
//   - A failed fetch (an error status, a body that is not a JWK Set, one
//     larger than MaxBytes, no answer within Timeout) keeps the last good
//     keys.
//   - Only https, unless InsecureAllowHTTP.
//   - Keys that do not fit are skipped, each with its reason: symmetric
//     keys, "use" other than "sig", an algorithm this package does not
//     support or that does not fit the key, weak keys.
//   - Every fetch, successful or not, is an audit event with op jwks_fetch
//     that lists the keys added, removed, changed (new material or a new
//     algorithm under a kid already known: a provider's mistake, or
//     someone else's key) and skipped. Fetched keys are installed only
//     once their event is recorded, unless the trail fails
//     open ([WithAuditFailOpen]).
//
// Keys are looked up without a lock: after warm-up, verifying against a
// RemoteKeySet costs what verifying against fixed keys does.
type RemoteKeySet struct {
	url   string
	shown string // url as events and errors show it: no userinfo, no query values
	opts  RemoteKeySetOptions
	rec   recorder
	http  *http.Client
	cache *jwk.Cache
	keys  atomic.Pointer[remoteKeys]

	installing  sync.Mutex // serializes recording and installing a fetched set
	mu          sync.Mutex // guards flight, lastFetch and closed
	closed      bool
	refreshing  sync.WaitGroup  // a shared refresh for unknown kids in flight
	closing     context.Context // done once Close begins
	beginClose  context.CancelFunc
	flight      chan struct{}
	lastFetch   time.Time
	firstFetch  chan struct{}
	firstOnce   sync.Once
	closeOnce   sync.Once
	stopContext context.CancelFunc
}

// RemoteKeySetOptions configures what only a RemoteKeySet has: how it
// fetches. Zero values take the defaults named. How it records its fetches
// is set by the audit options ([WithAudit], [WithClock], …), as for every
// producer of events.
type RemoteKeySetOptions struct {
	MinRefresh       time.Duration // background refresh at most this often, whatever Cache-Control says (5 minutes)
	MaxRefresh       time.Duration // and at least this often (24 hours)
	RefreshRateLimit time.Duration // at most one refresh for unknown kids per this interval (30 seconds)
	Timeout          time.Duration // for one fetch, body included (10 seconds)
	MaxBytes         int64         // largest JWKS accepted (1 MiB)

	// InsecureAllowHTTP accepts an http:// URL. Keys fetched in clear
	// text can be replaced by anyone on the path: use it only for tests
	// and for a loopback address.
	InsecureAllowHTTP bool

	// HTTPClient, when set, is the client to fetch with (its Transport
	// and TLS settings are kept; Timeout and redirect checks are set by
	// the key set).
	HTTPClient *http.Client
}

// remoteKeySetConfig is what the audit options of NewRemoteKeySet set.
type remoteKeySetConfig struct {
	audit auditConfig
}

// remoteKeys is one immutable generation of fetched keys.
type remoteKeys struct {
	byID map[string]*Key
	only *Key
}

const (
	defaultMinRefresh = 5 * time.Minute
	defaultMaxRefresh = 24 * time.Hour
	defaultRateLimit  = 30 * time.Second
	defaultTimeout    = 10 * time.Second
	defaultMaxBytes   = 1 << 20
)

// NewRemoteKeySet starts following the JWKS at rawURL and waits (until
// ctx ends, or Timeout) for the first fetch. A failed first fetch is not an
// error: it is recorded, tokens are refused with ErrUnknownKey until keys
// arrive, and the first unknown kid retries. Close stops the background
// refresh. The audit options say where the jwks_fetch events go.
func NewRemoteKeySet(ctx context.Context, rawURL string, opts RemoteKeySetOptions, auditOpts ...RemoteKeySetOption) (*RemoteKeySet, error) {
	cfg := remoteKeySetConfig{audit: defaultAuditConfig()}
	if err := applyAll("NewRemoteKeySet", auditOpts, func(o RemoteKeySetOption) error { return o.applyRemoteKeySet(&cfg) }); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("jwtaudit: NewRemoteKeySet: the URL does not parse")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && opts.InsecureAllowHTTP:
	default:
		return nil, fmt.Errorf("jwtaudit: NewRemoteKeySet: %q is not an https URL (InsecureAllowHTTP allows http)", urlredact.URL(u))
	}
	if opts.MinRefresh < 0 || opts.MaxRefresh < 0 || opts.RefreshRateLimit < 0 || opts.Timeout < 0 || opts.MaxBytes < 0 {
		return nil, errors.New("jwtaudit: NewRemoteKeySet: negative option")
	}
	setDefault(&opts.MinRefresh, defaultMinRefresh)
	setDefault(&opts.MaxRefresh, defaultMaxRefresh)
	setDefault(&opts.RefreshRateLimit, defaultRateLimit)
	setDefault(&opts.Timeout, defaultTimeout)
	setDefault(&opts.MaxBytes, defaultMaxBytes)
	if opts.MaxRefresh < opts.MinRefresh {
		return nil, errors.New("jwtaudit: NewRemoteKeySet: MaxRefresh is below MinRefresh")
	}

	r := &RemoteKeySet{url: rawURL, shown: urlredact.URL(u), opts: opts, rec: newRecorder(cfg.audit), firstFetch: make(chan struct{})}
	r.keys.Store(&remoteKeys{byID: map[string]*Key{}})
	r.http = r.newHTTPClient()

	// The cache's goroutines live until Close, not until the caller's
	// context ends.
	cacheCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.stopContext = cancel
	r.closing, r.beginClose = context.WithCancel(context.Background())
	r.cache, err = jwk.NewCache(cacheCtx, httprc.NewClient())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("jwtaudit: NewRemoteKeySet: %w", err)
	}
	err = r.cache.Register(ctx, rawURL,
		jwk.WithHTTPClient(fetcher{r}),
		jwk.WithWaitReady(false),
		// The cache's own copy of the set is not used (the fetcher keeps
		// the keys); a key it cannot parse must not fail the whole set.
		jwk.WithIgnoreParseError(true),
		jwk.WithHttprcResourceOption(httprc.WithMinInterval(opts.MinRefresh)),
		jwk.WithHttprcResourceOption(httprc.WithMaxInterval(opts.MaxRefresh)),
	)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("jwtaudit: NewRemoteKeySet: %w", r.scrub(err))
	}
	wait, stop := context.WithTimeout(ctx, opts.Timeout+time.Second)
	defer stop()
	select {
	case <-r.firstFetch:
	case <-wait.Done():
	}
	return r, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// newHTTPClient makes the client fetches go through: bounded in time,
// refusing redirects to plain http.
func (r *RemoteKeySet) newHTTPClient() *http.Client {
	c := &http.Client{}
	if r.opts.HTTPClient != nil {
		*c = *r.opts.HTTPClient
	}
	c.Timeout = r.opts.Timeout
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "https" && !r.opts.InsecureAllowHTTP {
			return fmt.Errorf("redirect to %s, which is not https", urlredact.URL(req.URL))
		}
		return nil
	}
	return c
}

// fetcher is the HTTP client jwk.Cache fetches with. Every fetch, whether
// the cache schedules it or a refresh asks for it, passes here: the body is
// read (up to MaxBytes), parsed into keys, installed and recorded, then
// handed on to the cache.
type fetcher struct{ r *RemoteKeySet }

// Do fetches, records and installs the JWKS the cache asks for.
func (f fetcher) Do(req *http.Request) (*http.Response, error) {
	r := f.r
	r.mu.Lock()
	r.lastFetch = time.Now()
	r.mu.Unlock()
	defer r.firstOnce.Do(func() { close(r.firstFetch) })

	ctx := req.Context()
	ev := r.rec.begin(OpJWKSFetch)
	res, body, err := r.fetch(req)
	if err != nil {
		ev.Attrs = []slog.Attr{slog.String("url", r.shown), slog.Int("keys_kept", len(r.keys.Load().byID))}
		err = failWrap(ReasonKeyFetch, r.scrub(err), r.shown)
		if aerr := r.rec.finish(ctx, &ev, err, nil); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err := r.install(ctx, &ev, body); err != nil {
		return nil, err
	}
	// The cache schedules its next fetch from the response's headers; the
	// set it would parse from the body is never used, so it gets an empty
	// one instead of parsing every key a second time.
	res.Body = io.NopCloser(strings.NewReader(`{"keys":[]}`))
	res.ContentLength = -1
	return res, nil
}

// fetch gets the JWKS: a 200 answer whose body, read in full and closed,
// is no larger than MaxBytes.
func (r *RemoteKeySet) fetch(req *http.Request) (*http.Response, []byte, error) {
	res, err := r.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("request: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, r.opts.MaxBytes+1))
	res.Body.Close()
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("reading the response: %w", err)
	case res.StatusCode != http.StatusOK:
		return nil, nil, fmt.Errorf("status %d", res.StatusCode)
	case int64(len(body)) > r.opts.MaxBytes:
		return nil, nil, fmt.Errorf("the response is larger than %d bytes", r.opts.MaxBytes)
	}
	return res, body, nil
}

// install parses a fetched JWKS, records the fetch and, once it is
// recorded, swaps the new generation of keys in. A body that is not a JWK
// Set is a failed fetch; the keys stay as they were.
func (r *RemoteKeySet) install(ctx context.Context, ev *Event, body []byte) error {
	r.installing.Lock()
	defer r.installing.Unlock()
	old := r.keys.Load()
	set, err := parseRemoteKeys(body)
	if err != nil {
		ev.Attrs = []slog.Attr{slog.String("url", r.shown), slog.Int("keys_kept", len(old.byID))}
		err = failWrap(ReasonKeyFetch, err, r.shown)
		if aerr := r.rec.finish(ctx, ev, err, nil); aerr != nil {
			return aerr
		}
		return err
	}
	keys := set.keys
	next := &remoteKeys{byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		next.byID[k.id] = k
	}
	if len(keys) == 1 {
		next.only = keys[0]
	}
	var added, removed, changed []string
	for id, k := range next.byID {
		switch was := old.byID[id]; {
		case was == nil:
			added = append(added, id)
		case !k.samePublic(was):
			changed = append(changed, id)
		}
	}
	for id := range old.byID {
		if next.byID[id] == nil {
			removed = append(removed, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	ev.Verified = true
	ev.Attrs = []slog.Attr{slog.String("url", r.shown), slog.Int("keys", len(keys))}
	for _, list := range []struct {
		name  string
		items []string
	}{{"added", added}, {"removed", removed}, {"changed", changed}, {"skip_reasons", set.reasons}} {
		if len(list.items) > 0 {
			ev.Attrs = append(ev.Attrs, slog.Any(list.name, list.items))
		}
	}
	if set.skipped > 0 {
		ev.Attrs = append(ev.Attrs, slog.Int("skipped", set.skipped))
	}
	if set.notExamined > 0 {
		ev.Attrs = append(ev.Attrs, slog.Int("not_examined", set.notExamined))
	}
	if err := r.rec.finish(ctx, ev, nil, nil); err != nil {
		return err
	}
	r.keys.Store(next)
	return nil
}

// findKey returns a fetched key; an unknown kid refreshes the set once,
// unless RefreshRateLimit has not passed since the last fetch, and looks
// again.
func (r *RemoteKeySet) findKey(ctx context.Context, kid []byte, hasKid bool) (*Key, error) {
	if k, ok := r.lookup(kid, hasKid); ok {
		return k, nil
	}
	if r.refreshForUnknown(ctx) {
		if k, ok := r.lookup(kid, hasKid); ok {
			return k, nil
		}
	}
	if !hasKid {
		return nil, fail(ReasonUnknownKey, "no kid, and the JWKS does not hold exactly one key")
	}
	return nil, fail(ReasonUnknownKey, "kid %q is not in the JWKS", clip(string(kid)))
}

func (r *RemoteKeySet) lookup(kid []byte, hasKid bool) (*Key, bool) {
	keys := r.keys.Load()
	if !hasKid {
		return keys.only, keys.only != nil
	}
	k, ok := keys.byID[string(kid)]
	return k, ok
}

// LookupKey implements KeySource.
func (r *RemoteKeySet) LookupKey(ctx context.Context, kid string) (*Key, error) {
	return r.findKey(ctx, []byte(kid), kid != "")
}

// refreshForUnknown refreshes the set for an unknown kid, unless a fetch
// happened less than RefreshRateLimit ago or the set is closed. Concurrent
// callers share one refresh, which runs on a goroutine of its own: every
// caller, the one that started it included, waits only as long as its own
// context allows. It reports whether a refresh completed, so that the
// caller looks again.
func (r *RemoteKeySet) refreshForUnknown(ctx context.Context) bool {
	r.mu.Lock()
	f := r.flight
	switch {
	case r.closed:
		r.mu.Unlock()
		return false
	case f == nil && time.Since(r.lastFetch) < r.opts.RefreshRateLimit:
		r.mu.Unlock()
		return false
	case f == nil:
		f = make(chan struct{})
		r.flight = f
		r.refreshing.Add(1)
		// The refresh serves every waiter: it must not end with the
		// caller that happened to start it, only with its own timeout
		// or the set's Close.
		go r.sharedRefresh(f, context.WithoutCancel(ctx))
	}
	r.mu.Unlock()
	select {
	case <-f:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *RemoteKeySet) sharedRefresh(done chan struct{}, values context.Context) {
	defer r.refreshing.Done()
	refreshCtx, cancel := context.WithTimeout(values, r.opts.Timeout+time.Second)
	stop := context.AfterFunc(r.closing, cancel)
	_, _ = r.cache.Refresh(refreshCtx, r.url)
	stop()
	cancel()
	r.mu.Lock()
	r.flight = nil
	r.mu.Unlock()
	close(done)
}

// Refresh fetches the JWKS now, whatever RefreshRateLimit says, and
// returns the fetch's error: one wrapping [ErrKeyFetch] when the JWKS could
// not be fetched or read, or [ErrAudit] when its event could not be
// recorded and the trail fails closed. The keys stay as they were if it
// fails.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	_, err := r.cache.Refresh(ctx, r.url)
	if err == nil {
		return nil
	}
	// The cache's error names the URL: the fetch's own error, which
	// names it as events do, is inside when the fetch got that far.
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return failWrap(ReasonKeyFetch, r.scrub(err), r.shown)
}

// scrub returns err with every spelling of the set's URL in its message
// shown as events show it, so that no error carries a password or a query
// value of the URL. errors.Is and errors.As still see err.
func (r *RemoteKeySet) scrub(err error) error {
	msg := err.Error()
	u, perr := url.Parse(r.url)
	if perr != nil {
		return &textclip.Reworded{Msg: "(an error naming the JWKS URL)", Cause: err}
	}
	for _, spelling := range []string{r.url, u.Redacted(), u.String()} {
		msg = strings.ReplaceAll(msg, spelling, r.shown)
	}
	if u.User != nil {
		// url.URL.Redacted writes the password as xxxxx, net/http's
		// errors as ***.
		name := u.User.Username()
		for _, userinfo := range []string{u.User.String(), name + ":xxxxx", name + ":***", name} {
			msg = strings.ReplaceAll(msg, userinfo+"@", "REDACTED@")
		}
	}
	if u.RawQuery != "" {
		msg = strings.ReplaceAll(msg, u.RawQuery, urlredact.Query(u.Query()))
	}
	return &textclip.Reworded{Msg: msg, Cause: err}
}

// Close stops the background refresh and waits for its goroutines. After
// Close an unknown kid is refused at once, without a fetch.
func (r *RemoteKeySet) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.beginClose() // ends a shared refresh in flight
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout+time.Second)
		defer cancel()
		if r.cache != nil {
			err = r.cache.Shutdown(ctx)
		}
		r.stopContext()
		r.refreshing.Wait()
	})
	return err
}
