// Package dpoptest makes DPoP proofs (RFC 9449 §4.2) for the tests of
// several packages: right ones, and ones wrong in any member the test
// chooses. It signs with crypto's own functions and builds the JSON with
// encoding/json, apart from the code under test.
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Client is a DPoP client: a key pair, and proofs made with it.
type Client struct {
	Alg        string         // "ES256" or "EdDSA"
	Key        crypto.Signer  // the private key
	JWK        map[string]any // the public key as the proofs' "jwk"
	Thumbprint string         // its RFC 7638 SHA-256 thumbprint
}

// NewClient returns a client with a new key for alg, "ES256" or "EdDSA".
func NewClient(alg string) (*Client, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("dpoptest: no keys for %q", alg)
	}
	if err != nil {
		return nil, err
	}
	jk, err := jwk.Import(key.Public())
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(jk)
	if err != nil {
		return nil, err
	}
	c := &Client{Alg: alg, Key: key}
	if err := json.Unmarshal(raw, &c.JWK); err != nil {
		return nil, err
	}
	sum, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	c.Thumbprint = base64.RawURLEncoding.EncodeToString(sum)
	return c, nil
}

// Proof is a proof's header and claims before signing; a test changes
// them to make a wrong proof.
type Proof struct {
	Header map[string]any
	Claims map[string]any
}

// Proof returns a proof for a request, with "ath" for accessToken when it
// is not "", made at now. Each change edits the proof before it is signed.
func (c *Client) Proof(method, url, accessToken string, now time.Time, changes ...func(*Proof)) string {
	p := &Proof{
		Header: map[string]any{"typ": "dpop+jwt", "alg": c.Alg, "jwk": c.JWK},
		Claims: map[string]any{"jti": rand.Text(), "htm": method, "htu": url, "iat": now.Unix()},
	}
	if accessToken != "" {
		p.Claims["ath"] = ATH(accessToken)
	}
	for _, change := range changes {
		change(p)
	}
	return c.Sign(p)
}

// Sign signs a proof's header and claims as they are.
func (c *Client) Sign(p *Proof) string {
	h, err := json.Marshal(p.Header)
	if err != nil {
		panic(err)
	}
	cl, err := json.Marshal(p.Claims)
	if err != nil {
		panic(err)
	}
	return c.SignRaw(h, cl)
}

// SignRaw signs a header and a payload given as bytes.
func (c *Client) SignRaw(header, payload []byte) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	var sig []byte
	switch k := c.Key.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			panic(err)
		}
		sig = append(fixed(r, 32), fixed(s, 32)...)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	}
	return input + "." + enc.EncodeToString(sig)
}

func fixed(n *big.Int, size int) []byte {
	out := make([]byte, size)
	return n.FillBytes(out)
}

// ATH is the "ath" of an access token: the base64url SHA-256 of it.
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PrivateJWK returns the client's key as a JWK with its private members.
func (c *Client) PrivateJWK() map[string]any {
	jk, err := jwk.Import(c.Key)
	if err != nil {
		panic(err)
	}
	raw, err := json.Marshal(jk)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	return m
}
