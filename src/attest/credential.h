/* TPM2_MakeCredential on the host, for a verifier that has no TPM:
 * TPM 2.0 Part 1, section 24 "Credential Protection" (with 11.4.9.2 KDFa,
 * 11.4.10.3 KDFe and Annex B.10.3 / C.6.4 for the seed), so that only the
 * TPM holding the EK, with the object of the given Name loaded, recovers
 * the credential through TPM2_ActivateCredential. */
#ifndef TPM11_ATTEST_CREDENTIAL_H
#define TPM11_ATTEST_CREDENTIAL_H

#include "util/check.h"

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/* ek: the EK's public area (its nameAlg and symmetric definition choose
 * the KDF hash and the cipher). name: the Name of the object the TPM must
 * have loaded (the AK). cv: the credential, at most the digest size of the
 * EK's nameAlg. Fills the TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET that
 * TPM2_ActivateCredential takes. 0 ok, -1 error (why filled). */
T11_MUST_CHECK int credential_make(const TPMT_PUBLIC *ek, const uint8_t *name,
				   size_t name_len, const uint8_t *cv,
				   size_t cv_len, TPM2B_ID_OBJECT *blob,
				   TPM2B_ENCRYPTED_SECRET *secret, char *why,
				   size_t whylen);

/* KDFa (Part 1, 11.4.9.2) with HMAC over the hash alg: counter from 1,
 * K(i) = HMAC(key, [i]32 || label || 00 || contextU || contextV || [bits]32).
 * label without its terminating zero (added here). 0 ok. */
T11_MUST_CHECK int kdfa(uint16_t alg, const uint8_t *key, size_t klen,
			const char *label, const uint8_t *cu, size_t culen,
			const uint8_t *cv, size_t cvlen, unsigned bits,
			uint8_t *out);
/* KDFe (Part 1, 11.4.10.3): K(i) = H([i]32 || Z || label || 00 || partyU ||
 * partyV). 0 ok. */
T11_MUST_CHECK int kdfe(uint16_t alg, const uint8_t *z, size_t zlen,
			const char *label, const uint8_t *pu, size_t pulen,
			const uint8_t *pv, size_t pvlen, unsigned bits,
			uint8_t *out);

#endif
