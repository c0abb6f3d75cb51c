#include "attest/challenge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "attest/codec.h"
#include "attest/credential.h"
#include "attest/tpmdata.h"
#include "attest/verify.h"
#include "util/file.h"
#include "util/secure.h"

bool
challenge_parse_index(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end != '\0' || v > 0xffffffffu)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The first n characters of s are base64url (RFC 4648 5, no padding). */
static bool
b64url_run(const char *s, size_t n)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") >= n;
}

/* RFC 8555 8.1: keyAuthorization = token || '.' ||
 * base64url(Thumbprint(accountKey)). The token is base64url without
 * padding and carries at least 128 bits (8.3: 22 characters or more); the
 * thumbprint is RFC 7638's SHA-256, 43 characters. Up to
 * CHALLENGE_KEY_AUTH_MAX characters in all. */
const char *
challenge_key_authorization_check(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t n = strlen(s);

	if (n > CHALLENGE_KEY_AUTH_MAX)
		return "longer than 1024 characters";
	if (dot == NULL || strchr(dot + 1, '.') != NULL)
		return "it must be one token, a dot, and the account key's "
		       "thumbprint";
	if (!b64url_run(s, (size_t)(dot - s)) ||
	    !b64url_run(dot + 1, strlen(dot + 1)))
		return "token and thumbprint are base64url, without padding";
	if (dot - s < 22)
		return "the token is shorter than 22 characters (128 bits)";
	if (strlen(dot + 1) != 43)
		return "the thumbprint is not 43 characters (base64url of a "
		       "SHA-256)";
	return NULL;
}

json_value *
challenge_read_json(const char *path, const char *format, char *err,
		    size_t errlen)
{
	uint8_t *b;
	size_t n;
	char jerr[96];
	json_value *j;
	const char *f;

	if (file_read(path, &b, &n, err, errlen) != 0)
		return NULL;
	j = json_parse((const char *)b, n, jerr, sizeof(jerr));
	secure_free(b, n);
	if (j == NULL) {
		snprintf(err, errlen, "%s: not valid JSON (%s)", path, jerr);
		return NULL;
	}
	if ((f = json_get_str(j, "format")) == NULL || strcmp(f, format) != 0) {
		snprintf(err, errlen, "%s is not a %s file", path, format);
		json_free(j);
		return NULL;
	}
	return j;
}

/* --- the state ------------------------------------------------------------- */

void
challenge_state_clear(challenge_state *st)
{
	free(st->id);
	if (st->secret != NULL)
		secure_free(st->secret, st->secret_len);
	blob_free(&st->ak_pub);
	free(st->ek_index);
	blob_free(&st->ek_cert);
	memset(st, 0, sizeof(*st));
}

char *
challenge_state_encode(const challenge_state *st, size_t *len)
{
	json_writer w;

	json_w_doc_begin(&w, CHALLENGE_STATE_FORMAT);
	json_w_key(&w, "challenge_id");
	json_w_str(&w, st->id);
	json_w_key(&w, "secret");
	json_w_hex(&w, st->secret, st->secret_len);
	json_w_key(&w, "ak_public");
	json_w_b64(&w, st->ak_pub.data, st->ak_pub.len);
	json_w_key(&w, "ek_nv_index");
	json_w_str(&w, st->ek_index);
	json_w_key(&w, "ek_certificate");
	json_w_b64(&w, st->ek_cert.data, st->ek_cert.len);
	json_w_key(&w, "expires");
	json_w_int(&w, st->expires);
	json_w_key(&w, "used");
	json_w_bool(&w, st->used);
	json_w_obj_end(&w);
	return json_w_finish(&w, len);
}

int
challenge_state_load(const char *path, challenge_state *st, char *why,
		     size_t whylen)
{
	const json_value *used, *exp;
	const char *id, *idx;
	json_value *j;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if ((j = challenge_read_json(path, CHALLENGE_STATE_FORMAT, why,
				     whylen)) == NULL)
		return -1;
	used = json_get(j, "used");
	exp = json_get(j, "expires");
	id = json_get_str(j, "challenge_id");
	idx = json_get_str(j, "ek_nv_index");
	if (json_get_hex(j, "secret", &st->secret, &st->secret_len) != 0 ||
	    json_get_b64(j, "ak_public", &st->ak_pub.data, &st->ak_pub.len) !=
		    0 ||
	    json_get_b64(j, "ek_certificate", &st->ek_cert.data,
			 &st->ek_cert.len) != 0 ||
	    used == NULL || used->type != JSON_BOOL || exp == NULL ||
	    exp->type != JSON_INT) {
		snprintf(why, whylen, "%s: a member is missing or malformed",
			 path);
		goto out;
	}
	/* Older states may lack what only people read. */
	if ((st->id = strdup(id ? id : "")) == NULL ||
	    (st->ek_index = strdup(idx ? idx : "")) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	st->used = used->b;
	st->expires = exp->i;
	rc = 0;
out:
	json_free(j);
	if (rc != 0)
		challenge_state_clear(st);
	return rc;
}

/* Whether "<path>.used" exists: a check claimed the state. */
static bool
challenge_state_claimed(const char *path)
{
	char u[4096];

	if (snprintf(u, sizeof(u), "%s.used", path) >= (int)sizeof(u))
		return false;
	return access(u, F_OK) == 0;
}

int
challenge_state_check(const char *path, const challenge_state *st,
		      const char *answer_id, time_t now, char *why,
		      size_t whylen)
{
	if (st->used || challenge_state_claimed(path)) {
		snprintf(why, whylen,
			 "the challenge was already answered (a "
			 "replayed response)");
		return 1;
	}
	if ((int64_t)now > st->expires) {
		snprintf(why, whylen, "the challenge expired; make a new one");
		return 1;
	}
	if (answer_id != NULL && strcmp(answer_id, st->id) != 0) {
		snprintf(why, whylen,
			 "the attestation answers another "
			 "challenge (id %s)",
			 answer_id);
		return 1;
	}
	return 0;
}

int
challenge_state_claim(const char *path, char *why, size_t whylen)
{
	challenge_state st;
	char u[4096], *text;
	size_t len;
	int fd, rc;

	if (snprintf(u, sizeof(u), "%s.used", path) >= (int)sizeof(u)) {
		snprintf(why, whylen, "%s: the name is too long", path);
		return -1;
	}
	if ((fd = open(u, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		if (errno == EEXIST)
			return 1;
		snprintf(why, whylen, "cannot create %s: %s", u,
			 strerror(errno));
		return -1;
	}
	close(fd);
	/* Claimed. The state itself says so too, for people. */
	if (challenge_state_load(path, &st, why, whylen) != 0)
		return -1;
	st.used = true;
	if ((text = challenge_state_encode(&st, &len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		challenge_state_clear(&st);
		return -1;
	}
	rc = file_write(path, text, len, 0600, why, whylen);
	secure_free(text, len);
	challenge_state_clear(&st);
	return rc;
}

/* --- making a challenge ------------------------------------------------------ */

void
challenge_made_clear(challenge_made *m)
{
	if (m->state_text != NULL)
		secure_free(m->state_text, m->state_len);
	free(m->challenge_text);
	memset(m, 0, sizeof(*m));
}

/* The EK certificate of req to make the credential for: see
 * challenge_make. Its key put into the EK public area its TCG template
 * makes (nameAlg and symmetric algorithm shape the credential). NULL with
 * why filled when none fits. */
static X509 *
challenge_pick_ek(const json_value *req, STACK_OF(X509) * ek_ca,
		  uint32_t want_index, TPMT_PUBLIC *ekpub, uint32_t *chosen,
		  char *why, size_t whylen)
{
	const json_value *list = json_get(req, "ek_certificates");
	X509 *found = NULL;
	size_t i;
	int pass;

	why[0] = '\0';
	for (pass = 0; pass < 2 && !found; pass++)
		for (i = 0;
		     list && list->type == JSON_ARR && i < list->n && !found;
		     i++) {
			const char *is =
				json_get_str(list->items[i], "nv_index");
			const ek_template *et;
			uint8_t *der = NULL;
			size_t dl;
			uint32_t index;
			X509 *x;
			EVP_PKEY *k;

			if (is == NULL || !challenge_parse_index(is, &index) ||
			    (et = ek_template_find(index)) == NULL ||
			    !et->supported ||
			    (want_index && index != want_index) ||
			    (!want_index && pass == 0 &&
			     strstr(et->name, "ECC") == NULL) ||
			    (!want_index && pass == 1 &&
			     strstr(et->name, "ECC") != NULL) ||
			    json_get_b64(list->items[i], "der", &der, &dl) != 0)
				continue;
			x = cert_from_der(der, dl);
			free(der);
			if (x == NULL)
				continue;
			if (cert_verify_chain(x, NULL, ek_ca, why, whylen) !=
			    0) {
				X509_free(x);
				continue;
			}
			k = X509_get_pubkey(x);
			if (k == NULL ||
			    ek_template_public(et, NULL, 0, ekpub) != 0 ||
			    tpmt_public_set_unique(ekpub, k) != 0) {
				snprintf(why, whylen,
					 "the EK certificate at 0x%08x "
					 "does not hold a key of its template",
					 index);
				EVP_PKEY_free(k);
				X509_free(x);
				continue;
			}
			EVP_PKEY_free(k);
			found = x;
			*chosen = index;
		}
	return found;
}

/* "tpm11-challenge-1": what the attesting TPM answers. */
static char *
challenge_encode(const challenge_made *m, const TPM2B_ID_OBJECT *cred,
		 const TPM2B_ENCRYPTED_SECRET *sec, int64_t expires,
		 size_t *len)
{
	uint8_t buf[sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t off = 0;
	json_writer w;

	json_w_doc_begin(&w, CHALLENGE_FORMAT);
	json_w_key(&w, "challenge_id");
	json_w_str(&w, m->id);
	json_w_key(&w, "ek_nv_index");
	json_w_str(&w, m->ek_index);
	json_w_key(&w, "ak_name");
	json_w_hex(&w, m->ak_name, m->ak_name_len);
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(cred, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS) {
		json_w_free(&w);
		return NULL;
	}
	json_w_key(&w, "credential_blob");
	json_w_b64(&w, buf, off);
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(sec, buf, sizeof(buf),
						   &off) != TSS2_RC_SUCCESS) {
		json_w_free(&w);
		return NULL;
	}
	json_w_key(&w, "encrypted_secret");
	json_w_b64(&w, buf, off);
	json_w_key(&w, "expires");
	json_w_int(&w, expires);
	json_w_obj_end(&w);
	return json_w_finish(&w, len);
}

int
challenge_make(const json_value *req, const char *req_name,
	       STACK_OF(X509) * ek_ca, uint32_t want_index, long ttl,
	       time_t now, challenge_made *out, char *why, size_t whylen)
{
	challenge_state st;
	TPMT_PUBLIC ak, ekpub;
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET sec;
	uint8_t secret[32], cid[16];
	uint32_t chosen_index = 0;
	X509 *chosen = NULL;
	char pick[256], *cid_hex = NULL;
	const char *bad;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	if (json_get_b64(req, "ak_public", &st.ak_pub.data, &st.ak_pub.len) !=
		    0 ||
	    tpmt_public_parse(st.ak_pub.data, st.ak_pub.len, &ak) != 0) {
		snprintf(why, whylen, "the request's ak_public does not parse");
		rc = 1;
		goto out;
	}
	if ((bad = verify_ak_attributes(&ak)) != NULL) {
		snprintf(why, whylen, "%s", bad);
		rc = 1;
		goto out;
	}
	if (tpm_name(st.ak_pub.data, st.ak_pub.len, ak.nameAlg, out->ak_name,
		     &out->ak_name_len) != 0) {
		snprintf(why, whylen,
			 "the AK's name algorithm is not "
			 "supported");
		rc = 1;
		goto out;
	}
	if ((chosen = challenge_pick_ek(req, ek_ca, want_index, &ekpub,
					&chosen_index, pick, sizeof(pick))) ==
	    NULL) {
		snprintf(why, whylen,
			 "no EK certificate in %s is issued by a "
			 "trusted EK CA (--ek-ca)%s%s",
			 req_name, pick[0] ? ": " : "", pick);
		rc = 1;
		goto out;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1 ||
	    RAND_bytes(cid, sizeof(cid)) != 1 ||
	    (cid_hex = hex_encode(cid, sizeof(cid))) == NULL) {
		snprintf(why, whylen, "no random numbers");
		goto out;
	}
	if (credential_make(&ekpub, out->ak_name, out->ak_name_len, secret,
			    sizeof(secret), &cred, &sec, why, whylen) != 0)
		goto out;
	snprintf(out->id, sizeof(out->id), "%s", cid_hex);
	snprintf(out->ek_index, sizeof(out->ek_index), "0x%08x", chosen_index);
	cert_tpm_identity(chosen, &out->tpm);
	st.id = cid_hex;
	cid_hex = NULL;
	st.secret = secret;
	st.secret_len = sizeof(secret);
	st.ek_index = out->ek_index;
	st.expires = (int64_t)now + ttl;
	if (cert_to_der(chosen, &st.ek_cert.data, &st.ek_cert.len) != 0 ||
	    (out->state_text = challenge_state_encode(&st, &out->state_len)) ==
		    NULL ||
	    (out->challenge_text =
		     challenge_encode(out, &cred, &sec, st.expires,
				      &out->challenge_len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	/* secret and ek_index are borrowed. */
	st.secret = NULL;
	st.ek_index = NULL;
	challenge_state_clear(&st);
	secure_zero(secret, sizeof(secret));
	secure_zero(&cred, sizeof(cred));
	free(cid_hex);
	X509_free(chosen);
	if (rc != 0)
		challenge_made_clear(out);
	return rc;
}
