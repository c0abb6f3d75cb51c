/* RSA signature encodings done on the host; the TPM then performs the raw
 * RSA private operation (TPM2_RSA_Decrypt with scheme NULL). */
#ifndef TPM11_CRYPTO_RSAPAD_H
#define TPM11_CRYPTO_RSAPAD_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

/* DigestInfo (RFC 8017 9.2 note 1) for alg around hash (hash_len(alg)
 * bytes). 0 ok, -1 error (cap too small, bad alg). */
T11_MUST_CHECK int rsa_digestinfo(hash_algo alg, const uint8_t *hash,
				  uint8_t *out, size_t cap, size_t *len);

/* If in is exactly a DigestInfo of a known hash, returns that hash and sets
 * *digest and *dlen to point inside in; else HASH_NONE. */
hash_algo rsa_digestinfo_parse(const uint8_t *in, size_t len,
			       const uint8_t **digest, size_t *dlen);

/* EMSA-PKCS1-v1_5 block: 00 01 FF..FF 00 || t, out is modlen bytes. t is
 * whatever the caller gives (CKM_RSA_PKCS signs caller-built DigestInfo).
 * -1 when tlen > modlen - 11. */
T11_MUST_CHECK int rsa_pkcs1_sig_pad(const uint8_t *t, size_t tlen,
				     uint8_t *out, size_t modlen);

/* EMSA-PSS-ENCODE (RFC 8017 9.1.1) of an already computed message hash
 * mhash (hash_len(alg) bytes), MGF1 with mgf_alg, salt of saltlen random
 * bytes, for a modulus of modbits bits. out is ceil(modbits/8) bytes, with
 * a leading zero byte when (modbits-1) % 8 == 0. 0 ok, -1 error (salt too
 * long for the modulus, bad alg). */
T11_MUST_CHECK int rsa_pss_encode(hash_algo alg, hash_algo mgf_alg,
				  size_t saltlen, const uint8_t *mhash,
				  unsigned modbits, uint8_t *out);

#endif
