package httpauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/jwtaudit/jwtaudit"
)

// DPoPPolicy says how the middleware takes DPoP (RFC 9449): access tokens
// bound to a key the client proves it holds on every request.
type DPoPPolicy uint8

// The policies of [WithDPoP].
const (
	// DPoPRequired accepts only "Authorization: DPoP" with a proof: a
	// bearer token, from any place, is refused as lacking its proof.
	DPoPRequired DPoPPolicy = iota + 1

	// DPoPOrBearer accepts both: a DPoP-bound token with its proof, and an
	// unbound token as a bearer token. A bound token presented as a bearer
	// token is refused all the same (RFC 9449 §7.1).
	DPoPOrBearer
)

// WithDPoP makes the middleware take DPoP-bound tokens ("Authorization:
// DPoP <token>" with one "DPoP" proof header) by policy, checked by
// [jwtaudit.Verifier.VerifyDPoP]: the verifier needs [jwtaudit.WithDPoP],
// or Middleware panics. Refusals are answered as RFC 9449 §7.1 says: 401
// with "WWW-Authenticate: DPoP", error="invalid_dpop_proof" for a proof
// that fails a check or was used before, error="use_dpop_nonce" and a
// "DPoP-Nonce" header for a proof without the current server nonce,
// error="invalid_token" for the token (bound to another key, or not
// bound), and algs="…", the proof algorithms accepted. With server nonces
// ([jwtaudit.DPoPOptions].Nonces) every answer carries the nonce to use
// next in "DPoP-Nonce".
//
// The proof's "htu" is compared with the request's URL: its scheme and
// host as the server saw them, unless [WithOrigin] says what the clients
// use.
func WithDPoP(policy DPoPPolicy) Option {
	return func(c *config) { c.dpop = policy }
}

// WithOrigin sets the scheme and host ("https://api.example.com") that
// clients address the service by, which a DPoP proof's "htu" names: for a
// service behind a proxy or a load balancer that ends TLS. Without it the
// origin is the request's Host header, with https for a request that came
// over TLS and http for the others. Forwarded headers are never trusted
// for it. Set it in production: the Host header is the client's to
// choose, so without it a proof made for another service that accepts
// the same tokens (another host) passes the "htu" check here. Middleware
// panics on an origin with a path, query or user.
func WithOrigin(origin string) Option { return func(c *config) { c.origin = origin } }

// checkDPoP holds the DPoP options to the verifier, when Middleware is
// built.
func (c *config) checkDPoP(v *jwtaudit.Verifier) {
	if c.origin != "" {
		u, err := url.Parse(c.origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			panic(fmt.Sprintf("httpauth: WithOrigin: %q is not a scheme and host such as https://api.example.com", c.origin))
		}
		c.origin = u.Scheme + "://" + u.Host
	}
	switch c.dpop {
	case 0:
		return
	case DPoPRequired, DPoPOrBearer:
	default:
		panic(fmt.Sprintf("httpauth: WithDPoP: unknown policy %d", c.dpop))
	}
	d := v.DPoP()
	if d == nil {
		panic("httpauth: WithDPoP: the verifier checks no proofs; build it with jwtaudit.WithDPoP")
	}
	var algs []string
	for _, a := range d.Algorithms() {
		algs = append(algs, string(a))
	}
	c.algs = strings.Join(algs, " ")
}

// proofRequest says whether a request's token is verified with a proof,
// and what the proof is checked against: a token with the DPoP scheme,
// and under DPoPRequired any token, which then lacks its proof.
func (c *config) proofRequest(r *http.Request, token, scheme string) (jwtaudit.DPoPRequest, bool) {
	if token == "" || (scheme != schemeDPoP && c.dpop != DPoPRequired) {
		return jwtaudit.DPoPRequest{}, false
	}
	req := DPoPRequest(r, c.origin)
	if scheme != schemeDPoP {
		req.Proofs = nil // a bearer request's proof header proves nothing
	}
	return req, true
}

// DPoPRequest returns what a DPoP proof sent with r is checked against:
// its DPoP header fields, its method, and its URL as the client addressed
// it: origin (a scheme and host, as for [WithOrigin]) and the path, or,
// when origin is "", the request's Host with https for a request over TLS
// and http otherwise. A token endpoint passes it to [jwtaudit.DPoP.Check]
// before it issues a DPoP-bound token.
func DPoPRequest(r *http.Request, origin string) jwtaudit.DPoPRequest {
	origin = strings.TrimSuffix(origin, "/")
	if origin == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
	}
	return jwtaudit.DPoPRequest{Proofs: r.Header.Values("DPoP"), Method: r.Method, URL: origin + r.URL.EscapedPath()}
}

// handOutNonce gives the client the server nonce its next proof must
// carry, when the verifier's proofs need one (RFC 9449 §8.2).
func (c *config) handOutNonce(w http.ResponseWriter, v *jwtaudit.Verifier) {
	if c.dpop == 0 {
		return
	}
	if nonce, ok := v.DPoP().Nonce(); ok {
		w.Header().Set("DPoP-Nonce", nonce)
	}
}

// setChallenges sets the schemes a refusal challenges: Bearer alone
// without DPoP; with it, first the scheme the error is about (the
// request's, or DPoP for a proof's error and under DPoPRequired), then
// the other one the middleware accepts.
func (c *config) setChallenges(p *Problem, scheme string) {
	if c.dpop == 0 {
		p.Schemes = []string{schemeBearer}
		return
	}
	p.Algs = c.algs
	if c.dpop == DPoPRequired {
		p.Schemes = []string{schemeDPoP}
		return
	}
	if p.Code == "invalid_dpop_proof" || p.Code == "use_dpop_nonce" {
		scheme = schemeDPoP
	}
	if scheme == schemeDPoP {
		p.Schemes = []string{schemeDPoP, schemeBearer}
	} else {
		p.Schemes = []string{schemeBearer, schemeDPoP}
	}
}
