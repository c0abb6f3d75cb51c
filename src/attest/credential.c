#include "attest/credential.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "attest/tpmdata.h"
#include "util/secure.h"

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
kdfa(uint16_t alg, const uint8_t *key, size_t klen, const char *label,
     const uint8_t *cu, size_t culen, const uint8_t *cv, size_t cvlen,
     unsigned bits, uint8_t *out)
{
	const EVP_MD *md = tpm_alg_md(alg);
	size_t want = (bits + 7) / 8, done = 0;
	uint8_t ctr[4], nb[4], k[EVP_MAX_MD_SIZE];
	uint32_t i = 1;
	int rc = -1;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];

	if (md == NULL || mac == NULL || bits == 0 || bits % 8)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	be32(nb, bits);
	while (done < want) {
		size_t kl = 0, take;

		be32(ctr, i++);
		if ((mc = EVP_MAC_CTX_new(mac)) == NULL ||
		    EVP_MAC_init(mc, key, klen, params) != 1 ||
		    EVP_MAC_update(mc, ctr, 4) != 1 ||
		    EVP_MAC_update(mc, (const uint8_t *)label,
				   strlen(label) + 1) != 1 ||
		    (culen && EVP_MAC_update(mc, cu, culen) != 1) ||
		    (cvlen && EVP_MAC_update(mc, cv, cvlen) != 1) ||
		    EVP_MAC_update(mc, nb, 4) != 1 ||
		    EVP_MAC_final(mc, k, &kl, sizeof(k)) != 1)
			goto out;
		EVP_MAC_CTX_free(mc);
		mc = NULL;
		take = want - done < kl ? want - done : kl;
		memcpy(out + done, k, take);
		done += take;
	}
	rc = 0;
out:
	secure_zero(k, sizeof(k));
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
	return rc;
}

int
kdfe(uint16_t alg, const uint8_t *z, size_t zlen, const char *label,
     const uint8_t *pu, size_t pulen, const uint8_t *pv, size_t pvlen,
     unsigned bits, uint8_t *out)
{
	const EVP_MD *md = tpm_alg_md(alg);
	size_t want = (bits + 7) / 8, done = 0;
	uint8_t ctr[4], k[EVP_MAX_MD_SIZE];
	unsigned int kl;
	uint32_t i = 1;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int rc = -1;

	if (md == NULL || c == NULL || bits == 0 || bits % 8)
		goto out;
	while (done < want) {
		size_t take;

		be32(ctr, i++);
		if (EVP_DigestInit_ex(c, md, NULL) != 1 ||
		    EVP_DigestUpdate(c, ctr, 4) != 1 ||
		    EVP_DigestUpdate(c, z, zlen) != 1 ||
		    EVP_DigestUpdate(c, label, strlen(label) + 1) != 1 ||
		    EVP_DigestUpdate(c, pu, pulen) != 1 ||
		    EVP_DigestUpdate(c, pv, pvlen) != 1 ||
		    EVP_DigestFinal_ex(c, k, &kl) != 1)
			goto out;
		take = want - done < kl ? want - done : kl;
		memcpy(out + done, k, take);
		done += take;
	}
	rc = 0;
out:
	secure_zero(k, sizeof(k));
	EVP_MD_CTX_free(c);
	return rc;
}

/* RSA EK: seed random, encrypted with OAEP (hash = nameAlg, MGF1 with the
 * same hash, label "IDENTITY" with its zero byte; Part 1 B.10.3). */
static int
seed_rsa(EVP_PKEY *ek, uint16_t alg, uint8_t *seed, size_t slen,
	 TPM2B_ENCRYPTED_SECRET *secret)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, ek, NULL);
	const EVP_MD *md = tpm_alg_md(alg);
	unsigned char *label = OPENSSL_malloc(9);
	size_t outlen = sizeof(secret->secret);
	int rc = -1;

	if (c == NULL || label == NULL || RAND_bytes(seed, (int)slen) != 1 ||
	    EVP_PKEY_encrypt_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) != 1)
		goto out;
	memcpy(label, "IDENTITY", 9);
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) != 1)
		goto out;
	label = NULL;
	if (EVP_PKEY_encrypt(c, secret->secret, &outlen, seed, slen) != 1)
		goto out;
	secret->size = (UINT16)outlen;
	rc = 0;
out:
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(c);
	return rc;
}

/* ECC EK: one-pass Diffie-Hellman with an ephemeral key on the EK's curve
 * (Part 1 C.6.4): Z = x of d_e * Q_EK; seed = KDFe(nameAlg, Z, "IDENTITY",
 * x of Q_e, x of Q_EK, digest bits); the secret is Q_e as TPMS_ECC_POINT. */
static int
seed_ecc(EVP_PKEY *ek, const TPMT_PUBLIC *ekpub, uint8_t *seed, size_t slen,
	 TPM2B_ENCRYPTED_SECRET *secret)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_pkey(NULL, ek, NULL),
		     *dc = NULL;
	EVP_PKEY *eph = NULL;
	BIGNUM *x = NULL, *y = NULL;
	TPMS_ECC_POINT pt;
	uint8_t z[66];
	size_t zlen = sizeof(z), fl = ekpub->unique.ecc.x.size, off = 0;
	int rc = -1;

	memset(&pt, 0, sizeof(pt));
	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_keygen(kc, &eph) != 1)
		goto out;
	if ((dc = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dc) != 1 ||
	    EVP_PKEY_derive_set_peer(dc, ek) != 1 ||
	    EVP_PKEY_derive(dc, z, &zlen) != 1 || zlen != fl)
		goto out;
	if (EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, pt.x.buffer, (int)fl) < 0 ||
	    BN_bn2binpad(y, pt.y.buffer, (int)fl) < 0)
		goto out;
	pt.x.size = pt.y.size = (UINT16)fl;
	if (kdfe(ekpub->nameAlg, z, zlen, "IDENTITY", pt.x.buffer, fl,
		 ekpub->unique.ecc.x.buffer, fl, (unsigned)slen * 8, seed) != 0)
		goto out;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&pt, secret->secret,
					   sizeof(secret->secret),
					   &off) != TSS2_RC_SUCCESS)
		goto out;
	secret->size = (UINT16)off;
	rc = 0;
out:
	secure_zero(z, sizeof(z));
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(eph);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_CTX_free(dc);
	return rc;
}

int
credential_make(const TPMT_PUBLIC *ek, const uint8_t *name, size_t name_len,
		const uint8_t *cv, size_t cv_len, TPM2B_ID_OBJECT *blob,
		TPM2B_ENCRYPTED_SECRET *secret, char *why, size_t whylen)
{
	const EVP_MD *md = tpm_alg_md(ek->nameAlg);
	const TPMT_SYM_DEF_OBJECT *sym;
	const EVP_CIPHER *cipher;
	EVP_PKEY *key = NULL;
	EVP_CIPHER_CTX *cc = NULL;
	uint8_t seed[EVP_MAX_MD_SIZE], symkey[32], hkey[EVP_MAX_MD_SIZE];
	uint8_t plain[2 + 64], *enc, mac[EVP_MAX_MD_SIZE];
	size_t dsize;
	unsigned int maclen = 0;
	int outl = 0, rc = -1;
	EVP_MAC *hm = NULL;
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	size_t ml = 0;

	memset(blob, 0, sizeof(*blob));
	memset(secret, 0, sizeof(*secret));
	if (md == NULL || ek->nameAlg == TPM2_ALG_SHA1) {
		snprintf(why, whylen,
			 "the EK's name algorithm is not "
			 "supported");
		return -1;
	}
	dsize = (size_t)EVP_MD_get_size(md);
	if (cv_len == 0 || cv_len > dsize) {
		snprintf(why, whylen, "a credential must have 1 to %zu bytes",
			 dsize);
		return -1;
	}
	if (!(ek->objectAttributes & TPMA_OBJECT_RESTRICTED) ||
	    !(ek->objectAttributes & TPMA_OBJECT_DECRYPT)) {
		snprintf(why, whylen,
			 "the EK is not a restricted decryption "
			 "key");
		return -1;
	}
	sym = ek->type == TPM2_ALG_RSA ? &ek->parameters.rsaDetail.symmetric
				       : &ek->parameters.eccDetail.symmetric;
	if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
	    (sym->keyBits.aes != 128 && sym->keyBits.aes != 256)) {
		snprintf(why, whylen,
			 "the EK's symmetric algorithm is not "
			 "AES-128/256-CFB");
		return -1;
	}
	cipher = sym->keyBits.aes == 128 ? EVP_aes_128_cfb128()
					 : EVP_aes_256_cfb128();
	if ((key = tpmt_public_pkey(ek)) == NULL) {
		snprintf(why, whylen, "the EK's public key is not supported");
		return -1;
	}
	snprintf(why, whylen, "cannot make the credential (OpenSSL error)");
	if (ek->type == TPM2_ALG_RSA) {
		if (seed_rsa(key, ek->nameAlg, seed, dsize, secret) != 0)
			goto out;
	} else if (seed_ecc(key, ek, seed, dsize, secret) != 0) {
		goto out;
	}
	/* symKey = KDFa(nameAlg, seed, "STORAGE", Name, NULL, keyBits) */
	if (kdfa(ek->nameAlg, seed, dsize, "STORAGE", name, name_len, NULL, 0,
		 sym->keyBits.aes, symkey) != 0)
		goto out;
	/* encIdentity = CFB(symKey, IV 0, TPM2B_DIGEST(cv)) */
	plain[0] = (uint8_t)(cv_len >> 8);
	plain[1] = (uint8_t)cv_len;
	memcpy(plain + 2, cv, cv_len);
	enc = blob->credential + 2 + dsize;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cc, cipher, NULL, symkey, NULL) != 1 ||
	    EVP_EncryptUpdate(cc, enc, &outl, plain, (int)(2 + cv_len)) != 1 ||
	    outl != (int)(2 + cv_len))
		goto out;
	/* HMACkey = KDFa(nameAlg, seed, "INTEGRITY", NULL, NULL, digest bits);
	 * outerHMAC = HMAC(HMACkey, encIdentity || Name) */
	if (kdfa(ek->nameAlg, seed, dsize, "INTEGRITY", NULL, 0, NULL, 0,
		 (unsigned)dsize * 8, hkey) != 0)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_MAC_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((hm = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (mc = EVP_MAC_CTX_new(hm)) == NULL ||
	    EVP_MAC_init(mc, hkey, dsize, params) != 1 ||
	    EVP_MAC_update(mc, enc, 2 + cv_len) != 1 ||
	    EVP_MAC_update(mc, name, name_len) != 1 ||
	    EVP_MAC_final(mc, mac, &ml, sizeof(mac)) != 1 || ml != dsize)
		goto out;
	maclen = (unsigned int)ml;
	/* TPM2B_ID_OBJECT.credential = TPM2B_DIGEST integrityHMAC ||
	 * encIdentity (Part 2, 12.4.3 TPMS_ID_OBJECT) */
	blob->credential[0] = (uint8_t)(maclen >> 8);
	blob->credential[1] = (uint8_t)maclen;
	memcpy(blob->credential + 2, mac, maclen);
	blob->size = (UINT16)(2 + maclen + 2 + cv_len);
	rc = 0;
	why[0] = '\0';
out:
	secure_zero(seed, sizeof(seed));
	secure_zero(symkey, sizeof(symkey));
	secure_zero(hkey, sizeof(hkey));
	secure_zero(plain, sizeof(plain));
	EVP_CIPHER_CTX_free(cc);
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(hm);
	EVP_PKEY_free(key);
	return rc;
}
