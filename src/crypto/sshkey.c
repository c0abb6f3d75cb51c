/* OpenSSH public-key lines, "<type> <base64 blob>[ <comment>]", the form
 * of authorized_keys and of `ssh-keygen -D` output.
 *
 * The blob is the SSH wire encoding of the public key (RFC 4253 6.6,
 * RFC 5656 3.1); everything here is public. */

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/sshkey.h"

/* OpenSSH refuses bignums longer than this (SSHBUF_MAX_BIGNUM, 16384 bits). */
#define SSHKEY_MAX_BIGNUM (16384 / 8)

#define SSHKEY_RSA_TYPE "ssh-rsa"
#define SSHKEY_ECDSA_PREFIX "ecdsa-sha2-"

struct sshkey_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* uint32 big-endian, RFC 4251 5 */
static void
sshkey_put_u32(struct sshkey_buf *b, uint32_t v)
{
	b->p[b->len++] = (uint8_t)(v >> 24);
	b->p[b->len++] = (uint8_t)(v >> 16);
	b->p[b->len++] = (uint8_t)(v >> 8);
	b->p[b->len++] = (uint8_t)v;
}

/* string: uint32 length || bytes. The caller sized the buffer. */
static void
sshkey_put_string(struct sshkey_buf *b, const void *s, size_t len)
{
	sshkey_put_u32(b, (uint32_t)len);
	if (len != 0)
		memcpy(b->p + b->len, s, len);
	b->len += len;
}

/* Skips leading zero bytes of a big-endian unsigned integer. */
static const uint8_t *
sshkey_strip_zeros(const uint8_t *v, size_t *len)
{
	while (*len > 0 && v[0] == 0) {
		v++;
		(*len)--;
	}
	return v;
}

/* Bytes an mpint of the already stripped value v takes, length included. */
static size_t
sshkey_mpint_size(const uint8_t *v, size_t len)
{
	return 4 + len + (len > 0 && (v[0] & 0x80) ? 1 : 0);
}

/*
 * mpint, RFC 4251 5: uint32 length || two's complement big-endian, minimal:
 *   positive with the top bit set -> 00 || v;  zero -> length 0.
 * v has no leading zeros.
 */
static void
sshkey_put_mpint(struct sshkey_buf *b, const uint8_t *v, size_t len)
{
	int lead = len > 0 && (v[0] & 0x80);

	sshkey_put_u32(b, (uint32_t)(len + (lead ? 1 : 0)));
	if (lead)
		b->p[b->len++] = 0x00;
	if (len != 0)
		memcpy(b->p + b->len, v, len);
	b->len += len;
}

/* Comment must not end the line early or add fields a parser would split
 * on differently; spaces inside are fine (OpenSSH keeps the rest). */
static int
sshkey_comment_ok(const char *comment)
{
	return comment == NULL || strpbrk(comment, "\r\n") == NULL;
}

/* "<type> <base64(blob)>[ <comment>]", malloc'd; NULL on error. */
static char *
sshkey_line(const char *type, const uint8_t *blob, size_t bloblen,
	    const char *comment)
{
	size_t tlen, b64len, clen, total, p;
	char *line = NULL;

	if (!sshkey_comment_ok(comment))
		return NULL;
	if (bloblen > INT_MAX / 2)
		return NULL;
	tlen = strlen(type);
	clen = comment != NULL ? strlen(comment) : 0;
	if (clen > SIZE_MAX / 2)
		return NULL;
	b64len = 4 * ((bloblen + 2) / 3);
	/* type SP b64 [SP comment] NUL */
	total = tlen + 1 + b64len + (clen != 0 ? 1 + clen : 0) + 1;
	if ((line = malloc(total)) == NULL)
		return NULL;

	p = 0;
	memcpy(line + p, type, tlen);
	p += tlen;
	line[p++] = ' ';
	/* EVP_EncodeBlock writes no newlines and a terminating NUL. */
	if ((size_t)EVP_EncodeBlock((unsigned char *)line + p, blob,
				    (int)bloblen) != b64len) {
		free(line);
		return NULL;
	}
	p += b64len;
	if (clen != 0) {
		line[p++] = ' ';
		memcpy(line + p, comment, clen);
		p += clen;
	}
	line[p] = '\0';
	return line;
}

char *
ssh_pubkey_line_ec(ec_curve c, const uint8_t *x, const uint8_t *y,
		   const char *comment)
{
	char type[sizeof(SSHKEY_ECDSA_PREFIX) + 16];
	const char *curve;
	struct sshkey_buf b = {NULL, 0, 0};
	size_t fl, tlen, clen;
	char *line = NULL;

	if (x == NULL || y == NULL)
		return NULL;
	if ((fl = ec_field_len(c)) == 0 || (curve = ec_ssh_name(c)) == NULL)
		return NULL;
	clen = strlen(curve);
	if (sizeof(SSHKEY_ECDSA_PREFIX) - 1 + clen >= sizeof(type))
		return NULL;
	memcpy(type, SSHKEY_ECDSA_PREFIX, sizeof(SSHKEY_ECDSA_PREFIX) - 1);
	memcpy(type + sizeof(SSHKEY_ECDSA_PREFIX) - 1, curve, clen + 1);
	tlen = strlen(type);

	/*
	 * RFC 5656 3.1:
	 *   string "ecdsa-sha2-" || curve
	 *   string curve                  ("nistp256")
	 *   string Q                      (04 || X || Y, SEC 1 2.3.3)
	 */
	b.cap = 4 + tlen + 4 + clen + 4 + 1 + 2 * fl;
	if ((b.p = malloc(b.cap)) == NULL)
		goto out;
	sshkey_put_string(&b, type, tlen);
	sshkey_put_string(&b, curve, clen);
	sshkey_put_u32(&b, (uint32_t)(1 + 2 * fl));
	b.p[b.len++] = 0x04;
	memcpy(b.p + b.len, x, fl);
	b.len += fl;
	memcpy(b.p + b.len, y, fl);
	b.len += fl;
	assert(b.len == b.cap);

	line = sshkey_line(type, b.p, b.len, comment);
out:
	free(b.p);
	return line;
}

char *
ssh_pubkey_line_rsa(const uint8_t *n, size_t nlen, const uint8_t *e,
		    size_t elen, const char *comment)
{
	struct sshkey_buf b = {NULL, 0, 0};
	char *line = NULL;

	if (n == NULL || e == NULL)
		return NULL;
	n = sshkey_strip_zeros(n, &nlen);
	e = sshkey_strip_zeros(e, &elen);
	/* A zero modulus or exponent is no key; OpenSSH's bignum limit
	 * bounds both and keeps every size below far from overflow. */
	if (nlen == 0 || elen == 0)
		return NULL;
	if (nlen > SSHKEY_MAX_BIGNUM || elen > SSHKEY_MAX_BIGNUM)
		return NULL;

	/*
	 * RFC 4253 6.6:
	 *   string "ssh-rsa"
	 *   mpint  e
	 *   mpint  n
	 */
	b.cap = 4 + strlen(SSHKEY_RSA_TYPE) + sshkey_mpint_size(e, elen) +
		sshkey_mpint_size(n, nlen);
	if ((b.p = malloc(b.cap)) == NULL)
		goto out;
	sshkey_put_string(&b, SSHKEY_RSA_TYPE, strlen(SSHKEY_RSA_TYPE));
	sshkey_put_mpint(&b, e, elen);
	sshkey_put_mpint(&b, n, nlen);
	assert(b.len == b.cap);

	line = sshkey_line(SSHKEY_RSA_TYPE, b.p, b.len, comment);
out:
	free(b.p);
	return line;
}
