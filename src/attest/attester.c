#include "attest/attester.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/ak.h"
#include "attest/challenge.h"
#include "attest/json.h"
#include "attest/tpmdata.h"
#include "tpm/attest.h"
#include "util/secure.h"

/* One attestation in the making. */
typedef struct {
	core *c;
	const attest_req *req;
	ak_rec ak;
	evidence ev;
	uint8_t *chal; /* the credential (--respond), else NULL */
	size_t chal_len;
	tpm_ek_cert *ec;
	size_t n_ec;
	blob chash, ctk; /* the key's creation hash and ticket */
	bool have_creation;
	uint32_t obj_tr, ak_tr;
	bool logged_in;
	char *why;
	size_t whylen;
} attester;

/* why = "<what>: <c->err or the CKR code>", as the tool says it. */
static int
attester_fail(attester *a, const char *what, CK_RV rv)
{
	if (a->c->err[0] != '\0')
		snprintf(a->why, a->whylen, "%s: %s", what, a->c->err);
	else
		snprintf(a->why, a->whylen, "%s: failed (PKCS#11 error 0x%lx)",
			 what, (unsigned long)rv);
	return -1;
}

/* --respond: TPM2_ActivateCredential of the challenge file's credential
 * with the AK and the EK it names recovers C (at most 64 bytes). */
static int
attester_respond(attester *a, const char *path)
{
	uint8_t nm[66], *want = NULL;
	size_t nl, wl;
	uint32_t ek_index = 0;
	const char *idx, *cid;
	blob cred = {0}, sec = {0};
	json_value *cj;
	tpm_ak tak = ak_tpm(&a->ak);
	int rc = -1;

	if ((cj = challenge_read_json(path, CHALLENGE_FORMAT, a->why,
				      a->whylen)) == NULL)
		return -1;
	if ((a->chal = malloc(CHALLENGE_NONCE_MAX)) == NULL)
		goto out;
	a->chal_len = CHALLENGE_NONCE_MAX;
	idx = json_get_str(cj, "ek_nv_index");
	cid = json_get_str(cj, "challenge_id");
	if (idx == NULL || !challenge_parse_index(idx, &ek_index) ||
	    cid == NULL || json_get_hex(cj, "ak_name", &want, &wl) != 0 ||
	    json_get_b64(cj, "credential_blob", &cred.data, &cred.len) != 0 ||
	    json_get_b64(cj, "encrypted_secret", &sec.data, &sec.len) != 0) {
		snprintf(a->why, a->whylen,
			 "%s: a member is missing or "
			 "malformed",
			 path);
		goto out;
	}
	if (ak_tpm_name(&a->ak, nm, &nl) != 0 || nl != wl ||
	    memcmp(nm, want, nl) != 0) {
		snprintf(a->why, a->whylen,
			 "the challenge is for another AK "
			 "than \"%s\"",
			 a->ak.name);
		goto out;
	}
	if (tpm_activate_credential(a->c->tpm, &tak, ek_index, &cred, &sec,
				    a->chal, &a->chal_len, a->why + 8,
				    a->whylen - 8) != CKR_OK) {
		memcpy(a->why, "attest: ", 8);
		goto out;
	}
	if ((a->ev.challenge_id = strdup(cid)) != NULL)
		rc = 0;
out:
	free(want);
	blob_free(&cred);
	blob_free(&sec);
	json_free(cj);
	return rc;
}

/* The key's public area, its creation data (a token key made by tpm11),
 * and extraData, the qualifying data the challenge gives. */
static int
attester_qualify(attester *a, uint8_t extra[32])
{
	const attest_req *r = a->req;
	blob pers = {0};
	int rc;

	if (r->key_handle) {
		if (tpm_persistent_object(a->c->tpm, r->key_handle, &a->obj_tr,
					  &pers, a->why + 8,
					  a->whylen - 8) != CKR_OK) {
			memcpy(a->why, "attest: ", 8);
			return -1;
		}
		rc = blob_set(&a->ev.key_pub, pers.data + 2, pers.len - 2);
		blob_free(&pers);
		if (rc != 0)
			return -1;
	} else {
		if (r->o->key.pub.len < 2 ||
		    blob_set(&a->ev.key_pub, r->o->key.pub.data + 2,
			     r->o->key.pub.len - 2) != 0)
			return -1;
		a->have_creation = token_obj_creation(a->c, r->t, r->o,
						      &a->ev.creation_data,
						      &a->chash, &a->ctk) == 0;
	}
	a->ev.format = r->format;
	if (r->format == EV_WEBAUTHN &&
	    ev_auth_data(r->rp_id ? r->rp_id : "tpm11", &a->ev.key_pub,
			 &a->ev.auth_data) != 0) {
		snprintf(a->why, a->whylen,
			 "attest: this key type has no COSE "
			 "form");
		return -1;
	}
	if (r->client_data_hash != NULL)
		return ev_webauthn_extra(&a->ev.auth_data, r->client_data_hash,
					 extra);
	if (a->chal != NULL)
		return ev_extra_data(r->format, a->chal, a->chal_len,
				     &a->ev.auth_data, extra);
	return ev_extra_data(r->format, r->chal, r->chal_len, &a->ev.auth_data,
			     extra);
}

/* Loads the key (TPM2_Certify proves its authValue, which needs the PIN
 * for a PIN-protected key), then the AK; TPM2_Certify and, for json,
 * TPM2_CertifyCreation. The AK is flushed and the user logged out again
 * before returning. */
static int
attester_certify(attester *a, const uint8_t extra[32])
{
	const attest_req *r = a->req;
	tpm_ak tak = ak_tpm(&a->ak);
	char *pin;
	CK_RV rv;

	if (r->o != NULL) {
		if (attr_find(&r->o->attrs, CKA_TPM11_AUTH_NONCE) != NULL) {
			if ((pin = r->get_pin(r->pin_arg)) == NULL)
				return -1;
			rv = token_login(a->c, r->t, CKU_USER, pin,
					 strlen(pin));
			secure_free_str(pin);
			if (rv != CKR_OK)
				return attester_fail(a, "attest", rv);
			a->logged_in = true;
		}
		if (token_key_ready(a->c, r->t, r->o) != CKR_OK ||
		    tpm_key_load(a->c->tpm, &r->o->key) != CKR_OK) {
			snprintf(a->why, a->whylen,
				 "attest: cannot load the key: "
				 "%s",
				 tpm_errmsg(a->c->tpm));
			return -1;
		}
		a->obj_tr = r->o->key.tr;
	}
	memcpy(a->why, "attest: ", 8);
	if (tpm_ak_load(a->c->tpm, &tak, &a->ak_tr, a->why + 8,
			a->whylen - 8) != CKR_OK ||
	    tpm_certify(a->c->tpm, a->obj_tr, a->ak_tr, extra, 32,
			&a->ev.cert_info, &a->ev.cert_sig, a->why + 8,
			a->whylen - 8) != CKR_OK)
		return -1;
	if (a->have_creation && r->format == EV_JSON &&
	    tpm_certify_creation(a->c->tpm, a->obj_tr, a->ak_tr, extra, 32,
				 &a->chash, &a->ctk, &a->ev.creation_info,
				 &a->ev.creation_sig, a->why + 8,
				 a->whylen - 8) != CKR_OK)
		return -1;
	a->why[0] = '\0';
	if (!a->have_creation || r->format != EV_JSON)
		blob_free(&a->ev.creation_data);
	tpm_attest_flush(a->c->tpm, a->ak_tr);
	a->ak_tr = 0;
	if (a->logged_in) {
		token_logout(a->c, r->t);
		a->logged_in = false;
	}
	tpm_idle(a->c->tpm);
	return 0;
}

/* What the format carries besides the TPM's structures: the signature's
 * COSE algorithm, the AK certificates; for json the AK's public area, the
 * key's label and OpenSSH line, and the EK certificates. */
static int
attester_fill(attester *a)
{
	const attest_req *r = a->req;
	TPMT_SIGNATURE s;
	evidence *ev = &a->ev;

	if (tpmt_signature_parse(ev->cert_sig.data, ev->cert_sig.len, &s) == 0)
		ev->alg = tpm_signature_cose_alg(&s);
	if (a->ak.ncerts &&
	    (ev->ak_certs = calloc(a->ak.ncerts, sizeof(blob))) == NULL)
		return -1;
	for (ev->n_ak_certs = 0; ev->n_ak_certs < a->ak.ncerts;
	     ev->n_ak_certs++)
		if (blob_set(&ev->ak_certs[ev->n_ak_certs],
			     a->ak.certs[ev->n_ak_certs].data,
			     a->ak.certs[ev->n_ak_certs].len) != 0)
			return -1;
	if (r->format != EV_JSON)
		return 0;
	if (ak_tpmt(&a->ak, &ev->ak_pub) != 0)
		return -1;
	if (r->o != NULL) {
		ev->key_label = attr_dup_str(&r->o->attrs, CKA_LABEL);
		ev->ssh = token_obj_ssh_line(r->o);
	}
	if (a->n_ec &&
	    (ev->ek_certs = calloc(a->n_ec, sizeof(ev_ek_cert))) == NULL)
		return -1;
	for (ev->n_ek_certs = 0; ev->n_ek_certs < a->n_ec; ev->n_ek_certs++) {
		ev->ek_certs[ev->n_ek_certs].index =
			a->ec[ev->n_ek_certs].index;
		if (blob_set(&ev->ek_certs[ev->n_ek_certs].der,
			     a->ec[ev->n_ek_certs].der.data,
			     a->ec[ev->n_ek_certs].der.len) != 0)
			return -1;
	}
	return 0;
}

int
attest_run(core *c, const attest_req *req, char **out, size_t *outlen,
	   char *why, size_t whylen)
{
	attester a;
	uint8_t extra[32];
	CK_RV rv;
	int ret = -1;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.req = req;
	a.why = why;
	a.whylen = whylen;
	why[0] = '\0';
	*out = NULL;
	if (whylen < 64 || ak_need(c, req->ak, &a.ak, why, whylen) != 0)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK) {
		attester_fail(&a, "attest", rv);
		goto out;
	}
	/* Nothing of ours is loaded yet: the EK work comes first. */
	memcpy(why, "attest: ", 8);
	if (req->format == EV_JSON &&
	    tpm_ek_certs(c->tpm, &a.ec, &a.n_ec, why + 8, whylen - 8) != CKR_OK)
		goto out;
	why[0] = '\0';
	if ((req->respond != NULL && attester_respond(&a, req->respond) != 0) ||
	    attester_qualify(&a, extra) != 0 ||
	    attester_certify(&a, extra) != 0)
		goto out;
	if (attester_fill(&a) != 0)
		goto out;
	if ((*out = evidence_encode(&a.ev, outlen)) == NULL) {
		snprintf(why, whylen, "attest: cannot encode the output");
		goto out;
	}
	ret = 0;
out:
	if (c->tpm != NULL) {
		tpm_attest_flush(c->tpm, a.ak_tr);
		if (req->key_handle)
			tpm_attest_release(c->tpm, a.obj_tr);
		if (a.logged_in)
			token_logout(c, req->t);
		tpm_idle(c->tpm);
	}
	if (a.chal != NULL)
		secure_free(a.chal, CHALLENGE_NONCE_MAX);
	blob_free(&a.chash);
	blob_free(&a.ctk);
	tpm_ek_certs_free(a.ec, a.n_ec);
	evidence_clear(&a.ev);
	ak_rec_clear(&a.ak);
	return ret;
}

CK_RV
attest_store_object(core *c, token *t, const token_obj *o, ev_format fmt,
		    const void *data, size_t len)
{
	const CK_ATTRIBUTE *id = attr_find(&o->attrs, CKA_ID);
	const CK_ATTRIBUTE *lb = attr_find(&o->attrs, CKA_LABEL);
	attr_list l;
	int64_t old[16];
	size_t nold = 0, i;
	char objid[64];
	CK_RV rv;

	attr_list_init(&l);
	for (i = 0; i < t->nobjs && nold < 16; i++) {
		token_obj *d = t->objs[i];
		const CK_ATTRIBUTE *a = attr_find(&d->attrs, CKA_APPLICATION);
		const CK_ATTRIBUTE *did = attr_find(&d->attrs, CKA_ID);

		if (d->cls == CKO_DATA && a &&
		    a->ulValueLen == strlen(ATTEST_APPLICATION) &&
		    memcmp(a->pValue, ATTEST_APPLICATION, a->ulValueLen) == 0 &&
		    id && did && did->ulValueLen == id->ulValueLen &&
		    memcmp(did->pValue, id->pValue, id->ulValueLen) == 0)
			old[nold++] = d->id;
	}
	snprintf(objid, sizeof(objid), "tpm11-attestation/%s",
		 ev_format_name(fmt));
	if (attr_set_ulong(&l, CKA_CLASS, CKO_DATA) ||
	    attr_set_bool(&l, CKA_TOKEN, true) ||
	    attr_set_bool(&l, CKA_PRIVATE, false) ||
	    attr_set_bool(&l, CKA_MODIFIABLE, false) ||
	    attr_set_str(&l, CKA_APPLICATION, ATTEST_APPLICATION) ||
	    attr_set(&l, CKA_OBJECT_ID, objid, strlen(objid)) ||
	    (lb && attr_set(&l, CKA_LABEL, lb->pValue, lb->ulValueLen)) ||
	    (id && attr_set(&l, CKA_ID, id->pValue, id->ulValueLen)) ||
	    attr_set(&l, CKA_VALUE, data, len)) {
		attr_list_clear(&l);
		return CKR_HOST_MEMORY;
	}
	rv = token_replace_objects(c, t, &l, 1, old, nold, NULL);
	attr_list_clear(&l);
	return rv;
}
