/* TPM 2.0 structures on the host, without a TPM: public areas, Names,
 * signatures, and the TCG EK templates. Used by the attester (to build
 * templates) and by the verifier (which runs on a server with no TPM). */
#ifndef TPM11_ATTEST_TPMDATA_H
#define TPM11_ATTEST_TPMDATA_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* TPM 2.0 Part 2, 6.2 TPM_GENERATED_VALUE and 6.9 TPM_ST_ATTEST_* */
#define TPMDATA_GENERATED 0xff544347u

/* Parses a marshalled TPMT_PUBLIC that must fill len exactly. 0 ok. */
T11_MUST_CHECK int tpmt_public_parse(const uint8_t *p, size_t len,
				     TPMT_PUBLIC *out);
/* Marshals a TPMT_PUBLIC into a malloc'd buffer. 0 ok. */
T11_MUST_CHECK int tpmt_public_marshal(const TPMT_PUBLIC *p, uint8_t **out,
				       size_t *len);
/* TPMS_ATTEST that must fill len exactly. 0 ok. */
T11_MUST_CHECK int tpms_attest_parse(const uint8_t *p, size_t len,
				     TPMS_ATTEST *out);
/* TPMT_SIGNATURE that must fill len exactly. 0 ok. */
T11_MUST_CHECK int tpmt_signature_parse(const uint8_t *p, size_t len,
					TPMT_SIGNATURE *out);

/* The OpenSSL digest of a TPM hash algorithm (SHA-1/256/384/512), or
 * NULL. */
const EVP_MD *tpm_alg_md(uint16_t alg);
const char *tpm_alg_name(uint16_t alg);

/* Name = nameAlg (2 bytes, big-endian) || H_nameAlg(marshalled TPMT_PUBLIC)
 * (Part 1, 16 Names). pub/len are the marshalled bytes exactly as given.
 * name must hold 2 + 64 bytes. 0 ok, -1 for an unknown nameAlg. */
T11_MUST_CHECK int tpm_name(const uint8_t *pub, size_t len, uint16_t name_alg,
			    uint8_t *name, size_t *name_len);
/* The Name of a public area: tpm_name of its marshalled form, with its
 * own nameAlg. name must hold 2 + 64 bytes. 0 ok. */
T11_MUST_CHECK int tpmt_public_name(const TPMT_PUBLIC *p, uint8_t *name,
				    size_t *name_len);

/* The public key of an RSA or ECC public area (NIST P-256/384/521). NULL
 * when unsupported. */
EVP_PKEY *tpmt_public_pkey(const TPMT_PUBLIC *p);
/* Fills unique from an OpenSSL key of the matching kind: RSA modulus or
 * the ECC point, coordinates padded to the curve size. 0 ok. */
T11_MUST_CHECK int tpmt_public_set_unique(TPMT_PUBLIC *p, EVP_PKEY *k);

/* Verifies a TPMT_SIGNATURE (ECDSA or RSASSA with SHA-256/384/512) by key
 * over msg. 0 valid; -1 invalid, with why filled. */
T11_MUST_CHECK int tpm_signature_verify(EVP_PKEY *key,
					const TPMT_SIGNATURE *sig,
					const uint8_t *msg, size_t len,
					char *why, size_t whylen);

/* The COSE algorithm of a signature (ES256 -7, ES384 -35, ES512 -36,
 * RS256 -257, RS384 -258, RS512 -259), or 0. */
T11_MUST_CHECK int tpm_signature_cose_alg(const TPMT_SIGNATURE *sig);

/* A signature as WebAuthn verifiers read attStmt.sig in practice (6.5.5):
 * ECDSA as an ASN.1 DER Ecdsa-Sig-Value, RSASSA as the PKCS#1 v1.5 block.
 * malloc'd. 0 ok. */
T11_MUST_CHECK int tpm_signature_to_raw(const TPMT_SIGNATURE *sig,
					uint8_t **out, size_t *len);
/* The reverse, for the COSE alg of the signer (ES256/384/512,
 * RS256/384/512). 0 ok. */
T11_MUST_CHECK int tpm_signature_from_raw(int cose_alg, const uint8_t *p,
					  size_t len, TPMT_SIGNATURE *out);

/* --- TCG EK Credential Profile templates ------------------------------- */

typedef struct {
	uint32_t cert_index;     /* NV index of the EK certificate */
	uint32_t nonce_index;    /* low range: template nonce, else 0 */
	uint32_t template_index; /* low range: template in NV, else 0 */
	const char *name;        /* "L-1 RSA 2048", "H-3 ECC NIST P-384" */
	bool supported;          /* tpm11 can use it (hash, curve) */
} ek_template;

/* Every EK certificate index of the profile, low and high range. */
extern const ek_template ek_templates[];
extern const size_t ek_templates_count;
const ek_template *ek_template_find(uint32_t cert_index);
/* The template's public area (unique empty or zero-filled as the profile
 * says; nonce, if given, goes at the start of unique). 0 ok. */
T11_MUST_CHECK int ek_template_public(const ek_template *t,
				      const uint8_t *nonce, size_t nonce_len,
				      TPMT_PUBLIC *out);
/* USER role of the template: policy only (PolicySecret(TPM_RH_ENDORSEMENT),
 * low range) or the empty authValue too (userWithAuth, high range). */
bool ek_template_user_with_auth(const ek_template *t);

#endif
