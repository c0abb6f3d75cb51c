#include "attest/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "attest/cbor.h"
#include "attest/codec.h"
#include "attest/json.h"
#include "attest/tpmdata.h"

#define EV_JSON_FORMAT "tpm11-attestation-1"

void
evidence_clear(evidence *ev)
{
	size_t i;

	blob_free(&ev->key_pub);
	blob_free(&ev->cert_info);
	blob_free(&ev->cert_sig);
	blob_free(&ev->creation_data);
	blob_free(&ev->creation_info);
	blob_free(&ev->creation_sig);
	blob_free(&ev->ak_pub);
	for (i = 0; i < ev->n_ak_certs; i++)
		blob_free(&ev->ak_certs[i]);
	free(ev->ak_certs);
	for (i = 0; i < ev->n_ek_certs; i++)
		blob_free(&ev->ek_certs[i].der);
	free(ev->ek_certs);
	free(ev->ssh);
	free(ev->key_label);
	free(ev->challenge_id);
	blob_free(&ev->auth_data);
	memset(ev, 0, sizeof(*ev));
}

ev_format
ev_format_parse(const char *s)
{
	if (strcmp(s, "json") == 0)
		return EV_JSON;
	if (strcmp(s, "webauthn") == 0)
		return EV_WEBAUTHN;
	if (strcmp(s, "acme") == 0)
		return EV_ACME;
	return 0;
}

const char *
ev_format_name(ev_format f)
{
	switch (f) {
	case EV_JSON:
		return "json";
	case EV_WEBAUTHN:
		return "webauthn";
	case EV_ACME:
		return "acme";
	default:
		return "?";
	}
}

int
ev_extra_data(ev_format f, const uint8_t *c, size_t clen, const blob *auth_data,
	      uint8_t out[32])
{
	uint8_t cdh[32];

	if (f != EV_WEBAUTHN)
		return EVP_Digest(c, clen, out, NULL, EVP_sha256(), NULL) == 1
			       ? 0
			       : -1;
	if (EVP_Digest(c, clen, cdh, NULL, EVP_sha256(), NULL) != 1)
		return -1;
	return ev_webauthn_extra(auth_data, cdh, out);
}

int
ev_webauthn_extra(const blob *auth_data, const uint8_t cdh[32], uint8_t out[32])
{
	EVP_MD_CTX *m;
	int rc = -1;

	/* WebAuthn 8.3 (tpm), verification step: extraData is the hash of
	 * attToBeSigned = authenticatorData || clientDataHash. */
	if (auth_data == NULL || auth_data->data == NULL ||
	    (m = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, auth_data->data, auth_data->len) == 1 &&
	    EVP_DigestUpdate(m, cdh, 32) == 1 &&
	    EVP_DigestFinal_ex(m, out, NULL) == 1)
		rc = 0;
	EVP_MD_CTX_free(m);
	return rc;
}

/* --- COSE keys and authenticator data -------------------------------------- */

int
ev_cose_key(const blob *key_pub, blob *out)
{
	TPMT_PUBLIC p;
	cbor_writer w;

	memset(out, 0, sizeof(*out));
	if (tpmt_public_parse(key_pub->data, key_pub->len, &p) != 0)
		return -1;
	cbor_w_init(&w);
	if (p.type == TPM2_ALG_ECC) {
		/* RFC 9053 7.1.1: kty 2 (EC2), alg, crv (1 P-256, 2 P-384),
		 * x, y; integer keys in canonical order 1, 3, -1, -2, -3. */
		int64_t alg, crv;

		switch (p.parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			alg = -7;
			crv = 1;
			break;
		case TPM2_ECC_NIST_P384:
			alg = -35;
			crv = 2;
			break;
		default:
			return -1;
		}
		cbor_w_map(&w, 5);
		cbor_w_int(&w, 1);
		cbor_w_int(&w, 2);
		cbor_w_int(&w, 3);
		cbor_w_int(&w, alg);
		cbor_w_int(&w, -1);
		cbor_w_int(&w, crv);
		cbor_w_int(&w, -2);
		cbor_w_bytes(&w, p.unique.ecc.x.buffer, p.unique.ecc.x.size);
		cbor_w_int(&w, -3);
		cbor_w_bytes(&w, p.unique.ecc.y.buffer, p.unique.ecc.y.size);
	} else if (p.type == TPM2_ALG_RSA) {
		/* RFC 8230 4: kty 3 (RSA), alg RS256, n, e. */
		uint32_t e = p.parameters.rsaDetail.exponent;
		uint8_t eb[4] = {0, 1, 0, 1};
		size_t el = 3, i = 0;

		if (e != 0) {
			eb[0] = (uint8_t)(e >> 24);
			eb[1] = (uint8_t)(e >> 16);
			eb[2] = (uint8_t)(e >> 8);
			eb[3] = (uint8_t)e;
			while (i < 3 && eb[i] == 0)
				i++;
			el = 4 - i;
		} else {
			i = 1;
		}
		cbor_w_map(&w, 4);
		cbor_w_int(&w, 1);
		cbor_w_int(&w, 3);
		cbor_w_int(&w, 3);
		cbor_w_int(&w, -257);
		cbor_w_int(&w, -1);
		cbor_w_bytes(&w, p.unique.rsa.buffer, p.unique.rsa.size);
		cbor_w_int(&w, -2);
		cbor_w_bytes(&w, eb + i, el);
	} else {
		return -1;
	}
	if (w.failed) {
		cbor_w_free(&w);
		return -1;
	}
	out->data = w.buf;
	out->len = w.len;
	return 0;
}

int
ev_auth_data(const char *rp_id, const blob *key_pub, blob *out)
{
	TPMT_PUBLIC p;
	uint8_t name[2 + 64];
	size_t name_len;
	blob cose = {0};
	uint8_t *b, *q;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (tpmt_public_parse(key_pub->data, key_pub->len, &p) != 0 ||
	    tpm_name(key_pub->data, key_pub->len, p.nameAlg, name, &name_len) !=
		    0 ||
	    ev_cose_key(key_pub, &cose) != 0)
		return -1;
	/* rpIdHash 32 | flags 1 | signCount 4 | aaguid 16 | credIdLen 2 |
	 * credentialId | credentialPublicKey */
	len = 32 + 1 + 4 + 16 + 2 + name_len + cose.len;
	if ((b = calloc(1, len)) == NULL) {
		blob_free(&cose);
		return -1;
	}
	if (EVP_Digest(rp_id, strlen(rp_id), b, NULL, EVP_sha256(), NULL) !=
	    1) {
		free(b);
		blob_free(&cose);
		return -1;
	}
	q = b + 32;
	*q++ = 0x41; /* UP (bit 0) | AT (bit 6) */
	q += 4;      /* signCount 0 */
	q += 16;     /* AAGUID: none */
	*q++ = (uint8_t)(name_len >> 8);
	*q++ = (uint8_t)name_len;
	memcpy(q, name, name_len);
	q += name_len;
	memcpy(q, cose.data, cose.len);
	blob_free(&cose);
	out->data = b;
	out->len = len;
	return 0;
}

/* --- encoding ------------------------------------------------------------- */

/* attStmt of the "tpm" format (WebAuthn 8.3): ver, alg, x5c (absent in
 * credential mode, where the verifier knows the AK from its challenge),
 * sig (TPMT_SIGNATURE), certInfo (TPMS_ATTEST), pubArea (TPMT_PUBLIC). */
static void
cbor_att_stmt(cbor_writer *w, const evidence *ev, const blob *sig)
{
	size_t i;

	cbor_w_map(w, ev->n_ak_certs ? 6 : 5);
	cbor_w_text(w, "alg");
	cbor_w_int(w, ev->alg);
	cbor_w_text(w, "sig");
	cbor_w_bytes(w, sig->data, sig->len);
	cbor_w_text(w, "ver");
	cbor_w_text(w, "2.0");
	if (ev->n_ak_certs) {
		cbor_w_text(w, "x5c");
		cbor_w_array(w, ev->n_ak_certs);
		for (i = 0; i < ev->n_ak_certs; i++)
			cbor_w_bytes(w, ev->ak_certs[i].data,
				     ev->ak_certs[i].len);
	}
	cbor_w_text(w, "pubArea");
	cbor_w_bytes(w, ev->key_pub.data, ev->key_pub.len);
	cbor_w_text(w, "certInfo");
	cbor_w_bytes(w, ev->cert_info.data, ev->cert_info.len);
}


void
ev_json_ek_certs(json_writer *w, const ev_ek_cert *c, size_t n)
{
	size_t i;

	json_w_arr_begin(w);
	for (i = 0; i < n; i++) {
		char idx[16];

		snprintf(idx, sizeof(idx), "0x%08x", c[i].index);
		json_w_obj_begin(w);
		json_w_key(w, "nv_index");
		json_w_str(w, idx);
		json_w_key(w, "der");
		json_w_b64(w, c[i].der.data, c[i].der.len);
		json_w_obj_end(w);
	}
	json_w_arr_end(w);
}

static char *
encode_json(const evidence *ev, size_t *len)
{
	json_writer w;
	size_t i;

	json_w_doc_begin(&w, EV_JSON_FORMAT);
	if (ev->key_label) {
		json_w_key(&w, "key_label");
		json_w_str(&w, ev->key_label);
	}
	if (ev->ssh) {
		json_w_key(&w, "ssh");
		json_w_str(&w, ev->ssh);
	}
	if (ev->challenge_id) {
		json_w_key(&w, "challenge_id");
		json_w_str(&w, ev->challenge_id);
	}
	json_w_key(&w, "key_public");
	json_w_b64(&w, ev->key_pub.data, ev->key_pub.len);
	json_w_key(&w, "certify_info");
	json_w_b64(&w, ev->cert_info.data, ev->cert_info.len);
	json_w_key(&w, "certify_signature");
	json_w_b64(&w, ev->cert_sig.data, ev->cert_sig.len);
	if (ev->creation_info.data) {
		json_w_key(&w, "creation_data");
		json_w_b64(&w, ev->creation_data.data, ev->creation_data.len);
		json_w_key(&w, "creation_info");
		json_w_b64(&w, ev->creation_info.data, ev->creation_info.len);
		json_w_key(&w, "creation_signature");
		json_w_b64(&w, ev->creation_sig.data, ev->creation_sig.len);
	}
	json_w_key(&w, "ak_public");
	json_w_b64(&w, ev->ak_pub.data, ev->ak_pub.len);
	json_w_key(&w, "ak_certificates");
	json_w_arr_begin(&w);
	for (i = 0; i < ev->n_ak_certs; i++)
		json_w_b64(&w, ev->ak_certs[i].data, ev->ak_certs[i].len);
	json_w_arr_end(&w);
	json_w_key(&w, "ek_certificates");
	ev_json_ek_certs(&w, ev->ek_certs, ev->n_ek_certs);
	json_w_obj_end(&w);
	return json_w_finish(&w, len);
}

char *
evidence_encode(const evidence *ev, size_t *len)
{
	cbor_writer w;
	char *b64, *out = NULL;

	if (ev->format == EV_JSON)
		return encode_json(ev, len);
	cbor_w_init(&w);
	if (ev->format == EV_WEBAUTHN) {
		/* WebAuthn 8.3 calls sig a TPMT_SIGNATURE, but verifiers
		 * (and Windows, the main producer) use the plain signature
		 * of 6.5.5: DER ECDSA-Sig-Value or the PKCS#1 block. */
		TPMT_SIGNATURE ts;
		blob raw = {0};

		if (tpmt_signature_parse(ev->cert_sig.data, ev->cert_sig.len,
					 &ts) != 0 ||
		    tpm_signature_to_raw(&ts, &raw.data, &raw.len) != 0)
			return NULL;
		cbor_w_map(&w, 3);
		cbor_w_text(&w, "fmt");
		cbor_w_text(&w, "tpm");
		cbor_w_text(&w, "attStmt");
		cbor_att_stmt(&w, ev, &raw);
		cbor_w_text(&w, "authData");
		cbor_w_bytes(&w, ev->auth_data.data, ev->auth_data.len);
		blob_free(&raw);
	} else {
		/* step-ca decodes sig as a TPMT_SIGNATURE. */
		cbor_w_map(&w, 2);
		cbor_w_text(&w, "fmt");
		cbor_w_text(&w, "tpm");
		cbor_w_text(&w, "attStmt");
		cbor_att_stmt(&w, ev, &ev->cert_sig);
	}
	if (w.failed || (b64 = b64_encode(w.buf, w.len, true)) == NULL) {
		cbor_w_free(&w);
		return NULL;
	}
	cbor_w_free(&w);
	if (ev->format == EV_WEBAUTHN) {
		size_t n = strlen(b64);

		if ((out = malloc(n + 2)) != NULL) {
			memcpy(out, b64, n);
			out[n] = '\n';
			out[n + 1] = '\0';
			*len = n + 1;
		}
	} else {
		/* draft-acme-device-attest 5: the challenge response payload */
		json_writer jw;

		json_w_init(&jw);
		json_w_obj_begin(&jw);
		json_w_key(&jw, "attObj");
		json_w_str(&jw, b64);
		json_w_obj_end(&jw);
		out = json_w_finish(&jw, len);
	}
	free(b64);
	return out;
}

/* --- decoding ------------------------------------------------------------- */

static int
take_bytes(const cbor_item *it, blob *out)
{
	if (it == NULL || it->type != CBOR_BYTES || it->len == 0)
		return -1;
	return blob_set(out, it->data, it->len);
}

static int
decode_cbor(const uint8_t *in, size_t len, evidence *ev, char *why,
	    size_t whylen)
{
	char err[96];
	cbor_item *top = cbor_parse(in, len, err, sizeof(err));
	const cbor_item *st, *x5c, *alg, *ad;
	size_t i;
	int rc = -1;

	if (top == NULL) {
		snprintf(why, whylen, "the attestation object is not CBOR: %s",
			 err);
		return -1;
	}
	if (top->type != CBOR_MAP ||
	    !cbor_text_is(cbor_map_text(top, "fmt"), "tpm")) {
		snprintf(why, whylen,
			 "the attestation object's fmt is not "
			 "\"tpm\"");
		goto out;
	}
	st = cbor_map_text(top, "attStmt");
	if (st == NULL || st->type != CBOR_MAP) {
		snprintf(why, whylen, "the attestation object has no attStmt");
		goto out;
	}
	if (!cbor_text_is(cbor_map_text(st, "ver"), "2.0")) {
		snprintf(why, whylen, "attStmt.ver is not \"2.0\"");
		goto out;
	}
	alg = cbor_map_text(st, "alg");
	if (!cbor_int(alg, &ev->alg)) {
		snprintf(why, whylen, "attStmt.alg is not an integer");
		goto out;
	}
	if (take_bytes(cbor_map_text(st, "sig"), &ev->cert_sig) != 0 ||
	    take_bytes(cbor_map_text(st, "certInfo"), &ev->cert_info) != 0 ||
	    take_bytes(cbor_map_text(st, "pubArea"), &ev->key_pub) != 0) {
		snprintf(why, whylen,
			 "attStmt lacks sig, certInfo or pubArea "
			 "as byte strings");
		goto out;
	}
	if ((x5c = cbor_map_text(st, "x5c")) != NULL) {
		if (x5c->type != CBOR_ARRAY || x5c->n == 0) {
			snprintf(why, whylen,
				 "attStmt.x5c is not a non-empty "
				 "array");
			goto out;
		}
		if ((ev->ak_certs = calloc(x5c->n, sizeof(blob))) == NULL)
			goto out;
		for (i = 0; i < x5c->n; i++) {
			if (take_bytes(x5c->items[i], &ev->ak_certs[i]) != 0) {
				snprintf(why, whylen,
					 "attStmt.x5c holds a "
					 "non-certificate");
				goto out;
			}
			ev->n_ak_certs++;
		}
	}
	ad = cbor_map_text(top, "authData");
	if (ad != NULL) {
		if (take_bytes(ad, &ev->auth_data) != 0) {
			snprintf(why, whylen, "authData is not a byte string");
			goto out;
		}
		ev->format = EV_WEBAUTHN;
		/* sig: the plain signature (6.5.5), or the TPMT_SIGNATURE
		 * that 8.3's text names; both are read. */
		{
			TPMT_SIGNATURE ts;
			uint8_t buf[sizeof(TPMT_SIGNATURE) + 16];
			size_t off = 0;

			if (tpmt_signature_parse(ev->cert_sig.data,
						 ev->cert_sig.len, &ts) != 0) {
				if (tpm_signature_from_raw(
					    (int)ev->alg, ev->cert_sig.data,
					    ev->cert_sig.len, &ts) != 0 ||
				    Tss2_MU_TPMT_SIGNATURE_Marshal(
					    &ts, buf, sizeof(buf), &off) !=
					    TSS2_RC_SUCCESS) {
					snprintf(why, whylen,
						 "attStmt.sig is "
						 "not a signature of alg %lld",
						 (long long)ev->alg);
					goto out;
				}
				blob_free(&ev->cert_sig);
				if (blob_set(&ev->cert_sig, buf, off) != 0)
					goto out;
			}
		}
	} else {
		ev->format = EV_ACME;
	}
	rc = 0;
out:
	cbor_free(top);
	return rc;
}

static int
decode_json(const json_value *j, evidence *ev, char *why, size_t whylen)
{
	const json_value *a;
	const char *s;
	size_t i;

	ev->format = EV_JSON;
	if (json_get_b64(j, "key_public", &ev->key_pub.data,
			 &ev->key_pub.len) != 0 ||
	    json_get_b64(j, "certify_info", &ev->cert_info.data,
			 &ev->cert_info.len) != 0 ||
	    json_get_b64(j, "certify_signature", &ev->cert_sig.data,
			 &ev->cert_sig.len) != 0) {
		snprintf(why, whylen,
			 "key_public, certify_info or "
			 "certify_signature is missing or not base64");
		return -1;
	}
	if (json_get(j, "creation_info") != NULL &&
	    (json_get_b64(j, "creation_info", &ev->creation_info.data,
			  &ev->creation_info.len) != 0 ||
	     json_get_b64(j, "creation_signature", &ev->creation_sig.data,
			  &ev->creation_sig.len) != 0 ||
	     json_get_b64(j, "creation_data", &ev->creation_data.data,
			  &ev->creation_data.len) != 0)) {
		snprintf(why, whylen,
			 "creation_info, creation_signature or "
			 "creation_data is malformed");
		return -1;
	}
	if (json_get(j, "ak_public") != NULL &&
	    json_get_b64(j, "ak_public", &ev->ak_pub.data, &ev->ak_pub.len) !=
		    0) {
		snprintf(why, whylen, "ak_public is not base64");
		return -1;
	}
	if ((s = json_get_str(j, "ssh")) && (ev->ssh = strdup(s)) == NULL)
		return -1;
	if ((s = json_get_str(j, "key_label")) &&
	    (ev->key_label = strdup(s)) == NULL)
		return -1;
	if ((s = json_get_str(j, "challenge_id")) &&
	    (ev->challenge_id = strdup(s)) == NULL)
		return -1;
	a = json_get(j, "ak_certificates");
	if (a != NULL && a->type == JSON_ARR && a->n > 0) {
		if ((ev->ak_certs = calloc(a->n, sizeof(blob))) == NULL)
			return -1;
		for (i = 0; i < a->n; i++) {
			const json_value *v = a->items[i];

			if (v->type != JSON_STR ||
			    b64_decode(v->s, v->slen, false,
				       &ev->ak_certs[i].data,
				       &ev->ak_certs[i].len) != 0) {
				snprintf(why, whylen,
					 "ak_certificates holds "
					 "a non-base64 entry");
				return -1;
			}
			ev->n_ak_certs++;
		}
	}
	a = json_get(j, "ek_certificates");
	if (a != NULL && a->type == JSON_ARR && a->n > 0) {
		if ((ev->ek_certs = calloc(a->n, sizeof(ev_ek_cert))) == NULL)
			return -1;
		for (i = 0; i < a->n; i++) {
			const char *idx = json_get_str(a->items[i], "nv_index");
			char *end;

			if (idx == NULL ||
			    json_get_b64(a->items[i], "der",
					 &ev->ek_certs[i].der.data,
					 &ev->ek_certs[i].der.len) != 0) {
				snprintf(why, whylen,
					 "ek_certificates holds a "
					 "malformed entry");
				return -1;
			}
			ev->ek_certs[i].index =
				(uint32_t)strtoul(idx, &end, 16);
			ev->n_ek_certs++;
		}
	}
	return 0;
}

int
evidence_decode(const uint8_t *in, size_t len, evidence *ev, char *why,
		size_t whylen)
{
	size_t a = 0, b = len;
	char err[96];
	json_value *j;
	uint8_t *raw = NULL;
	size_t rawlen;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	/* A raw CBOR map (two or three members) first. */
	if (len > 0 && (in[0] == 0xa2 || in[0] == 0xa3))
		return decode_cbor(in, len, ev, why, whylen);
	while (a < b && (in[a] == ' ' || in[a] == '\n' || in[a] == '\r' ||
			 in[a] == '\t'))
		a++;
	while (b > a && (in[b - 1] == ' ' || in[b - 1] == '\n' ||
			 in[b - 1] == '\r' || in[b - 1] == '\t'))
		b--;
	if (a < b && in[a] == '{') {
		const char *fmt, *att;

		if ((j = json_parse((const char *)in + a, b - a, err,
				    sizeof(err))) == NULL) {
			snprintf(why, whylen,
				 "the attestation is not valid "
				 "JSON: %s",
				 err);
			return -1;
		}
		fmt = json_get_str(j, "format");
		att = json_get_str(j, "attObj");
		if (fmt != NULL && strcmp(fmt, EV_JSON_FORMAT) == 0) {
			rc = decode_json(j, ev, why, whylen);
		} else if (att != NULL) {
			if (b64_decode(att, strlen(att), true, &raw, &rawlen) !=
			    0)
				snprintf(why, whylen,
					 "attObj is not base64url");
			else if ((rc = decode_cbor(raw, rawlen, ev, why,
						   whylen)) == 0 &&
				 ev->format != EV_ACME) {
				snprintf(why, whylen,
					 "the ACME attObj carries "
					 "authData (a WebAuthn object)");
				rc = -1;
			}
		} else {
			snprintf(why, whylen,
				 "a JSON file that is neither a "
				 "tpm11 attestation nor an ACME payload");
		}
		json_free(j);
	} else {
		if (b64_decode((const char *)in + a, b - a, true, &raw,
			       &rawlen) != 0)
			snprintf(why, whylen,
				 "not a tpm11 attestation (JSON), "
				 "an ACME payload or a WebAuthn object");
		else
			rc = decode_cbor(raw, rawlen, ev, why, whylen);
	}
	free(raw);
	if (rc != 0)
		evidence_clear(ev);
	return rc;
}
