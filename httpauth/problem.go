package httpauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
)

// Problem is a refused request's answer: what the client may learn, and
// the verifier's error for the service's own use.
type Problem struct {
	Status int // 400, 401, 403, 500 or 503
	// Code is the error code of RFC 6750 ("invalid_request",
	// "invalid_token", "insufficient_scope") or RFC 9449
	// ("invalid_dpop_proof", "use_dpop_nonce"), or "" for a request
	// without credentials.
	Code        string
	Description string // for the client: "Token expired", "Invalid token", …
	Realm       string // of the WWW-Authenticate header
	Scope       string // the scopes required, with insufficient_scope
	// Schemes are the authentication schemes challenged, one
	// WWW-Authenticate header each: the first carries the error. Empty
	// means Bearer alone.
	Schemes []string
	Algs    string // with DPoP: the proof algorithms accepted, separated by spaces
	Err     error  // the verifier's error: for logs, never for the client
}

// problemFor maps a verifier's error to what the client may learn: the
// seed's two messages, "Token expired" and "Invalid token", and the
// request-level ones, never the reason itself.
func problemFor(err error, malformed bool) *Problem {
	p := &Problem{Err: err}
	switch {
	case malformed:
		p.Status, p.Code, p.Description = http.StatusBadRequest, "invalid_request", "Invalid request"
	case errors.Is(err, jwtaudit.ErrNoToken):
		p.Status, p.Description = http.StatusUnauthorized, "Authentication required"
	case errors.Is(err, authctx.ErrInsufficientScope):
		p.Status, p.Code, p.Description = http.StatusForbidden, "insufficient_scope", "Insufficient scope"
	case errors.Is(err, jwtaudit.ErrExpired):
		p.Status, p.Code, p.Description = http.StatusUnauthorized, "invalid_token", "Token expired"
	case errors.Is(err, jwtaudit.ErrDPoPProof), errors.Is(err, jwtaudit.ErrDPoPReplayed):
		p.Status, p.Code, p.Description = http.StatusUnauthorized, "invalid_dpop_proof", "Invalid DPoP proof"
	case errors.Is(err, jwtaudit.ErrDPoPNonce):
		p.Status, p.Code, p.Description = http.StatusUnauthorized, "use_dpop_nonce", "DPoP nonce required"
	default:
		switch jwtaudit.ReasonOf(err) {
		case jwtaudit.ReasonAudit, jwtaudit.ReasonStoreUnavailable, jwtaudit.ReasonInternal:
			p.Status, p.Description = http.StatusServiceUnavailable, "Service unavailable"
		default:
			p.Status, p.Code, p.Description = http.StatusUnauthorized, "invalid_token", "Invalid token"
		}
	}
	return p
}

// WriteProblem is the default answer to a refused request: the
// WWW-Authenticate headers of RFC 6750 §3 and RFC 9449 §7.1 on 400, 401
// and 403, and an RFC 9457 problem document as body.
func WriteProblem(w http.ResponseWriter, _ *http.Request, p *Problem) {
	h := w.Header()
	if p.Status == http.StatusBadRequest || p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden {
		h.Del("WWW-Authenticate")
		schemes := p.Schemes
		if len(schemes) == 0 {
			schemes = []string{schemeBearer}
		}
		for i, scheme := range schemes {
			h.Add("WWW-Authenticate", challenge(p, scheme, i == 0))
		}
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", http.StatusText(p.Status), p.Status, p.Description})
}

// challenge renders a WWW-Authenticate value for scheme; the first
// carries the error.
func challenge(p *Problem, scheme string, first bool) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(" realm=")
	b.WriteString(strconv.Quote(p.Realm))
	if scheme == schemeDPoP && p.Algs != "" {
		b.WriteString(`, algs=`)
		b.WriteString(strconv.Quote(p.Algs))
	}
	if !first {
		return b.String()
	}
	if p.Code != "" {
		b.WriteString(`, error=`)
		b.WriteString(strconv.Quote(p.Code))
	}
	if p.Code == "invalid_token" && errors.Is(p.Err, jwtaudit.ErrExpired) {
		b.WriteString(`, error_description="the token expired"`)
	}
	if p.Scope != "" {
		b.WriteString(`, scope=`)
		b.WriteString(strconv.Quote(p.Scope))
	}
	return b.String()
}
