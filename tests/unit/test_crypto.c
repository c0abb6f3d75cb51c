/* Unit tests for the host-side crypto helpers in src/crypto/.
 *
 * Encodings are checked byte for byte against the specifications, and
 * whatever OpenSSL or OpenSSH can judge is handed to them: PSS and PKCS#1
 * blocks are signed with the raw RSA private operation and verified by
 * OpenSSL; SSH public-key lines are compared with what ssh-keygen prints
 * for the same key. Run with CMOCKA_MESSAGE_OUTPUT=TAP for TAP output. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "crypto/ec.h"
#include "crypto/hash.h"
#include "crypto/pkey.h"
#include "crypto/rsapad.h"
#include "testkeys.h"
#include "crypto/sshkey.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const hash_algo all_hashes[] = {
	HASH_SHA1, HASH_SHA224, HASH_SHA256, HASH_SHA384, HASH_SHA512,
};

static const EVP_MD *
test_evp_md(hash_algo alg)
{
	switch (alg) {
	case HASH_SHA1: return EVP_sha1();
	case HASH_SHA224: return EVP_sha224();
	case HASH_SHA256: return EVP_sha256();
	case HASH_SHA384: return EVP_sha384();
	case HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static void
test_hex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;
	unsigned v;

	assert_int_equal(strlen(hex), 2 * len);
	for (i = 0; i < len; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* ---------------------------------------------------------------- hash */

/* FIPS 180-4 example vectors for "abc". */
static const struct {
	hash_algo alg;
	const char *hex;
} hash_abc[] = {
	{ HASH_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ HASH_SHA224,
	  "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7" },
	{ HASH_SHA256,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ HASH_SHA384,
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7" },
	{ HASH_SHA512,
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
};

#define HASH_THREADS 8
#define HASH_THREAD_ROUNDS 500

/* No cmocka asserts here: they must not fire outside the main thread. */
static void *
hash_thread(void *arg)
{
	uint8_t want[32], got[32];
	unsigned v;
	int i, *ok = arg;

	*ok = 1;
	for (i = 0; i < 32; i++) {
		if (sscanf(hash_abc[2].hex + 2 * i, "%2x", &v) != 1)
			*ok = 0;
		want[i] = (uint8_t)v;
	}
	for (i = 0; i < HASH_THREAD_ROUNDS; i++) {
		if (hash_digest(HASH_SHA256, "abc", 3, got) != 0 ||
		    memcmp(got, want, sizeof(got)) != 0)
			*ok = 0;
	}
	return NULL;
}

/* Must run first: the threads race for the one-time fetch. */
static void
test_hash_first_use_from_many_threads(void **state)
{
	pthread_t t[HASH_THREADS];
	int ok[HASH_THREADS];
	int i;

	(void)state;
	for (i = 0; i < HASH_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hash_thread,
		    &ok[i]), 0);
	for (i = 0; i < HASH_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(ok[i]);
	}
}

static void
test_hash_known_vectors(void **state)
{
	uint8_t want[HASH_MAX_LEN], got[HASH_MAX_LEN];
	size_t i, len;

	(void)state;
	for (i = 0; i < ARRAY_LEN(hash_abc); i++) {
		len = hash_len(hash_abc[i].alg);
		test_hex(hash_abc[i].hex, want, len);
		memset(got, 0xaa, sizeof(got));
		assert_int_equal(hash_digest(hash_abc[i].alg, "abc", 3, got), 0);
		assert_memory_equal(got, want, len);
		/* nothing written past the digest */
		if (len < sizeof(got))
			assert_int_equal(got[len], 0xaa);
	}
}

static void
test_hash_lengths(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(hash_len(HASH_SHA1), 20);
	assert_int_equal(hash_len(HASH_SHA224), 28);
	assert_int_equal(hash_len(HASH_SHA256), 32);
	assert_int_equal(hash_len(HASH_SHA384), 48);
	assert_int_equal(hash_len(HASH_SHA512), 64);
	assert_int_equal(hash_len(HASH_NONE), 0);
	assert_int_equal(hash_len((hash_algo)99), 0);
	for (i = 0; i < ARRAY_LEN(all_hashes); i++) {
		assert_int_equal(hash_by_len(hash_len(all_hashes[i])),
		    all_hashes[i]);
		assert_true(hash_len(all_hashes[i]) <= HASH_MAX_LEN);
	}
	assert_int_equal(hash_by_len(0), HASH_NONE);
	assert_int_equal(hash_by_len(16), HASH_NONE);
	assert_int_equal(hash_by_len(33), HASH_NONE);
}

static void
test_hash_multipart_equals_oneshot(void **state)
{
	uint8_t data[1000], one[HASH_MAX_LEN], multi[HASH_MAX_LEN];
	hash_ctx *c;
	size_t i, off, step;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < ARRAY_LEN(all_hashes); i++) {
		assert_int_equal(hash_digest(all_hashes[i], data, sizeof(data),
		    one), 0);
		assert_non_null(c = hash_ctx_new(all_hashes[i]));
		assert_int_equal(hash_ctx_update(c, NULL, 0), 0);
		for (off = 0, step = 1; off < sizeof(data); off += step,
		    step = step * 2 + 1) {
			if (step > sizeof(data) - off)
				step = sizeof(data) - off;
			assert_int_equal(hash_ctx_update(c, data + off, step),
			    0);
		}
		assert_int_equal(hash_ctx_final(c, multi), 0);
		assert_memory_equal(one, multi, hash_len(all_hashes[i]));
		/* finished: no more input, no second result */
		assert_int_equal(hash_ctx_update(c, data, 1), -1);
		assert_int_equal(hash_ctx_final(c, multi), -1);
		hash_ctx_free(c);
	}
}

static void
test_hash_empty_input(void **state)
{
	uint8_t want[32], got[32];

	(void)state;
	test_hex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855", want, sizeof(want));
	assert_int_equal(hash_digest(HASH_SHA256, NULL, 0, got), 0);
	assert_memory_equal(got, want, sizeof(want));
}

static void
test_hash_rejects_unknown_alg(void **state)
{
	uint8_t out[HASH_MAX_LEN];

	(void)state;
	assert_int_equal(hash_digest(HASH_NONE, "abc", 3, out), -1);
	assert_int_equal(hash_digest((hash_algo)42, "abc", 3, out), -1);
	assert_int_equal(hash_digest(HASH_SHA256, NULL, 3, out), -1);
	assert_null(hash_ctx_new(HASH_NONE));
	hash_ctx_free(NULL);
}

/* ------------------------------------------------------------------ ec */

static const uint8_t der_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
static const uint8_t der_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
};

static void
test_ec_curve_sizes(void **state)
{
	(void)state;
	assert_int_equal(ec_field_len(CURVE_P256), 32);
	assert_int_equal(ec_field_len(CURVE_P384), 48);
	assert_int_equal(ec_field_len(CURVE_NONE), 0);
	assert_int_equal(ec_bits(CURVE_P256), 256);
	assert_int_equal(ec_bits(CURVE_P384), 384);
	assert_int_equal(ec_bits(CURVE_NONE), 0);
	assert_string_equal(ec_ssh_name(CURVE_P256), "nistp256");
	assert_string_equal(ec_ssh_name(CURVE_P384), "nistp384");
	assert_null(ec_ssh_name(CURVE_NONE));
	assert_true(ec_field_len(CURVE_P384) <= EC_MAX_FIELD_LEN);
}

static void
test_ec_params_der_is_named_curve_oid(void **state)
{
	uint8_t out[32];
	size_t len = 0;

	(void)state;
	assert_int_equal(ec_params_der(CURVE_P256, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(der_p256));
	assert_memory_equal(out, der_p256, sizeof(der_p256));

	assert_int_equal(ec_params_der(CURVE_P384, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(der_p384));
	assert_memory_equal(out, der_p384, sizeof(der_p384));

	/* exact capacity is enough, one less is not */
	assert_int_equal(ec_params_der(CURVE_P256, out, sizeof(der_p256),
	    &len), 0);
	assert_int_equal(ec_params_der(CURVE_P256, out, sizeof(der_p256) - 1,
	    &len), -1);
	assert_int_equal(ec_params_der(CURVE_NONE, out, sizeof(out), &len),
	    -1);
}

static void
test_ec_params_parse_accepts_only_known_oids(void **state)
{
	/* secp521r1 1.3.132.0.35 and secp256k1 1.3.132.0.10 */
	static const uint8_t p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	    0x23 };
	static const uint8_t k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	    0x0a };
	/* PrintableString "prime256v1", which old NSS-era callers sent */
	static const uint8_t name[] = { 0x13, 0x0a, 'p', 'r', 'i', 'm', 'e',
	    '2', '5', '6', 'v', '1' };
	uint8_t buf[16];

	(void)state;
	assert_int_equal(ec_params_parse(der_p256, sizeof(der_p256)),
	    CURVE_P256);
	assert_int_equal(ec_params_parse(der_p384, sizeof(der_p384)),
	    CURVE_P384);
	assert_int_equal(ec_params_parse(p521, sizeof(p521)), CURVE_NONE);
	assert_int_equal(ec_params_parse(k256, sizeof(k256)), CURVE_NONE);
	assert_int_equal(ec_params_parse(name, sizeof(name)), CURVE_NONE);
	assert_int_equal(ec_params_parse(der_p256, sizeof(der_p256) - 1),
	    CURVE_NONE);
	assert_int_equal(ec_params_parse(der_p256, 0), CURVE_NONE);
	assert_int_equal(ec_params_parse(NULL, 0), CURVE_NONE);
	memcpy(buf, der_p256, sizeof(der_p256));
	buf[sizeof(der_p256)] = 0x00;
	assert_int_equal(ec_params_parse(buf, sizeof(der_p256) + 1),
	    CURVE_NONE);
	/* wrong tag */
	memcpy(buf, der_p384, sizeof(der_p384));
	buf[0] = 0x04;
	assert_int_equal(ec_params_parse(buf, sizeof(der_p384)), CURVE_NONE);
}

static void
test_ec_point_der_pads_short_coordinates(void **state)
{
	uint8_t x[32], y[32], out[128], want[67];
	size_t len = 0;

	(void)state;
	memset(x, 0x11, sizeof(x));
	memset(y, 0x22, sizeof(y));

	/* x one byte short, y three bytes short, as a TPM returns them */
	memset(want, 0, sizeof(want));
	want[0] = 0x04;
	want[1] = 0x41;
	want[2] = 0x04;
	memset(want + 3 + 1, 0x11, 31);
	memset(want + 3 + 32 + 3, 0x22, 29);
	assert_int_equal(ec_point_der(CURVE_P256, x, 31, y, 29, out,
	    sizeof(out), &len), 0);
	assert_int_equal(len, 67);
	assert_memory_equal(out, want, sizeof(want));

	/* full length, exact capacity */
	memset(want + 3, 0x11, 32);
	memset(want + 35, 0x22, 32);
	assert_int_equal(ec_point_der(CURVE_P256, x, 32, y, 32, out, 67,
	    &len), 0);
	assert_int_equal(len, 67);
	assert_memory_equal(out, want, sizeof(want));

	assert_int_equal(ec_point_der(CURVE_P256, x, 32, y, 32, out, 66,
	    &len), -1);
	assert_int_equal(ec_point_der(CURVE_NONE, x, 32, y, 32, out,
	    sizeof(out), &len), -1);
}

static void
test_ec_point_der_p384(void **state)
{
	uint8_t x[48], y[48], out[128];
	size_t len = 0, i;

	(void)state;
	for (i = 0; i < sizeof(x); i++) {
		x[i] = (uint8_t)(0x80 + i);
		y[i] = (uint8_t)(0x10 + i);
	}
	assert_int_equal(ec_point_der(CURVE_P384, x + 2, 46, y, 48, out,
	    sizeof(out), &len), 0);
	assert_int_equal(len, 99);
	assert_int_equal(out[0], 0x04);
	assert_int_equal(out[1], 0x61);
	assert_int_equal(out[2], 0x04);
	assert_int_equal(out[3], 0x00);
	assert_int_equal(out[4], 0x00);
	assert_memory_equal(out + 5, x + 2, 46);
	assert_memory_equal(out + 51, y, 48);
}

static void
test_ec_point_der_rejects_long_coordinates(void **state)
{
	uint8_t x[49], y[49], out[128];
	size_t len;

	(void)state;
	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	/* even a leading zero byte is too long */
	assert_int_equal(ec_point_der(CURVE_P256, x, 33, y, 32, out,
	    sizeof(out), &len), -1);
	assert_int_equal(ec_point_der(CURVE_P256, x, 32, y, 33, out,
	    sizeof(out), &len), -1);
	assert_int_equal(ec_point_der(CURVE_P384, x, 49, y, 48, out,
	    sizeof(out), &len), -1);
}

static void
test_ec_point_parse_der_and_bare(void **state)
{
	uint8_t x[48], y[48], der[128], gx[48], gy[48];
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(x); i++) {
		x[i] = (uint8_t)(i + 1);
		y[i] = (uint8_t)(0xff - i);
	}
	/* DER form */
	assert_int_equal(ec_point_der(CURVE_P256, x, 32, y, 32, der,
	    sizeof(der), &len), 0);
	assert_int_equal(ec_point_parse(CURVE_P256, der, len, gx, gy), 0);
	assert_memory_equal(gx, x, 32);
	assert_memory_equal(gy, y, 32);
	/* bare 04 || X || Y */
	memset(gx, 0, sizeof(gx));
	memset(gy, 0, sizeof(gy));
	assert_int_equal(ec_point_parse(CURVE_P256, der + 2, len - 2, gx, gy),
	    0);
	assert_memory_equal(gx, x, 32);
	assert_memory_equal(gy, y, 32);
	/* P-384 */
	assert_int_equal(ec_point_der(CURVE_P384, x, 48, y, 48, der,
	    sizeof(der), &len), 0);
	assert_int_equal(len, 99);
	assert_int_equal(ec_point_parse(CURVE_P384, der, len, gx, gy), 0);
	assert_memory_equal(gx, x, 48);
	assert_memory_equal(gy, y, 48);
	assert_int_equal(ec_point_parse(CURVE_P384, der + 2, 97, gx, gy), 0);
	/* a P-384 point is not a P-256 point */
	assert_int_equal(ec_point_parse(CURVE_P256, der, len, gx, gy), -1);
}

static void
test_ec_point_parse_rejects_malformed(void **state)
{
	uint8_t x[32], y[32], der[80], bad[80], gx[32], gy[32];
	size_t len;

	(void)state;
	memset(x, 0x5a, sizeof(x));
	memset(y, 0xa5, sizeof(y));
	assert_int_equal(ec_point_der(CURVE_P256, x, 32, y, 32, der,
	    sizeof(der), &len), 0);

	/* truncated, and one byte extra */
	assert_int_equal(ec_point_parse(CURVE_P256, der, len - 1, gx, gy), -1);
	memcpy(bad, der, len);
	bad[len] = 0;
	assert_int_equal(ec_point_parse(CURVE_P256, bad, len + 1, gx, gy), -1);
	/* wrong outer tag (BIT STRING) */
	memcpy(bad, der, len);
	bad[0] = 0x03;
	assert_int_equal(ec_point_parse(CURVE_P256, bad, len, gx, gy), -1);
	/* wrong DER length */
	memcpy(bad, der, len);
	bad[1] = 0x40;
	assert_int_equal(ec_point_parse(CURVE_P256, bad, len, gx, gy), -1);
	/* compressed point markers, DER and bare */
	memcpy(bad, der, len);
	bad[2] = 0x02;
	assert_int_equal(ec_point_parse(CURVE_P256, bad, len, gx, gy), -1);
	assert_int_equal(ec_point_parse(CURVE_P256, bad + 2, len - 2, gx, gy),
	    -1);
	/* non-minimal long-form length 04 81 41 04 ... */
	bad[0] = 0x04;
	bad[1] = 0x81;
	bad[2] = 0x41;
	memcpy(bad + 3, der + 2, len - 2);
	assert_int_equal(ec_point_parse(CURVE_P256, bad, len + 1, gx, gy), -1);
	/* nothing */
	assert_int_equal(ec_point_parse(CURVE_P256, der, 0, gx, gy), -1);
	assert_int_equal(ec_point_parse(CURVE_NONE, der, len, gx, gy), -1);
}

static void
test_ec_sig_rs_pads_each_half(void **state)
{
	uint8_t r[48], s[48], out[96], want[96];

	(void)state;
	memset(r, 0xcc, sizeof(r));
	memset(s, 0xdd, sizeof(s));

	memset(want, 0, sizeof(want));
	memset(want + 2, 0xcc, 30);
	memset(want + 32, 0xdd, 32);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(ec_sig_rs(CURVE_P256, r, 30, s, 32, out), 0);
	assert_memory_equal(out, want, 64);
	/* nothing written past 2 * field */
	assert_int_equal(out[64], 0x77);

	memset(want, 0, sizeof(want));
	memset(want + 0, 0xcc, 48);
	memset(want + 48 + 1, 0xdd, 47);
	assert_int_equal(ec_sig_rs(CURVE_P384, r, 48, s, 47, out), 0);
	assert_memory_equal(out, want, 96);

	/* an all-zero half (length 0) is still laid out */
	memset(want, 0, sizeof(want));
	memset(want + 32, 0xdd, 32);
	assert_int_equal(ec_sig_rs(CURVE_P256, r, 0, s, 32, out), 0);
	assert_memory_equal(out, want, 64);
}

static void
test_ec_sig_rs_rejects_long_halves(void **state)
{
	uint8_t r[49], s[49], out[98];

	(void)state;
	memset(r, 0, sizeof(r));
	memset(s, 0, sizeof(s));
	assert_int_equal(ec_sig_rs(CURVE_P256, r, 33, s, 32, out), -1);
	assert_int_equal(ec_sig_rs(CURVE_P256, r, 32, s, 33, out), -1);
	assert_int_equal(ec_sig_rs(CURVE_P384, r, 49, s, 48, out), -1);
	assert_int_equal(ec_sig_rs(CURVE_P384, r, 48, s, 49, out), -1);
	assert_int_equal(ec_sig_rs(CURVE_NONE, r, 1, s, 1, out), -1);
}

/* -------------------------------------------------------------- rsapad */

static const uint8_t di_sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

static void
test_rsa_digestinfo_sha256_bytes(void **state)
{
	uint8_t h[32], out[128];
	size_t len = 0, i;

	(void)state;
	for (i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)i;
	assert_int_equal(rsa_digestinfo(HASH_SHA256, h, out, sizeof(out),
	    &len), 0);
	assert_int_equal(len, 51);
	assert_memory_equal(out, di_sha256_prefix, sizeof(di_sha256_prefix));
	assert_memory_equal(out + 19, h, 32);
	/* exact capacity works, one less does not */
	assert_int_equal(rsa_digestinfo(HASH_SHA256, h, out, 51, &len), 0);
	assert_int_equal(rsa_digestinfo(HASH_SHA256, h, out, 50, &len), -1);
	assert_int_equal(rsa_digestinfo(HASH_NONE, h, out, sizeof(out), &len),
	    -1);
}

/* Each DigestInfo must be what OpenSSL itself would build: the ASN.1 SEQUENCE
 * lengths add up and the OID is the hash's. */
static void
test_rsa_digestinfo_parse_roundtrip_each_hash(void **state)
{
	static const size_t want_len[] = { 35, 47, 51, 67, 83 };
	uint8_t h[HASH_MAX_LEN], di[128];
	const uint8_t *d;
	size_t len, dlen, i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(all_hashes); i++) {
		assert_int_equal(hash_digest(all_hashes[i], "x", 1, h), 0);
		assert_int_equal(rsa_digestinfo(all_hashes[i], h, di,
		    sizeof(di), &len), 0);
		assert_int_equal(len, want_len[i]);
		/* outer SEQUENCE covers the rest */
		assert_int_equal(di[0], 0x30);
		assert_int_equal(di[1], len - 2);
		assert_int_equal(di[len - hash_len(all_hashes[i]) - 1],
		    hash_len(all_hashes[i]));
		d = NULL;
		dlen = 0;
		assert_int_equal(rsa_digestinfo_parse(di, len, &d, &dlen),
		    all_hashes[i]);
		assert_ptr_equal(d, di + len - hash_len(all_hashes[i]));
		assert_int_equal(dlen, hash_len(all_hashes[i]));
		assert_memory_equal(d, h, dlen);
	}
}

static void
test_rsa_digestinfo_parse_rejects_junk(void **state)
{
	/* SHA-1 DigestInfo without the NULL parameters (30 1f 30 07 ...) */
	static const uint8_t sha1_noparams[] = { 0x30, 0x1f, 0x30, 0x07,
	    0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x04, 0x14 };
	uint8_t h[32], di[128], bad[160];
	const uint8_t *d = NULL;
	size_t len, dlen = 0, i;

	(void)state;
	memset(h, 0x42, sizeof(h));
	assert_int_equal(rsa_digestinfo(HASH_SHA256, h, di, sizeof(di), &len),
	    0);

	/* truncated at every length, including the bare prefix */
	for (i = 0; i < len; i++)
		assert_int_equal(rsa_digestinfo_parse(di, i, &d, &dlen),
		    HASH_NONE);
	/* trailing byte */
	memcpy(bad, di, len);
	bad[len] = 0;
	assert_int_equal(rsa_digestinfo_parse(bad, len + 1, &d, &dlen),
	    HASH_NONE);
	/* any changed prefix byte */
	for (i = 0; i < sizeof(di_sha256_prefix); i++) {
		memcpy(bad, di, len);
		bad[i] ^= 0x01;
		assert_int_equal(rsa_digestinfo_parse(bad, len, &d, &dlen),
		    HASH_NONE);
	}
	/* a bare hash, and the absent-parameters SHA-1 form */
	assert_int_equal(rsa_digestinfo_parse(h, 32, &d, &dlen), HASH_NONE);
	memcpy(bad, sha1_noparams, sizeof(sha1_noparams));
	memset(bad + sizeof(sha1_noparams), 0x42, 20);
	assert_int_equal(rsa_digestinfo_parse(bad, sizeof(sha1_noparams) + 20,
	    &d, &dlen), HASH_NONE);
	/* random junk of every DigestInfo length */
	assert_int_equal(RAND_bytes(bad, sizeof(bad)), 1);
	bad[0] = 0x31;	/* cannot start a DigestInfo */
	for (i = 0; i < sizeof(bad); i++)
		assert_int_equal(rsa_digestinfo_parse(bad, i, &d, &dlen),
		    HASH_NONE);
	assert_null(d);
	assert_int_equal(dlen, 0);
}

static void
test_rsa_pkcs1_pad_layout(void **state)
{
	uint8_t t[245], out[256];
	size_t i;

	(void)state;
	memset(t, 0x3c, sizeof(t));

	/* 00 01 FF..FF 00 || T, a DigestInfo-sized T */
	assert_int_equal(rsa_pkcs1_sig_pad(t, 51, out, sizeof(out)), 0);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0x01);
	for (i = 2; i < 256 - 51 - 1; i++)
		assert_int_equal(out[i], 0xff);
	assert_int_equal(out[256 - 51 - 1], 0x00);
	assert_memory_equal(out + 256 - 51, t, 51);

	/* longest T leaves exactly 8 bytes of FF */
	assert_int_equal(rsa_pkcs1_sig_pad(t, 245, out, sizeof(out)), 0);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0x01);
	for (i = 2; i < 10; i++)
		assert_int_equal(out[i], 0xff);
	assert_int_equal(out[10], 0x00);
	assert_memory_equal(out + 11, t, 245);

	/* empty T */
	assert_int_equal(rsa_pkcs1_sig_pad(NULL, 0, out, 64), 0);
	assert_int_equal(out[62], 0xff);
	assert_int_equal(out[63], 0x00);
}

static void
test_rsa_pkcs1_pad_rejects_long_input(void **state)
{
	uint8_t t[300], out[256];

	(void)state;
	memset(t, 0, sizeof(t));
	assert_int_equal(rsa_pkcs1_sig_pad(t, 246, out, sizeof(out)), -1);
	assert_int_equal(rsa_pkcs1_sig_pad(t, 300, out, sizeof(out)), -1);
	assert_int_equal(rsa_pkcs1_sig_pad(t, 0, out, 10), -1);
	assert_int_equal(rsa_pkcs1_sig_pad(t, 0, out, 0), -1);
}

/* RSA keys shared by the signature and ssh-rsa tests; made once, in the
 * group setup. */
struct rsa_keys {
	EVP_PKEY *k2048;
	EVP_PKEY *k3072;
	EVP_PKEY *k2049;	/* emLen one byte shorter than the modulus */
};
static struct rsa_keys rsa_keys;

/*
 * OpenSSL's key generator does not produce a 2049-bit modulus when asked
 * for one, so build it from primes: p of 1024 and q of 1025 bits, each with
 * its top two bits set, give 2^2048 < 2.25 * 2^2047 <= p * q < 2^2049.
 */
static EVP_PKEY *
rsa_key_2049(void)
{
	BIGNUM *p = NULL, *q = NULL, *n = NULL, *e = NULL, *d = NULL;
	BIGNUM *p1 = NULL, *q1 = NULL, *phi = NULL;
	BIGNUM *dp = NULL, *dq = NULL, *qinv = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BN_CTX *bnctx = NULL;

	if ((bnctx = BN_CTX_new()) == NULL || (p = BN_new()) == NULL ||
	    (q = BN_new()) == NULL || (n = BN_new()) == NULL ||
	    (e = BN_new()) == NULL || (d = BN_new()) == NULL ||
	    (p1 = BN_new()) == NULL || (q1 = BN_new()) == NULL ||
	    (phi = BN_new()) == NULL || (dp = BN_new()) == NULL ||
	    (dq = BN_new()) == NULL || (qinv = BN_new()) == NULL)
		goto out;
	if (BN_set_word(e, 65537) != 1 ||
	    BN_generate_prime_ex2(p, 1024, 0, NULL, NULL, NULL, bnctx) != 1 ||
	    BN_generate_prime_ex2(q, 1025, 0, NULL, NULL, NULL, bnctx) != 1 ||
	    BN_mul(n, p, q, bnctx) != 1 ||
	    BN_sub(p1, p, BN_value_one()) != 1 ||
	    BN_sub(q1, q, BN_value_one()) != 1 ||
	    BN_mul(phi, p1, q1, bnctx) != 1 ||
	    BN_mod_inverse(d, e, phi, bnctx) == NULL ||
	    BN_mod(dp, d, p1, bnctx) != 1 || BN_mod(dq, d, q1, bnctx) != 1 ||
	    BN_mod_inverse(qinv, q, p, bnctx) == NULL)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    dp) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    dq) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    qinv) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) != 1)
		k = NULL;
 out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_free(p1);
	BN_free(q1);
	BN_free(phi);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(qinv);
	BN_CTX_free(bnctx);
	return k;
}

static int
rsa_group_setup(void **state)
{
	(void)state;
	rsa_keys.k2048 = test_key_load(test_rsa2048_pem);
	rsa_keys.k3072 = test_key_load(test_rsa3072_pem);
	rsa_keys.k2049 = rsa_key_2049();
	if (rsa_keys.k2048 == NULL || rsa_keys.k3072 == NULL ||
	    rsa_keys.k2049 == NULL)
		return -1;
	if (EVP_PKEY_get_bits(rsa_keys.k2049) != 2049)
		return -1;
	return 0;
}

static int
rsa_group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_keys.k2048);
	EVP_PKEY_free(rsa_keys.k3072);
	EVP_PKEY_free(rsa_keys.k2049);
	return 0;
}

/* Raw RSA private operation, as TPM2_RSA_Decrypt with scheme NULL does. */
static void
rsa_raw_sign(EVP_PKEY *k, const uint8_t *em, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX *ctx;
	size_t modlen = (size_t)EVP_PKEY_get_size(k);

	assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL));
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	*siglen = modlen;
	assert_int_equal(EVP_PKEY_sign(ctx, sig, siglen, em, modlen), 1);
	assert_int_equal(*siglen, modlen);
	EVP_PKEY_CTX_free(ctx);
}

/* 1 when OpenSSL accepts sig as RSASSA-PSS over mhash. */
static int
rsa_pss_verify(EVP_PKEY *k, hash_algo alg, hash_algo mgf, int saltlen,
	       const uint8_t *sig, size_t siglen, const uint8_t *mhash)
{
	EVP_PKEY_CTX *ctx;
	int r;

	assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL));
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
	    RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, test_evp_md(alg)),
	    1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, test_evp_md(mgf)),
	    1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen), 1);
	r = EVP_PKEY_verify(ctx, sig, siglen, mhash, hash_len(alg));
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* Encodes with rsa_pss_encode, signs raw, and has OpenSSL verify it. */
static void
rsa_pss_check(EVP_PKEY *k, hash_algo alg, hash_algo mgf, size_t saltlen)
{
	uint8_t msg[100], mhash[HASH_MAX_LEN], em[512], sig[512];
	unsigned bits = (unsigned)EVP_PKEY_get_bits(k);
	size_t modlen = (size_t)EVP_PKEY_get_size(k), siglen;

	assert_true(modlen <= sizeof(em));
	assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
	assert_int_equal(hash_digest(alg, msg, sizeof(msg), mhash), 0);
	memset(em, 0x99, sizeof(em));
	assert_int_equal(rsa_pss_encode(alg, mgf, saltlen, mhash, bits, em),
	    0);
	/* trailer field, and the leading zero byte when emLen < modlen */
	assert_int_equal(em[modlen - 1], 0xbc);
	if ((bits - 1) % 8 == 0)
		assert_int_equal(em[0], 0x00);
	assert_int_equal(em[modlen], 0x99);

	rsa_raw_sign(k, em, sig, &siglen);
	assert_int_equal(rsa_pss_verify(k, alg, mgf, (int)saltlen, sig, siglen,
	    mhash), 1);
	/* and OpenSSL's check is real: another hash or salt length fails */
	mhash[0] ^= 0x01;
	assert_int_not_equal(rsa_pss_verify(k, alg, mgf, (int)saltlen, sig,
	    siglen, mhash), 1);
	mhash[0] ^= 0x01;
	assert_int_not_equal(rsa_pss_verify(k, alg, mgf, (int)saltlen + 1, sig,
	    siglen, mhash), 1);
}

static void
test_rsa_pss_verifies_with_openssl_2048(void **state)
{
	static const hash_algo algs[] = { HASH_SHA256, HASH_SHA384,
	    HASH_SHA512 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(algs); i++) {
		rsa_pss_check(rsa_keys.k2048, algs[i], algs[i],
		    hash_len(algs[i]));
		rsa_pss_check(rsa_keys.k2048, algs[i], algs[i], 0);
	}
}

static void
test_rsa_pss_verifies_with_openssl_3072(void **state)
{
	static const hash_algo algs[] = { HASH_SHA256, HASH_SHA384,
	    HASH_SHA512 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(algs); i++) {
		rsa_pss_check(rsa_keys.k3072, algs[i], algs[i],
		    hash_len(algs[i]));
		rsa_pss_check(rsa_keys.k3072, algs[i], algs[i], 0);
	}
}

/* modBits = 2049: emBits = 2048, emLen = 256 < 257 bytes of modulus. */
static void
test_rsa_pss_leading_zero_byte_modulus(void **state)
{
	(void)state;
	rsa_pss_check(rsa_keys.k2049, HASH_SHA256, HASH_SHA256, 32);
	rsa_pss_check(rsa_keys.k2049, HASH_SHA512, HASH_SHA512, 0);
}

/* CKM_RSA_PKCS_PSS lets the MGF1 hash differ from the message hash. */
static void
test_rsa_pss_mgf1_hash_differs(void **state)
{
	(void)state;
	rsa_pss_check(rsa_keys.k2048, HASH_SHA256, HASH_SHA1, 32);
	rsa_pss_check(rsa_keys.k2048, HASH_SHA384, HASH_SHA256, 20);
	rsa_pss_check(rsa_keys.k3072, HASH_SHA1, HASH_SHA512, 20);
}

static void
test_rsa_pss_salt_limits(void **state)
{
	uint8_t mhash[64], a[256], b[256];

	(void)state;
	memset(mhash, 0x61, sizeof(mhash));
	/* 2048 bits: emLen 256, SHA-512 -> longest salt 256 - 64 - 2 = 190 */
	rsa_pss_check(rsa_keys.k2048, HASH_SHA512, HASH_SHA512, 190);
	assert_int_equal(rsa_pss_encode(HASH_SHA512, HASH_SHA512, 191, mhash,
	    2048, a), -1);
	assert_int_equal(rsa_pss_encode(HASH_SHA512, HASH_SHA512, SIZE_MAX,
	    mhash, 2048, a), -1);
	/* a modulus too small for even an empty salt */
	assert_int_equal(rsa_pss_encode(HASH_SHA512, HASH_SHA512, 0, mhash,
	    512, a), -1);
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_SHA256, 0, mhash, 0,
	    a), -1);
	assert_int_equal(rsa_pss_encode(HASH_NONE, HASH_SHA256, 0, mhash, 2048,
	    a), -1);
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_NONE, 0, mhash, 2048,
	    a), -1);

	/* salted encodings differ each time, unsalted ones do not */
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_SHA256, 32, mhash,
	    2048, a), 0);
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_SHA256, 32, mhash,
	    2048, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_SHA256, 0, mhash,
	    2048, a), 0);
	assert_int_equal(rsa_pss_encode(HASH_SHA256, HASH_SHA256, 0, mhash,
	    2048, b), 0);
	assert_memory_equal(a, b, sizeof(a));
}

/* DigestInfo + PKCS#1 v1.5 pad + raw private op = RSASSA-PKCS1-v1_5. */
static void
test_rsa_pkcs1_verifies_with_openssl(void **state)
{
	uint8_t mhash[HASH_MAX_LEN], di[128], em[512], sig[512];
	EVP_PKEY *keys[] = { rsa_keys.k2048, rsa_keys.k3072, rsa_keys.k2049 };
	EVP_PKEY_CTX *ctx;
	size_t i, j, dilen, siglen, modlen;

	(void)state;
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		modlen = (size_t)EVP_PKEY_get_size(keys[i]);
		for (j = 0; j < ARRAY_LEN(all_hashes); j++) {
			assert_int_equal(hash_digest(all_hashes[j], "m", 1,
			    mhash), 0);
			assert_int_equal(rsa_digestinfo(all_hashes[j], mhash,
			    di, sizeof(di), &dilen), 0);
			assert_int_equal(rsa_pkcs1_sig_pad(di, dilen, em,
			    modlen), 0);
			rsa_raw_sign(keys[i], em, sig, &siglen);

			assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL,
			    keys[i], NULL));
			assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
			    RSA_PKCS1_PADDING), 1);
			assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx,
			    test_evp_md(all_hashes[j])), 1);
			assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen,
			    mhash, hash_len(all_hashes[j])), 1);
			EVP_PKEY_CTX_free(ctx);
		}
	}
}

/* ------------------------------------------------------ rsa unpadding */

/* EME-PKCS1-v1_5 (RFC 8017 7.2.2 step 3): EM = 00 || 02 || PS || 00 || M.
 * A block that starts with anything but 00 is refused, even when the
 * rest is a well-formed 02 PS 00 M (issue 13 item 5: the first byte was
 * skipped, so 01 02 PS 00 M decoded). */
static void
test_rsa_unpad_pkcs1_checks_leading_zero(void **state)
{
	uint8_t em[256], out[256];
	const uint8_t msg[] = "the message";
	size_t mlen = sizeof(msg) - 1, pslen = sizeof(em) - mlen - 3, i;
	int n;

	(void)state;
	em[0] = 0x00;
	em[1] = 0x02;
	for (i = 0; i < pslen; i++)
		em[2 + i] = (uint8_t)(0x11 + i % 0xe0); /* non-zero */
	em[2 + pslen] = 0x00;
	memcpy(em + 3 + pslen, msg, mlen);
	n = rsa_unpad_pkcs1(em, sizeof(em), out, sizeof(out));
	assert_int_equal(n, (int)mlen);
	assert_memory_equal(out, msg, mlen);

	em[0] = 0x01; /* 01 02 PS 00 M */
	assert_int_equal(rsa_unpad_pkcs1(em, sizeof(em), out, sizeof(out)), -1);
	em[0] = 0x80;
	assert_int_equal(rsa_unpad_pkcs1(em, sizeof(em), out, sizeof(out)), -1);
	em[0] = 0x00;
	em[1] = 0x01; /* a signature block is not an encryption block */
	assert_int_equal(rsa_unpad_pkcs1(em, sizeof(em), out, sizeof(out)), -1);
}

/* EME-OAEP (RFC 8017 7.1.2 step 3): EM = Y || maskedSeed || maskedDB, and
 * Y must be 00. The block comes from OpenSSL's OAEP encryption, opened
 * with the raw private operation (what TPM2_RSA_Decrypt returns). */
static void
test_rsa_unpad_oaep_checks_leading_zero(void **state)
{
	EVP_PKEY *k = rsa_keys.k2048;
	EVP_PKEY_CTX *ctx;
	const uint8_t msg[] = "oaep message";
	uint8_t ct[256], em[256], out[256];
	size_t ctlen = sizeof(ct), emlen = sizeof(em);
	int n;

	(void)state;
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL));
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
	    RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg,
	    sizeof(msg) - 1), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL));
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, em, &emlen, ct, ctlen), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_int_equal(emlen, sizeof(em));
	assert_int_equal(em[0], 0x00);

	n = rsa_unpad_oaep(em, emlen, HASH_SHA256, HASH_SHA256, NULL, 0, out,
	    sizeof(out));
	assert_int_equal(n, (int)sizeof(msg) - 1);
	assert_memory_equal(out, msg, sizeof(msg) - 1);

	em[0] = 0x01; /* a non-zero first byte, the rest intact */
	assert_int_equal(rsa_unpad_oaep(em, emlen, HASH_SHA256, HASH_SHA256,
	    NULL, 0, out, sizeof(out)), -1);
	em[0] = 0xff;
	assert_int_equal(rsa_unpad_oaep(em, emlen, HASH_SHA256, HASH_SHA256,
	    NULL, 0, out, sizeof(out)), -1);
}

/* -------------------------------------------------------------- sshkey */

/* Runs argv with stdin from /dev/null; returns its stdout (malloc'd,
 * NUL-terminated) when it exits 0, else NULL. */
static char *
run_capture(char *const argv[])
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fds[2], status, devnull;
	pid_t pid;

	if (pipe(fds) != 0)
		return NULL;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - len < 512) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				break;
		}
		if ((n = read(fds[0], buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || buf == NULL) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Writes the key (private or public PEM) to a new temp file; 0 ok. No
 * asserts from here until the files are removed, so none is left behind. */
static int
write_pem(EVP_PKEY *k, int private, char *path, size_t pathlen)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int fd, ok;

	snprintf(path, pathlen, "%s/tpm11-test-crypto.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0)	/* mode 0600, as ssh-keygen wants */
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	if (private)
		ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_PUBKEY(f, k);
	if (fclose(f) != 0 || ok != 1) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* "type base64" of ssh-keygen's output, i.e. the first two fields. */
static char *
ssh_keygen_fields(char *const argv[])
{
	char *out, *sp;

	if ((out = run_capture(argv)) == NULL)
		return NULL;
	if ((sp = strchr(out, ' ')) == NULL) {
		free(out);
		return NULL;
	}
	sp += strcspn(sp + 1, " \r\n") + 1;
	*sp = '\0';
	return out;
}

/* The line must match ssh-keygen both from the private key (-y) and from
 * the public key in PKCS#8 SubjectPublicKeyInfo PEM (-i -m PKCS8). */
static void
ssh_check_against_keygen(EVP_PKEY *k, const char *line)
{
	char priv[256], pub[256];
	char *argv_y[] = { "ssh-keygen", "-y", "-f", priv, NULL };
	char *argv_i[] = { "ssh-keygen", "-i", "-m", "PKCS8", "-f", pub,
	    NULL };
	char *y = NULL, *i = NULL;

	assert_int_equal(write_pem(k, 1, priv, sizeof(priv)), 0);
	if (write_pem(k, 0, pub, sizeof(pub)) != 0) {
		unlink(priv);
		fail_msg("cannot write public key PEM");
	}
	y = ssh_keygen_fields(argv_y);
	i = ssh_keygen_fields(argv_i);
	unlink(priv);
	unlink(pub);
	assert_non_null(y);
	assert_non_null(i);
	assert_string_equal(line, y);
	assert_string_equal(line, i);
	free(y);
	free(i);
}

static void
ec_pub_xy(EVP_PKEY *k, size_t fl, uint8_t *x, uint8_t *y)
{
	BIGNUM *bx = NULL, *by = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X,
	    &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y,
	    &by), 1);
	assert_int_equal(BN_bn2binpad(bx, x, (int)fl), (int)fl);
	assert_int_equal(BN_bn2binpad(by, y, (int)fl), (int)fl);
	BN_free(bx);
	BN_free(by);
}

static void
ssh_ec_check(ec_curve c, const char *group)
{
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];
	size_t fl = ec_field_len(c);
	EVP_PKEY *k;
	char *line;

	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group));
	ec_pub_xy(k, fl, x, y);
	assert_non_null(line = ssh_pubkey_line_ec(c, x, y, NULL));
	ssh_check_against_keygen(k, line);
	free(line);
	EVP_PKEY_free(k);
}

static void
test_ssh_line_ec_p256_matches_ssh_keygen(void **state)
{
	(void)state;
	ssh_ec_check(CURVE_P256, "P-256");
}

static void
test_ssh_line_ec_p384_matches_ssh_keygen(void **state)
{
	(void)state;
	ssh_ec_check(CURVE_P384, "P-384");
}

static void
rsa_pub_ne(EVP_PKEY *k, uint8_t *n, size_t *nlen, uint8_t *e, size_t *elen)
{
	BIGNUM *bn = NULL, *be = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn),
	    1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &be),
	    1);
	*nlen = (size_t)BN_bn2bin(bn, n);
	*elen = (size_t)BN_bn2bin(be, e);
	BN_free(bn);
	BN_free(be);
}

static void
test_ssh_line_rsa_matches_ssh_keygen(void **state)
{
	EVP_PKEY *keys[] = { rsa_keys.k2048, rsa_keys.k3072, rsa_keys.k2049 };
	uint8_t n[520], e[16];
	size_t nlen, elen, i;
	char *line, *padded;

	(void)state;
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		rsa_pub_ne(keys[i], n + 4, &nlen, e + 4, &elen);
		assert_non_null(line = ssh_pubkey_line_rsa(n + 4, nlen, e + 4,
		    elen, NULL));
		assert_true(strncmp(line, "ssh-rsa AAAAB3NzaC1yc2E", 23) == 0);
		ssh_check_against_keygen(keys[i], line);

		/* leading zeros, as a fixed-width buffer holds them */
		memset(n, 0, 4);
		memset(e, 0, 4);
		assert_non_null(padded = ssh_pubkey_line_rsa(n, nlen + 4, e,
		    elen + 4, NULL));
		assert_string_equal(padded, line);
		free(padded);
		free(line);
	}
}

/* mpint rules of RFC 4251 5, checked on the decoded blob. */
static void
test_ssh_line_rsa_mpint_encoding(void **state)
{
	/* n has its top bit set (needs 00), e does not; both zero-padded */
	static const uint8_t n[] = { 0x00, 0x00, 0x80, 0x01 };
	static const uint8_t e[] = { 0x00, 0x01, 0x00, 0x01 };
	static const uint8_t want[] = {
		0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a',
		0, 0, 0, 3, 0x01, 0x00, 0x01,
		0, 0, 0, 3, 0x00, 0x80, 0x01,
	};
	uint8_t blob[64];
	char *line, *b64;
	int blen;

	(void)state;
	assert_non_null(line = ssh_pubkey_line_rsa(n, sizeof(n), e, sizeof(e),
	    NULL));
	assert_true(strncmp(line, "ssh-rsa ", 8) == 0);
	b64 = line + 8;
	assert_int_equal(strlen(b64), 4 * ((sizeof(want) + 2) / 3));
	blen = EVP_DecodeBlock(blob, (const unsigned char *)b64,
	    (int)strlen(b64));
	/* EVP_DecodeBlock keeps the bytes of the '=' padding */
	assert_true(blen >= (int)sizeof(want));
	assert_memory_equal(blob, want, sizeof(want));
	free(line);

	/* no key without a modulus or an exponent */
	assert_null(ssh_pubkey_line_rsa(n, 2, e, sizeof(e), NULL));
	assert_null(ssh_pubkey_line_rsa(n, sizeof(n), e, 1, NULL));
	assert_null(ssh_pubkey_line_rsa(n, 0, e, sizeof(e), NULL));
}

static void
test_ssh_line_comment(void **state)
{
	uint8_t x[32], y[32];
	char *bare, *empty, *with, *spaced;
	size_t blen;

	(void)state;
	memset(x, 0x01, sizeof(x));
	memset(y, 0x02, sizeof(y));

	assert_non_null(bare = ssh_pubkey_line_ec(CURVE_P256, x, y, NULL));
	assert_true(strncmp(bare, "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTIt"
	    "bmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA", 54) == 0);
	/* two fields, nothing after the base64 */
	blen = strlen(bare);
	assert_int_not_equal(bare[blen - 1], ' ');
	assert_ptr_equal(strchr(bare, ' '), strrchr(bare, ' '));

	assert_non_null(empty = ssh_pubkey_line_ec(CURVE_P256, x, y, ""));
	assert_string_equal(empty, bare);

	assert_non_null(with = ssh_pubkey_line_ec(CURVE_P256, x, y,
	    "tpm11:user@host"));
	assert_int_equal(strlen(with), blen + 1 + 15);
	assert_memory_equal(with, bare, blen);
	assert_string_equal(with + blen, " tpm11:user@host");

	/* spaces inside a comment are kept, as OpenSSH keeps them */
	assert_non_null(spaced = ssh_pubkey_line_rsa((const uint8_t *)"\xc1",
	    1, (const uint8_t *)"\x03", 1, "my key"));
	assert_non_null(strstr(spaced, "= my key"));

	/* a comment cannot break the line */
	assert_null(ssh_pubkey_line_ec(CURVE_P256, x, y, "a\nb"));
	assert_null(ssh_pubkey_line_ec(CURVE_P256, x, y, "a\r"));
	assert_null(ssh_pubkey_line_rsa((const uint8_t *)"\xc1", 1,
	    (const uint8_t *)"\x03", 1, "\n"));
	assert_null(ssh_pubkey_line_ec(CURVE_NONE, x, y, NULL));

	free(bare);
	free(empty);
	free(with);
	free(spaced);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: the threads race for the one-time digest fetch */
		cmocka_unit_test(test_hash_first_use_from_many_threads),
		cmocka_unit_test(test_hash_known_vectors),
		cmocka_unit_test(test_hash_lengths),
		cmocka_unit_test(test_hash_multipart_equals_oneshot),
		cmocka_unit_test(test_hash_empty_input),
		cmocka_unit_test(test_hash_rejects_unknown_alg),

		cmocka_unit_test(test_ec_curve_sizes),
		cmocka_unit_test(test_ec_params_der_is_named_curve_oid),
		cmocka_unit_test(test_ec_params_parse_accepts_only_known_oids),
		cmocka_unit_test(test_ec_point_der_pads_short_coordinates),
		cmocka_unit_test(test_ec_point_der_p384),
		cmocka_unit_test(test_ec_point_der_rejects_long_coordinates),
		cmocka_unit_test(test_ec_point_parse_der_and_bare),
		cmocka_unit_test(test_ec_point_parse_rejects_malformed),
		cmocka_unit_test(test_ec_sig_rs_pads_each_half),
		cmocka_unit_test(test_ec_sig_rs_rejects_long_halves),

		cmocka_unit_test(test_rsa_digestinfo_sha256_bytes),
		cmocka_unit_test(test_rsa_digestinfo_parse_roundtrip_each_hash),
		cmocka_unit_test(test_rsa_digestinfo_parse_rejects_junk),
		cmocka_unit_test(test_rsa_pkcs1_pad_layout),
		cmocka_unit_test(test_rsa_pkcs1_pad_rejects_long_input),
		cmocka_unit_test(test_rsa_pkcs1_verifies_with_openssl),
		cmocka_unit_test(test_rsa_pss_verifies_with_openssl_2048),
		cmocka_unit_test(test_rsa_pss_verifies_with_openssl_3072),
		cmocka_unit_test(test_rsa_pss_leading_zero_byte_modulus),
		cmocka_unit_test(test_rsa_pss_mgf1_hash_differs),
		cmocka_unit_test(test_rsa_pss_salt_limits),
		cmocka_unit_test(test_rsa_unpad_pkcs1_checks_leading_zero),
		cmocka_unit_test(test_rsa_unpad_oaep_checks_leading_zero),

		cmocka_unit_test(test_ssh_line_ec_p256_matches_ssh_keygen),
		cmocka_unit_test(test_ssh_line_ec_p384_matches_ssh_keygen),
		cmocka_unit_test(test_ssh_line_rsa_matches_ssh_keygen),
		cmocka_unit_test(test_ssh_line_rsa_mpint_encoding),
		cmocka_unit_test(test_ssh_line_comment),
	};

	/* The group setup makes the RSA keys (2048, 3072, 2049 bits) that
	 * the signature and ssh-rsa tests share. */
	return cmocka_run_group_tests_name("crypto", tests, rsa_group_setup,
	    rsa_group_teardown);
}
