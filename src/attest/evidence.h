/* Attestation evidence and its three encodings (docs/attestation.md):
 *
 *   json      tpm11's own file, "format": "tpm11-attestation-1"
 *   webauthn  a WebAuthn attestation object, fmt "tpm" (WebAuthn 8.3),
 *             as base64url text (the verifier also reads raw CBOR)
 *   acme      the device-attest-01 payload {"attObj": base64url(CBOR)}
 *             with fmt "tpm" as step-ca verifies it
 *
 * and the one rule that ties them to a challenge C (the verifier's nonce,
 * an ACME key authorization, or the credential activated by the TPM):
 *
 *   json, acme: extraData = SHA-256(C)
 *   webauthn:   extraData = SHA-256(authData || SHA-256(C))
 *               (clientDataHash = SHA-256(C))
 */
#ifndef TPM11_ATTEST_EVIDENCE_H
#define TPM11_ATTEST_EVIDENCE_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/json.h"
#include "util/blob.h"

typedef enum { EV_JSON = 1, EV_WEBAUTHN, EV_ACME } ev_format;

typedef struct {
	uint32_t index;
	blob der;
} ev_ek_cert;

typedef struct {
	ev_format format;
	blob key_pub;       /* TPMT_PUBLIC of the attested key */
	blob cert_info;     /* TPMS_ATTEST of TPM2_Certify */
	blob cert_sig;      /* TPMT_SIGNATURE over cert_info */
	blob creation_data; /* TPMS_CREATION_DATA (optional) */
	blob creation_info; /* TPMS_ATTEST of TPM2_CertifyCreation */
	blob creation_sig;
	blob ak_pub;    /* TPMT_PUBLIC of the AK (json only) */
	blob *ak_certs; /* DER, AK certificate first */
	size_t n_ak_certs;
	ev_ek_cert *ek_certs; /* json only */
	size_t n_ek_certs;
	char *ssh;          /* json: OpenSSH line of the key */
	char *key_label;    /* json */
	char *challenge_id; /* json, credential mode */
	blob auth_data;     /* webauthn */
	int64_t alg;        /* webauthn/acme: COSE alg of the AK */
} evidence;

void evidence_clear(evidence *ev);
ev_format ev_format_parse(const char *s);
const char *ev_format_name(ev_format f);

/* The qualifying data (extraData) the TPM must sign for challenge C in
 * format f. auth_data is needed for webauthn. out holds 32 bytes. 0 ok. */
T11_MUST_CHECK int ev_extra_data(ev_format f, const uint8_t *c, size_t clen,
				 const blob *auth_data, uint8_t out[32]);
/* The webauthn rule with WebAuthn's clientDataHash given as is (32 bytes,
 * e.g. SHA-256 of a clientDataJSON): SHA-256(authData || cdh). 0 ok. */
T11_MUST_CHECK int ev_webauthn_extra(const blob *auth_data,
				     const uint8_t cdh[32], uint8_t out[32]);

/* WebAuthn authenticator data for a key (Web Authentication 6.1):
 * rpIdHash = SHA-256(rp_id), flags UP|AT, signCount 0, AAGUID zero,
 * credentialId = the key's TPM Name, credentialPublicKey = COSE_Key of
 * pubArea. 0 ok. */
T11_MUST_CHECK int ev_auth_data(const char *rp_id, const blob *key_pub,
				blob *out);

/* Encodes ev (its format decides) into a malloc'd text: JSON, base64url,
 * or the ACME payload JSON; each ends with a newline. */
char *evidence_encode(const evidence *ev, size_t *len);
/* The "ek_certificates" array of the json format and of the AK request:
 * [{"nv_index": "0x01c00016", "der": base64}, ...]. */
void ev_json_ek_certs(json_writer *w, const ev_ek_cert *c, size_t n);
/* Reads any of the three encodings (json and acme detected by their
 * members, webauthn as base64url text or raw CBOR). 0 ok; -1 with why. */
T11_MUST_CHECK int evidence_decode(const uint8_t *in, size_t len, evidence *ev,
				   char *why, size_t whylen);

/* COSE_Key (RFC 9053 7.1 EC2 / RFC 8230 RSA) of a TPMT_PUBLIC, CBOR
 * encoded, and the key back from one (for comparison). */
T11_MUST_CHECK int ev_cose_key(const blob *key_pub, blob *out);

#endif
