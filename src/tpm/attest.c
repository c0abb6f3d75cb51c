#include "tpm/attest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <tss2/tss2_esys.h>

#include "attest/certs.h"
#include "attest/tpmdata.h"
#include "tpm/call.h"
#include "tpm/tpm_rc.h"
#include "util/log.h"
#include "util/secure.h"

/* NV reads in pieces every TPM accepts (PC Client: at least 512). */
#define NV_CHUNK 512

static void attest_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
attest_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	log_error("attest: %s", why);
}

/* rc, the answer to a TPM_CALL: on failure, why gets the TPM's sentence
 * (tpm_errmsg: "what: 0x... decoded"). */
static bool
attest_ok(tpm_ctx *t, TSS2_RC rc, char *why, size_t whylen)
{
	if (rc == TSS2_RC_SUCCESS)
		return true;
	snprintf(why, whylen, "%s", tpm_errmsg(t));
	return false;
}

/* A transient object or session this file loaded: tpm_attest_flush
 * flushes it, and until then a full TPM's flush of leftovers
 * (TPM_CALL_ROOM) leaves it. */
static void
attest_loaded(tpm_ctx *t, ESYS_TR tr)
{
	tpm_mark_ours(t, tr, true);
}

void
tpm_attest_flush(tpm_ctx *t, uint32_t tr)
{
	if (tr != 0 && tr != ESYS_TR_NONE) {
		tpm_mark_ours(t, tr, false);
		TPM_CALL(t, "FlushContext", Esys_FlushContext(tpm_esys(t), tr));
	}
}

void
tpm_attest_release(tpm_ctx *t, uint32_t tr)
{
	ESYS_TR h = tr;

	if (tr != 0 && tr != ESYS_TR_NONE)
		Esys_TR_Close(tpm_esys(t), &h);
}

/* --- NV ------------------------------------------------------------------- */

/* The NV indices present in [first, last]. */
static CK_RV
nv_present(tpm_ctx *t, uint32_t first, uint32_t last, uint32_t *out, size_t cap,
	   size_t *n, char *why, size_t whylen)
{
	TPMS_CAPABILITY_DATA *cap_data = NULL;
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;
	uint32_t i;

	*n = 0;
	rc = TPM_CALL(
		t, "GetCapability(NV)",
		Esys_GetCapability(tpm_esys(t), ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
				   TPM2_MAX_CAP_HANDLES, &more, &cap_data));
	if (!attest_ok(t, rc, why, whylen))
		return tpm_rc_to_ckr(rc);
	for (i = 0; i < cap_data->data.handles.count && *n < cap; i++) {
		uint32_t h = cap_data->data.handles.handle[i];

		if (h >= first && h <= last)
			out[(*n)++] = h;
	}
	Esys_Free(cap_data);
	return CKR_OK;
}

/* Reads a whole NV index (authRead with its own empty authValue, else
 * ownerRead with the owner's). */
static CK_RV
nv_read(tpm_ctx *t, uint32_t index, blob *out, char *why, size_t whylen)
{
	ESYS_CONTEXT *e = tpm_esys(t);
	ESYS_TR nv = ESYS_TR_NONE, auth;
	TPM2B_NV_PUBLIC *pub = NULL;
	uint8_t *buf = NULL;
	uint16_t size, off = 0;
	TSS2_RC rc;
	CK_RV rv = CKR_DEVICE_ERROR;

	memset(out, 0, sizeof(*out));
	rc = TPM_CALL(t, "NV_ReadPublic",
		      Esys_TR_FromTPMPublic(e, index, ESYS_TR_NONE,
					    ESYS_TR_NONE, ESYS_TR_NONE, &nv));
	if (!attest_ok(t, rc, why, whylen)) {
		nv = ESYS_TR_NONE;
		goto out;
	}
	rc = TPM_CALL(t, "NV_ReadPublic",
		      Esys_NV_ReadPublic(e, nv, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, &pub, NULL));
	if (!attest_ok(t, rc, why, whylen))
		goto out;
	size = pub->nvPublic.dataSize;
	if (pub->nvPublic.attributes & TPMA_NV_AUTHREAD)
		auth = nv;
	else if (pub->nvPublic.attributes & TPMA_NV_OWNERREAD)
		auth = ESYS_TR_RH_OWNER;
	else {
		attest_why(why, whylen, "NV index 0x%08x is not readable",
			   index);
		goto out;
	}
	if ((buf = malloc(size ? size : 1)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *d = NULL;
		uint16_t want = size - off > NV_CHUNK ? NV_CHUNK : size - off;

		rc = TPM_CALL(t, "NV_Read",
			      Esys_NV_Read(e, auth, nv, ESYS_TR_PASSWORD,
					   ESYS_TR_NONE, ESYS_TR_NONE, want,
					   off, &d));
		if (!attest_ok(t, rc, why, whylen))
			goto out;
		if (d->size != want) {
			Esys_Free(d);
			attest_why(why, whylen,
				   "NV_Read of 0x%08x returned a "
				   "short piece",
				   index);
			goto out;
		}
		memcpy(buf + off, d->buffer, want);
		off += want;
		Esys_Free(d);
	}
	out->data = buf;
	out->len = size;
	buf = NULL;
	rv = CKR_OK;
out:
	free(buf);
	Esys_Free(pub);
	tpm_attest_release(t, nv);
	return rv;
}

/* Certificates in NV may be padded: keep the DER SEQUENCE only. */
static size_t
der_length(const uint8_t *p, size_t n)
{
	size_t len, hdr;

	if (n < 2 || p[0] != 0x30)
		return n;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else if (p[1] == 0x81 && n >= 3) {
		len = p[2];
		hdr = 3;
	} else if (p[1] == 0x82 && n >= 4) {
		len = (size_t)p[2] << 8 | p[3];
		hdr = 4;
	} else if (p[1] == 0x83 && n >= 5) {
		len = (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
		hdr = 5;
	} else {
		return n;
	}
	return hdr + len <= n ? hdr + len : n;
}

void
tpm_ek_certs_free(tpm_ek_cert *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++)
		blob_free(&c[i].der);
	free(c);
}

CK_RV
tpm_ek_certs(tpm_ctx *t, tpm_ek_cert **out, size_t *n, char *why, size_t whylen)
{
	uint32_t present[64];
	size_t np, i, j;
	tpm_ek_cert *c;
	CK_RV rv;

	*out = NULL;
	*n = 0;
	if ((rv = nv_present(t, 0x01c00000, 0x01c0001f, present, 64, &np, why,
			     whylen)) != CKR_OK)
		return rv;
	if ((c = calloc(ek_templates_count, sizeof(*c))) == NULL)
		return CKR_HOST_MEMORY;
	for (i = 0; i < ek_templates_count; i++) {
		uint32_t idx = ek_templates[i].cert_index;
		blob b;

		for (j = 0; j < np && present[j] != idx; j++)
			;
		if (j == np)
			continue;
		if ((rv = nv_read(t, idx, &b, why, whylen)) != CKR_OK) {
			tpm_ek_certs_free(c, *n);
			*n = 0;
			return rv;
		}
		b.len = der_length(b.data, b.len);
		c[*n].index = idx;
		c[*n].der = b;
		(*n)++;
	}
	*out = c;
	return CKR_OK;
}

/* --- EK ----------------------------------------------------------------- */

/* The EK's template as the profile says: the default, or the template
 * and nonce the manufacturer put in NV (low range only). */
static CK_RV
ek_template_for(tpm_ctx *t, const ek_template *et, TPM2B_PUBLIC *tmpl,
		char *why, size_t whylen)
{
	uint32_t present[8];
	size_t np = 0, i;
	bool has_nonce = false, has_tmpl = false;
	blob b = {0};
	CK_RV rv;

	memset(tmpl, 0, sizeof(*tmpl));
	if (et->nonce_index != 0) {
		if ((rv = nv_present(t, et->nonce_index, et->template_index,
				     present, 8, &np, why, whylen)) != CKR_OK)
			return rv;
		for (i = 0; i < np; i++) {
			has_nonce |= present[i] == et->nonce_index;
			has_tmpl |= present[i] == et->template_index;
		}
	}
	if (has_tmpl) {
		if ((rv = nv_read(t, et->template_index, &b, why, whylen)) !=
		    CKR_OK)
			return rv;
		if (tpmt_public_parse(b.data, b.len, &tmpl->publicArea) != 0) {
			blob_free(&b);
			attest_why(why, whylen,
				   "the EK template in NV index "
				   "0x%08x does not parse",
				   et->template_index);
			return CKR_DEVICE_ERROR;
		}
		blob_free(&b);
	} else if (ek_template_public(et, NULL, 0, &tmpl->publicArea) != 0) {
		attest_why(why, whylen, "no template for EK index 0x%08x",
			   et->cert_index);
		return CKR_DEVICE_ERROR;
	}
	if (has_nonce) {
		TPMT_PUBLIC *p = &tmpl->publicArea;

		if ((rv = nv_read(t, et->nonce_index, &b, why, whylen)) !=
		    CKR_OK)
			return rv;
		/* EK Credential Profile 2.2.1.5: the nonce replaces the
		 * start of the zero-filled unique field. */
		if (p->type == TPM2_ALG_RSA && b.len <= p->unique.rsa.size)
			memcpy(p->unique.rsa.buffer, b.data, b.len);
		else if (p->type == TPM2_ALG_ECC &&
			 b.len <= p->unique.ecc.x.size)
			memcpy(p->unique.ecc.x.buffer, b.data, b.len);
		blob_free(&b);
	}
	return CKR_OK;
}

/* Creates the EK of cert_index. When the TPM has a certificate there, the
 * EK must have the certificate's key. */
static CK_RV
ek_create(tpm_ctx *t, uint32_t cert_index, ESYS_TR *tr, TPMT_PUBLIC *pub,
	  char *why, size_t whylen)
{
	const ek_template *et = ek_template_find(cert_index);
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_DATA outside = {0};
	TPM2B_PUBLIC tmpl, *out = NULL;
	uint32_t present[1];
	size_t np = 0;
	blob der = {0};
	X509 *cert = NULL;
	EVP_PKEY *ck = NULL, *ek = NULL;
	TSS2_RC rc;
	CK_RV rv;

	*tr = ESYS_TR_NONE;
	if (et == NULL || !et->supported) {
		attest_why(why, whylen,
			   "EK index 0x%08x: not a template "
			   "tpm11 supports",
			   cert_index);
		return CKR_MECHANISM_INVALID;
	}
	if ((rv = ek_template_for(t, et, &tmpl, why, whylen)) != CKR_OK)
		return rv;
	rc = TPM_CALL_ROOM(
		t, "CreatePrimary(EK)",
		Esys_CreatePrimary(tpm_esys(t), ESYS_TR_RH_ENDORSEMENT,
				   ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				   &sens, &tmpl, &outside, &pcr, tr, &out, NULL,
				   NULL, NULL));
	if (!attest_ok(t, rc, why, whylen)) {
		*tr = ESYS_TR_NONE;
		return tpm_rc_to_ckr(rc);
	}
	attest_loaded(t, *tr);
	*pub = out->publicArea;
	Esys_Free(out);
	/* Its certificate, if any, must name this very key. */
	if ((rv = nv_present(t, cert_index, cert_index, present, 1, &np, why,
			     whylen)) != CKR_OK)
		goto fail;
	if (np == 0)
		return CKR_OK;
	if ((rv = nv_read(t, cert_index, &der, why, whylen)) != CKR_OK)
		goto fail;
	rv = CKR_DEVICE_ERROR;
	if ((cert = cert_from_der(der.data, der_length(der.data, der.len))) ==
		    NULL ||
	    (ck = X509_get_pubkey(cert)) == NULL ||
	    (ek = tpmt_public_pkey(pub)) == NULL || EVP_PKEY_eq(ck, ek) != 1) {
		attest_why(why, whylen,
			   "the EK made from the TCG template "
			   "for 0x%08x does not have the key of the "
			   "certificate stored there",
			   cert_index);
		goto fail;
	}
	rv = CKR_OK;
	goto out;
fail:
	tpm_attest_flush(t, *tr);
	*tr = ESYS_TR_NONE;
out:
	EVP_PKEY_free(ck);
	EVP_PKEY_free(ek);
	X509_free(cert);
	blob_free(&der);
	return rv;
}

/* The USER role of the EK: the empty authValue (high range templates set
 * userWithAuth), or its policy PolicySecret(TPM_RH_ENDORSEMENT) in a
 * policy session (low range). *sess is ESYS_TR_PASSWORD or a session to
 * flush with tpm_attest_flush. */
static CK_RV
ek_user_session(tpm_ctx *t, const TPMT_PUBLIC *ek, ESYS_TR *sess, char *why,
		size_t whylen)
{
	ESYS_CONTEXT *e = tpm_esys(t);
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	TSS2_RC rc;

	if (ek->objectAttributes & TPMA_OBJECT_USERWITHAUTH) {
		*sess = ESYS_TR_PASSWORD;
		return CKR_OK;
	}
	rc = TPM_CALL_ROOM(t, "StartAuthSession(EK policy)",
			   Esys_StartAuthSession(
				   e, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL,
				   TPM2_SE_POLICY, &sym, ek->nameAlg, sess));
	if (!attest_ok(t, rc, why, whylen)) {
		*sess = ESYS_TR_NONE;
		return tpm_rc_to_ckr(rc);
	}
	attest_loaded(t, *sess);
	/* TPM 2.0 Part 3, 23.4 PolicySecret: the endorsement hierarchy's
	 * authValue (empty unless its owner set one), no expiration. */
	rc = TPM_CALL(t, "PolicySecret(endorsement)",
		      Esys_PolicySecret(e, ESYS_TR_RH_ENDORSEMENT, *sess,
					ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL,
					NULL));
	if (!attest_ok(t, rc, why, whylen)) {
		tpm_attest_flush(t, *sess);
		*sess = ESYS_TR_NONE;
		return tpm_rc_to_ckr(rc);
	}
	return CKR_OK;
}

static void
ek_session_done(tpm_ctx *t, ESYS_TR sess)
{
	if (sess != ESYS_TR_PASSWORD && sess != ESYS_TR_NONE)
		tpm_attest_flush(t, sess);
}

/* --- AK ------------------------------------------------------------------- */

static void
ak_template(tpm_ak_alg alg, TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *a = &p->publicArea;

	memset(p, 0, sizeof(*p));
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	if (alg == TPM_AK_RSA_2048) {
		a->type = TPM2_ALG_RSA;
		a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		a->parameters.rsaDetail.scheme.details.rsassa.hashAlg =
			TPM2_ALG_SHA256;
		a->parameters.rsaDetail.keyBits = 2048;
	} else {
		a->type = TPM2_ALG_ECC;
		a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		a->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
			TPM2_ALG_SHA256;
		a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	}
}

/* The AK's parent handle and the session for its USER role. */
static CK_RV
ak_parent(tpm_ctx *t, uint32_t ek_index, ESYS_TR *parent, ESYS_TR *sess,
	  ESYS_TR *ek, char *why, size_t whylen)
{
	TPMT_PUBLIC ekpub;
	CK_RV rv;

	*ek = ESYS_TR_NONE;
	if (ek_index == 0) {
		*parent = tpm_srk_tr(t);
		*sess = ESYS_TR_PASSWORD;
		if (*parent == 0 || *parent == ESYS_TR_NONE) {
			attest_why(why, whylen,
				   "the primary key is not in use");
			return CKR_GENERAL_ERROR;
		}
		return CKR_OK;
	}
	if ((rv = ek_create(t, ek_index, ek, &ekpub, why, whylen)) != CKR_OK)
		return rv;
	if ((rv = ek_user_session(t, &ekpub, sess, why, whylen)) != CKR_OK) {
		tpm_attest_flush(t, *ek);
		*ek = ESYS_TR_NONE;
		return rv;
	}
	*parent = *ek;
	return CKR_OK;
}

CK_RV
tpm_ak_create(tpm_ctx *t, tpm_ak_alg alg, uint32_t ek_index, tpm_ak *out,
	      char *why, size_t whylen)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_DATA outside = {0};
	TPM2B_PUBLIC tmpl;
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	ESYS_TR parent, sess, ek;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;
	bool ok;

	memset(out, 0, sizeof(*out));
	ak_template(alg, &tmpl);
	if ((rv = ak_parent(t, ek_index, &parent, &sess, &ek, why, whylen)) !=
	    CKR_OK)
		return rv;
	rc = TPM_CALL_ROOM(t, "Create(AK)",
			   Esys_Create(tpm_esys(t), parent, sess, ESYS_TR_NONE,
				       ESYS_TR_NONE, &sens, &tmpl, &outside,
				       &pcr, &opriv, &opub, NULL, NULL, NULL));
	ok = attest_ok(t, rc, why, whylen); /* before the flushes' errors */
	ek_session_done(t, sess);
	tpm_attest_flush(t, ek);
	if (!ok)
		return tpm_rc_to_ckr(rc);
	if (MARSHAL_TO_BLOB(TPM2B_PUBLIC, opub, &out->pub) != 0 ||
	    MARSHAL_TO_BLOB(TPM2B_PRIVATE, opriv, &out->priv) != 0)
		rv = CKR_HOST_MEMORY;
	else
		out->ek_index = ek_index;
	Esys_Free(opriv);
	Esys_Free(opub);
	return rv;
}

CK_RV
tpm_ak_load(tpm_ctx *t, const tpm_ak *ak, uint32_t *tr, char *why,
	    size_t whylen)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR parent, sess, ek, h = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv;
	bool ok;

	*tr = 0;
	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, &ak->pub, &pub) != 0 ||
	    UNMARSHAL_BLOB(TPM2B_PRIVATE, &ak->priv, &priv) != 0) {
		attest_why(why, whylen, "the stored AK blob is damaged");
		return CKR_DEVICE_ERROR;
	}
	if ((rv = ak_parent(t, ak->ek_index, &parent, &sess, &ek, why,
			    whylen)) != CKR_OK)
		return rv;
	rc = TPM_CALL_ROOM(t, "Load(AK)",
			   Esys_Load(tpm_esys(t), parent, sess, ESYS_TR_NONE,
				     ESYS_TR_NONE, &priv, &pub, &h));
	secure_zero(&priv, sizeof(priv));
	ok = attest_ok(t, rc, why, whylen); /* before the flushes' errors */
	ek_session_done(t, sess);
	tpm_attest_flush(t, ek);
	if (!ok)
		return tpm_rc_to_ckr(rc);
	attest_loaded(t, h);
	*tr = h;
	return CKR_OK;
}

/* --- certify ---------------------------------------------------------- */

static int
qual_data(TPM2B_DATA *d, const uint8_t *qual, size_t qlen)
{
	memset(d, 0, sizeof(*d));
	if (qlen > sizeof(d->buffer))
		return -1;
	d->size = (UINT16)qlen;
	if (qlen)
		memcpy(d->buffer, qual, qlen);
	return 0;
}

/* TPM2_Certify of obj by the AK, or with chash and cticket
 * TPM2_CertifyCreation; the answer into attest and sig. */
static CK_RV
certify(tpm_ctx *t, uint32_t obj, uint32_t ak, const uint8_t *qual, size_t qlen,
	const blob *chash, const blob *cticket, blob *attest, blob *sig,
	char *why, size_t whylen)
{
	TPM2B_DATA q;
	TPM2B_DIGEST h;
	TPMT_TK_CREATION tk;
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPM2B_ATTEST *a = NULL;
	TPMT_SIGNATURE *s = NULL;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;

	if (qual_data(&q, qual, qlen) != 0)
		return CKR_ARGUMENTS_BAD;
	if (chash == NULL) {
		/* Part 3, 18.2: objectHandle needs the ADMIN role (its
		 * authValue, empty for tpm11 keys), signHandle the USER
		 * role. A persistent object takes a slot while it runs. */
		rc = TPM_CALL_ROOM(t, "Certify",
				   Esys_Certify(tpm_esys(t), obj, ak,
						ESYS_TR_PASSWORD,
						ESYS_TR_PASSWORD, ESYS_TR_NONE,
						&q, &scheme, &a, &s));
	} else if (UNMARSHAL_BLOB(TPM2B_DIGEST, chash, &h) != 0 ||
		   UNMARSHAL_BLOB(TPMT_TK_CREATION, cticket, &tk) != 0) {
		attest_why(why, whylen,
			   "the stored creation hash or ticket "
			   "is damaged");
		return CKR_DEVICE_ERROR;
	} else {
		/* Part 3, 18.3: signHandle USER role; objectHandle needs
		 * no auth. */
		rc = TPM_CALL_ROOM(t, "CertifyCreation",
				   Esys_CertifyCreation(tpm_esys(t), ak, obj,
							ESYS_TR_PASSWORD,
							ESYS_TR_NONE,
							ESYS_TR_NONE, &q, &h,
							&scheme, &tk, &a, &s));
	}
	if (!attest_ok(t, rc, why, whylen))
		rv = tpm_rc_to_ckr(rc);
	else if (blob_set(attest, a->attestationData, a->size) != 0 ||
		 MARSHAL_TO_BLOB(TPMT_SIGNATURE, s, sig) != 0)
		rv = CKR_HOST_MEMORY;
	Esys_Free(a);
	Esys_Free(s);
	return rv;
}

CK_RV
tpm_certify(tpm_ctx *t, uint32_t obj, uint32_t ak, const uint8_t *qual,
	    size_t qlen, blob *attest, blob *sig, char *why, size_t whylen)
{
	return certify(t, obj, ak, qual, qlen, NULL, NULL, attest, sig, why,
		       whylen);
}

CK_RV
tpm_certify_creation(tpm_ctx *t, uint32_t obj, uint32_t ak, const uint8_t *qual,
		     size_t qlen, const blob *chash, const blob *cticket,
		     blob *attest, blob *sig, char *why, size_t whylen)
{
	return certify(t, obj, ak, qual, qlen, chash, cticket, attest, sig, why,
		       whylen);
}

/* --- credential ----------------------------------------------------------- */

CK_RV
tpm_activate_credential(tpm_ctx *t, const tpm_ak *ak, uint32_t ek_index,
			const blob *cred, const blob *secret, uint8_t *cv,
			size_t *cvlen, char *why, size_t whylen)
{
	TPM2B_ID_OBJECT id;
	TPM2B_ENCRYPTED_SECRET es;
	TPM2B_DIGEST *out = NULL;
	TPMT_PUBLIC ekpub;
	ESYS_TR ek = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	uint32_t akh = 0;
	TSS2_RC rc;
	CK_RV rv;

	if (UNMARSHAL_BLOB(TPM2B_ID_OBJECT, cred, &id) != 0 ||
	    UNMARSHAL_BLOB(TPM2B_ENCRYPTED_SECRET, secret, &es) != 0) {
		attest_why(why, whylen,
			   "the challenge's credential does not "
			   "parse");
		return CKR_ARGUMENTS_BAD;
	}
	/* The AK first (its parent may be an EK of its own), then the EK
	 * that decrypts the seed: two objects of ours at most. */
	if ((rv = tpm_ak_load(t, ak, &akh, why, whylen)) != CKR_OK)
		return rv;
	if ((rv = ek_create(t, ek_index, &ek, &ekpub, why, whylen)) != CKR_OK)
		goto out;
	if ((rv = ek_user_session(t, &ekpub, &sess, why, whylen)) != CKR_OK)
		goto out;
	/* Part 3, 12.5: activateHandle ADMIN role (the AK's empty
	 * authValue: adminWithPolicy is clear), keyHandle USER role. */
	rc = TPM_CALL(t, "ActivateCredential",
		      Esys_ActivateCredential(tpm_esys(t), akh, ek,
					      ESYS_TR_PASSWORD, sess,
					      ESYS_TR_NONE, &id, &es, &out));
	if (!attest_ok(t, rc, why, whylen)) {
		snprintf(why + strlen(why), whylen - strlen(why),
			 " (a challenge made for another TPM or AK, or "
			 "damaged)");
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	if (out->size > 64) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	memcpy(cv, out->buffer, out->size);
	*cvlen = out->size;
	rv = CKR_OK;
out:
	if (out != NULL) {
		secure_zero(out, sizeof(*out));
		Esys_Free(out);
	}
	ek_session_done(t, sess);
	tpm_attest_flush(t, ek);
	tpm_attest_flush(t, akh);
	return rv;
}

CK_RV
tpm_persistent_object(tpm_ctx *t, uint32_t handle, uint32_t *tr, blob *pub,
		      char *why, size_t whylen)
{
	ESYS_TR h = ESYS_TR_NONE;
	TPM2B_PUBLIC *p = NULL;
	TSS2_RC rc;
	CK_RV rv = CKR_HOST_MEMORY;

	*tr = 0;
	if (handle < 0x81000000u || handle > 0x81ffffffu) {
		attest_why(why, whylen, "0x%08x is not a persistent handle",
			   handle);
		return CKR_ARGUMENTS_BAD;
	}
	/* Reading a persistent object's public area brings it into an
	 * object slot. */
	rc = TPM_CALL_ROOM(t, "ReadPublic(persistent)",
			   Esys_TR_FromTPMPublic(tpm_esys(t), handle,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 ESYS_TR_NONE, &h));
	if (!attest_ok(t, rc, why, whylen))
		return tpm_rc_to_ckr(rc);
	rc = TPM_CALL(t, "ReadPublic",
		      Esys_ReadPublic(tpm_esys(t), h, ESYS_TR_NONE,
				      ESYS_TR_NONE, ESYS_TR_NONE, &p, NULL,
				      NULL));
	if (!attest_ok(t, rc, why, whylen)) {
		tpm_attest_release(t, h);
		return tpm_rc_to_ckr(rc);
	}
	if (MARSHAL_TO_BLOB(TPM2B_PUBLIC, p, pub) == 0) {
		*tr = h;
		rv = CKR_OK;
	} else {
		tpm_attest_release(t, h);
	}
	Esys_Free(p);
	return rv;
}
