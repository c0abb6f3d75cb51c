/* Digests, RSA decryption and encryption, ECDH key derivation and AES,
 * mechanism by mechanism, for the walk of conf_mech.c, and random numbers
 * (conf.h; the cases run from the table in conformance.c); each answer
 * checked with OpenSSL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "conf.h"

/* Known answers (FIPS 180-4 examples) for "abc". */
static const struct {
	CK_MECHANISM_TYPE m;
	const char *hex;
} kat_abc[] = {
	{ CKM_SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ CKM_SHA224,
	  "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7" },
	{ CKM_SHA256,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ CKM_SHA384,
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7" },
	{ CKM_SHA512,
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
};

void
ex_digest(CK_SESSION_HANDLE s, const struct mdef *d)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	const EVP_MD *md = md_of(d->type);
	unsigned char out[64], want[64], big[100000];
	char h[129];
	CK_ULONG ol, mdlen = (CK_ULONG)EVP_MD_get_size(md), i;
	size_t k;
	CK_RV rv;

	/* single-part, known answer, length protocol */
	rv = p11->C_DigestInit(s, &m);
	expect_rv(rv, CKR_OK, "C_DigestInit: %s in a public session (no login) "
			      "-> CKR_OK", d->name);
	expect_rv(p11->C_DigestInit(s, &m), CKR_OPERATION_ACTIVE,
		  "C_DigestInit: %s while a digest is active -> "
		  "CKR_OPERATION_ACTIVE", d->name);
	ol = 0;
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, NULL, &ol);
	if (!tap(rv == CKR_OK && ol == mdlen,
		 "C_Digest: %s: NULL output gives the length (%lu)", d->name,
		 (unsigned long)mdlen))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = 1;
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, out, &ol);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL && ol == mdlen,
		 "C_Digest: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL with "
		 "the length, operation still active", d->name))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = sizeof(out);
	rv = p11->C_Digest(s, (CK_BYTE *)"abc", 3, out, &ol);
	hex(out, ol, h, sizeof(h));
	for (k = 0; k < NELEM(kat_abc); k++)
		if (kat_abc[k].m == d->type)
			break;
	if (!tap(rv == CKR_OK && k < NELEM(kat_abc) &&
			 strcmp(h, kat_abc[k].hex) == 0,
		 "C_Digest: %s(\"abc\") is the FIPS 180-4 answer", d->name))
		diag("%s, got %s", rv_name(rv), h);
	expect_rv(p11->C_DigestUpdate(s, (CK_BYTE *)"x", 1),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestUpdate: %s after C_Digest finished -> "
		  "CKR_OPERATION_NOT_INITIALIZED", d->name);
	/* empty message */
	ol = sizeof(out);
	rv = p11->C_DigestInit(s, &m);
	if (rv == CKR_OK)
		rv = p11->C_Digest(s, (CK_BYTE *)"", 0, out, &ol);
	digest(md, "", 0, want);
	tap(rv == CKR_OK && ol == mdlen && memcmp(out, want, mdlen) == 0,
	    "C_Digest: %s of the empty message is OpenSSL's", d->name);
	/* multi-part, 100000 bytes in uneven parts */
	RAND_bytes(big, sizeof(big));
	digest(md, big, sizeof(big), want);
	rv = p11->C_DigestInit(s, &m);
	for (i = 0; rv == CKR_OK && i < sizeof(big);) {
		CK_ULONG part = (i % 7 + 1) * 997;

		if (part > sizeof(big) - i)
			part = sizeof(big) - i;
		rv = p11->C_DigestUpdate(s, big + i, part);
		i += part;
	}
	if (rv == CKR_OK)
		rv = p11->C_DigestUpdate(s, big, 0);
	ol = 0;
	if (rv == CKR_OK) {
		rv = p11->C_DigestFinal(s, NULL, &ol);
		tap(rv == CKR_OK && ol == mdlen,
		    "C_DigestFinal: %s: NULL output gives the length", d->name);
		ol = sizeof(out);
		rv = p11->C_DigestFinal(s, out, &ol);
	}
	if (!tap(rv == CKR_OK && ol == mdlen && memcmp(out, want, mdlen) == 0,
		 "C_DigestUpdate/C_DigestFinal: %s of 100000 bytes in parts is "
		 "OpenSSL's", d->name))
		diag("%s", rv_name(rv));
}

/* The RSA key for decryption: the tool's, when it has CKA_DECRYPT, else
 * one made here (dec_key_setup). Raw RSA signing (CKM_RSA_X_509) uses it
 * too: that is the private-key operation itself. */
struct key dec_key;
static struct kp dec_made;

void
dec_key_setup(CK_SESSION_HANDLE s)
{
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };

	memset(&dec_key, 0, sizeof(dec_key));
	memset(&dec_made, 0, sizeof(dec_made));
	if (!keys[K_RSA].ok)
		return;
	if (bool_is(s, keys[K_RSA].priv, CKA_DECRYPT, CK_TRUE)) {
		dec_key = keys[K_RSA];
		return;
	}
	diag("the tool's rsa2048 key has CKA_DECRYPT false; decryption is "
	     "tested with a key made by C_GenerateKeyPair");
	if (gen_rsa(s, 2048, f4, sizeof(f4), "conf-decrypt", true, true,
		    &dec_made) != CKR_OK)
		return;
	dec_key = keys[K_RSA];
	dec_key.label = "conf-decrypt";
	dec_key.pub = dec_made.pub;
	dec_key.priv = dec_made.priv;
	dec_key.pkey = pkey_of(s, dec_made.pub);
	dec_key.ok = dec_key.pkey != NULL;
}

void
dec_key_cleanup(CK_SESSION_HANDLE s)
{
	if (dec_made.priv) {
		EVP_PKEY_free(dec_key.pkey);
		destroy_kp(s, &dec_made);
	}
	memset(&dec_key, 0, sizeof(dec_key));
}

/* RSA decryption of what OpenSSL encrypted. */
static void
dec_case(CK_SESSION_HANDLE s, CK_MECHANISM *m, int pad, const EVP_MD *md,
	 const char *label, const char *what)
{
	struct key *k = &dec_key;
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	unsigned char pt[512], ct[512], out[512];
	size_t ptlen = pad == RSA_NO_PADDING ? modlen : 48, ctlen;
	CK_ULONG ol;
	CK_RV rv;

	RAND_bytes(pt, ptlen);
	if (pad == RSA_NO_PADDING)
		pt[0] = 0x00, pt[1] |= 0x01;
	ctlen = rsa_encrypt(k->pkey, pad, md, label, label ? strlen(label) : 0,
			    pt, ptlen, ct, sizeof(ct));
	if (!tap(ctlen == modlen, "set-up: OpenSSL encrypts for %s", what))
		return;
	rv = p11->C_DecryptInit(s, m, k->priv);
	if (!expect_rv(rv, CKR_OK, "C_DecryptInit: %s -> CKR_OK", what))
		return;
	ol = 0;
	rv = p11->C_Decrypt(s, ct, ctlen, NULL, &ol);
	if (!tap(rv == CKR_OK && ol >= ptlen,
		 "C_Decrypt: %s: NULL output gives a length >= %zu", what,
		 ptlen))
		diag("%s, %lu", rv_name(rv), (unsigned long)ol);
	ol = 1;
	rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
	if (!tap(rv == CKR_BUFFER_TOO_SMALL,
		 "C_Decrypt: %s: a buffer too small -> CKR_BUFFER_TOO_SMALL",
		 what))
		diag("%s", rv_name(rv));
	ol = sizeof(out);
	rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
	if (!tap(rv == CKR_OK && ol == ptlen && memcmp(out, pt, ptlen) == 0,
		 "C_Decrypt: %s: OpenSSL's ciphertext decrypts to the "
		 "plaintext", what))
		diag("%s, length %lu (expected %zu)", rv_name(rv),
		     (unsigned long)ol, ptlen);
	rv = p11->C_DecryptInit(s, m, k->priv);
	ol = sizeof(out);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(s, ct, ctlen - 1, out, &ol);
	expect_rv(rv, CKR_ENCRYPTED_DATA_LEN_RANGE,
		  "C_Decrypt: %s: a ciphertext one byte short -> "
		  "CKR_ENCRYPTED_DATA_LEN_RANGE", what);
	/* RSA decryption is single-part: an update fails and ends the
	 * operation. */
	rv = p11->C_DecryptInit(s, m, k->priv);
	if (rv == CKR_OK) {
		CK_RV r2;

		ol = sizeof(out);
		r2 = p11->C_DecryptUpdate(s, ct, ctlen, out, &ol);
		if (!tap(r2 != CKR_OK, "C_DecryptUpdate: %s (single-part "
				       "only) is refused", what))
			p11->C_DecryptFinal(s, out, &ol);
		else
			diag("%s", rv_name(r2));
		r2 = p11->C_DecryptInit(s, m, k->priv);
		expect_rv(r2, CKR_OK, "C_DecryptUpdate: %s: a failed call "
				      "ends the operation (C_DecryptInit "
				      "works again)", what);
		ol = sizeof(out);
		if (r2 == CKR_OK)
			p11->C_Decrypt(s, ct, ctlen, out, &ol);
	}
	if (pad == RSA_PKCS1_OAEP_PADDING) {
		ct[ctlen / 2] ^= 0x01;
		rv = p11->C_DecryptInit(s, m, k->priv);
		ol = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, ct, ctlen, out, &ol);
		expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
			  "C_Decrypt: %s: a changed ciphertext -> "
			  "CKR_ENCRYPTED_DATA_INVALID", what);
	}
}

void
ex_rsa_enc(CK_SESSION_HANDLE s, const struct mdef *d, CK_MECHANISM_INFO *mi)
{
	CK_MECHANISM m = { d->type, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS op;
	static const char label[] = "tpm11 label";
	EVP_PKEY *ok = NULL;
	CK_OBJECT_HANDLE pubk = 0;
	CK_RV rv;

	if (!dec_key.ok) {
		tap(false, "%s: an RSA key with CKA_DECRYPT", d->name);
		return;
	}
	if (!(mi->flags & CKF_DECRYPT) && d->type != CKM_RSA_PKCS_OAEP)
		goto encrypt;
	if (d->type == CKM_RSA_PKCS) {
		dec_case(s, &m, RSA_PKCS1_PADDING, NULL, NULL,
			 "CKM_RSA_PKCS (PKCS#1 v1.5)");
	} else if (d->type == CKM_RSA_X_509) {
		dec_case(s, &m, RSA_NO_PADDING, NULL, NULL, "CKM_RSA_X_509");
	} else {
		static const struct {
			CK_MECHANISM_TYPE h;
			bool label;
			const char *what;
		} v[] = {
			{ CKM_SHA_1, false, "CKM_RSA_PKCS_OAEP SHA-1, no label" },
			{ CKM_SHA_1, true, "CKM_RSA_PKCS_OAEP SHA-1, label" },
			{ CKM_SHA256, false,
			  "CKM_RSA_PKCS_OAEP SHA-256, no label" },
			{ CKM_SHA256, true, "CKM_RSA_PKCS_OAEP SHA-256, label" },
		};
		size_t i;

		m.pParameter = &op;
		m.ulParameterLen = sizeof(op);
		for (i = 0; i < NELEM(v); i++) {
			memset(&op, 0, sizeof(op));
			op.hashAlg = v[i].h;
			op.mgf = mgf_of(v[i].h);
			op.source = CKZ_DATA_SPECIFIED;
			op.pSourceData = v[i].label ? (void *)label : NULL;
			op.ulSourceDataLen = v[i].label ? strlen(label) : 0;
			dec_case(s, &m, RSA_PKCS1_OAEP_PADDING, md_of(v[i].h),
				 v[i].label ? label : NULL, v[i].what);
		}
		/* the wrong label */
		{
			/* (pt initialised: valgrind saw OpenSSL encrypt
			 * uninitialised bytes) */
			unsigned char pt[32] = { 0x5a }, ct[512], out[512];
			CK_ULONG ol = sizeof(out);
			size_t cl = rsa_encrypt(dec_key.pkey,
						RSA_PKCS1_OAEP_PADDING,
						EVP_sha256(), "other", 5, pt,
						sizeof(pt), ct, sizeof(ct));

			memset(&op, 0, sizeof(op));
			op.hashAlg = CKM_SHA256;
			op.mgf = CKG_MGF1_SHA256;
			op.source = CKZ_DATA_SPECIFIED;
			op.pSourceData = (void *)label;
			op.ulSourceDataLen = strlen(label);
			rv = p11->C_DecryptInit(s, &m, dec_key.priv);
			if (rv == CKR_OK)
				rv = p11->C_Decrypt(s, ct, cl, out, &ol);
			expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
				  "C_Decrypt: CKM_RSA_PKCS_OAEP with another "
				  "label than the sender's -> "
				  "CKR_ENCRYPTED_DATA_INVALID");
		}
		m.pParameter = NULL;
		m.ulParameterLen = 0;
		expect_rv(p11->C_DecryptInit(s, &m, dec_key.priv),
			  CKR_MECHANISM_PARAM_INVALID,
			  "C_DecryptInit: CKM_RSA_PKCS_OAEP without parameters "
			  "-> CKR_MECHANISM_PARAM_INVALID");
		memset(&op, 0, sizeof(op));
		op.hashAlg = CKM_SHA256;
		op.mgf = CKG_MGF1_SHA256;
		op.source = CKZ_DATA_SPECIFIED;
		m.pParameter = &op;
		m.ulParameterLen = sizeof(op);
	}
	if (keys[K_P256].ok)
		expect_rv(p11->C_DecryptInit(s, &m, keys[K_P256].priv),
			  CKR_KEY_TYPE_INCONSISTENT,
			  "C_DecryptInit: %s with an EC key -> "
			  "CKR_KEY_TYPE_INCONSISTENT", d->name);
encrypt:
	/* Encryption with a public key: works if advertised, else refused. */
	ok = gen_openssl_key("RSA", NULL, 2048);
	if (ok == NULL ||
	    create_rsa_public(s, ok, "conf-enc", false, false, &pubk) != CKR_OK) {
		EVP_PKEY_free(ok);
		return;
	}
	rv = p11->C_EncryptInit(s, &m, pubk);
	if (mi->flags & CKF_ENCRYPT) {
		unsigned char pt[32], ct[512], back[512];
		CK_ULONG cl = sizeof(ct);
		size_t bl = sizeof(back);
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ok, NULL);
		int pad = d->type == CKM_RSA_PKCS ? RSA_PKCS1_PADDING
			  : d->type == CKM_RSA_X_509 ? RSA_NO_PADDING
						     : RSA_PKCS1_OAEP_PADDING;
		size_t ptl = pad == RSA_NO_PADDING ? 256 : sizeof(pt);
		unsigned char raw[256];

		RAND_bytes(pt, sizeof(pt));
		memset(raw, 0, sizeof(raw));
		memcpy(raw + 256 - sizeof(pt), pt, sizeof(pt));
		if (rv == CKR_OK)
			rv = p11->C_Encrypt(s, pad == RSA_NO_PADDING ? raw : pt,
					    ptl, ct, &cl);
		if (rv == CKR_OK && ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1 &&
		    (pad != RSA_PKCS1_OAEP_PADDING ||
		     (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
		      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1)) &&
		    EVP_PKEY_decrypt(ctx, back, &bl, ct, cl) == 1) {
			tap(bl == ptl && memcmp(back,
						pad == RSA_NO_PADDING ? raw : pt,
						ptl) == 0,
			    "C_Encrypt: %s (advertised CKF_ENCRYPT): OpenSSL "
			    "decrypts the module's ciphertext", d->name);
		} else {
			tap(false, "C_Encrypt: %s (advertised CKF_ENCRYPT) "
				   "works", d->name);
			diag("%s", rv_name(rv));
		}
		EVP_PKEY_CTX_free(ctx);
	} else {
		char name[200];

		snprintf(name, sizeof(name),
			 "C_EncryptInit: %s (no CKF_ENCRYPT in its info) -> "
			 "CKR_MECHANISM_INVALID (or CKR_FUNCTION_NOT_SUPPORTED)",
			 d->name);
		EXPECT_IN(rv, name, CKR_MECHANISM_INVALID,
			  CKR_FUNCTION_NOT_SUPPORTED);
		if (rv == CKR_OK) {
			unsigned char ct[512];
			CK_ULONG cl = sizeof(ct);

			p11->C_Encrypt(s, (CK_BYTE *)"x", 1, ct, &cl);
		}
	}
	p11->C_DestroyObject(s, pubk);
	EVP_PKEY_free(ok);
}

/* ANSI X9.63 KDF, spelled out here so the module's is checked against an
 * independent computation: H(Z || counter || info) for counter = 1, 2, ...
 * (32-bit big endian), concatenated and cut to outlen. */
static bool
x963_expected(const EVP_MD *md, const unsigned char *z, size_t zl,
	      const unsigned char *info, size_t il, unsigned char *out,
	      size_t outlen)
{
	unsigned char blk[EVP_MAX_MD_SIZE];
	unsigned int bl = 0;
	uint32_t c;
	size_t n;

	for (c = 1; outlen > 0; c++) {
		unsigned char cb[4] = { c >> 24, c >> 16, c >> 8, c };
		EVP_MD_CTX *x = EVP_MD_CTX_new();
		bool good = x && EVP_DigestInit_ex(x, md, NULL) == 1 &&
			    EVP_DigestUpdate(x, z, zl) == 1 &&
			    EVP_DigestUpdate(x, cb, 4) == 1 &&
			    (il == 0 || EVP_DigestUpdate(x, info, il) == 1) &&
			    EVP_DigestFinal_ex(x, blk, &bl) == 1;

		EVP_MD_CTX_free(x);
		if (!good)
			return false;
		n = outlen < bl ? outlen : bl;
		memcpy(out, blk, n);
		out += n;
		outlen -= n;
	}
	return true;
}

/* C_DeriveKey with the X9.63 KDFs: the derived value is the KDF of
 * OpenSSL's shared secret Z (want), with and without shared data, for
 * lengths within one hash block and across two. */
static void
ecdh_kdf_cases(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ECDH1_DERIVE_PARAMS *ep,
	       CK_OBJECT_HANDLE priv, CK_ATTRIBUTE *t, CK_ULONG nt,
	       CK_ULONG *lenp, const unsigned char *z, size_t zl,
	       unsigned char *ppt, size_t ppl)
{
	static const struct {
		CK_ULONG kdf;
		const char *name, *md;
		CK_ULONG len;
		const char *info;
	} cases[] = {
		{ CKD_SHA1_KDF, "CKD_SHA1_KDF", "SHA1", 16, NULL },
		{ CKD_SHA256_KDF, "CKD_SHA256_KDF", "SHA256", 32, "conf-info" },
		{ CKD_SHA256_KDF, "CKD_SHA256_KDF", "SHA256", 48, NULL },
		{ CKD_SHA384_KDF, "CKD_SHA384_KDF", "SHA384", 80, "x" },
		{ CKD_SHA512_KDF, "CKD_SHA512_KDF", "SHA512", 64, "conf-info" },
	};
	CK_ULONG keep = *lenp;
	size_t i;

	/* t: ex_ecdh's template for a session generic secret, whose
	 * CKA_VALUE_LEN points at *lenp */
	for (i = 0; i < NELEM(cases); i++) {
		CK_ULONG len = cases[i].len, vl = 0;
		const char *info = cases[i].info;
		size_t il = info ? strlen(info) : 0;
		unsigned char want[128], *v = NULL;
		CK_OBJECT_HANDLE dk = 0;
		char name[200];
		CK_RV rv;

		snprintf(name, sizeof(name), "C_DeriveKey: CKM_ECDH1_DERIVE, %s, "
			 "%lu bytes, %s shared data: the value is the X9.63 KDF "
			 "of OpenSSL's shared secret", cases[i].name,
			 (unsigned long)len, info ? "with" : "no");
		if (!x963_expected(EVP_get_digestbyname(cases[i].md), z, zl,
				   (const unsigned char *)info, il, want, len)) {
			tap(false, "%s (set-up: the expected value)", name);
			continue;
		}
		memset(ep, 0, sizeof(*ep));
		ep->kdf = cases[i].kdf;
		ep->pSharedData = (CK_BYTE *)info;
		ep->ulSharedDataLen = il;
		ep->pPublicData = ppt;
		ep->ulPublicDataLen = ppl;
		*lenp = len;
		rv = p11->C_DeriveKey(s, m, priv, t, nt, &dk);
		if (rv == CKR_OK)
			rv = get_attr_alloc(s, dk, CKA_VALUE, &v, &vl);
		if (!tap(rv == CKR_OK && vl == len && memcmp(v, want, len) == 0,
			 "%s", name))
			diag("%s, length %lu", rv_name(rv), (unsigned long)vl);
		free(v);
		if (dk)
			p11->C_DestroyObject(s, dk);
	}
	*lenp = keep;
	memset(ep, 0, sizeof(*ep));
	ep->kdf = CKD_NULL;
	ep->pPublicData = ppt;
	ep->ulPublicDataLen = ppl;
}

void
ex_ecdh(CK_SESSION_HANDLE s, const struct mdef *d)
{
	struct kp kp;
	EVP_PKEY *peer = gen_openssl_key("EC", "P-256", 0), *tpub = NULL;
	unsigned char ppt[133], der[140], want[66], *v = NULL;
	size_t ppl, wl = sizeof(want), dl;
	CK_ULONG vl = 0, len = 32;
	CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
	CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &sc, sizeof(sc) },
		{ CKA_KEY_TYPE, &gk, sizeof(gk) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_SENSITIVE, (void *)&no, 1 },
		{ CKA_EXTRACTABLE, (void *)&yes, 1 },
		{ CKA_TOKEN, (void *)&no, 1 },
	};
	CK_ECDH1_DERIVE_PARAMS ep;
	CK_MECHANISM m = { d->type, &ep, sizeof(ep) };
	CK_OBJECT_HANDLE dk = 0;
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv;

	if (peer == NULL)
		return;
	rv = gen_ec(s, oid_p256, sizeof(oid_p256), "conf-ecdh", true, false,
		    true, &kp);
	if (!expect_rv(rv, CKR_OK, "C_GenerateKeyPair: P-256 with CKA_DERIVE "
				   "for ECDH -> CKR_OK"))
		goto out;
	ppl = ec_point_of(peer, ppt, sizeof(ppt));
	tpub = pkey_of(s, kp.pub);
	ctx = tpub ? EVP_PKEY_CTX_new(peer, NULL) : NULL;
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, tpub) != 1 ||
	    EVP_PKEY_derive(ctx, want, &wl) != 1) {
		tap(false, "set-up: OpenSSL derives the ECDH secret");
		diag_openssl();
		goto out;
	}
	memset(&ep, 0, sizeof(ep));
	ep.kdf = CKD_NULL;
	ep.pPublicData = ppt;
	ep.ulPublicDataLen = ppl;
	rv = p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk);
	if (expect_rv(rv, CKR_OK, "C_DeriveKey: CKM_ECDH1_DERIVE, CKD_NULL, "
				  "raw peer point -> CKR_OK")) {
		rv = get_attr_alloc(s, dk, CKA_VALUE, &v, &vl);
		if (!tap(rv == CKR_OK && vl == wl && memcmp(v, want, wl) == 0,
			 "C_DeriveKey: CKM_ECDH1_DERIVE: the shared secret is "
			 "OpenSSL's"))
			diag("%s, length %lu", rv_name(rv), (unsigned long)vl);
		tap(bool_is(s, dk, CKA_LOCAL, CK_FALSE) &&
			    bool_is(s, dk, CKA_ALWAYS_SENSITIVE, CK_FALSE),
		    "C_DeriveKey: the derived key has CKA_LOCAL false and "
		    "CKA_ALWAYS_SENSITIVE false (it was derived non-sensitive)");
		free(v);
		p11->C_DestroyObject(s, dk);
	}
	ecdh_kdf_cases(s, &m, &ep, kp.priv, t, NELEM(t), &len, want, wl, ppt,
		       ppl);
	dl = der_octet_string(ppt, ppl, der);
	ep.pPublicData = der;
	ep.ulPublicDataLen = dl;
	rv = p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk);
	table_put("CKM_ECDH1_DERIVE (DER peer point)", "%s",
		  rv == CKR_OK ? "supported" : rv_name(rv));
	if (rv == CKR_OK)
		p11->C_DestroyObject(s, dk);
	if (keys[K_P256].ok && !bool_is(s, keys[K_P256].priv, CKA_DERIVE,
					CK_TRUE)) {
		ep.pPublicData = ppt;
		ep.ulPublicDataLen = ppl;
		expect_rv(p11->C_DeriveKey(s, &m, keys[K_P256].priv, t,
					   NELEM(t), &dk),
			  CKR_KEY_FUNCTION_NOT_PERMITTED,
			  "C_DeriveKey: a key with CKA_DERIVE false -> "
			  "CKR_KEY_FUNCTION_NOT_PERMITTED");
	}
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	expect_rv(p11->C_DeriveKey(s, &m, kp.priv, t, NELEM(t), &dk),
		  CKR_MECHANISM_PARAM_INVALID,
		  "C_DeriveKey: CKM_ECDH1_DERIVE without parameters -> "
		  "CKR_MECHANISM_PARAM_INVALID");
	destroy_kp(s, &kp);
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(tpub);
	EVP_PKEY_free(peer);
}

static const EVP_CIPHER *
aes_cipher(CK_MECHANISM_TYPE m, size_t keylen)
{
	bool k16 = keylen == 16;

	switch (m) {
	case CKM_AES_ECB: return k16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD: return k16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	case CKM_AES_CTR: return k16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
	case CKM_AES_CFB128:
		return k16 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
	case CKM_AES_CFB8: return k16 ? EVP_aes_128_cfb8() : EVP_aes_256_cfb8();
	case CKM_AES_OFB: return k16 ? EVP_aes_128_ofb() : EVP_aes_256_ofb();
	default: return NULL;
	}
}

static size_t
openssl_aes(CK_MECHANISM_TYPE m, const unsigned char *key, size_t keylen,
	    const unsigned char *iv, const unsigned char *in, size_t inlen,
	    unsigned char *out, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	size_t n = 0;

	if (c && EVP_CipherInit_ex(c, aes_cipher(m, keylen), NULL, key,
				   m == CKM_AES_ECB ? NULL : iv, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(c, m == CKM_AES_CBC_PAD) == 1 &&
	    EVP_CipherUpdate(c, out, &l1, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(c, out + l1, &l2) == 1)
		n = (size_t)(l1 + l2);
	EVP_CIPHER_CTX_free(c);
	return n;
}

static void
aes_mech(CK_MECHANISM *m, CK_MECHANISM_TYPE t, unsigned char *iv,
	 CK_AES_CTR_PARAMS *ctr)
{
	m->mechanism = t;
	m->pParameter = NULL;
	m->ulParameterLen = 0;
	if (t == CKM_AES_ECB)
		return;
	if (t == CKM_AES_CTR) {
		ctr->ulCounterBits = 128;
		memcpy(ctr->cb, iv, 16);
		m->pParameter = ctr;
		m->ulParameterLen = sizeof(*ctr);
		return;
	}
	m->pParameter = iv;
	m->ulParameterLen = 16;
}

/* Encrypts (and decrypts) pt with the module, in one part and in parts;
 * want: the expected ciphertext or NULL. */
static void
aes_round(CK_SESSION_HANDLE s, const struct mdef *d, CK_OBJECT_HANDLE key,
	  const unsigned char *pt, size_t ptlen, const unsigned char *want,
	  size_t wantlen, const char *what)
{
	unsigned char iv[16], ct[256], ct2[256], back[256];
	CK_AES_CTR_PARAMS ctr;
	CK_MECHANISM m;
	CK_ULONG cl, l, o;
	size_t parts[] = { 5, 27, 256 }, i, off;
	CK_RV rv;

	memset(iv, 0xa5, sizeof(iv));
	aes_mech(&m, d->type, iv, &ctr);
	rv = p11->C_EncryptInit(s, &m, key);
	if (!expect_rv(rv, CKR_OK, "C_EncryptInit: %s %s -> CKR_OK", d->name,
		       what))
		return;
	cl = 0;
	rv = p11->C_Encrypt(s, (CK_BYTE *)pt, ptlen, NULL, &cl);
	if (!tap(rv == CKR_OK && cl >= ptlen,
		 "C_Encrypt: %s %s: NULL output gives the length", d->name,
		 what))
		diag("%s %lu", rv_name(rv), (unsigned long)cl);
	cl = sizeof(ct);
	rv = p11->C_Encrypt(s, (CK_BYTE *)pt, ptlen, ct, &cl);
	if (want)
		tap(rv == CKR_OK && cl == wantlen &&
			    memcmp(ct, want, wantlen) == 0,
		    "C_Encrypt: %s %s: the ciphertext is the expected one", d->name,
		    what);
	else
		tap(rv == CKR_OK && cl >= ptlen && cl < ptlen + 17,
		    "C_Encrypt: %s %s -> CKR_OK", d->name, what);
	if (rv != CKR_OK) {
		diag("%s", rv_name(rv));
		return;
	}
	/* the same in parts */
	rv = p11->C_EncryptInit(s, &m, key);
	for (off = 0, o = 0, i = 0; rv == CKR_OK && off < ptlen; i++) {
		size_t n = parts[i] > ptlen - off ? ptlen - off : parts[i];

		l = sizeof(ct2) - o;
		rv = p11->C_EncryptUpdate(s, (CK_BYTE *)pt + off, n, ct2 + o, &l);
		o += l;
		off += n;
	}
	if (rv == CKR_OK) {
		l = sizeof(ct2) - o;
		rv = p11->C_EncryptFinal(s, ct2 + o, &l);
		o += l;
	}
	if (!tap(rv == CKR_OK && o == cl && memcmp(ct, ct2, cl) == 0,
		 "C_EncryptUpdate/C_EncryptFinal: %s %s: multi-part gives the "
		 "same ciphertext", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)o);
	/* decrypt, single and multi-part */
	rv = p11->C_DecryptInit(s, &m, key);
	l = sizeof(back);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(s, ct, cl, back, &l);
	if (!tap(rv == CKR_OK && l == ptlen && memcmp(back, pt, ptlen) == 0,
		 "C_Decrypt: %s %s: gives the plaintext back", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)l);
	rv = p11->C_DecryptInit(s, &m, key);
	for (off = 0, o = 0, i = 0; rv == CKR_OK && off < cl; i++) {
		size_t n = parts[i] > cl - off ? cl - off : parts[i];

		l = sizeof(back) - o;
		rv = p11->C_DecryptUpdate(s, ct + off, n, back + o, &l);
		o += l;
		off += n;
	}
	if (rv == CKR_OK) {
		l = sizeof(back) - o;
		rv = p11->C_DecryptFinal(s, back + o, &l);
		o += l;
	}
	if (!tap(rv == CKR_OK && o == ptlen && memcmp(back, pt, ptlen) == 0,
		 "C_DecryptUpdate/C_DecryptFinal: %s %s: multi-part gives the "
		 "plaintext back", d->name, what))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)o);
}

CK_OBJECT_HANDLE aes_known, aes_gen;
const unsigned char aes_known_value[16] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c
};

/* One AES block through the module's CKM_AES_ECB. */
static bool
ecb_block(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const unsigned char *in,
	  unsigned char *out)
{
	CK_MECHANISM m = { CKM_AES_ECB, NULL, 0 };
	CK_ULONG l = 16;

	return p11->C_EncryptInit(s, &m, key) == CKR_OK &&
	       p11->C_Encrypt(s, (CK_BYTE *)in, 16, out, &l) == CKR_OK &&
	       l == 16;
}

/* Without a key of known value, the modes are checked against the
 * module's own AES block (CKM_AES_ECB): what each mode must give follows
 * from it (SP 800-38A). */
static size_t
mode_from_ecb(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE m,
	      const unsigned char *iv, const unsigned char *pt, size_t n,
	      unsigned char *out)
{
	unsigned char prev[16], blk[16], x[16], buf[96];
	size_t i, k, len = n;

	if (m == CKM_AES_CBC_PAD) {
		size_t pad = 16 - n % 16;

		memcpy(buf, pt, n);
		memset(buf + n, (int)pad, pad);
		pt = buf;
		len = n + pad;
	}
	memcpy(prev, iv, 16);
	for (i = 0; i < len; i += 16) {
		size_t b = len - i < 16 ? len - i : 16;

		switch (m) {
		case CKM_AES_CBC:
		case CKM_AES_CBC_PAD:
			for (k = 0; k < 16; k++)
				x[k] = pt[i + k] ^ prev[k];
			if (!ecb_block(s, key, x, out + i))
				return 0;
			memcpy(prev, out + i, 16);
			break;
		case CKM_AES_CFB128:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			memcpy(prev, out + i, b);
			break;
		case CKM_AES_OFB:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			memcpy(prev, blk, 16);
			break;
		case CKM_AES_CTR:
			if (!ecb_block(s, key, prev, blk))
				return 0;
			for (k = 0; k < b; k++)
				out[i + k] = pt[i + k] ^ blk[k];
			for (k = 16; k-- > 0;)
				if (++prev[k] != 0)
					break;
			break;
		default:
			return 0;
		}
	}
	return len;
}

void
ex_aes(CK_SESSION_HANDLE s, const struct mdef *d)
{
	unsigned char pt[64], want[96], iv[16];
	size_t wl;
	bool block = d->type == CKM_AES_ECB || d->type == CKM_AES_CBC;
	CK_AES_CTR_PARAMS ctr;
	CK_MECHANISM m;
	CK_ULONG l;
	CK_RV rv;

	RAND_bytes(pt, sizeof(pt));
	memset(iv, 0xa5, sizeof(iv));
	if (aes_known) {
		wl = openssl_aes(d->type, aes_known_value, 16, iv, pt, 64, want,
				 1);
		aes_round(s, d, aes_known, pt, 64, want, wl,
			  "(known key, 64 bytes)");
		if (!block) {
			wl = openssl_aes(d->type, aes_known_value, 16, iv, pt,
					 61, want, 1);
			aes_round(s, d, aes_known, pt, 61, want, wl,
				  "(known key, 61 bytes)");
		}
	}
	if (aes_gen) {
		size_t n = block ? 64 : 61;

		wl = 0;
		if (d->type != CKM_AES_ECB && d->type != CKM_AES_CFB8 &&
		    mech_advertised(CKM_AES_ECB, NULL))
			wl = mode_from_ecb(s, aes_gen, d->type, iv, pt, n, want);
		aes_round(s, d, aes_gen, pt, n, wl ? want : NULL, wl,
			  wl ? "(generated key, checked against CKM_AES_ECB)"
			     : "(generated key)");
	}
	if (!aes_known && !aes_gen) {
		tap(false, "%s: an AES key to test with", d->name);
		return;
	}
	aes_mech(&m, d->type, iv, &ctr);
	if (block) {
		unsigned char out[96];

		rv = p11->C_EncryptInit(s, &m, aes_known ? aes_known : aes_gen);
		l = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Encrypt(s, pt, 61, out, &l);
		expect_rv(rv, CKR_DATA_LEN_RANGE,
			  "C_Encrypt: %s of 61 bytes (not whole blocks) -> "
			  "CKR_DATA_LEN_RANGE", d->name);
		rv = p11->C_DecryptInit(s, &m, aes_known ? aes_known : aes_gen);
		l = sizeof(out);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, pt, 61, out, &l);
		expect_rv(rv, CKR_ENCRYPTED_DATA_LEN_RANGE,
			  "C_Decrypt: %s of 61 bytes -> "
			  "CKR_ENCRYPTED_DATA_LEN_RANGE", d->name);
	}
	if (d->type == CKM_AES_CBC_PAD &&
	    (aes_known || mech_advertised(CKM_AES_CBC, NULL))) {
		/* A last block that ends in 0x00 is bad padding. */
		unsigned char bad[32], ct[48], out[64];
		CK_ULONG ol = sizeof(out);
		CK_OBJECT_HANDLE key = aes_known ? aes_known : aes_gen;
		size_t cl = 0;

		memset(bad, 0x33, sizeof(bad));
		bad[31] = 0x00;
		if (aes_known) {
			cl = openssl_aes(CKM_AES_CBC, aes_known_value, 16, iv,
					 bad, 32, ct, 1);
		} else {
			CK_MECHANISM cbc = { CKM_AES_CBC, iv, 16 };
			CK_ULONG l2 = sizeof(ct);

			if (p11->C_EncryptInit(s, &cbc, key) == CKR_OK &&
			    p11->C_Encrypt(s, bad, 32, ct, &l2) == CKR_OK)
				cl = l2;
		}
		rv = p11->C_DecryptInit(s, &m, key);
		if (rv == CKR_OK)
			rv = p11->C_Decrypt(s, ct, cl, out, &ol);
		expect_rv(rv, CKR_ENCRYPTED_DATA_INVALID,
			  "C_Decrypt: CKM_AES_CBC_PAD with bad padding -> "
			  "CKR_ENCRYPTED_DATA_INVALID");
	}
	if (d->type != CKM_AES_ECB) {
		m.ulParameterLen = d->type == CKM_AES_CTR ? 8 : 8;
		EXPECT_IN(p11->C_EncryptInit(s, &m,
					     aes_known ? aes_known : aes_gen),
			  "C_EncryptInit: an AES mode with a parameter of the "
			  "wrong length -> CKR_MECHANISM_PARAM_INVALID",
			  CKR_MECHANISM_PARAM_INVALID);
	}
}

/* === 10. random numbers =================================================== */

static bool
looks_random(const unsigned char *p, size_t n)
{
	size_t i, same = 0;

	if (n < 16)
		return true;
	for (i = 1; i < n; i++)
		same += p[i] == p[i - 1];
	return same < n / 16 + 4;
}

void
test_random(void)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	static unsigned char a[70000], b[70000];
	static const CK_ULONG lens[] = { 1, 16, 32, 33, 48, 64, 65, 100, 1000,
					 1024, 4097, 65536 };
	size_t i;
	CK_RV rv;

	if (open_session(slot, 0, &s) != CKR_OK) {
		tap(false, "C_GenerateRandom: a public session");
		return;
	}
	for (i = 0; i < NELEM(lens); i++) {
		memset(a, 0, lens[i] + 16);
		memset(b, 0, lens[i] + 16);
		rv = p11->C_GenerateRandom(s, a, lens[i]);
		if (rv == CKR_OK)
			rv = p11->C_GenerateRandom(s, b, lens[i]);
		if (!tap(rv == CKR_OK && a[lens[i]] == 0 &&
				 (lens[i] < 8 || memcmp(a, b, lens[i]) != 0) &&
				 looks_random(a, lens[i]) &&
				 looks_random(a + lens[i] - (lens[i] < 16 ? lens[i] : 16),
					      lens[i] < 16 ? lens[i] : 16),
			 "C_GenerateRandom: %lu bytes in a public session, "
			 "filled to the end, different each call",
			 (unsigned long)lens[i]))
			diag("%s", rv_name(rv));
	}
	rv = p11->C_GenerateRandom(s, a, 0);
	expect_rv(rv, CKR_OK, "C_GenerateRandom: 0 bytes -> CKR_OK");
	expect_rv(p11->C_GenerateRandom(s, NULL, 16), CKR_ARGUMENTS_BAD,
		  "C_GenerateRandom: NULL buffer -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_GenerateRandom(BOGUS_HANDLE, a, 16),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_GenerateRandom: unknown session -> "
		  "CKR_SESSION_HANDLE_INVALID");
	memset(a, 0x42, 32);
	rv = p11->C_SeedRandom(s, a, 32);
	expect_rv(rv, CKR_OK, "C_SeedRandom: 32 bytes (stirs the TPM's "
			      "generator) -> CKR_OK");
	expect_rv(p11->C_SeedRandom(s, a, 1000), CKR_OK,
		  "C_SeedRandom: 1000 bytes (more than TPM2_StirRandom takes "
		  "at once) -> CKR_OK");
	expect_rv(p11->C_SeedRandom(s, NULL, 4), CKR_ARGUMENTS_BAD,
		  "C_SeedRandom: NULL seed -> CKR_ARGUMENTS_BAD");
	rv = p11->C_GenerateRandom(s, b, 64);
	tap(rv == CKR_OK && looks_random(b, 64),
	    "C_GenerateRandom: still works after C_SeedRandom");
	p11->C_CloseSession(s);
}
