// Package jwtaudit issues and verifies JSON Web Tokens (RFC 7519) and
// records every outcome in an audit trail.
//
// A service creates one [Issuer] to hand out tokens at login and one
// [Verifier] to check them on every request. Each Issue and each Verify
// call produces exactly one audit [Event], whatever its outcome, so that
// the trail can answer later who got a token, who used it, and why one was
// refused.
//
// # Issuing and verifying
//
// Keys are created once with [NewKey], which binds material to a key id and
// one algorithm, and refuses weak or mismatched material. The same options
// configure both sides:
//
//	key, err := jwtaudit.NewKey("2026-11", jwtaudit.ES256, privateKey)
//	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithIssuer("https://auth.example"))
//	issuer, err := jwtaudit.NewIssuer(shared)     // signs with the private part
//	verifier, err := jwtaudit.NewVerifier(shared) // checks with the public part
//
//	raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "user-42"})
//	tok, err := verifier.Verify(ctx, raw)
//
// Options are typed by what they serve: an [Option] configures both sides,
// an [IssuerOption] only the issuer ([WithTTL], [WithSigningKey]), a
// [VerifierOption] only the verifier ([WithLeeway], [WithValidator], …), and
// an [AuditOption] ([WithAudit], [WithClock], [WithContextAttrs],
// [WithRedaction], [WithAuditFailOpen]) every producer of events: the
// issuer, the verifier, a [KeySet] and a [RemoteKeySet]. Giving an option to
// a constructor it means nothing to is a compile error, and an option with a
// bad value makes the constructor return an error. List options
// ([WithKeys], [WithAudience], [WithValidator], …) add up when repeated;
// any other option repeated takes its last value.
//
// # Keys and rotation
//
// A [KeySet] ([WithKeySet]) carries keys through their lifecycle, next →
// active → retiring → removed, with lock-free rotation and a JWKS handler
// that publishes a key before it signs and after it stops. A
// [RemoteKeySet] ([WithKeySource]) follows another party's JWKS, and
// [WithTrustedIssuers] lets one verifier accept several issuers, each with
// its own keys. Key changes and JWKS fetches are audit events too.
//
// Keys kept as JWKs or PEM are imported with [ParseJWK], [ParseJWKSet] and
// [ParsePEM], under the rules a RemoteKeySet applies to what it fetches.
// Weak material is refused wherever a key comes from: short HMAC secrets,
// RSA moduli outside 2048 to 8192 bits or with the ROCA structure,
// small-order or non-canonical Ed25519 keys. [InsecureLegacyHMACKey] is the
// one way to accept tokens signed with a short secret, for verification
// only and marked in every event, while a service moves off it.
//
// # Revocation
//
// [WithRevocation] makes a verifier check a [RevocationStore] after the
// signature and claims: one token revoked by its issuer and "jti", or
// every token of a subject issued before a cut-off ("log out
// everywhere"). A [Revoker] revokes, and records each revocation (op
// revoke). [MemoryRevocations] keeps them in this process, bounded in all
// and per subject, each forgotten once the tokens it covers have expired;
// the redisrevoke sub-package shares them among the instances of a service
// through Redis, each instance checking its own copy in memory, and says
// when that copy cannot be trusted (op store_state, [StoreEvents]). An
// Issuer that shares the store ([WithSubjectGenerations]) stamps each
// token with its subject's generation, so that "log out everywhere"
// revokes every token issued before it and none issued after it returns,
// whatever the clocks say (see [Revocation]). [WithReplayGuard] makes
// tokens one-time: only the first verification of a "jti" succeeds, later
// ones get [ErrReplayed].
//
// # Proof of possession (DPoP)
//
// A token issued with [Claims].Confirmation is bound to a client's key
// (RFC 9449): [Verifier.Verify] refuses it, and [Verifier.VerifyDPoP]
// accepts it only with a proof signed by that key for the request at hand,
// checked by a [DPoP] ([WithDPoP]) as RFC 9449 §4.3 says, each proof used
// once. A token endpoint checks a client's proof with [DPoP.Check] and
// binds the token it issues to the proof's key.
//
// The httpauth sub-package is net/http middleware: bearer tokens taken as
// RFC 6750 says, DPoP as RFC 9449 says, its answers, scopes, and one audit
// event per request. The grpcauth module does the same for gRPC servers,
// as unary and stream interceptors.
//
// # Errors
//
// Every failure has exactly one [Reason], read with [ReasonOf], and a
// sentinel error to test with [errors.Is]: [ErrExpired] for an expired
// token, which a client cures by logging in again, and [ErrMalformed],
// [ErrSignature], [ErrAudience] and the others for tokens that are simply
// invalid. The verifier's checks run in a fixed, documented order and stop
// at the first failure (see [Verifier.Verify]). Error messages never contain
// the token or key material.
//
// # Security
//
// The verifier takes the algorithm from its configured key, never from the
// token: the header's "alg" must equal the algorithm of the key that "kid"
// selects, and "none" is never accepted, so algorithm confusion (an RSA
// public key used as an HMAC secret) cannot happen. Headers that could name
// another key ("jwk", "jku", "x5u", "x5c") are ignored; "crit" and "b64"
// are refused.
//
// Input is read strictly: exactly three base64url segments without padding,
// line breaks or the standard alphabet; JSON objects whose registered claims
// have their RFC 7519 types ("exp" a number, never a string), whose member
// names match exactly and appear once, not even twice up to case, with
// nothing after them. So the checks, the audit trail and [Token.Decode]
// (encoding/json, which matches names without regard to case) always read
// the same claims. Nothing in the payload is looked at before the signature
// holds, except the "iss" that picks a trusted issuer's keys. Input longer
// than 8 KiB is refused before it is decoded ([WithMaxTokenSize]). A token
// that names an audience is refused by a verifier that expects none
// (RFC 7519 §4.1.3). "exp" is required unless [InsecureAllowMissingExpiry]
// says otherwise.
//
// [Key] values print and log as their id and algorithm only.
//
// # Audit trail
//
// An [AuditSink] receives every [Event]: the operation, its outcome and
// reason, the key and algorithm, the claims that identify the token
// (iss, sub, aud, jti, exp), a [Fingerprint] that joins a token's issue and
// verify events without storing the token, the duration, and attributes
// taken from the request's context ([WithContextAttrs]). On a rejected
// token the claims are whatever the token said, marked Verified false and
// clipped in length: they come from whoever sent it.
//
// [Event.LogValue] is the one place that decides what is written. The
// [SlogSink] writes events to any [log/slog.Handler]; the [JSONSink]
// writes the lines slog's JSON handler would, to an io.Writer, without
// allocating ([Event.AppendJSON] is held to slog's bytes by a differential
// test and a fuzz target); the auditlog sub-package keeps them in a
// hash-chained file that proves it was not edited; the otelmetrics
// sub-package counts them as OpenTelemetry metrics; [AsyncSink] takes the
// writing off the request's path; [FanOutSink] records to several sinks;
// [SinkFunc] adapts a function; [DiscardSink], the default, drops them.
// Private claims are recorded only when named by
// [WithAuditClaims]; [WithRedaction] writes identifying values as salted
// hashes that can still be searched.
//
// # Failure policy
//
// The trail fails closed: if the sink returns an error (or panics), Issue
// returns [ErrAudit] and no token, Verify returns [ErrAudit] and no token,
// even for a valid one, a [KeySet] change is not made, and a
// [RemoteKeySet] keeps its previous keys instead of installing the ones it
// fetched. A decision that could not be recorded is not made (a [Revoker]'s
// revocation is the exception: refusing it would leave a stolen token
// valid, so it is made and the call returns ErrAudit). The price is
// availability: a full disk stops logins. [WithAuditFailOpen] chooses the
// other side of the trade: the operation goes ahead and the sink's error
// goes to a function of yours, so the service keeps working while decisions
// go unrecorded until someone acts on the alarm. An [AsyncSink] can refuse
// an event only while queuing it (when it is closed, or its caller gives up
// waiting for room); a write that fails later is counted and reported, not
// refused.
//
// A panic in code of yours that an operation reaches (a validator, a
// [KeySource], a crypto.Signer, a private claim's MarshalJSON, the
// [WithContextAttrs] function) is recovered: the operation fails with
// [ErrInternal] and its one event says so.
//
// # Performance
//
// Issue encodes each key's header once and sizes every token's bytes
// exactly; Verify copies its input once, matches the header against its keys
// without allocating, and decodes the claims with a strict reader of its
// own, into the Token it returns, instead of encoding/json. HMAC
// signatures are made and checked with crypto/hmac from a pooled keyed
// state; the others are made by github.com/lestrrat-go/jwx/v3 and checked
// by crypto's own verifiers, with jwx's checks. A [JSONSink] writes
// an event without allocating. [WithVerifiedCache] remembers verified
// tokens, so that a token seen again skips its signature and decoding but
// none of the checks that can change (key, clock, revocation, validators,
// replay guard); a hit is recorded like any Verify. Benchmarks sit beside
// the code (go test -bench .) and, against other libraries, in the
// benchmarks module, whose ratios program writes the README's tables.
package jwtaudit
