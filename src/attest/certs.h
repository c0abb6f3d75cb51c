/* X.509 for attestation: EK and AK certificate chains, the TPM identity
 * in an EK certificate (TCG EK Credential Profile 3.2.9: manufacturer,
 * model and version as a directoryName in subjectAltName), and the AK
 * certificate requirements of WebAuthn (8.3.1). OpenSSL does the parsing
 * and the chain building. */
#ifndef TPM11_ATTEST_CERTS_H
#define TPM11_ATTEST_CERTS_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Every certificate of a PEM file (one or more). NULL with why filled. */
STACK_OF(X509) * certs_load_pem(const char *path, char *why, size_t whylen);
X509 *cert_from_der(const uint8_t *p, size_t len);
/* DER of a certificate, malloc'd. 0 ok. */
T11_MUST_CHECK int cert_to_der(X509 *c, uint8_t **out, size_t *len);

/* Verifies leaf up to one of anchors (each anchor is trusted as it is:
 * a root, or an intermediate given on purpose), with untrusted as extra
 * intermediates (may be NULL). 0 ok; -1 with why (OpenSSL's reason). */
T11_MUST_CHECK int cert_verify_chain(X509 *leaf, STACK_OF(X509) * untrusted,
				     STACK_OF(X509) * anchors, char *why,
				     size_t whylen);

/* TPM manufacturer ("id:49424D00"), model and version from the TCG
 * directoryName in subjectAltName; empty strings when absent. */
typedef struct {
	char manufacturer[64];
	char model[64];
	char version[64];
} tpm_identity;
void cert_tpm_identity(X509 *c, tpm_identity *id);
/* "IBM", "Infineon", ... for a TCG vendor ID string ("id:49424D00"), or
 * NULL; also names swtpm's unregistered "id:00001014". */
const char *tpm_vendor_name(const char *id);
/* Whether id is "id:" and a vendor ID of the TCG TPM Vendor ID Registry. */
bool tpm_vendor_registered(const char *id);

/* AK certificate checks. All: the extended key usage holds
 * tcg-kp-AIKCertificate (2.23.133.8.3), basicConstraints is not CA, and a
 * TPM manufacturer in subjectAltName, if any, is a registered one.
 * webauthn: also version 3, empty subject, and a TPM identity in
 * subjectAltName (WebAuthn 8.3.1). 0 ok, -1 with why. */
T11_MUST_CHECK int cert_check_ak(X509 *c, bool webauthn, char *why,
				 size_t whylen);

/* Subject as one line, malloc'd ("(empty)" for an empty name). */
char *cert_subject(X509 *c);
char *cert_issuer(X509 *c);

#endif
