package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
	"github.com/jwtaudit/jwtaudit/httpauth"
	"github.com/jwtaudit/jwtaudit/redisrevoke"
	"github.com/redis/go-redis/v9"
)

const (
	issuerName = "jwtaudit-httpservice"
	tokenTTL   = time.Hour
)

// user is a demo account.
type user struct {
	password string
	scope    string
}

var users = map[string]user{
	"alice": {password: "wonderland", scope: "read"},
	"bob":   {password: "builder", scope: "read admin"},
}

// service is one instance: its routes, and what it must close.
type service struct {
	http.Handler
	closers []func() error
}

func newService(ctx context.Context, cfg config) (_ *service, err error) {
	svc := &service{}
	defer func() {
		if err != nil {
			svc.Close() // what was opened before the error, the log's lock among it
		}
	}()
	if cfg.clock == nil {
		cfg.clock = time.Now
	}
	key, err := signingKey(cfg.secret, cfg.out)
	if err != nil {
		return nil, err
	}
	var chainKey []byte
	if cfg.chainKey != "" {
		chainKey = []byte(cfg.chainKey)
	}
	trail, err := auditlog.Open(cfg.logPath, auditlog.Options{ChainKey: chainKey})
	if err != nil {
		return nil, err
	}
	svc.closers = append(svc.closers, trail.Close)
	audit := jwtaudit.Options(jwtaudit.WithAudit(trail), jwtaudit.WithClock(cfg.clock))

	// The store the verifier checks, the revoker writes and the issuer
	// reads each subject's generation from (so that a login right after
	// "log out everywhere" gets a token that works).
	var revocations interface {
		jwtaudit.RevocationStore
		jwtaudit.SubjectGenerations
	}
	// The store that remembers the DPoP proofs seen, so that each is
	// accepted once by the whole fleet.
	var replays jwtaudit.ReplayStore
	if cfg.redisAddr != "" {
		client := redis.NewClient(&redis.Options{Addr: cfg.redisAddr})
		svc.closers = append(svc.closers, client.Close)
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		store, err := redisrevoke.New(wait, client, redisrevoke.Options{}, jwtaudit.WithAudit(trail), jwtaudit.WithClock(cfg.clock))
		if err != nil {
			return nil, err
		}
		svc.closers = append([]func() error{store.Close}, svc.closers...)
		revocations, replays = store, store
	} else {
		revocations = jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{Clock: cfg.clock})
		replays = jwtaudit.NewMemoryReplay(jwtaudit.MemoryStoreOptions{Clock: cfg.clock})
	}
	dpop, err := jwtaudit.NewDPoP(jwtaudit.DPoPOptions{Replays: replays, Clock: cfg.clock})
	if err != nil {
		return nil, err
	}

	keys, err := jwtaudit.NewKeySet(key, jwtaudit.WithAudit(trail), jwtaudit.WithClock(cfg.clock))
	if err != nil {
		return nil, err
	}
	shared := jwtaudit.Options(jwtaudit.WithKeySet(keys), jwtaudit.WithIssuer(issuerName), audit)
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(tokenTTL), jwtaudit.WithSubjectGenerations(revocations))
	if err != nil {
		return nil, err
	}
	verifier, err := jwtaudit.NewVerifier(append(httpauth.VerifierOptions(), shared,
		jwtaudit.WithRevocation(revocations, jwtaudit.RevocationPolicy{}), jwtaudit.WithDPoP(dpop))...)
	if err != nil {
		return nil, err
	}
	revoker, err := jwtaudit.NewRevoker(revocations, jwtaudit.RevokerOptions{MaxTokenLifetime: tokenTTL},
		jwtaudit.WithAudit(trail), jwtaudit.WithClock(cfg.clock))
	if err != nil {
		return nil, err
	}

	// Bearer tokens and DPoP-bound ones are both taken; a bound token
	// only with its proof.
	dpopPolicy := httpauth.WithDPoP(httpauth.DPoPOrBearer)
	origin := httpauth.WithOrigin(cfg.origin)
	authn := httpauth.Middleware(verifier, dpopPolicy, origin)
	admin := httpauth.Middleware(verifier, dpopPolicy, origin, httpauth.RequireScopes("admin"))
	mux := http.NewServeMux()
	mux.Handle("POST /login", login(issuer, dpop, cfg.origin))
	mux.Handle("GET /me", authn(http.HandlerFunc(me)))
	mux.Handle("GET /admin", admin(http.HandlerFunc(adminPage)))
	mux.Handle("POST /logout", authn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := httpauth.TokenFrom(r.Context())
		respondRevocation(w, revoker.RevokeToken(r.Context(), tok))
	})))
	mux.Handle("POST /logout-all", authn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := httpauth.TokenFrom(r.Context())
		respondRevocation(w, revoker.RevokeSubject(r.Context(), tok.Claims.Issuer, tok.Claims.Subject, cfg.clock()))
	})))
	mux.Handle("GET /.well-known/jwks.json", keys.JWKSHandler(5*time.Minute))
	svc.Handler = mux
	return svc, nil
}

// Close closes what the instance opened.
func (s *service) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// login checks a demo user's password and answers with a token as RFC 6749
// §5.1 does. A client that sends a DPoP proof gets a token bound to the
// proof's key (RFC 9449 §5), of type DPoP, which works only with a proof
// of that key on every request.
func login(issuer *jwtaudit.Issuer, dpop *jwtaudit.DPoP, origin string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		u, ok := users[req.Username]
		if !ok || subtle.ConstantTimeCompare([]byte(u.password), []byte(req.Password)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_grant"})
			return
		}
		claims := jwtaudit.Claims{Subject: req.Username, Private: map[string]any{"scope": u.scope}}
		tokenType := "Bearer"
		if r.Header.Get("DPoP") != "" {
			proof, err := dpop.Check(r.Context(), httpauth.DPoPRequest(r, origin))
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_dpop_proof"})
				return
			}
			claims.Confirmation.KeyThumbprint, tokenType = proof.KeyThumbprint, "DPoP"
		}
		token, err := issuer.Issue(r.Context(), claims)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "token_type": tokenType, "expires_in": int(tokenTTL.Seconds())})
	}
}

func me(w http.ResponseWriter, r *http.Request) {
	tok, _ := httpauth.TokenFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"subject": tok.Claims.Subject, "scopes": httpauth.Scopes(tok)})
}

func adminPage(w http.ResponseWriter, r *http.Request) {
	tok, _ := httpauth.TokenFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"subject": tok.Claims.Subject, "admin": true})
}

func respondRevocation(w http.ResponseWriter, err error) {
	if err != nil {
		// The revocation may be made even so (see jwtaudit.Revoker); the
		// client is only told to try again.
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
