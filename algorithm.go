package jwtaudit

import (
	"crypto"
	"crypto/elliptic"
	"slices"
)

// Algorithm is a JWS signature algorithm (RFC 7518 §3, RFC 8037). A key is
// bound to exactly one algorithm when it is created with [NewKey], and the
// verifier only ever checks a signature with that algorithm. There is no
// constant for "none": it is never accepted.
type Algorithm string

// The supported algorithms.
const (
	HS256 Algorithm = "HS256" // HMAC with SHA-256; secret of 32 bytes or more
	HS384 Algorithm = "HS384" // HMAC with SHA-384; secret of 48 bytes or more
	HS512 Algorithm = "HS512" // HMAC with SHA-512; secret of 64 bytes or more
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; RSA key of 2048 bits or more
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256
	ES384 Algorithm = "ES384" // ECDSA on P-384 with SHA-384
	ES512 Algorithm = "ES512" // ECDSA on P-521 with SHA-512
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// family groups algorithms by the kind of key they take.
type family uint8

const (
	familyHMAC family = iota + 1
	familyRSA
	familyECDSA
	familyEdDSA
)

// algorithmInfo is what the package needs to know of one algorithm.
type algorithmInfo struct {
	family family
	hash   crypto.Hash    // the digest; its size is the HMAC secret minimum
	curve  elliptic.Curve // ECDSA only: the one curve RFC 7518 §3.4 allows
}

var algorithms = map[Algorithm]algorithmInfo{
	HS256: {family: familyHMAC, hash: crypto.SHA256},
	HS384: {family: familyHMAC, hash: crypto.SHA384},
	HS512: {family: familyHMAC, hash: crypto.SHA512},
	RS256: {family: familyRSA, hash: crypto.SHA256},
	RS384: {family: familyRSA, hash: crypto.SHA384},
	RS512: {family: familyRSA, hash: crypto.SHA512},
	PS256: {family: familyRSA, hash: crypto.SHA256},
	PS384: {family: familyRSA, hash: crypto.SHA384},
	PS512: {family: familyRSA, hash: crypto.SHA512},
	ES256: {family: familyECDSA, hash: crypto.SHA256, curve: elliptic.P256()},
	ES384: {family: familyECDSA, hash: crypto.SHA384, curve: elliptic.P384()},
	ES512: {family: familyECDSA, hash: crypto.SHA512, curve: elliptic.P521()},
	EdDSA: {family: familyEdDSA},
}

// allAlgorithms lists the supported algorithms in a fixed order: the
// verifier looks a header's "alg" up in it without allocating, and tests
// range over it.
var allAlgorithms = []Algorithm{
	HS256, HS384, HS512,
	RS256, RS384, RS512,
	PS256, PS384, PS512,
	ES256, ES384, ES512,
	EdDSA,
}

// lookupAlgorithm returns the supported algorithm spelled exactly b.
func lookupAlgorithm(b []byte) (Algorithm, bool) {
	for _, a := range allAlgorithms {
		if string(b) == string(a) {
			return a, true
		}
	}
	return "", false
}

// algorithmSet is the allow-list of WithAlgorithms; nil allows every
// supported algorithm.
type algorithmSet []Algorithm

// allows reports whether alg is a supported algorithm the set allows.
func (s algorithmSet) allows(alg Algorithm) bool {
	if s == nil {
		_, ok := algorithms[alg]
		return ok
	}
	return slices.Contains(s, alg)
}
