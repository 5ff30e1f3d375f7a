// Package weakkey refuses public keys that anyone can break or sign for:
// RSA moduli with the structure of CVE-2017-15361 (ROCA), and Ed25519 keys
// that are not canonical or have small order.
package weakkey

import "math/big"

// ROCAPrimes are the small primes whose residues reveal an RSA modulus
// made by the Infineon library of CVE-2017-15361 (ROCA): its primes are
// k·M + (65537^a mod M), with M the product of small primes, so the
// modulus modulo each of these primes lies in the subgroup that 65537
// generates. The list and the test are those of the detector published
// with the paper (Nemec et al., CCS 2017), which Yubico's and Tink's
// checks follow.
var ROCAPrimes = [...]uint64{
	3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
	73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149,
	151, 157, 163, 167,
}

// rocaMasks holds, for each of ROCAPrimes, the residues 65537^k mod p as
// bits of a mask.
var rocaMasks = func() (masks [len(ROCAPrimes)][3]uint64) {
	for i, p := range ROCAPrimes {
		for r := uint64(1); ; {
			masks[i][r/64] |= 1 << (r % 64)
			if r = r * 65537 % p; r == 1 {
				break
			}
		}
	}
	return masks
}()

// HasROCAFingerprint reports whether n has the structure of a
// ROCA-vulnerable modulus, whose factors can be recovered in practical
// time. A random modulus passes all the residue tests with a probability
// far below 2^-100.
func HasROCAFingerprint(n *big.Int) bool {
	var m big.Int
	for i, p := range ROCAPrimes {
		r := m.Mod(n, m.SetUint64(p)).Uint64()
		if rocaMasks[i][r/64]&(1<<(r%64)) == 0 {
			return false
		}
	}
	return true
}
