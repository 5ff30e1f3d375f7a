package benchmarks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// bareVerifier returns the floor under any JWT verifier: the signature
// check of the token's signing input with the given public material, and
// the one base64 decode it needs (of the signature). It reads no header
// and no claim. The function keeps scratch space: one per goroutine.
func bareVerifier(alg jwtaudit.Algorithm, pub any) func(token string) bool {
	var input []byte
	var sig [512]byte
	split := func(token string) ([]byte, []byte, bool) {
		dot := strings.LastIndexByte(token, '.')
		n, err := base64.RawURLEncoding.Decode(sig[:], []byte(token[dot+1:]))
		input = append(input[:0], token[:dot]...)
		return input, sig[:n], err == nil
	}
	switch alg {
	case jwtaudit.HS256:
		mac := hmac.New(sha256.New, pub.([]byte))
		var sum [sha256.Size]byte
		return func(token string) bool {
			in, s, ok := split(token)
			mac.Reset()
			mac.Write(in)
			return ok && hmac.Equal(mac.Sum(sum[:0]), s)
		}
	case jwtaudit.ES256:
		key := pub.(*ecdsa.PublicKey)
		return func(token string) bool {
			in, s, ok := split(token)
			h := sha256.Sum256(in)
			r, ss := new(big.Int).SetBytes(s[:32]), new(big.Int).SetBytes(s[32:])
			return ok && len(s) == 64 && ecdsa.Verify(key, h[:], r, ss)
		}
	case jwtaudit.EdDSA:
		key := pub.(ed25519.PublicKey)
		return func(token string) bool {
			in, s, ok := split(token)
			return ok && ed25519.Verify(key, in, s)
		}
	case jwtaudit.RS256:
		key := pub.(*rsa.PublicKey)
		return func(token string) bool {
			in, s, ok := split(token)
			h := sha256.Sum256(in)
			return ok && rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], s) == nil
		}
	}
	panic("no bare verifier for " + string(alg))
}

// bareHS256Signer returns the floor under any HS256 issuer: the claims
// written with appends, base64, the MAC, and the token as a string.
func bareHS256Signer(secret []byte) func() string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k1","typ":"JWT"}`))
	mac := hmac.New(sha256.New, secret)
	var claims, token []byte
	var sum [sha256.Size]byte
	return func() string {
		now := time.Now().Unix()
		claims = append(claims[:0], `{"iss":"`+issuer+`","sub":"user-42","aud":"`+audience+`","exp":`...)
		claims = strconv.AppendInt(claims, now+3600, 10)
		claims = append(claims, `,"iat":`...)
		claims = strconv.AppendInt(claims, now, 10)
		claims = append(claims, `,"jti":"`...)
		claims = append(claims, rand.Text()...)
		claims = append(claims, `"}`...)
		token = append(token[:0], header...)
		token = append(token, '.')
		token = base64.RawURLEncoding.AppendEncode(token, claims)
		mac.Reset()
		mac.Write(token)
		s := mac.Sum(sum[:0])
		token = append(token, '.')
		token = base64.RawURLEncoding.AppendEncode(token, s)
		return string(token)
	}
}
