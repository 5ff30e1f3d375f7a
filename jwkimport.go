package jwtaudit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
	"github.com/jwtaudit/jwtaudit/internal/textclip"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ParseJWK makes a Key of one JWK (RFC 7517): a public key, which verifies,
// or a private key or an HMAC secret ("kty":"oct"), which signs too. The
// JWK's "kid" is the key's id (an empty one is the RFC 7638 thumbprint for
// a public-key algorithm, and refused for a secret); its "alg" is the key's
// algorithm and must fit it (without "alg", RS256 for RSA, the curve's
// algorithm for EC and EdDSA for Ed25519; a secret needs one). "use", when
// present, must be "sig"; "key_ops", when present, must allow "verify",
// and "sign" too for a private key or a secret. The material passes the
// checks of [NewKey].
func ParseJWK(data []byte) (*Key, error) {
	k, err := jwkToKey(data, false)
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: ParseJWK: %w", err)
	}
	return k, nil
}

// ParseJWKSet makes Keys of a JWK Set ({"keys":[…]}), each by the rules of
// [ParseJWK]. A set that holds both secrets and public or private keys is
// refused whole: a document that may be published must never hold a
// secret. Keys it cannot take are refused with the set, each error naming
// the key (by its index and "kid") and why; kids must be unique. A set
// without a key is refused.
func ParseJWKSet(data []byte) ([]*Key, error) {
	raws, err := jwkSetMembers(data)
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: ParseJWKSet: %w", err)
	}
	if len(raws) == 0 {
		// A key set given to a service must hold a key; a fetched one
		// (RemoteKeySet) may be emptied by its provider.
		return nil, errors.New(`jwtaudit: ParseJWKSet: an empty JWK Set: its "keys" array holds no key`)
	}
	var keys []*Key
	var errs []error
	secrets := 0
	for i, raw := range raws {
		k, err := jwkToKey(raw, false)
		if err == nil && slices.ContainsFunc(keys, func(o *Key) bool { return o.id == k.id }) {
			err = errors.New("a second key with this kid")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (kid %q): %w", i, clip(kidForError(raw)), err))
			continue
		}
		if algorithms[k.alg].family == familyHMAC {
			secrets++
		}
		keys = append(keys, k)
	}
	if secrets > 0 && secrets < len(keys) {
		return nil, errors.New("jwtaudit: ParseJWKSet: the set holds both secrets and asymmetric keys; a secret must never sit in a document meant to be public")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("jwtaudit: ParseJWKSet: %w", errors.Join(errs...))
	}
	return keys, nil
}

// jwkSetMembers returns the raw members of a JWK Set's "keys" array.
func jwkSetMembers(data []byte) ([]json.RawMessage, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil || set.Keys == nil {
		return nil, errors.New(`not a JWK Set (no "keys" array)`)
	}

	return set.Keys, nil
}

// jwkKid reads a JWK's "kid", matching the name exactly: member names are
// case-sensitive (RFC 7517 §4), so "KID" is another member, which a JWK
// reader ignores, and never the key's id (encoding/json would take it for
// one). A member named twice is refused: readers disagree on which of the
// two counts (jwx keeps the last).
func jwkKid(raw []byte) (string, error) {
	r := jsonx.Reader{Data: raw}
	if err := r.BeginObject(); err != nil {
		return "", err
	}
	var kid string
	seen := make(map[string]bool, 8)
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return kid, err
		}
		if !more {
			break
		}
		if seen[string(name)] {
			return kid, fmt.Errorf("member %q appears twice", clip(string(name)))
		}
		seen[string(name)] = true
		if string(name) == "kid" {
			kid, err = r.String()
		} else {
			err = r.Skip(0)
		}
		if err != nil {
			return kid, fmt.Errorf("member %q: %w", clip(string(name)), err)
		}
	}
	return kid, r.Finish()
}

// kidForError is a JWK's "kid" as far as it can be read, to name the JWK
// in an error.
func kidForError(raw []byte) string {
	kid, _ := jwkKid(raw)
	return kid
}

// jwkToKey applies the rules every JWK is held to, from a file, the
// configuration or a JWKS URL. publicOnly, for keys fetched from a URL,
// refuses secrets and keeps only the public part of a private key.
func jwkToKey(raw []byte, publicOnly bool) (k *Key, err error) {
	defer func() {
		// The bytes may come from the network: a parser panic is a key
		// refused, never a crashed service.
		if p := recover(); p != nil {
			k, err = nil, errors.New("the JWK could not be parsed (parser panic)")
		}
		if err != nil {
			err = tidyJWX(err)
		}
	}()
	kid, err := jwkKid(raw)
	if err != nil {
		return nil, err
	}
	jk, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, err
	}
	private, err := jwk.IsPrivateKey(jk)
	secret := jk.KeyType() == jwa.OctetSeq()
	switch {
	case secret && publicOnly:
		return nil, errors.New("a symmetric key is never taken from a JWKS")
	case err != nil && !secret:
		return nil, err
	}
	signs := (private || secret) && !publicOnly
	if use, ok := jk.KeyUsage(); ok && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("use %q, not sig", use)
	}
	if ops, ok := jk.KeyOps(); ok {
		if !slices.Contains(ops, jwk.KeyOpVerify) {
			return nil, errors.New(`key_ops does not allow "verify"`)
		}
		if signs && !slices.Contains(ops, jwk.KeyOpSign) {
			return nil, errors.New(`key_ops does not allow "sign", for a private key or a secret`)
		}
	}
	if secret {
		var material []byte
		if err := jwk.Export(jk, &material); err != nil {
			return nil, err
		}
		a, ok := jk.Algorithm()
		if !ok {
			return nil, errors.New(`a secret needs an "alg"`)
		}
		return newKey(kid, Algorithm(a.String()), material)
	}
	pub, err := jk.PublicKey()
	if err != nil {
		return nil, err
	}
	var public any
	if err := jwk.Export(pub, &public); err != nil {
		return nil, err
	}
	alg, err := jwkAlgorithm(jk, public)
	if err != nil {
		return nil, err
	}
	if !signs {
		return newKey(kid, alg, public)
	}
	var material any
	if err := jwk.Export(jk, &material); err != nil {
		return nil, err
	}
	return newKey(kid, alg, material)
}

// jwkAlgorithm takes the JWK's "alg" or, when it has none, the one
// algorithm its key type implies (RS256 for RSA keys, which is what
// providers that omit "alg" use).
func jwkAlgorithm(jk jwk.Key, public any) (Algorithm, error) {
	if a, ok := jk.Algorithm(); ok {
		alg := Algorithm(a.String())
		if _, known := algorithms[alg]; !known {
			return "", fmt.Errorf("algorithm %q is not supported", a.String())
		}
		return alg, nil
	}
	switch k := public.(type) {
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
	return "", fmt.Errorf("no alg, and none follows from a %T", public)
}

// tidyJWX rewords an error of jwx's, whose message names the functions it
// passed through ("jwk.ParseKey: jwk.Parse: …") and can say a thing twice
// ("key validation failed: key validation failed: …"), into what the JWK's
// owner needs to read; errors.Is and errors.As still see the cause.
func tidyJWX(err error) error {
	var kept []string
	for _, part := range strings.Split(err.Error(), ": ") {
		if strings.HasPrefix(part, "jwk.") && !strings.Contains(part, " ") {
			continue // a function's name
		}
		if len(kept) > 0 && kept[len(kept)-1] == part {
			continue
		}
		kept = append(kept, part)
	}
	if msg := strings.Join(kept, ": "); msg != err.Error() {
		return &textclip.Reworded{Msg: msg, Cause: err}
	}
	return err
}
