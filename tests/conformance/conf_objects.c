/* Conformance checks of object management (conf.h; the cases run from the
 * table in conformance.c): C_CreateObject, C_CopyObject, C_DestroyObject,
 * C_FindObjects*, C_GetObjectSize, C_GetAttributeValue's cases,
 * C_SetAttributeValue, attribute latching, key extraction and
 * C_WrapKey. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "conf.h"

/* A session data object; private or not, token or session object. */
CK_RV
create_data(CK_SESSION_HANDLE s, const char *label, bool token, bool priv,
	    CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	static const char app[] = "tpm11 conformance";
	static const unsigned char val[] = "conformance data value";
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)(priv ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_APPLICATION, (void *)app, sizeof(app) - 1 },
		{ CKA_VALUE, (void *)val, sizeof(val) - 1 },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

/* === 4. objects (v2.40 4, 5.7) ============================================ */

/* A self-signed X.509 certificate made by OpenSSL, DER, with its subject,
 * issuer and serial number. */
struct cert {
	unsigned char der[2048], subject[512], issuer[512], serial[64];
	size_t der_len, subject_len, issuer_len, serial_len;
};

static bool
make_cert(struct cert *c)
{
	EVP_PKEY *pk = gen_openssl_key("EC", "P-256", 0);
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *p;
	int n;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	if (pk == NULL || x == NULL || name == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5eed);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"tpm11 conformance",
				   -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
	X509_set_pubkey(x, pk);
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > sizeof(c->der))
		goto out;
	p = c->der;
	c->der_len = (size_t)i2d_X509(x, &p);
	n = i2d_X509_NAME(X509_get_subject_name(x), NULL);
	if (n <= 0 || (size_t)n > sizeof(c->subject))
		goto out;
	p = c->subject;
	c->subject_len = (size_t)i2d_X509_NAME(X509_get_subject_name(x), &p);
	p = c->issuer;
	c->issuer_len = (size_t)i2d_X509_NAME(X509_get_issuer_name(x), &p);
	p = c->serial;
	c->serial_len =
		(size_t)i2d_ASN1_INTEGER(X509_get_serialNumber(x), &p);
	ok = true;
out:
	if (!ok)
		diag_openssl();
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok;
}

static CK_RV
create_cert(CK_SESSION_HANDLE s, const struct cert *c, const char *label,
	    bool token, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	static const unsigned char id[] = { 0xce, 0x57 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&no, sizeof(no) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, sizeof(id) },
		{ CKA_SUBJECT, (void *)c->subject, c->subject_len },
		{ CKA_ISSUER, (void *)c->issuer, c->issuer_len },
		{ CKA_SERIAL_NUMBER, (void *)c->serial, c->serial_len },
		{ CKA_VALUE, (void *)c->der, c->der_len },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

/* A secret key object with a known value. */
CK_RV
create_secret(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const unsigned char *val,
	      size_t len, const char *label, bool token, bool sensitive,
	      bool extractable, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, (void *)&yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SENSITIVE, (void *)(sensitive ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, (void *)(extractable ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_VALUE, (void *)val, len },
		{ CKA_ENCRYPT, (void *)(kt == CKK_AES ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_DECRYPT, (void *)(kt == CKK_AES ? &yes : &no),
		  sizeof(CK_BBOOL) },
		{ CKA_SIGN, (void *)(kt == CKK_AES ? &no : &yes),
		  sizeof(CK_BBOOL) },
		{ CKA_VERIFY, (void *)(kt == CKK_AES ? &no : &yes),
		  sizeof(CK_BBOOL) },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

static CK_RV
create_ec_public(CK_SESSION_HANDLE s, EVP_PKEY *pk, const struct curve *c,
		 const char *label, bool token, bool wrap, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	unsigned char pt[200], der[210];
	size_t ptlen = ec_point_of(pk, pt, sizeof(pt));
	size_t derlen = der_octet_string(pt, ptlen, der);
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)c->oid, c->oid_len },
		{ CKA_EC_POINT, der, derlen },
		{ CKA_WRAP, (void *)(wrap ? &yes : &no), sizeof(CK_BBOOL) },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

CK_RV
create_rsa_public(CK_SESSION_HANDLE s, EVP_PKEY *pk, const char *label,
		  bool token, bool wrap, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_RSA;
	unsigned char n[1024], e[16];
	size_t nl = bn_param(pk, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n));
	size_t el = bn_param(pk, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e));
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, (void *)(token ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_WRAP, (void *)(wrap ? &yes : &no), sizeof(CK_BBOOL) },
		{ CKA_MODULUS, n, nl },
		{ CKA_PUBLIC_EXPONENT, e, el },
	};

	*h = CK_INVALID_HANDLE;
	return p11->C_CreateObject(s, t, NELEM(t), h);
}

static bool secret_create_ok;       /* C_CreateObject takes secret keys */

/* The rules every newly created key object follows (v3.0 5.7). */
void
check_created_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what,
		  bool secret_or_private)
{
	CK_ULONG mech = 0;

	tap(bool_is(s, h, CKA_LOCAL, CK_FALSE),
	    "C_CreateObject: %s has CKA_LOCAL false", what);
	if (!tap(get_ulong(s, h, CKA_KEY_GEN_MECHANISM, &mech) &&
			 mech == CK_UNAVAILABLE_INFORMATION,
		 "C_CreateObject: %s has CKA_KEY_GEN_MECHANISM "
		 "CK_UNAVAILABLE_INFORMATION (not generated)", what))
		diag("CKA_KEY_GEN_MECHANISM 0x%lx", (unsigned long)mech);
	if (secret_or_private) {
		tap(bool_is(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE) &&
			    bool_is(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		    "C_CreateObject: %s has CKA_ALWAYS_SENSITIVE and "
		    "CKA_NEVER_EXTRACTABLE false (v3.0 5.7)", what);
	}
}

/* Issue 13 item 3: a readable (non-sensitive) session secret key keeps
 * its value in its attributes; copied to a token object it would reach
 * the store in clear, readable without login when CKA_PRIVATE is false.
 * The copy must be refused, and the value must be nowhere in the store's
 * files. */
static bool
file_holds(const char *path, const void *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long len;
	bool found = false;

	if (f == NULL)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len)) != NULL &&
	    fread(buf, 1, (size_t)len, f) == (size_t)len)
		found = memmem(buf, (size_t)len, needle, n) != NULL;
	free(buf);
	fclose(f);
	return found;
}

static void
copy_readable_secret(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		     const void *value, size_t n)
{
	static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_TOKEN, (void *)&yes, sizeof(yes) },
		{ CKA_PRIVATE, (void *)&no, sizeof(no) },
	};
	const char *dir = getenv("TPM11_STORE");
	char path[1024];
	CK_OBJECT_HANDLE copy = 0;
	CK_RV rv;

	rv = p11->C_CopyObject(s, key, t, 2, &copy);
	tap(rv != CKR_OK,
	    "C_CopyObject: a readable session secret key to a public token "
	    "object is refused (got %s)", rv_name(rv));
	if (dir == NULL) {
		tap_skip("TPM11_STORE is not set", "the store holds no secret key value");
		if (rv == CKR_OK)
			p11->C_DestroyObject(s, copy);
		return;
	}
	snprintf(path, sizeof(path), "%s/tpm11.sqlite3", dir);
	tap(!file_holds(path, value, n),
	    "C_CopyObject: the secret key's value is not in the store's database");
	snprintf(path, sizeof(path), "%s/tpm11.sqlite3-wal", dir);
	tap(!file_holds(path, value, n),
	    "C_CopyObject: the secret key's value is not in the store's WAL");
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, copy);
}

void
test_objects(void)
{
	CK_SESSION_HANDLE s = user_session(true), pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE cert = 0, data = 0, pdata = 0, ec = 0, rsa = 0, aes = 0;
	CK_OBJECT_HANDLE h = 0, copy = 0;
	struct cert c;
	char lbl[64], buf[256], dlabel[64];
	CK_ULONG ul = 0;
	CK_RV rv;
	pid_t pid = getpid();

	if (!tap(s != CK_INVALID_HANDLE, "objects: a read/write user session"))
		return;
	open_session(slot, 0, &pub);

	/* Certificate, token object, with a real DER certificate. */
	if (!tap(make_cert(&c), "set-up: OpenSSL makes a DER certificate"))
		goto out;
	snprintf(lbl, sizeof(lbl), "conf-cert-%ld", (long)pid);
	rv = create_cert(s, &c, lbl, true, &cert);
	expect_rv(rv, CKR_OK, "C_CreateObject: X.509 certificate, token "
			      "object -> CKR_OK");
	if (rv == CKR_OK) {
		CK_ULONG cat = 99;

		tap(attr_equals(s, cert, CKA_VALUE, c.der, c.der_len),
		    "C_GetAttributeValue: the certificate's CKA_VALUE is the "
		    "DER given");
		tap(attr_equals(s, cert, CKA_SUBJECT, c.subject, c.subject_len),
		    "C_GetAttributeValue: the certificate's CKA_SUBJECT");
		{
			/* v2.40 4.6.3-4.6.4, filled in from the DER by the
			 * builder the tool's addcert uses too */
			unsigned char sha[SHA_DIGEST_LENGTH], *sd = NULL,
							      *ed = NULL;
			CK_ULONG sl = 0, el = 0;

			SHA1(c.der, c.der_len, sha);
			tap(attr_equals(s, cert, CKA_ISSUER, c.issuer,
					c.issuer_len) &&
				    attr_equals(s, cert, CKA_SERIAL_NUMBER,
						c.serial, c.serial_len),
			    "C_GetAttributeValue: CKA_ISSUER and "
			    "CKA_SERIAL_NUMBER come from the DER");
			tap(attr_equals(s, cert, CKA_CHECK_VALUE, sha, 3),
			    "C_GetAttributeValue: CKA_CHECK_VALUE is the first "
			    "3 bytes of SHA-1 of the DER");
			tap(get_attr_alloc(s, cert, CKA_START_DATE, &sd, &sl) ==
					    CKR_OK && sl == 8 &&
				    get_attr_alloc(s, cert, CKA_END_DATE, &ed,
						   &el) == CKR_OK && el == 8 &&
				    memcmp(sd, ed, 8) < 0,
			    "C_GetAttributeValue: CKA_START_DATE and "
			    "CKA_END_DATE are the validity's dates (YYYYMMDD)");
			free(sd);
			free(ed);
			tap(get_ulong(s, cert, CKA_NAME_HASH_ALGORITHM, &ul) &&
				    ul == CKM_SHA_1,
			    "C_GetAttributeValue: CKA_NAME_HASH_ALGORITHM is "
			    "CKM_SHA_1 (the default)");
		}
		tap(get_ulong(s, cert, CKA_CERTIFICATE_TYPE, &ul) &&
			    ul == CKC_X_509,
		    "C_GetAttributeValue: CKA_CERTIFICATE_TYPE is CKC_X_509");
		tap(bool_is(s, cert, CKA_TOKEN, CK_TRUE) &&
			    bool_is(s, cert, CKA_PRIVATE, CK_FALSE) &&
			    bool_is(s, cert, CKA_MODIFIABLE, CK_TRUE),
		    "C_GetAttributeValue: the certificate is a public, "
		    "modifiable token object");
		tap(bool_is(s, cert, CKA_TRUSTED, CK_FALSE),
		    "C_GetAttributeValue: CKA_TRUSTED defaults to false");
		if (!tap(get_ulong(s, cert, CKA_CERTIFICATE_CATEGORY, &cat) &&
				 cat == 0,
			 "C_GetAttributeValue: CKA_CERTIFICATE_CATEGORY "
			 "defaults to 0 (unspecified)"))
			diag("category %lu", (unsigned long)cat);
		if (pub != CK_INVALID_HANDLE)
			tap(count_label(pub, CKO_CERTIFICATE, lbl) == 1,
			    "C_FindObjects: the public certificate is visible "
			    "without login");
	}
	{
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE ct = CKC_X_509;
		CK_ATTRIBUTE novalue[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
		};
		CK_ATTRIBUTE notype[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
			{ CKA_VALUE, c.der, c.der_len },
		};
		CK_ATTRIBUTE trusted[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_SUBJECT, c.subject, c.subject_len },
			{ CKA_VALUE, c.der, c.der_len },
			{ CKA_TRUSTED, (void *)&yes, sizeof(yes) },
		};
		CK_ATTRIBUTE noclass[] = {
			{ CKA_VALUE, c.der, c.der_len },
			{ CKA_LABEL, "x", 1 },
		};

		expect_rv(p11->C_CreateObject(s, novalue, 3, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: certificate without CKA_VALUE -> "
			  "CKR_TEMPLATE_INCOMPLETE");
		expect_rv(p11->C_CreateObject(s, notype, 3, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: certificate without "
			  "CKA_CERTIFICATE_TYPE -> CKR_TEMPLATE_INCOMPLETE");
		expect_rv(p11->C_CreateObject(s, noclass, 2, &h),
			  CKR_TEMPLATE_INCOMPLETE,
			  "C_CreateObject: no CKA_CLASS -> "
			  "CKR_TEMPLATE_INCOMPLETE");
		rv = p11->C_CreateObject(s, trusted, 5, &h);
		if (!tap(rv != CKR_OK, "C_CreateObject: CKA_TRUSTED true by the "
				       "normal user is refused (only the SO "
				       "may set it)")) {
			p11->C_DestroyObject(s, h);
		} else {
			diag("returned %s", rv_name(rv));
		}
	}

	/* Data objects. */
	snprintf(dlabel, sizeof(dlabel), "conf-data-%ld", (long)pid);
	rv = create_data(s, dlabel, true, false, &data);
	expect_rv(rv, CKR_OK, "C_CreateObject: data object, public token "
			      "object -> CKR_OK");
	if (rv == CKR_OK) {
		static const unsigned char nv[] = "changed value";

		tap(attr_equals(s, data, CKA_VALUE, "conformance data value",
				22) &&
			    attr_equals(s, data, CKA_APPLICATION,
					"tpm11 conformance", 17),
		    "C_GetAttributeValue: the data object's CKA_VALUE and "
		    "CKA_APPLICATION");
		expect_rv(set_attr(s, data, CKA_VALUE, nv, sizeof(nv) - 1),
			  CKR_OK,
			  "C_SetAttributeValue: a data object's CKA_VALUE -> "
			  "CKR_OK");
		tap(attr_equals(s, data, CKA_VALUE, nv, sizeof(nv) - 1),
		    "C_SetAttributeValue: the new CKA_VALUE reads back");
	}
	snprintf(buf, sizeof(buf), "conf-pdata-%ld", (long)pid);
	rv = create_data(s, buf, true, true, &pdata);
	expect_rv(rv, CKR_OK, "C_CreateObject: data object, private token "
			      "object -> CKR_OK");
	if (rv == CKR_OK && pub != CK_INVALID_HANDLE) {
		p11->C_Logout(s);
		tap(count_label(pub, CKO_DATA, buf) == 0,
		    "C_FindObjects: a private token object is invisible when "
		    "logged out");
		expect_rv(get_attr(pub, pdata, CKA_LABEL, lbl, sizeof(lbl), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_GetAttributeValue: a private object's handle is "
			  "invalid when logged out");
		conf_login(s, CKU_USER, user_pin);
		pdata = find_one(s, CKO_DATA, buf);
		tap(pdata != CK_INVALID_HANDLE,
		    "C_FindObjects: the private token object is visible again "
		    "after login");
	}

	/* Public keys from OpenSSL, verified through the module. */
	{
		EVP_PKEY *ek = gen_openssl_key("EC", "P-256", 0);
		EVP_PKEY *rk = gen_openssl_key("RSA", NULL, 2048);
		unsigned char dg[32], sig[512];
		size_t sl;
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };

		snprintf(lbl, sizeof(lbl), "conf-ecpub-%ld", (long)pid);
		rv = ek ? create_ec_public(s, ek, curve_by_bits(256), lbl, false,
					   false, &ec)
			: CKR_GENERAL_ERROR;
		expect_rv(rv, CKR_OK, "C_CreateObject: EC P-256 public key, "
				      "session object -> CKR_OK");
		if (rv == CKR_OK) {
			check_created_key(s, ec, "an EC public key", false);
			digest(EVP_sha256(), "verify me", 9, dg);
			sl = ecdsa_sign_raw(ek, dg, 32, sig);
			rv = p11->C_VerifyInit(s, &m, ec);
			if (rv == CKR_OK)
				rv = p11->C_Verify(s, dg, 32, sig, sl);
			expect_rv(rv, CKR_OK, "C_Verify: CKM_ECDSA with an "
					      "imported EC public key accepts "
					      "OpenSSL's signature");
			sig[5] ^= 1;
			rv = p11->C_VerifyInit(s, &m, ec);
			if (rv == CKR_OK)
				rv = p11->C_Verify(s, dg, 32, sig, sl);
			expect_rv(rv, CKR_SIGNATURE_INVALID,
				  "C_Verify: a changed signature -> "
				  "CKR_SIGNATURE_INVALID");
		}
		snprintf(lbl, sizeof(lbl), "conf-rsapub-%ld", (long)pid);
		rv = rk ? create_rsa_public(s, rk, lbl, true, false, &rsa)
			: CKR_GENERAL_ERROR;
		expect_rv(rv, CKR_OK, "C_CreateObject: RSA 2048 public key, "
				      "token object -> CKR_OK");
		if (rv == CKR_OK) {
			EVP_MD_CTX *mc = EVP_MD_CTX_new();
			CK_MECHANISM m2 = { CKM_SHA256_RSA_PKCS, NULL, 0 };

			check_created_key(s, rsa, "an RSA public key", false);
			if (!tap(get_ulong(s, rsa, CKA_MODULUS_BITS, &ul) &&
					 ul == 2048,
				 "C_GetAttributeValue: CKA_MODULUS_BITS of an "
				 "imported RSA key is 2048"))
				diag("CKA_MODULUS_BITS %lu", (unsigned long)ul);
			sl = sizeof(sig);
			if (mc && EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL,
						     rk) == 1 &&
			    EVP_DigestSign(mc, sig, &sl,
					   (const unsigned char *)"verify me",
					   9) == 1) {
				rv = p11->C_VerifyInit(s, &m2, rsa);
				if (rv == CKR_OK)
					rv = p11->C_Verify(
						s, (CK_BYTE *)"verify me", 9,
						sig, sl);
				expect_rv(rv, CKR_OK,
					  "C_Verify: CKM_SHA256_RSA_PKCS with an "
					  "imported RSA public key accepts "
					  "OpenSSL's signature");
			}
			EVP_MD_CTX_free(mc);
		}
		EVP_PKEY_free(ek);
		EVP_PKEY_free(rk);
	}

	/* Secret keys. */
	{
		static const unsigned char k16[16] = "0123456789abcdef";
		static const unsigned char k32[32] =
			"0123456789abcdef0123456789abcdef";
		CK_OBJECT_HANDLE t1 = 0, t2 = 0, bad = 0;

		snprintf(lbl, sizeof(lbl), "conf-aes-%ld", (long)pid);
		rv = create_secret(s, CKK_AES, k16, 16, lbl, false, false, true,
				   &aes);
		secret_create_ok = rv == CKR_OK;
		expect_rv(rv, CKR_OK, "C_CreateObject: AES-128 secret key, "
				      "session object, not sensitive -> CKR_OK");
		if (rv == CKR_OK) {
			tap(get_ulong(s, aes, CKA_VALUE_LEN, &ul) && ul == 16,
			    "C_GetAttributeValue: CKA_VALUE_LEN of the AES key "
			    "is 16");
			tap(attr_equals(s, aes, CKA_VALUE, k16, 16),
			    "C_GetAttributeValue: a non-sensitive, extractable "
			    "secret key's CKA_VALUE is readable");
			check_created_key(s, aes, "an AES key", true);
			copy_readable_secret(s, aes, k16, sizeof(k16));
		}
		rv = create_secret(s, CKK_AES, k16, 16, lbl, true, true, false,
				   &t1);
		expect_rv(rv, CKR_OK, "C_CreateObject: AES-128 secret key, "
				      "token object, sensitive -> CKR_OK");
		if (rv == CKR_OK) {
			CK_ATTRIBUTE a = { CKA_VALUE, buf, sizeof(buf) };

			rv = p11->C_GetAttributeValue(s, t1, &a, 1);
			tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
				    a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			    "C_GetAttributeValue: a sensitive key's CKA_VALUE "
			    "-> CKR_ATTRIBUTE_SENSITIVE, length "
			    "CK_UNAVAILABLE_INFORMATION");
			p11->C_DestroyObject(s, t1);
		}
		rv = create_secret(s, CKK_GENERIC_SECRET, k32, 32, lbl, false,
				   true, false, &t2);
		expect_rv(rv, CKR_OK, "C_CreateObject: generic secret key "
				      "(32 bytes), session object -> CKR_OK");
		if (rv == CKR_OK)
			p11->C_DestroyObject(s, t2);
		expect_rv(create_secret(s, CKK_AES, k16, 15, lbl, false, false,
					true, &bad),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: an AES key of 15 bytes -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
	}

	/* Template errors (v2.40 4.1.1). */
	{
		CK_OBJECT_CLASS cls = CKO_DATA, badcls = 0x7fff0000UL;
		CK_BYTE small = 0;
		CK_ULONG four = 1;
		unsigned char uid[] = "x";
		CK_ATTRIBUTE bogus[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ BOGUS_ATTRIBUTE, "x", 1 },
		};
		CK_ATTRIBUTE badval[] = { { CKA_CLASS, &badcls, sizeof(badcls) } };
		CK_ATTRIBUTE badlen[] = { { CKA_CLASS, &small, 1 } };
		CK_ATTRIBUTE badbool[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_TOKEN, &four, sizeof(four) },
		};
		CK_ATTRIBUTE ronly[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_UNIQUE_ID, uid, 1 },
		};

		expect_rv(p11->C_CreateObject(s, bogus, 2, &h),
			  CKR_ATTRIBUTE_TYPE_INVALID,
			  "C_CreateObject: an unknown attribute type -> "
			  "CKR_ATTRIBUTE_TYPE_INVALID");
		expect_rv(p11->C_CreateObject(s, badval, 1, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: an unknown CKA_CLASS value -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, badlen, 1, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: CKA_CLASS of 1 byte -> "
			  "CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, badbool, 2, &h),
			  CKR_ATTRIBUTE_VALUE_INVALID,
			  "C_CreateObject: CK_BBOOL CKA_TOKEN of sizeof(CK_ULONG) "
			  "bytes -> CKR_ATTRIBUTE_VALUE_INVALID");
		expect_rv(p11->C_CreateObject(s, ronly, 2, &h),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_CreateObject: CKA_UNIQUE_ID given -> "
			  "CKR_ATTRIBUTE_READ_ONLY (v3.0 4.4.1)");
		expect_rv(p11->C_CreateObject(s, NULL, 1, &h), CKR_ARGUMENTS_BAD,
			  "C_CreateObject: NULL template -> CKR_ARGUMENTS_BAD");
		if (secret_create_ok) {
			static const unsigned char k16[16] = "0123456789abcdef";
			CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
			CK_KEY_TYPE kt = CKK_AES;
			CK_ATTRIBUTE local[] = {
				{ CKA_CLASS, &sc, sizeof(sc) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_VALUE, (void *)k16, 16 },
				{ CKA_LOCAL, (void *)&yes, sizeof(yes) },
			};
			CK_ATTRIBUTE asens[] = {
				{ CKA_CLASS, &sc, sizeof(sc) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
				{ CKA_VALUE, (void *)k16, 16 },
				{ CKA_ALWAYS_SENSITIVE, (void *)&yes,
				  sizeof(yes) },
			};

			expect_rv(p11->C_CreateObject(s, local, 4, &h),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_CreateObject: CKA_LOCAL given -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
			expect_rv(p11->C_CreateObject(s, asens, 4, &h),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_CreateObject: CKA_ALWAYS_SENSITIVE given -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
		}
	}

	/* CKA_UNIQUE_ID (v3.0 4.4.1). */
	if (data && cert) {
		unsigned char *u1 = NULL, *u2 = NULL;
		CK_ULONG l1 = 0, l2 = 0;
		CK_RV r1 = get_attr_alloc(s, data, CKA_UNIQUE_ID, &u1, &l1);
		CK_RV r2 = get_attr_alloc(s, cert, CKA_UNIQUE_ID, &u2, &l2);

		if (!tap(r1 == CKR_OK && r2 == CKR_OK && l1 > 0 && l2 > 0 &&
				 (l1 != l2 || memcmp(u1, u2, l1) != 0),
			 "C_GetAttributeValue: every object has a CKA_UNIQUE_ID, "
			 "different between objects (v3.0 4.4.1)"))
			diag("%s / %s", rv_name(r1), rv_name(r2));
		if (r1 == CKR_OK)
			expect_rv(set_attr(s, data, CKA_UNIQUE_ID, "zz", 2),
				  CKR_ATTRIBUTE_READ_ONLY,
				  "C_SetAttributeValue: CKA_UNIQUE_ID -> "
				  "CKR_ATTRIBUTE_READ_ONLY");
		free(u1);
		free(u2);
	}

	/* C_GetObjectSize. */
	if (data) {
		rv = p11->C_GetObjectSize(s, data, &ul);
		if (!tap((rv == CKR_OK && ul > 0) ||
				 rv == CKR_INFORMATION_SENSITIVE,
			 "C_GetObjectSize: a data object -> CKR_OK with a size "
			 "(or CKR_INFORMATION_SENSITIVE)"))
			diag("%s, size %lu", rv_name(rv), (unsigned long)ul);
	}
	if (keys[K_P256].ok) {
		refresh_keys(s);
		rv = p11->C_GetObjectSize(s, keys[K_P256].priv, &ul);
		if (!tap(rv == CKR_OK || rv == CKR_INFORMATION_SENSITIVE,
			 "C_GetObjectSize: a TPM private key -> CKR_OK or "
			 "CKR_INFORMATION_SENSITIVE"))
			diag("%s", rv_name(rv));
	}
	expect_rv(p11->C_GetObjectSize(s, BOGUS_HANDLE, &ul),
		  CKR_OBJECT_HANDLE_INVALID,
		  "C_GetObjectSize: unknown handle -> CKR_OBJECT_HANDLE_INVALID");
	if (data)
		expect_rv(p11->C_GetObjectSize(s, data, NULL), CKR_ARGUMENTS_BAD,
			  "C_GetObjectSize: NULL -> CKR_ARGUMENTS_BAD");

	/* C_SetAttributeValue: what may change and what may not. */
	if (cert) {
		static const unsigned char nid[] = { 1, 2, 3, 4 };
		CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;

		snprintf(lbl, sizeof(lbl), "conf-cert-new-%ld", (long)pid);
		expect_rv(set_attr(s, cert, CKA_LABEL, lbl, strlen(lbl)), CKR_OK,
			  "C_SetAttributeValue: CKA_LABEL -> CKR_OK");
		expect_rv(set_attr(s, cert, CKA_ID, nid, sizeof(nid)), CKR_OK,
			  "C_SetAttributeValue: CKA_ID -> CKR_OK");
		if (open_session(slot, 0, &s2) == CKR_OK) {
			h = find_one(s2, CKO_CERTIFICATE, lbl);
			tap(h != CK_INVALID_HANDLE &&
				    attr_equals(s2, h, CKA_ID, nid, sizeof(nid)),
			    "C_SetAttributeValue: the new CKA_LABEL and CKA_ID "
			    "of a token object are seen by another session");
			p11->C_CloseSession(s2);
		}
		ul = CKO_DATA;
		expect_rv(set_attr(s, cert, CKA_CLASS, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_CLASS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		ul = 1;
		expect_rv(set_attr(s, cert, CKA_CERTIFICATE_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_CERTIFICATE_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_bool(s, cert, CKA_TOKEN, CK_FALSE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_TOKEN -> "
			  "CKR_ATTRIBUTE_READ_ONLY (only C_CopyObject may change "
			  "it)");
		expect_rv(set_bool(s, cert, CKA_PRIVATE, CK_TRUE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_PRIVATE -> "
			  "CKR_ATTRIBUTE_READ_ONLY (only C_CopyObject may change "
			  "it)");
		expect_rv(set_attr(s, cert, BOGUS_ATTRIBUTE, "x", 1),
			  CKR_ATTRIBUTE_TYPE_INVALID,
			  "C_SetAttributeValue: an unknown attribute -> "
			  "CKR_ATTRIBUTE_TYPE_INVALID");
		expect_rv(set_attr(s, BOGUS_HANDLE, CKA_LABEL, "x", 1),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_SetAttributeValue: unknown handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
	}
	if (aes) {
		ul = CKK_GENERIC_SECRET;
		expect_rv(set_attr(s, aes, CKA_KEY_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_KEY_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_bool(s, aes, CKA_LOCAL, CK_TRUE),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_LOCAL -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (ec) {
		expect_rv(set_attr(s, ec, CKA_EC_PARAMS, oid_p384,
				   sizeof(oid_p384)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_EC_PARAMS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (rsa) {
		unsigned char one = 1;

		expect_rv(set_attr(s, rsa, CKA_MODULUS, &one, 1),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: CKA_MODULUS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}
	if (keys[K_P256].ok) {
		CK_OBJECT_HANDLE pk = find_one(s, CKO_PRIVATE_KEY, "p256");

		expect_rv(set_attr(s, pk, CKA_LABEL, "p256-renamed", 12), CKR_OK,
			  "C_SetAttributeValue: CKA_LABEL of a TPM private key "
			  "-> CKR_OK");
		set_attr(s, pk, CKA_LABEL, "p256", 4);
		tap(find_one(s, CKO_PRIVATE_KEY, "p256") == pk,
		    "C_SetAttributeValue: the TPM key's label is back");
		ul = CKK_RSA;
		expect_rv(set_attr(s, pk, CKA_KEY_TYPE, &ul, sizeof(ul)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: a TPM key's CKA_KEY_TYPE -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
		expect_rv(set_attr(s, pk, CKA_EC_PARAMS, oid_p384,
				   sizeof(oid_p384)),
			  CKR_ATTRIBUTE_READ_ONLY,
			  "C_SetAttributeValue: a TPM key's CKA_EC_PARAMS -> "
			  "CKR_ATTRIBUTE_READ_ONLY");
	}

	/* CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE false. */
	{
		CK_OBJECT_CLASS cls = CKO_DATA;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_LABEL, "conf-fixed", 10 },
			{ CKA_MODIFIABLE, (void *)&no, sizeof(no) },
			{ CKA_COPYABLE, (void *)&no, sizeof(no) },
			{ CKA_DESTROYABLE, (void *)&no, sizeof(no) },
		};

		rv = p11->C_CreateObject(s, t, NELEM(t), &h);
		expect_rv(rv, CKR_OK, "C_CreateObject: a data object with "
				      "CKA_MODIFIABLE, CKA_COPYABLE and "
				      "CKA_DESTROYABLE false -> CKR_OK");
		if (rv == CKR_OK) {
			EXPECT_IN(set_attr(s, h, CKA_LABEL, "x", 1),
				  "C_SetAttributeValue: an object with "
				  "CKA_MODIFIABLE false -> CKR_ACTION_PROHIBITED "
				  "(v3.0) or CKR_ATTRIBUTE_READ_ONLY (v2.40)",
				  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY);
			expect_rv(p11->C_CopyObject(s, h, NULL, 0, &copy),
				  CKR_ACTION_PROHIBITED,
				  "C_CopyObject: an object with CKA_COPYABLE "
				  "false -> CKR_ACTION_PROHIBITED");
			expect_rv(p11->C_DestroyObject(s, h),
				  CKR_ACTION_PROHIBITED,
				  "C_DestroyObject: an object with "
				  "CKA_DESTROYABLE false -> "
				  "CKR_ACTION_PROHIBITED");
		}
	}

	/* C_CopyObject. */
	if (data) {
		CK_ATTRIBUTE t[] = {
			{ CKA_LABEL, "conf-copy", 9 },
			{ CKA_TOKEN, (void *)&no, sizeof(no) },
		};
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_ATTRIBUTE tc[] = { { CKA_CLASS, &cls, sizeof(cls) } };

		rv = p11->C_CopyObject(s, data, t, 2, &copy);
		expect_rv(rv, CKR_OK, "C_CopyObject: a token data object to a "
				      "session object with a new label -> "
				      "CKR_OK");
		if (rv == CKR_OK) {
			tap(copy != data && bool_is(s, copy, CKA_TOKEN, CK_FALSE) &&
				    attr_equals(s, copy, CKA_LABEL, "conf-copy",
						9) &&
				    attr_equals(s, copy, CKA_VALUE,
						"changed value", 13),
			    "C_CopyObject: the copy is a new session object with "
			    "the new label and the original's value");
			tap(attr_equals(s, data, CKA_LABEL, dlabel,
					strlen(dlabel)),
			    "C_CopyObject: the original keeps its label");
			p11->C_DestroyObject(s, copy);
		}
		EXPECT_IN(p11->C_CopyObject(s, data, tc, 1, &copy),
			  "C_CopyObject: changing CKA_CLASS -> "
			  "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT",
			  CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT);
		expect_rv(p11->C_CopyObject(s, BOGUS_HANDLE, NULL, 0, &copy),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_CopyObject: unknown handle -> "
			  "CKR_OBJECT_HANDLE_INVALID");
	}
	if (ec) {
		CK_ATTRIBUTE t[] = { { CKA_TOKEN, (void *)&yes, sizeof(yes) } };

		rv = p11->C_CopyObject(s, ec, t, 1, &copy);
		expect_rv(rv, CKR_OK, "C_CopyObject: a session public key to a "
				      "token object -> CKR_OK");
		if (rv == CKR_OK) {
			CK_SESSION_HANDLE s2;

			tap(bool_is(s, copy, CKA_TOKEN, CK_TRUE),
			    "C_CopyObject: the copy is a token object");
			if (open_session(slot, 0, &s2) == CKR_OK) {
				snprintf(lbl, sizeof(lbl), "conf-ecpub-%ld",
					 (long)pid);
				tap(count_label(s2, CKO_PUBLIC_KEY, lbl) == 2,
				    "C_FindObjects: another session sees the "
				    "original and the token copy");
				p11->C_CloseSession(s2);
			}
			p11->C_DestroyObject(s, copy);
		}
	}

	/* C_DestroyObject. */
	if (cert) {
		CK_SESSION_HANDLE s2;

		expect_rv(p11->C_DestroyObject(s, cert), CKR_OK,
			  "C_DestroyObject: the certificate -> CKR_OK");
		snprintf(lbl, sizeof(lbl), "conf-cert-new-%ld", (long)pid);
		if (open_session(slot, 0, &s2) == CKR_OK) {
			tap(count_label(s2, CKO_CERTIFICATE, lbl) == 0,
			    "C_DestroyObject: the token object is gone for "
			    "other sessions");
			p11->C_CloseSession(s2);
		}
		expect_rv(get_attr(s, cert, CKA_LABEL, buf, sizeof(buf), NULL),
			  CKR_OBJECT_HANDLE_INVALID,
			  "C_DestroyObject: the handle is invalid afterwards");
	}
	expect_rv(p11->C_DestroyObject(s, BOGUS_HANDLE), CKR_OBJECT_HANDLE_INVALID,
		  "C_DestroyObject: unknown handle -> CKR_OBJECT_HANDLE_INVALID");
	if (data)
		p11->C_DestroyObject(s, data);
	if (pdata)
		p11->C_DestroyObject(s, pdata);
	if (rsa)
		p11->C_DestroyObject(s, rsa);
out:
	p11->C_CloseAllSessions(slot);
}

/* === 5. C_GetAttributeValue's cases (v2.40 5.7) ========================== */

void
test_get_attribute(void)
{
	CK_SESSION_HANDLE s = user_session(false);
	CK_OBJECT_HANDLE pk, pub;
	char label[64];
	unsigned char value[128], tiny[1], big[64];
	CK_BBOOL sign = 0;
	CK_ATTRIBUTE t[6];
	CK_RV rv;

	if (s == CK_INVALID_HANDLE || !keys[K_P256].ok) {
		tap(false, "C_GetAttributeValue: a user session and key p256");
		goto out;
	}
	refresh_keys(s);
	pk = keys[K_P256].priv;
	pub = keys[K_P256].pub;

	memset(label, 0, sizeof(label));
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	t[1] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
	t[2] = (CK_ATTRIBUTE){ BOGUS_ATTRIBUTE, big, sizeof(big) };
	t[3] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, tiny, sizeof(tiny) };
	t[4] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, NULL, 0 };
	t[5] = (CK_ATTRIBUTE){ CKA_SIGN, &sign, sizeof(sign) };
	rv = p11->C_GetAttributeValue(s, pk, t, 6);
	EXPECT_IN(rv, "C_GetAttributeValue: sensitive, invalid, too-small and "
		      "good attributes at once -> CKR_ATTRIBUTE_SENSITIVE, "
		      "CKR_ATTRIBUTE_TYPE_INVALID or CKR_BUFFER_TOO_SMALL",
		  CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID,
		  CKR_BUFFER_TOO_SMALL);
	if (!tap(t[0].ulValueLen == 4 && memcmp(label, "p256", 4) == 0,
		 "C_GetAttributeValue: mixed call: CKA_LABEL is still filled"))
		diag("length %lu", (unsigned long)t[0].ulValueLen);
	tap(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the sensitive CKA_VALUE has "
	    "length CK_UNAVAILABLE_INFORMATION");
	tap(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the invalid attribute has length "
	    "CK_UNAVAILABLE_INFORMATION");
	tap(t[3].ulValueLen == CK_UNAVAILABLE_INFORMATION,
	    "C_GetAttributeValue: mixed call: the too-small CKA_EC_PARAMS has "
	    "length CK_UNAVAILABLE_INFORMATION");
	if (!tap(t[4].ulValueLen == sizeof(CK_KEY_TYPE),
		 "C_GetAttributeValue: mixed call: NULL pValue gives "
		 "CKA_KEY_TYPE's exact length"))
		diag("length %lu", (unsigned long)t[4].ulValueLen);
	tap(t[5].ulValueLen == 1 && sign == CK_TRUE,
	    "C_GetAttributeValue: mixed call: CKA_SIGN is still filled (true)");

	t[0] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
	rv = p11->C_GetAttributeValue(s, pk, t, 1);
	expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE,
		  "C_GetAttributeValue: an EC private key's CKA_VALUE -> "
		  "CKR_ATTRIBUTE_SENSITIVE");
	t[0] = (CK_ATTRIBUTE){ BOGUS_ATTRIBUTE, big, sizeof(big) };
	expect_rv(p11->C_GetAttributeValue(s, pk, t, 1),
		  CKR_ATTRIBUTE_TYPE_INVALID,
		  "C_GetAttributeValue: an unknown attribute -> "
		  "CKR_ATTRIBUTE_TYPE_INVALID");
	t[0] = (CK_ATTRIBUTE){ CKA_MODULUS, big, sizeof(big) };
	expect_rv(p11->C_GetAttributeValue(s, pub, t, 1),
		  CKR_ATTRIBUTE_TYPE_INVALID,
		  "C_GetAttributeValue: CKA_MODULUS of an EC key -> "
		  "CKR_ATTRIBUTE_TYPE_INVALID");
	t[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, tiny, sizeof(tiny) };
	expect_rv(p11->C_GetAttributeValue(s, pub, t, 1), CKR_BUFFER_TOO_SMALL,
		  "C_GetAttributeValue: a buffer too small -> "
		  "CKR_BUFFER_TOO_SMALL");
	t[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, NULL, 0 };
	t[1] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	rv = p11->C_GetAttributeValue(s, pub, t, 2);
	if (!tap(rv == CKR_OK && t[0].ulValueLen == sizeof(oid_p256) &&
			 t[1].ulValueLen == 4,
		 "C_GetAttributeValue: NULL pValue and a big enough buffer -> "
		 "CKR_OK with exact lengths"))
		diag("%s, lengths %lu %lu", rv_name(rv),
		     (unsigned long)t[0].ulValueLen,
		     (unsigned long)t[1].ulValueLen);
	expect_rv(p11->C_GetAttributeValue(s, BOGUS_HANDLE, t, 1),
		  CKR_OBJECT_HANDLE_INVALID,
		  "C_GetAttributeValue: unknown handle -> "
		  "CKR_OBJECT_HANDLE_INVALID");
	expect_rv(p11->C_GetAttributeValue(s, pub, NULL, 1), CKR_ARGUMENTS_BAD,
		  "C_GetAttributeValue: NULL template -> CKR_ARGUMENTS_BAD");
	if (keys[K_RSA].ok) {
		CK_ATTRIBUTE r[] = {
			{ CKA_PRIVATE_EXPONENT, NULL, 0 },
			{ CKA_PRIME_1, NULL, 0 },
			{ CKA_MODULUS, NULL, 0 },
		};

		rv = p11->C_GetAttributeValue(s, keys[K_RSA].priv, r, 3);
		tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
			    r[0].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
			    r[1].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
			    r[2].ulValueLen > 0 &&
			    r[2].ulValueLen != CK_UNAVAILABLE_INFORMATION,
		    "C_GetAttributeValue: an RSA private key: "
		    "CKA_PRIVATE_EXPONENT and CKA_PRIME_1 sensitive, "
		    "CKA_MODULUS readable");
	}
	/* The attributes every private key has. */
	{
		CK_BBOOL b[6];
		CK_ATTRIBUTE a[] = {
			{ CKA_SENSITIVE, &b[0], 1 },
			{ CKA_EXTRACTABLE, &b[1], 1 },
			{ CKA_ALWAYS_SENSITIVE, &b[2], 1 },
			{ CKA_NEVER_EXTRACTABLE, &b[3], 1 },
			{ CKA_LOCAL, &b[4], 1 },
			{ CKA_PRIVATE, &b[5], 1 },
		};

		rv = p11->C_GetAttributeValue(s, pk, a, NELEM(a));
		if (!tap(rv == CKR_OK && b[0] && !b[1] && b[2] && b[3] && b[4] &&
				 b[5],
			 "C_GetAttributeValue: a TPM key made in the TPM is "
			 "sensitive, not extractable, always sensitive, never "
			 "extractable, local and private"))
			diag("%s: %d %d %d %d %d %d", rv_name(rv), b[0], b[1],
			     b[2], b[3], b[4], b[5]);
	}
out:
	p11->C_CloseAllSessions(slot);
}

/* === 6. latching and key extraction (v2.40 4.1.2, 4.9, 5.18) ============= */

static void
latch_rules(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what)
{
	expect_rv(set_bool(s, h, CKA_SENSITIVE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_SENSITIVE true -> false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	tap(bool_is(s, h, CKA_SENSITIVE, CK_TRUE),
	    "C_SetAttributeValue: %s: CKA_SENSITIVE is still true", what);
	expect_rv(set_bool(s, h, CKA_EXTRACTABLE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_EXTRACTABLE false -> true -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	tap(bool_is(s, h, CKA_EXTRACTABLE, CK_FALSE),
	    "C_SetAttributeValue: %s: CKA_EXTRACTABLE is still false", what);
	expect_rv(set_bool(s, h, CKA_ALWAYS_SENSITIVE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_ALWAYS_SENSITIVE -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_ALWAYS_SENSITIVE false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_NEVER_EXTRACTABLE, CK_TRUE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_NEVER_EXTRACTABLE -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
	expect_rv(set_bool(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		  CKR_ATTRIBUTE_READ_ONLY,
		  "C_SetAttributeValue: %s: CKA_NEVER_EXTRACTABLE false -> "
		  "CKR_ATTRIBUTE_READ_ONLY", what);
}

/* Copies must not relax CKA_SENSITIVE / CKA_EXTRACTABLE. */
static void
copy_rules(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const char *what)
{
	CK_ATTRIBUTE ts[] = { { CKA_SENSITIVE, (void *)&no, sizeof(no) } };
	CK_ATTRIBUTE te[] = { { CKA_EXTRACTABLE, (void *)&yes, sizeof(yes) } };
	CK_OBJECT_HANDLE c = CK_INVALID_HANDLE;
	char name[300];
	CK_RV rv;

	rv = p11->C_CopyObject(s, h, ts, 1, &c);
	snprintf(name, sizeof(name),
		 "C_CopyObject: %s: a copy cannot be non-sensitive -> "
		 "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT (or "
		 "CKR_ACTION_PROHIBITED if not copyable)", what);
	if (!EXPECT_IN(rv, name, CKR_ATTRIBUTE_READ_ONLY,
		       CKR_TEMPLATE_INCONSISTENT, CKR_ACTION_PROHIBITED) &&
	    rv == CKR_OK)
		p11->C_DestroyObject(s, c);
	rv = p11->C_CopyObject(s, h, te, 1, &c);
	snprintf(name, sizeof(name),
		 "C_CopyObject: %s: a copy cannot be extractable -> "
		 "CKR_ATTRIBUTE_READ_ONLY or CKR_TEMPLATE_INCONSISTENT (or "
		 "CKR_ACTION_PROHIBITED if not copyable)", what);
	if (!EXPECT_IN(rv, name, CKR_ATTRIBUTE_READ_ONLY,
		       CKR_TEMPLATE_INCONSISTENT, CKR_ACTION_PROHIBITED) &&
	    rv == CKR_OK)
		p11->C_DestroyObject(s, c);
	if (rv == CKR_ACTION_PROHIBITED)
		tap(bool_is(s, h, CKA_COPYABLE, CK_FALSE),
		    "C_CopyObject: %s: CKR_ACTION_PROHIBITED only with "
		    "CKA_COPYABLE false", what);
}

void
test_latching(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	static const unsigned char k16[16] = "latch-key-16byte";
	static const unsigned char k32[32] = "a wrapping key of 32 bytes......";
	CK_OBJECT_HANDLE h = 0, c = 0, wk = 0;
	unsigned char wrapped[4096];
	CK_ULONG wl;
	CK_RV rv;

	if (s == CK_INVALID_HANDLE) {
		tap(false, "latching: a read/write user session");
		return;
	}
	refresh_keys(s);
	/* A secret key that starts non-sensitive and extractable. */
	rv = create_secret(s, CKK_AES, k16, 16, "conf-latch", false, false, true,
			   &h);
	if (expect_rv(rv, CKR_OK, "C_CreateObject: a non-sensitive, extractable "
				  "AES session key for the latching rules")) {
		CK_ATTRIBUTE ts[] = { { CKA_SENSITIVE, (void *)&yes, 1 } };
		CK_ATTRIBUTE tx[] = { { CKA_EXTRACTABLE, (void *)&no, 1 } };

		/* Copies may strengthen, and the history stays true. */
		rv = p11->C_CopyObject(s, h, ts, 1, &c);
		if (expect_rv(rv, CKR_OK, "C_CopyObject: CKA_SENSITIVE false -> "
					  "true in the copy -> CKR_OK")) {
			tap(bool_is(s, c, CKA_SENSITIVE, CK_TRUE) &&
				    bool_is(s, c, CKA_ALWAYS_SENSITIVE,
					    CK_FALSE),
			    "C_CopyObject: the copy is sensitive, and its "
			    "CKA_ALWAYS_SENSITIVE is the original's (false)");
			p11->C_DestroyObject(s, c);
		}
		rv = p11->C_CopyObject(s, h, tx, 1, &c);
		if (expect_rv(rv, CKR_OK, "C_CopyObject: CKA_EXTRACTABLE true -> "
					  "false in the copy -> CKR_OK")) {
			tap(bool_is(s, c, CKA_EXTRACTABLE, CK_FALSE) &&
				    bool_is(s, c, CKA_NEVER_EXTRACTABLE,
					    CK_FALSE),
			    "C_CopyObject: the copy is not extractable, and "
			    "CKA_NEVER_EXTRACTABLE is false");
			p11->C_DestroyObject(s, c);
		}
		expect_rv(set_bool(s, h, CKA_SENSITIVE, CK_TRUE), CKR_OK,
			  "C_SetAttributeValue: CKA_SENSITIVE false -> true -> "
			  "CKR_OK");
		{
			unsigned char v[32];
			CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof(v) };

			rv = p11->C_GetAttributeValue(s, h, &a, 1);
			tap(rv == CKR_ATTRIBUTE_SENSITIVE &&
				    a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			    "C_GetAttributeValue: CKA_VALUE is hidden once "
			    "CKA_SENSITIVE is true");
		}
		expect_rv(set_bool(s, h, CKA_EXTRACTABLE, CK_FALSE), CKR_OK,
			  "C_SetAttributeValue: CKA_EXTRACTABLE true -> false -> "
			  "CKR_OK");
		tap(bool_is(s, h, CKA_ALWAYS_SENSITIVE, CK_FALSE) &&
			    bool_is(s, h, CKA_NEVER_EXTRACTABLE, CK_FALSE),
		    "C_GetAttributeValue: CKA_ALWAYS_SENSITIVE and "
		    "CKA_NEVER_EXTRACTABLE stay false (the key was once "
		    "exposed)");
		latch_rules(s, h, "a latched AES key");
		copy_rules(s, h, "a latched AES key");
	}
	if (keys[K_P256].ok) {
		latch_rules(s, keys[K_P256].priv, "a TPM EC private key");
		copy_rules(s, keys[K_P256].priv, "a TPM EC private key");
	}
	if (keys[K_RSA].ok)
		latch_rules(s, keys[K_RSA].priv, "a TPM RSA private key");

	/* Wrapping a non-extractable key. */
	rv = create_secret(s, CKK_AES, k32, 32, "conf-wrapper", false, true,
			   false, &wk);
	if (rv == CKR_OK)
		set_bool(s, wk, CKA_WRAP, CK_TRUE);
	{
		CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
		CK_RV r1;

		wl = sizeof(wrapped);
		r1 = p11->C_WrapKey(s, &m, wk, keys[K_P256].priv, wrapped, &wl);
		if (r1 == CKR_FUNCTION_NOT_SUPPORTED) {
			tap(true, "C_WrapKey: wrapping is not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED): a "
				  "non-extractable key cannot leave");
			table_put("key wrapping",
				  "not supported: C_WrapKey -> "
				  "CKR_FUNCTION_NOT_SUPPORTED");
		} else {
			expect_rv(r1, CKR_KEY_UNEXTRACTABLE,
				  "C_WrapKey: a non-extractable TPM key -> "
				  "CKR_KEY_UNEXTRACTABLE");
			if (h) {
				wl = sizeof(wrapped);
				expect_rv(p11->C_WrapKey(s, &m, wk, h, wrapped,
							 &wl),
					  CKR_KEY_UNEXTRACTABLE,
					  "C_WrapKey: an AES key latched "
					  "non-extractable -> "
					  "CKR_KEY_UNEXTRACTABLE");
			}
			table_put("key wrapping", "supported; non-extractable "
						  "keys -> %s", rv_name(r1));
		}
		/* Wrap-then-decrypt with one key (the known attack). */
		if (r1 != CKR_FUNCTION_NOT_SUPPORTED) {
			static const unsigned char k2v[16] = "victim-key-value";
			CK_OBJECT_HANDLE k2 = 0, both = 0;
			CK_MECHANISM cbc;
			unsigned char iv[16] = { 0 }, out[64];
			CK_ULONG ol = sizeof(out);
			bool leaked = false;
			CK_RV r2;

			cbc.mechanism = CKM_AES_CBC_PAD;
			cbc.pParameter = iv;
			cbc.ulParameterLen = 16;
			create_secret(s, CKK_AES, k2v, 16, "conf-victim", false,
				      true, true, &k2);
			r2 = create_secret(s, CKK_AES, k32, 32, "conf-both",
					   false, true, false, &both);
			if (r2 == CKR_OK)
				r2 = set_bool(s, both, CKA_WRAP, CK_TRUE);
			if (r2 == CKR_OK) {
				wl = sizeof(wrapped);
				r2 = p11->C_WrapKey(s, &cbc, both, k2, wrapped,
						    &wl);
				if (r2 == CKR_OK &&
				    p11->C_DecryptInit(s, &cbc, both) == CKR_OK &&
				    p11->C_Decrypt(s, wrapped, wl, out, &ol) ==
					    CKR_OK &&
				    ol >= 16 && memcmp(out, k2v, 16) == 0)
					leaked = true;
			}
			tap(!leaked, "C_WrapKey/C_Decrypt: a key that wraps and "
				     "decrypts cannot reveal a sensitive key "
				     "it wrapped");
			if (k2)
				p11->C_DestroyObject(s, k2);
			if (both)
				p11->C_DestroyObject(s, both);
		}
	}
	if (wk)
		p11->C_DestroyObject(s, wk);
	if (h)
		p11->C_DestroyObject(s, h);
	p11->C_CloseAllSessions(slot);
}
