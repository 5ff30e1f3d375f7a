package jwtaudit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// parseRemoteKeys turns a JWK Set into keys, skipping (with a reason) each
// key that does not fit. Keys are parsed one by one, so that one bad key
// (a weak RSA key, a curve jwx does not know) costs only itself, and says
// why. The body comes from the network: a panic while parsing it is a
// failed fetch, never a crashed service.
func parseRemoteKeys(body []byte) (keys []*Key, skipped []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			keys, skipped, err = nil, nil, errors.New("the JWK Set could not be parsed (parser panic)")
		}
	}()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, nil, errors.New("not a JWK Set (no \"keys\" array)")
	}
	seen := map[string]bool{}
	for _, raw := range set.Keys {
		var ids struct {
			Kid string `json:"kid"`
		}
		_ = json.Unmarshal(raw, &ids)
		var k *Key
		jk, err := jwk.ParseKey(raw)
		if err == nil {
			k, err = remoteKey(jk, ids.Kid)
		}
		switch {
		case err != nil:
		case len(keys) == maxRemoteKeys:
			err = fmt.Errorf("more than %d keys", maxRemoteKeys)
		case seen[k.id]:
			err = errors.New("a second key with this kid")
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", clip(ids.Kid), err))
			continue
		}
		seen[k.id] = true
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// remoteKey makes a verification key of one JWK, or says why it cannot.
func remoteKey(jk jwk.Key, kid string) (*Key, error) {
	if jk.KeyType() == jwa.OctetSeq() {
		return nil, errors.New("a symmetric key is never taken from a JWKS")
	}
	if use, ok := jk.KeyUsage(); ok && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("use %q, not sig", use)
	}
	pub, err := jk.PublicKey()
	if err != nil {
		return nil, err
	}
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		return nil, err
	}
	alg, err := remoteAlgorithm(jk, raw)
	if err != nil {
		return nil, err
	}
	return NewKey(kid, alg, raw)
}

// remoteAlgorithm takes the JWK's "alg" or, when it has none, the one
// algorithm its key type implies (RS256 for RSA keys, which is what
// providers that omit "alg" use).
func remoteAlgorithm(jk jwk.Key, raw any) (Algorithm, error) {
	if a, ok := jk.Algorithm(); ok {
		alg := Algorithm(a.String())
		if _, known := algorithms[alg]; !known {
			return "", fmt.Errorf("algorithm %q is not supported", a.String())
		}
		return alg, nil
	}
	switch k := raw.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
	case *rsa.PublicKey:
		return RS256, nil
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", fmt.Errorf("no alg, and none follows from a %T", raw)
}
