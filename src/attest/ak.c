#include "attest/ak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/certs.h"
#include "attest/evidence.h"
#include "attest/json.h"
#include "attest/tpmdata.h"

bool
ak_name_ok(const char *n)
{
	size_t i, len = strlen(n);

	if (len == 0 || len > STORE_AK_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') ||
		      (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '-' ||
		      n[i] == '_' || n[i] == '.'))
			return false;
	return true;
}

int
ak_load(core *c, const char *name, ak_rec *r)
{
	return core_ak_get(c, name, r);
}

int
ak_need(core *c, const char *name, ak_rec *r, char *why, size_t whylen)
{
	int rc = ak_load(c, name, r);

	if (rc == 1)
		snprintf(why, whylen,
			 "no attestation key \"%s\"; make one "
			 "with `tpm11 ak create --name %s`",
			 name, name);
	else if (rc != 0)
		snprintf(why, whylen,
			 "the stored attestation key \"%s\" is "
			 "damaged",
			 name);
	return rc;
}

tpm_ak
ak_tpm(const ak_rec *r)
{
	tpm_ak a = {r->pub, r->priv, r->ek_index};

	return a;
}

int
ak_tpmt(const ak_rec *r, blob *out)
{
	if (r->pub.len < 2)
		return -1;
	return blob_set(out, r->pub.data + 2, r->pub.len - 2);
}

EVP_PKEY *
ak_pkey(const ak_rec *r)
{
	TPMT_PUBLIC p;

	if (r->pub.len < 2 ||
	    tpmt_public_parse(r->pub.data + 2, r->pub.len - 2, &p) != 0)
		return NULL;
	return tpmt_public_pkey(&p);
}

int
ak_tpm_name(const ak_rec *r, uint8_t *name, size_t *len)
{
	TPMT_PUBLIC p;

	if (r->pub.len < 2 ||
	    tpmt_public_parse(r->pub.data + 2, r->pub.len - 2, &p) != 0)
		return -1;
	return tpm_name(r->pub.data + 2, r->pub.len - 2, p.nameAlg, name, len);
}

/* A chip without P-384 or SHA-384 cannot recreate a high-range EK,
 * whatever certificate sits in its NV. */
const char *
ak_ek_lacks(core *c, uint32_t index)
{
	uint32_t need, has;
	const char *what;

	switch (index) {
	case 0x01c0000a:
	case 0x01c00014:
		need = TPM_HAS_P256;
		what = "NIST P-256 curve";
		break;
	case 0x01c00016:
		need = TPM_HAS_P384 | TPM_HAS_SHA384;
		what = "NIST P-384 curve with SHA-384";
		break;
	case 0x01c0001c:
		need = TPM_HAS_RSA3072 | TPM_HAS_SHA384;
		what = "RSA-3072 with SHA-384";
		break;
	case 0x01c0001e:
		need = TPM_HAS_SHA384;
		what = "SHA-384";
		break;
	default:
		return NULL;
	}
	has = core_tpm_has(c);
	return (has & need) == need ? NULL : what;
}

void
ak_ek_certs_makeable(core *c, tpm_ek_cert *ec, size_t *n)
{
	const char *lacks;
	char msg[160];
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if ((lacks = ak_ek_lacks(c, ec[i].index)) == NULL) {
			ec[k++] = ec[i];
			continue;
		}
		snprintf(msg, sizeof(msg),
			 "note: the EK certificate at 0x%08x "
			 "is left out: this TPM has no %s to make its EK",
			 ec[i].index, lacks);
		if (c->notice != NULL)
			c->notice(msg);
		blob_free(&ec[i].der);
	}
	*n = k;
}

/* The EK an AK made with --ek-parent and no --ek-index goes under: the
 * first certificate present whose EK this TPM can make, else the P-256
 * EK (no certificate). 0 when the certificates cannot be read. */
static uint32_t
ak_default_ek(core *c, char *why, size_t whylen)
{
	tpm_ek_cert *ec = NULL;
	size_t n = 0, i;
	uint32_t index = 0;

	if (tpm_ek_certs(c->tpm, &ec, &n, why, whylen) != CKR_OK)
		return 0;
	for (i = 0; i < n && index == 0; i++)
		if (ek_template_find(ec[i].index)->supported &&
		    ak_ek_lacks(c, ec[i].index) == NULL)
			index = ec[i].index;
	tpm_ek_certs_free(ec, n);
	return index ? index : 0x01c0000a;
}

CK_RV
ak_create(core *c, const char *name, tpm_ak_alg alg, bool ek_parent,
	  uint32_t ek_index, ak_rec *out, char *why, size_t whylen)
{
	tpm_ak a;
	CK_RV rv;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if ((rv = core_tpm(c)) != CKR_OK) {
		snprintf(why, whylen, "%s", c->err);
		return rv;
	}
	if (ek_parent && ek_index == 0 &&
	    (ek_index = ak_default_ek(c, why, whylen)) == 0)
		return CKR_DEVICE_ERROR;
	rv = tpm_ak_create(c->tpm, alg, ek_index, &a, why, whylen);
	tpm_idle(c->tpm);
	if (rv != CKR_OK)
		return rv;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->ek_index = a.ek_index;
	out->pub = a.pub;
	out->priv = a.priv;
	if ((rv = core_ak_put(c, out)) != CKR_OK) {
		snprintf(why, whylen, "%s", c->err);
		ak_rec_clear(out);
	}
	return rv;
}

int
ak_set_certs(core *c, ak_rec *r, STACK_OF(X509) * sk, char *why, size_t whylen)
{
	EVP_PKEY *k = ak_pkey(r), *ck = X509_get_pubkey(sk_X509_value(sk, 0));
	blob *certs = NULL;
	size_t i, n = 0, want = (size_t)sk_X509_num(sk);
	int rc = -1;

	if (k == NULL || ck == NULL || EVP_PKEY_eq(k, ck) != 1) {
		snprintf(why, whylen,
			 "the first certificate is not for the "
			 "AK \"%s\"",
			 r->name);
		goto out;
	}
	if (want > STORE_AK_CERTS_MAX)
		want = STORE_AK_CERTS_MAX;
	if ((certs = calloc(want ? want : 1, sizeof(blob))) == NULL)
		goto out;
	for (n = 0; n < want; n++)
		if (cert_to_der(sk_X509_value(sk, (int)n), &certs[n].data,
				&certs[n].len) != 0)
			goto out;
	for (i = 0; i < r->ncerts; i++)
		blob_free(&r->certs[i]);
	free(r->certs);
	r->certs = certs;
	r->ncerts = n;
	certs = NULL;
	if (core_ak_put(c, r) != CKR_OK) {
		snprintf(why, whylen, "%s", c->err);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; certs != NULL && i < n; i++)
		blob_free(&certs[i]);
	free(certs);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
	return rc;
}

char *
ak_request_encode(const ak_rec *r, const tpm_ek_cert *ec, size_t n, size_t *len)
{
	json_writer w;
	blob tpmt = {0};
	ev_ek_cert *ev;
	size_t i;
	char *text;

	/* The same array as the json format's: borrowed blobs. */
	if ((ev = calloc(n ? n : 1, sizeof(*ev))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		ev[i].index = ec[i].index;
		ev[i].der = ec[i].der;
	}
	if (ak_tpmt(r, &tpmt) != 0) {
		free(ev);
		return NULL;
	}
	json_w_doc_begin(&w, AK_REQUEST_FORMAT);
	json_w_key(&w, "ak_public");
	json_w_b64(&w, tpmt.data, tpmt.len);
	json_w_key(&w, "ek_certificates");
	ev_json_ek_certs(&w, ev, n);
	json_w_obj_end(&w);
	text = json_w_finish(&w, len);
	blob_free(&tpmt);
	free(ev);
	return text;
}
