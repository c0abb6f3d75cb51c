/* See fuzz_store.h. */
#include "fuzz_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "attr/attr.h"
#include "store/store.h"

void
fz_ec_scalar(ec_curve c, uint8_t *d)
{
	size_t i, fl = ec_field_len(c);

	for (i = 0; i < fl; i++)
		d[i] = (uint8_t)(0x11 + 7 * i + (c == CURVE_P384 ? 3 : 0));
}

int
fz_ec_point(ec_curve c, uint8_t *x, uint8_t *y)
{
	uint8_t d[EC_MAX_FIELD_LEN];
	size_t fl = ec_field_len(c);
	EC_GROUP *g;
	EC_POINT *p = NULL;
	BIGNUM *bd = NULL, *bx = BN_new(), *by = BN_new();
	int r = -1;

	fz_ec_scalar(c, d);
	g = EC_GROUP_new_by_curve_name(c == CURVE_P256 ? NID_X9_62_prime256v1
						       : NID_secp384r1);
	if (g != NULL && bx != NULL && by != NULL &&
	    (bd = BN_bin2bn(d, (int)fl, NULL)) != NULL &&
	    (p = EC_POINT_new(g)) != NULL &&
	    EC_POINT_mul(g, p, bd, NULL, NULL, NULL) == 1 &&
	    EC_POINT_get_affine_coordinates(g, p, bx, by, NULL) == 1 &&
	    BN_bn2binpad(bx, x, (int)fl) == (int)fl &&
	    BN_bn2binpad(by, y, (int)fl) == (int)fl)
		r = 0;
	EC_POINT_free(p);
	EC_GROUP_free(g);
	BN_free(bd);
	BN_free(bx);
	BN_free(by);
	return r;
}

void
fz_rsa_modulus(uint8_t n[FZ_RSA_BYTES])
{
	size_t i;

	for (i = 0; i < FZ_RSA_BYTES; i++)
		n[i] = (uint8_t)(i * 151 + 7);
	n[0] = 0xc3;
	n[FZ_RSA_BYTES - 1] |= 1;
}

/* --- TPM2B_PUBLIC blobs, as the TPM returns them ------------------------- */

static int
pub_blob(const TPM2B_PUBLIC *p, blob *out)
{
	uint8_t buf[sizeof(*p) + 16];
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(p, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS)
		return -1;
	return blob_set(out, buf, off);
}

static int
pub_ecc(ec_curve c, bool storage, blob *out)
{
	TPM2B_PUBLIC p;
	TPMT_PUBLIC *a = &p.publicArea;
	size_t fl = ec_field_len(c);

	memset(&p, 0, sizeof(p));
	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_USERWITHAUTH;
	if (storage) {
		a->objectAttributes |= TPMA_OBJECT_RESTRICTED |
				       TPMA_OBJECT_DECRYPT |
				       TPMA_OBJECT_ADMINWITHPOLICY;
		a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		a->parameters.eccDetail.symmetric.keyBits.aes = 128;
		a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		a->authPolicy.size = 32;
		memset(a->authPolicy.buffer, 0x5a, 32);
	} else {
		a->objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
		a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	}
	a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.eccDetail.curveID =
		c == CURVE_P256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
	a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	a->unique.ecc.x.size = (UINT16)fl;
	a->unique.ecc.y.size = (UINT16)fl;
	if (fz_ec_point(c, a->unique.ecc.x.buffer, a->unique.ecc.y.buffer) != 0)
		return -1;
	return pub_blob(&p, out);
}

static int
pub_rsa(blob *out)
{
	TPM2B_PUBLIC p;
	TPMT_PUBLIC *a = &p.publicArea;

	memset(&p, 0, sizeof(p));
	a->type = TPM2_ALG_RSA;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT |
			      TPMA_OBJECT_DECRYPT;
	a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.rsaDetail.keyBits = 2048;
	a->unique.rsa.size = FZ_RSA_BYTES;
	fz_rsa_modulus(a->unique.rsa.buffer);
	return pub_blob(&p, out);
}

static int
priv_blob(uint8_t seed, blob *out)
{
	uint8_t b[2 + 96];
	size_t i;

	b[0] = 0;
	b[1] = 96;
	for (i = 2; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed + 13 * i);
	return blob_set(out, b, sizeof(b));
}

/* --- attributes, as token.c writes them ------------------------------------ */

static int
key_common(attr_list *l, bool ec, ec_curve c, const char *label,
	   uint8_t id)
{
	uint8_t buf[600], x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];
	uint8_t n[FZ_RSA_BYTES], e[3] = {1, 0, 1};
	size_t len;
	int r = 0;

	r |= attr_set_ulong(l, CKA_KEY_TYPE, ec ? CKK_EC : CKK_RSA);
	r |= attr_set_bool(l, CKA_TOKEN, true);
	r |= attr_set_bool(l, CKA_MODIFIABLE, true);
	r |= attr_set_bool(l, CKA_COPYABLE, false);
	r |= attr_set_bool(l, CKA_DESTROYABLE, true);
	r |= attr_set_str(l, CKA_LABEL, label);
	r |= attr_set(l, CKA_ID, &id, 1);
	r |= attr_set_bool(l, CKA_LOCAL, true);
	r |= attr_set_ulong(l, CKA_KEY_GEN_MECHANISM,
			    ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN);
	r |= attr_set(l, CKA_START_DATE, NULL, 0);
	r |= attr_set(l, CKA_END_DATE, NULL, 0);
	r |= attr_set(l, CKA_SUBJECT, NULL, 0);
	r |= attr_set_bool(l, CKA_DERIVE, false);
	if (ec) {
		if (ec_params_der(c, buf, sizeof(buf), &len) != 0)
			return -1;
		r |= attr_set(l, CKA_EC_PARAMS, buf, len);
		if (fz_ec_point(c, x, y) != 0 ||
		    ec_point_der(c, x, ec_field_len(c), y, ec_field_len(c), buf,
				 sizeof(buf), &len) != 0)
			return -1;
		r |= attr_set(l, CKA_EC_POINT, buf, len);
	} else {
		fz_rsa_modulus(n);
		r |= attr_set(l, CKA_MODULUS, n, sizeof(n));
		r |= attr_set(l, CKA_PUBLIC_EXPONENT, e, sizeof(e));
		r |= attr_set_ulong(l, CKA_MODULUS_BITS, 8 * sizeof(n));
	}
	return r ? -1 : 0;
}

static int
key_pub(attr_list *l, bool ec, ec_curve c, const char *label, uint8_t id)
{
	int r = 0;

	r |= attr_set_ulong(l, CKA_CLASS, CKO_PUBLIC_KEY);
	r |= key_common(l, ec, c, label, id);
	r |= attr_set_bool(l, CKA_PRIVATE, false);
	r |= attr_set_bool(l, CKA_VERIFY, true);
	r |= attr_set_bool(l, CKA_VERIFY_RECOVER, false);
	r |= attr_set_bool(l, CKA_ENCRYPT, false);
	r |= attr_set_bool(l, CKA_WRAP, false);
	r |= attr_set_bool(l, CKA_TRUSTED, false);
	return r ? -1 : 0;
}

static int
key_priv(attr_list *l, bool ec, ec_curve c, const char *label, uint8_t id,
	 bool private, bool use)
{
	int r = 0;

	r |= attr_set_ulong(l, CKA_CLASS, CKO_PRIVATE_KEY);
	r |= key_common(l, ec, c, label, id);
	r |= attr_set_bool(l, CKA_PRIVATE, private);
	r |= attr_set_bool(l, CKA_SENSITIVE, true);
	r |= attr_set_bool(l, CKA_ALWAYS_SENSITIVE, true);
	r |= attr_set_bool(l, CKA_EXTRACTABLE, false);
	r |= attr_set_bool(l, CKA_NEVER_EXTRACTABLE, true);
	r |= attr_set_bool(l, CKA_SIGN, use);
	r |= attr_set_bool(l, CKA_SIGN_RECOVER, false);
	r |= attr_set_bool(l, CKA_DECRYPT, use && !ec);
	r |= attr_set_bool(l, CKA_UNWRAP, false);
	r |= attr_set_bool(l, CKA_WRAP_WITH_TRUSTED, false);
	r |= attr_set_bool(l, CKA_ALWAYS_AUTHENTICATE, false);
	return r ? -1 : 0;
}

static int
data_obj(attr_list *l, const char *label)
{
	static const uint8_t value[] = "fuzz data object value";
	int r = 0;

	r |= attr_set_ulong(l, CKA_CLASS, CKO_DATA);
	r |= attr_set_bool(l, CKA_TOKEN, true);
	r |= attr_set_bool(l, CKA_PRIVATE, false);
	r |= attr_set_bool(l, CKA_MODIFIABLE, false);
	r |= attr_set_bool(l, CKA_DESTROYABLE, false);
	r |= attr_set_str(l, CKA_LABEL, label);
	r |= attr_set_str(l, CKA_APPLICATION, "tpm11-fuzz");
	r |= attr_set(l, CKA_VALUE, value, sizeof(value) - 1);
	return r ? -1 : 0;
}

static int
cert_obj(attr_list *l)
{
	/* Not a parseable certificate: the module keeps stored values as
	 * they are. */
	static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const uint8_t subject[] = {0x30, 0x00};
	uint8_t id = FZ_OBJ_EC256_PUB;
	int r = 0;

	r |= attr_set_ulong(l, CKA_CLASS, CKO_CERTIFICATE);
	r |= attr_set_ulong(l, CKA_CERTIFICATE_TYPE, CKC_X_509);
	r |= attr_set_bool(l, CKA_TOKEN, true);
	r |= attr_set_bool(l, CKA_PRIVATE, false);
	r |= attr_set_bool(l, CKA_TRUSTED, false);
	r |= attr_set_ulong(l, CKA_CERTIFICATE_CATEGORY, 0);
	r |= attr_set_str(l, CKA_LABEL, "ec256");
	r |= attr_set(l, CKA_ID, &id, 1);
	r |= attr_set(l, CKA_SUBJECT, subject, sizeof(subject));
	r |= attr_set(l, CKA_ISSUER, subject, sizeof(subject));
	r |= attr_set(l, CKA_VALUE, der, sizeof(der));
	return r ? -1 : 0;
}

static int
nv_name_blob(uint8_t fill, blob *out)
{
	uint8_t name[34];

	name[0] = 0x00;
	name[1] = 0x0b;
	memset(name + 2, fill, sizeof(name) - 2);
	return blob_set(out, name, sizeof(name));
}

static int
token_add(store *st, int64_t want_id, const char *label, uint64_t flags)
{
	token_rec t;
	uint8_t salt[16];
	int r = -1;

	memset(&t, 0, sizeof(t));
	memset(salt, 0xa5, sizeof(salt));
	snprintf(t.label, sizeof(t.label), "%s", label);
	snprintf(t.serial, sizeof(t.serial), "f022000000000%03lld",
		 (long long)want_id);
	snprintf(t.manufacturer, sizeof(t.manufacturer), "IBM");
	snprintf(t.model, sizeof(t.model), "SW   TPM");
	t.fw_major = 1;
	t.hw_major = 1;
	t.hw_minor = 59;
	t.flags = flags;
	/* The PIN indices' handles and Names (a Name is nameAlg || a
	 * SHA-256 digest; these never meet a TPM here). */
	t.so_nv = 0x01311100u + 2 * (uint32_t)want_id;
	t.user_nv = t.so_nv + 1;
	if (blob_set(&t.pin_salt, salt, sizeof(salt)) == 0 &&
	    nv_name_blob(0x51, &t.so_nv_name) == 0 &&
	    nv_name_blob(0x55, &t.user_nv_name) == 0 &&
	    store_token_add(st, &t) == STORE_OK && t.id == want_id)
		r = 0;
	token_rec_clear(&t);
	return r;
}

int
fz_store_build(const char *dir)
{
	object_rec o[FZ_OBJ_COUNT];
	static const uint8_t handle[4] = {0x81, 0x00, 0x00, 0x01};
	uint8_t name[34], junk[40], one = 0xc1;
	char err[512];
	store *st = NULL;
	size_t i;
	int r = -1;

	memset(o, 0, sizeof(o));
	memset(name, 0x77, sizeof(name));
	name[0] = 0x00;
	name[1] = 0x0b;
	memset(junk, 0xee, sizeof(junk));
	if (store_open(dir, true, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "fuzz store: %s\n", err);
		return -1;
	}
	if (store_meta_set(st, "primary_handle", handle, sizeof(handle)) ||
	    store_meta_set(st, "primary_name", name, sizeof(name)) ||
	    token_add(st, FZ_TOKEN_ID, FZ_TOKEN_LABEL, 0) != 0 ||
	    token_add(st, FZ_TOKEN_UNINIT_ID, "fuzz-uninit", 0x1) != 0)
		goto out;
	for (i = 0; i < FZ_OBJ_COUNT; i++) {
		attr_list_init(&o[i].attrs);
		o[i].token_id = FZ_TOKEN_ID;
	}
#define O(id) (&o[(id) - 1])
	if (key_pub(&O(FZ_OBJ_EC256_PUB)->attrs, true, CURVE_P256, "ec256", 1) ||
	    key_priv(&O(FZ_OBJ_EC256_PRIV)->attrs, true, CURVE_P256, "ec256", 1,
		     true, true) ||
	    pub_ecc(CURVE_P256, false, &O(FZ_OBJ_EC256_PRIV)->tpm_pub) ||
	    key_pub(&O(FZ_OBJ_RSA2048_PUB)->attrs, false, CURVE_NONE, "rsa2048",
		    3) ||
	    key_priv(&O(FZ_OBJ_RSA2048_PRIV)->attrs, false, CURVE_NONE,
		     "rsa2048", 3, false, true) ||
	    pub_rsa(&O(FZ_OBJ_RSA2048_PRIV)->tpm_pub) ||
	    key_priv(&O(FZ_OBJ_EC384_PRIV)->attrs, true, CURVE_P384, "ec384", 5,
		     false, true) ||
	    pub_ecc(CURVE_P384, false, &O(FZ_OBJ_EC384_PRIV)->tpm_pub) ||
	    key_pub(&O(FZ_OBJ_EC384_PUB)->attrs, true, CURVE_P384, "ec384", 5) ||
	    key_priv(&O(FZ_OBJ_RSA_NOSIGN)->attrs, false, CURVE_NONE, "nosign",
		     7, false, false) ||
	    pub_rsa(&O(FZ_OBJ_RSA_NOSIGN)->tpm_pub) ||
	    data_obj(&O(FZ_OBJ_DATA)->attrs, "data") ||
	    cert_obj(&O(FZ_OBJ_CERT)->attrs) ||
	    key_priv(&O(FZ_OBJ_MISMATCH)->attrs, false, CURVE_NONE, "mismatch",
		     10, false, true) ||
	    pub_ecc(CURVE_P256, false, &O(FZ_OBJ_MISMATCH)->tpm_pub) ||
	    key_priv(&O(FZ_OBJ_BADPUB)->attrs, false, CURVE_NONE, "badpub", 11,
		     false, true) ||
	    blob_set(&O(FZ_OBJ_BADPUB)->tpm_pub, junk, sizeof(junk)) ||
	    key_pub(&O(FZ_OBJ_RSA_TINY_PUB)->attrs, false, CURVE_NONE, "tiny",
		    12) ||
	    attr_set(&O(FZ_OBJ_RSA_TINY_PUB)->attrs, CKA_MODULUS, &one, 1) ||
	    attr_set_ulong(&O(FZ_OBJ_RSA_TINY_PUB)->attrs, CKA_MODULUS_BITS, 8) ||
	    data_obj(&O(FZ_OBJ_UNINIT_DATA)->attrs, "uninit-data"))
		goto out;
	for (i = 0; i < FZ_OBJ_COUNT; i++)
		if (o[i].tpm_pub.data != NULL && priv_blob((uint8_t)i, &o[i].tpm_priv))
			goto out;
	O(FZ_OBJ_UNINIT_DATA)->token_id = FZ_TOKEN_UNINIT_ID;
#undef O
	if (store_objects_add(st, o, FZ_OBJ_COUNT) != STORE_OK)
		goto out;
	for (i = 0; i < FZ_OBJ_COUNT; i++)
		if (o[i].id != (int64_t)i + 1)
			goto out;
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "fuzz store: cannot build in %s: %s\n", dir,
			store_errmsg(st));
	for (i = 0; i < FZ_OBJ_COUNT; i++)
		object_rec_clear(&o[i]);
	store_close(st);
	return r;
}
