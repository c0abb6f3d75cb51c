/* The verifier: every check of an attestation, on a machine with no TPM.
 * Each failed check adds one line to the result's reasons; the
 * attestation holds only when there is none. */
#ifndef TPM11_ATTEST_VERIFY_H
#define TPM11_ATTEST_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest/certs.h"
#include "attest/evidence.h"

typedef struct {
	STACK_OF(X509) * ek_ca;   /* trusted EK CAs (may be NULL) */
	STACK_OF(X509) * ak_ca;   /* trusted AK CAs (may be NULL) */
	const uint8_t *challenge; /* C: the nonce, key authorization, or the
				   * credential of the challenge */
	size_t challenge_len;
	/* webauthn: WebAuthn's clientDataHash as given (32 bytes), in place
	 * of SHA-256(C); NULL when C is given */
	const uint8_t *client_data_hash;
	/* credential mode: what the verifier's challenge state holds */
	bool credential;
	const blob *state_ak_pub;  /* TPMT_PUBLIC */
	const blob *state_ek_cert; /* DER */
	/* the key that must be the attested one (--expect-*), or NULL */
	EVP_PKEY *expect_key;
	const char *expect_what; /* file name, for the message */
	const char *rp_id;       /* webauthn: default "tpm11" */
	const char *comment;     /* of the authorized_keys line */
	bool require_creation;
	/* hex authPolicy the key must have, with userWithAuth clear so that
	 * every use must satisfy it (--require-policy), or NULL */
	const char *require_policy;
} verify_opts;

typedef struct {
	char **reasons;
	size_t n;
	char *ssh_line;               /* the authorized_keys line */
	char *key_desc;               /* "ECC NIST P-256", ... */
	tpm_identity id;              /* TPM manufacturer/model/version, from
				     what binds the AK: the activated EK's
				     certificate or the AK certificate */
	char id_source[32];           /* "EK certificate", "AK certificate" */
	bool ek_unbound;              /* AK-certificate mode: an EK certificate
				     chains to --ek-ca, but nothing binds
				     it to the AK */
	char *ak_desc;                /* how the AK is known to be a TPM's */
	bool creation;                /* TPM2_CertifyCreation checked */
	char creation_parent[140];    /* hex Name of the key's parent */
	char auth_policy[2 * 64 + 1]; /* hex authPolicy ("" when none) */
	bool policy_only;             /* userWithAuth clear: every use of the
				     key must satisfy auth_policy (e.g. a
				     PCR-bound key) */
} verify_result;

/* Fills r; returns the number of failed checks (0: the attestation
 * holds). */
size_t verify_evidence(const evidence *ev, const verify_opts *o,
		       verify_result *r);
void verify_result_clear(verify_result *r);

/* Attribute checks shared with make-challenge: NULL when p is a proper AK
 * (restricted signing key, fixedTPM, fixedParent, sensitiveDataOrigin,
 * not decrypt, adminWithPolicy clear), else the reason. */
const char *verify_ak_attributes(const TPMT_PUBLIC *p);

/* An OpenSSH line (authorized_keys or .pub) to a key; NULL on error. */
EVP_PKEY *ssh_line_pkey(const char *line);
/* The key the attested one must be (--expect-ssh-key, --expect-csr): from
 * an OpenSSH public key file, or from a PEM CSR whose own signature must
 * verify (its holder used the key, so the key in the TPM is the CSR's).
 * NULL with why. */
EVP_PKEY *verify_expect_key(const char *path, bool csr, char *why,
			    size_t whylen);

#endif
