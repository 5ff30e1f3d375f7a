package jwtaudit_test

import (
	"fmt"
	"log"

	"github.com/jwtaudit/jwtaudit"
)

// A service that keeps its verification keys in a JWK Set file (or in its
// configuration) imports them with the same rules a RemoteKeySet applies:
// "use" must be "sig", "alg" must fit the key, and each key refused says
// why.
func ExampleParseJWKSet() {
	set := []byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","kid":"2026-11","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"OKP","crv":"Ed25519","kid":"2026-12","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}`)
	keys, err := jwtaudit.ParseJWKSet(set)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range keys {
		fmt.Println(k, "can sign:", k.CanSign())
	}

	_, err = jwtaudit.ParseJWKSet([]byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","kid":"enc-key","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}`))
	fmt.Println(err)
	// Output:
	// jwtaudit.Key{kid="2026-11" alg=EdDSA} can sign: false
	// jwtaudit.Key{kid="2026-12" alg=EdDSA} can sign: false
	// jwtaudit: ParseJWKSet: key 0 (kid "enc-key"): use "enc", not sig
}

// A key kept as PEM, bound to its id and algorithm.
func ExampleParsePEM() {
	const public = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
-----END PUBLIC KEY-----`
	key, err := jwtaudit.ParsePEM("2026-11", jwtaudit.EdDSA, []byte(public))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key, "can sign:", key.CanSign())
	// Output:
	// jwtaudit.Key{kid="2026-11" alg=EdDSA} can sign: false
}
