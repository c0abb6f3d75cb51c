/* Attestation keys on the attesting machine (docs/attestation.md,
 * "Attestation keys"): made in the TPM, kept in the store (ak_rec,
 * store/store.h) through the token layer, and what a verifier needs of
 * one (`ak export`). */
#ifndef TPM11_ATTEST_AK_H
#define TPM11_ATTEST_AK_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "token/token.h"
#include "tpm/attest.h"

#define AK_DEFAULT "ak"
#define AK_REQUEST_FORMAT "tpm11-ak-request-1"

/* 1 to 32 of A-Z a-z 0-9 . _ - */
bool ak_name_ok(const char *name);
/* The AK called name: 0, 1 when there is none, -1 when its record is
 * damaged (c->err). */
T11_MUST_CHECK int ak_load(core *c, const char *name, ak_rec *r);
/* ak_load with the message a user needs in why: how to make the AK, or
 * that its record is damaged. */
T11_MUST_CHECK int ak_need(core *c, const char *name, ak_rec *r, char *why,
			   size_t whylen);
/* r's blobs as the TPM layer takes them (borrowed, not to be freed). */
tpm_ak ak_tpm(const ak_rec *r);
/* The AK's TPMT_PUBLIC bytes (its stored TPM2B_PUBLIC without the size). */
T11_MUST_CHECK int ak_tpmt(const ak_rec *r, blob *out);
/* Its public key, or NULL. */
EVP_PKEY *ak_pkey(const ak_rec *r);
/* Its TPM Name (nameAlg || H(TPMT_PUBLIC)); name holds 66 bytes. */
T11_MUST_CHECK int ak_tpm_name(const ak_rec *r, uint8_t *name, size_t *len);

/* What this TPM lacks to make the EK of the template of the EK
 * certificate at index (TCG EK Credential Profile 2.3, B.3 and B.4), or
 * NULL when it can make it. */
const char *ak_ek_lacks(core *c, uint32_t index);
/* Leaves out of ec[0..*n) the certificates whose EK this TPM cannot
 * make (a verifier that chose one would send a challenge the TPM cannot
 * answer), telling c->notice about each. */
void ak_ek_certs_makeable(core *c, tpm_ek_cert *ec, size_t *n);

/* Makes an AK called name in the TPM and stores it (replacing one of that
 * name). ek_parent: a child of the EK whose certificate is at ek_index
 * (0: the first present whose EK this TPM can make, else the P-256 EK),
 * else of the SRK. On failure why says what failed and nothing is
 * stored. */
T11_MUST_CHECK CK_RV ak_create(core *c, const char *name, tpm_ak_alg alg,
			       bool ek_parent, uint32_t ek_index, ak_rec *out,
			       char *why, size_t whylen);
/* Sets r's certificates to the first 16 of sk (AK certificate first) and
 * stores r. -1 when the first is not for r's key (why says so). */
T11_MUST_CHECK int ak_set_certs(core *c, ak_rec *r, STACK_OF(X509) * sk,
				char *why, size_t whylen);
/* The request a verifier makes a challenge from (`ak export`,
 * "tpm11-ak-request-1"): the AK's public area and the EK certificates;
 * malloc'd text, NULL when out of memory. */
char *ak_request_encode(const ak_rec *r, const tpm_ek_cert *ec, size_t n,
			size_t *len);

#endif
