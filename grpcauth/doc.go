// Package grpcauth is a pair of gRPC server interceptors, unary and
// stream, that verify the bearer token of every call with a
// [jwtaudit.Verifier] and leave exactly one audit event per call, with the
// call's method, peer and request id in it.
//
//	verifier, err := jwtaudit.NewVerifier(append(grpcauth.VerifierOptions(), shared)...)
//	auth := []grpcauth.Option{grpcauth.RequireScopes("/orders.v1.Orders/Cancel", "orders:write")}
//	server := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(verifier, auth...)),
//		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(verifier, auth...)),
//	)
//
// # What a call gets
//
// The token is taken from the "authorization" metadata: exactly one value,
// "Bearer <token>" (the scheme in any case). Anything else (two values,
// another scheme, two tokens) is refused. A refused call ends with a
// status that tells the client no more than it may know:
//
//   - no credentials: codes.Unauthenticated, "authentication required";
//   - malformed credentials: codes.Unauthenticated, "malformed credentials";
//   - an expired token: codes.Unauthenticated, "token expired";
//   - any other invalid token: codes.Unauthenticated, "invalid token";
//   - a scope the method requires ([RequireScopes]) missing:
//     codes.PermissionDenied, "insufficient scope";
//   - the service unable to decide (its audit trail or revocation store
//     failing): codes.Unavailable, "service unavailable".
//
// Never the reason, a key id or a claim: those are in the audit event.
// The verified token is in the handler's context: [TokenFrom].
//
// # One event per call
//
// Every call the interceptors see is one Verify, also a call without
// credentials (with an empty token, [jwtaudit.ErrNoToken]), except the
// methods named by [WithoutAuthentication], which are not verified at all
// and so leave no event. [VerifierOptions] gives the verifier what the
// interceptors need: the call's attributes in the event ([RequestAttrs] as
// [jwtaudit.WithContextAttrs]: grpc_method, client, request_id or
// trace_id, and grpc_auth when the credentials were malformed) and the
// scope check as a validator, so that a call refused for its scopes has
// one event, which says so. A verifier built without them cannot check
// scopes: a call to a method that requires some then ends with
// codes.Internal rather than run unchecked.
package grpcauth
