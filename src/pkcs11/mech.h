/* The one mechanism table (pkcs11/mech.c): a row per mechanism with its key
 * type, the CKF_* flags C_GetMechanismInfo reports (which also say which
 * C_*Init take it), the key sizes and the TPM_HAS_* bits the TPM must have
 * for them, and the functions that check and keep its parameters and
 * finish its operations. C_SignInit, C_VerifyInit, C_DecryptInit,
 * C_EncryptInit and C_DigestInit are mech_init_inlock with their CKF_*
 * flag; C_Sign*, C_Verify* and C_Decrypt call the row's hooks. */
#ifndef TPM11_PKCS11_MECH_H
#define TPM11_PKCS11_MECH_H

#include "pkcs11/module.h"

typedef enum {
	MECH_ECDSA,
	MECH_RSA_PKCS,
	MECH_RSA_PSS,
	MECH_RSA_X509,
	MECH_KEYGEN,
	MECH_DIGEST,
	MECH_RSA_OAEP,
	MECH_DERIVE,
	MECH_SECRET_GEN,
	MECH_AES,
	MECH_HMAC
} mech_kind;

/* A key size and the TPM_HAS_* bit that offers it; lists end with {0, 0}. */
typedef struct mech_size {
	uint32_t bit;
	CK_ULONG size;
} mech_size;

/* What a family of mechanisms does; NULL hooks: the family has no such
 * operation (its row's flags do not name it). */
/* (clang-format 14 reads the hook members below as calls) */
/* clang-format off */
typedef struct mech_ops {
	/* Init, after the key checks (mech_key_check): checks the
	 * mechanism's parameters for operation op with key o (NULL for a
	 * digest) and keeps what the operation needs in the session. */
	CK_RV (*params)(session *s, const mech_row *m, CK_MECHANISM_PTR p,
			const token_obj *o, op_kind op);
	/* C_Sign, C_SignFinal: signs in (the digest, for the hashing
	 * mechanisms; all the data for HMAC). */
	CK_RV (*sign)(session *s, token *t, token_obj *o, const uint8_t *in,
		      size_t len, uint8_t *sig, size_t *siglen);
	/* C_Verify, C_VerifyFinal: CKR_OK, CKR_SIGNATURE_INVALID or an
	 * error; the operation is ended by the caller. */
	CK_RV (*verify)(session *s, token *t, const uint8_t *in, size_t len,
			const uint8_t *sig, size_t siglen);
	/* C_Decrypt of RSA: the message in the decrypted block em (modlen
	 * bytes) into msg, its length or -1; constant time. */
	int (*unpad)(const session *s, const uint8_t *em, size_t modlen,
		     uint8_t *msg, size_t size);
	/* C_Encrypt, C_Decrypt: the single-part operation, with the
	 * two-call convention (v2.40 5.2). */
	CK_RV (*crypt)(session *s, token *t, const uint8_t *in, size_t len,
		       CK_BYTE_PTR out, CK_ULONG_PTR outlen);
} mech_ops;
/* clang-format on */

struct mech_row {
	CK_MECHANISM_TYPE type;
	mech_kind kind;
	CK_KEY_TYPE key_type;   /* (CK_KEY_TYPE)-1: no key (digests) */
	hash_algo hash;         /* HASH_NONE: the caller hashed */
	CK_FLAGS flags;         /* CKF_* of C_GetMechanismInfo */
	uint32_t need;          /* TPM_HAS_* bits the TPM must have */
	const mech_size *sizes; /* the sizes the TPM may offer; NULL: any */
	CK_ULONG min_bits, max_bits; /* the sizes the module takes */
	uint16_t tpm_mode;           /* MECH_AES: TPM2_ALG_CBC, ... */
	bool pad;                    /* MECH_AES: PKCS#7 padding */
	const mech_ops *ops;
};

const mech_row *mech_find(CK_MECHANISM_TYPE type);
size_t mech_count(void);
const mech_row *mech_at(size_t i);
/* The HMAC mechanism for hash h (CKM_VENDOR_DEFINED: none). */
CK_MECHANISM_TYPE mech_hmac_type(hash_algo h);

/* Whether a TPM with TPM_HAS_* bits has offers m, with the key sizes it
 * offers it with. */
bool mech_offered(const mech_row *m, uint32_t has, CK_ULONG *min,
		  CK_ULONG *max);
/* C_GetMechanismInfo: CKR_MECHANISM_INVALID unless offered. */
CK_RV mech_info(CK_MECHANISM_TYPE type, uint32_t has,
		CK_MECHANISM_INFO_PTR info);

/* C_*Init of operation op with key o (NULL: C_DigestInit): the mechanism
 * must be in the table with the operation's CKF_* flag, the key must fit
 * it, and its parameters must be right; then the operation is active. */
CK_RV mech_init_inlock(session *s, CK_MECHANISM_PTR p, token_obj *o,
		       op_kind op);
/* The mechanisms whose input is given in parts (C_*Update): the hashing
 * signatures, HMAC and AES; RSA decryption and the raw signatures are
 * single-part (v2.40 2.1.6-2.1.8, 2.3). */
bool mech_multipart(const mech_row *m, op_kind op);
/* The length of a signature by key o (EC: r || s; RSA: the modulus;
 * HMAC: the hash). */
size_t mech_sig_len(const mech_row *m, const token_obj *o);

hash_algo mech_hash(CK_MECHANISM_TYPE m);
hash_algo mech_mgf_hash(CK_RSA_PKCS_MGF_TYPE g);

/* Hooks of the families (mech.c's table), by the file that has them. */
/* sign.c */
CK_RV sign_ecdsa(session *s, token *t, token_obj *o, const uint8_t *in,
		 size_t len, uint8_t *sig, size_t *siglen);
CK_RV sign_rsa_pkcs(session *s, token *t, token_obj *o, const uint8_t *in,
		    size_t len, uint8_t *sig, size_t *siglen);
CK_RV sign_rsa_pss(session *s, token *t, token_obj *o, const uint8_t *in,
		   size_t len, uint8_t *sig, size_t *siglen);
CK_RV sign_rsa_x509(session *s, token *t, token_obj *o, const uint8_t *in,
		    size_t len, uint8_t *sig, size_t *siglen);
CK_RV sign_hmac(session *s, token *t, token_obj *o, const uint8_t *in,
		size_t len, uint8_t *sig, size_t *siglen);
/* verify.c */
CK_RV verify_ecdsa(session *s, token *t, const uint8_t *in, size_t len,
		   const uint8_t *sig, size_t siglen);
CK_RV verify_rsa_pkcs(session *s, token *t, const uint8_t *in, size_t len,
		      const uint8_t *sig, size_t siglen);
CK_RV verify_rsa_pss(session *s, token *t, const uint8_t *in, size_t len,
		     const uint8_t *sig, size_t siglen);
CK_RV verify_rsa_x509(session *s, token *t, const uint8_t *in, size_t len,
		      const uint8_t *sig, size_t siglen);
CK_RV verify_hmac(session *s, token *t, const uint8_t *in, size_t len,
		  const uint8_t *sig, size_t siglen);
/* The public key of o for the session's verification (s->pk, and in
 * s->op_key the curve or the modulus length). */
CK_RV verify_key(session *s, const token_obj *o);
/* decrypt.c */
CK_RV decrypt_oaep_params(session *s, const mech_row *m, CK_MECHANISM_PTR p,
			  const token_obj *o, op_kind op);
int decrypt_unpad_pkcs1(const session *s, const uint8_t *em, size_t modlen,
			uint8_t *msg, size_t size);
int decrypt_unpad_oaep(const session *s, const uint8_t *em, size_t modlen,
		       uint8_t *msg, size_t size);
CK_RV decrypt_rsa_inlock(session *s, token *t, const uint8_t *in, size_t len,
			 CK_BYTE_PTR out, CK_ULONG_PTR outlen);
int decrypt_unpad_none(const session *s, const uint8_t *em, size_t modlen,
		       uint8_t *msg, size_t size);
/* secret.c */
CK_RV aes_params(session *s, const mech_row *m, CK_MECHANISM_PTR p,
		 const token_obj *o, op_kind op);
CK_RV aes_oneshot_inlock(session *s, token *t, const uint8_t *in, size_t len,
			 CK_BYTE_PTR out, CK_ULONG_PTR outlen);

#endif
