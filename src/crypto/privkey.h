/* Private-key files a user brings to `tpm11 import`: PEM PKCS#8 and
 * traditional EC/RSA keys (through OpenSSL's decoders) and OpenSSH keys,
 * passphrase-protected or not (crypto/sshpriv.c). Only what a TPM 2.0 can hold: NIST
 * P-256/P-384 and RSA-2048/3072; anything else is refused with one line
 * that says why. */
#ifndef TPM11_CRYPTO_PRIVKEY_H
#define TPM11_CRYPTO_PRIVKEY_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include "crypto/ec.h"

typedef enum { PRIVKEY_NONE = 0, PRIVKEY_EC, PRIVKEY_RSA } privkey_kind;

/* The parts a TPM key needs, big-endian. EC: d, x, y, each field length.
 * RSA: n (n_len bytes, no leading zero), e, and the prime p left-padded
 * to n_len / 2. Wipe with privkey_clear. */
typedef struct {
	privkey_kind kind;
	ec_curve curve;
	uint8_t d[EC_MAX_FIELD_LEN], x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];
	uint8_t n[512], p[256];
	size_t n_len;
	uint32_t e;
} privkey;

/* What privkey_read returns besides 0 and -1: the key is encrypted and
 * no passphrase was given; the passphrase given does not open it. */
#define PRIVKEY_NEED_PASSPHRASE (-2)
#define PRIVKEY_WRONG_PASSPHRASE (-3)

/* Reads a private key from a file's bytes; pass (NUL-terminated, or
 * NULL when none is at hand yet) opens a passphrase-protected OpenSSH
 * key. 0, -1 with a sentence in err (no key material in it), or one of
 * the two above. */
T11_MUST_CHECK int privkey_read(const uint8_t *data, size_t len,
				const char *pass, privkey *out, char *err,
				size_t errlen);
/* A PKCS#12 file (DER) with password pass (may be empty): its private
 * key, and in *cert (malloc'd DER, the caller frees) its certificate, or
 * NULL when it holds none. 0, or -1 with a sentence in err
 * (PRIVKEY_WRONG_PASSPHRASE when the password does not check). */
T11_MUST_CHECK int privkey_read_pkcs12(const uint8_t *data, size_t len,
				       const char *pass, privkey *out,
				       uint8_t **cert, size_t *cert_len,
				       char *err, size_t errlen);
/* Checks an RSA key's size and exponent, an EC key's curve (found in
 * the caller's parts); 0 or -1 with err. Used by both readers. */
T11_MUST_CHECK int privkey_check_rsa(privkey *k, size_t plen, char *err,
				     size_t errlen);
void privkey_clear(privkey *k);

/* A key given as its parts (PKCS#11 C_CreateObject, v2.40 2.3.4 and
 * 2.1.3), big-endian, the caller's buffers (not copied, not kept). EC:
 * the curve and the scalar d (CKA_VALUE). RSA: n, e, d, p, q, and dP,
 * dQ, qInv (NULL ones are computed from the others). */
typedef struct {
	const uint8_t *v;
	size_t len;
} privkey_part;

typedef struct {
	privkey_kind kind;
	ec_curve curve;
	privkey_part d;
	privkey_part n, e, p, q, dp, dq, qinv;
} privkey_parts;

/* The parts' key, built with OpenSSL (OSSL_PARAM_BLD, EVP_PKEY_fromdata)
 * and checked there (EVP_PKEY_pairwise_check: d in range, n = p*q, the
 * exponents and the coefficient belong together), into out as
 * privkey_read gives it. 0; PRIVKEY_BAD_VALUE for a part that is wrong
 * on its own (d out of range, a size or exponent a TPM does not take);
 * PRIVKEY_MISMATCH when the parts do not form one key. err says which,
 * without key material. Every copy of a private part is wiped. */
#define PRIVKEY_BAD_VALUE (-1)
#define PRIVKEY_MISMATCH (-2)
T11_MUST_CHECK int privkey_from_parts(const privkey_parts *in, privkey *out,
				      char *err, size_t errlen);

#endif
