/* Public-key operations done on the host with OpenSSL: C_Verify, and the
 * unpadding half of RSA decryption (the TPM does the private operation). */
#ifndef TPM11_CRYPTO_PKEY_H
#define TPM11_CRYPTO_PKEY_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include "crypto/ec.h"
#include "crypto/hash.h"

typedef struct evp_pkey_st pkey;

pkey *pkey_ec(ec_curve c, const uint8_t *x, const uint8_t *y);
pkey *pkey_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen);
void pkey_free(pkey *k);

/* Results: 1 valid, 0 invalid, -1 error. */
/* ECDSA: digest (any length; ECDSA truncates), sig = r||s. */
T11_MUST_CHECK int pkey_verify_ecdsa(pkey *k, ec_curve c, const uint8_t *dig,
				     size_t dlen, const uint8_t *sig,
				     size_t siglen);
/* RSA PKCS#1 v1.5. alg != HASH_NONE: dig is that hash's digest; HASH_NONE:
 * dig is the caller's DigestInfo (or any T), compared after recovery. */
T11_MUST_CHECK int pkey_verify_rsa_pkcs1(pkey *k, hash_algo alg,
					 const uint8_t *dig, size_t dlen,
					 const uint8_t *sig, size_t siglen);
T11_MUST_CHECK int pkey_verify_rsa_pss(pkey *k, hash_algo alg, hash_algo mgf,
				       size_t salt, const uint8_t *dig,
				       size_t dlen, const uint8_t *sig,
				       size_t siglen);
/* Raw RSA: sig^e mod n equals the input left-padded to the modulus. */
T11_MUST_CHECK int pkey_verify_rsa_raw(pkey *k, const uint8_t *in, size_t inlen,
				       const uint8_t *sig, size_t siglen);

/* Unpadding of a decrypted RSA block em (modlen bytes). out receives at
 * most cap bytes; returns the message length or -1 (bad padding; the
 * caller reports CKR_ENCRYPTED_DATA_INVALID). */
T11_MUST_CHECK int rsa_unpad_pkcs1(const uint8_t *em, size_t modlen,
				   uint8_t *out, size_t cap);
T11_MUST_CHECK int rsa_unpad_oaep(const uint8_t *em, size_t modlen,
				  hash_algo alg, hash_algo mgf,
				  const uint8_t *label, size_t llen,
				  uint8_t *out, size_t cap);

#endif
