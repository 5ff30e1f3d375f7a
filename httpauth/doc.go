// Package httpauth is net/http middleware that checks a bearer token, or a
// DPoP-bound one with its proof, on every request with a [jwtaudit.Verifier], answers the way RFC 6750 asks,
// and leaves exactly one audit event per request, with the request's
// method, route, client address and request id in it.
//
//	verifier, err := jwtaudit.NewVerifier(append(httpauth.VerifierOptions(), shared)...)
//	authn := httpauth.Middleware(verifier, httpauth.WithRealm("api"))
//	admin := httpauth.Middleware(verifier, httpauth.WithRealm("api"), httpauth.RequireScopes("admin"))
//	mux.Handle("GET /me", authn(me))
//	mux.Handle("GET /admin", admin(adminPage))
//
// # What a request gets
//
// The token is taken from exactly one "Authorization: Bearer" header (the
// scheme in any case, RFC 7235), or, by option, from a cookie, from the
// access_token query parameter of RFC 6750 §2.3 (off unless enabled) or
// from an extractor of your own. The answers follow RFC 6750 §3, with a
// small RFC 9457 problem document as body:
//
//   - no credentials (or another scheme): 401, WWW-Authenticate: Bearer
//     realm="…", no error code;
//   - an invalid token: 401, error="invalid_token", "Invalid token";
//   - an expired token: 401, error="invalid_token", error_description="the
//     token expired", "Token expired";
//   - a malformed request (two Authorization headers, two tokens, another
//     scheme mixed in, two cookies of the token's name, credentials in two
//     places, a cookie beside an Authorization header of any scheme among
//     them): 400, error="invalid_request";
//   - a missing scope: 403, error="insufficient_scope", scope="…" (scopes
//     are RFC 6749 §3.3 scope-tokens separated by U+0020 alone: see
//     [Scopes]);
//   - the service unable to decide (its audit trail or revocation store
//     failing): 503.
//
// A client learns nothing else: never the reason, a key id or a claim.
// [WithErrorHandler] replaces the answer. The verified token is in the
// request's context: [TokenFrom].
//
// # DPoP
//
// [WithDPoP] also takes DPoP-bound tokens (RFC 9449): "Authorization: DPoP
// <token>" with one "DPoP" proof header, checked by
// [jwtaudit.Verifier.VerifyDPoP], under a policy: [DPoPRequired] or
// [DPoPOrBearer]. Refusals are answered with "WWW-Authenticate: DPoP"
// (RFC 9449 §7.1): error="invalid_dpop_proof" for the proof,
// error="use_dpop_nonce" with a "DPoP-Nonce" header for a missing server
// nonce, error="invalid_token" for the token, and the proof algorithms
// accepted in algs. A token endpoint checks a client's proof with
// [jwtaudit.DPoP.Check] on [DPoPRequest]. Behind a proxy, [WithOrigin]
// names the scheme and host clients use, which proofs name.
//
// # One event per request
//
// The middleware calls Verify once per request, also for a request without
// credentials (with an empty token, [jwtaudit.ErrNoToken]), so every
// request that reaches it is on the trail. [VerifierOptions] gives the
// verifier what the middleware needs: the request's attributes in the
// event ([RequestAttrs] as [jwtaudit.WithContextAttrs]) and the scope check
// as a validator, so that a request refused for its scopes has one event,
// which says so. A verifier built without them cannot check scopes: the
// middleware then answers 500 rather than let a request through unchecked.
package httpauth
