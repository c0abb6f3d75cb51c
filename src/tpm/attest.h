/* TPM commands of key attestation (docs/attestation.md): EK certificates
 * from NV, the EK primary from its TCG template, attestation keys (AK),
 * TPM2_Certify, TPM2_CertifyCreation and TPM2_ActivateCredential.
 *
 * Slots: swtpm and many TPMs hold three transient objects, and a command
 * naming the persistent SRK needs one of them. The caller keeps at most
 * one object of the residency LRU loaded (the key to certify) while these
 * functions run; each loads at most two objects of its own and flushes
 * what it created before returning, except the AK handle returned by
 * tpm_ak_load, which the caller flushes with tpm_attest_flush. Until then
 * a full TPM's flush of what dead processes left behind (TPM_CALL_ROOM,
 * src/tpm/call.h) leaves these objects alone. */
#ifndef TPM11_TPM_ATTEST_H
#define TPM11_TPM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "util/blob.h"
#include "tpm/tpm.h"

typedef struct {
	uint32_t index; /* NV index, e.g. 0x01c00016 */
	blob der;       /* the certificate, trailing padding removed */
} tpm_ek_cert;

/* Reads the EK certificate of every TCG index present (low range
 * 0x01c00002 RSA, 0x01c0000a P-256; high range 0x01c00012..0x01c0001e).
 * *n may be 0. On error why names the failing command. */
CK_RV tpm_ek_certs(tpm_ctx *t, tpm_ek_cert **out, size_t *n, char *why,
		   size_t whylen);
void tpm_ek_certs_free(tpm_ek_cert *c, size_t n);

/* AK algorithms: ECDSA P-256 with SHA-256 (the default), RSASSA 2048 with
 * SHA-256. */
typedef enum { TPM_AK_ECC_P256 = 1, TPM_AK_RSA_2048 = 2 } tpm_ak_alg;

/* An AK as stored: its blobs and its parent (0: the SRK, owner hierarchy;
 * else the EK whose certificate is at that NV index). */
typedef struct {
	blob pub, priv; /* TPM2B_PUBLIC, TPM2B_PRIVATE */
	uint32_t ek_index;
} tpm_ak;

/* Creates an AK: restricted signing key, fixedTPM|fixedParent|
 * sensitiveDataOrigin|userWithAuth|restricted|sign, empty authValue,
 * symmetric NULL, the scheme fixed in its template. */
CK_RV tpm_ak_create(tpm_ctx *t, tpm_ak_alg alg, uint32_t ek_index, tpm_ak *out,
		    char *why, size_t whylen);
/* Loads the AK (an EK parent is created and flushed on the way). */
CK_RV tpm_ak_load(tpm_ctx *t, const tpm_ak *ak, uint32_t *tr, char *why,
		  size_t whylen);
void tpm_attest_flush(tpm_ctx *t, uint32_t tr);

/* TPM2_Certify of obj by the AK: attest receives the TPMS_ATTEST bytes,
 * sig the marshalled TPMT_SIGNATURE. obj is authorised with an empty
 * authValue (ADMIN role through a password session). */
CK_RV tpm_certify(tpm_ctx *t, uint32_t obj, uint32_t ak, const uint8_t *qual,
		  size_t qlen, blob *attest, blob *sig, char *why,
		  size_t whylen);
/* TPM2_CertifyCreation with the stored TPM2B_DIGEST creation hash and
 * TPMT_TK_CREATION ticket. */
CK_RV tpm_certify_creation(tpm_ctx *t, uint32_t obj, uint32_t ak,
			   const uint8_t *qual, size_t qlen, const blob *chash,
			   const blob *cticket, blob *attest, blob *sig,
			   char *why, size_t whylen);

/* TPM2_ActivateCredential: the EK of ek_index is created from its TCG
 * template (and checked against want_ek_pub when given, a TPMT_PUBLIC
 * whose key must equal the created EK's), the AK loaded, the credential
 * (TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET, both marshalled) activated;
 * both objects are flushed. cv holds up to 64 bytes. */
CK_RV tpm_activate_credential(tpm_ctx *t, const tpm_ak *ak, uint32_t ek_index,
			      const blob *cred, const blob *secret, uint8_t *cv,
			      size_t *cvlen, char *why, size_t whylen);

/* A persistent object (0x81xxxxxx) to certify: its ESYS handle (release
 * with tpm_attest_release, not a flush) and its TPM2B_PUBLIC. */
CK_RV tpm_persistent_object(tpm_ctx *t, uint32_t handle, uint32_t *tr,
			    blob *pub, char *why, size_t whylen);
void tpm_attest_release(tpm_ctx *t, uint32_t tr);

#endif
