/* The store: one sqlite3 database per store directory. It holds tokens,
 * objects, their attributes and TPM-wrapped blobs; never a PIN, a PIN
 * hash, or a private key in clear. WAL mode, a busy timeout, and one
 * transaction per write, so many processes can share it. */
#ifndef TPM11_STORE_STORE_H
#define TPM11_STORE_STORE_H

#include "util/check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr/attr.h"
#include "util/blob.h"

/* 3: attestation keys in tables of their own (aks, ak_certs); a store of
 * schema 2 is converted when opened, in one transaction. 2: key model 2
 * (docs/design.md): PINs in NV indices, keys under the SRK with per-key
 * authValues. 1: the first key model, refused (its keys cannot move; see
 * store_open and `tpm11 migrate`). */
#define STORE_SCHEMA_VERSION 3
#define STORE_DB_NAME "tpm11.sqlite3"

typedef struct store store;

/* The largest object the store takes: its attributes, serialised. Readers
 * accept more (ATTR_MAX_VALUE per attribute), so whatever was written
 * reads back. */
#define STORE_OBJECT_MAX (1u << 20)

typedef struct {
	int64_t id;
	char label[33];
	char serial[17];
	char manufacturer[33];
	char model[17];
	uint8_t fw_major, fw_minor, hw_major, hw_minor;
	blob pin_salt; /* salt of the PIN -> authValue derivation */
	/* The NV indices whose authValues are the PINs, and their TPM
	 * Names when made (checked before each use: an index removed or
	 * replaced by someone else is not ours any more). */
	uint32_t user_nv, so_nv;
	blob user_nv_name, so_nv_name;
	uint64_t flags; /* TOKEN_REC_* */
	/* The process making or removing the token (its PIN indices are
	 * being defined or undefined), 0 when the token is complete. A row
	 * whose process is gone is cleared up by the next addtoken or
	 * rmtoken (token_finish_pending). */
	int64_t pending;
#define TOKEN_REC_USER_PIN_UNSET 0x1 /* made by C_InitToken, no C_InitPIN yet */
} token_rec;

typedef struct {
	int64_t id;
	int64_t token_id;
	attr_list attrs;
	blob tpm_pub, tpm_priv; /* TPM2B_PUBLIC / TPM2B_PRIVATE, marshalled */
	blob creation_data, creation_hash, creation_ticket;
} object_rec;

/* The directory to use: $TPM11_STORE, else $XDG_DATA_HOME/tpm11, else
 * $HOME/.local/share/tpm11. Returns a malloc'd string or NULL. */
char *store_default_dir(void);

/* Opens the database in dir. With create, makes the directory (0700) and
 * the database (0600) when missing and sets up the schema; without it, a
 * missing store is STORE_ENOENT. A store of a newer schema is refused,
 * an older one migrated. Errors fill err with a sentence naming the file. */
enum {
	STORE_OK = 0,
	STORE_ERROR = -1,   /* I/O or sqlite error; see err */
	STORE_ENOENT = -2,  /* no store there */
	STORE_CORRUPT = -3, /* not a tpm11 store, or damaged */
	STORE_NEWER = -4,   /* made by a newer tpm11 */
	STORE_OLD = -7,     /* key model 1 (schema 1): see `tpm11 migrate` */
	STORE_TOOBIG = -8,  /* an object larger than STORE_OBJECT_MAX */
	STORE_EXISTS = -5,  /* unique constraint (token label) */
	STORE_NOTFOUND = -6,
};
T11_MUST_CHECK int store_open(const char *dir, bool create, store **out,
			      char *err, size_t errlen);
void store_close(store *s);
/* A store of schema 1 (key model 1), opened read-only for `tpm11 migrate`:
 * store_objects works on it, store_tokens does not (its token rows differ);
 * store_old_tokens gives their ids and labels. */
T11_MUST_CHECK int store_open_old(const char *dir, store **out, char *err,
				  size_t errlen);
typedef struct {
	int64_t id;
	char label[33];
} old_token;
T11_MUST_CHECK int store_old_tokens(store *s, old_token **out, size_t *n);
/* Moves the store's database in dir (after folding its WAL in) to
 * <name>.model1-<UTC time>, so that the directory can hold a new store.
 * newpath gets the new name; nothing moves when another program has it
 * open. */
T11_MUST_CHECK int store_archive(const char *dir, char *newpath, size_t cap,
				 char *err, size_t errlen);
const char *store_path(const store *s);

/* Changes whenever another connection commits; cheap (no disk I/O beyond
 * sqlite's own header check). */
int64_t store_data_version(store *s);

T11_MUST_CHECK int store_meta_get(store *s, const char *key, blob *out);
T11_MUST_CHECK int store_meta_set(store *s, const char *key, const void *v,
				  size_t len);

T11_MUST_CHECK int store_tokens(store *s, token_rec **out, size_t *n);
void store_tokens_free(token_rec *t, size_t n);
void token_rec_clear(token_rec *t);
/* Inserts; sets t->id. STORE_EXISTS when the label is taken. */
T11_MUST_CHECK int store_token_add(store *s, token_rec *t);
/* Clears TOKEN_REC_* flags of token id. */
T11_MUST_CHECK int store_token_clear_flags(store *s, int64_t id,
					   uint64_t flags);
/* Sets token id's pending process (0: complete). */
T11_MUST_CHECK int store_token_set_pending(store *s, int64_t id, int64_t pid);
/* Records t's NV handles and Names (a new plan, before defining). */
T11_MUST_CHECK int store_token_set_pins(store *s, const token_rec *t);
/* Deletes the token and all its objects, in one transaction. */
T11_MUST_CHECK int store_token_delete(store *s, int64_t id);

/* A token's objects. One whose attributes do not parse (a damaged row) is
 * left out and counted (store_objects_skipped), never the whole store. */
T11_MUST_CHECK int store_objects(store *s, int64_t token_id, object_rec **out,
				 size_t *n);
/* How many objects the last store_objects left out, and the last one's
 * description in store_errmsg. */
size_t store_objects_skipped(const store *s);
void store_objects_free(object_rec *o, size_t n);
void object_rec_clear(object_rec *o);
/* Inserts n objects in one transaction; sets each id. STORE_TOOBIG, with
 * nothing written, when one is larger than STORE_OBJECT_MAX. */
T11_MUST_CHECK int store_objects_add(store *s, object_rec *o, size_t n);
T11_MUST_CHECK int store_objects_delete(store *s, const int64_t *ids, size_t n);
/* Inserts n objects and deletes the objects old[0..nold) in one
 * transaction: a reader sees the old objects or the new ones, never both
 * or neither. Sets each new id. */
T11_MUST_CHECK int store_objects_replace(store *s, object_rec *o, size_t n,
					 const int64_t *old, size_t nold);

/* An attestation key (docs/attestation.md): not a token object, one per
 * name in the store. */
#define STORE_AK_NAME_MAX 32
#define STORE_AK_CERTS_MAX 16
typedef struct {
	char name[STORE_AK_NAME_MAX + 1];
	uint32_t ek_index; /* parent: 0 the SRK, else the EK of that NV index */
	blob pub, priv;    /* TPM2B_PUBLIC, TPM2B_PRIVATE (TPM-wrapped) */
	blob *certs;       /* DER: the AK certificate, then its chain */
	size_t ncerts;
} ak_rec;
void ak_rec_clear(ak_rec *r);
/* The AK called name. STORE_NOTFOUND when there is none, STORE_CORRUPT
 * when a record of schema 2 for it could not be converted. */
T11_MUST_CHECK int store_ak_get(store *s, const char *name, ak_rec *out);
/* Writes r (a new AK, or a new blob or certificates for one of that name)
 * in one transaction; the name keeps its place in store_ak_names. */
T11_MUST_CHECK int store_ak_put(store *s, const ak_rec *r);
/* The AKs' names in the order they were first made (malloc'd array of
 * malloc'd strings; store_ak_names_free). */
T11_MUST_CHECK int store_ak_names(store *s, char ***out, size_t *n);
void store_ak_names_free(char **names, size_t n);
T11_MUST_CHECK int store_object_set_attrs(store *s, int64_t id,
					  const attr_list *attrs);

/* Read-only health check: *schema gets user_version; PRAGMA
 * integrity_check's findings go to problems (empty when none). STORE_OK,
 * STORE_CORRUPT when it found damage, STORE_ERROR when it could not run. */
T11_MUST_CHECK int store_check(store *s, int64_t *schema, char *problems,
			       size_t cap);

/* A sentence about the last error. */
const char *store_errmsg(store *s);

#endif
