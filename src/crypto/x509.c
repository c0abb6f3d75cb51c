/* X.509 certificates and PKCS#10 requests over OpenSSL 3, signed by a
 * callback (the TPM).
 *
 * Signing without an EVP_PKEY that holds the private key: OpenSSL builds
 * the to-be-signed part (CertificationRequestInfo, TBSCertificate) from
 * its ordinary builders; we encode it, hash it, let the callback sign, and
 * put the three parts together:
 *
 *   CertificationRequest / Certificate ::= SEQUENCE {
 *       tbs                 CertificationRequestInfo / TBSCertificate,
 *       signatureAlgorithm  AlgorithmIdentifier,
 *       signature           BIT STRING }        -- RFC 2986 4.2, RFC 5280 4.1
 *
 * A TBSCertificate names the signature algorithm inside itself too
 * (tbsCertificate.signature, which must equal the outer one); OpenSSL 3
 * has no setter for it, so we write it through the pointer
 * X509_get0_tbs_sigalg() returns (the certificate's own field). The result
 * is parsed again and verified with the public key before it is returned,
 * so a wrong signature never leaves this file. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/rsapad.h"
#include "crypto/x509.h"

#define X509_SIG_MAX 512

static void
x509_err(char *err, size_t errlen, const char *fmt, const char *arg)
{
	unsigned long e = ERR_peek_last_error();
	char ossl[256] = "";
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	snprintf(err, errlen, fmt, arg ? arg : "");
	if (e != 0) {
		ERR_error_string_n(e, ossl, sizeof(ossl));
		n = strlen(err);
		snprintf(err + n, errlen - n, " (%s)",
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e)
						    : ossl);
	}
	ERR_clear_error();
}

/* --- keys ------------------------------------------------------------- */

static const char *
x509_curve_group(ec_curve c)
{
	switch (c) {
	case CURVE_P256:
		return "P-256";
	case CURVE_P384:
		return "P-384";
	default:
		return NULL;
	}
}

/* An EVP_PKEY holding only the public key. */
static EVP_PKEY *
x509_key_pkey(const x509_key *k)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t pt[1 + 2 * EC_MAX_FIELD_LEN];
	size_t fl;
	const char *group;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (k->kind == X509_KEY_EC) {
		if ((group = x509_curve_group(k->curve)) == NULL)
			goto out;
		fl = ec_field_len(k->curve);
		pt[0] = 0x04;
		memcpy(pt + 1, k->x, fl);
		memcpy(pt + 1 + fl, k->y, fl);
		if (!OSSL_PARAM_BLD_push_utf8_string(
			    bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(
			    bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * fl))
			goto out;
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (k->kind == X509_KEY_RSA) {
		if ((n = BN_bin2bn(k->n, (int)k->n_len, NULL)) == NULL ||
		    (e = BN_new()) == NULL || !BN_set_word(e, k->e) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		goto out;
	}
	if (pctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pctx);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* "EC P-256", "RSA 2048", ... for messages. */
static void
x509_pkey_describe(EVP_PKEY *p, char *out, size_t cap)
{
	char group[64] = "";

	if (p == NULL) {
		snprintf(out, cap, "no key");
	} else if (EVP_PKEY_is_a(p, "EC")) {
		const char *nist = NULL;

		if (EVP_PKEY_get_utf8_string_param(p,
						   OSSL_PKEY_PARAM_GROUP_NAME,
						   group, sizeof(group), NULL))
			nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(out, cap, "EC %s",
			 nist       ? nist
			 : group[0] ? group
				    : "?");
	} else if (EVP_PKEY_is_a(p, "RSA")) {
		snprintf(out, cap, "RSA %d", EVP_PKEY_get_bits(p));
	} else {
		snprintf(out, cap, "%s",
			 EVP_PKEY_get0_type_name(p) ? EVP_PKEY_get0_type_name(p)
						    : "unknown");
	}
}

/* --- reading certificates ------------------------------------------------ */

static char *
x509_name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	long n;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

/* CK_DATE (8 ASCII digits, no terminator) and time_t of an ASN1_TIME. */
static int
x509_time(const ASN1_TIME *at, char date[8], time_t *t)
{
	struct tm tm;
	char buf[16];

	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(at, &tm))
		return -1;
	if (snprintf(buf, sizeof(buf), "%04d%02d%02d", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday) != 8)
		return -1;
	memcpy(date, buf, 8);
	*t = timegm(&tm);
	return 0;
}

static int
x509_i2d_dup(int len, uint8_t *tmp, uint8_t **out, size_t *outlen)
{
	if (len <= 0 || tmp == NULL)
		return -1;
	*out = tmp;
	*outlen = (size_t)len;
	return 0;
}

static int
x509_cert_fill(X509 *x, x509_cert *c)
{
	uint8_t *tmp = NULL, sha1[20];
	int len;

	len = i2d_X509(x, &tmp);
	if (x509_i2d_dup(len, tmp, &c->der, &c->der_len) != 0)
		return -1;
	tmp = NULL;
	len = i2d_X509_NAME(X509_get_subject_name(x), &tmp);
	if (x509_i2d_dup(len, tmp, &c->subject, &c->subject_len) != 0)
		return -1;
	tmp = NULL;
	len = i2d_X509_NAME(X509_get_issuer_name(x), &tmp);
	if (x509_i2d_dup(len, tmp, &c->issuer, &c->issuer_len) != 0)
		return -1;
	tmp = NULL;
	len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &tmp);
	if (x509_i2d_dup(len, tmp, &c->serial, &c->serial_len) != 0)
		return -1;
	/* v2.40 4.6.3: the first three bytes of the SHA-1 hash of CKA_VALUE */
	if (hash_digest(HASH_SHA1, c->der, c->der_len, sha1) != 0)
		return -1;
	memcpy(c->check_value, sha1, 3);
	if (x509_time(X509_get0_notBefore(x), c->start_date, &c->not_before) !=
		    0 ||
	    x509_time(X509_get0_notAfter(x), c->end_date, &c->not_after) != 0)
		return -1;
	c->subject_str = x509_name_text(X509_get_subject_name(x));
	c->issuer_str = x509_name_text(X509_get_issuer_name(x));
	if (c->subject_str == NULL || c->issuer_str == NULL)
		return -1;
	c->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	c->self_issued = X509_NAME_cmp(X509_get_subject_name(x),
				       X509_get_issuer_name(x)) == 0;
	return 0;
}

static X509 *
x509_read(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	static const char pem_tag[] = "-----BEGIN CERTIFICATE-----";
	const unsigned char *p = data;
	X509 *x = NULL;
	BIO *b;

	if (len > 0x7fffffff) {
		x509_err(err, errlen, "the certificate file is too large",
			 NULL);
		return NULL;
	}
	if (memmem(data, len, pem_tag, sizeof(pem_tag) - 1) != NULL) {
		if ((b = BIO_new_mem_buf(data, (int)len)) == NULL)
			return NULL;
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		if (x == NULL)
			x509_err(err, errlen,
				 "the PEM certificate does not "
				 "parse",
				 NULL);
		return x;
	}
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		x509_err(err, errlen,
			 "PEM data but no \"-----BEGIN "
			 "CERTIFICATE-----\" block (a request or a key?)",
			 NULL);
		return NULL;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		x509_err(err, errlen, "neither a PEM nor a DER certificate",
			 NULL);
		return NULL;
	}
	if (p != data + len) {
		X509_free(x);
		x509_err(err, errlen, "bytes after the DER certificate", NULL);
		return NULL;
	}
	return x;
}

int
x509_cert_parse(const uint8_t *data, size_t len, x509_cert *out, char *err,
		size_t errlen)
{
	X509 *x;

	memset(out, 0, sizeof(*out));
	if ((x = x509_read(data, len, err, errlen)) == NULL)
		return -1;
	if (x509_cert_fill(x, out) != 0) {
		x509_err(err, errlen,
			 "cannot encode the certificate's "
			 "attributes",
			 NULL);
		x509_cert_clear(out);
		X509_free(x);
		return -1;
	}
	X509_free(x);
	return 0;
}

void
x509_cert_clear(x509_cert *c)
{
	if (c == NULL)
		return;
	OPENSSL_free(c->der);
	OPENSSL_free(c->subject);
	OPENSSL_free(c->issuer);
	OPENSSL_free(c->serial);
	free(c->subject_str);
	free(c->issuer_str);
	memset(c, 0, sizeof(*c));
}

int
x509_cert_matches_key(const x509_cert *c, const x509_key *key, char *err,
		      size_t errlen)
{
	const unsigned char *p = c->der;
	X509 *x = d2i_X509(NULL, &p, (long)c->der_len);
	EVP_PKEY *cp = NULL, *kp = NULL;
	char cd[64], kd[64], msg[256];
	int r = -1;

	if (x == NULL || (cp = X509_get0_pubkey(x)) == NULL) {
		x509_err(err, errlen,
			 "the certificate's public key does not "
			 "parse",
			 NULL);
		goto out;
	}
	if ((kp = x509_key_pkey(key)) == NULL) {
		x509_err(err, errlen,
			 "the token key's public part is not "
			 "usable",
			 NULL);
		goto out;
	}
	if (EVP_PKEY_eq(cp, kp) == 1) {
		r = 1;
	} else {
		x509_pkey_describe(cp, cd, sizeof(cd));
		x509_pkey_describe(kp, kd, sizeof(kd));
		if (strcmp(cd, kd) == 0)
			snprintf(msg, sizeof(msg),
				 "the certificate is for "
				 "another %s key than the token key",
				 cd);
		else
			snprintf(msg, sizeof(msg),
				 "the certificate's key is "
				 "%s, the token key is %s",
				 cd, kd);
		ERR_clear_error();
		x509_err(err, errlen, "%s", msg);
		r = 0;
	}
out:
	EVP_PKEY_free(kp);
	X509_free(x);
	return r;
}

char *
x509_cert_pem(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	BIO *b = NULL;
	char *s = NULL, *m;
	long n;

	if (x == NULL || (b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, x))
		goto out;
	if ((n = BIO_get_mem_data(b, &m)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, m, (size_t)n);
		s[n] = '\0';
	}
out:
	BIO_free(b);
	X509_free(x);
	return s;
}

/* --- names and extensions ------------------------------------------------ */

/* "/CN=alice/O=Example" (the form of `openssl req -subj`): '/' separates
 * attributes, "\/" and "\\" are a literal '/' and '\'. Types are OpenSSL's
 * short or long names or dotted OIDs; values are UTF-8. */
static X509_NAME *
x509_parse_subject(const char *s, char *err, size_t errlen)
{
	X509_NAME *name = X509_NAME_new();
	size_t len = strlen(s), i = 1, o;
	char *buf = malloc(len + 1), *eq;

	if (name == NULL || buf == NULL)
		goto fail;
	if (s[0] != '/') {
		x509_err(err, errlen,
			 "--subject starts with '/', as in "
			 "\"/CN=alice/O=Example\"",
			 NULL);
		goto fail;
	}
	while (i < len) {
		o = 0;
		while (i < len && s[i] != '/') {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			buf[o++] = s[i++];
		}
		i++; /* the '/' */
		buf[o] = '\0';
		if ((eq = strchr(buf, '=')) == NULL || eq == buf ||
		    eq[1] == '\0') {
			x509_err(err, errlen,
				 "--subject: \"%s\" is not "
				 "TYPE=VALUE",
				 buf);
			goto fail;
		}
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(name, buf, MBSTRING_UTF8,
						(const unsigned char *)eq + 1,
						-1, -1, 0)) {
			x509_err(err, errlen,
				 "--subject: attribute type "
				 "\"%s\" unknown or value invalid",
				 buf);
			goto fail;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		x509_err(err, errlen, "--subject is empty", NULL);
		goto fail;
	}
	free(buf);
	return name;
fail:
	free(buf);
	X509_NAME_free(name);
	return NULL;
}

/* The extensions of a request or certificate, from spec; ctx tells
 * OpenSSL about the subject (email:copy, subject key identifier). */
static STACK_OF(X509_EXTENSION) * x509_make_exts(const x509_spec *spec,
						 X509V3_CTX *ctx, bool cert,
						 char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	const struct {
		int nid;
		const char *value;
		const char *flag;
	} want[] = {
		{NID_basic_constraints, cert ? "critical,CA:FALSE" : NULL,
		 NULL},
		{NID_key_usage,
		 spec->key_usage ? spec->key_usage
				 : "critical,digitalSignature",
		 "--key-usage"},
		{NID_ext_key_usage, spec->eku ? spec->eku : "clientAuth",
		 "--eku"},
		{NID_subject_alt_name, spec->san, "--san"},
		{NID_subject_key_identifier, cert ? "hash" : NULL, NULL},
	};
	size_t i;

	if (exts == NULL)
		return NULL;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		X509_EXTENSION *e;

		if (want[i].value == NULL || want[i].value[0] == '\0' ||
		    strcmp(want[i].value, "none") == 0)
			continue;
		e = X509V3_EXT_nconf_nid(NULL, ctx, want[i].nid, want[i].value);
		if (e == NULL) {
			char what[400];

			snprintf(what, sizeof(what),
				 "%s \"%.200s\" is not "
				 "understood (OpenSSL's x509v3_config syntax)",
				 want[i].flag ? want[i].flag : "extension",
				 want[i].value);
			x509_err(err, errlen, "%s", what);
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
			return NULL;
		}
		if (!sk_X509_EXTENSION_push(exts, e)) {
			X509_EXTENSION_free(e);
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
			return NULL;
		}
	}
	return exts;
}

/* --- signing ----------------------------------------------------------- */

/* RFC 4055 3.1 RSASSA-PSS-params for SHA-256, MGF1-SHA-256, salt 32 (the
 * trailer field takes its default):
 *   30 41 06 09 <id-RSASSA-PSS 1.2.840.113549.1.1.10>
 *         30 34 a0 0f 30 0d 06 09 <sha256 2.16.840.1.101.3.4.2.1> 05 00
 *               a1 1c 30 1a 06 09 <id-mgf1 1.2.840.113549.1.1.8>
 *                           30 0d 06 09 <sha256> 05 00
 *               a2 03 02 01 20 */
static const uint8_t x509_alg_pss_sha256[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
	0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
};

static hash_algo
x509_sig_hash(const x509_signer *s)
{
	if (s->scheme == X509_SIG_ECDSA)
		return s->key.curve == CURVE_P384 ? HASH_SHA384 : HASH_SHA256;
	return HASH_SHA256;
}

/* The AlgorithmIdentifier of the signature: ecdsa-with-SHA256/384 with
 * absent parameters (RFC 5758 3.2), sha256WithRSAEncryption with NULL
 * parameters (RFC 4055 5), or RSASSA-PSS with the parameters above. */
static X509_ALGOR *
x509_sig_alg(const x509_signer *s)
{
	const unsigned char *p = x509_alg_pss_sha256;
	X509_ALGOR *alg;
	int nid;

	switch (s->scheme) {
	case X509_SIG_ECDSA:
		if (s->key.kind != X509_KEY_EC)
			return NULL;
		nid = s->key.curve == CURVE_P384 ? NID_ecdsa_with_SHA384
						 : NID_ecdsa_with_SHA256;
		if ((alg = X509_ALGOR_new()) != NULL &&
		    !X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_UNDEF,
				     NULL)) {
			X509_ALGOR_free(alg);
			alg = NULL;
		}
		return alg;
	case X509_SIG_RSA_PKCS1:
		if (s->key.kind != X509_KEY_RSA)
			return NULL;
		if ((alg = X509_ALGOR_new()) != NULL &&
		    !X509_ALGOR_set0(alg,
				     OBJ_nid2obj(NID_sha256WithRSAEncryption),
				     V_ASN1_NULL, NULL)) {
			X509_ALGOR_free(alg);
			alg = NULL;
		}
		return alg;
	case X509_SIG_RSA_PSS:
		if (s->key.kind != X509_KEY_RSA)
			return NULL;
		return d2i_X509_ALGOR(NULL, &p, sizeof(x509_alg_pss_sha256));
	}
	return NULL;
}

/* Signs tbs through the callback; the BIT STRING content (X.509's
 * signatureValue) goes to sig. ECDSA: DER Ecdsa-Sig-Value (RFC 5758 3.2)
 * from the callback's r||s. RSA: the block is EMSA-PKCS1-v1_5 or
 * EMSA-PSS, built here; the callback does the raw private operation. */
static int
x509_sign_tbs(const x509_signer *s, const uint8_t *tbs, size_t tbs_len,
	      uint8_t **sig, size_t *sig_len, char *err, size_t errlen)
{
	hash_algo h = x509_sig_hash(s);
	uint8_t dig[HASH_MAX_LEN], block[X509_SIG_MAX], out[X509_SIG_MAX];
	uint8_t di[128], *der = NULL;
	size_t dlen = hash_len(h), outlen = 0, dilen, modlen, fl;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *sv = NULL, *n = NULL;
	int len, ret = -1;
	unsigned modbits;

	if (hash_digest(h, tbs, tbs_len, dig) != 0)
		goto out;
	if (s->scheme == X509_SIG_ECDSA) {
		fl = ec_field_len(s->key.curve);
		if (s->sign(s->ctx, dig, dlen, out, &outlen) != 0) {
			x509_err(err, errlen, "the key did not sign", NULL);
			goto out;
		}
		if (outlen != 2 * fl)
			goto bad;
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(out, (int)fl, NULL)) == NULL ||
		    (sv = BN_bin2bn(out + fl, (int)fl, NULL)) == NULL ||
		    !ECDSA_SIG_set0(es, r, sv))
			goto out;
		r = sv = NULL; /* owned by es */
		if ((len = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		*sig = der;
		*sig_len = (size_t)len;
		ret = 0;
		goto out;
	}
	if ((n = BN_bin2bn(s->key.n, (int)s->key.n_len, NULL)) == NULL)
		goto out;
	modbits = (unsigned)BN_num_bits(n);
	modlen = (modbits + 7) / 8;
	if (modlen > sizeof(block) || modlen < 128)
		goto bad;
	if (s->scheme == X509_SIG_RSA_PKCS1) {
		if (rsa_digestinfo(h, dig, di, sizeof(di), &dilen) != 0 ||
		    rsa_pkcs1_sig_pad(di, dilen, block, modlen) != 0)
			goto out;
	} else {
		if (rsa_pss_encode(h, h, dlen, dig, modbits, block) != 0)
			goto out;
	}
	if (s->sign(s->ctx, block, modlen, out, &outlen) != 0) {
		x509_err(err, errlen, "the key did not sign", NULL);
		goto out;
	}
	if (outlen != modlen)
		goto bad;
	if ((*sig = OPENSSL_malloc(modlen)) == NULL)
		goto out;
	memcpy(*sig, out, modlen);
	*sig_len = modlen;
	ret = 0;
	goto out;
bad:
	x509_err(err, errlen, "the signature has an unexpected length", NULL);
out:
	if (ret != 0 && err && err[0] == '\0')
		x509_err(err, errlen, "cannot make the signature", NULL);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(sv);
	BN_free(n);
	OPENSSL_cleanse(block, sizeof(block));
	return ret;
}

/* A BIT STRING of whole bytes. Without ASN1_STRING_FLAG_BITS_LEFT,
 * OpenSSL's encoder drops trailing zero bytes (it takes the string as a
 * list of named bits): a signature ending in 00 would be cut. */
static ASN1_BIT_STRING *
x509_bitstring(const uint8_t *data, size_t len)
{
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();

	if (bs == NULL ||
	    !ASN1_BIT_STRING_set(bs, (unsigned char *)data, (int)len)) {
		ASN1_BIT_STRING_free(bs);
		return NULL;
	}
	bs->flags &= ~0x07;
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	return bs;
}

/* SEQUENCE { tbs, alg, BIT STRING sig }, the shape of both a
 * CertificationRequest and a Certificate. */
static int
x509_assemble(const uint8_t *tbs, size_t tbs_len, const X509_ALGOR *alg,
	      const uint8_t *sig, size_t sig_len, uint8_t **out,
	      size_t *out_len)
{
	ASN1_BIT_STRING *bs = x509_bitstring(sig, sig_len);
	uint8_t *algder = NULL, *bsder = NULL, *buf = NULL, *p;
	int alen, blen, total, ret = -1;
	size_t body;

	if (bs == NULL)
		return -1;
	if ((alen = i2d_X509_ALGOR(alg, &algder)) <= 0 ||
	    (blen = i2d_ASN1_BIT_STRING(bs, &bsder)) <= 0)
		goto out;
	body = tbs_len + (size_t)alen + (size_t)blen;
	if (body > 0x7fffffff)
		goto out;
	total = ASN1_object_size(1, (int)body, V_ASN1_SEQUENCE);
	if (total <= 0 || (buf = OPENSSL_malloc((size_t)total)) == NULL)
		goto out;
	p = buf;
	ASN1_put_object(&p, 1, (int)body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, tbs, tbs_len);
	p += tbs_len;
	memcpy(p, algder, (size_t)alen);
	p += alen;
	memcpy(p, bsder, (size_t)blen);
	*out = buf;
	*out_len = (size_t)total;
	ret = 0;
out:
	ASN1_BIT_STRING_free(bs);
	OPENSSL_free(algder);
	OPENSSL_free(bsder);
	return ret;
}

static bool
x509_signer_ok(const x509_signer *s)
{
	if (s == NULL || s->sign == NULL)
		return false;
	if (s->key.kind == X509_KEY_EC)
		return s->scheme == X509_SIG_ECDSA &&
		       x509_curve_group(s->key.curve) != NULL;
	if (s->key.kind == X509_KEY_RSA)
		return (s->scheme == X509_SIG_RSA_PKCS1 ||
			s->scheme == X509_SIG_RSA_PSS) &&
		       s->key.n_len > 0;
	return false;
}

/* The start of x509_make_csr and x509_make_selfsigned: a signer that can
 * sign its scheme, the subject parsed, the key's public part. On error
 * err says why and nothing is left to free. */
static int
x509_begin(const x509_spec *spec, const x509_signer *signer, X509_NAME **name,
	   EVP_PKEY **pkey, char *err, size_t errlen)
{
	*name = NULL;
	*pkey = NULL;
	if (!x509_signer_ok(signer)) {
		x509_err(err, errlen, "this key type cannot sign that way",
			 NULL);
		return -1;
	}
	if ((*name = x509_parse_subject(spec->subject ? spec->subject : "", err,
					errlen)) == NULL)
		return -1;
	if ((*pkey = x509_key_pkey(&signer->key)) == NULL) {
		x509_err(err, errlen, "the key's public part is not usable",
			 NULL);
		X509_NAME_free(*name);
		*name = NULL;
		return -1;
	}
	return 0;
}

/* Signs the DER tbs with signer and assembles the signed structure
 * (SEQUENCE { tbs, alg, signature }) into *der (OPENSSL_free). On a
 * signing error err says why; on other errors it is left empty. */
static int
x509_sign_assemble(const x509_signer *signer, const uint8_t *tbs, int tbs_len,
		   const X509_ALGOR *alg, uint8_t **der, size_t *der_len,
		   char *err, size_t errlen)
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int ret;

	if (tbs_len <= 0)
		return -1;
	if (x509_sign_tbs(signer, tbs, (size_t)tbs_len, &sig, &sig_len, err,
			  errlen) != 0)
		return -1;
	ret = x509_assemble(tbs, (size_t)tbs_len, alg, sig, sig_len, der,
			    der_len);
	OPENSSL_free(sig);
	return ret;
}

int
x509_make_csr(const x509_spec *spec, const x509_signer *signer, char **pem,
	      char *err, size_t errlen)
{
	X509_REQ *req = NULL, *done = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pkey = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_ALGOR *alg = NULL;
	X509V3_CTX ctx;
	uint8_t *tbs = NULL, *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	int tbs_len, ret = -1;
	BIO *b = NULL;
	char *m;
	long n;

	if (err && errlen)
		err[0] = '\0';
	*pem = NULL;
	ERR_clear_error();
	if (x509_begin(spec, signer, &name, &pkey, err, errlen) != 0)
		return -1;
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, pkey))
		goto fail;
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	if ((exts = x509_make_exts(spec, &ctx, false, err, errlen)) == NULL)
		goto out;
	if (sk_X509_EXTENSION_num(exts) > 0 &&
	    !X509_REQ_add_extensions(req, exts))
		goto fail;
	if ((alg = x509_sig_alg(signer)) == NULL ||
	    !X509_REQ_set1_signature_algo(req, alg))
		goto fail;
	/* RFC 2986 4.2: the signature covers CertificationRequestInfo. */
	tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
	if (x509_sign_assemble(signer, tbs, tbs_len, alg, &der, &der_len, err,
			       errlen) != 0)
		goto fail;
	p = der;
	if ((done = d2i_X509_REQ(NULL, &p, (long)der_len)) == NULL)
		goto fail;
	if (X509_REQ_verify(done, pkey) != 1) {
		x509_err(err, errlen,
			 "the request's signature does not verify "
			 "with the key's public part",
			 NULL);
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(b, done) ||
	    (n = BIO_get_mem_data(b, &m)) <= 0 ||
	    (*pem = malloc((size_t)n + 1)) == NULL)
		goto fail;
	memcpy(*pem, m, (size_t)n);
	(*pem)[n] = '\0';
	ret = 0;
	goto out;
fail:
	if (err && errlen && err[0] == '\0')
		x509_err(err, errlen, "cannot build the request", NULL);
out:
	BIO_free(b);
	X509_REQ_free(done);
	X509_REQ_free(req);
	X509_NAME_free(name);
	EVP_PKEY_free(pkey);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	return ret;
}

/* A positive 128-bit serial (RFC 5280 4.1.2.2: at most 20 octets; random,
 * because NSS takes two certificates with one issuer and serial as one). */
static int
x509_random_serial(X509 *x)
{
	uint8_t r[16];
	BIGNUM *bn = NULL;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f;
	r[0] |= 0x40;
	ok = (bn = BN_bin2bn(r, sizeof(r), NULL)) != NULL &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

int
x509_make_selfsigned(const x509_spec *spec, const x509_signer *signer,
		     uint8_t **der_out, size_t *der_len_out, char *err,
		     size_t errlen)
{
	X509 *x = NULL, *done = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pkey = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_ALGOR *alg = NULL, *tbs_alg;
	X509V3_CTX ctx;
	uint8_t *tbs = NULL, *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	int tbs_len, i, ret = -1;

	if (err && errlen)
		err[0] = '\0';
	*der_out = NULL;
	ERR_clear_error();
	if (spec->days == 0 || spec->days > 36500) {
		x509_err(err, errlen, "--days is 1 to 36500", NULL);
		return -1;
	}
	if (x509_begin(spec, signer, &name, &pkey, err, errlen) != 0)
		return -1;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    x509_random_serial(x) != 0 || !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, name) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)spec->days, 0, NULL) ==
		    NULL ||
	    !X509_set_pubkey(x, pkey))
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509V3_set_ctx_nodb(&ctx);
	if ((exts = x509_make_exts(spec, &ctx, true, err, errlen)) == NULL)
		goto out;
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		if (!X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1))
			goto fail;
	if ((alg = x509_sig_alg(signer)) == NULL)
		goto fail;
	/* RFC 5280 4.1.1.2: tbsCertificate.signature equals the outer
	 * signatureAlgorithm. The pointer is the certificate's own field. */
	tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	if (tbs_alg == NULL || !X509_ALGOR_copy(tbs_alg, alg))
		goto fail;
	tbs_len = i2d_re_X509_tbs(x, &tbs);
	if (x509_sign_assemble(signer, tbs, tbs_len, alg, &der, &der_len, err,
			       errlen) != 0)
		goto fail;
	p = der;
	if ((done = d2i_X509(NULL, &p, (long)der_len)) == NULL)
		goto fail;
	if (X509_verify(done, pkey) != 1) {
		x509_err(err, errlen,
			 "the certificate's signature does not "
			 "verify with the key's public part",
			 NULL);
		goto out;
	}
	/* the caller frees with free() */
	if ((*der_out = malloc(der_len)) == NULL)
		goto fail;
	memcpy(*der_out, der, der_len);
	*der_len_out = der_len;
	ret = 0;
	goto out;
fail:
	if (err && errlen && err[0] == '\0')
		x509_err(err, errlen, "cannot build the certificate", NULL);
out:
	X509_free(done);
	X509_free(x);
	X509_NAME_free(name);
	EVP_PKEY_free(pkey);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	return ret;
}
