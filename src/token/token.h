/* The token model shared by the module and the tool: a store, the TPM (opened
 * on first need), the tokens and their objects in memory, login state and
 * PIN rules. Not thread-safe: the module calls it under its library lock. */
#ifndef TPM11_TOKEN_TOKEN_H
#define TPM11_TOKEN_TOKEN_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "attr/attr.h"
#include "crypto/privkey.h"
#include "store/store.h"
#include "tpm/tpm.h"

#define TOKEN_MIN_PIN 4
#define TOKEN_MAX_PIN 128
#define TOKEN_LABEL_MAX 32

typedef struct token_obj {
	int64_t id; /* store row id; also the CK_OBJECT_HANDLE */
	attr_list attrs;
	CK_OBJECT_CLASS cls;
	bool is_private; /* CKA_PRIVATE */
	tpm_key key;     /* private keys: blobs and TPM state */
	tpm_pubkey pub;  /* private keys: parsed public part */
	/* Session objects (module only, never stored): the session that
	 * made it and its token. 0 for token objects. */
	CK_SESSION_HANDLE session;
	int64_t token_id;
} token_obj;

/* What a login yields, kept in secure memory (secure_alloc: out of core
 * dumps and forked children) while someone is logged in. */
typedef struct {
	/* user: the token secret, read from the user PIN's NV index; the
	 * authValues of the token's PIN-protected keys derive from it */
	uint8_t secret[TPM_SECRET_LEN];
	/* SO: the SO PIN's authValue (C_InitPIN, C_SetPIN as SO) */
	uint8_t so_auth[TPM_AUTH_LEN];
} token_secrets;

typedef struct token {
	token_rec rec;
	token_obj **objs; /* stable pointers: the TPM layer keeps some */
	size_t nobjs;
	CK_USER_TYPE login;  /* (CK_USER_TYPE)-1: nobody */
	token_secrets *sec;  /* while logged in, else NULL */
	size_t damaged;      /* objects left out: their rows do not parse */
	tpm_lockout lockout; /* last seen; refreshed at login */
	bool lockout_known;
} token;

#define TOKEN_NOBODY ((CK_USER_TYPE)-1)

/* A PIN-protected key's nonce (16 random bytes, not secret): its TPM
 * authValue is HMAC-SHA256(token secret, "tpm11 key auth" || nonce). A key
 * without one has an empty authValue: it is usable without login
 * (CKA_PRIVATE false). Callers cannot set it (C_CreateObject refuses
 * unknown attribute types). (0x54310001 was key model 1's parent flag.) */
#define CKA_TPM11_AUTH_NONCE (CKA_VENDOR_DEFINED | 0x54310002UL)
#define TPM11_NONCE_LEN 16
/* A PCR-bound key's PCRs (issue 18; docs/design.md): the bank's TPM
 * algorithm ID (2 bytes), the PCR mask (4 bytes, bit n = PCR n), then the
 * values the key was bound to (tpm_pcr_encode). Not secret. On a private
 * key. token_generate_key takes a request for one in extra_priv (the
 * first 6 bytes only) and stores the values it bound the key to. */
#define CKA_TPM11_PCRS (CKA_VENDOR_DEFINED | 0x54310003UL)
/* A key bound to a PCR signer (addkey --pcr-signer): the signer's public
 * key as a TPM2B_PUBLIC (tpm_signer_pub). Not secret. The key signs under
 * any PCR policy that signer signed (tpm11 pcr-sign) whose PCRs have
 * their values now: the module looks for them in $TPM11_PCR_POLICIES, else
 * STORE/pcr-policies (files *.pcrpol). */
#define CKA_TPM11_PCR_SIGNER (CKA_VENDOR_DEFINED | 0x54310004UL)

/* A signed PCR policy file (tpm11 pcr-sign): "TPM11PCRPOL1\n", created
 * (8 bytes, big-endian, microseconds since 1970), the length (2 bytes) and
 * the CKA_TPM11_PCRS form of the PCRs and values, and r||s (64 bytes). */
T11_MUST_CHECK int token_pcr_policy_encode(const tpm_pcr_policy *p, blob *out);
T11_MUST_CHECK int token_pcr_policy_decode(const uint8_t *in, size_t len,
					   tpm_pcr_policy *p);
/* Where the module looks for signed PCR policies (malloc'ed). */
char *token_pcr_policy_dir(const char *store_dir);

/* token_generate_key flags */
#define TOKEN_KEY_NO_LOGIN 0x1 /* CKA_PRIVATE false: no PIN needed to use it */
#define TOKEN_KEY_DERIVE 0x2   /* EC: CKA_DERIVE, ECDH in the TPM */

typedef struct core {
	store *st;
	char *store_dir;
	char *tcti;
	tpm_ctx *tpm;
	uint32_t primary;
	blob primary_name;
	token **tokens; /* stable pointers, in store order */
	size_t ntokens;
	int64_t data_version;
	bool store_err_logged; /* core_load: a damaged store, said once */
	/* What the TPM offers (the store's copy, read at core_load; checked
	 * against the firmware at the first TPM connection). Without a copy
	 * yet: everything. */
	tpm_caps caps;
	bool caps_checked; /* this process compared the firmware */
	bool caps_stored;  /* the store holds a copy of the probe */
	bool hold_session; /* tpm_hold_session (set before core_tpm) */
	void (*notice)(const char *msg); /* tpm_set_notice (the tool) */
	char err[768];
} core;

/* Opens the store (creating it when create is set). No TPM I/O. A missing
 * store with create false gives an empty core (no tokens), rv CKR_OK. */
T11_MUST_CHECK CK_RV core_open(const char *store_dir, const char *tcti,
			       bool create, core **out);
/* The same without opening the store: the first core_refresh/core_reload
 * does (C_Initialize stays free of file I/O). */
T11_MUST_CHECK CK_RV core_new(const char *store_dir, const char *tcti,
			      core **out);
void core_close(core *c);
/* Flushes every key this process loaded, logs every token out and closes
 * the TPM connection (a process exiting without C_Finalize). The core
 * stays usable: a later call connects again. */
void core_release_tpm(core *c);
/* After fork in the child: forget the parent's TPM handles. The core must
 * not be used afterwards (C_Initialize keeps it aside). */
void core_abandon_tpm(core *c);
/* Makes the store exist (for C_InitToken and the tool). */
T11_MUST_CHECK CK_RV core_create_store(core *c);
/* Connects to the TPM and selects the primary key; the error in c->err.
 * When the store has no copy of what the TPM offers yet, it probes the
 * TPM (core->caps). */
T11_MUST_CHECK CK_RV core_tpm(core *c);
/* The store's primary key: its handle and recorded Name (no TPM I/O).
 * CKR_TOKEN_NOT_PRESENT when there is no store or `tpm11 init` has not
 * run. */
T11_MUST_CHECK CK_RV core_primary(core *c, uint32_t *handle, const blob **name);
/* The store's copy of what the TPM offers (no TPM I/O); false when it
 * has none yet (then *out says everything). */
bool core_stored_caps(core *c, tpm_caps *out);
/* CKR_OK when this TPM offers key type kt (core->caps; the first time in
 * a process it reads the firmware version, one command, and probes the
 * TPM again when that changed); else the code
 * PKCS#11 gives for what it lacks, and c->err says what, e.g. "this TPM
 * has no NIST P-384 curve; choose ecc256". */
T11_MUST_CHECK CK_RV core_tpm_offers(core *c, tpm_key_type kt);
/* What this TPM offers (TPM_HAS_*), checked as core_tpm_offers does. */
uint32_t core_tpm_has(core *c);
/* `tpm11 init`: store and persistent primary. */
T11_MUST_CHECK CK_RV core_init_primary(core *c, uint32_t handle);
/* Re-reads tokens and objects when another process changed the store,
 * keeping login state and loaded keys. */
T11_MUST_CHECK CK_RV core_refresh(core *c);
/* Re-reads unconditionally (after this process's own writes, which do not
 * change sqlite's data_version). */
T11_MUST_CHECK CK_RV core_reload(core *c);

token *core_find_token(core *c, const char *label);

/* Creates a token: its PIN indices in the TPM's NV, the token secret in
 * the user index, its TPM identity cached in the store. user_pin NULL
 * (C_InitToken): a random user PIN nobody knows until C_InitPIN. */
T11_MUST_CHECK CK_RV token_create(core *c, const char *label,
				  const char *so_pin, const char *user_pin,
				  token **out);
/* Removes a token: its PIN indices from the TPM, then it and its objects
 * from the store. */
T11_MUST_CHECK CK_RV token_delete(core *c, token *t);
/* Finishes what processes that died while making or removing a token
 * left (their pending rows): removes those tokens' PIN indices and rows.
 * The TPM must be connected (core_tpm). Returns how many. */
T11_MUST_CHECK int token_finish_pending(core *c);

T11_MUST_CHECK CK_RV token_login(core *c, token *t, CK_USER_TYPE who,
				 const char *pin, size_t pin_len);
void token_logout(core *c, token *t);
/* Refreshes the cached lockout state (one TPM command). */
void token_read_lockout(core *c, token *t);

/* C_SetPIN / changepin: who proves old_pin, then new_pin is set. */
T11_MUST_CHECK CK_RV token_change_pin(core *c, token *t, CK_USER_TYPE who,
				      const char *old_pin, size_t old_len,
				      const char *new_pin, size_t new_len);
/* C_InitPIN / initpin: the SO sets a new user PIN. When the SO is logged in
 * (module), so_pin may be NULL. */
T11_MUST_CHECK CK_RV token_init_pin(core *c, token *t, const char *so_pin,
				    size_t so_len, const char *new_pin,
				    size_t new_len);

/* Generates a key pair in the TPM for t and stores its public and private
 * objects. The user must be logged in unless flags has
 * TOKEN_KEY_NO_LOGIN (a key with an empty authValue that never touches
 * the PIN). id/id_len may be 0 to
 * derive the CKA_ID from the public key. extra_pub/extra_priv: caller's
 * template attributes applied on top (may be NULL). */
T11_MUST_CHECK CK_RV token_generate_key(core *c, token *t, tpm_key_type type,
					const char *label, const uint8_t *id,
					size_t id_len, unsigned flags,
					const attr_list *extra_pub,
					const attr_list *extra_priv,
					int64_t *pub_id, int64_t *priv_id);
/* The same without storing: recs[0] public, recs[1] private (with the
 * TPM blobs), for session key pairs. The caller clears them. */
T11_MUST_CHECK CK_RV
token_generate_key_recs(core *c, token *t, tpm_key_type type, const char *label,
			const uint8_t *id, size_t id_len, unsigned flags,
			const attr_list *extra_pub, const attr_list *extra_priv,
			object_rec *recs);
/* A key pair from outside the TPM (tpm11 import): put into the TPM with
 * TPM2_Import (tpm_key_import_private), loaded once to sign test data
 * that must verify with k's public part, and only then stored, as a
 * public and a private object with CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE false. Flags, id and label as token_generate_key.
 * On failure nothing is stored and nothing stays loaded. */
T11_MUST_CHECK CK_RV token_import_key(core *c, token *t, const tpm_privkey *k,
				      const char *label, const uint8_t *id,
				      size_t id_len, unsigned flags,
				      const attr_list *extra_pub,
				      const attr_list *extra_priv,
				      int64_t *priv_id);
/* The same without storing (C_CreateObject of a session object): recs[0]
 * public, recs[1] private with the TPM blobs; the caller clears them. */
T11_MUST_CHECK CK_RV token_import_key_recs(core *c, token *t,
					   const tpm_privkey *k,
					   const char *label, const uint8_t *id,
					   size_t id_len, unsigned flags,
					   const attr_list *extra_pub,
					   const attr_list *extra_priv,
					   object_rec *recs);
/* The TPM form (tpm_privkey) of a key read by crypto/privkey.c: EC d, x,
 * y; RSA n, e and the prime p. Wipe out with secure_zero. */
void token_privkey_tpm(const privkey *k, tpm_privkey *out);
/* A secret key whose value the caller gives (C_CreateObject): put into
 * the TPM (sensitiveDataOrigin clear), so the store only ever holds the
 * wrapped blob. attrs: the object's template; its CKA_PRIVATE (default
 * true) decides whether the key needs the PIN (then the user must be
 * logged in, and attrs gets the key's nonce). */
T11_MUST_CHECK CK_RV token_import_secret(core *c, token *t, tpm_key_type type,
					 attr_list *attrs, const uint8_t *value,
					 size_t len, blob *pub, blob *priv);
/* Stores n objects without TPM blobs (certificates, data) on t in one
 * transaction; ids (may be NULL) receive their handles. */
T11_MUST_CHECK CK_RV token_add_objects(core *c, token *t, attr_list *objs,
				       size_t n, int64_t *ids);
T11_MUST_CHECK CK_RV token_destroy_objects(core *c, token *t,
					   const int64_t *ids, size_t n);
/* Stores n objects without TPM blobs on t and removes the objects
 * old[0..nold) in one transaction (a newer attestation object replacing
 * the older): other processes see the old ones or the new ones. */
T11_MUST_CHECK CK_RV token_replace_objects(core *c, token *t, attr_list *objs,
					   size_t n, const int64_t *old,
					   size_t nold, int64_t *ids);
/* TPM2_Create's creation data (the TPMS_CREATION_DATA, without its size),
 * hash and ticket as stored for key o, for TPM2_CertifyCreation. 0, 1 when
 * the key has none (made by another program, or imported), -1 on error. */
T11_MUST_CHECK int token_obj_creation(core *c, token *t, const token_obj *o,
				      blob *cdata, blob *chash, blob *ctk);

/* Attestation keys (docs/attestation.md) are the store's, not a token's.
 * core_ak_get: 0, 1 when there is no AK of that name, -1 when its record
 * is damaged or unreadable (c->err). */
T11_MUST_CHECK int core_ak_get(core *c, const char *name, ak_rec *out);
T11_MUST_CHECK CK_RV core_ak_put(core *c, const ak_rec *r);
/* Their names, oldest first (core_ak_names_free). */
T11_MUST_CHECK CK_RV core_ak_names(core *c, char ***names, size_t *n);
void core_ak_names_free(char **names, size_t n);
/* The store's last error message (for a damaged object's warning). */
const char *core_store_error(core *c);

token_obj *token_find_obj(token *t, int64_t id);
/* Replaces a token object's attributes in the store (C_SetAttributeValue);
 * CKR_DEVICE_MEMORY when they are too big for the store. */
T11_MUST_CHECK CK_RV token_set_attrs(core *c, token_obj *o,
				     const attr_list *attrs);
/* An X.509 certificate object's attributes (v2.40 4.6.3, 4.6.4), the one
 * builder for the module (C_CreateObject) and the tool (addcert): from the
 * DER in l's CKA_VALUE, the subject, issuer, serial, check value and
 * validity dates, and the defaults of the rest (category 0, not trusted,
 * no URL or hashes, SHA-1 name hashes), each only where l lacks it, so
 * the caller's values stay. CKR_TEMPLATE_INCOMPLETE without a value,
 * CKR_ATTRIBUTE_VALUE_INVALID when it is not a certificate. */
T11_MUST_CHECK CK_RV token_cert_attrs(attr_list *l);

/* Sign with a private key object; the mechanism's encoding is done by the
 * caller (pkcs11/sign.c): CKM_ECDSA input for EC, a full block for RSA. */
T11_MUST_CHECK CK_RV token_sign_ecdsa(core *c, token *t, token_obj *o,
				      const uint8_t *dig, size_t dlen,
				      uint8_t *sig, size_t *siglen);
/* secret: the result is a decryption's plaintext (encrypted on the bus). */
T11_MUST_CHECK CK_RV token_rsa_raw(core *c, token *t, token_obj *o,
				   const uint8_t *in, size_t len, bool secret,
				   uint8_t *out, size_t *outlen);
T11_MUST_CHECK CK_RV token_ecdh(core *c, token *t, token_obj *o,
				const uint8_t *x, const uint8_t *y, uint8_t *z);

/* Secret keys (AES, HMAC) made in the TPM; attrs as for
 * token_import_secret. The caller keeps the blobs in a session object or
 * stores them with token_store_key. */
T11_MUST_CHECK CK_RV token_create_secret(core *c, token *t, tpm_key_type type,
					 attr_list *attrs, blob *pub,
					 blob *priv);
/* Makes o's key usable: its authValue from the token secret (the user
 * must be logged in for a PIN-protected key), the TPM reachable. For
 * TPM code outside the token layer (attestation). */
T11_MUST_CHECK CK_RV token_key_ready(core *c, token *t, token_obj *o);
T11_MUST_CHECK CK_RV token_store_key(core *c, token *t, attr_list *attrs,
				     blob *pub, blob *priv, int64_t *id);
T11_MUST_CHECK CK_RV token_aes(core *c, token *t, token_obj *o, bool decrypt,
			       uint16_t mode, uint8_t iv[16], const uint8_t *in,
			       size_t len, uint8_t *out);
T11_MUST_CHECK CK_RV token_hmac(core *c, token *t, token_obj *o, hash_algo alg,
				const uint8_t *data, size_t len, uint8_t *out);

/* The `ssh-keygen -D` line of a key object (public or private), malloc'd. */
char *token_obj_ssh_line(const token_obj *o);

const char *tpm_key_type_name(tpm_key_type t);
tpm_key_type tpm_key_type_parse(const char *s);

#endif
