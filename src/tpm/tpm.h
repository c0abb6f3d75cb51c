/* Every TPM command of tpm11, over tpm2-tss ESAPI. One tpm_ctx per process,
 * used by one thread at a time (the caller holds the library lock).
 *
 * Key model 2 (docs/design.md): a persistent primary storage key (SRK)
 * made by `tpm11 init`. Per token two NV indices whose authValues are the
 * user and SO PINs (not noDA: the TPM counts wrong PINs); the user index
 * holds the token secret, readable only with the user PIN through a
 * salted session that encrypts it. Application keys are children of the
 * SRK; a PIN-protected key's authValue is derived from the token secret,
 * so a loaded key is useless without the PIN, and a PIN change
 * (TPM2_NV_ChangeAuth, in place) revokes the old PIN for every copy of the
 * store. A loaded key signs with one TPM2_Sign in a password session. */
#ifndef TPM11_TPM_TPM_H
#define TPM11_TPM_TPM_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "crypto/ec.h"
#include "crypto/hash.h"
#include "util/blob.h"

#define TPM_AUTH_LEN 32
#define TPM_DEFAULT_PRIMARY 0x81000001u

typedef struct tpm_ctx tpm_ctx;

/* A key bound to PCRs (issue 18): one bank, PCRs 0-23 (bit n of mask is
 * PCR n). */
#define TPM_PCR_COUNT 24
typedef struct {
	hash_algo bank; /* HASH_SHA1 or HASH_SHA256 */
	uint32_t mask;  /* 0: not PCR-bound */
} tpm_pcr_sel;

typedef enum {
	TPM_KEY_NONE = 0,
	TPM_KEY_ECC_P256,
	TPM_KEY_ECC_P384,
	TPM_KEY_RSA_2048,
	TPM_KEY_RSA_3072,
	TPM_KEY_AES_128, /* symcipher, any mode */
	TPM_KEY_AES_256,
	/* keyedhash HMAC keys: a TPM HMAC key names its hash, and the key
	 * the TPM makes is as long as its name hash's digest. */
	TPM_KEY_HMAC_SHA1,
	TPM_KEY_HMAC, /* SHA-256 */
	TPM_KEY_HMAC_SHA384,
	TPM_KEY_HMAC_SHA512,
} tpm_key_type;

/* A TPM object the process may load, a child of the SRK: its blobs and,
 * while loaded or saved, its TPM-side state. Owned by the token layer. */
typedef struct tpm_key {
	blob pub, priv;
	uint32_t tr;  /* ESYS_TR while loaded, else 0 */
	uint64_t gen; /* the connection tr and saved belong to */
	void *saved;  /* TPMS_CONTEXT after eviction, or NULL */
	uint8_t auth[TPM_AUTH_LEN];
	size_t auth_len;
	uint64_t last_use;
	bool resident; /* counted in the LRU */
	/* PCR-bound keys: the selection and the values the key was bound to
	 * (hash_len(bank) bytes per PCR, in PCR order); each use goes
	 * through a policy session (PolicyPCR, PolicyPassword). */
	tpm_pcr_sel pcrs;
	blob pcr_values;
	/* Keys bound to a PCR signer (--pcr-signer): its TPM2B_PUBLIC, and
	 * the signed policies to try, newest first (tpm_key_set_policies). */
	blob signer;
	struct tpm_pcr_policy *policies;
	size_t npolicies;
} tpm_key;

/* A signed PCR policy (tpm11 pcr-sign): PCR values, approved by the
 * signer's ECDSA P-256 signature over SHA-256(approvedPolicy), where
 * approvedPolicy is the PolicyPCR digest of sel and values (policyRef
 * empty). */
typedef struct tpm_pcr_policy {
	tpm_pcr_sel sel;
	blob values;
	uint8_t sig[64]; /* r||s */
	uint64_t created;
} tpm_pcr_policy;

typedef struct {
	char manufacturer[5]; /* TPM2_PT_MANUFACTURER, e.g. "IBM" */
	char vendor[17];      /* TPM2_PT_VENDOR_STRING_1..4 */
	uint8_t fw_major, fw_minor;
	uint8_t spec_major, spec_minor; /* family 2.0 level, revision/100 */
	bool software; /* a software TPM: keys not hardware-held */
} tpm_info;

typedef struct {
	uint32_t counter, max_tries, recovery, lockout_recovery;
	bool in_lockout;
} tpm_lockout;

/* What a TPM offers of what tpm11 builds on (issue 14): many chips lack
 * P-384, RSA-3072, SHA-384/512 or EncryptDecrypt(2). Read once
 * (tpm_probe), kept in the store, read again when the firmware changes. */
enum {
	TPM_HAS_SHA1 = 1u << 0,
	TPM_HAS_SHA256 = 1u << 1,
	TPM_HAS_SHA384 = 1u << 2,
	TPM_HAS_SHA512 = 1u << 3,
	TPM_HAS_P256 = 1u << 4,
	TPM_HAS_P384 = 1u << 5,
	TPM_HAS_RSA2048 = 1u << 6,
	TPM_HAS_RSA3072 = 1u << 7,
	TPM_HAS_AES128 = 1u << 8,
	TPM_HAS_AES256 = 1u << 9,
	TPM_HAS_ECB = 1u << 10, /* modes, with EncryptDecrypt(2) */
	TPM_HAS_CBC = 1u << 11,
	TPM_HAS_CFB = 1u << 12,
	TPM_HAS_CTR = 1u << 13,
	TPM_HAS_HMAC = 1u << 14,        /* keyed-hash keys, TPM2_HMAC */
	TPM_HAS_ECDH = 1u << 15,        /* TPM2_ECDH_ZGen */
	TPM_HAS_RSA_DECRYPT = 1u << 16, /* TPM2_RSA_Decrypt (raw RSA) */
	TPM_HAS_ALL = (1u << 17) - 1,
};

typedef struct {
	uint32_t fw1, fw2; /* TPM2_PT_FIRMWARE_VERSION_1/2 */
	uint32_t has;      /* TPM_HAS_* */
} tpm_caps;

typedef struct {
	tpm_key_type type;
	ec_curve curve;
	uint8_t x[EC_MAX_FIELD_LEN], y[EC_MAX_FIELD_LEN];
	uint8_t n[512];
	size_t n_len;
	uint32_t exponent;
	unsigned bits;
	hash_algo hmac_hash; /* HMAC keys: the hash the key is for */
} tpm_pubkey;

/* Connects through tctildr. tcti NULL/empty: $TPM11_TCTI, else tctildr's
 * default search. No command is sent. On error, err names the TCTI. */
T11_MUST_CHECK CK_RV tpm_open(const char *tcti, tpm_ctx **out, char *err,
			      size_t errlen);
/* Flushes what this context loaded and the sessions it started, then
 * disconnects. */
void tpm_close(tpm_ctx *t);
/* The connection failed (the TPM went away, a resource manager
 * restarted): nothing more can go through it. */
bool tpm_lost(const tpm_ctx *t);
/* Frees a lost connection without sending a command. Keys loaded through
 * it are known as stale by their generation and load again through the
 * next connection. Returns what it had loaded (NULL: nothing), for
 * tpm_flush_orphans on the next connection. */
typedef struct tpm_orphans tpm_orphans;
tpm_orphans *tpm_discard(tpm_ctx *t);
/* On a TPM without a resource manager, what a lost connection had loaded
 * stays: flushes each object that is still there and still the same key
 * (its public area compared), and the sessions; frees o. */
void tpm_flush_orphans(tpm_ctx *t, tpm_orphans *o);
/* A function that tells the user about a wait (the tool prints it). */
void tpm_set_notice(tpm_ctx *t, void (*notice)(const char *msg));
/* Flushes the salted session. The token layer calls it at the end of
 * every operation, so no session outlives an API call (a process that
 * exits without C_Finalize leaves none in a TPM without a resource
 * manager). */
void tpm_idle(tpm_ctx *t);
/* hold true: tpm_idle keeps the session until tpm_close. For a short-lived
 * program doing several operations in a row (the tool: log in, then
 * create), which then starts one salted session instead of one per
 * operation. */
void tpm_hold_session(tpm_ctx *t, bool hold);
/* After fork in the child: drop the parent's connection without a single
 * byte to the TPM (the parent still owns it). */
void tpm_abandon(tpm_ctx *t);

/* The last TPM error as a sentence (Tss2_RC_Decode), for the tool. */
const char *tpm_errmsg(const tpm_ctx *t);
/* TPM commands sent so far (TPM11_LOG and the benchmark report it). */
uint64_t tpm_command_count(const tpm_ctx *t);
/* The TCTI in use (the one the default search chose, when none was set). */
const char *tpm_tcti_name(const tpm_ctx *t);
/* A resource manager is in front (tpm2-abrmd, /dev/tpmrm*): it flushes
 * what a client loaded when its connection goes. */
bool tpm_behind_rm(const tpm_ctx *t);
/* How the TCTI was chosen: with the default search, each candidate and
 * what became of it ("device:/dev/tpmrm0: no such device; swtpm:
 * chosen"); empty when one was given. */
const char *tpm_tcti_search(const tpm_ctx *t);
/* From now on this connection flushes nobody's leftovers when the TPM
 * is full (tpm11 doctor: it only looks). */
void tpm_read_only(tpm_ctx *t);

T11_MUST_CHECK CK_RV tpm_get_info(tpm_ctx *t, tpm_info *info);
T11_MUST_CHECK CK_RV tpm_get_lockout(tpm_ctx *t, tpm_lockout *l);
/* In lockout: the longest wait, in seconds, until the TPM takes a PIN
 * again; 0 when not locked out; UINT64_MAX when waiting does not help
 * (max_tries or recovery 0). */
uint64_t tpm_lockout_wait(const tpm_lockout *l);
/* For a TPM in lockout, when it ends, as a sentence: "it takes PINs
 * again in at most N s ..." (the counter drops by one every l->recovery
 * s; the TPM does not say how far into the current interval it is), or
 * that only the owner's clear-lockout helps. */
void tpm_lockout_text(const tpm_lockout *l, char *out, size_t cap);
/* The firmware version alone: one command (has a probe gone stale?). */
T11_MUST_CHECK CK_RV tpm_firmware(tpm_ctx *t, uint32_t *fw1, uint32_t *fw2);
/* Reads what the TPM offers: algorithms, curves, commands, and with
 * TPM2_TestParms the key sizes no capability lists (RSA-3072, AES-256). */
T11_MUST_CHECK CK_RV tpm_probe(tpm_ctx *t, tpm_caps *c);
/* tpm_caps as 12 bytes (the store's copy), and back; -1 if malformed. */
void tpm_caps_encode(const tpm_caps *c, uint8_t out[12]);
T11_MUST_CHECK int tpm_caps_decode(const uint8_t *in, size_t len, tpm_caps *c);
/* The handles the TPM lists from first on of first's type (loaded
 * sessions: HMAC and policy), at most cap. Read-only: nothing is
 * flushed. Behind a resource manager only this connection's own. */
T11_MUST_CHECK CK_RV tpm_list_handles(tpm_ctx *t, uint32_t first, uint32_t *out,
				      size_t cap, size_t *n);
T11_MUST_CHECK CK_RV tpm_random(tpm_ctx *t, uint8_t *out, size_t n);
T11_MUST_CHECK CK_RV tpm_stir_random(tpm_ctx *t, const uint8_t *in, size_t n);

/* Makes sure a tpm11 primary storage key is at handle: creates and
 * persists it when the handle is free, accepts it when it is there and is
 * a restricted decryption key. Sets *name to its TPM Name. */
T11_MUST_CHECK CK_RV tpm_primary_setup(tpm_ctx *t, uint32_t handle, blob *name);
/* Uses the primary at handle; refuses it when its Name differs from
 * expected (another TPM, or a cleared one). */
T11_MUST_CHECK CK_RV tpm_primary_use(tpm_ctx *t, uint32_t handle,
				     const blob *expected);

/* authValue from a PIN: HMAC-SHA256(salt, PIN). */
T11_MUST_CHECK int tpm_pin_auth(const blob *salt, const char *pin,
				size_t pin_len, uint8_t out[TPM_AUTH_LEN]);

/* --- PINs in NV indices ------------------------------------------------- */

#define TPM_SECRET_LEN 32

/* A PIN's NV index: its handle and its TPM Name. Every use checks the
 * Name, so an index that was removed and defined again by someone else is
 * refused, not trusted. */
typedef struct {
	uint32_t index;
	blob name;
} tpm_nv;

/* A token's two PIN indices and its tag (random, not secret: the token's
 * PIN salt), which makes both indices' Names unique to the token. */
typedef struct {
	tpm_nv so, user;
	blob tag;
} tpm_pins;

/* Chooses two free handles in tpm11's NV range and computes the Names the
 * indices will have (p->tag in; p->so and p->user out, the caller frees
 * their names). No TPM state changes: the caller records the plan first,
 * so a creation cut short can be cleared up (tpm_token_remove). */
T11_MUST_CHECK CK_RV tpm_token_plan(tpm_ctx *t, tpm_pins *p);
/* Defines the planned indices: the SO index (authValue so_auth; policy
 * PolicyOR(PolicyAuthValue + PolicyCommandCode(NV_ChangeAuth), the
 * token's tag)) and the user index (authValue user_auth; policy PolicyOR
 * of the same first branch and PolicySecret(SO index) +
 * PolicyCommandCode(NV_ChangeAuth)); writes secret into the user index
 * and locks it against further writes. Every authValue and the secret
 * cross the bus encrypted. On failure nothing is left defined.
 * CKR_DEVICE_MEMORY: the TPM's NV is full (the error text says so);
 * CKR_FUNCTION_REJECTED: a planned handle was taken meanwhile (plan
 * again). */
T11_MUST_CHECK CK_RV tpm_token_create(tpm_ctx *t, const tpm_pins *p,
				      const uint8_t so_auth[TPM_AUTH_LEN],
				      const uint8_t user_auth[TPM_AUTH_LEN],
				      const uint8_t secret[TPM_SECRET_LEN]);
/* Undefines a token's indices (owner authorisation, empty), also when
 * their creation was cut short. An index already gone is fine; one whose
 * Name is not the token's is left alone. */
T11_MUST_CHECK CK_RV tpm_token_remove(tpm_ctx *t, const tpm_pins *p);
/* Whether nv is in the TPM with its recorded Name (NV_ReadPublic, no
 * change): CKR_OK, or CKR_TOKEN_NOT_RECOGNIZED with tpm_errmsg saying
 * whether it is gone or replaced. */
T11_MUST_CHECK CK_RV tpm_nv_check(tpm_ctx *t, const tpm_nv *nv);
/* Proves auth (a PIN's authValue) for nv and reads its first n bytes,
 * both through a salted session that encrypts the response. A wrong PIN
 * is CKR_PIN_INCORRECT and counts against the dictionary-attack
 * counter; lockout is CKR_PIN_LOCKED; an index that is gone or replaced
 * CKR_TOKEN_NOT_RECOGNIZED. */
T11_MUST_CHECK CK_RV tpm_pin_read(tpm_ctx *t, const tpm_nv *nv,
				  const uint8_t auth[TPM_AUTH_LEN],
				  uint8_t *out, size_t n);
/* TPM2_NV_ChangeAuth of the SO index (so) or the user index, proven with
 * its current authValue. In place: the old PIN stops working for every
 * copy of the store. */
T11_MUST_CHECK CK_RV tpm_pin_change(tpm_ctx *t, const tpm_pins *p, bool so,
				    const uint8_t old_auth[TPM_AUTH_LEN],
				    const uint8_t new_auth[TPM_AUTH_LEN]);
/* The SO sets a new user PIN: PolicySecret(SO index, so_auth). */
T11_MUST_CHECK CK_RV tpm_pin_reset(tpm_ctx *t, const tpm_pins *p,
				   const uint8_t so_auth[TPM_AUTH_LEN],
				   const uint8_t new_auth[TPM_AUTH_LEN]);

/* --- keys ----------------------------------------------------------------- */

/* --- PCRs ------------------------------------------------------------------ */

/* "sha256:7,11" (or sha1:) into sel; -1 with a one-line reason in err. */
T11_MUST_CHECK int tpm_pcr_sel_parse(const char *s, tpm_pcr_sel *sel, char *err,
				     size_t errlen);
/* sel as "sha256:7,11". */
void tpm_pcr_sel_text(const tpm_pcr_sel *sel, char *out, size_t cap);
/* The stored form of a selection and its values (the vendor attribute
 * CKA_TPM11_PCRS): TPM algorithm ID (2 bytes, big-endian), mask (4
 * bytes), then the values; values may be empty (a request: "bind to
 * these"). decode: -1 if malformed; values NULL to skip them. */
T11_MUST_CHECK int tpm_pcr_encode(const tpm_pcr_sel *sel, const blob *values,
				  blob *out);
T11_MUST_CHECK int tpm_pcr_decode(const uint8_t *in, size_t len,
				  tpm_pcr_sel *sel, blob *values);
/* The current values of sel's PCRs, concatenated in PCR order
 * (TPM2_PCR_Read). A bank the TPM does not keep is CKR_MECHANISM_INVALID
 * with tpm_errmsg saying so. */
T11_MUST_CHECK CK_RV tpm_pcr_read(tpm_ctx *t, const tpm_pcr_sel *sel,
				  blob *values);
/* A signer's public key (EC P-256, x||y) as the TPM2B_PUBLIC that the
 * key's policy names and LoadExternal loads. */
T11_MUST_CHECK int tpm_signer_pub(const uint8_t *xy, blob *out);
/* What a signer signs for sel and values: SHA-256(approvedPolicy). */
T11_MUST_CHECK int tpm_pcr_policy_hash(const tpm_pcr_sel *sel,
				       const blob *values, uint8_t out[32]);
/* k is bound to the signer pub (a stored TPM2B_PUBLIC); -1 if malformed. */
T11_MUST_CHECK int tpm_key_set_signer(tpm_key *k, const uint8_t *pub,
				      size_t len);
/* The signer's x||y (64 bytes) from its TPM2B_PUBLIC; -1 if malformed. */
T11_MUST_CHECK int tpm_signer_xy(const blob *pub, uint8_t xy[64]);
/* The signed policies to try for k (taken over: freed with k or the next
 * call), newest first. */
void tpm_key_set_policies(tpm_key *k, tpm_pcr_policy *p, size_t n);
void tpm_pcr_policies_free(tpm_pcr_policy *p, size_t n);
/* Makes k PCR-bound (from its stored attribute); -1 if malformed or out
 * of memory. */
T11_MUST_CHECK int tpm_key_set_pcrs(tpm_key *k, const uint8_t *attr,
				    size_t len);

/* Sets the authValue used for k (copied; wiped on tpm_key_clear). */
void tpm_key_set_auth(tpm_key *k, const uint8_t *auth, size_t len);
/* Context-saves and flushes k if loaded, keeping its auth: it leaves the
 * TPM's slots and comes back with one ContextLoad when used. */
T11_MUST_CHECK CK_RV tpm_key_park(tpm_ctx *t, tpm_key *k);
/* Flushes k if loaded, frees its saved context, wipes its auth. Blobs
 * stay. */
void tpm_key_unload(tpm_ctx *t, tpm_key *k);
/* tpm_key_unload, then frees the blobs. */
void tpm_key_clear(tpm_ctx *t, tpm_key *k);

/* Creates an application key under the SRK with authValue auth (auth_len
 * 0: empty, a key usable without login). The authValue travels
 * encrypted. Fills the blobs and the creation data for later
 * attestation. pcrs non-NULL with a mask: the key is bound to the current
 * values of those PCRs (read into pcr_values): authPolicy =
 * PolicyPCR(values) + PolicyPassword (its authValue is still needed),
 * userWithAuth clear (the authValue alone no longer signs). signer
 * non-NULL instead (a TPM2B_PUBLIC, tpm_signer_pub): authPolicy =
 * PolicyAuthorize(signer) + PolicyPassword: any PCR policy the signer
 * signs (tpm11 pcr-sign) authorises the key. */
#define TPM_KEYGEN_DERIVE 0x1 /* EC keys: also ECDH (decrypt attribute) */
T11_MUST_CHECK CK_RV tpm_key_create(tpm_ctx *t, tpm_key_type type,
				    unsigned flags, const uint8_t *auth,
				    size_t auth_len, const tpm_pcr_sel *pcrs,
				    blob *pcr_values, const blob *signer,
				    blob *pub, blob *priv, blob *cdata,
				    blob *chash, blob *cticket);
/* A secret key from given bytes (AES: 16/32, HMAC: 1..64) under the SRK
 * with authValue auth; bytes and authValue travel encrypted. */
T11_MUST_CHECK CK_RV tpm_key_import(tpm_ctx *t, tpm_key_type type,
				    const uint8_t *auth, size_t auth_len,
				    const uint8_t *value, size_t len, blob *pub,
				    blob *priv);
/* An asymmetric private key from outside the TPM (tpm11 import): the
 * public part in pub (type, curve and x, y, or n and exponent) and the
 * private part: EC the scalar d (field length), RSA the prime p (half the
 * modulus length; the TPM recomputes q and d). */
typedef struct {
	tpm_pubkey pub;
	uint8_t priv[256];
	size_t priv_len;
} tpm_privkey;

/* TPM2_Import of k under the SRK with authValue auth (auth_len 0: empty).
 * The duplication blob is built here with an inner wrapper only (TPM 2.0
 * Part 1 "Duplication"): the sensitive area, its integrity hash, AES-128-CFB
 * with a fresh random key, which goes to the TPM as encryptionKey, the
 * command's first parameter, encrypted by the salted session. So neither
 * the private part nor the key that opens the blob crosses the bus in the
 * clear. TPM2_Import refuses fixedTPM/fixedParent objects, so the key is
 * neither; with an empty authPolicy it cannot be duplicated either
 * (TPM2_Duplicate needs a policy session). sensitiveDataOrigin is clear
 * (attestation refuses the key). Fills the blobs for tpm_key_load. */
T11_MUST_CHECK CK_RV tpm_key_import_private(tpm_ctx *t, const tpm_privkey *k,
					    const uint8_t *auth,
					    size_t auth_len, blob *pub,
					    blob *priv);
/* AES in mode (TPM2_ALG_CBC/CFB/ECB) over len bytes (a multiple of 16
 * except for CFB), chaining iv (16 bytes, updated). Plaintext crosses the
 * bus encrypted. */
T11_MUST_CHECK CK_RV tpm_aes(tpm_ctx *t, tpm_key *k, bool decrypt,
			     uint16_t mode, uint8_t iv[16], const uint8_t *in,
			     size_t len, uint8_t *out);
/* HMAC with hash alg over data (any length). out: hash_len(alg). */
T11_MUST_CHECK CK_RV tpm_hmac(tpm_ctx *t, tpm_key *k, hash_algo alg,
			      const uint8_t *data, size_t len, uint8_t *out);
/* ECDH: Z = d * peer point, the x-coordinate (field length); Z crosses
 * the bus encrypted. */
T11_MUST_CHECK CK_RV tpm_ecdh_zgen(tpm_ctx *t, tpm_key *k, ec_curve curve,
				   const uint8_t *x, const uint8_t *y,
				   uint8_t *z);

/* Loads a key (k->tr valid afterwards), for TPM2_Certify (attestation). */
T11_MUST_CHECK CK_RV tpm_key_load(tpm_ctx *t, tpm_key *k);

/* The HMAC key type for a hash (HASH_SHA256 -> TPM_KEY_HMAC, ...), or
 * TPM_KEY_NONE. */
tpm_key_type tpm_hmac_type(hash_algo h);

/* Parses a stored TPM2B_PUBLIC. */
T11_MUST_CHECK int tpm_pub_parse(const blob *pub, tpm_pubkey *out);
/* A stored TPM2B_PUBLIC's authPolicy (up to 64 bytes into out, *len its
 * size, 0 when it has none). -1 if the blob does not parse. */
T11_MUST_CHECK int tpm_pub_policy(const blob *pub, uint8_t out[64],
				  size_t *len);

/* ECDSA over a digest (any length: truncated or padded to a hash size the
 * TPM knows, as ECDSA uses the leftmost bits). r||s, field-length halves. */
T11_MUST_CHECK CK_RV tpm_sign_ecdsa(tpm_ctx *t, tpm_key *k, ec_curve curve,
				    const uint8_t *digest, size_t dlen,
				    uint8_t *sig, size_t *siglen);
/* The raw RSA private operation on a modulus-length block. secret: the
 * result is a plaintext (decryption), so it crosses the bus encrypted; a
 * signature does not need that. */
T11_MUST_CHECK CK_RV tpm_rsa_raw(tpm_ctx *t, tpm_key *k, const uint8_t *in,
				 size_t len, bool secret, uint8_t *out,
				 size_t *outlen);

#endif
