package jwtaudit

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePEM makes a Key of one PEM block, bound to id and alg as [NewKey]
// binds material, with the same checks: a private key ("PRIVATE KEY",
// PKCS #8; "RSA PRIVATE KEY", PKCS #1; "EC PRIVATE KEY", SEC 1), a public
// key ("PUBLIC KEY", PKIX; "RSA PUBLIC KEY", PKCS #1) or a certificate's
// public key ("CERTIFICATE"; the certificate itself is not checked: trust
// in it is the caller's decision). Anything but exactly one PEM block is
// refused. An HMAC secret is not a PEM block: give NewKey its bytes.
func ParsePEM(id string, alg Algorithm, data []byte) (*Key, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("jwtaudit: ParsePEM: no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("jwtaudit: ParsePEM: more than one PEM block, or data after it")
	}
	material, err := pemMaterial(block)
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: ParsePEM: %s: %w", block.Type, err)
	}
	k, err := newKey(id, alg, material)
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: ParsePEM: %w", err)
	}
	return k, nil
}

func pemMaterial(block *pem.Block) (any, error) {
	switch block.Type {
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, errors.New("not a key type this package reads")
}
