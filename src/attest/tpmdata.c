#include "attest/tpmdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

int
tpmt_public_parse(const uint8_t *p, size_t len, TPMT_PUBLIC *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL ||
	    Tss2_MU_TPMT_PUBLIC_Unmarshal(p, len, &off, out) !=
		    TSS2_RC_SUCCESS ||
	    off != len)
		return -1;
	return 0;
}

int
tpmt_public_marshal(const TPMT_PUBLIC *p, uint8_t **out, size_t *len)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	*out = NULL;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off) !=
		    TSS2_RC_SUCCESS ||
	    (*out = malloc(off)) == NULL)
		return -1;
	memcpy(*out, buf, off);
	*len = off;
	return 0;
}

int
tpms_attest_parse(const uint8_t *p, size_t len, TPMS_ATTEST *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL ||
	    Tss2_MU_TPMS_ATTEST_Unmarshal(p, len, &off, out) !=
		    TSS2_RC_SUCCESS ||
	    off != len)
		return -1;
	return 0;
}

int
tpmt_signature_parse(const uint8_t *p, size_t len, TPMT_SIGNATURE *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(p, len, &off, out) !=
		    TSS2_RC_SUCCESS ||
	    off != len)
		return -1;
	return 0;
}

const EVP_MD *
tpm_alg_md(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return EVP_sha1();
	case TPM2_ALG_SHA256:
		return EVP_sha256();
	case TPM2_ALG_SHA384:
		return EVP_sha384();
	case TPM2_ALG_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

const char *
tpm_alg_name(uint16_t alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1:
		return "SHA-1";
	case TPM2_ALG_SHA256:
		return "SHA-256";
	case TPM2_ALG_SHA384:
		return "SHA-384";
	case TPM2_ALG_SHA512:
		return "SHA-512";
	case TPM2_ALG_RSA:
		return "RSA";
	case TPM2_ALG_ECC:
		return "ECC";
	case TPM2_ALG_ECDSA:
		return "ECDSA";
	case TPM2_ALG_RSASSA:
		return "RSASSA";
	case TPM2_ALG_RSAPSS:
		return "RSAPSS";
	default:
		return "unknown";
	}
}

int
tpm_name(const uint8_t *pub, size_t len, uint16_t name_alg, uint8_t *name,
	 size_t *name_len)
{
	const EVP_MD *md = tpm_alg_md(name_alg);
	unsigned int dl = 0;

	if (md == NULL || name_alg == TPM2_ALG_SHA1)
		return -1;
	name[0] = (uint8_t)(name_alg >> 8);
	name[1] = (uint8_t)name_alg;
	if (EVP_Digest(pub, len, name + 2, &dl, md, NULL) != 1)
		return -1;
	*name_len = 2 + dl;
	return 0;
}

int
tpmt_public_name(const TPMT_PUBLIC *p, uint8_t *name, size_t *name_len)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS)
		return -1;
	return tpm_name(buf, off, p->nameAlg, name, name_len);
}

static const char *
curve_group(uint16_t curve, size_t *fl)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256:
		*fl = 32;
		return "P-256";
	case TPM2_ECC_NIST_P384:
		*fl = 48;
		return "P-384";
	case TPM2_ECC_NIST_P521:
		*fl = 66;
		return "P-521";
	default:
		*fl = 0;
		return NULL;
	}
}

static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	if (params == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return k;
}

EVP_PKEY *
tpmt_public_pkey(const TPMT_PUBLIC *p)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *k = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (bld == NULL)
		return NULL;
	if (p->type == TPM2_ALG_ECC) {
		const TPMS_ECC_POINT *pt = &p->unique.ecc;
		size_t fl;
		const char *g =
			curve_group(p->parameters.eccDetail.curveID, &fl);
		uint8_t q[1 + 2 * 66];

		if (g == NULL || pt->x.size == 0 || pt->y.size == 0 ||
		    pt->x.size > fl || pt->y.size > fl)
			goto out;
		memset(q, 0, sizeof(q));
		q[0] = 0x04;
		memcpy(q + 1 + fl - pt->x.size, pt->x.buffer, pt->x.size);
		memcpy(q + 1 + 2 * fl - pt->y.size, pt->y.buffer, pt->y.size);
		if (OSSL_PARAM_BLD_push_utf8_string(
			    bld, OSSL_PKEY_PARAM_GROUP_NAME, g, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(
			    bld, OSSL_PKEY_PARAM_PUB_KEY, q, 1 + 2 * fl) != 1)
			goto out;
		k = pkey_fromdata("EC", bld);
	} else if (p->type == TPM2_ALG_RSA) {
		uint32_t exp = p->parameters.rsaDetail.exponent;

		if (p->unique.rsa.size == 0)
			goto out;
		n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
		e = BN_new();
		if (n == NULL || e == NULL ||
		    BN_set_word(e, exp ? exp : 65537) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) !=
			    1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
			goto out;
		k = pkey_fromdata("RSA", bld);
	}
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

int
tpmt_public_set_unique(TPMT_PUBLIC *p, EVP_PKEY *k)
{
	BIGNUM *a = NULL, *b = NULL;
	int rc = -1;

	if (p->type == TPM2_ALG_ECC) {
		size_t fl;
		char group[32];
		const char *g =
			curve_group(p->parameters.eccDetail.curveID, &fl);

		if (g == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
		    EVP_PKEY_get_utf8_string_param(
			    k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			    NULL) != 1)
			goto out;
		/* OpenSSL names the NIST curves prime256v1, secp384r1, ... */
		if (!((fl == 32 && (!strcmp(group, "prime256v1") ||
				    !strcmp(group, "P-256"))) ||
		      (fl == 48 && (!strcmp(group, "secp384r1") ||
				    !strcmp(group, "P-384"))) ||
		      (fl == 66 && (!strcmp(group, "secp521r1") ||
				    !strcmp(group, "P-521")))))
			goto out;
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a) !=
			    1 ||
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b) !=
			    1 ||
		    BN_bn2binpad(a, p->unique.ecc.x.buffer, (int)fl) < 0 ||
		    BN_bn2binpad(b, p->unique.ecc.y.buffer, (int)fl) < 0)
			goto out;
		p->unique.ecc.x.size = (UINT16)fl;
		p->unique.ecc.y.size = (UINT16)fl;
		rc = 0;
	} else if (p->type == TPM2_ALG_RSA) {
		int n;

		if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b) != 1)
			goto out;
		n = BN_num_bytes(a);
		if (n <= 0 ||
		    (unsigned)n * 8 != p->parameters.rsaDetail.keyBits ||
		    (size_t)n > sizeof(p->unique.rsa.buffer) ||
		    !(BN_is_word(b, 65537) &&
		      (p->parameters.rsaDetail.exponent == 0 ||
		       p->parameters.rsaDetail.exponent == 65537)))
			goto out;
		BN_bn2bin(a, p->unique.rsa.buffer);
		p->unique.rsa.size = (UINT16)n;
		rc = 0;
	}
out:
	BN_free(a);
	BN_free(b);
	return rc;
}

int
tpm_signature_cose_alg(const TPMT_SIGNATURE *sig)
{
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		switch (sig->signature.ecdsa.hash) {
		case TPM2_ALG_SHA256:
			return -7;
		case TPM2_ALG_SHA384:
			return -35;
		case TPM2_ALG_SHA512:
			return -36;
		}
	} else if (sig->sigAlg == TPM2_ALG_RSASSA) {
		switch (sig->signature.rsassa.hash) {
		case TPM2_ALG_SHA256:
			return -257;
		case TPM2_ALG_SHA384:
			return -258;
		case TPM2_ALG_SHA512:
			return -259;
		}
	}
	return 0;
}

int
tpm_signature_verify(EVP_PKEY *key, const TPMT_SIGNATURE *sig,
		     const uint8_t *msg, size_t len, char *why, size_t whylen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *h;
	uint8_t *der = NULL, *p;
	const uint8_t *s;
	size_t slen;
	int dlen, rc = -1;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *ss = NULL;

	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
			snprintf(why, whylen,
				 "an ECDSA signature from a key "
				 "that is not an EC key");
			return -1;
		}
		h = tpm_alg_md(sig->signature.ecdsa.hash);
		r = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
			      sig->signature.ecdsa.signatureR.size, NULL);
		ss = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
			       sig->signature.ecdsa.signatureS.size, NULL);
		if ((es = ECDSA_SIG_new()) == NULL || r == NULL || ss == NULL ||
		    ECDSA_SIG_set0(es, r, ss) != 1)
			goto oom;
		r = ss = NULL;
		if ((dlen = i2d_ECDSA_SIG(es, NULL)) <= 0 ||
		    (der = malloc((size_t)dlen)) == NULL)
			goto oom;
		p = der;
		i2d_ECDSA_SIG(es, &p);
		s = der;
		slen = (size_t)dlen;
	} else if (sig->sigAlg == TPM2_ALG_RSASSA) {
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
			snprintf(why, whylen,
				 "an RSA signature from a key that "
				 "is not an RSA key");
			return -1;
		}
		h = tpm_alg_md(sig->signature.rsassa.hash);
		s = sig->signature.rsassa.sig.buffer;
		slen = sig->signature.rsassa.sig.size;
	} else {
		snprintf(why, whylen,
			 "signature scheme 0x%04x is not ECDSA or "
			 "RSASSA",
			 sig->sigAlg);
		return -1;
	}
	if (h == NULL || h == EVP_sha1()) {
		snprintf(why, whylen,
			 "the signature's hash is not SHA-256, "
			 "SHA-384 or SHA-512");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, &pctx, h, NULL, key) != 1)
		goto oom;
	if (sig->sigAlg == TPM2_ALG_RSASSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto oom;
	if (EVP_DigestVerify(md, s, slen, msg, len) == 1)
		rc = 0;
	else
		snprintf(why, whylen, "the signature does not verify");
	goto out;
oom:
	snprintf(why, whylen, "cannot check the signature (OpenSSL error)");
out:
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(ss);
	free(der);
	return rc;
}

int
tpm_signature_to_raw(const TPMT_SIGNATURE *sig, uint8_t **out, size_t *len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p;
	int n, rc = -1;

	*out = NULL;
	if (sig->sigAlg == TPM2_ALG_RSASSA) {
		n = sig->signature.rsassa.sig.size;
		if (n == 0 || (*out = malloc((size_t)n)) == NULL)
			return -1;
		memcpy(*out, sig->signature.rsassa.sig.buffer, (size_t)n);
		*len = (size_t)n;
		return 0;
	}
	if (sig->sigAlg != TPM2_ALG_ECDSA)
		return -1;
	r = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
		      sig->signature.ecdsa.signatureR.size, NULL);
	s = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
		      sig->signature.ecdsa.signatureS.size, NULL);
	if (r == NULL || s == NULL || (es = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 ||
	    (*out = malloc((size_t)n)) == NULL)
		goto out;
	p = *out;
	i2d_ECDSA_SIG(es, &p);
	*len = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
tpm_signature_from_raw(int cose_alg, const uint8_t *p, size_t len,
		       TPMT_SIGNATURE *out)
{
	uint16_t hash;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	const unsigned char *q = p;
	int rl, sl;

	memset(out, 0, sizeof(*out));
	switch (cose_alg) {
	case -7:
	case -257:
		hash = TPM2_ALG_SHA256;
		break;
	case -35:
	case -258:
		hash = TPM2_ALG_SHA384;
		break;
	case -36:
	case -259:
		hash = TPM2_ALG_SHA512;
		break;
	default:
		return -1;
	}
	if (cose_alg <= -257) {
		if (len == 0 || len > sizeof(out->signature.rsassa.sig.buffer))
			return -1;
		out->sigAlg = TPM2_ALG_RSASSA;
		out->signature.rsassa.hash = hash;
		out->signature.rsassa.sig.size = (UINT16)len;
		memcpy(out->signature.rsassa.sig.buffer, p, len);
		return 0;
	}
	if ((es = d2i_ECDSA_SIG(NULL, &q, (long)len)) == NULL || q != p + len) {
		ECDSA_SIG_free(es);
		return -1;
	}
	ECDSA_SIG_get0(es, &r, &s);
	rl = BN_num_bytes(r);
	sl = BN_num_bytes(s);
	if (rl > (int)sizeof(out->signature.ecdsa.signatureR.buffer) ||
	    sl > (int)sizeof(out->signature.ecdsa.signatureS.buffer)) {
		ECDSA_SIG_free(es);
		return -1;
	}
	out->sigAlg = TPM2_ALG_ECDSA;
	out->signature.ecdsa.hash = hash;
	out->signature.ecdsa.signatureR.size =
		(UINT16)BN_bn2bin(r, out->signature.ecdsa.signatureR.buffer);
	out->signature.ecdsa.signatureS.size =
		(UINT16)BN_bn2bin(s, out->signature.ecdsa.signatureS.buffer);
	ECDSA_SIG_free(es);
	return 0;
}

/* --- TCG EK Credential Profile (v2.5, section 2.2.1) ---------------------- */

/* PolicyA = TPM2_PolicySecret(TPM_RH_ENDORSEMENT), SHA-256 (low range). */
static const uint8_t policy_a_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};
/* PolicyB = PolicyOR(PolicyA, PolicyC) of the high range, per hash. */
static const uint8_t policy_b_sha256[32] = {
	0xca, 0x3d, 0x0a, 0x99, 0xa2, 0xb9, 0x39, 0x06, 0xf7, 0xa3, 0x34,
	0x24, 0x14, 0xef, 0xcf, 0xb3, 0xa3, 0x85, 0xd4, 0x4c, 0xd1, 0xfd,
	0x45, 0x90, 0x89, 0xd1, 0x9b, 0x50, 0x71, 0xc0, 0xb7, 0xa0,
};
static const uint8_t policy_b_sha384[48] = {
	0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82, 0xbc,
	0xf5, 0xfd, 0x3a, 0x1a, 0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3, 0xb4, 0xe4,
	0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4, 0x19, 0xca, 0xcb, 0x47, 0xba, 0x09,
	0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00, 0xf3, 0xf8, 0x0e, 0x12,
};

/* fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|
 * decrypt (0x000300b2); the high range adds userWithAuth (0x000300f2). */
#define EK_ATTRS_LOW                                                     \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |                \
	 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY | \
	 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
#define EK_ATTRS_HIGH (EK_ATTRS_LOW | TPMA_OBJECT_USERWITHAUTH)

const ek_template ek_templates[] = {
	{0x01c00002, 0x01c00003, 0x01c00004, "L-1 RSA 2048", true},
	{0x01c0000a, 0x01c0000b, 0x01c0000c, "L-2 ECC NIST P-256", true},
	{0x01c00012, 0, 0, "H-1 RSA 2048", true},
	{0x01c00014, 0, 0, "H-2 ECC NIST P-256", true},
	{0x01c00016, 0, 0, "H-3 ECC NIST P-384", true},
	{0x01c00018, 0, 0, "H-4 ECC NIST P-521", false},
	{0x01c0001a, 0, 0, "H-5 ECC SM2 P-256", false},
	{0x01c0001c, 0, 0, "H-6 RSA 3072", true},
	{0x01c0001e, 0, 0, "H-7 RSA 4096", true},
};
const size_t ek_templates_count =
	sizeof(ek_templates) / sizeof(ek_templates[0]);

const ek_template *
ek_template_find(uint32_t cert_index)
{
	size_t i;

	for (i = 0; i < ek_templates_count; i++)
		if (ek_templates[i].cert_index == cert_index)
			return &ek_templates[i];
	return NULL;
}

bool
ek_template_user_with_auth(const ek_template *t)
{
	return t->nonce_index == 0;
}

int
ek_template_public(const ek_template *t, const uint8_t *nonce, size_t nonce_len,
		   TPMT_PUBLIC *p)
{
	bool low = t->nonce_index != 0;
	bool rsa;
	unsigned bits = 0;
	uint16_t curve = 0, hash = TPM2_ALG_SHA256, aes = 128;

	memset(p, 0, sizeof(*p));
	switch (t->cert_index) {
	case 0x01c00002:
	case 0x01c00012:
		rsa = true;
		bits = 2048;
		break;
	case 0x01c0001c:
		rsa = true;
		bits = 3072;
		hash = TPM2_ALG_SHA384;
		aes = 256;
		break;
	case 0x01c0001e:
		rsa = true;
		bits = 4096;
		hash = TPM2_ALG_SHA384;
		aes = 256;
		break;
	case 0x01c0000a:
	case 0x01c00014:
		rsa = false;
		curve = TPM2_ECC_NIST_P256;
		break;
	case 0x01c00016:
		rsa = false;
		curve = TPM2_ECC_NIST_P384;
		hash = TPM2_ALG_SHA384;
		aes = 256;
		break;
	default:
		return -1;
	}
	p->nameAlg = hash;
	p->objectAttributes = low ? EK_ATTRS_LOW : EK_ATTRS_HIGH;
	if (low) {
		p->authPolicy.size = sizeof(policy_a_sha256);
		memcpy(p->authPolicy.buffer, policy_a_sha256, 32);
	} else if (hash == TPM2_ALG_SHA256) {
		p->authPolicy.size = sizeof(policy_b_sha256);
		memcpy(p->authPolicy.buffer, policy_b_sha256, 32);
	} else {
		p->authPolicy.size = sizeof(policy_b_sha384);
		memcpy(p->authPolicy.buffer, policy_b_sha384, 48);
	}
	if (rsa) {
		TPMS_RSA_PARMS *r = &p->parameters.rsaDetail;

		p->type = TPM2_ALG_RSA;
		r->symmetric.algorithm = TPM2_ALG_AES;
		r->symmetric.keyBits.aes = aes;
		r->symmetric.mode.aes = TPM2_ALG_CFB;
		r->scheme.scheme = TPM2_ALG_NULL;
		r->keyBits = (UINT16)bits;
		r->exponent = 0;
		/* Low range: 256 zero bytes; high range: empty. */
		if (low)
			p->unique.rsa.size = 256;
		if (nonce_len > p->unique.rsa.size)
			return -1;
		if (nonce_len)
			memcpy(p->unique.rsa.buffer, nonce, nonce_len);
	} else {
		TPMS_ECC_PARMS *e = &p->parameters.eccDetail;

		p->type = TPM2_ALG_ECC;
		e->symmetric.algorithm = TPM2_ALG_AES;
		e->symmetric.keyBits.aes = aes;
		e->symmetric.mode.aes = TPM2_ALG_CFB;
		e->scheme.scheme = TPM2_ALG_NULL;
		e->curveID = curve;
		e->kdf.scheme = TPM2_ALG_NULL;
		/* Low range: x and y of 32 zero bytes; high range: empty. */
		if (low) {
			p->unique.ecc.x.size = 32;
			p->unique.ecc.y.size = 32;
		}
		if (nonce_len > p->unique.ecc.x.size)
			return -1;
		if (nonce_len)
			memcpy(p->unique.ecc.x.buffer, nonce, nonce_len);
	}
	return 0;
}
