/* Conformance rules across function families (conf.h; the cases run from
 * the table in conformance.c): the digest protocol, C_DigestKey, the dual
 * functions and operation state; the end of active operations (issue 13
 * item 14) and the precedence of errors (issue 13 item 15). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "conf.h"

/* === 9. digest protocol, C_DigestKey, dual functions, state =============== */

void
test_function_misc(void)
{
	CK_SESSION_HANDLE s = user_session(true);
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	unsigned char out[64], buf[16];
	CK_ULONG ol, sl;
	CK_SLOT_ID ev;
	CK_RV rv;

	if (s == CK_INVALID_HANDLE) {
		tap(false, "misc functions: a user session");
		return;
	}
	refresh_keys(s);
	expect_rv(p11->C_DigestInit(s, NULL), CKR_ARGUMENTS_BAD,
		  "C_DigestInit: NULL mechanism -> CKR_ARGUMENTS_BAD");
	expect_rv(p11->C_DigestUpdate(s, (CK_BYTE *)"x", 1),
		  CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestUpdate: without C_DigestInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	ol = sizeof(out);
	expect_rv(p11->C_DigestFinal(s, out, &ol), CKR_OPERATION_NOT_INITIALIZED,
		  "C_DigestFinal: without C_DigestInit -> "
		  "CKR_OPERATION_NOT_INITIALIZED");
	expect_rv(p11->C_DigestInit(BOGUS_HANDLE, &sha),
		  CKR_SESSION_HANDLE_INVALID,
		  "C_DigestInit: unknown session -> CKR_SESSION_HANDLE_INVALID");

	/* C_DigestKey: a TPM key cannot be digested; a secret key may. */
	rv = p11->C_DigestInit(s, &sha);
	if (rv == CKR_OK && keys[K_P256].ok) {
		rv = p11->C_DigestKey(s, keys[K_P256].priv);
		if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
			tap(true, "C_DigestKey: not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED)");
		} else {
			expect_rv(rv, CKR_KEY_INDIGESTIBLE,
				  "C_DigestKey: a TPM private key -> "
				  "CKR_KEY_INDIGESTIBLE");
		}
		ol = sizeof(out);
		p11->C_DigestFinal(s, out, &ol);
		ol = sizeof(out);
		p11->C_DigestFinal(s, out, &ol);
	}

	/* Parallel-function legacy. */
	expect_rv(p11->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL,
		  "C_GetFunctionStatus: -> CKR_FUNCTION_NOT_PARALLEL");
	expect_rv(p11->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL,
		  "C_CancelFunction: -> CKR_FUNCTION_NOT_PARALLEL");

	/* Operation state: saved and restored, or refused by name. */
	sl = 0;
	rv = p11->C_GetOperationState(s, NULL, &sl);
	if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
		tap(true, "C_GetOperationState: not supported "
			  "(CKR_FUNCTION_NOT_SUPPORTED)");
	} else {
		expect_rv(rv, CKR_OPERATION_NOT_INITIALIZED,
			  "C_GetOperationState: no active operation -> "
			  "CKR_OPERATION_NOT_INITIALIZED");
	}
	rv = p11->C_DigestInit(s, &sha);
	if (rv == CKR_OK)
		rv = p11->C_DigestUpdate(s, (CK_BYTE *)"abc", 3);
	if (rv == CKR_OK) {
		unsigned char state[4096];

		sl = sizeof(state);
		rv = p11->C_GetOperationState(s, state, &sl);
		if (rv == CKR_OK) {
			unsigned char want[32];

			p11->C_DigestUpdate(s, (CK_BYTE *)"zzz", 3);
			rv = p11->C_SetOperationState(s, state, sl, 0, 0);
			if (rv == CKR_OK)
				rv = p11->C_DigestUpdate(s, (CK_BYTE *)"def",
							 3);
			ol = sizeof(out);
			if (rv == CKR_OK)
				rv = p11->C_DigestFinal(s, out, &ol);
			digest(EVP_sha256(), "abcdef", 6, want);
			tap(rv == CKR_OK && ol == 32 &&
				    memcmp(out, want, 32) == 0,
			    "C_GetOperationState/C_SetOperationState: a "
			    "digest continues from the saved state");
		} else {
			EXPECT_IN(rv, "C_GetOperationState: a digest in progress "
				      "-> CKR_OK, CKR_STATE_UNSAVEABLE or "
				      "CKR_FUNCTION_NOT_SUPPORTED",
				  CKR_STATE_UNSAVEABLE,
				  CKR_FUNCTION_NOT_SUPPORTED);
			ol = sizeof(out);
			p11->C_DigestFinal(s, out, &ol);
		}
	}
	rv = p11->C_SetOperationState(s, buf, 4, 0, 0);
	EXPECT_IN(rv, "C_SetOperationState: a state it never made -> "
		      "CKR_SAVED_STATE_INVALID or CKR_FUNCTION_NOT_SUPPORTED",
		  CKR_SAVED_STATE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);

	/* Dual-function updates: no operation is active. */
	{
		static const char *names[] = {
			"C_DigestEncryptUpdate", "C_DecryptDigestUpdate",
			"C_SignEncryptUpdate", "C_DecryptVerifyUpdate",
		};
		unsigned char o2[32];
		CK_ULONG l2;
		int i;

		for (i = 0; i < 4; i++) {
			char name[200];

			l2 = sizeof(o2);
			switch (i) {
			case 0: rv = p11->C_DigestEncryptUpdate(s, buf, 16, o2, &l2); break;
			case 1: rv = p11->C_DecryptDigestUpdate(s, buf, 16, o2, &l2); break;
			case 2: rv = p11->C_SignEncryptUpdate(s, buf, 16, o2, &l2); break;
			default: rv = p11->C_DecryptVerifyUpdate(s, buf, 16, o2, &l2); break;
			}
			snprintf(name, sizeof(name),
				 "%s: with no operation active -> "
				 "CKR_OPERATION_NOT_INITIALIZED (or "
				 "CKR_FUNCTION_NOT_SUPPORTED)", names[i]);
			EXPECT_IN(rv, name, CKR_OPERATION_NOT_INITIALIZED,
				  CKR_FUNCTION_NOT_SUPPORTED);
		}
	}

	/* Recover: supported when a mechanism says CKF_SIGN_RECOVER. */
	{
		CK_MECHANISM m = { CKM_RSA_X_509, NULL, 0 };
		CK_MECHANISM_INFO mi;
		bool adv = mech_advertised(CKM_RSA_X_509, &mi) &&
			   (mi.flags & CKF_SIGN_RECOVER);
		CK_MECHANISM_TYPE rm = CKM_RSA_PKCS;
		CK_MECHANISM_INFO mi2;

		if (!adv && mech_advertised(CKM_RSA_PKCS, &mi2) &&
		    (mi2.flags & CKF_SIGN_RECOVER)) {
			adv = true;
			m.mechanism = rm;
		}
		rv = keys[K_RSA].ok
			     ? p11->C_SignRecoverInit(s, &m, keys[K_RSA].priv)
			     : CKR_GENERAL_ERROR;
		if (adv) {
			unsigned char in[32], sig[512], back[512];
			CK_ULONG sl2 = sizeof(sig), bl = sizeof(back);

			RAND_bytes(in, sizeof(in));
			in[0] = 0x01;
			if (rv == CKR_OK)
				rv = p11->C_SignRecover(s, in, sizeof(in), sig,
							&sl2);
			if (rv == CKR_OK)
				rv = p11->C_VerifyRecoverInit(
					s, &m, keys[K_RSA].pub);
			if (rv == CKR_OK)
				rv = p11->C_VerifyRecover(s, sig, sl2, back,
							  &bl);
			tap(rv == CKR_OK && bl >= sizeof(in) &&
				    memcmp(back + bl - sizeof(in), in,
					   sizeof(in)) == 0,
			    "C_SignRecover/C_VerifyRecover: advertised, and the "
			    "data comes back");
		} else {
			EXPECT_IN(rv, "C_SignRecoverInit: no mechanism has "
				      "CKF_SIGN_RECOVER -> "
				      "CKR_FUNCTION_NOT_SUPPORTED or "
				      "CKR_MECHANISM_INVALID",
				  CKR_FUNCTION_NOT_SUPPORTED,
				  CKR_MECHANISM_INVALID);
			rv = keys[K_RSA].ok ? p11->C_VerifyRecoverInit(
						      s, &m, keys[K_RSA].pub)
					    : CKR_GENERAL_ERROR;
			EXPECT_IN(rv, "C_VerifyRecoverInit: no mechanism has "
				      "CKF_VERIFY_RECOVER -> "
				      "CKR_FUNCTION_NOT_SUPPORTED or "
				      "CKR_MECHANISM_INVALID",
				  CKR_FUNCTION_NOT_SUPPORTED,
				  CKR_MECHANISM_INVALID);
		}
	}

	/* Slot events: none to wait for without blocking. */
	rv = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL);
	EXPECT_IN(rv, "C_WaitForSlotEvent: CKF_DONT_BLOCK -> CKR_NO_EVENT or "
		      "CKR_FUNCTION_NOT_SUPPORTED",
		  CKR_NO_EVENT, CKR_FUNCTION_NOT_SUPPORTED);

	/* Unwrapping. */
	{
		CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
		CK_OBJECT_HANDLE h;
		unsigned char junk[40];

		memset(junk, 0x5a, sizeof(junk));
		rv = p11->C_UnwrapKey(s, &m, keys[K_P256].priv, junk,
				      sizeof(junk), NULL, 0, &h);
		if (rv == CKR_FUNCTION_NOT_SUPPORTED)
			tap(true, "C_UnwrapKey: not supported "
				  "(CKR_FUNCTION_NOT_SUPPORTED)");
		else
			tap(rv != CKR_OK, "C_UnwrapKey: junk with an EC key as "
					  "unwrapping key is refused");
		table_put("key unwrapping", "%s",
			  rv == CKR_OK ? "implemented" : rv_name(rv));
	}
	p11->C_CloseAllSessions(slot);
}

/* --- operation rules (issue 13 item 14) -------------------------------------
 *
 * PKCS#11 v2.40 5.2 and the function descriptions of 5.8-5.12 (C_Encrypt,
 * C_EncryptUpdate, C_EncryptFinal, C_Decrypt*, C_Digest*, C_Sign*,
 * C_Verify*): a call that returns anything but CKR_BUFFER_TOO_SMALL, or a
 * successful length query, ends the active operation. A bad argument
 * (CKR_ARGUMENTS_BAD) is such a return. Each case runs in a session of
 * its own; whether the operation ended is asked with the family's update
 * call, which must say CKR_OPERATION_NOT_INITIALIZED. */

enum op_family { OPF_DIGEST, OPF_SIGN, OPF_VERIFY, OPF_ENCRYPT, OPF_DECRYPT };

static CK_RV
op_probe(CK_SESSION_HANDLE c, enum op_family f)
{
	unsigned char in[16] = { 0 }, out[64];
	CK_ULONG ol = sizeof(out);

	switch (f) {
	case OPF_DIGEST: return p11->C_DigestUpdate(c, in, 1);
	case OPF_SIGN: return p11->C_SignUpdate(c, in, 1);
	case OPF_VERIFY: return p11->C_VerifyUpdate(c, in, 1);
	case OPF_ENCRYPT:
		return p11->C_EncryptUpdate(c, in, sizeof(in), out, &ol);
	default: return p11->C_DecryptUpdate(c, in, sizeof(in), out, &ol);
	}
}

/* A session of its own with an operation of family f begun with m (and
 * key, for the families that take one). */
static CK_SESSION_HANDLE
op_begun(enum op_family f, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
	CK_SESSION_HANDLE c = CK_INVALID_HANDLE;
	CK_RV rv;

	open_session(slot, CKF_RW_SESSION, &c);
	switch (f) {
	case OPF_DIGEST: rv = p11->C_DigestInit(c, m); break;
	case OPF_SIGN: rv = p11->C_SignInit(c, m, key); break;
	case OPF_VERIFY: rv = p11->C_VerifyInit(c, m, key); break;
	case OPF_ENCRYPT: rv = p11->C_EncryptInit(c, m, key); break;
	default: rv = p11->C_DecryptInit(c, m, key); break;
	}
	if (rv != CKR_OK)
		diag("operation rules: the init call: %s", rv_name(rv));
	return c;
}

/* The end of a case: the call (what) returned got, want was expected, and
 * the operation of family f must be over afterwards: the next update says
 * CKR_OPERATION_NOT_INITIALIZED. Closes c. */
static void
op_case(CK_SESSION_HANDLE c, enum op_family f, CK_RV got, CK_RV want,
	const char *what)
{
	CK_RV rv;

	expect_rv(got, want, "%s -> %s", what, rv_name(want));
	rv = op_probe(c, f);
	if (!tap(rv == CKR_OPERATION_NOT_INITIALIZED,
		 "%s: %s ends the operation (the next update -> "
		 "CKR_OPERATION_NOT_INITIALIZED)", what, rv_name(want)))
		diag("got %s: the operation is still active", rv_name(rv));
	p11->C_CloseSession(c);
}

static void
op_rules_digest(void)
{
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	unsigned char out[64], want[32], empty[32];
	CK_ULONG ol = sizeof(out);
	CK_SESSION_HANDLE c;
	CK_RV rv;

	digest(EVP_sha256(), "abc", 3, want);
	digest(EVP_sha256(), "", 0, empty);

	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, (CK_BYTE *)"abc", 3, out, NULL),
		CKR_ARGUMENTS_BAD, "C_Digest: pulDigestLen NULL");
	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, NULL, 3, out, &ol),
		CKR_ARGUMENTS_BAD, "C_Digest: NULL data of length 3");
	c = op_begun(OPF_DIGEST, &m, 0);
	op_case(c, OPF_DIGEST, p11->C_DigestUpdate(c, NULL, 3),
		CKR_ARGUMENTS_BAD, "C_DigestUpdate: NULL part of length 3");
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_DIGEST, p11->C_DigestFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_DigestFinal: pulDigestLen NULL");
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_DIGEST, p11->C_Digest(c, (CK_BYTE *)"abc", 3, out, &ol),
		CKR_OPERATION_ACTIVE, "C_Digest after C_DigestUpdate");

	/* After its length query, C_DigestFinal gives the digest of the
	 * data given. */
	c = op_begun(OPF_DIGEST, &m, 0);
	p11->C_DigestUpdate(c, (CK_BYTE *)"abc", 3);
	ol = 0;
	rv = p11->C_DigestFinal(c, NULL, &ol);
	tap(rv == CKR_OK && ol == 32, "C_DigestFinal: a length query "
	    "(NULL output) -> CKR_OK, 32, operation still active");
	ol = sizeof(out);
	rv = p11->C_DigestFinal(c, out, &ol);
	if (!tap(rv == CKR_OK && ol == 32 && memcmp(out, want, 32) == 0,
		 "C_DigestFinal after its length query returns SHA-256(\"abc\")"))
		diag("%s, %lu bytes", rv_name(rv), (unsigned long)ol);
	op_case(c, OPF_DIGEST, rv, CKR_OK, "C_DigestFinal with the digest");

	/* C_Digest's length query starts a single-part digest: its data
	 * is not taken (the caller gives it again), so a C_DigestFinal now
	 * has nothing to digest. It must not answer with the digest of the
	 * empty message as if that had been the data. */
	c = op_begun(OPF_DIGEST, &m, 0);
	ol = 0;
	rv = p11->C_Digest(c, (CK_BYTE *)"abc", 3, NULL, &ol);
	tap(rv == CKR_OK && ol == 32, "C_Digest: a length query -> CKR_OK, 32");
	ol = sizeof(out);
	rv = p11->C_DigestFinal(c, out, &ol);
	if (!tap(!(rv == CKR_OK && ol == 32 && memcmp(out, empty, 32) == 0),
		 "C_DigestFinal after C_Digest's length query does not return "
		 "the digest of the empty message"))
		diag("got SHA-256(\"\") for data \"abc\"");
	op_case(c, OPF_DIGEST, rv, CKR_OPERATION_ACTIVE,
		"C_DigestFinal after C_Digest started a single-part digest");
}

/* Signing and verifying, with the P-256 key. */
static void
op_rules_sign_verify(void)
{
	CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM hashing = { CKM_ECDSA_SHA256, NULL, 0 };
	struct key *k = &keys[K_P256];
	unsigned char h[32] = { 1 }, sig[128] = { 1 };
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_HANDLE c;
	CK_RV rv;

	if (!k->ok) {
		tap(false, "operation rules: the P-256 key is there");
		return;
	}
	c = op_begun(OPF_SIGN, &raw, k->priv);
	op_case(c, OPF_SIGN, p11->C_Sign(c, h, sizeof(h), sig, NULL),
		CKR_ARGUMENTS_BAD, "C_Sign: pulSignatureLen NULL");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	op_case(c, OPF_SIGN, p11->C_SignUpdate(c, NULL, 3), CKR_ARGUMENTS_BAD,
		"C_SignUpdate: NULL part of length 3");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	p11->C_SignUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_SIGN, p11->C_SignFinal(c, sig, NULL), CKR_ARGUMENTS_BAD,
		"C_SignFinal: pulSignatureLen NULL");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	p11->C_SignUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_SIGN, p11->C_Sign(c, (CK_BYTE *)"abc", 3, sig, &sl),
		CKR_OPERATION_ACTIVE, "C_Sign after C_SignUpdate");
	c = op_begun(OPF_SIGN, &hashing, k->priv);
	sl = 0;
	rv = p11->C_Sign(c, (CK_BYTE *)"abc", 3, NULL, &sl);
	tap(rv == CKR_OK && sl == 64, "C_Sign: a length query -> CKR_OK, 64");
	sl = sizeof(sig);
	op_case(c, OPF_SIGN, p11->C_SignFinal(c, sig, &sl),
		CKR_OPERATION_ACTIVE, "C_SignFinal after C_Sign started a "
		"single-part signature (no signature over no data)");

	c = op_begun(OPF_VERIFY, &raw, k->pub);
	op_case(c, OPF_VERIFY, p11->C_Verify(c, h, sizeof(h), NULL, 64),
		CKR_ARGUMENTS_BAD, "C_Verify: NULL signature");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	op_case(c, OPF_VERIFY, p11->C_VerifyUpdate(c, NULL, 3),
		CKR_ARGUMENTS_BAD, "C_VerifyUpdate: NULL part of length 3");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	p11->C_VerifyUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_VERIFY, p11->C_VerifyFinal(c, NULL, 64),
		CKR_ARGUMENTS_BAD, "C_VerifyFinal: NULL signature");
	c = op_begun(OPF_VERIFY, &hashing, k->pub);
	p11->C_VerifyUpdate(c, (CK_BYTE *)"abc", 3);
	op_case(c, OPF_VERIFY,
		p11->C_Verify(c, (CK_BYTE *)"abc", 3, sig, 64),
		CKR_OPERATION_ACTIVE, "C_Verify after C_VerifyUpdate");
}

static void
op_rules_cipher(CK_SESSION_HANDLE s)
{
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	unsigned char iv[16] = { 0 }, in[32] = { 0 }, out[64];
	CK_MECHANISM cbc = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	CK_ULONG len = 16, ol = sizeof(out);
	CK_ATTRIBUTE t[] = {
		{ CKA_TOKEN, (void *)&no, sizeof(no) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_ENCRYPT, (void *)&yes, sizeof(yes) },
		{ CKA_DECRYPT, (void *)&yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE c;

	if (!expect_rv(p11->C_GenerateKey(s, &gen, t, NELEM(t), &key), CKR_OK,
		       "operation rules: an AES-128 session key "
		       "(C_GenerateKey)"))
		return;
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 16, out, NULL),
		CKR_ARGUMENTS_BAD, "C_Encrypt: pulEncryptedDataLen NULL");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	op_case(c, OPF_ENCRYPT, p11->C_EncryptUpdate(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_EncryptUpdate: NULL part of length 16");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	p11->C_EncryptUpdate(c, in, 16, out, &ol);
	op_case(c, OPF_ENCRYPT, p11->C_EncryptFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_EncryptFinal: pulLastEncryptedPartLen "
		"NULL");
	c = op_begun(OPF_ENCRYPT, &ecb, key);
	ol = sizeof(out);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 15, out, &ol),
		CKR_DATA_LEN_RANGE, "C_Encrypt: CKM_AES_ECB over 15 bytes");
	c = op_begun(OPF_ENCRYPT, &cbc, key);
	ol = sizeof(out);
	p11->C_EncryptUpdate(c, in, 16, out, &ol);
	ol = sizeof(out);
	op_case(c, OPF_ENCRYPT, p11->C_Encrypt(c, in, 16, out, &ol),
		CKR_OPERATION_ACTIVE, "C_Encrypt after C_EncryptUpdate");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	op_case(c, OPF_DECRYPT, p11->C_Decrypt(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_Decrypt: NULL ciphertext");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	op_case(c, OPF_DECRYPT, p11->C_DecryptUpdate(c, NULL, 16, out, &ol),
		CKR_ARGUMENTS_BAD, "C_DecryptUpdate: NULL part of length 16");
	c = op_begun(OPF_DECRYPT, &cbc, key);
	ol = sizeof(out);
	p11->C_DecryptUpdate(c, in, 32, out, &ol);
	op_case(c, OPF_DECRYPT, p11->C_DecryptFinal(c, out, NULL),
		CKR_ARGUMENTS_BAD, "C_DecryptFinal: pulLastPartLen NULL");
	p11->C_DestroyObject(s, key);
}

void
test_operation_rules(void)
{
	CK_SESSION_HANDLE s = user_session(true);

	if (s == CK_INVALID_HANDLE) {
		tap(false, "operation rules: a read/write user session");
		return;
	}
	refresh_keys(s);
	op_rules_digest();
	op_rules_sign_verify();
	op_rules_cipher(s);
	p11->C_CloseSession(s);
}

/* --- error precedence (issue 13 item 15) -------------------------------------
 *
 * PKCS#11 v2.40 5.1.7: the errors of 5.1.2 (functions that use a session
 * handle: CKR_SESSION_HANDLE_INVALID, ...) take precedence over those of
 * 5.1.6 (templates, mechanisms). So a call with an invalid session handle
 * and a bad template or mechanism says CKR_SESSION_HANDLE_INVALID. Both a
 * handle never issued and one just closed are tried. */
void
test_error_precedence(void)
{
	CK_MECHANISM bogus = { BOGUS_MECHANISM, NULL, 0 };
	CK_MECHANISM aesgen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM ecgen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ecdh = { CKM_ECDH1_DERIVE, NULL, 0 };
	CK_BBOOL badlen[4] = { CK_TRUE };
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ULONG vlen = 16;
	CK_ATTRIBUTE badbool[] = {
		{ CKA_TOKEN, badlen, sizeof(badlen) }, /* a CK_BBOOL of 4 bytes */
	};
	CK_ATTRIBUTE noclass[] = {
		{ CKA_LABEL, (void *)"x", 1 },
	};
	CK_ATTRIBUTE privkey[] = {
		{ CKA_CLASS, &priv, sizeof(priv) },
	};
	CK_ATTRIBUTE aes_ok[] = {
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
	};
	CK_ATTRIBUTE ec_noparams[] = {
		{ CKA_VERIFY, (void *)&yes, sizeof(yes) },
	};
	CK_ATTRIBUTE ec_ok[] = {
		{ CKA_EC_PARAMS, (void *)oid_p256, sizeof(oid_p256) },
	};
	CK_SESSION_HANDLE handles[2] = { BOGUS_HANDLE, CK_INVALID_HANDLE };
	const char *hname[2] = { "a handle never issued", "a closed session" };
	CK_OBJECT_HANDLE h, h2;
	int i;

	if (open_session(slot, CKF_RW_SESSION, &handles[1]) != CKR_OK) {
		tap(false, "error precedence: a session to close");
		return;
	}
	p11->C_CloseSession(handles[1]);
	for (i = 0; i < 2; i++) {
		CK_SESSION_HANDLE x = handles[i];

		expect_rv(p11->C_GenerateKey(x, &bogus, aes_ok, NELEM(aes_ok),
					     &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKey(x, &aesgen, noclass,
					     NELEM(noclass), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and a template without "
			  "CKA_VALUE_LEN -> CKR_SESSION_HANDLE_INVALID",
			  hname[i]);
		expect_rv(p11->C_GenerateKey(x, &aesgen, badbool,
					     NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKey: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &bogus, ec_ok, NELEM(ec_ok),
						 NULL, 0, &h, &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &ecgen, ec_noparams,
						 NELEM(ec_noparams), NULL, 0,
						 &h, &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and no CKA_EC_PARAMS -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_GenerateKeyPair(x, &ecgen, ec_ok, NELEM(ec_ok),
						 badbool, NELEM(badbool), &h,
						 &h2),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_GenerateKeyPair: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, noclass, NELEM(noclass), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and no CKA_CLASS -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, privkey, NELEM(privkey), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and a private key template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CreateObject(x, badbool, NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CreateObject: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DeriveKey(x, &bogus, 1, aes_ok, NELEM(aes_ok),
					   &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DeriveKey: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DeriveKey(x, &ecdh, 1, aes_ok, NELEM(aes_ok),
					   &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DeriveKey: %s and CKM_ECDH1_DERIVE without "
			  "parameters -> CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_CopyObject(x, 1, badbool, NELEM(badbool), &h),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_CopyObject: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_SetAttributeValue(x, 1, badbool,
						   NELEM(badbool)),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_SetAttributeValue: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_FindObjectsInit(x, badbool, NELEM(badbool)),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_FindObjectsInit: %s and a malformed template -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_DigestInit(x, &bogus),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_DigestInit: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
		expect_rv(p11->C_SignInit(x, &bogus, 1),
			  CKR_SESSION_HANDLE_INVALID,
			  "C_SignInit: %s and an unknown mechanism -> "
			  "CKR_SESSION_HANDLE_INVALID", hname[i]);
	}
}
