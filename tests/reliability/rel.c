/* Helpers shared by the reliability and security test programs; see
 * rel.h. */
#include "rel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* --- the token ----------------------------------------------------------- */

static bool
label_is(const CK_UTF8CHAR *p, size_t n, const char *label)
{
	size_t l = strlen(label), i;

	if (l > n || memcmp(p, label, l) != 0)
		return false;
	for (i = l; i < n; i++)
		if (p[i] != ' ')
			return false;
	return true;
}

bool
rel_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if ((rv = p11->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_OK) {
		t11_diag("C_GetSlotList -> %s", t11_rv_name(rv));
		return false;
	}
	for (i = 0; i < n; i++) {
		if (p11->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		if (label_is(ti.label, sizeof(ti.label), label)) {
			*slot = ids[i];
			return true;
		}
	}
	t11_diag("no token labelled \"%s\" among %lu slots", label,
		 (unsigned long)n);
	return false;
}

/* --- keys ------------------------------------------------------------------ */

/* The whole search, 3 handles at a time; up to max handles kept. */
static CK_RV
find_all(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t,
	 CK_ULONG nt, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *found)
{
	CK_OBJECT_HANDLE h[3];
	CK_ULONG got, i;
	CK_RV rv, rv2;

	*found = 0;
	if ((rv = p11->C_FindObjectsInit(s, t, nt)) != CKR_OK)
		return rv;
	for (;;) {
		got = 0;
		rv = p11->C_FindObjects(s, h, 3, &got);
		if (rv != CKR_OK || got == 0)
			break;
		if (got > 3) {
			rv = CKR_GENERAL_ERROR;
			break;
		}
		for (i = 0; i < got; i++) {
			if (*found < max)
				out[*found] = h[i];
			(*found)++;
		}
	}
	rv2 = p11->C_FindObjectsFinal(s);
	return rv != CKR_OK ? rv : rv2;
}

CK_RV
rel_count_objects(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
		  CK_OBJECT_CLASS cls, CK_ULONG *count)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE h[1];

	return find_all(p11, s, &t, 1, h, 0, count);
}

/* Reads one attribute into a malloc'd buffer. */
static CK_RV
get_attr(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
	 CK_ATTRIBUTE_TYPE type, unsigned char **val, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	*len = 0;
	if ((rv = p11->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 65536)
		return CKR_GENERAL_ERROR;
	if ((a.pValue = malloc(a.ulValueLen + 1)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = p11->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

static EVP_PKEY *
pkey_from_ec(const unsigned char *params, CK_ULONG plen,
	     const unsigned char *point, CK_ULONG ptlen, enum rel_kind *kind,
	     unsigned *bits)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
	ASN1_OCTET_STRING *os = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *prm = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	const char *group = NULL;

	if (oid == NULL)
		goto out;
	switch (OBJ_obj2nid(oid)) {
	case NID_X9_62_prime256v1:
		group = "P-256"; *kind = REL_P256; *bits = 256; break;
	case NID_secp384r1:
		group = "P-384"; *kind = REL_P384; *bits = 384; break;
	default:
		goto out;
	}
	p = point;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptlen)) == NULL)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					      os->data, (size_t)os->length) ||
	    (prm = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, prm) <= 0)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(bld);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	return pk;
}

static EVP_PKEY *
pkey_from_rsa(const unsigned char *n, CK_ULONG nlen, const unsigned char *e,
	      CK_ULONG elen, unsigned *bits)
{
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *prm = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (bn == NULL || be == NULL)
		goto out;
	*bits = (unsigned)BN_num_bits(bn);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (prm = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, prm) <= 0)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static CK_RV
load_public(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, rel_key *k)
{
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG alen, blen;
	CK_RV rv;

	if (k->type == CKK_EC) {
		if ((rv = get_attr(p11, s, k->pub, CKA_EC_PARAMS, &a, &alen)) ||
		    (rv = get_attr(p11, s, k->pub, CKA_EC_POINT, &b, &blen)))
			goto out;
		k->pkey = pkey_from_ec(a, alen, b, blen, &k->kind, &k->bits);
	} else if (k->type == CKK_RSA) {
		if ((rv = get_attr(p11, s, k->pub, CKA_MODULUS, &a, &alen)) ||
		    (rv = get_attr(p11, s, k->pub, CKA_PUBLIC_EXPONENT, &b,
				   &blen)))
			goto out;
		k->kind = REL_RSA;
		k->pkey = pkey_from_rsa(a, alen, b, blen, &k->bits);
	} else {
		k->kind = REL_OTHER;
	}
	rv = k->pkey != NULL ? CKR_OK : CKR_GENERAL_ERROR;
	if (rv != CKR_OK)
		t11_diag("key \"%s\": cannot build an OpenSSL key from its "
			 "public attributes", k->label);
out:
	free(a);
	free(b);
	return rv;
}

void
rel_free_keys(rel_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		EVP_PKEY_free(keys[i].pkey);
	free(keys);
}

CK_RV
rel_load_keys(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
	      const char *prefix, rel_key **keys, size_t *n)
{
	CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &priv_cls, sizeof(priv_cls) };
	CK_OBJECT_HANDLE h[256];
	CK_ULONG found = 0, i, cnt;
	rel_key *v = NULL;
	size_t nv = 0;
	CK_RV rv;

	*keys = NULL;
	*n = 0;
	if ((rv = find_all(p11, s, &t, 1, h, 256, &found)) != CKR_OK) {
		t11_diag("finding private keys -> %s", t11_rv_name(rv));
		return rv;
	}
	if (found > 256)
		found = 256;
	if ((v = calloc(found ? found : 1, sizeof(*v))) == NULL)
		return CKR_HOST_MEMORY;
	for (i = 0; i < found; i++) {
		rel_key *k = &v[nv];
		CK_ATTRIBUTE a[] = {
			{ CKA_LABEL, k->label, sizeof(k->label) - 1 },
			{ CKA_ID, k->id, sizeof(k->id) },
			{ CKA_KEY_TYPE, &k->type, sizeof(k->type) },
		};
		CK_ATTRIBUTE pt[] = {
			{ CKA_CLASS, &pub_cls, sizeof(pub_cls) },
			{ CKA_ID, k->id, 0 },
		};

		memset(k, 0, sizeof(*k));
		rv = p11->C_GetAttributeValue(s, h[i], a, 3);
		/* In a filtered view, a key that another process deleted
		 * since the search is simply not ours to check. */
		if (rv == CKR_OBJECT_HANDLE_INVALID && prefix != NULL)
			continue;
		if (rv != CKR_OK) {
			t11_diag("C_GetAttributeValue(private key %lu) -> %s",
				 (unsigned long)h[i], t11_rv_name(rv));
			goto fail;
		}
		k->label[a[0].ulValueLen] = '\0';
		k->id_len = a[1].ulValueLen;
		if (prefix != NULL &&
		    strncmp(k->label, prefix, strlen(prefix)) != 0)
			continue;
		k->priv = h[i];
		pt[1].ulValueLen = k->id_len;
		rv = find_all(p11, s, pt, 2, &k->pub, 1, &cnt);
		if (rv != CKR_OK) {
			t11_diag("finding the public key of \"%s\" -> %s",
				 k->label, t11_rv_name(rv));
			goto fail;
		}
		if (cnt != 1) {
			t11_diag("private key \"%s\": %lu public keys with its "
				 "CKA_ID (expected 1)", k->label,
				 (unsigned long)cnt);
			rv = CKR_GENERAL_ERROR;
			nv++;
			goto fail;
		}
		nv++;
		if ((rv = load_public(p11, s, k)) != CKR_OK)
			goto fail;
	}
	*keys = v;
	*n = nv;
	return CKR_OK;
fail:
	rel_free_keys(v, nv);
	return rv;
}

/* --- signing ------------------------------------------------------------ */

enum v_form { F_RAW, F_ONE, F_MULTI };

struct variant {
	CK_MECHANISM_TYPE mech;
	const char *name;
	const char *md;        /* hash the signature is over */
	enum v_form form;      /* raw: caller hashes; one/multi: C_Sign or
				  C_SignUpdate+C_SignFinal */
	bool pss, digestinfo;
};

static const struct variant ec_variants[] = {
	{ CKM_ECDSA, "CKM_ECDSA", NULL /* curve's */, F_RAW, false, false },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256", "SHA256", F_ONE, false, false },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256 (multi-part)", "SHA256", F_MULTI,
	  false, false },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384", "SHA384", F_ONE, false, false },
	{ CKM_ECDSA, "CKM_ECDSA/SHA-256", "SHA256", F_RAW, false, false },
};

static const struct variant rsa_variants[] = {
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS (DigestInfo SHA-256)", "SHA256", F_RAW,
	  false, true },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", "SHA256", F_ONE, false,
	  false },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS (multi-part)", "SHA256",
	  F_MULTI, false, false },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS (SHA-256, salt 32)", "SHA256",
	  F_RAW, true, false },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS (multi-part)",
	  "SHA384", F_MULTI, true, false },
};

static const struct variant *
pick(const rel_key *k, unsigned variant)
{
	if (k->type == CKK_RSA)
		return &rsa_variants[variant % 5];
	return &ec_variants[variant % 5];
}

const char *
rel_variant_name(const rel_key *k, unsigned variant)
{
	return pick(k, variant)->name;
}

static const char *
ec_md(const rel_key *k, const struct variant *v)
{
	if (v->md != NULL)
		return v->md;
	return k->kind == REL_P384 ? "SHA384" : "SHA256";
}

/* DER DigestInfo prefixes (RFC 8017 9.2, note 1). */
static const unsigned char di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

static bool
verify(const rel_key *k, const struct variant *v, const char *mdname,
       const unsigned char *dg, unsigned dglen, const unsigned char *sig,
       CK_ULONG siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	unsigned char *der = NULL;
	ECDSA_SIG *es = NULL;
	int derlen = 0;
	bool ok = false;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
		goto out;
	if (k->type == CKK_EC) {
		size_t half = (k->bits + 7) / 8;
		BIGNUM *r, *s;

		if (siglen != 2 * half)
			goto out;
		r = BN_bin2bn(sig, (int)half, NULL);
		s = BN_bin2bn(sig + half, (int)half, NULL);
		if ((es = ECDSA_SIG_new()) == NULL || r == NULL || s == NULL ||
		    !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			goto out;
		}
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		ok = EVP_PKEY_verify(ctx, der, (size_t)derlen, dg, dglen) == 1;
	} else {
		const EVP_MD *md = EVP_get_digestbyname(mdname);

		if (siglen != (k->bits + 7) / 8 || md == NULL)
			goto out;
		if (EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
			goto out;
		if (v->pss) {
			if (EVP_PKEY_CTX_set_rsa_padding(ctx,
					RSA_PKCS1_PSS_PADDING) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
			    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
					(int)dglen) <= 0)
				goto out;
		} else if (EVP_PKEY_CTX_set_rsa_padding(ctx,
				RSA_PKCS1_PADDING) <= 0) {
			goto out;
		}
		ok = EVP_PKEY_verify(ctx, sig, siglen, dg, dglen) == 1;
	}
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* Held by rel_sign_verify around its own OpenSSL calls and, once
 * rel_fork_guard_openssl has run, across fork() (rel.h). */
static pthread_mutex_t ossl_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

static void
ossl_lock(void)
{
	pthread_mutex_lock(&ossl_mutex);
}

static void
ossl_unlock(void)
{
	pthread_mutex_unlock(&ossl_mutex);
}

static void
fork_guard_register(void)
{
	pthread_atfork(ossl_lock, ossl_unlock, ossl_unlock);
}

void
rel_fork_guard_openssl(void)
{
	pthread_once(&fork_guard_once, fork_guard_register);
}

/* Random data and its digest for rel_sign_verify; false when OpenSSL
 * fails. */
static bool
make_message(const char *mdname, unsigned *r, unsigned char *data,
	     size_t size, size_t *dlen, unsigned char *dg, unsigned *dglen)
{
	bool ok;

	ossl_lock();
	ok = RAND_bytes((unsigned char *)r, sizeof(*r)) == 1 &&
	     RAND_bytes(data, (int)size) == 1;
	if (ok) {
		*dlen = 1 + *r % (size - 1);
		ok = EVP_Digest(data, *dlen, dg, dglen,
				EVP_get_digestbyname(mdname), NULL) == 1;
	}
	ossl_unlock();
	return ok;
}

CK_RV
rel_sign_verify(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
		const rel_key *k, unsigned variant, bool *verified)
{
	const struct variant *v = pick(k, variant);
	const char *mdname = k->type == CKK_EC ? ec_md(k, v) : v->md;
	unsigned char data[400], dg[64], in[128], sig[1024];
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM m = { v->mech, NULL, 0 };
	CK_ULONG inlen = 0, siglen = sizeof(sig), cut;
	unsigned dglen = 0, r;
	size_t dlen;
	CK_RV rv;

	*verified = false;
	if (!make_message(mdname, &r, data, sizeof(data), &dlen, dg, &dglen))
		return CKR_GENERAL_ERROR;
	if (v->pss) {
		pss.hashAlg = dglen == 48 ? CKM_SHA384 : CKM_SHA256;
		pss.mgf = dglen == 48 ? CKG_MGF1_SHA384 : CKG_MGF1_SHA256;
		pss.sLen = dglen;
		m.pParameter = &pss;
		m.ulParameterLen = sizeof(pss);
	}
	if (v->form == F_RAW) {
		if (v->digestinfo) {
			memcpy(in, di_sha256, sizeof(di_sha256));
			inlen = sizeof(di_sha256);
		}
		memcpy(in + inlen, dg, dglen);
		inlen += dglen;
	}
	if ((rv = p11->C_SignInit(s, &m, k->priv)) != CKR_OK)
		return rv;
	switch (v->form) {
	case F_RAW:
		/* Every other call asks for the length first. */
		if (r & 0x100) {
			rv = p11->C_Sign(s, in, inlen, NULL, &siglen);
			if (rv != CKR_OK)
				return rv;
			if (siglen > sizeof(sig))
				return CKR_GENERAL_ERROR;
		}
		rv = p11->C_Sign(s, in, inlen, sig, &siglen);
		break;
	case F_ONE:
		rv = p11->C_Sign(s, data, dlen, sig, &siglen);
		break;
	case F_MULTI:
		cut = (CK_ULONG)((r >> 12) % (dlen + 1));
		rv = p11->C_SignUpdate(s, data, cut);
		if (rv == CKR_OK)
			rv = p11->C_SignUpdate(s, data + cut, dlen - cut);
		if (rv == CKR_OK)
			rv = p11->C_SignFinal(s, sig, &siglen);
		break;
	}
	if (rv != CKR_OK)
		return rv;
	ossl_lock();
	*verified = verify(k, v, mdname, dg, dglen, sig, siglen);
	ossl_unlock();
	return CKR_OK;
}
