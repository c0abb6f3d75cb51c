/* Unit tests for passphrase-protected OpenSSH private keys:
 * src/crypto/bcrypt_pbkdf.c against OpenBSD's published bcrypt_pbkdf
 * vectors (the numbers of its regression test) and Blowfish's published
 * initial words, and src/crypto/sshpriv.c against two key files that
 * ssh-keygen 9.2 wrote (the oracle): `ssh-keygen -t ecdsa -b 256 -N
 * 'tpm11 unit' -a 2 [-Z aes256-gcm@openssh.com]`; the private scalar and
 * public point each must give are those of the same files decrypted by
 * `ssh-keygen -p -N ''`. Run with CMOCKA_MESSAGE_OUTPUT=TAP. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "crypto/bcrypt_pbkdf.h"
#include "crypto/privkey.h"
#include "crypto/sshpriv.h"

/* got[] holds the bytes the hex string spells, no more, no fewer. */
static void
assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	long n = 0;
	unsigned char *want = OPENSSL_hexstr2buf(hex, &n);

	assert_non_null(want);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(got, want, len);
	OPENSSL_free(want);
}

/* --- Blowfish's initial state --------------------------------------------- */

static void
test_bcrypt_pi_words_are_blowfish_constants(void **state)
{
	(void)state;
	/* P1, P2, P18, S1[0], S4[255] as Schneier published them */
	assert_int_equal(bcrypt_pi_word(0), 0x243F6A88);
	assert_int_equal(bcrypt_pi_word(1), 0x85A308D3);
	assert_int_equal(bcrypt_pi_word(17), 0x8979FB1B);
	assert_int_equal(bcrypt_pi_word(18), 0xD1310BA6);
	assert_int_equal(bcrypt_pi_word(1041), 0x3AC372E6);
	assert_int_equal(bcrypt_pi_word(1042), 0);
}

/* --- bcrypt_pbkdf ------------------------------------------------------------ */

static const struct {
	const char *pass;
	size_t passlen;
	const char *salt;
	size_t saltlen;
	uint32_t rounds;
	const char *hex;
} pbkdf_vectors[] = {
	{"password", 8, "salt", 4, 4,
	 "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9"},
	{"password", 8, "\0", 1, 4, "c12b566235eee04c212598970a579a67"},
	{"\0", 1, "salt", 4, 4, "6051be18c2f4f82cbf0efee5471b4bb9"},
	{"pass\0word", 9, "sa\0lt", 5, 4, "4ba4ac3925c0e8d7f0cdb6bb1684a56f"},
	/* 64 bytes: two blocks, spread across the key with stride 2 */
	{"password", 8, "salt", 4, 8,
	 "e1367ec5151a33faac4cc1c144cd23fa15d5548493ecc99b9b5d9c0d3b27bec7"
	 "6227ea66088b849b20ab7aa478010246e74bba51723fefa9f9474d6508845e8d"},
};

static void
test_bcrypt_pbkdf_openbsd_vectors(void **state)
{
	uint8_t got[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(pbkdf_vectors) / sizeof(pbkdf_vectors[0]); i++) {
		n = strlen(pbkdf_vectors[i].hex) / 2;
		assert_int_equal(bcrypt_pbkdf(
			(const uint8_t *)pbkdf_vectors[i].pass,
			pbkdf_vectors[i].passlen,
			(const uint8_t *)pbkdf_vectors[i].salt,
			pbkdf_vectors[i].saltlen, got, n,
			pbkdf_vectors[i].rounds), 0);
		assert_hex(got, n, pbkdf_vectors[i].hex);
	}
}

static void
test_bcrypt_pbkdf_rejects_bad_parameters(void **state)
{
	const uint8_t *p = (const uint8_t *)"pw", *s = (const uint8_t *)"salt";
	uint8_t out[BCRYPT_PBKDF_MAX_OUT + 1];

	(void)state;
	assert_int_equal(bcrypt_pbkdf(p, 2, s, 4, out, 16, 0), -1);
	assert_int_equal(bcrypt_pbkdf(p, 0, s, 4, out, 16, 1), -1);
	assert_int_equal(bcrypt_pbkdf(p, 2, s, 0, out, 16, 1), -1);
	assert_int_equal(bcrypt_pbkdf(p, 2, s, 4, out, 0, 1), -1);
	assert_int_equal(bcrypt_pbkdf(p, 2, s, 4, out, sizeof(out), 1), -1);
}

/* --- the key files ----------------------------------------------------------- */

#define UNIT_PASS "tpm11 unit"

/* aes256-ctr (ssh-keygen's default), bcrypt with 2 rounds */
static const char key_ctr[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBmjmbJTw\n"
	"xIYRYmRg7fyZ2hAAAAAgAAAAEAAABoAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlz\n"
	"dHAyNTYAAABBBApo4IdLi0iXAJTBz6y3xM3gxNVvH69L4GtaWbVWKqw9Osjukhc/44zH0K\n"
	"HDfP5H0GiVO4v0YLSeEU4Mz+rvLaQAAACw2mWPYHalndHcxKnSPqme1QuRDNdB0OW4pz3O\n"
	"PL3mP7QLONtObkQNv7fkbqeJhE2eynGUE2H0FAebqRfiJzVxl7mA+ewXkfPm7ra9Jv6boq\n"
	"vWuOOXdhSi7RvB3N0M8zIThJJrg/qFmdSLQUu78RpA6et+E9AAI6VnuUnP9GurqshHH8J0\n"
	"BbvE67CA6DmqwevXMEKq9ce+ucr+MnncxUER/Gkxz/dOvhp9V4P1jYMsZ1o=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char key_ctr_d[] =
	"bab05934f32db2be4f86bcd8a14fe2d604124c0ba060d0eb44328895d61b6942";
static const char key_ctr_x[] =
	"0a68e0874b8b48970094c1cfacb7c4cde0c4d56f1faf4be06b5a59b5562aac3d";
static const char key_ctr_y[] =
	"3ac8ee92173fe38cc7d0a1c37cfe47d068953b8bf460b49e114e0ccfeaef2da4";

/* aes256-gcm@openssh.com: a 16-byte tag after the encrypted section */
static const char key_gcm[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAAFmFlczI1Ni1nY21Ab3BlbnNzaC5jb20AAAAGYmNyeXB0AA\n"
	"AAGAAAABCS7E97mUIsDUP7CoRqUX+vAAAAAgAAAAEAAABoAAAAE2VjZHNhLXNoYTItbmlz\n"
	"dHAyNTYAAAAIbmlzdHAyNTYAAABBBOdi6BUWQwfkSSdfFa6f0kaEI7dhW59ubJM/kpGC9D\n"
	"yzZNCSJs5toy45tRr1E9TZ+QDl9KZBh3hFPIBWyyUG3wsAAACweplaZbTEC9K+fqKML0e+\n"
	"e1mu2MYyqoSXdV3TcxePop8NNQtcA0ZUBxCiSgM4WCcHC1Q2+Sr92wGA8HlmJdbfIarGW6\n"
	"5FBslIXPcy2IquNbP/obtkEK46iw1WZgMi9JWkgyp5oEGO1q1AR2Hs9yG0i2CDMqv8Ptol\n"
	"xxkCNvWtZaJj2rWhhK6W5ro6oxLzZfG3o+fY1l3giPSONYaijm+3bcIM4+LwO4uzbiTfzU\n"
	"CdSDKoPW93hwStexADf21czb2H\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char key_gcm_d[] =
	"cab2d89e08ed137ecb1cbe48865866dd668800e0cc1c6a9354c95d68c140139e";

static const uint8_t zeros[sizeof(privkey)];

static void
check_opens(const char *pem, const char *dhex, const char *xhex,
	    const char *yhex)
{
	char err[256];
	privkey k;

	assert_int_equal(privkey_read((const uint8_t *)pem, strlen(pem),
				      UNIT_PASS, &k, err, sizeof(err)), 0);
	assert_int_equal(k.kind, PRIVKEY_EC);
	assert_int_equal(k.curve, CURVE_P256);
	assert_hex(k.d, 32, dhex);
	if (xhex) {
		assert_hex(k.x, 32, xhex);
		assert_hex(k.y, 32, yhex);
	}
	privkey_clear(&k);
}

/* No passphrase: asked for; a wrong or empty one: refused, and nothing
 * of a key is left in the output. */
static void
check_refuses(const char *pem)
{
	char err[256];
	privkey k;

	assert_int_equal(privkey_read((const uint8_t *)pem, strlen(pem), NULL,
				      &k, err, sizeof(err)),
			 PRIVKEY_NEED_PASSPHRASE);
	assert_int_equal(privkey_read((const uint8_t *)pem, strlen(pem),
				      "tpm11 unix", &k, err, sizeof(err)),
			 PRIVKEY_WRONG_PASSPHRASE);
	assert_memory_equal(&k, zeros, sizeof(k));
	assert_int_equal(privkey_read((const uint8_t *)pem, strlen(pem), "",
				      &k, err, sizeof(err)),
			 PRIVKEY_WRONG_PASSPHRASE);
}

static void
test_sshpriv_aes256_ctr_opens_with_its_passphrase(void **state)
{
	(void)state;
	check_opens(key_ctr, key_ctr_d, key_ctr_x, key_ctr_y);
	check_refuses(key_ctr);
}

static void
test_sshpriv_aes256_gcm_opens_with_its_passphrase(void **state)
{
	(void)state;
	check_opens(key_gcm, key_gcm_d, NULL, NULL);
	check_refuses(key_gcm);
}

/* The decoded body of a PEM block (OPENSSL_free it). */
static uint8_t *
body_of(const char *pem, long *len)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;

	assert_non_null(bio);
	assert_int_equal(PEM_read_bio(bio, &name, &header, &body, len), 1);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return body;
}

static int
parse_body(const uint8_t *b, size_t len, char *err, size_t errlen)
{
	privkey k;
	int r = sshpriv_parse(b, len, UNIT_PASS, strlen(UNIT_PASS), &k, err,
			      errlen);

	if (r != 0)
		assert_memory_equal(&k, zeros, sizeof(k));
	privkey_clear(&k);
	return r;
}

/* Offsets in the aes256-gcm body: magic 15, cipher 4+22, kdf 4+6,
 * options 4+24 (salt 4+16, rounds 4), nkeys 4, public 4+104, section
 * 4+176, tag 16. */
#define GCM_ROUNDS_AT (15 + 26 + 10 + 4 + 20)
#define GCM_TAG_AT (15 + 26 + 10 + 28 + 4 + 108 + 4 + 176)

static void
test_sshpriv_damaged_encrypted_keys(void **state)
{
	long len;
	uint8_t *b = body_of(key_gcm, &len), *c = malloc((size_t)len);
	char err[256];

	(void)state;
	assert_non_null(c);
	assert_int_equal(len, GCM_TAG_AT + 16);
	memcpy(c, b, (size_t)len);
	assert_int_equal(parse_body(c, (size_t)len, err, sizeof(err)), 0);
	/* a changed tag, a changed byte of the section: the tag says */
	c[GCM_TAG_AT + 3] ^= 1;
	assert_int_equal(parse_body(c, (size_t)len, err, sizeof(err)),
			 PRIVKEY_WRONG_PASSPHRASE);
	memcpy(c, b, (size_t)len);
	c[GCM_TAG_AT - 20] ^= 0x80;
	assert_int_equal(parse_body(c, (size_t)len, err, sizeof(err)),
			 PRIVKEY_WRONG_PASSPHRASE);
	/* no tag, part of it */
	assert_int_equal(parse_body(b, GCM_TAG_AT, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "damaged or cut short"));
	assert_int_equal(parse_body(b, (size_t)len - 1, err, sizeof(err)), -1);
	/* bcrypt with 0 rounds */
	memcpy(c, b, (size_t)len);
	assert_int_equal(c[GCM_ROUNDS_AT + 3], 2);
	c[GCM_ROUNDS_AT + 3] = 0;
	assert_int_equal(parse_body(c, (size_t)len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bcrypt parameters are damaged"));
	/* an unknown cipher is named */
	memcpy(c, b, (size_t)len);
	memcpy(c + 15 + 4, "aes256-xyz@openssh.com", 22);
	assert_int_equal(parse_body(c, (size_t)len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"aes256-xyz@openssh.com\""));
	free(c);
	OPENSSL_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bcrypt_pi_words_are_blowfish_constants),
		cmocka_unit_test(test_bcrypt_pbkdf_openbsd_vectors),
		cmocka_unit_test(test_bcrypt_pbkdf_rejects_bad_parameters),
		cmocka_unit_test(test_sshpriv_aes256_ctr_opens_with_its_passphrase),
		cmocka_unit_test(test_sshpriv_aes256_gcm_opens_with_its_passphrase),
		cmocka_unit_test(test_sshpriv_damaged_encrypted_keys),
	};

	return cmocka_run_group_tests_name("sshpriv", tests, NULL, NULL);
}
