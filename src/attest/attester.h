/* The attesting side of `tpm11 attest` (docs/attestation.md, "Attesting a
 * key"): TPM2_Certify (and TPM2_CertifyCreation) of a key by an AK, bound
 * to the verifier's challenge, answered in one of the evidence formats;
 * and the attestation kept on the token as a CKO_DATA object. */
#ifndef TPM11_ATTEST_ATTESTER_H
#define TPM11_ATTEST_ATTESTER_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include "attest/evidence.h"
#include "token/token.h"

#define ATTEST_APPLICATION "tpm11-attestation"

typedef struct {
	ev_format format;
	const char *ak; /* the AK's name */
	/* The key: a token key, or a persistent TPM object (key_handle). */
	token *t;
	token_obj *o;
	uint32_t key_handle;
	/* The challenge: C, or WebAuthn's clientDataHash (32 bytes), or a
	 * challenge file from `verify-attestation --make-challenge`, whose
	 * credential the TPM recovers as C. */
	const uint8_t *chal;
	size_t chal_len;
	const uint8_t *client_data_hash;
	const char *respond;
	const char *rp_id; /* webauthn; NULL: "tpm11" */
	/* The user PIN, asked only for a PIN-protected key, after the EK
	 * work (malloc'd; the attester wipes and frees it). NULL: no PIN,
	 * with the reason told to the user already. */
	char *(*get_pin)(void *arg);
	void *pin_arg;
} attest_req;

/* Attests: the evidence as it is written, malloc'd, in *out. -1 with the
 * message in why (after "tpm11: "; empty when already told). Nothing of
 * ours stays loaded in the TPM, and the token is logged out again. */
T11_MUST_CHECK int attest_run(core *c, const attest_req *req, char **out,
			      size_t *outlen, char *why, size_t whylen);

/* A CKO_DATA object per attested key, so PKCS#11-only programs can read
 * the attestation: CKA_APPLICATION "tpm11-attestation", CKA_ID and
 * CKA_LABEL of the key, CKA_VALUE the attestation as written. A newer one
 * replaces the older, in one store transaction. */
T11_MUST_CHECK CK_RV attest_store_object(core *c, token *t, const token_obj *o,
					 ev_format fmt, const void *data,
					 size_t len);

#endif
