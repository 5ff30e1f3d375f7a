package jwtaudit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// jwksDocument is a key set's JWKS, rendered once per change of the set.
type jwksDocument struct {
	body []byte
	etag string
}

// newJWKSDocument renders the public keys of entries as a JWK Set (RFC
// 7517 §5). HMAC keys are never published: their secret is their only part.
// Only public material is ever given to jwk.Import, so no private member
// can reach the output.
func newJWKSDocument(entries []keyEntry) (jwksDocument, error) {
	keys := make([]json.RawMessage, 0, len(entries))
	for _, e := range entries {
		if algorithms[e.key.alg].family == familyHMAC {
			continue
		}
		b, err := publicJWK(e.key)
		if err != nil {
			return jwksDocument{}, err
		}
		keys = append(keys, b)
	}
	body, err := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{keys})
	if err != nil {
		return jwksDocument{}, err
	}
	sum := sha256.Sum256(body)
	return jwksDocument{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}, nil
}

// publicJWK renders the public part of k as a JWK with "kid", "alg" and
// "use":"sig".
func publicJWK(k *Key) ([]byte, error) {
	jk, err := jwk.Import(k.Public())
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: key %q as a JWK: %w", k.id, err)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(string(k.alg))
	if !ok {
		return nil, fmt.Errorf("jwtaudit: key %q: jwa does not know %s", k.id, k.alg)
	}
	for name, value := range map[string]any{jwk.KeyIDKey: k.id, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := jk.Set(name, value); err != nil {
			return nil, fmt.Errorf("jwtaudit: key %q: setting %s: %w", k.id, name, err)
		}
	}
	return json.Marshal(jk)
}

// JWKSHandler serves the set's public keys as a JWK Set: next, active and
// retiring keys, so that a verifier downstream knows a key before tokens
// carry it and after it stops signing. HMAC keys and private parts are
// never served. Responses carry Cache-Control max-age and an ETag, and a
// request whose If-None-Match names the current ETag gets 304.
//
// Publish a key (KeySet.Publish) at least maxAge before rotating to it, so
// that every cache has it by then.
func (ks *KeySet) JWKSHandler(maxAge time.Duration) http.Handler {
	return &jwksHandler{ks: ks, cacheControl: "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))}
}

type jwksHandler struct {
	ks           *KeySet
	cacheControl string
}

// ServeHTTP answers GET and HEAD with the current JWKS.
func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := h.ks.state.Load().jwks
	hdr := w.Header()
	hdr.Set("Cache-Control", h.cacheControl)
	hdr.Set("ETag", doc.etag)
	hdr.Set("Content-Type", "application/jwk-set+json")
	// ServeContent answers If-None-Match against the ETag (304), HEAD and
	// Content-Length; a zero time sends no Last-Modified.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc.body))
}
