/* Unit tests for the host side of key attestation (src/attest/): the
 * encodings (base64, JSON, CBOR), the key derivations of the credential
 * protocol against OpenSSL's own SP 800-108 and SP 800-56C KDFs,
 * MakeCredential opened again the way a TPM opens it, the formats, and
 * OpenSSH key parsing. No TPM: the end-to-end test (tests/e2e/attest.sh)
 * runs the same code against swtpm. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "attest/cbor.h"
#include "attest/codec.h"
#include "attest/credential.h"
#include "attest/evidence.h"
#include "attest/json.h"
#include "attest/tpmdata.h"
#include "attest/verify.h"

/* --- base64 / hex ----------------------------------------------------------- */

/* RFC 4648 section 10 test vectors. */
static void
test_b64_rfc4648_vectors(void **state)
{
	static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba",
				   "foobar"};
	static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
				    "Zm9vYmE=", "Zm9vYmFy"};
	static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg",
				    "Zm9vYmE", "Zm9vYmFy"};
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		char *s = b64_encode((const uint8_t *)in[i], strlen(in[i]), false);
		char *u = b64_encode((const uint8_t *)in[i], strlen(in[i]), true);
		uint8_t *d;
		size_t n;

		assert_string_equal(s, std[i]);
		assert_string_equal(u, url[i]);
		assert_int_equal(b64_decode(s, strlen(s), false, &d, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(d);
		assert_int_equal(b64_decode(u, strlen(u), true, &d, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		free(d);
		free(s);
		free(u);
	}
}

static void
test_b64_strict(void **state)
{
	uint8_t *d;
	size_t n;

	(void)state;
	/* missing padding, stray bits, bad characters, the other alphabet */
	assert_int_equal(b64_decode("Zg", 2, false, &d, &n), -1);
	assert_int_equal(b64_decode("Zh==", 4, false, &d, &n), -1);
	assert_int_equal(b64_decode("Zm9=", 4, false, &d, &n), -1);
	assert_int_equal(b64_decode("Zm 9", 4, false, &d, &n), -1);
	assert_int_equal(b64_decode("a-b_", 4, false, &d, &n), -1);
	assert_int_equal(b64_decode("a+b/", 4, true, &d, &n), -1);
	assert_int_equal(b64_decode("Zg==", 4, true, &d, &n), -1);
	assert_int_equal(b64_decode("Z", 1, true, &d, &n), -1);
	assert_int_equal(hex_decode_alloc("0g", &d, &n), -1);
	assert_int_equal(hex_decode_alloc("abc", &d, &n), -1);
	assert_int_equal(hex_decode_alloc("A0ff", &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0], 0xa0);
	free(d);
}

/* --- JSON ------------------------------------------------------------------- */

static void
test_json_round_trip(void **state)
{
	json_writer w;
	json_value *v;
	char err[96], *t;
	size_t len;
	const json_value *a;

	(void)state;
	json_w_init(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "s");
	json_w_str(&w, "quote \" backslash \\ newline \n tab \t \x01 \xc3\xa9");
	json_w_key(&w, "i");
	json_w_int(&w, -9007199254740993LL);
	json_w_key(&w, "b");
	json_w_bool(&w, true);
	json_w_key(&w, "a");
	json_w_arr_begin(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "x");
	json_w_hex(&w, (const uint8_t *)"\x01\xff", 2);
	json_w_obj_end(&w);
	json_w_b64(&w, (const uint8_t *)"foo", 3);
	json_w_arr_end(&w);
	json_w_key(&w, "e");
	json_w_arr_begin(&w);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	t = json_w_finish(&w, &len);
	assert_non_null(t);
	v = json_parse(t, len, err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(json_get_str(v, "s"),
			    "quote \" backslash \\ newline \n tab \t \x01 \xc3\xa9");
	assert_int_equal(json_get(v, "i")->i, -9007199254740993LL);
	assert_true(json_get(v, "b")->b);
	a = json_get(v, "a");
	assert_int_equal(a->type, JSON_ARR);
	assert_int_equal(a->n, 2);
	assert_string_equal(json_get_str(a->items[0], "x"), "01ff");
	assert_string_equal(a->items[1]->s, "Zm9v");
	assert_int_equal(json_get(v, "e")->n, 0);
	/* one member per line, as the tests' sed helpers expect */
	assert_non_null(strstr(t, "\n  \"b\": true,\n"));
	json_free(v);
	free(t);
}

static void
test_json_strict(void **state)
{
	static const char *bad[] = {
		"", "{", "{}}", "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}",
		"01", "1.5", "1e3", "-", "\"\\u0000\"", "\"\\ud800\"",
		"\"\\udc00x\"", "\"a\nb\"", "\"\\x\"", "tru", "nul",
		"99999999999999999999", "{\"a\" 1}", "[1 2]", "\"abc",
	};
	char deep[100], err[96];
	json_value *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = json_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		if (v != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(err[0] != '\0');
	}
	memset(deep, '[', 40);
	memset(deep + 40, ']', 40);
	assert_null(json_parse(deep, 80, err, sizeof(err)));
	{
		static const char u[] = " {\"u\": \"\\u00e9\\ud83d\\ude00\"} \n";

		v = json_parse(u, strlen(u), err, sizeof(err));
	}
	assert_non_null(v);
	assert_string_equal(json_get_str(v, "u"), "\xc3\xa9\xf0\x9f\x98\x80");
	json_free(v);
}

/* --- CBOR ------------------------------------------------------------------- */

static void
check_cbor(void (*fn)(cbor_writer *), const char *hex)
{
	cbor_writer w;
	char *h;

	cbor_w_init(&w);
	fn(&w);
	h = hex_encode(w.buf, w.len);
	assert_string_equal(h, hex);
	free(h);
	cbor_w_free(&w);
}

static void w0(cbor_writer *w) { cbor_w_uint(w, 0); }
static void w23(cbor_writer *w) { cbor_w_uint(w, 23); }
static void w24(cbor_writer *w) { cbor_w_uint(w, 24); }
static void w1000000(cbor_writer *w) { cbor_w_uint(w, 1000000); }
static void w_big(cbor_writer *w) { cbor_w_uint(w, 1000000000000ULL); }
static void wm1(cbor_writer *w) { cbor_w_int(w, -1); }
static void wm1000(cbor_writer *w) { cbor_w_int(w, -1000); }
static void wm257(cbor_writer *w) { cbor_w_int(w, -257); }
static void wbytes(cbor_writer *w) { cbor_w_bytes(w, (const uint8_t *)"\1\2\3\4", 4); }
static void wtext(cbor_writer *w) { cbor_w_text(w, "IETF"); }
static void wmap(cbor_writer *w)
{
	cbor_w_map(w, 2);
	cbor_w_uint(w, 1);
	cbor_w_uint(w, 2);
	cbor_w_uint(w, 3);
	cbor_w_uint(w, 4);
}

/* RFC 8949 Appendix A. */
static void
test_cbor_rfc8949_examples(void **state)
{
	(void)state;
	check_cbor(w0, "00");
	check_cbor(w23, "17");
	check_cbor(w24, "1818");
	check_cbor(w1000000, "1a000f4240");
	check_cbor(w_big, "1b000000e8d4a51000");
	check_cbor(wm1, "20");
	check_cbor(wm1000, "3903e7");
	check_cbor(wm257, "390100");
	check_cbor(wbytes, "4401020304");
	check_cbor(wtext, "6449455446");
	check_cbor(wmap, "a201020304");
}

static void
test_cbor_strict(void **state)
{
	static const char *bad[] = {
		"1800",     /* non-minimal */
		"5f4101ff", /* indefinite byte string */
		"c11a514b67b0", /* tag */
		"f93c00",   /* float */
		"0000",     /* trailing */
		"a201020103", /* duplicate key */
		"44010203", /* truncated */
		"9b00000000ffffffff", /* huge array */
		"",
	};
	char err[96];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *b;
		size_t n;
		cbor_item *it;

		assert_int_equal(hex_decode_alloc(bad[i], &b, &n), 0);
		it = cbor_parse(b, n, err, sizeof(err));
		if (it != NULL)
			fail_msg("accepted: %s", bad[i]);
		free(b);
	}
}

static void
test_cbor_map_lookup(void **state)
{
	cbor_writer w;
	cbor_item *it;
	char err[96];
	int64_t v;

	(void)state;
	cbor_w_init(&w);
	cbor_w_map(&w, 3);
	cbor_w_int(&w, -2);
	cbor_w_bytes(&w, (const uint8_t *)"xy", 2);
	cbor_w_text(&w, "fmt");
	cbor_w_text(&w, "tpm");
	cbor_w_text(&w, "alg");
	cbor_w_int(&w, -257);
	it = cbor_parse(w.buf, w.len, err, sizeof(err));
	assert_non_null(it);
	assert_true(cbor_text_is(cbor_map_text(it, "fmt"), "tpm"));
	assert_true(cbor_int(cbor_map_text(it, "alg"), &v));
	assert_int_equal(v, -257);
	assert_int_equal(cbor_map_int(it, -2)->len, 2);
	assert_null(cbor_map_text(it, "x5c"));
	cbor_free(it);
	cbor_w_free(&w);
}

/* --- KDFs against OpenSSL's implementations -------------------------------- */

/* KDFa is SP 800-108 counter mode with HMAC, label || 00 || context, and
 * the output length in bits: OpenSSL's KBKDF. */
static void
test_kdfa_is_sp800_108(void **state)
{
	static const uint16_t algs[] = {TPM2_ALG_SHA256, TPM2_ALG_SHA384};
	uint8_t key[48], ctx[34], mine[80], ref[80];
	size_t a;

	(void)state;
	RAND_bytes(key, sizeof(key));
	RAND_bytes(ctx, sizeof(ctx));
	for (a = 0; a < 2; a++) {
		EVP_KDF *k = EVP_KDF_fetch(NULL, "KBKDF", NULL);
		EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
		const char *md = a == 0 ? "SHA256" : "SHA384";
		OSSL_PARAM p[7];
		int i = 0;

		p[i++] = OSSL_PARAM_construct_utf8_string("mode", "counter", 0);
		p[i++] = OSSL_PARAM_construct_utf8_string("mac", "HMAC", 0);
		p[i++] = OSSL_PARAM_construct_utf8_string("digest", (char *)md, 0);
		p[i++] = OSSL_PARAM_construct_octet_string("key", key, sizeof(key));
		p[i++] = OSSL_PARAM_construct_octet_string("salt", "STORAGE", 7);
		p[i++] = OSSL_PARAM_construct_octet_string("info", ctx, sizeof(ctx));
		p[i] = OSSL_PARAM_construct_end();
		assert_int_equal(EVP_KDF_derive(c, ref, 80, p), 1);
		assert_int_equal(kdfa(algs[a], key, sizeof(key), "STORAGE", ctx,
				      sizeof(ctx), NULL, 0, 640, mine), 0);
		assert_memory_equal(mine, ref, 80);
		/* contextU || contextV is one context */
		assert_int_equal(kdfa(algs[a], key, sizeof(key), "STORAGE", ctx,
				      10, ctx + 10, sizeof(ctx) - 10, 640,
				      mine), 0);
		assert_memory_equal(mine, ref, 80);
		EVP_KDF_CTX_free(c);
		EVP_KDF_free(k);
	}
}

/* KDFe is the one-step (concatenation) KDF of SP 800-56C with a hash and
 * FixedInfo = label || 00 || partyU || partyV: OpenSSL's SSKDF. */
static void
test_kdfe_is_sp800_56c(void **state)
{
	uint8_t z[48], pu[48], pv[48], info[9 + 96], mine[48], ref[48];
	EVP_KDF *k = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(k);
	OSSL_PARAM p[4];

	(void)state;
	RAND_bytes(z, sizeof(z));
	RAND_bytes(pu, sizeof(pu));
	RAND_bytes(pv, sizeof(pv));
	memcpy(info, "IDENTITY", 9);
	memcpy(info + 9, pu, 48);
	memcpy(info + 57, pv, 48);
	p[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA384", 0);
	p[1] = OSSL_PARAM_construct_octet_string("key", z, sizeof(z));
	p[2] = OSSL_PARAM_construct_octet_string("info", info, sizeof(info));
	p[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(c, ref, 48, p), 1);
	assert_int_equal(kdfe(TPM2_ALG_SHA384, z, 48, "IDENTITY", pu, 48, pv,
			      48, 384, mine), 0);
	assert_memory_equal(mine, ref, 48);
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(k);
}

/* --- MakeCredential, opened as TPM2_ActivateCredential does ---------------- */

/* Part 1, 24: recover the seed with the EK's private key, check the outer
 * HMAC over encIdentity || Name, decrypt, unwrap the TPM2B. */
static int
activate(EVP_PKEY *ekpriv, const TPMT_PUBLIC *ek, const uint8_t *name,
	 size_t nl, const TPM2B_ID_OBJECT *blob,
	 const TPM2B_ENCRYPTED_SECRET *sec, uint8_t *cv, size_t *cvl)
{
	const EVP_MD *md = tpm_alg_md(ek->nameAlg);
	size_t ds = (size_t)EVP_MD_get_size(md), seedlen = sizeof(uint8_t) * 64;
	uint8_t seed[512], sym[32], hk[64], mac[64], plain[66];
	unsigned int ml = 0;
	unsigned bits = ek->type == TPM2_ALG_RSA
				? ek->parameters.rsaDetail.symmetric.keyBits.aes
				: ek->parameters.eccDetail.symmetric.keyBits.aes;
	const uint8_t *enc;
	size_t enclen;
	EVP_CIPHER_CTX *cc;
	int outl;

	if (ek->type == TPM2_ALG_RSA) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ekpriv, NULL);
		unsigned char *label = OPENSSL_malloc(9);

		memcpy(label, "IDENTITY", 9);
		seedlen = sizeof(seed);
		if (EVP_PKEY_decrypt_init(c) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(c, md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) != 1 ||
		    EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) != 1 ||
		    EVP_PKEY_decrypt(c, seed, &seedlen, sec->secret, sec->size) != 1)
			return -1;
		EVP_PKEY_CTX_free(c);
	} else {
		TPMS_ECC_POINT pt;
		size_t off = 0, zl = 66;
		uint8_t z[66], q[1 + 2 * 48];
		EVP_PKEY *peer = NULL;
		EVP_PKEY_CTX *pc, *dc;
		OSSL_PARAM prm[3];
		size_t fl = ek->unique.ecc.x.size;

		if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(sec->secret, sec->size,
						     &off, &pt) != 0)
			return -1;
		q[0] = 4;
		memcpy(q + 1, pt.x.buffer, fl);
		memcpy(q + 1 + fl, pt.y.buffer, fl);
		prm[0] = OSSL_PARAM_construct_utf8_string(
			"group", fl == 32 ? "P-256" : "P-384", 0);
		prm[1] = OSSL_PARAM_construct_octet_string("pub", q, 1 + 2 * fl);
		prm[2] = OSSL_PARAM_construct_end();
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (EVP_PKEY_fromdata_init(pc) != 1 ||
		    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, prm) != 1)
			return -1;
		dc = EVP_PKEY_CTX_new(ekpriv, NULL);
		if (EVP_PKEY_derive_init(dc) != 1 ||
		    EVP_PKEY_derive_set_peer(dc, peer) != 1 ||
		    EVP_PKEY_derive(dc, z, &zl) != 1)
			return -1;
		if (kdfe(ek->nameAlg, z, zl, "IDENTITY", pt.x.buffer, fl,
			 ek->unique.ecc.x.buffer, fl, (unsigned)ds * 8, seed) != 0)
			return -1;
		seedlen = ds;
		EVP_PKEY_free(peer);
		EVP_PKEY_CTX_free(pc);
		EVP_PKEY_CTX_free(dc);
	}
	if (seedlen != ds)
		return -1;
	/* TPMS_ID_OBJECT: TPM2B integrityHMAC || encIdentity */
	if ((size_t)(blob->credential[0] << 8 | blob->credential[1]) != ds)
		return -1;
	enc = blob->credential + 2 + ds;
	enclen = blob->size - 2 - ds;
	if (kdfa(ek->nameAlg, seed, ds, "INTEGRITY", NULL, 0, NULL, 0,
		 (unsigned)ds * 8, hk) != 0)
		return -1;
	{
		uint8_t *buf = malloc(enclen + nl);

		memcpy(buf, enc, enclen);
		memcpy(buf + enclen, name, nl);
		HMAC(md, hk, (int)ds, buf, enclen + nl, mac, &ml);
		free(buf);
	}
	if (ml != ds || memcmp(mac, blob->credential + 2, ds) != 0)
		return -1;
	if (kdfa(ek->nameAlg, seed, ds, "STORAGE", name, nl, NULL, 0, bits,
		 sym) != 0)
		return -1;
	cc = EVP_CIPHER_CTX_new();
	EVP_DecryptInit_ex(cc, bits == 128 ? EVP_aes_128_cfb128()
					   : EVP_aes_256_cfb128(),
			   NULL, sym, NULL);
	EVP_DecryptUpdate(cc, plain, &outl, enc, (int)enclen);
	EVP_CIPHER_CTX_free(cc);
	if ((size_t)(plain[0] << 8 | plain[1]) != enclen - 2)
		return -1;
	*cvl = enclen - 2;
	memcpy(cv, plain + 2, *cvl);
	return 0;
}

static void
credential_round_trip(uint32_t index, const char *keytype, const char *param)
{
	const ek_template *et = ek_template_find(index);
	EVP_PKEY *ek = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL);
	TPMT_PUBLIC pub;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET sec;
	uint8_t name[34], cv[32], out[64];
	size_t outl = 0;
	char why[128];

	assert_non_null(et);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	if (strcmp(keytype, "RSA") == 0)
		EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048);
	else
		EVP_PKEY_CTX_set_group_name(kc, param);
	assert_int_equal(EVP_PKEY_keygen(kc, &ek), 1);
	assert_int_equal(ek_template_public(et, NULL, 0, &pub), 0);
	assert_int_equal(tpmt_public_set_unique(&pub, ek), 0);
	RAND_bytes(name + 2, 32);
	name[0] = 0x00;
	name[1] = 0x0b;
	RAND_bytes(cv, sizeof(cv));
	assert_int_equal(credential_make(&pub, name, sizeof(name), cv,
					 sizeof(cv), &blob, &sec, why,
					 sizeof(why)), 0);
	assert_int_equal(activate(ek, &pub, name, sizeof(name), &blob, &sec, out,
				  &outl), 0);
	assert_int_equal(outl, sizeof(cv));
	assert_memory_equal(out, cv, sizeof(cv));
	/* Another Name: the outer HMAC fails, as in the TPM. */
	name[5] ^= 1;
	assert_int_equal(activate(ek, &pub, name, sizeof(name), &blob, &sec, out,
				  &outl), -1);
	EVP_PKEY_free(ek);
	EVP_PKEY_CTX_free(kc);
}

static void
test_credential_rsa_ek(void **state)
{
	(void)state;
	credential_round_trip(0x01c00002, "RSA", NULL);
}

static void
test_credential_p256_ek(void **state)
{
	(void)state;
	credential_round_trip(0x01c0000a, "EC", "P-256");
}

static void
test_credential_p384_ek(void **state)
{
	(void)state;
	credential_round_trip(0x01c00016, "EC", "P-384");
}

static void
test_credential_refuses_bad_input(void **state)
{
	TPMT_PUBLIC pub;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET sec;
	uint8_t name[34] = {0, 0x0b}, cv[64] = {1};
	char why[128];

	(void)state;
	assert_int_equal(ek_template_public(ek_template_find(0x01c0000a), NULL,
					    0, &pub), 0);
	/* a credential longer than the name algorithm's digest */
	assert_int_equal(credential_make(&pub, name, 34, cv, 33, &blob, &sec,
					 why, sizeof(why)), -1);
	/* not a restricted decryption key */
	pub.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_int_equal(credential_make(&pub, name, 34, cv, 32, &blob, &sec,
					 why, sizeof(why)), -1);
}

/* --- EK templates -------------------------------------------------------------- */

/* The H-3 template makes swtpm's P-384 EK: its authPolicy and attributes
 * are what tpm2_readpublic shows for it (0x000300f2). */
static void
test_ek_templates(void **state)
{
	TPMT_PUBLIC p;
	size_t i;

	(void)state;
	assert_int_equal(ek_template_public(ek_template_find(0x01c00016), NULL,
					    0, &p), 0);
	assert_int_equal(p.objectAttributes, 0x000300f2);
	assert_int_equal(p.nameAlg, TPM2_ALG_SHA384);
	assert_int_equal(p.authPolicy.size, 48);
	assert_int_equal(p.authPolicy.buffer[0], 0xb2);
	assert_int_equal(p.parameters.eccDetail.symmetric.keyBits.aes, 256);
	assert_int_equal(p.unique.ecc.x.size, 0);
	assert_int_equal(ek_template_public(ek_template_find(0x01c00002), NULL,
					    0, &p), 0);
	assert_int_equal(p.objectAttributes, 0x000300b2);
	assert_int_equal(p.unique.rsa.size, 256);
	for (i = 0; i < ek_templates_count; i++)
		if (ek_templates[i].supported)
			assert_int_equal(ek_template_public(&ek_templates[i],
							    NULL, 0, &p), 0);
	assert_null(ek_template_find(0x01c00003));
}

/* A public area's Name (Part 1, 16): nameAlg || H_nameAlg(TPMT_PUBLIC),
 * the hash over the marshalled bytes; another field, another Name. */
static void
test_tpmt_public_name(void **state)
{
	TPMT_PUBLIC p;
	uint8_t name[2 + 64], again[2 + 64], want[64], *m = NULL;
	size_t nl = 0, al = 0, ml = 0;
	unsigned int wl = 0;

	(void)state;
	assert_int_equal(ek_template_public(ek_template_find(0x01c00016), NULL,
					    0, &p), 0);
	assert_int_equal(tpmt_public_name(&p, name, &nl), 0);
	assert_int_equal(nl, 2 + 48);
	assert_int_equal(name[0], 0x00);
	assert_int_equal(name[1], 0x0c); /* TPM_ALG_SHA384 */
	assert_int_equal(tpmt_public_marshal(&p, &m, &ml), 0);
	assert_int_equal(EVP_Digest(m, ml, want, &wl, EVP_sha384(), NULL), 1);
	assert_memory_equal(name + 2, want, wl);
	assert_int_equal(tpm_name(m, ml, p.nameAlg, again, &al), 0);
	assert_int_equal(al, nl);
	assert_memory_equal(again, name, nl);
	free(m);
	p.objectAttributes ^= TPMA_OBJECT_USERWITHAUTH;
	assert_int_equal(tpmt_public_name(&p, again, &al), 0);
	assert_memory_not_equal(again, name, nl);
	/* SHA-1 and unknown name algorithms are refused. */
	p.nameAlg = TPM2_ALG_SHA1;
	assert_int_equal(tpmt_public_name(&p, again, &al), -1);
	p.nameAlg = TPM2_ALG_NULL;
	assert_int_equal(tpmt_public_name(&p, again, &al), -1);
}

/* --- formats -------------------------------------------------------------------- */

static void
make_key_pub(blob *out, EVP_PKEY **k)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	TPMT_PUBLIC p;

	memset(&p, 0, sizeof(p));
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_group_name(kc, "P-256");
	EVP_PKEY_keygen(kc, k);
	EVP_PKEY_CTX_free(kc);
	p.type = TPM2_ALG_ECC;
	p.nameAlg = TPM2_ALG_SHA256;
	p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			     TPMA_OBJECT_SENSITIVEDATAORIGIN |
			     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
	p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	assert_int_equal(tpmt_public_set_unique(&p, *k), 0);
	assert_int_equal(tpmt_public_marshal(&p, &out->data, &out->len), 0);
}

static void
test_evidence_round_trip(void **state)
{
	static const ev_format fmts[] = {EV_JSON, EV_WEBAUTHN, EV_ACME};
	EVP_PKEY *k = NULL;
	TPMT_SIGNATURE sig;
	uint8_t sb[sizeof(TPMT_SIGNATURE)], ex[32];
	size_t off = 0, i, len;
	char why[160], *text;

	(void)state;
	memset(&sig, 0, sizeof(sig));
	sig.sigAlg = TPM2_ALG_ECDSA;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	sig.signature.ecdsa.signatureS.size = 31;
	memset(sig.signature.ecdsa.signatureR.buffer, 0x81, 32);
	memset(sig.signature.ecdsa.signatureS.buffer, 0x42, 31);
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, sb, sizeof(sb),
							&off), 0);
	for (i = 0; i < 3; i++) {
		evidence ev, back;

		memset(&ev, 0, sizeof(ev));
		ev.format = fmts[i];
		make_key_pub(&ev.key_pub, &k);
		assert_int_equal(blob_set(&ev.cert_info, "\xff\x54\x43\x47", 4), 0);
		assert_int_equal(blob_set(&ev.cert_sig, sb, off), 0);
		assert_int_equal(blob_set(&ev.ak_pub, "\x00\x23", 2), 0);
		ev.alg = -7;
		if (fmts[i] == EV_WEBAUTHN)
			assert_int_equal(ev_auth_data("example.org", &ev.key_pub,
						      &ev.auth_data), 0);
		text = evidence_encode(&ev, &len);
		assert_non_null(text);
		assert_int_equal(evidence_decode((uint8_t *)text, len, &back,
						 why, sizeof(why)), 0);
		assert_int_equal(back.format, fmts[i]);
		assert_int_equal(back.key_pub.len, ev.key_pub.len);
		assert_memory_equal(back.key_pub.data, ev.key_pub.data,
				    ev.key_pub.len);
		/* webauthn carries the DER signature; read back it is the
		 * same TPMT_SIGNATURE */
		assert_int_equal(back.cert_sig.len, off);
		assert_memory_equal(back.cert_sig.data, sb, off);
		if (fmts[i] == EV_WEBAUTHN) {
			assert_int_equal(back.auth_data.len, ev.auth_data.len);
			/* authData: rpIdHash, flags UP|AT, the key's Name */
			assert_int_equal(back.auth_data.data[32], 0x41);
			assert_int_equal(ev_extra_data(EV_WEBAUTHN,
						       (const uint8_t *)"c", 1,
						       &back.auth_data, ex), 0);
		}
		free(text);
		evidence_clear(&ev);
		evidence_clear(&back);
		EVP_PKEY_free(k);
		k = NULL;
	}
	assert_int_equal(evidence_decode((const uint8_t *)"{\"x\":1}", 7, &(evidence){0},
					 why, sizeof(why)), -1);
	assert_int_equal(evidence_decode((const uint8_t *)"!!", 2, &(evidence){0},
					 why, sizeof(why)), -1);
}

/* The json and acme rule: extraData = SHA-256(C). */
static void
test_extra_data_rule(void **state)
{
	uint8_t ex[32], ref[32];

	(void)state;
	assert_int_equal(ev_extra_data(EV_JSON, (const uint8_t *)"abc", 3, NULL,
				       ex), 0);
	EVP_Digest("abc", 3, ref, NULL, EVP_sha256(), NULL);
	assert_memory_equal(ex, ref, 32);
	assert_int_equal(ev_extra_data(EV_ACME, (const uint8_t *)"abc", 3, NULL,
				       ex), 0);
	assert_memory_equal(ex, ref, 32);
	assert_int_equal(ev_extra_data(EV_WEBAUTHN, (const uint8_t *)"abc", 3,
				       NULL, ex), -1);
}

/* The webauthn rule: extraData = SHA-256(authData || clientDataHash);
 * with C, clientDataHash = SHA-256(C); given as is (--client-data-hash),
 * the same value comes out. */
static void
test_extra_data_webauthn_client_data_hash(void **state)
{
	static const uint8_t ad[] = "authenticator data of some length, 37+";
	blob auth = { (uint8_t *)ad, sizeof(ad) - 1 };
	uint8_t cdh[32], ex1[32], ex2[32], ref[32], buf[sizeof(ad) - 1 + 32];
	const char *cd = "{\"type\":\"webauthn.create\",\"challenge\":"
			 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
			 "\"origin\":\"https://rp.example\"}";

	(void)state;
	EVP_Digest(cd, strlen(cd), cdh, NULL, EVP_sha256(), NULL);
	assert_int_equal(ev_extra_data(EV_WEBAUTHN, (const uint8_t *)cd,
				       strlen(cd), &auth, ex1), 0);
	assert_int_equal(ev_webauthn_extra(&auth, cdh, ex2), 0);
	memcpy(buf, ad, sizeof(ad) - 1);
	memcpy(buf + sizeof(ad) - 1, cdh, 32);
	EVP_Digest(buf, sizeof(buf), ref, NULL, EVP_sha256(), NULL);
	assert_memory_equal(ex1, ref, 32);
	assert_memory_equal(ex2, ref, 32);
	assert_int_equal(ev_webauthn_extra(NULL, cdh, ex2), -1);
}

/* The TCG TPM Vendor ID Registry: "id:" and 8 hex digits of a registered
 * vendor; swtpm's PCI-style id:00001014 is named but not registered. */
static void
test_tpm_vendor_registry(void **state)
{
	(void)state;
	assert_true(tpm_vendor_registered("id:49424D00"));
	assert_true(tpm_vendor_registered("id:49424d00"));
	assert_true(tpm_vendor_registered("id:49465800"));
	assert_false(tpm_vendor_registered("49424D00"));
	assert_false(tpm_vendor_registered("id:49424D0"));
	assert_false(tpm_vendor_registered("id:00001014"));
	assert_false(tpm_vendor_registered("id:DEADBEEF"));
	assert_false(tpm_vendor_registered(""));
	assert_false(tpm_vendor_registered(NULL));
	assert_string_equal(tpm_vendor_name("id:49424D00"), "IBM");
	assert_string_equal(tpm_vendor_name("id:00001014"), "IBM (swtpm)");
	assert_null(tpm_vendor_name("id:DEADBEEF"));
}

static void
test_ak_attribute_rules(void **state)
{
	TPMT_PUBLIC p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_ECC;
	p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			     TPMA_OBJECT_SENSITIVEDATAORIGIN |
			     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
			     TPMA_OBJECT_SIGN_ENCRYPT;
	assert_null(verify_ak_attributes(&p));
	p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	assert_non_null(strstr(verify_ak_attributes(&p), "not a restricted"));
	p.objectAttributes |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_ADMINWITHPOLICY;
	assert_non_null(verify_ak_attributes(&p));
	p.objectAttributes &= ~(TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_FIXEDTPM);
	assert_non_null(verify_ak_attributes(&p));
}

static void
test_ssh_line_pkey(void **state)
{
	/* a P-256 key line as ssh-keygen writes it */
	static const char line[] =
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAy"
		"NTYAAABBBKgOF4J8MMw1frtquLUYiZe4RpbnBx1NPgrmBjaaLkxssSY4kBwnzbuS"
		"HwU39VR5b24O5hYoG3jsv1Qo+TIHz9o= comment\n";
	EVP_PKEY *k;

	(void)state;
	k = ssh_line_pkey(line);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bits(k), 256);
	EVP_PKEY_free(k);
	assert_null(ssh_line_pkey("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x"));
	assert_null(ssh_line_pkey("garbage"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648_vectors),
		cmocka_unit_test(test_b64_strict),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_cbor_rfc8949_examples),
		cmocka_unit_test(test_cbor_strict),
		cmocka_unit_test(test_cbor_map_lookup),
		cmocka_unit_test(test_kdfa_is_sp800_108),
		cmocka_unit_test(test_kdfe_is_sp800_56c),
		cmocka_unit_test(test_credential_rsa_ek),
		cmocka_unit_test(test_credential_p256_ek),
		cmocka_unit_test(test_credential_p384_ek),
		cmocka_unit_test(test_credential_refuses_bad_input),
		cmocka_unit_test(test_ek_templates),
		cmocka_unit_test(test_tpmt_public_name),
		cmocka_unit_test(test_evidence_round_trip),
		cmocka_unit_test(test_extra_data_rule),
		cmocka_unit_test(test_extra_data_webauthn_client_data_hash),
		cmocka_unit_test(test_tpm_vendor_registry),
		cmocka_unit_test(test_ak_attribute_rules),
		cmocka_unit_test(test_ssh_line_pkey),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
