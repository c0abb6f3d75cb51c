/* The module's state: one library lock, the token core, sessions. Every
 * C_* function checks, takes the lock, delegates, logs rv. Functions named
 * *_inlock expect the lock held. */
#ifndef TPM11_PKCS11_MODULE_H
#define TPM11_PKCS11_MODULE_H

#include <stdbool.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "crypto/hash.h"
#include "token/token.h"
#include "util/log.h"

#define EMPTY_SLOT_ID 0

typedef enum {
	OP_NONE = 0,
	OP_SIGN,
	OP_DIGEST,
	OP_VERIFY,
	OP_DECRYPT,
	OP_ENCRYPT
} op_kind;

typedef struct mech_row mech_row; /* pkcs11/mech.h */

typedef struct session {
	CK_SESSION_HANDLE handle;
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	int64_t token_id;
	/* C_FindObjects */
	bool find_active;
	int64_t *found;
	size_t nfound, find_pos;
	/* C_Sign* */
	op_kind op;
	const mech_row *mech;
	int64_t op_key;
	hash_ctx *hctx;
	bool op_multi;  /* C_SignUpdate was called */
	bool op_single; /* C_Sign (C_Digest, ...) was called and
				     kept the operation: a length query or
				     a buffer too small */
	CK_RSA_PKCS_PSS_PARAMS pss;
	void *pk; /* C_Verify: the public key (crypto/pkey.h) */
	CK_RSA_PKCS_OAEP_PARAMS oaep; /* C_Decrypt with OAEP */
	uint8_t *label;               /* its source data, copied */
	uint8_t *buf;                 /* HMAC: the data so far */
	size_t blen;
	uint8_t iv[16];   /* AES: chaining value */
	uint8_t part[16]; /* AES: bytes held back for the next call */
	size_t plen;
	CK_ULONG ctr_bits; /* AES-CTR: counter width; 0 otherwise */
	uint64_t ctr_left; /* AES-CTR: blocks left before it wraps */
} session;

struct module {
	bool initialized;
	bool forked; /* this process is a child of the one that
				     called C_Initialize */
	core *c;
	session **sessions;
	size_t nsessions;
	CK_SESSION_HANDLE next_handle;
	CK_C_INITIALIZE_ARGS args;
	bool app_locks;
	void *app_mutex;
	/* Session objects: visible to every session of this application,
	 * destroyed with the session that made them. */
	token_obj **sobjs;
	size_t nsobjs;
	CK_OBJECT_HANDLE next_sobj;
};

/* Session objects' handles are above every store row id. */
#define SOBJ_HANDLE_BASE ((CK_OBJECT_HANDLE)1 << 40)
void sobj_free(token_obj *o);
/* Destroys the session objects of session h (0: all of them). */
void sobjs_drop_inlock(CK_SESSION_HANDLE h);

extern struct module mod;

void mod_lock(void);
void mod_unlock(void);

/* Entry checks: initialised, not a forked child. */
#define CHECK_INIT()                                         \
	do {                                                 \
		if (!mod.initialized || mod.forked)          \
			return CKR_CRYPTOKI_NOT_INITIALIZED; \
	} while (0)

#define LOG_RV(name, rv)                                                       \
	do {                                                                   \
		if ((rv) != CKR_OK)                                            \
			log_debug("%s -> 0x%lx", (name), (unsigned long)(rv)); \
	} while (0)

/* Looks up a session and its token (refreshing from the store when it
 * changed). */
CK_RV session_get_inlock(CK_SESSION_HANDLE h, session **s, token **t);
/* The session check alone (takes the lock), for functions that look at a
 * template or mechanism before they take the lock: an invalid handle must
 * be reported first (v2.40 5.1.7). */
CK_RV session_check(CK_SESSION_HANDLE h);
token *slot_token_inlock(CK_SLOT_ID id);
void session_free_inlock(session *s);
/* Session state as C_GetSessionInfo reports it. */
CK_STATE session_state_inlock(const session *s, const token *t);
/* Ends the session's signing operation. */
void session_end_ops(session *s);

/* Blank-padded copy into a fixed-size PKCS#11 string field. */
void pad_string(CK_UTF8CHAR *dst, size_t size, const char *src);

/* Objects visible to the session's application (private only when the
 * user is logged in). NULL when the handle is not one of them. */
token_obj *object_get_inlock(token *t, CK_OBJECT_HANDLE h);

/* AES (pkcs11/secret.c), for C_Encrypt* and C_Decrypt*. */
/* The longest HMAC key C_CreateObject takes (bytes); longer than 128
 * (what the TPM holds) it is hashed first, as RFC 2104 does. */
#define HMAC_KEY_MAX 4096
/* The hash a generic secret key serves as an HMAC key: the one HMAC
 * mechanism of its CKA_ALLOWED_MECHANISMS, else by its length (20 SHA-1,
 * 48 SHA-384, 64 SHA-512, else SHA-256). Sets CKA_ALLOWED_MECHANISMS to
 * that one mechanism. */
CK_RV hmac_key_hash(attr_list *l, size_t len, hash_algo *h);
CK_RV aes_update_inlock(session *s, token *t, const uint8_t *in, size_t len,
			CK_BYTE_PTR out, CK_ULONG_PTR outlen);
CK_RV aes_final_inlock(session *s, token *t, CK_BYTE_PTR out,
		       CK_ULONG_PTR outlen);
/* The attributes of every secret key the module makes: class, key type,
 * CKA_KEY_GEN_MECHANISM, CKA_LOCAL, CKA_SENSITIVE, CKA_EXTRACTABLE and from
 * them CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE (true only for a
 * key made here); CKA_PRIVATE true unless the template says. */
CK_RV secret_key_attrs_set(attr_list *l, CK_KEY_TYPE kt, CK_MECHANISM_TYPE mech,
			   bool local, bool sensitive, bool extractable);
/* Appends to the session's HMAC data. */
CK_RV session_buf_add(session *s, const uint8_t *p, size_t n);

/* The start of every C_*Init that takes a key: the session, no operation
 * active, the key visible to the session. hidden_login: a private object
 * that is only invisible because nobody is logged in gives
 * CKR_USER_NOT_LOGGED_IN rather than CKR_KEY_HANDLE_INVALID. */
CK_RV op_begin_inlock(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
		      bool hidden_login, session **s, token **t, token_obj **o);
/* The session h with operation op active, else
 * CKR_OPERATION_NOT_INITIALIZED. */
CK_RV op_get_inlock(CK_SESSION_HANDLE h, op_kind op, session **s, token **t);
/* The same for a C_*Update or C_*Final: an operation whose mechanism is
 * not multi-part ends with CKR_FUNCTION_NOT_SUPPORTED, one that a
 * single-part call began ends with CKR_OPERATION_ACTIVE. */
CK_RV op_part_inlock(CK_SESSION_HANDLE h, op_kind op, session **s, token **t);
/* The start of a single-part call (C_Digest, C_Sign, C_Verify, C_Encrypt,
 * C_Decrypt) on the active operation: after a C_*Update it ends the
 * operation with CKR_OPERATION_ACTIVE; else the operation is single-part
 * from now on. */
CK_RV op_single_inlock(session *s);
/* A C_Digest*, C_Sign*, C_Verify*, C_Encrypt* or C_Decrypt* call with bad
 * arguments: ends operation op of session h when it is the active one,
 * and returns CKR_ARGUMENTS_BAD. Takes the lock. */
CK_RV op_args_bad(CK_SESSION_HANDLE h, op_kind op);
/* C_Encrypt, C_Decrypt (op OP_ENCRYPT or OP_DECRYPT): the single-part
 * call on the active operation, by its mechanism's crypt hook. Takes the
 * lock. */
CK_RV op_crypt(CK_SESSION_HANDLE h, op_kind op, const uint8_t *in, size_t len,
	       CK_BYTE_PTR out, CK_ULONG_PTR outlen);
/* C_SignUpdate / C_VerifyUpdate (op OP_SIGN or OP_VERIFY): hashes or, for
 * HMAC, collects the part; ends the operation on error. */
CK_RV op_update_inlock(CK_SESSION_HANDLE h, op_kind op, const uint8_t *part,
		       size_t len);

/* Makes an object from l (taken over): token objects in the store,
 * others as session objects of s. Applies the common defaults and the
 * read-only-session and login rules. */
CK_RV object_make_inlock(session *s, token *t, attr_list *l,
			 CK_OBJECT_HANDLE *out);

/* The same for a key object with TPM blobs (taken over). */
CK_RV object_make_key_inlock(session *s, token *t, attr_list *l, blob *pub,
			     blob *priv, CK_OBJECT_HANDLE *out);

extern CK_FUNCTION_LIST tpm11_function_list;

#endif
