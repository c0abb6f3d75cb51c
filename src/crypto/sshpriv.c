/* openssh-key-v1, the body of an OpenSSH private-key file (PROTOCOL.key
 * in OpenSSH; the types of RFC 4251 5):
 *
 *   "openssh-key-v1" 00
 *   string ciphername      "none" for an unencrypted key
 *   string kdfname         "none" then
 *   string kdfoptions      empty then
 *   uint32 number of keys  1
 *   string public key      (wire form; not used: the private part repeats it)
 *   string private section, a multiple of the cipher's block size (8):
 *       uint32 checkint, uint32 checkint (equal)
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
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0 ||  /* d */
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0 ||  /* iqmp */
	    sshpriv_mpint(b, k->p, sizeof(k->p), &plen) != 0 ||
	    sshpriv_mpint(b, skip, sizeof(skip), NULL) != 0) {  /* q */
		snprintf(err, errlen, "the OpenSSH RSA key is damaged");
		goto out;
	}
	/* n was written right-aligned in n[512]: move it to the front */
	memmove(k->n, k->n + sizeof(k->n) - k->n_len, k->n_len);
	if (elen > 4) {
		snprintf(err, errlen, "RSA public exponent too large for a "
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

int
sshpriv_parse(const uint8_t *data, size_t len, privkey *out, char *err,
	      size_t errlen)
{
	sshpriv_buf b = {data, len}, sec;
	const uint8_t *cipher, *kdf, *opts, *pub, *priv, *type;
	size_t clen, kdflen, olen, plen, privlen, tlen;
	uint32_t nkeys, c1, c2;
	const size_t ml = sizeof(SSHPRIV_MAGIC); /* with its NUL */

	memset(out, 0, sizeof(*out));
	if (len < ml || memcmp(data, SSHPRIV_MAGIC, ml) != 0) {
		snprintf(err, errlen, "not an OpenSSH private key "
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
	if (!sshpriv_is(cipher, clen, "none") || !sshpriv_is(kdf, kdflen, "none")) {
		snprintf(err, errlen, "the OpenSSH key is passphrase-protected, "
			 "which tpm11 cannot open (bcrypt_pbkdf); convert it "
			 "first with `ssh-keygen -p -m PEM -f FILE` (PEM with a "
			 "passphrase is not read either: give it an empty one "
			 "for the import, then destroy the copy)");
		return -1;
	}
	if (nkeys != 1) {
		snprintf(err, errlen, "the OpenSSH file holds %u keys; tpm11 "
			 "imports files with one", nkeys);
		return -1;
	}
	if (sshpriv_string(&b, &pub, &plen) != 0 ||
	    sshpriv_string(&b, &priv, &privlen) != 0 || b.left != 0 ||
	    privlen % 8 != 0)
		goto damaged;
	sec.p = priv;
	sec.left = privlen;
	if (sshpriv_u32(&sec, &c1) != 0 || sshpriv_u32(&sec, &c2) != 0 ||
	    c1 != c2 || sshpriv_string(&sec, &type, &tlen) != 0)
		goto damaged;
	if (sshpriv_is(type, tlen, "ssh-ed25519") ||
	    sshpriv_is(type, tlen, "sk-ssh-ed25519@openssh.com")) {
		snprintf(err, errlen, "Ed25519 is not a TPM 2.0 algorithm "
			 "(TPMs do NIST P-256/P-384 and RSA); keep this key in "
			 "a file or the agent, or make a new one with `tpm11 "
			 "addkey`");
		return -1;
	}
	if (sshpriv_is(type, tlen, "ecdsa-sha2-nistp256")) {
		if (sshpriv_ec(&sec, CURVE_P256, out) != 0)
			goto damaged;
	} else if (sshpriv_is(type, tlen, "ecdsa-sha2-nistp384")) {
		if (sshpriv_ec(&sec, CURVE_P384, out) != 0)
			goto damaged;
	} else if (sshpriv_is(type, tlen, "ssh-rsa")) {
		if (sshpriv_rsa(&sec, out, err, errlen) != 0) {
			privkey_clear(out);
			return -1;
		}
	} else {
		snprintf(err, errlen, "OpenSSH key type \"%.*s\" cannot go into "
			 "a TPM; tpm11 imports ecdsa-sha2-nistp256, "
			 "ecdsa-sha2-nistp384 and ssh-rsa (2048 or 3072 bits)",
			 (int)(tlen > 40 ? 40 : tlen), (const char *)type);
		return -1;
	}
	return 0;
damaged:
	privkey_clear(out);
	snprintf(err, errlen, "the OpenSSH private key is damaged or cut short");
	return -1;
}
