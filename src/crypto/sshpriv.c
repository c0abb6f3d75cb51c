/* openssh-key-v1, the body of an OpenSSH private-key file (PROTOCOL.key
 * in OpenSSH; the types of RFC 4251 5):
 *
 *   "openssh-key-v1" 00
 *   string ciphername      "none", or one of sshpriv_ciphers below
 *   string kdfname         "none", or "bcrypt" with a cipher
 *   string kdfoptions      empty for "none"; for "bcrypt":
 *                              string salt, uint32 rounds
 *   uint32 number of keys  1
 *   string public key      (wire form; not used: the private part repeats it)
 *   string private section, a multiple of the cipher's block size (8
 *                          without a cipher), encrypted with the cipher
 *                          under key || iv = bcrypt_pbkdf(passphrase,
 *                          salt, rounds, key length + iv length)
 *   byte[authlen] tag      AEAD ciphers only (16 bytes), after the string
 *
 *   the private section, decrypted:
 *       uint32 checkint, uint32 checkint (equal: a wrong passphrase
 *                          decrypts to two different random words)
 *       string keytype, then per type:
 *         ecdsa-sha2-nistpNNN: string curve, string Q (04||X||Y), mpint d
 *         ssh-rsa:             mpint n, e, d, iqmp, p, q
 *       string comment
 *       padding 01 02 03 ...
 *
 * Every length is checked against what is left; the file is the user's
 * and may be anything. */
#include "crypto/sshpriv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/bcrypt_pbkdf.h"
#include "util/secure.h"

#define SSHPRIV_MAGIC "openssh-key-v1"

typedef struct {
	const uint8_t *p;
	size_t left;
} sshpriv_buf;

static int
sshpriv_u32(sshpriv_buf *b, uint32_t *v)
{
	if (b->left < 4)
		return -1;
	*v = (uint32_t)b->p[0] << 24 | (uint32_t)b->p[1] << 16 |
	     (uint32_t)b->p[2] << 8 | b->p[3];
	b->p += 4;
	b->left -= 4;
	return 0;
}

static int
sshpriv_string(sshpriv_buf *b, const uint8_t **s, size_t *len)
{
	uint32_t n;

	if (sshpriv_u32(b, &n) != 0 || n > b->left)
		return -1;
	*s = b->p;
	*len = n;
	b->p += n;
	b->left -= n;
	return 0;
}

static bool
sshpriv_is(const uint8_t *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* An mpint (RFC 4251 5: two's complement, no needless leading byte)
 * that must be positive and at most cap bytes, written right-aligned
 * into out[cap]. */
static int
sshpriv_mpint(sshpriv_buf *b, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *s;
	size_t n;

	if (sshpriv_string(b, &s, &n) != 0 || (n > 0 && (s[0] & 0x80)))
		return -1;
	while (n > 0 && s[0] == 0) {
		s++;
		n--;
	}
	if (n == 0 || n > cap)
		return -1;
	memset(out, 0, cap - n);
	memcpy(out + cap - n, s, n);
	if (len)
		*len = n;
	return 0;
}

static int
sshpriv_ec(sshpriv_buf *b, ec_curve curve, privkey *k)
{
	const uint8_t *name, *q;
	size_t nlen, qlen, fl = ec_field_len(curve);

	if (sshpriv_string(b, &name, &nlen) != 0 ||
	    !sshpriv_is(name, nlen, ec_ssh_name(curve)) ||
	    sshpriv_string(b, &q, &qlen) != 0 || qlen != 1 + 2 * fl ||
	    q[0] != 0x04 || sshpriv_mpint(b, k->d, fl, NULL) != 0)
		return -1;
	k->kind = PRIVKEY_EC;
	k->curve = curve;
	memcpy(k->x, q + 1, fl);
	memcpy(k->y, q + 1 + fl, fl);
	return 0;
}

static int
sshpriv_rsa(sshpriv_buf *b, privkey *k, char *err, size_t errlen)
{
	uint8_t e[8], skip[512];
	size_t elen, plen, i;
	int r = -1;

	if (sshpriv_mpint(b, k->n, sizeof(k->n), &k->n_len) != 0 ||
	    sshpriv_mpint(b, e, sizeof(e), &elen) != 0 ||
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0 || /* d */
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0 || /* iqmp */
	    sshpriv_mpint(b, k->p, sizeof(k->p), &plen) != 0 ||
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0) { /* q */
		snprintf(err, errlen, "the OpenSSH RSA key is damaged");
		goto out;
	}
	/* n was written right-aligned in n[512]: move it to the front */
	memmove(k->n, k->n + sizeof(k->n) - k->n_len, k->n_len);
	if (elen > 4) {
		snprintf(err, errlen,
			 "RSA public exponent too large for a "
			 "TPM (at most 32 bits)");
		goto out;
	}
	k->e = 0;
	for (i = sizeof(e) - elen; i < sizeof(e); i++)
		k->e = k->e << 8 | e[i];
	k->kind = PRIVKEY_RSA;
	r = privkey_check_rsa(k, plen, err, errlen);
out:
	secure_zero(skip, sizeof(skip));
	return r;
}

/* Refuses (-1 with err) a key type no TPM holds; 0 for the three that
 * tpm11 reads. Said from the public part too, before a passphrase is
 * asked for. */
static int
sshpriv_type_ok(const uint8_t *type, size_t tlen, char *err, size_t errlen)
{
	if (sshpriv_is(type, tlen, "ecdsa-sha2-nistp256") ||
	    sshpriv_is(type, tlen, "ecdsa-sha2-nistp384") ||
	    sshpriv_is(type, tlen, "ssh-rsa"))
		return 0;
	if (sshpriv_is(type, tlen, "ssh-ed25519") ||
	    sshpriv_is(type, tlen, "sk-ssh-ed25519@openssh.com"))
		snprintf(err, errlen,
			 "Ed25519 is not a TPM 2.0 algorithm "
			 "(TPMs do NIST P-256/P-384 and RSA); keep this key in "
			 "a file or the agent, or make a new one with `tpm11 "
			 "addkey`");
	else
		snprintf(err, errlen,
			 "OpenSSH key type \"%.*s\" cannot go into "
			 "a TPM; tpm11 imports ecdsa-sha2-nistp256, "
			 "ecdsa-sha2-nistp384 and ssh-rsa (2048 or 3072 bits)",
			 (int)(tlen > 40 ? 40 : tlen), (const char *)type);
	return -1;
}

/* The ciphers ssh-keygen -Z offers (`ssh -Q cipher`), with OpenSSH's
 * key, IV, block and tag lengths. The CBC ciphers carry no padding (the
 * section is a whole number of blocks); the GCM ones use the 12-byte IV
 * as it comes from the KDF (the first message's invocation counter) and
 * no additional data. */
typedef enum { SSHPRIV_EVP, SSHPRIV_GCM, SSHPRIV_CHACHAPOLY } sshpriv_mode;

typedef struct {
	const char *name, *evp;
	size_t keylen, ivlen, block, authlen;
	sshpriv_mode mode;
} sshpriv_cipher;

static const sshpriv_cipher sshpriv_ciphers[] = {
	{"aes256-ctr", "AES-256-CTR", 32, 16, 16, 0, SSHPRIV_EVP},
	{"aes192-ctr", "AES-192-CTR", 24, 16, 16, 0, SSHPRIV_EVP},
	{"aes128-ctr", "AES-128-CTR", 16, 16, 16, 0, SSHPRIV_EVP},
	{"aes256-cbc", "AES-256-CBC", 32, 16, 16, 0, SSHPRIV_EVP},
	{"aes192-cbc", "AES-192-CBC", 24, 16, 16, 0, SSHPRIV_EVP},
	{"aes128-cbc", "AES-128-CBC", 16, 16, 16, 0, SSHPRIV_EVP},
	{"3des-cbc", "DES-EDE3-CBC", 24, 8, 8, 0, SSHPRIV_EVP},
	{"aes256-gcm@openssh.com", "AES-256-GCM", 32, 12, 16, 16, SSHPRIV_GCM},
	{"aes128-gcm@openssh.com", "AES-128-GCM", 16, 12, 16, 16, SSHPRIV_GCM},
	{"chacha20-poly1305@openssh.com", "ChaCha20", 64, 0, 8, 16,
	 SSHPRIV_CHACHAPOLY},
};

static const sshpriv_cipher *
sshpriv_cipher_find(const uint8_t *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sshpriv_ciphers) / sizeof(sshpriv_ciphers[0]);
	     i++)
		if (sshpriv_is(name, len, sshpriv_ciphers[i].name))
			return &sshpriv_ciphers[i];
	return NULL;
}

/* chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305 in OpenSSH)
 * for a key file, message number 0 and no length field: the 64-byte key
 * is K_main || K_header (K_header encrypts packet lengths, which a key
 * file has none of). ChaCha20 is the original one, 64-bit block counter
 * and 64-bit nonce = the message number (0); OpenSSL's "ChaCha20" takes
 * a 16-byte IV = LE32 counter || 12-byte nonce, which for a nonce of 0
 * and a counter below 2^32 is the same state. The Poly1305 key is the
 * first 32 bytes of block 0; the section is Poly1305-authenticated,
 * then decrypted from block 1 on. */

/* Poly1305 of in[len] under the one-time key polykey into mac[16]. */
static int
sshpriv_poly1305(const uint8_t polykey[32], const uint8_t *in, size_t len,
		 uint8_t mac[16])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *mc = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2];
	size_t maclen = 0;
	int r = -1;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
						      (void *)polykey, 32);
	params[1] = OSSL_PARAM_construct_end();
	if (mc != NULL && EVP_MAC_init(mc, NULL, 0, params) == 1 &&
	    EVP_MAC_update(mc, in, len) == 1 &&
	    EVP_MAC_final(mc, mac, &maclen, 16) == 1 && maclen == 16)
		r = 0;
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return r;
}

static int
sshpriv_chachapoly(const uint8_t *key, const uint8_t *in, size_t len,
		   const uint8_t *tag, uint8_t *out, bool *auth_fail)
{
	static const uint8_t zero[32];
	uint8_t iv[16] = {0}, polykey[32], mac[16];
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, r = -1;

	*auth_fail = false;
	if (c == NULL || ctx == NULL ||
	    EVP_EncryptInit_ex2(ctx, c, key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, polykey, &n, zero, sizeof(zero)) != 1 ||
	    sshpriv_poly1305(polykey, in, len, mac) != 0)
		goto out;
	if (secure_memcmp(mac, tag, sizeof(mac)) != 0) {
		*auth_fail = true;
		goto out;
	}
	iv[0] = 1; /* block counter 1 */
	r = EVP_DecryptInit_ex2(ctx, c, key, iv, NULL) == 1 &&
			    EVP_DecryptUpdate(ctx, out, &n, in, (int)len) ==
				    1 &&
			    (size_t)n == len
		    ? 0
		    : -1;
out:
	secure_zero(polykey, sizeof(polykey));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return r;
}

/* Decrypts the private section in[len] (and checks tag, authlen bytes,
 * for the AEAD ciphers) into out[len] with key || iv. -1 for an error,
 * *auth_fail set when the tag did not match. */
static int
sshpriv_decrypt(const sshpriv_cipher *ci, const uint8_t *kiv, const uint8_t *in,
		size_t len, const uint8_t *tag, uint8_t *out, bool *auth_fail)
{
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, fin = 0, r = -1;

	*auth_fail = false;
	if (len > (size_t)INT32_MAX)
		return -1;
	if (ci->mode == SSHPRIV_CHACHAPOLY)
		return sshpriv_chachapoly(kiv, in, len, tag, out, auth_fail);
	if ((c = EVP_CIPHER_fetch(NULL, ci->evp, NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(ctx, c, kiv, kiv + ci->keylen, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (size_t)n != len)
		goto out;
	if (ci->mode == SSHPRIV_GCM &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)ci->authlen,
				(void *)tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1) {
		*auth_fail = ci->mode == SSHPRIV_GCM;
		goto out;
	}
	r = fin == 0 ? 0 : -1;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return r;
}

/* The private section of an encrypted key: the KDF's options read, key
 * and IV derived from the passphrase, the section decrypted into *plain
 * (secure_alloc'd, *plain_len bytes; the caller releases it). 0, -1
 * with err, or PRIVKEY_WRONG_PASSPHRASE (the tag or the check words
 * disagree). */
static int
sshpriv_open(const sshpriv_cipher *ci, const uint8_t *opts, size_t olen,
	     const uint8_t *enc, size_t enclen, const uint8_t *tag,
	     const char *pass, size_t passlen, uint8_t **plain,
	     size_t *plain_len, char *err, size_t errlen)
{
	sshpriv_buf o = {opts, olen};
	const uint8_t *salt;
	size_t saltlen, kivlen = ci->keylen + ci->ivlen;
	uint32_t rounds;
	uint8_t kiv[64 + 16];
	bool auth_fail = false;
	int r = -1;

	*plain = NULL;
	if (sshpriv_string(&o, &salt, &saltlen) != 0 ||
	    sshpriv_u32(&o, &rounds) != 0 || o.left != 0 || saltlen == 0 ||
	    rounds == 0) {
		snprintf(err, errlen,
			 "the OpenSSH key's bcrypt parameters "
			 "are damaged");
		return -1;
	}
	if (passlen == 0)
		return PRIVKEY_WRONG_PASSPHRASE; /* bcrypt_pbkdf takes none */
	if ((*plain = secure_alloc(enclen ? enclen : 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (bcrypt_pbkdf((const uint8_t *)pass, passlen, salt, saltlen, kiv,
			 kivlen, rounds) != 0) {
		snprintf(err, errlen, "bcrypt_pbkdf failed (out of memory?)");
		goto out;
	}
	if (sshpriv_decrypt(ci, kiv, enc, enclen, tag, *plain, &auth_fail) !=
	    0) {
		if (auth_fail)
			r = PRIVKEY_WRONG_PASSPHRASE;
		else
			snprintf(err, errlen,
				 "cannot decrypt with %s (OpenSSL)", ci->name);
		goto out;
	}
	*plain_len = enclen;
	r = 0;
out:
	secure_zero(kiv, sizeof(kiv));
	if (r != 0) {
		secure_release(*plain, enclen ? enclen : 1);
		*plain = NULL;
	}
	return r;
}

int
sshpriv_parse(const uint8_t *data, size_t len, const char *pass, size_t passlen,
	      privkey *out, char *err, size_t errlen)
{
	sshpriv_buf b = {data, len}, sec;
	const uint8_t *cipher, *kdf, *opts, *pub, *priv, *type, *tag = NULL;
	size_t clen, kdflen, olen, plen, privlen, tlen, plain_len = 0;
	uint32_t nkeys, c1, c2;
	const size_t ml = sizeof(SSHPRIV_MAGIC); /* with its NUL */
	const sshpriv_cipher *ci = NULL;
	uint8_t *plain = NULL;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len < ml || memcmp(data, SSHPRIV_MAGIC, ml) != 0) {
		snprintf(err, errlen,
			 "not an OpenSSH private key "
			 "(openssh-key-v1)");
		return -1;
	}
	b.p += ml;
	b.left -= ml;
	if (sshpriv_string(&b, &cipher, &clen) != 0 ||
	    sshpriv_string(&b, &kdf, &kdflen) != 0 ||
	    sshpriv_string(&b, &opts, &olen) != 0 ||
	    sshpriv_u32(&b, &nkeys) != 0)
		goto damaged;
	if (!sshpriv_is(cipher, clen, "none")) {
		if ((ci = sshpriv_cipher_find(cipher, clen)) == NULL) {
			snprintf(err, errlen,
				 "the OpenSSH key is encrypted with "
				 "\"%.*s\", a cipher tpm11 does not know; "
				 "re-encrypt it with `ssh-keygen -p -Z "
				 "aes256-ctr -f FILE`",
				 (int)(clen > 40 ? 40 : clen),
				 (const char *)cipher);
			return -1;
		}
		if (!sshpriv_is(kdf, kdflen, "bcrypt")) {
			snprintf(err, errlen,
				 "the OpenSSH key's key derivation "
				 "\"%.*s\" is not bcrypt, the only one OpenSSH "
				 "writes",
				 (int)(kdflen > 40 ? 40 : kdflen),
				 (const char *)kdf);
			return -1;
		}
	} else if (!sshpriv_is(kdf, kdflen, "none") || olen != 0)
		goto damaged;
	if (nkeys != 1) {
		snprintf(err, errlen,
			 "the OpenSSH file holds %u keys; tpm11 "
			 "imports files with one",
			 nkeys);
		return -1;
	}
	if (sshpriv_string(&b, &pub, &plen) != 0 ||
	    sshpriv_string(&b, &priv, &privlen) != 0 ||
	    privlen % (ci ? ci->block : 8) != 0 ||
	    b.left != (ci ? ci->authlen : 0))
		goto damaged;
	if (ci != NULL) {
		/* the public part says the type: no passphrase asked for a
		 * key that cannot be imported anyway */
		sshpriv_buf pb = {pub, plen};

		if (sshpriv_string(&pb, &type, &tlen) != 0)
			goto damaged;
		if (sshpriv_type_ok(type, tlen, err, errlen) != 0)
			return -1;
		if (pass == NULL)
			return PRIVKEY_NEED_PASSPHRASE;
		tag = b.p;
		r = sshpriv_open(ci, opts, olen, priv, privlen, tag, pass,
				 passlen, &plain, &plain_len, err, errlen);
		if (r != 0)
			return r;
		r = -1;
		priv = plain;
	}
	sec.p = priv;
	sec.left = privlen;
	if (sshpriv_u32(&sec, &c1) != 0 || sshpriv_u32(&sec, &c2) != 0)
		goto damaged;
	if (c1 != c2) {
		if (ci != NULL) {
			r = PRIVKEY_WRONG_PASSPHRASE;
			goto out;
		}
		goto damaged;
	}
	if (sshpriv_string(&sec, &type, &tlen) != 0)
		goto damaged;
	if (sshpriv_type_ok(type, tlen, err, errlen) != 0)
		goto out;
	if (sshpriv_is(type, tlen, "ecdsa-sha2-nistp256")) {
		if (sshpriv_ec(&sec, CURVE_P256, out) != 0)
			goto damaged;
	} else if (sshpriv_is(type, tlen, "ecdsa-sha2-nistp384")) {
		if (sshpriv_ec(&sec, CURVE_P384, out) != 0)
			goto damaged;
	} else if (sshpriv_rsa(&sec, out, err, errlen) != 0)
		goto out;
	r = 0;
	goto out;
damaged:
	snprintf(err, errlen,
		 "the OpenSSH private key is damaged or cut short");
out:
	if (r != 0)
		privkey_clear(out);
	secure_release(plain, plain_len);
	return r;
}
