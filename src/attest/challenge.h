/* The verifier's side of the challenge-response mode (docs/attestation.md,
 * "Mode 2"), and the challenges a verifier gives in the other modes: no
 * TPM, no store. A challenge is made from the AK request of `tpm11 ak
 * export`: MakeCredential for the AK's Name to an EK certificate that
 * chains to the verifier's EK CAs. The verifier keeps the secret in a
 * state file of its own, which is answered once: the claim is the
 * exclusive creation of "<state>.used" (two verifiers racing on one
 * answer: one wins), then the state is written again with "used": true
 * for people. */
#ifndef TPM11_ATTEST_CHALLENGE_H
#define TPM11_ATTEST_CHALLENGE_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "attest/certs.h"
#include "attest/json.h"
#include "util/blob.h"

#define CHALLENGE_FORMAT "tpm11-challenge-1"
#define CHALLENGE_STATE_FORMAT "tpm11-challenge-state-1"
/* A --nonce, and the credential a TPM recovers: 1 to 64 bytes. */
#define CHALLENGE_NONCE_MAX 64
#define CHALLENGE_KEY_AUTH_MAX 1024
#define CHALLENGE_TTL_DEFAULT 600
#define CHALLENGE_TTL_MAX (30L * 86400)

/* An NV index in hex ("0x01c00016" or "1c00016"). */
bool challenge_parse_index(const char *s, uint32_t *out);

/* RFC 8555 8.1: NULL when s is an ACME key authorization
 * (token.thumbprint), else what is wrong with it. */
const char *challenge_key_authorization_check(const char *s);

/* One of tpm11's JSON files (member "format" must be format). NULL with a
 * sentence naming the file in err. */
json_value *challenge_read_json(const char *path, const char *format, char *err,
				size_t errlen);

/* "tpm11-challenge-state-1": what the verifier keeps (0600: the secret). */
typedef struct {
	char *id;        /* challenge_id, 32 hex digits */
	uint8_t *secret; /* the credential: the challenge C */
	size_t secret_len;
	blob ak_pub;     /* the AK's TPMT_PUBLIC */
	char *ek_index;  /* "0x01c00016" */
	blob ek_cert;    /* DER */
	int64_t expires; /* seconds since 1970 */
	bool used;
} challenge_state;
void challenge_state_clear(challenge_state *st);
char *challenge_state_encode(const challenge_state *st, size_t *len);
/* Reads a state file. -1 with a sentence in why. */
T11_MUST_CHECK int challenge_state_load(const char *path, challenge_state *st,
					char *why, size_t whylen);
/* Whether st may check the answer answer_id (NULL: the format carries
 * none) at now: 0, or 1 with the refusal in why (answered already,
 * expired, another challenge's). */
T11_MUST_CHECK int challenge_state_check(const char *path,
					 const challenge_state *st,
					 const char *answer_id, time_t now,
					 char *why, size_t whylen);
/* Marks the state at path used: 0 done; 1 when another check claimed it
 * first (a replayed answer); -1 with why. */
T11_MUST_CHECK int challenge_state_claim(const char *path, char *why,
					 size_t whylen);

/* A challenge made (challenge_make): the two files' texts (state_text
 * holds the secret: secure_free it), and what to tell the verifier. */
typedef struct {
	char *state_text, *challenge_text;
	size_t state_len, challenge_len;
	char id[33];
	char ek_index[16];
	uint8_t ak_name[66];
	size_t ak_name_len;
	tpm_identity tpm; /* from the chosen EK certificate */
} challenge_made;
void challenge_made_clear(challenge_made *m);
/* Makes a challenge for the AK request req (its file name req_name for
 * messages): the first EK certificate that chains to ek_ca and whose
 * template tpm11 knows (the one at want_index when not 0, else ECC ones
 * first: the TPM makes an ECC EK in a moment, an RSA one may take
 * seconds), a fresh 32-byte secret, valid ttl seconds from now. 0; 1 when
 * the request is refused (why says why); -1 on another error (why). */
T11_MUST_CHECK int challenge_make(const json_value *req, const char *req_name,
				  STACK_OF(X509) * ek_ca, uint32_t want_index,
				  long ttl, time_t now, challenge_made *out,
				  char *why, size_t whylen);

#endif
