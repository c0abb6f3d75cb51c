/* bcrypt_pbkdf, written from its published description (OpenBSD's
 * bcrypt_pbkdf(3), as OpenSSH's PROTOCOL.key uses it for kdfname
 * "bcrypt"; the key schedule is Provos and Mazieres' eksblowfish):
 *
 *   bcrypt_pbkdf(pass, salt, rounds, keylen):
 *     stride = ceil(keylen / 32), amt = ceil(keylen / stride)
 *     hp = SHA-512(pass)
 *     for block = 1, 2, ... while key bytes are missing:
 *       t = bcrypt_hash(hp, SHA-512(salt || BE32(block))), out = t
 *       rounds - 1 times: t = bcrypt_hash(hp, SHA-512(t)), out ^= t
 *       out[i] (i < amt) goes to key[i * stride + block - 1]
 *
 *   bcrypt_hash(hp, hs) -> 32 bytes:
 *     state = Blowfish's initial state (pi)
 *     expand(state, data = hs, key = hp)        salted key schedule
 *     64 times: expand0(state, hs); expand0(state, hp)
 *     c = "OxychromaticBlowfishSwatDynamite" as 8 big-endian words
 *     64 times: encrypt c's 4 blocks (ECB) with state
 *     out = the 8 words, each written LITTLE-endian
 *
 *   expand(state, data, key): P[i] ^= the key's bytes as big-endian
 *     words, cycling; then (l, r) = 0, and for each pair of P, then of
 *     S-box entries in order: l ^= next data word, r ^= next data word,
 *     (l, r) = encrypt(l, r), store. expand0 is expand without data.
 *
 * The spreading of each block's bytes across the key (the stride) and
 * the little-endian output are part of the definition: OpenSSH's files
 * were written that way.
 *
 * Blowfish's rounds are written here rather than calling OpenSSL's
 * BF_encrypt: BF_* are deprecated in OpenSSL 3 (a -Werror build would
 * need the warning silenced) and missing from builds without them, and
 * eksblowfish rewrites P and the S-boxes between encryptions, so the
 * state has to be ours anyway; the 16 rounds are a few lines. */
#include "crypto/bcrypt_pbkdf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "crypto/hash.h"
#include "util/secure.h"

#define BF_P_WORDS 18
#define BF_S_WORDS 256
#define BF_INIT_WORDS (BF_P_WORDS + 4 * BF_S_WORDS) /* 1042 */
#define BCRYPT_HASH_LEN 32
#define BCRYPT_WORDS (BCRYPT_HASH_LEN / 4)

typedef struct {
	uint32_t p[BF_P_WORDS];
	uint32_t s[4][BF_S_WORDS];
} bf_state;

/* --- Blowfish's initial state: the hexadecimal fraction of pi ------------
 *
 * P[0] = 0x243F6A88 holds the first 8 hex digits after the point
 * (pi = 3.243F6A88 85A308D3 ...), and the 1042 words follow each other
 * through P and the four S-boxes. They are computed once per process
 * with Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), in fixed
 * point with OpenSSL's BIGNUMs: 33344 bits of fraction plus 64 guard
 * bits, which absorb the truncation of each of the ~9300 series terms
 * (each loses less than 1 unit; 16 times that is far below 2^64). */

#define PI_FRAC_BITS (BF_INIT_WORDS * 32)
#define PI_GUARD_BITS 64

static uint32_t bf_pi[BF_INIT_WORDS];
static int bf_pi_ok;
static pthread_once_t bf_pi_once = PTHREAD_ONCE_INIT;

/* atan(1/m) * 2^bits into a, by atan(x) = x - x^3/3 + x^5/5 - ... */
static int
bf_pi_atan_inv(BIGNUM *a, BN_ULONG m, int bits)
{
	BIGNUM *x = BN_new(), *t = BN_new();
	BN_ULONG k;
	int r = -1;

	BN_zero(a);
	if (x == NULL || t == NULL || !BN_set_bit(x, bits) ||
	    BN_div_word(x, m) == (BN_ULONG)-1)
		goto out;
	for (k = 0; !BN_is_zero(x); k++) {
		if (BN_copy(t, x) == NULL ||
		    BN_div_word(t, 2 * k + 1) == (BN_ULONG)-1 ||
		    !(k % 2 == 0 ? BN_add(a, a, t) : BN_sub(a, a, t)) ||
		    BN_div_word(x, m * m) == (BN_ULONG)-1)
			goto out;
	}
	r = 0;
out:
	BN_free(x);
	BN_free(t);
	return r;
}

static void
bf_pi_compute(void)
{
	static uint8_t frac[PI_FRAC_BITS / 8];
	const int bits = PI_FRAC_BITS + PI_GUARD_BITS;
	BIGNUM *a = BN_new(), *b = BN_new();
	size_t i;

	/* pi * 2^bits = 16 a - 4 b; then drop the guard bits and the
	 * integer part 3, and read the fraction's bits as words */
	if (a == NULL || b == NULL || bf_pi_atan_inv(a, 5, bits) != 0 ||
	    bf_pi_atan_inv(b, 239, bits) != 0 || !BN_lshift(a, a, 4) ||
	    !BN_lshift(b, b, 2) || !BN_sub(a, a, b) ||
	    !BN_rshift(a, a, PI_GUARD_BITS) || !BN_mask_bits(a, PI_FRAC_BITS) ||
	    BN_bn2binpad(a, frac, sizeof(frac)) != (int)sizeof(frac))
		goto out;
	for (i = 0; i < BF_INIT_WORDS; i++)
		bf_pi[i] = (uint32_t)frac[4 * i] << 24 |
			   (uint32_t)frac[4 * i + 1] << 16 |
			   (uint32_t)frac[4 * i + 2] << 8 | frac[4 * i + 3];
	bf_pi_ok = bf_pi[0] == 0x243F6A88;
out:
	BN_free(a);
	BN_free(b);
}

uint32_t
bcrypt_pi_word(size_t i)
{
	pthread_once(&bf_pi_once, bf_pi_compute);
	return bf_pi_ok && i < BF_INIT_WORDS ? bf_pi[i] : 0;
}

/* --- Blowfish --------------------------------------------------------- */

static uint32_t
bf_f(const bf_state *st, uint32_t x)
{
	return ((st->s[0][x >> 24] + st->s[1][(x >> 16) & 0xff]) ^
		st->s[2][(x >> 8) & 0xff]) +
	       st->s[3][x & 0xff];
}

/* One 64-bit block (l, r): 16 Feistel rounds, then the last two
 * subkeys on the unswapped halves. */
static void
bf_encrypt(const bf_state *st, uint32_t *l, uint32_t *r)
{
	uint32_t xl = *l, xr = *r, t;
	int i;

	for (i = 0; i < 16; i++) {
		xl ^= st->p[i];
		xr ^= bf_f(st, xl);
		t = xl;
		xl = xr;
		xr = t;
	}
	*l = xr ^ st->p[17];
	*r = xl ^ st->p[16];
}

/* The next 4 bytes of d[n] from *j as a big-endian word, cycling. */
static uint32_t
bf_word(const uint8_t *d, size_t n, size_t *j)
{
	uint32_t w = 0;
	int i;

	for (i = 0; i < 4; i++) {
		w = w << 8 | d[*j];
		*j = (*j + 1) % n;
	}
	return w;
}

/* expand (data != NULL) and expand0 (data == NULL), as above. */
static void
bf_expand(bf_state *st, const uint8_t *data, size_t dlen, const uint8_t *key,
	  size_t klen)
{
	uint32_t l = 0, r = 0;
	size_t i, k, j = 0, dj = 0;

	for (i = 0; i < BF_P_WORDS; i++)
		st->p[i] ^= bf_word(key, klen, &j);
	for (i = 0; i < BF_P_WORDS; i += 2) {
		if (data) {
			l ^= bf_word(data, dlen, &dj);
			r ^= bf_word(data, dlen, &dj);
		}
		bf_encrypt(st, &l, &r);
		st->p[i] = l;
		st->p[i + 1] = r;
	}
	for (i = 0; i < 4; i++)
		for (k = 0; k < BF_S_WORDS; k += 2) {
			if (data) {
				l ^= bf_word(data, dlen, &dj);
				r ^= bf_word(data, dlen, &dj);
			}
			bf_encrypt(st, &l, &r);
			st->s[i][k] = l;
			st->s[i][k + 1] = r;
		}
}

/* --- bcrypt_hash and the PBKDF ------------------------------------------ */

static void
bcrypt_hash(bf_state *st, const uint8_t hp[64], const uint8_t hs[64],
	    uint8_t out[BCRYPT_HASH_LEN])
{
	static const uint8_t magic[BCRYPT_HASH_LEN] =
		"OxychromaticBlowfishSwatDynamite";
	uint32_t c[BCRYPT_WORDS];
	size_t i, j = 0;
	int n;

	memcpy(st->p, bf_pi, sizeof(st->p));
	memcpy(st->s, bf_pi + BF_P_WORDS, sizeof(st->s));
	bf_expand(st, hs, 64, hp, 64);
	for (n = 0; n < 64; n++) {
		bf_expand(st, NULL, 0, hs, 64);
		bf_expand(st, NULL, 0, hp, 64);
	}
	for (i = 0; i < BCRYPT_WORDS; i++)
		c[i] = bf_word(magic, sizeof(magic), &j);
	for (n = 0; n < 64; n++)
		for (i = 0; i < BCRYPT_WORDS; i += 2)
			bf_encrypt(st, &c[i], &c[i + 1]);
	for (i = 0; i < BCRYPT_WORDS; i++) {
		out[4 * i] = (uint8_t)c[i];
		out[4 * i + 1] = (uint8_t)(c[i] >> 8);
		out[4 * i + 2] = (uint8_t)(c[i] >> 16);
		out[4 * i + 3] = (uint8_t)(c[i] >> 24);
	}
	secure_zero(c, sizeof(c));
}

int
bcrypt_pbkdf(const uint8_t *pass, size_t passlen, const uint8_t *salt,
	     size_t saltlen, uint8_t *key, size_t keylen, uint32_t rounds)
{
	/* what lives here is derived from the passphrase: wiped below */
	struct {
		bf_state st;
		uint8_t hp[64], hs[64], t[BCRYPT_HASH_LEN],
			out[BCRYPT_HASH_LEN];
	} *w = NULL;
	uint8_t *cs = NULL;
	size_t stride, amt, left = keylen, i;
	uint32_t block, n;
	int r = -1;

	if (keylen > 0 && keylen <= BCRYPT_PBKDF_MAX_OUT)
		memset(key, 0, keylen);
	if (pass == NULL || passlen == 0 || salt == NULL || saltlen == 0 ||
	    saltlen > (1u << 20) || rounds == 0 || keylen == 0 ||
	    keylen > BCRYPT_PBKDF_MAX_OUT || bcrypt_pi_word(0) == 0)
		return -1;
	/* off the stack and out of core dumps */
	if ((w = secure_alloc(sizeof(*w))) == NULL ||
	    (cs = malloc(saltlen + 4)) == NULL)
		goto out;
	stride = (keylen + BCRYPT_HASH_LEN - 1) / BCRYPT_HASH_LEN;
	amt = (keylen + stride - 1) / stride;
	if (hash_digest(HASH_SHA512, pass, passlen, w->hp) != 0)
		goto out;
	memcpy(cs, salt, saltlen);
	for (block = 1; left > 0; block++) {
		cs[saltlen] = (uint8_t)(block >> 24);
		cs[saltlen + 1] = (uint8_t)(block >> 16);
		cs[saltlen + 2] = (uint8_t)(block >> 8);
		cs[saltlen + 3] = (uint8_t)block;
		if (hash_digest(HASH_SHA512, cs, saltlen + 4, w->hs) != 0)
			goto out;
		bcrypt_hash(&w->st, w->hp, w->hs, w->t);
		memcpy(w->out, w->t, sizeof(w->out));
		for (n = 1; n < rounds; n++) {
			if (hash_digest(HASH_SHA512, w->t, sizeof(w->t),
					w->hs) != 0)
				goto out;
			bcrypt_hash(&w->st, w->hp, w->hs, w->t);
			for (i = 0; i < sizeof(w->out); i++)
				w->out[i] ^= w->t[i];
		}
		/* this block's bytes go to every stride-th place of the key */
		for (i = 0; i < amt && left > 0; i++) {
			size_t dest = i * stride + block - 1;

			if (dest >= keylen)
				break;
			key[dest] = w->out[i];
			left--;
		}
	}
	r = 0;
out:
	secure_release(w, sizeof(*w));
	free(cs);
	if (r != 0)
		secure_zero(key, keylen);
	return r;
}
