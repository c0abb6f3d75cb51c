/* RSA signature encodings built on the host (RFC 8017 section 9). The TPM
 * then performs only the raw private-key operation on the encoded block.
 *
 * Lengths here (modulus size, hash size, salt length) are public
 * parameters of the key and mechanism, so they may steer branches. The
 * PSS salt and the message hash are wiped from temporaries; the encoded
 * block itself is the caller's and becomes public once signed. */

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/rsapad.h"

/*
 * DigestInfo prefixes, RFC 8017 9.2 note 1:
 *   30 L1 30 L2 06 L3 OID 05 00 04 L4 || H
 * Only the form with explicit NULL parameters is produced and parsed.
 * rsa_digestinfo_parse() lets a caller map a CKM_RSA_PKCS input back to a
 * hash, then rebuild the block with rsa_digestinfo(); accepting the
 * absent-parameters variant would make those two differ.
 */
static const uint8_t rsa_di_sha1[] = {
	0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
	0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
};
static const uint8_t rsa_di_sha224[] = {
	0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c,
};
static const uint8_t rsa_di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};
static const uint8_t rsa_di_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
};
static const uint8_t rsa_di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
};

static const struct {
	hash_algo alg;
	const uint8_t *prefix;
	size_t prefix_len;
} rsa_di_table[] = {
	{HASH_SHA1, rsa_di_sha1, sizeof(rsa_di_sha1)},
	{HASH_SHA224, rsa_di_sha224, sizeof(rsa_di_sha224)},
	{HASH_SHA256, rsa_di_sha256, sizeof(rsa_di_sha256)},
	{HASH_SHA384, rsa_di_sha384, sizeof(rsa_di_sha384)},
	{HASH_SHA512, rsa_di_sha512, sizeof(rsa_di_sha512)},
};
#define RSA_DI_TABLE_N (sizeof(rsa_di_table) / sizeof(rsa_di_table[0]))

/* RFC 8017 9.2 step 3: at least 8 bytes of FF, plus 00 01 and 00. */
#define RSA_PKCS1_OVERHEAD 11
/* RFC 8017 9.1.1 step 6: eight zero bytes lead M'. */
#define RSA_PSS_PAD1_LEN 8

int
rsa_digestinfo(hash_algo alg, const uint8_t *hash, uint8_t *out, size_t cap,
	       size_t *len)
{
	size_t i, hlen;

	if (hash == NULL || out == NULL || len == NULL)
		return -1;
	hlen = hash_len(alg);
	for (i = 0; i < RSA_DI_TABLE_N; i++) {
		if (rsa_di_table[i].alg != alg)
			continue;
		if (cap < rsa_di_table[i].prefix_len + hlen)
			return -1;
		memcpy(out, rsa_di_table[i].prefix, rsa_di_table[i].prefix_len);
		memcpy(out + rsa_di_table[i].prefix_len, hash, hlen);
		*len = rsa_di_table[i].prefix_len + hlen;
		return 0;
	}
	return -1;
}

hash_algo
rsa_digestinfo_parse(const uint8_t *in, size_t len, const uint8_t **digest,
		     size_t *dlen)
{
	size_t i, plen;

	if (in == NULL || digest == NULL || dlen == NULL)
		return HASH_NONE;
	for (i = 0; i < RSA_DI_TABLE_N; i++) {
		plen = rsa_di_table[i].prefix_len;
		/* The prefix fixes every DER length, so the whole input must
		 * be the prefix plus exactly one digest: nothing trailing. */
		if (len != plen + hash_len(rsa_di_table[i].alg))
			continue;
		if (memcmp(in, rsa_di_table[i].prefix, plen) != 0)
			continue;
		*digest = in + plen;
		*dlen = len - plen;
		return rsa_di_table[i].alg;
	}
	return HASH_NONE;
}

int
rsa_pkcs1_sig_pad(const uint8_t *t, size_t tlen, uint8_t *out, size_t modlen)
{
	size_t pslen;

	if (out == NULL || (t == NULL && tlen != 0))
		return -1;
	if (modlen < RSA_PKCS1_OVERHEAD || tlen > modlen - RSA_PKCS1_OVERHEAD)
		return -1;

	/* RFC 8017 9.2 step 5: EM = 00 01 FF..FF 00 || T, PS >= 8 bytes */
	pslen = modlen - tlen - 3;
	out[0] = 0x00;
	out[1] = 0x01;
	memset(out + 2, 0xff, pslen);
	out[2 + pslen] = 0x00;
	if (tlen != 0)
		memcpy(out + 3 + pslen, t, tlen);
	return 0;
}

/*
 * RFC 8017 B.2.1 MGF1, XORed straight into buf:
 *   buf ^= Hash(seed || 00 00 00 00) || Hash(seed || 00 00 00 01) || ...
 * truncated to len bytes.
 */
static int
rsa_mgf1_xor(hash_algo alg, const uint8_t *seed, size_t seedlen, uint8_t *buf,
	     size_t len)
{
	uint8_t in[HASH_MAX_LEN + 4], t[HASH_MAX_LEN];
	size_t hlen, done, n, i;
	uint32_t counter;
	int r = -1;

	if ((hlen = hash_len(alg)) == 0 || seedlen > HASH_MAX_LEN)
		return -1;
	memcpy(in, seed, seedlen);
	/* len < 2^32 * hlen always holds here, so the counter never wraps. */
	for (done = 0, counter = 0; done < len; done += n, counter++) {
		in[seedlen] = (uint8_t)(counter >> 24);
		in[seedlen + 1] = (uint8_t)(counter >> 16);
		in[seedlen + 2] = (uint8_t)(counter >> 8);
		in[seedlen + 3] = (uint8_t)counter;
		if (hash_digest(alg, in, seedlen + 4, t) != 0)
			goto out;
		n = len - done < hlen ? len - done : hlen;
		for (i = 0; i < n; i++)
			buf[done + i] ^= t[i];
	}
	r = 0;
out:
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(in, sizeof(in));
	return r;
}

int
rsa_pss_encode(hash_algo alg, hash_algo mgf_alg, size_t saltlen,
	       const uint8_t *mhash, unsigned modbits, uint8_t *out)
{
	static const uint8_t pad1[RSA_PSS_PAD1_LEN]; /* zeros */
	hash_ctx *hc = NULL;
	size_t hlen, outlen, emlen, dblen, pslen;
	unsigned embits;
	uint8_t *em, *db, *salt, *h;
	int r = -1;

	if (mhash == NULL || out == NULL || modbits < 2)
		return -1;
	if ((hlen = hash_len(alg)) == 0 || hash_len(mgf_alg) == 0)
		return -1;

	/* RFC 8017 8.1.1 step 1: emBits = modBits - 1. The encoded message
	 * is one byte shorter than the modulus when emBits is a multiple of
	 * 8; that byte of out is then a leading zero. */
	embits = modbits - 1;
	emlen = (embits + 7) / 8;
	outlen = ((size_t)modbits + 7) / 8;

	/* 9.1.1 step 3: emLen < hLen + sLen + 2 -> "encoding error" */
	if (saltlen > emlen || emlen < hlen + saltlen + 2)
		return -1;

	/*
	 * EM = maskedDB || H || BC, emLen bytes
	 *   DB = PS (zeros) || 01 || salt, emLen - hLen - 1 bytes
	 *   M' = 00 00 00 00 00 00 00 00 || mHash || salt, H = Hash(M')
	 *   maskedDB = DB ^ MGF1(H, emLen - hLen - 1)
	 * DB is built in place so that the salt lives only inside out.
	 */
	if (outlen != emlen)
		out[0] = 0x00;
	em = out + (outlen - emlen);
	dblen = emlen - hlen - 1;
	pslen = dblen - saltlen - 1;
	db = em;
	salt = db + pslen + 1;
	h = db + dblen;

	memset(db, 0, pslen);
	db[pslen] = 0x01;
	/* step 4: random salt */
	if (saltlen != 0 && RAND_bytes(salt, (int)saltlen) != 1)
		goto out;

	/* steps 5-6: H = Hash(M') */
	if ((hc = hash_ctx_new(alg)) == NULL ||
	    hash_ctx_update(hc, pad1, sizeof(pad1)) != 0 ||
	    hash_ctx_update(hc, mhash, hlen) != 0 ||
	    hash_ctx_update(hc, salt, saltlen) != 0 ||
	    hash_ctx_final(hc, h) != 0)
		goto out;

	/* steps 9-10: maskedDB = DB ^ dbMask */
	if (rsa_mgf1_xor(mgf_alg, h, hlen, db, dblen) != 0)
		goto out;
	/* step 11: clear the leftmost 8 * emLen - emBits bits */
	db[0] &= (uint8_t)(0xff >> (8 * emlen - embits));
	/* step 12 */
	em[emlen - 1] = 0xbc;
	r = 0;
out:
	hash_ctx_free(hc);
	if (r != 0)
		OPENSSL_cleanse(out, outlen);
	return r;
}
