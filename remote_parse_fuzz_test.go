package jwtaudit

import (
	"testing"
)

// FuzzParseRemoteKeys feeds arbitrary bodies to the JWKS parser a
// RemoteKeySet runs on what the network sends: it must never panic, and
// every key it returns must be usable (an algorithm, public material, an id).
func FuzzParseRemoteKeys(f *testing.F) {
	good, err := publicJWK(mustKey(f, "good", EdDSA, testEd25519))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"keys":[` + string(good) + `]}`,
		`{"keys":[{"kty":"oct","k":"AAAA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":""}]}`,
		`{"keys":null}`, `{}`, `[]`, `null`, ``, `{"keys":[1,"x",null,{}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		set, err := parseRemoteKeys(body)
		if err != nil {
			return
		}
		if len(set.keys)+set.skipped > maxRemoteKeys || len(set.reasons) > maxSkipReasons {
			t.Fatalf("examined %d keys and kept %d reasons", len(set.keys)+set.skipped, len(set.reasons))
		}
		for _, k := range set.keys {
			if k.id == "" || k.public == nil || k.CanSign() {
				t.Fatalf("unusable key %v from %q", k, body)
			}
			if _, ok := algorithms[k.alg]; !ok || algorithms[k.alg].family == familyHMAC {
				t.Fatalf("key %v with algorithm %q from %q", k, k.alg, body)
			}
		}
	})
}
