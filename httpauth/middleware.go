package httpauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
)

// Option configures [Middleware].
type Option func(*config)

type config struct {
	realm      string
	scopes     []string
	cookie     string
	query      bool
	extract    func(*http.Request) (string, error)
	onError    func(http.ResponseWriter, *http.Request, *Problem)
	maxScanned int
	dpop       DPoPPolicy
	origin     string // WithOrigin: the public scheme://host of the service
	algs       string // the DPoP proof algorithms, for challenges
}

// WithRealm sets the realm of the WWW-Authenticate answers (default
// "api").
func WithRealm(realm string) Option { return func(c *config) { c.realm = realm } }

// RequireScopes makes the middleware refuse, with 403 insufficient_scope,
// a token that does not grant every one of scopes (see [Scopes]). The
// verifier needs [VerifierOptions] for it. Each scope must be an RFC 6749
// §3.3 scope-token (no spaces, quotes or backslashes, ASCII only):
// [Middleware] panics on one that is not, which no token could grant.
func RequireScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = append(c.scopes, scopes...) }
}

// WithCookie also takes the token from the named cookie. A request that
// carries two cookies of that name, or the cookie and an Authorization
// header (of any scheme), is refused as malformed (400 invalid_request):
// the request's credentials must be in one place.
func WithCookie(name string) Option { return func(c *config) { c.cookie = name } }

// AllowQueryToken also takes the token from the access_token query
// parameter (RFC 6750 §2.3). It is off by default: URLs end up in logs,
// browser histories and Referer headers.
func AllowQueryToken() Option { return func(c *config) { c.query = true } }

// WithExtractor takes the token with a function of your own instead: it
// returns "" for a request without credentials, and an error for malformed
// ones (answered 400 invalid_request; the error is not shown to the
// client).
func WithExtractor(extract func(*http.Request) (string, error)) Option {
	return func(c *config) { c.extract = extract }
}

// WithErrorHandler replaces how a refused request is answered. The
// handler gets what the client may learn and, in Problem.Err, the
// verifier's error for its own logs.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, *Problem)) Option {
	return func(c *config) { c.onError = h }
}

// Middleware returns middleware that verifies each request's bearer token
// with v: the next handler runs only for a request whose token verified
// (and grants the required scopes), with the token in its context
// ([TokenFrom]). Every request it sees is one Verify, so one audit event.
func Middleware(v *jwtaudit.Verifier, opts ...Option) func(http.Handler) http.Handler {
	if v == nil {
		panic("httpauth: Middleware: nil verifier")
	}
	cfg := config{realm: "api", onError: WriteProblem, maxScanned: 64 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	for _, s := range cfg.scopes {
		if !authctx.IsScopeToken(s) {
			panic(fmt.Sprintf("httpauth: RequireScopes: %q is not an RFC 6749 scope-token", s))
		}
	}
	cfg.checkDPoP(v)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			state := &authctx.State{Attrs: requestAttrs(r), Scopes: cfg.scopes}
			raw, scheme, malformed := cfg.credentials(r)
			if malformed != "" {
				state.Attrs = append(state.Attrs, slog.String("http_auth", malformed))
				raw = "" // on the record as a request without a usable token
			}
			ctx := authctx.With(r.Context(), state)
			cfg.handOutNonce(w, v)
			var tok *jwtaudit.Token
			var err error
			if req, withProof := cfg.proofRequest(r, raw, scheme); withProof {
				tok, err = v.VerifyDPoP(ctx, raw, req)
			} else {
				tok, err = v.Verify(ctx, raw)
			}
			switch {
			case err != nil:
				p := problemFor(err, malformed != "")
				cfg.setChallenges(p, scheme)
				cfg.refuse(w, r, p)
			case len(cfg.scopes) > 0 && !state.ScopesChecked:
				cfg.refuse(w, r, &Problem{Status: http.StatusInternalServerError, Description: "Internal error",
					Err: errors.New("httpauth: scopes are required but the verifier has no scope check: build it with httpauth.VerifierOptions()")})
			default:
				next.ServeHTTP(w, r.WithContext(authctx.WithToken(ctx, tok)))
			}
		})
	}
}

func (c *config) refuse(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Realm = c.realm
	if p.Code == "insufficient_scope" {
		p.Scope = strings.Join(c.scopes, " ")
	}
	c.onError(w, r, p)
}

// The schemes of the Authorization header the middleware reads.
const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"
)

// credentials returns the request's token and the scheme it came with
// (Bearer for a cookie, the query or an extractor), or, for a malformed
// request, why it is malformed. No credentials at all is "", "Bearer", "".
func (c *config) credentials(r *http.Request) (token, scheme, malformed string) {
	token, malformed = c.findCredentials(r)
	scheme = schemeBearer
	if c.dpop != 0 && c.extract == nil {
		if name, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(name, schemeDPoP) {
			scheme = schemeDPoP
		}
	}
	return token, scheme, malformed
}

// findCredentials is credentials without the scheme.
func (c *config) findCredentials(r *http.Request) (token, malformed string) {
	if c.extract != nil {
		token, err := c.extract(r)
		if err != nil {
			return "", "the extractor refused the request"
		}
		return token, ""
	}
	var found []string
	otherScheme := false // an Authorization header of another scheme
	headers := r.Header.Values("Authorization")
	switch {
	case len(headers) > 1:
		return "", "more than one Authorization header"
	case len(headers) == 1:
		scheme, rest, _ := strings.Cut(headers[0], " ")
		if !strings.EqualFold(scheme, schemeBearer) && (c.dpop == 0 || !strings.EqualFold(scheme, schemeDPoP)) {
			// Another scheme alone is no credentials of this
			// middleware's (RFC 6750 §3.1); beside a bearer cookie, it is
			// credentials in two places (below).
			otherScheme = true
			break
		}
		rest = strings.TrimLeft(rest, " ")
		switch {
		case rest == "":
			if strings.EqualFold(scheme, schemeDPoP) {
				return "", "DPoP without a token"
			}
			return "", "Bearer without a token"
		case len(rest) <= c.maxScanned && strings.ContainsAny(rest, " ,\t"):
			// A longer value goes to the verifier, whose size limit
			// refuses it before reading it.
			return "", "more than one token, or another scheme mixed in"
		}
		found = append(found, rest)
	}
	if c.cookie != "" {
		// Every cookie of the name counts: a second one, planted by a
		// sibling domain or path, must not decide whose request this is.
		switch cookies := r.CookiesNamed(c.cookie); {
		case len(cookies) > 1:
			return "", "more than one cookie " + c.cookie
		case len(cookies) == 1 && cookies[0].Value != "":
			if otherScheme {
				return "", "credentials in more than one place"
			}
			found = append(found, cookies[0].Value)
		}
	}
	if c.query {
		switch values := r.URL.Query()["access_token"]; len(values) {
		case 0:
		case 1:
			found = append(found, values[0])
		default:
			return "", "more than one access_token parameter"
		}
	}
	switch len(found) {
	case 0:
		return "", ""
	case 1:
		return found[0], ""
	}
	return "", "credentials in more than one place"
}
