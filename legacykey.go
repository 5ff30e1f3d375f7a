package jwtaudit

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
)

// InsecureLegacyHMACKey makes a verify-only HMAC key of a secret shorter
// than RFC 7518 §3.2 allows (such as the 10-byte "secret_key" of many a
// first service), so that a service moving to this package can go on
// accepting the tokens it already handed out, until the last of them
// expires. Such a secret can be found by brute force: anyone who does can
// forge tokens the key accepts.
//
// The key never signs: CanSign is false, and an issuer refuses it. Every
// verify event of a token checked with it carries the attribute
// "legacy_key": true, so that the trail shows when the last legacy token
// was used, and so when the key can go. The way off it:
//
//  1. issue with a new, strong key at once;
//  2. verify with both, the legacy key under its own kid (a single
//     configured key also accepts tokens without "kid", as old ones often
//     are);
//  3. once the old tokens' lifetime has passed and the trail shows no
//     more legacy_key events, remove the legacy key.
//
// The secret must not be empty, nor a PEM block; alg must be HS256, HS384
// or HS512, and id must be given.
func InsecureLegacyHMACKey(id string, alg Algorithm, secret []byte) (*Key, error) {
	if algorithms[alg].family != familyHMAC {
		return nil, fmt.Errorf("jwtaudit: InsecureLegacyHMACKey: %q is not an HMAC algorithm", alg)
	}
	switch {
	case id == "":
		return nil, errors.New("jwtaudit: InsecureLegacyHMACKey: the key needs an id")
	case len(secret) == 0:
		return nil, errors.New("jwtaudit: InsecureLegacyHMACKey: empty secret")
	case bytes.HasPrefix(bytes.TrimSpace(secret), []byte("-----BEGIN")):
		return nil, errors.New("jwtaudit: InsecureLegacyHMACKey: the secret is a PEM block, never an HMAC secret")
	}
	secret = bytes.Clone(secret)
	return &Key{id: id, alg: alg, public: secret, sigLen: algorithms[alg].hash.Size(), legacy: true, macs: newMACPool(algorithms[alg], secret)}, nil
}

// legacyKeyAttr marks the event of a token checked with a legacy key.
var legacyKeyAttr = slog.Bool("legacy_key", true)
