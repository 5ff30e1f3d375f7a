package jwtaudit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
)

func TestDecodeClaims(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		want  Claims
		error string
	}{
		{name: "all registered", in: `{"iss":"i","sub":"s","aud":"a","exp":10,"nbf":5,"iat":4,"jti":"j"}`,
			want: Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, ExpiresAt: time.Unix(10, 0).UTC(), NotBefore: time.Unix(5, 0).UTC(), IssuedAt: time.Unix(4, 0).UTC(), ID: "j"}},
		{name: "aud array", in: `{"aud":["a","b"]}`, want: Claims{Audience: []string{"a", "b"}}},
		{name: "aud empty array", in: `{"aud":[]}`, want: Claims{Audience: []string{}}},
		{name: "fractional date", in: `{"exp":1.5}`, want: Claims{ExpiresAt: time.Unix(1, 5e8).UTC()}},
		{name: "exponent date", in: `{"exp":1e3}`, want: Claims{ExpiresAt: time.Unix(1000, 0).UTC()}},
		{name: "escapes", in: `{"sub":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}`, want: Claims{Subject: "a\"b\\c/dé😀\n"}},
		{name: "escaped name", in: `{"\u0073ub":"x"}`, want: Claims{Subject: "x"}},
		{name: "white space", in: " {\r\n\t\"sub\" : \"x\" } \n", want: Claims{Subject: "x"}},
		{name: "private skipped", in: `{"a":{"b":[1,2.5e-3,true,false,null,"s",{}]},"sub":"x"}`, want: Claims{Subject: "x"}},
		{name: "UTF-8", in: `{"sub":"Łódź"}`, want: Claims{Subject: "Łódź"}},
		{name: "exp string", in: `{"exp":"10"}`, error: "not a JSON number"},
		{name: "exp null", in: `{"exp":null}`, error: "not a JSON number"},
		{name: "exp negative", in: `{"exp":-5}`, error: "out of range"},
		{name: "exp leading zero", in: `{"exp":010}`, error: "invalid JSON"},
		{name: "exp after year 9999", in: `{"exp":253402300800}`, error: "out of range"},
		{name: "sub number", in: `{"sub":1}`, error: "not a JSON string"},
		{name: "aud number", in: `{"aud":1}`, error: "neither"},
		{name: "aud array of numbers", in: `{"aud":[1]}`, error: "not an array of strings"},
		{name: "aud trailing comma", in: `{"aud":["a",]}`, error: "not an array of strings"},
		{name: "duplicate", in: `{"sub":"a","sub":"b"}`, error: "duplicate"},
		{name: "trailing comma", in: `{"sub":"a",}`, error: "invalid JSON"},
		{name: "array trailing comma", in: `{"x":[1,]}`, error: "not a JSON number"},
		{name: "trailing data", in: `{"sub":"a"}x`, error: "data after"},
		{name: "two objects", in: `{}{}`, error: "data after"},
		{name: "not an object", in: `"sub"`, error: "not a JSON object"},
		{name: "unterminated", in: `{"sub":"a`, error: "invalid JSON"},
		{name: "control character", in: "{\"sub\":\"a\x01\"}", error: "control character"},
		{name: "invalid UTF-8", in: "{\"sub\":\"\xc3\x28\"}", error: "invalid UTF-8"},
		{name: "lone surrogate", in: `{"sub":"\ud800"}`, error: "lone surrogate"},
		{name: "bad escape", in: `{"sub":"\x"}`, error: "invalid JSON"},
		{name: "too deep", in: `{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, error: "too deeply"},
		{name: "bad literal", in: `{"x":tru}`, error: "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodePlain([]byte(tc.in))
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("err = %v, want one containing %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// decodePlain decodes a claims set with nothing watched and nothing known.
func decodePlain(data []byte) (Claims, error) {
	return decodeClaims(data, &claimWatch{}, &watchMatch{}, nil)
}

func TestDecodeClaimsFindsRequiredPrivate(t *testing.T) {
	w, err := newClaimWatch([]string{"scope", "role", "tenant"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := w.newMatch()
	if _, err := decodeClaims([]byte(`{"tenant":1,"sub":"a","scope":"x"}`), &w, &m, nil); err != nil {
		t.Fatal(err)
	}
	if m.found != 0b101 {
		t.Errorf("found = %b, want 101", m.found)
	}
	if name, missing := w.missingRequired(&m); !missing || name != "role" {
		t.Errorf("missingRequired = %q, %v; want role, true", name, missing)
	}
}

func TestDecodeHeader(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Header
		error string
	}{
		{in: `{"alg":"ES256","kid":"k","typ":"at+jwt","cty":"JWT"}`, want: Header{Algorithm: ES256, KeyID: "k", Type: "at+jwt", ContentType: "JWT"}},
		{in: `{"alg":"ES256","jwk":{"kty":"EC"},"x5c":["AA"],"jku":"https://x"}`, want: Header{Algorithm: ES256}},
		{in: `{"alg":"ES256","crit":["b64"],"b64":false}`, error: `"crit" is not supported`},
		{in: `{"alg":"ES256","b64":true}`, error: `"b64" is not supported`},
		{in: `{"alg":"dir","enc":"A256GCM"}`, error: "JWE"},
		{in: `{"alg":"ES256","zip":"DEF"}`, error: "JWE"},
		{in: `{"alg":"ES256","alg":"none"}`, error: "duplicate"},
		{in: `{"alg":1}`, error: "not a JSON string"},
		{in: `{"kid":null}`, error: "not a JSON string"},
		{in: `[]`, error: "not a JSON object"},
	} {
		got, err := decodeHeader([]byte(tc.in))
		if tc.error != "" {
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("%s: err = %v, want %q", tc.in, err, tc.error)
			}
			continue
		}
		h := Header{Algorithm: Algorithm(got.alg), KeyID: string(got.kid), Type: string(got.typ), ContentType: string(got.cty)}
		if err != nil || h != tc.want || got.hasKid != (tc.want.KeyID != "") || got.hasTyp != (tc.want.Type != "") {
			t.Errorf("%s: got %+v, %v", tc.in, got, err)
		}
	}
}

// TestEncodeDecodeRoundTrip writes claims the issuer's way and reads them
// back both with decodeClaims and with encoding/json.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, c := range []Claims{
		{Subject: "plain"},
		{Issuer: "https://auth.example", Subject: "quote\" back\\slash", Audience: []string{"a"}, ID: "j"},
		{Subject: "ctl\x00\x1f\t\r\n", Audience: []string{"a", "b\u2028"}, ExpiresAt: time.Unix(2000000000, 0), NotBefore: time.Unix(1, 0), IssuedAt: time.Unix(0, 0)},
		{Subject: "bad utf-8 \xff\xfe end"},
		{Subject: "emoji 😀 and <html>&"},
	} {
		buf, err := appendClaims(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePlain(buf)
		if err != nil {
			t.Fatalf("%s: %v", buf, err)
		}
		var std struct {
			Sub string `json:"sub"`
		}
		if err := json.Unmarshal(buf, &std); err != nil {
			t.Fatalf("encoding/json refuses %s: %v", buf, err)
		}
		if got.Subject != std.Sub {
			t.Errorf("decoders disagree on %s: %q vs %q", buf, got.Subject, std.Sub)
		}
		want := c.Subject
		if want == "bad utf-8 \xff\xfe end" {
			want = "bad utf-8 \ufffd\ufffd end" // each invalid byte replaced, as encoding/json does
		}
		if got.Subject != want || got.Issuer != c.Issuer || got.ID != c.ID || !got.ExpiresAt.Equal(c.ExpiresAt) && !c.ExpiresAt.IsZero() {
			t.Errorf("round trip of %+v gave %+v", c, got)
		}
	}
}

// FuzzDecodeClaims compares decodeClaims with encoding/json: whatever the
// strict decoder accepts, encoding/json must accept as well and read the
// same registered claims (compared through a map, since encoding/json
// matches struct fields without regard to case).
func FuzzDecodeClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"i","sub":"s","aud":"a","exp":10,"nbf":5.5,"iat":4,"jti":"j"}`,
		`{"aud":["a","b"],"x":{"y":[1,null,true]}}`,
		`{"sub":"\u00e9\ud83d\ude00"}`, `{"exp":1e3}`, `{}`, ` {"sub" : "x"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodePlain(data)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("decodeClaims accepted what encoding/json refuses (%v): %q", err, data)
		}
		str := func(name string) string {
			var s string
			if raw, ok := m[name]; ok {
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			return s
		}
		if got.Issuer != str("iss") || got.Subject != str("sub") || got.ID != str("jti") {
			t.Fatalf("decoders disagree on %q: %+v", data, got)
		}
		if raw, ok := m["exp"]; ok {
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil || got.ExpiresAt.Unix() != int64(f) {
				t.Fatalf("exp: %v vs %v (%v)", got.ExpiresAt.Unix(), f, err)
			}
		}
	})
}

// FuzzAppendJSONString holds the issuer's string encoder to encoding/json:
// both must read back the same text (invalid UTF-8 replaced alike).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\t\r\n", "bad \xff\xfe", "😀 <html>&", "\u2028\u2029"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ours, theirs string
		if err := json.Unmarshal(jsonx.AppendString(nil, s), &ours); err != nil {
			t.Fatalf("%q encodes to invalid JSON: %v", s, err)
		}
		std, _ := json.Marshal(s)
		if err := json.Unmarshal(std, &theirs); err != nil {
			t.Fatal(err)
		}
		if ours != theirs {
			t.Fatalf("%q reads back as %q, encoding/json's as %q", s, ours, theirs)
		}
	})
}
