#include "token/token.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto/ec.h"
#include "crypto/hash.h"
#include "crypto/pkey.h"
#include "crypto/sshkey.h"
#include "crypto/x509.h"
#include "util/log.h"
#include "util/secure.h"

#define META_PRIMARY_HANDLE "primary_handle"
#define META_PRIMARY_NAME "primary_name"
#define META_TPM_CAPS "tpm_caps"

/* --- core ------------------------------------------------------------------ */

static void token_obj_free(core *c, token_obj *o);
static void token_free(core *c, token *t);

CK_RV
core_new(const char *store_dir, const char *tcti, core **out)
{
	core *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CKR_HOST_MEMORY;
	c->store_dir = store_dir && *store_dir ? strdup(store_dir)
					       : store_default_dir();
	if (c->store_dir == NULL) {
		free(c);
		return CKR_HOST_MEMORY;
	}
	c->tcti = tcti && *tcti ? strdup(tcti) : NULL;
	c->primary = TPM_DEFAULT_PRIMARY;
	c->data_version = -1;
	c->caps.has = TPM_HAS_ALL;
	*out = c;
	return CKR_OK;
}

CK_RV
core_open(const char *store_dir, const char *tcti, bool create, core **out)
{
	core *c;
	CK_RV rv;
	int rc;

	if ((rv = core_new(store_dir, tcti, out)) != CKR_OK)
		return rv;
	c = *out;
	rc = store_open(c->store_dir, create, &c->st, c->err, sizeof(c->err));
	if (rc != STORE_OK && rc != STORE_ENOENT) {
		*out = c;
		return rc == STORE_NEWER || rc == STORE_CORRUPT ||
				       rc == STORE_OLD
			       ? CKR_TOKEN_NOT_RECOGNIZED
			       : CKR_DEVICE_ERROR;
	}
	*out = c;
	return CKR_OK;
}

void
core_close(core *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ntokens; i++)
		token_free(c, c->tokens[i]);
	free(c->tokens);
	tpm_close(c->tpm);
	store_close(c->st);
	blob_free(&c->primary_name);
	free(c->store_dir);
	free(c->tcti);
	secure_zero(c, sizeof(*c));
	free(c);
}

void
core_release_tpm(core *c)
{
	size_t i;

	for (i = 0; i < c->ntokens; i++)
		token_logout(c, c->tokens[i]);
	tpm_close(c->tpm);
	c->tpm = NULL;
}

void
core_abandon_tpm(core *c)
{
	size_t i, j;

	/* The handles are the parent's; forget them without a command. */
	for (i = 0; i < c->ntokens; i++) {
		token *t = c->tokens[i];

		for (j = 0; j < t->nobjs; j++)
			tpm_key_unload(NULL, &t->objs[j]->key);
		/* MADV_WIPEONFORK zeroed it in this child already. */
		secure_release(t->sec, sizeof(*t->sec));
		t->sec = NULL;
		t->login = TOKEN_NOBODY;
	}
	/* c->tpm stays pointed to: the core is kept, never used again. */
	tpm_abandon(c->tpm);
}

CK_RV
core_create_store(core *c)
{
	if (c->st != NULL)
		return CKR_OK;
	if (store_open(c->store_dir, true, &c->st, c->err, sizeof(c->err)) !=
	    STORE_OK)
		return CKR_DEVICE_ERROR;
	return CKR_OK;
}

static CK_RV
core_read_primary(core *c)
{
	blob b = {0};

	if (c->st == NULL)
		return CKR_OK;
	if (store_meta_get(c->st, META_PRIMARY_HANDLE, &b) == STORE_OK &&
	    b.len == 4)
		c->primary = (uint32_t)b.data[0] << 24 |
			     (uint32_t)b.data[1] << 16 |
			     (uint32_t)b.data[2] << 8 | b.data[3];
	blob_free(&b);
	blob_free(&c->primary_name);
	if (store_meta_get(c->st, META_PRIMARY_NAME, &c->primary_name) !=
	    STORE_OK)
		return CKR_TOKEN_NOT_PRESENT;
	return CKR_OK;
}

static CK_RV
core_connect(core *c)
{
	CK_RV rv;

	if (c->tpm != NULL)
		return CKR_OK;
	rv = tpm_open(c->tcti, &c->tpm, c->err, sizeof(c->err));
	if (rv == CKR_OK && c->hold_session)
		tpm_hold_session(c->tpm, true);
	if (rv == CKR_OK && c->notice)
		tpm_set_notice(c->tpm, c->notice);
	return rv;
}

/* The store's copy of what the TPM offers; false when it has none. */
static bool
core_read_caps(core *c)
{
	blob b = {0};
	bool have = c->st != NULL &&
		    store_meta_get(c->st, META_TPM_CAPS, &b) == STORE_OK &&
		    tpm_caps_decode(b.data, b.len, &c->caps) == 0;

	if (!have)
		c->caps.has = TPM_HAS_ALL;
	c->caps_stored = have;
	blob_free(&b);
	return have;
}

/* Once per process, and only where the capabilities decide something
 * (making a key: core_tpm_offers): the firmware version against the
 * store's copy; a different one (an update) or no copy: probe again and
 * keep it. A login or a signature with a key that exists asks nothing
 * (one command less in every ssh or TLS process). A failure here is not
 * the caller's: the old copy stays. */
static void
core_check_caps(core *c)
{
	uint32_t fw1, fw2;
	uint8_t enc[12];
	tpm_caps now;

	if (c->caps_checked || c->st == NULL)
		return;
	c->caps_checked = true;
	if (core_read_caps(c) && tpm_firmware(c->tpm, &fw1, &fw2) == CKR_OK &&
	    fw1 == c->caps.fw1 && fw2 == c->caps.fw2)
		return;
	if (tpm_probe(c->tpm, &now) != CKR_OK)
		return;
	log_debug("tpm: probed (firmware %08x.%08x): offers 0x%x", now.fw1,
		  now.fw2, now.has);
	c->caps = now;
	tpm_caps_encode(&now, enc);
	c->caps_stored = store_meta_set(c->st, META_TPM_CAPS, enc,
					sizeof(enc)) == STORE_OK;
}

CK_RV
core_primary(core *c, uint32_t *handle, const blob **name)
{
	CK_RV rv = core_read_primary(c);

	*handle = c->primary;
	*name = &c->primary_name;
	return c->st == NULL ? CKR_TOKEN_NOT_PRESENT : rv;
}

bool
core_stored_caps(core *c, tpm_caps *out)
{
	bool have = core_read_caps(c);

	*out = c->caps;
	return have;
}

CK_RV
core_tpm(core *c)
{
	CK_RV rv;
	/* A connection that failed (the TPM or its resource manager went
	 * away) is dropped here, and this call connects again: keys load
	 * again when used, logins stay (their secrets are ours). */
	tpm_orphans *orphans = NULL;

	if (tpm_lost(c->tpm)) {
		log_debug("tpm: the connection was lost; connecting again");
		orphans = tpm_discard(c->tpm);
		c->tpm = NULL;
	}
	if ((rv = core_connect(c)) != CKR_OK) {
		tpm_flush_orphans(NULL, orphans);
		return rv;
	}
	tpm_flush_orphans(c->tpm, orphans);
	if (core_read_primary(c) != CKR_OK) {
		snprintf(c->err, sizeof(c->err),
			 "the store %s has no primary key yet; run `tpm11 "
			 "init` first",
			 c->store_dir);
		return CKR_TOKEN_NOT_PRESENT;
	}
	rv = tpm_primary_use(c->tpm, c->primary, &c->primary_name);
	if (rv != CKR_OK) {
		snprintf(c->err, sizeof(c->err), "store %s: %s", c->store_dir,
			 tpm_errmsg(c->tpm));
		return rv;
	}
	/* A store without the copy (just made): probe now, so that the
	 * mechanism lists say what this TPM offers before any key is made. */
	if (!c->caps_stored)
		core_check_caps(c);
	return CKR_OK;
}

uint32_t
core_tpm_has(core *c)
{
	core_check_caps(c);
	return c->caps.has;
}

CK_RV
core_tpm_offers(core *c, tpm_key_type kt)
{
	/* The code PKCS#11 gives when a token lacks it: v3.0 5.1.6
	 * CKR_CURVE_NOT_SUPPORTED for a curve, CKR_KEY_SIZE_RANGE for a key
	 * size, CKR_MECHANISM_INVALID for a function. */
	static const struct {
		tpm_key_type kt;
		uint32_t need;
		CK_RV rv;
		const char *lacks, *instead;
	} rows[] = {
		{TPM_KEY_ECC_P256, TPM_HAS_P256, CKR_CURVE_NOT_SUPPORTED,
		 "NIST P-256 curve", "rsa2048"},
		{TPM_KEY_ECC_P384, TPM_HAS_P384, CKR_CURVE_NOT_SUPPORTED,
		 "NIST P-384 curve", "ecc256"},
		{TPM_KEY_RSA_2048, TPM_HAS_RSA2048 | TPM_HAS_RSA_DECRYPT,
		 CKR_MECHANISM_INVALID, "RSA-2048 with the raw RSA operation",
		 "ecc256"},
		{TPM_KEY_RSA_3072, TPM_HAS_RSA3072 | TPM_HAS_RSA_DECRYPT,
		 CKR_KEY_SIZE_RANGE, "RSA-3072", "rsa2048"},
		{TPM_KEY_AES_128, TPM_HAS_AES128, CKR_MECHANISM_INVALID,
		 "AES with TPM2_EncryptDecrypt", NULL},
		{TPM_KEY_AES_256, TPM_HAS_AES256, CKR_KEY_SIZE_RANGE, "AES-256",
		 "a 16-byte AES key"},
		{TPM_KEY_HMAC_SHA1, TPM_HAS_HMAC | TPM_HAS_SHA1,
		 CKR_MECHANISM_INVALID, "HMAC with SHA-1",
		 "a SHA-256 HMAC key"},
		{TPM_KEY_HMAC, TPM_HAS_HMAC | TPM_HAS_SHA256,
		 CKR_MECHANISM_INVALID, "HMAC with SHA-256", NULL},
		{TPM_KEY_HMAC_SHA384, TPM_HAS_HMAC | TPM_HAS_SHA384,
		 CKR_MECHANISM_INVALID, "HMAC with SHA-384",
		 "a SHA-256 HMAC key"},
		{TPM_KEY_HMAC_SHA512, TPM_HAS_HMAC | TPM_HAS_SHA512,
		 CKR_MECHANISM_INVALID, "HMAC with SHA-512",
		 "a SHA-256 HMAC key"},
	};
	size_t i;

	core_check_caps(c);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].kt != kt)
			continue;
		if ((c->caps.has & rows[i].need) == rows[i].need)
			return CKR_OK;
		snprintf(c->err, sizeof(c->err), "this TPM has no %s%s%s",
			 rows[i].lacks, rows[i].instead ? "; choose " : "",
			 rows[i].instead ? rows[i].instead : "");
		return rows[i].rv;
	}
	return CKR_OK;
}

CK_RV
core_init_primary(core *c, uint32_t handle)
{
	uint8_t hb[4] = {handle >> 24, handle >> 16, handle >> 8, handle};
	blob name = {0};
	CK_RV rv;

	/* The TPM first: a TPM that cannot be reached or refuses leaves no
	 * empty store behind (a later command would find a store without a
	 * primary key and blame that). */
	if ((rv = core_connect(c)) != CKR_OK)
		return rv;
	rv = tpm_primary_setup(c->tpm, handle, &name);
	if (rv != CKR_OK) {
		snprintf(c->err, sizeof(c->err),
			 "cannot set up the primary key at 0x%08x: %s", handle,
			 tpm_errmsg(c->tpm));
		return rv;
	}
	if ((rv = core_create_store(c)) != CKR_OK) {
		blob_free(&name);
		return rv;
	}
	if (store_meta_set(c->st, META_PRIMARY_HANDLE, hb, 4) != STORE_OK ||
	    store_meta_set(c->st, META_PRIMARY_NAME, name.data, name.len) !=
		    STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		blob_free(&name);
		return CKR_DEVICE_ERROR;
	}
	blob_free(&name);
	c->primary = handle;
	return core_tpm(c);
}

/* An operation that may simply be sent again (it changes nothing in the
 * TPM, or it makes an object nobody keeps yet): when the connection was
 * lost under it (the TPM reset its interface, a resource manager
 * restarted, a response came back cut short), connect again and run it
 * once more (up to TOKEN_TRIES times), so the fault costs the caller
 * nothing (issue 14 item 3). Not
 * for PIN changes or the making and removal of tokens: those may have
 * happened before their answer was lost. */
#define TOKEN_AGAIN(c, expr)                                                 \
	({                                                                   \
		CK_RV a_ = (expr);                                           \
		for (int n_ = 0;                                             \
		     n_ < TOKEN_TRIES && a_ != CKR_OK && tpm_lost((c)->tpm); \
		     n_++) {                                                 \
			if ((a_ = core_tpm(c)) != CKR_OK)                    \
				continue;                                    \
			log_debug("token: connected again; once more");      \
			a_ = (expr);                                         \
		}                                                            \
		a_;                                                          \
	})
/* Connections made again for one operation, at most. */
#define TOKEN_TRIES 3

/* A store write failed with rc: its message into c->err, and the CKR
 * code. An object too big for the token is the token's memory (v2.40
 * 5.1: CKR_DEVICE_MEMORY), not a broken device. */
static CK_RV
store_failed(core *c, int rc)
{
	snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
	return rc == STORE_TOOBIG ? CKR_DEVICE_MEMORY : CKR_DEVICE_ERROR;
}

CK_RV
token_set_attrs(core *c, token_obj *o, const attr_list *attrs)
{
	int rc = store_object_set_attrs(c->st, o->id, attrs);

	if (rc != STORE_OK)
		return store_failed(c, rc);
	return core_reload(c);
}

/* --- loading from the store ---------------------------------------------- */

static void
token_obj_free(core *c, token_obj *o)
{
	if (o == NULL)
		return;
	tpm_key_clear(c->tpm, &o->key);
	attr_list_clear(&o->attrs);
	secure_zero(o, sizeof(*o));
	free(o);
}

static void
token_free(core *c, token *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nobjs; i++)
		token_obj_free(c, t->objs[i]);
	free(t->objs);
	secure_release(t->sec, sizeof(*t->sec));
	token_rec_clear(&t->rec);
	free(t);
}

token_obj *
token_find_obj(token *t, int64_t id)
{
	size_t i;

	for (i = 0; i < t->nobjs; i++)
		if (t->objs[i] != NULL && t->objs[i]->id == id)
			return t->objs[i];
	return NULL;
}

static bool
blob_eq(const blob *a, const blob *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Takes over rec's blobs into a tpm_key, keeping TPM state when the blobs
 * are the same as before. */
static void
key_update(core *c, tpm_key *k, blob *pub, blob *priv)
{
	if (!blob_eq(&k->pub, pub) || !blob_eq(&k->priv, priv))
		tpm_key_clear(c->tpm, k);
	blob_free(&k->pub);
	blob_free(&k->priv);
	k->pub = *pub;
	k->priv = *priv;
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
}

static CK_RV
token_load_objects(core *c, token *t)
{
	object_rec *recs = NULL;
	token_obj **nv;
	size_t n = 0, i, j, kept = 0;
	int rc;

	rc = store_objects(c->st, t->rec.id, &recs, &n);
	if (rc != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		return CKR_DEVICE_ERROR;
	}
	t->damaged = store_objects_skipped(c->st);
	if ((nv = calloc(n ? n : 1, sizeof(*nv))) == NULL) {
		store_objects_free(recs, n);
		return CKR_HOST_MEMORY;
	}
	for (i = 0; i < n; i++) {
		token_obj *o = token_find_obj(t, recs[i].id);
		CK_ULONG cls = CKO_DATA;

		if (o == NULL) {
			if ((o = calloc(1, sizeof(*o))) == NULL)
				goto oom;
			o->id = recs[i].id;
		} else {
			for (j = 0; j < t->nobjs; j++)
				if (t->objs[j] == o)
					t->objs[j] = NULL;
			kept++;
		}
		attr_list_clear(&o->attrs);
		o->attrs = recs[i].attrs;
		attr_list_init(&recs[i].attrs);
		attr_get_ulong(&o->attrs, CKA_CLASS, &cls);
		o->cls = cls;
		o->is_private = attr_bool_or(&o->attrs, CKA_PRIVATE,
					     cls == CKO_PRIVATE_KEY ||
						     cls == CKO_SECRET_KEY);
		{
			/* v3.0 CKA_UNIQUE_ID: token serial and row id, never
			 * reused (sqlite INTEGER PRIMARY KEY grows). Derived
			 * here on every load, whatever a record holds. */
			char uid[48];

			snprintf(uid, sizeof(uid), "%s-%lld", t->rec.serial,
				 (long long)o->id);
			attr_set_str(&o->attrs, CKA_UNIQUE_ID, uid);
		}
		if (recs[i].tpm_pub.data != NULL) {
			key_update(c, &o->key, &recs[i].tpm_pub,
				   &recs[i].tpm_priv);
			if (tpm_pub_parse(&o->key.pub, &o->pub) != 0)
				log_error("store: object %lld: its TPM public "
					  "area does not parse",
					  (long long)o->id);
		}
		{
			const CK_ATTRIBUTE *pa =
				attr_find(&o->attrs, CKA_TPM11_PCRS);

			if (pa != NULL && o->key.pcrs.mask != 0)
				pa = NULL; /* already bound */

			if (pa != NULL && o->key.pub.data != NULL &&
			    tpm_key_set_pcrs(&o->key, pa->pValue,
					     pa->ulValueLen) != 0)
				log_error("store: object %lld: its PCR binding "
					  "does not parse",
					  (long long)o->id);
			pa = attr_find(&o->attrs, CKA_TPM11_PCR_SIGNER);
			if (pa != NULL && o->key.pub.data != NULL &&
			    o->key.signer.len == 0 &&
			    tpm_key_set_signer(&o->key, pa->pValue,
					       pa->ulValueLen) != 0)
				log_error("store: object %lld: its PCR signer "
					  "does not parse",
					  (long long)o->id);
		}
		nv[i] = o;
	}
	/* What is left was deleted by someone else. */
	for (j = 0; j < t->nobjs; j++)
		token_obj_free(c, t->objs[j]);
	free(t->objs);
	t->objs = nv;
	t->nobjs = n;
	store_objects_free(recs, n);
	(void)kept;
	return CKR_OK;
oom:
	for (j = 0; j < i; j++)
		if (token_find_obj(t, nv[j]->id) != nv[j])
			token_obj_free(c, nv[j]);
	free(nv);
	store_objects_free(recs, n);
	return CKR_HOST_MEMORY;
}

static token *
core_token_by_id(core *c, int64_t id)
{
	size_t i;

	/* Entries already taken over by a reload are NULL. */
	for (i = 0; i < c->ntokens; i++)
		if (c->tokens[i] != NULL && c->tokens[i]->rec.id == id)
			return c->tokens[i];
	return NULL;
}

static CK_RV
core_load(core *c)
{
	token_rec *recs = NULL;
	token **nv;
	size_t n = 0, i, j, k = 0;
	CK_RV rv = CKR_OK;

	if (c->st == NULL) {
		/* Not opened yet (core_new), or made since by the tool in
		 * another process. A damaged store shows no token; its error
		 * is logged once. */
		int rc = store_open(c->store_dir, false, &c->st, c->err,
				    sizeof(c->err));

		if (rc != STORE_OK) {
			if (rc != STORE_ENOENT && !c->store_err_logged)
				log_error("%s", c->err);
			c->store_err_logged = rc != STORE_ENOENT;
			return CKR_OK;
		}
	}
	c->data_version = store_data_version(c->st);
	core_read_caps(c);
	if (store_tokens(c->st, &recs, &n) != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		return CKR_DEVICE_ERROR;
	}
	if ((nv = calloc(n ? n : 1, sizeof(*nv))) == NULL) {
		store_tokens_free(recs, n);
		return CKR_HOST_MEMORY;
	}
	for (i = 0; i < n; i++) {
		token *t;

		/* Being made or removed (or cut short doing so): not a token
		 * to show or use (token_finish_pending). */
		if (recs[i].pending != 0)
			continue;
		t = core_token_by_id(c, recs[i].id);
		if (t == NULL) {
			if ((t = calloc(1, sizeof(*t))) == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			t->login = TOKEN_NOBODY;
		} else {
			for (j = 0; j < c->ntokens; j++)
				if (c->tokens[j] == t)
					c->tokens[j] = NULL;
		}
		token_rec_clear(&t->rec);
		t->rec = recs[i];
		memset(&recs[i], 0, sizeof(recs[i]));
		nv[k++] = t;
		if ((rv = token_load_objects(c, t)) != CKR_OK)
			break;
	}
	if (rv != CKR_OK) {
		for (j = 0; j < k; j++)
			if (core_token_by_id(c, nv[j]->rec.id) != nv[j])
				token_free(c, nv[j]);
		free(nv);
		store_tokens_free(recs, n);
		return rv;
	}
	for (j = 0; j < c->ntokens; j++)
		token_free(c, c->tokens[j]);
	free(c->tokens);
	c->tokens = nv;
	c->ntokens = k;
	store_tokens_free(recs, n);
	return CKR_OK;
}

CK_RV
core_reload(core *c)
{
	return core_load(c);
}

CK_RV
core_refresh(core *c)
{
	if (c->st != NULL && c->data_version >= 0 &&
	    store_data_version(c->st) == c->data_version)
		return CKR_OK;
	return core_load(c);
}

token *
core_find_token(core *c, const char *label)
{
	size_t i;

	for (i = 0; i < c->ntokens; i++)
		if (strcmp(c->tokens[i]->rec.label, label) == 0)
			return c->tokens[i];
	return NULL;
}

/* --- PINs ---------------------------------------------------------------- */

static CK_RV
pin_check_len(size_t len)
{
	if (len < TOKEN_MIN_PIN || len > TOKEN_MAX_PIN)
		return CKR_PIN_LEN_RANGE;
	return CKR_OK;
}

static CK_RV
token_derive(token *t, const char *pin, size_t len, uint8_t out[TPM_AUTH_LEN])
{
	if (tpm_pin_auth(&t->rec.pin_salt, pin, len, out) != 0)
		return CKR_GENERAL_ERROR;
	return CKR_OK;
}

/* A PIN-protected key's authValue: HMAC-SHA256(token secret,
 * "tpm11 key auth" || nonce). The token secret is random and only a
 * process that proved the user PIN has it, so the authValue, which
 * crosses the bus in the password session of each use, tells nothing
 * about the PIN. */
static int
key_auth_derive(const token *t, const void *nonce, size_t len,
		uint8_t out[TPM_AUTH_LEN])
{
	static const char label[] = "tpm11 key auth";
	uint8_t msg[sizeof(label) - 1 + 64];
	unsigned int olen = TPM_AUTH_LEN;
	int r = -1;

	if (t->sec == NULL || len == 0 || len > 64)
		return -1;
	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, nonce, len);
	if (HMAC(EVP_sha256(), t->sec->secret, TPM_SECRET_LEN, msg,
		 sizeof(label) - 1 + len, out, &olen) != NULL &&
	    olen == TPM_AUTH_LEN)
		r = 0;
	return r;
}

void
token_read_lockout(core *c, token *t)
{
	if (c->tpm != NULL && tpm_get_lockout(c->tpm, &t->lockout) == CKR_OK)
		t->lockout_known = true;
}

static void
pin_error(core *c, token *t, CK_RV rv, const char *which)
{
	if (rv == CKR_PIN_INCORRECT) {
		token_read_lockout(c, t);
		if (t->lockout_known && t->lockout.max_tries > 0)
			snprintf(c->err, sizeof(c->err),
				 "wrong %s for token \"%s\" (the TPM allows %u "
				 "more failures before it locks out)",
				 which, t->rec.label,
				 t->lockout.max_tries > t->lockout.counter
					 ? t->lockout.max_tries -
						   t->lockout.counter
					 : 0);
		else
			snprintf(c->err, sizeof(c->err),
				 "wrong %s for token \"%s\"", which,
				 t->rec.label);
	} else if (rv == CKR_PIN_LOCKED) {
		char when[320];

		token_read_lockout(c, t);
		if (t->lockout_known && t->lockout.in_lockout)
			tpm_lockout_text(&t->lockout, when, sizeof(when));
		else
			snprintf(
				when, sizeof(when),
				"it takes PINs again after "
				"its recovery time (`tpm11 doctor` shows it), or "
				"the TPM's owner ends it at once with "
				"`tpm2_dictionarylockout --clear-lockout`");
		snprintf(
			c->err, sizeof(c->err),
			"the TPM is in dictionary-attack lockout after too many "
			"wrong PINs; %s",
			when);
	} else if (rv == CKR_PIN_LEN_RANGE) {
		snprintf(c->err, sizeof(c->err),
			 "a %s must have %d to %d characters", which,
			 TOKEN_MIN_PIN, TOKEN_MAX_PIN);
	} else if (c->tpm != NULL && c->err[0] == '\0') {
		const char *m = tpm_errmsg(c->tpm);

		if (strstr(m, "integrity") != NULL)
			snprintf(
				c->err, sizeof(c->err),
				"token \"%s\" in %s: its key blob does not load "
				"in this TPM (damaged, or made by another TPM); "
				"restore the store from a backup (%s)",
				t ? t->rec.label : "?", c->store_dir, m);
		else if (rv == CKR_TOKEN_NOT_RECOGNIZED)
			snprintf(c->err, sizeof(c->err),
				 "token \"%s\" in %s: %s",
				 t ? t->rec.label : "?", c->store_dir, m);
		else
			snprintf(c->err, sizeof(c->err), "%s", m);
	}
}

/* --- tokens ----------------------------------------------------------------- */

/* A token's PIN indices as the TPM layer takes them: a view of the
 * record (nothing to free). */
static void
token_rec_pins(const token_rec *r, tpm_pins *p)
{
	p->so.index = r->so_nv;
	p->so.name = r->so_nv_name;
	p->user.index = r->user_nv;
	p->user.name = r->user_nv_name;
	p->tag = r->pin_salt;
}

/* A plan's handles and Names into the record (the record owns them). */
static void
token_rec_take_pins(token_rec *r, tpm_pins *p)
{
	blob_free(&r->so_nv_name);
	blob_free(&r->user_nv_name);
	r->so_nv = p->so.index;
	r->so_nv_name = p->so.name;
	r->user_nv = p->user.index;
	r->user_nv_name = p->user.name;
	memset(&p->so.name, 0, sizeof(p->so.name));
	memset(&p->user.name, 0, sizeof(p->user.name));
}

static tpm_pins
token_pins(const token *t)
{
	tpm_pins p;

	token_rec_pins(&t->rec, &p);
	return p;
}

CK_RV
token_create(core *c, const char *label, const char *so_pin,
	     const char *user_pin, token **out)
{
	token_rec rec;
	tpm_info info;
	tpm_pins pins = {0};
	uint8_t so_auth[TPM_AUTH_LEN], user_auth[TPM_AUTH_LEN];
	uint8_t secret[TPM_SECRET_LEN], rnd[24];
	token tmp;
	CK_RV rv;
	int rc, i;

	memset(&rec, 0, sizeof(rec));
	memset(&tmp, 0, sizeof(tmp));
	c->err[0] = '\0';
	if (label == NULL || *label == '\0' ||
	    strlen(label) > TOKEN_LABEL_MAX) {
		snprintf(c->err, sizeof(c->err),
			 "a token label must have 1 to %d characters",
			 TOKEN_LABEL_MAX);
		return CKR_ARGUMENTS_BAD;
	}
	if (pin_check_len(strlen(so_pin)) != CKR_OK ||
	    (user_pin != NULL && pin_check_len(strlen(user_pin)) != CKR_OK)) {
		pin_error(c, NULL, CKR_PIN_LEN_RANGE, "PIN");
		return CKR_PIN_LEN_RANGE;
	}
	if ((rv = core_refresh(c)) != CKR_OK)
		return rv;
	if ((rv = core_tpm(c)) != CKR_OK)
		return rv;
	/* Leftovers of a cut-short make or removal: tried again next time. */
	T11_IGNORE(token_finish_pending(c));
	if (core_find_token(c, label) != NULL) {
		snprintf(c->err, sizeof(c->err),
			 "a token labelled \"%s\" already exists; pick another "
			 "label or remove it with `tpm11 rmtoken --label %s`",
			 label, label);
		return CKR_FUNCTION_FAILED;
	}
	if ((rv = tpm_get_info(c->tpm, &info)) != CKR_OK ||
	    (rv = tpm_random(c->tpm, rnd, sizeof(rnd))) != CKR_OK) {
		snprintf(c->err, sizeof(c->err), "%s", tpm_errmsg(c->tpm));
		return rv;
	}
	snprintf(rec.label, sizeof(rec.label), "%s", label);
	for (i = 0; i < 8; i++)
		snprintf(rec.serial + 2 * i, 3, "%02x", rnd[i]);
	snprintf(rec.manufacturer, sizeof(rec.manufacturer), "%s",
		 info.manufacturer);
	snprintf(rec.model, sizeof(rec.model), "%s", info.vendor);
	rec.fw_major = info.fw_major;
	rec.fw_minor = info.fw_minor;
	rec.hw_major = info.spec_major;
	rec.hw_minor = info.spec_minor;
	if (blob_set(&rec.pin_salt, rnd + 8, 16) != 0) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	tmp.rec.pin_salt = rec.pin_salt;
	if ((rv = token_derive(&tmp, so_pin, strlen(so_pin), so_auth)) !=
	    CKR_OK)
		goto out;
	/* The token secret, and for C_InitToken a user authValue that nobody
	 * keeps (the SO sets the real one with C_InitPIN): made here, not
	 * by TPM2_GetRandom, whose answer would cross the bus in clear. */
	if (RAND_priv_bytes(secret, sizeof(secret)) != 1 ||
	    (user_pin == NULL &&
	     RAND_priv_bytes(user_auth, sizeof(user_auth)) != 1)) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	if (user_pin != NULL) {
		rv = token_derive(&tmp, user_pin, strlen(user_pin), user_auth);
		if (rv != CKR_OK)
			goto out;
	} else {
		rec.flags |= TOKEN_REC_USER_PIN_UNSET;
	}
	/* Plan the PIN indices, record the plan (a pending row), make
	 * them, then mark the token complete: a creation cut short leaves
	 * a row that says which indices to clear up (token_finish_pending),
	 * never an index nobody knows of. */
	pins.tag = rec.pin_salt;
	rec.pending = getpid();
	if ((rv = tpm_token_plan(c->tpm, &pins)) != CKR_OK) {
		snprintf(c->err, sizeof(c->err), "%s", tpm_errmsg(c->tpm));
		goto out;
	}
	token_rec_take_pins(&rec, &pins);
	if ((rc = store_token_add(c->st, &rec)) != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		rv = rc == STORE_EXISTS ? CKR_FUNCTION_FAILED
					: CKR_DEVICE_ERROR;
		goto out;
	}
	for (i = 0;; i++) {
		token_rec_pins(&rec, &pins);
		rv = tpm_token_create(c->tpm, &pins, so_auth, user_auth,
				      secret);
		if (rv != CKR_FUNCTION_REJECTED || i == 3)
			break;
		/* Another store took a planned handle meanwhile. */
		if ((rv = tpm_token_plan(c->tpm, &pins)) != CKR_OK)
			break;
		token_rec_take_pins(&rec, &pins);
		if (store_token_set_pins(c->st, &rec) != STORE_OK) {
			rv = CKR_DEVICE_ERROR;
			break;
		}
	}
	if (rv == CKR_OK &&
	    store_token_set_pending(c->st, rec.id, 0) != STORE_OK) {
		rv = CKR_DEVICE_ERROR;
		token_rec_pins(&rec, &pins);
		T11_IGNORE(tpm_token_remove(
			c->tpm, &pins)); /* undo; the error stands */
	}
	if (rv != CKR_OK) {
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err),
				 "cannot create the "
				 "token in the TPM: %s",
				 tpm_errmsg(c->tpm));
		T11_IGNORE(store_token_delete(
			c->st, rec.id)); /* undo; the error stands */
		goto out;
	}
	if ((rv = core_load(c)) != CKR_OK)
		goto out;
	if (out != NULL)
		*out = core_find_token(c, label);
out:
	secure_zero(so_auth, sizeof(so_auth));
	secure_zero(user_auth, sizeof(user_auth));
	secure_zero(secret, sizeof(secret));
	secure_zero(rnd, sizeof(rnd));
	token_rec_clear(&rec);
	return rv;
}

/* Removes the PIN indices and then the row of a token, marking it pending
 * first: once the indices are gone no copy of the store opens the token's
 * keys any more, and a removal cut short is finished later. */
static CK_RV
token_remove_rec(core *c, const token_rec *r)
{
	tpm_pins p;
	CK_RV rv;
	int rc;

	if (store_token_set_pending(c->st, r->id, getpid()) != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		return CKR_DEVICE_ERROR;
	}
	token_rec_pins(r, &p);
	rv = tpm_token_remove(c->tpm, &p);
	tpm_idle(c->tpm);
	if (rv != CKR_OK) {
		snprintf(c->err, sizeof(c->err),
			 "cannot remove the PIN "
			 "indices of token \"%s\" from the TPM: %s",
			 r->label, tpm_errmsg(c->tpm));
		T11_IGNORE(store_token_set_pending(c->st, r->id, 0)); /* undo */
		return rv;
	}
	rc = store_token_delete(c->st, r->id);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		return CKR_DEVICE_ERROR;
	}
	return CKR_OK;
}

int
token_finish_pending(core *c)
{
	token_rec *recs = NULL;
	size_t n = 0, i;
	int done = 0;

	if (c->st == NULL || c->tpm == NULL ||
	    store_tokens(c->st, &recs, &n) != STORE_OK)
		return 0;
	for (i = 0; i < n; i++) {
		pid_t pid = (pid_t)recs[i].pending;

		/* Still at work (or a process we may not signal: alive). */
		if (pid == 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (token_remove_rec(c, &recs[i]) == CKR_OK) {
			log_debug(
				"token: cleared up \"%s\", left unfinished by "
				"process %d",
				recs[i].label, (int)pid);
			done++;
		}
	}
	store_tokens_free(recs, n);
	if (done)
		core_load(c);
	return done;
}

CK_RV
token_delete(core *c, token *t)
{
	CK_RV rv;

	if ((rv = core_tpm(c)) != CKR_OK ||
	    (rv = token_remove_rec(c, &t->rec)) != CKR_OK)
		return rv;
	return core_load(c);
}

static void
token_unload_keys(core *c, token *t)
{
	size_t i;

	for (i = 0; i < t->nobjs; i++)
		tpm_key_unload(c->tpm, &t->objs[i]->key);
}

/* The authValue of PIN pin; which names the PIN in errors. A PIN of the
 * wrong length is simply incorrect (PKCS#11). */
static CK_RV
pin_auth(core *c, token *t, const char *which, const char *pin, size_t pin_len,
	 uint8_t auth[TPM_AUTH_LEN])
{
	CK_RV rv;

	if ((rv = pin_check_len(pin_len)) != CKR_OK) {
		pin_error(c, t, rv, which);
		return CKR_PIN_INCORRECT;
	}
	return token_derive(t, pin, pin_len, auth);
}

static CK_RV
token_secrets_get(token *t)
{
	if (t->sec == NULL && (t->sec = secure_alloc(sizeof(*t->sec))) == NULL)
		return CKR_HOST_MEMORY;
	return CKR_OK;
}

static void
token_secrets_drop(token *t)
{
	secure_release(t->sec, sizeof(*t->sec));
	t->sec = NULL;
}

CK_RV
token_login(core *c, token *t, CK_USER_TYPE who, const char *pin,
	    size_t pin_len)
{
	const char *which = who == CKU_SO ? "SO PIN" : "user PIN";
	tpm_pins p = token_pins(t);
	const tpm_nv *nv = who == CKU_SO ? &p.so : &p.user;
	uint8_t auth[TPM_AUTH_LEN], one;
	CK_RV rv;

	c->err[0] = '\0';
	if ((rv = pin_auth(c, t, which, pin, pin_len, auth)) != CKR_OK)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK ||
	    (rv = token_secrets_get(t)) != CKR_OK)
		goto out;
	/* The TPM checks the PIN (TPM2_NV_Read with its authValue, proven
	 * through the salted session) and, for the user, hands out the
	 * token secret encrypted: one command. */
	rv = TOKEN_AGAIN(c, who == CKU_SO
				    ? tpm_pin_read(c->tpm, nv, auth, &one, 1)
				    : tpm_pin_read(c->tpm, nv, auth,
						   t->sec->secret,
						   TPM_SECRET_LEN));
	tpm_idle(c->tpm);
	if (rv != CKR_OK) {
		token_secrets_drop(t);
		pin_error(c, t, rv, which);
		goto out;
	}
	if (who == CKU_SO)
		memcpy(t->sec->so_auth, auth, TPM_AUTH_LEN);
	t->login = who;
	t->lockout.counter = 0;
	t->lockout.in_lockout = false;
out:
	secure_zero(auth, sizeof(auth));
	return rv;
}

void
token_logout(core *c, token *t)
{
	t->login = TOKEN_NOBODY;
	/* Every key goes (the PIN-protected ones with their authValues);
	 * those usable without login come back when used. */
	token_unload_keys(c, t);
	token_secrets_drop(t);
	if (c->tpm != NULL)
		tpm_idle(c->tpm);
}

CK_RV
token_change_pin(core *c, token *t, CK_USER_TYPE who, const char *old_pin,
		 size_t old_len, const char *new_pin, size_t new_len)
{
	const char *which = who == CKU_SO ? "SO PIN" : "user PIN";
	uint8_t old_auth[TPM_AUTH_LEN], new_auth[TPM_AUTH_LEN];
	tpm_pins p = token_pins(t);
	CK_RV rv;

	c->err[0] = '\0';
	if ((rv = pin_check_len(new_len)) != CKR_OK) {
		pin_error(c, t, rv, "new PIN");
		return rv;
	}
	if ((rv = pin_auth(c, t, which, old_pin, old_len, old_auth)) !=
		    CKR_OK ||
	    (rv = token_derive(t, new_pin, new_len, new_auth)) != CKR_OK ||
	    (rv = core_tpm(c)) != CKR_OK)
		goto out;
	/* TPM2_NV_ChangeAuth in place: from now on the old PIN opens
	 * nothing, with this store or any copy of it. Atomic in the TPM:
	 * the old PIN or the new one works, never neither. */
	rv = tpm_pin_change(c->tpm, &p, who == CKU_SO, old_auth, new_auth);
	pin_error(c, t, rv, which);
	/* A logged-in SO keeps working with the new PIN; the user's keys
	 * stay usable (the token secret did not change). */
	if (rv == CKR_OK && who == CKU_SO && t->login == CKU_SO && t->sec)
		memcpy(t->sec->so_auth, new_auth, TPM_AUTH_LEN);
out:
	secure_zero(old_auth, sizeof(old_auth));
	secure_zero(new_auth, sizeof(new_auth));
	if (c->tpm)
		tpm_idle(c->tpm);
	return rv;
}

CK_RV
token_init_pin(core *c, token *t, const char *so_pin, size_t so_len,
	       const char *new_pin, size_t new_len)
{
	uint8_t so_auth[TPM_AUTH_LEN], new_auth[TPM_AUTH_LEN];
	tpm_pins p = token_pins(t);
	CK_RV rv;

	c->err[0] = '\0';
	if ((rv = pin_check_len(new_len)) != CKR_OK) {
		pin_error(c, t, rv, "user PIN");
		return rv;
	}
	if (so_pin != NULL) {
		if ((rv = pin_auth(c, t, "SO PIN", so_pin, so_len, so_auth)) !=
		    CKR_OK)
			goto out;
	} else if (t->login == CKU_SO && t->sec != NULL) {
		memcpy(so_auth, t->sec->so_auth, TPM_AUTH_LEN);
	} else {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	if ((rv = token_derive(t, new_pin, new_len, new_auth)) != CKR_OK ||
	    (rv = core_tpm(c)) != CKR_OK)
		goto out;
	/* The SO branch of the user index's policy (PolicySecret with the
	 * SO index): the SO never needs the old user PIN, and the old user
	 * PIN stops working everywhere. */
	rv = tpm_pin_reset(c->tpm, &p, so_auth, new_auth);
	if (rv == CKR_OK && (t->rec.flags & TOKEN_REC_USER_PIN_UNSET) &&
	    store_token_clear_flags(c->st, t->rec.id,
				    TOKEN_REC_USER_PIN_UNSET) != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		rv = CKR_DEVICE_ERROR;
	}
	pin_error(c, t, rv, "SO PIN");
	if (rv == CKR_OK)
		rv = core_load(c);
out:
	secure_zero(so_auth, sizeof(so_auth));
	secure_zero(new_auth, sizeof(new_auth));
	if (c->tpm)
		tpm_idle(c->tpm);
	return rv;
}

/* --- keys ------------------------------------------------------------------- */

const char *
tpm_key_type_name(tpm_key_type t)
{
	switch (t) {
	case TPM_KEY_ECC_P256:
		return "ecc256";
	case TPM_KEY_ECC_P384:
		return "ecc384";
	case TPM_KEY_RSA_2048:
		return "rsa2048";
	case TPM_KEY_RSA_3072:
		return "rsa3072";
	default:
		return "unknown";
	}
}

tpm_key_type
tpm_key_type_parse(const char *s)
{
	if (strcmp(s, "ecc256") == 0 || strcmp(s, "ecc") == 0)
		return TPM_KEY_ECC_P256;
	if (strcmp(s, "ecc384") == 0)
		return TPM_KEY_ECC_P384;
	if (strcmp(s, "rsa2048") == 0 || strcmp(s, "rsa") == 0)
		return TPM_KEY_RSA_2048;
	if (strcmp(s, "rsa3072") == 0)
		return TPM_KEY_RSA_3072;
	return TPM_KEY_NONE;
}

/* Attributes common to both halves, and the public-key material. */
static int
key_attrs_common(attr_list *l, const tpm_pubkey *pk, const char *label,
		 const uint8_t *id, size_t id_len)
{
	uint8_t buf[600];
	size_t len;
	int r = 0;
	bool ec = pk->type == TPM_KEY_ECC_P256 || pk->type == TPM_KEY_ECC_P384;

	r |= attr_set_ulong(l, CKA_KEY_TYPE, ec ? CKK_EC : CKK_RSA);
	r |= attr_set_bool(l, CKA_TOKEN, true);
	r |= attr_set_bool(l, CKA_MODIFIABLE, true);
	r |= attr_set_bool(l, CKA_COPYABLE, false);
	r |= attr_set_bool(l, CKA_DESTROYABLE, true);
	r |= attr_set_str(l, CKA_LABEL, label);
	r |= attr_set(l, CKA_ID, id, id_len);
	r |= attr_set_bool(l, CKA_LOCAL, true);
	r |= attr_set_ulong(l, CKA_KEY_GEN_MECHANISM,
			    ec ? CKM_EC_KEY_PAIR_GEN
			       : CKM_RSA_PKCS_KEY_PAIR_GEN);
	r |= attr_set(l, CKA_START_DATE, NULL, 0);
	r |= attr_set(l, CKA_END_DATE, NULL, 0);
	r |= attr_set(l, CKA_SUBJECT, NULL, 0);
	r |= attr_set_bool(l, CKA_DERIVE, false);
	if (ec) {
		if (ec_params_der(pk->curve, buf, sizeof(buf), &len) != 0)
			return -1;
		r |= attr_set(l, CKA_EC_PARAMS, buf, len);
		if (ec_point_der(pk->curve, pk->x, ec_field_len(pk->curve),
				 pk->y, ec_field_len(pk->curve), buf,
				 sizeof(buf), &len) != 0)
			return -1;
		r |= attr_set(l, CKA_EC_POINT, buf, len);
	} else {
		uint8_t e[4] = {pk->exponent >> 24, pk->exponent >> 16,
				pk->exponent >> 8, pk->exponent};
		size_t skip = 0;

		while (skip < 3 && e[skip] == 0)
			skip++;
		r |= attr_set(l, CKA_MODULUS, pk->n, pk->n_len);
		r |= attr_set(l, CKA_PUBLIC_EXPONENT, e + skip, 4 - skip);
		r |= attr_set_ulong(l, CKA_MODULUS_BITS, pk->bits);
	}
	return r ? -1 : 0;
}

static int
key_attrs_build(const tpm_pubkey *pk, const char *label, const uint8_t *id,
		size_t id_len, bool no_login, attr_list *pub, attr_list *priv)
{
	int r = 0;
	bool rsa = pk->type == TPM_KEY_RSA_2048 || pk->type == TPM_KEY_RSA_3072;

	r |= attr_set_ulong(pub, CKA_CLASS, CKO_PUBLIC_KEY);
	r |= key_attrs_common(pub, pk, label, id, id_len);
	r |= attr_set_bool(pub, CKA_PRIVATE, false);
	r |= attr_set_bool(pub, CKA_VERIFY, true);
	r |= attr_set_bool(pub, CKA_VERIFY_RECOVER, false);
	r |= attr_set_bool(pub, CKA_ENCRYPT, false);
	r |= attr_set_bool(pub, CKA_WRAP, false);
	r |= attr_set_bool(pub, CKA_TRUSTED, false);

	r |= attr_set_ulong(priv, CKA_CLASS, CKO_PRIVATE_KEY);
	r |= key_attrs_common(priv, pk, label, id, id_len);
	r |= attr_set_bool(priv, CKA_PRIVATE, !no_login);
	r |= attr_set_bool(priv, CKA_SENSITIVE, true);
	r |= attr_set_bool(priv, CKA_ALWAYS_SENSITIVE, true);
	r |= attr_set_bool(priv, CKA_EXTRACTABLE, false);
	r |= attr_set_bool(priv, CKA_NEVER_EXTRACTABLE, true);
	r |= attr_set_bool(priv, CKA_SIGN, true);
	r |= attr_set_bool(priv, CKA_SIGN_RECOVER, false);
	r |= attr_set_bool(priv, CKA_DECRYPT, false);
	r |= attr_set_bool(priv, CKA_UNWRAP, false);
	r |= attr_set_bool(priv, CKA_WRAP_WITH_TRUSTED, false);
	r |= attr_set_bool(priv, CKA_ALWAYS_AUTHENTICATE, false);
	(void)rsa;
	return r ? -1 : 0;
}

/* Default CKA_ID: the first 20 bytes of SHA-256 over the public point
 * (04||X||Y) or the modulus: stable, and the same on every object of the
 * key (private, public, certificate). */
static int
key_default_id(const tpm_pubkey *pk, uint8_t id[20])
{
	uint8_t buf[1 + 2 * EC_MAX_FIELD_LEN];
	size_t fl;
	uint8_t full[32];

	if (pk->type == TPM_KEY_RSA_2048 || pk->type == TPM_KEY_RSA_3072) {
		if (hash_digest(HASH_SHA256, pk->n, pk->n_len, full) != 0)
			return -1;
	} else {
		fl = ec_field_len(pk->curve);
		buf[0] = 0x04;
		memcpy(buf + 1, pk->x, fl);
		memcpy(buf + 1 + fl, pk->y, fl);
		if (hash_digest(HASH_SHA256, buf, 1 + 2 * fl, full) != 0)
			return -1;
	}
	memcpy(id, full, 20);
	return 0;
}

static int
attrs_apply(attr_list *dst, const attr_list *extra)
{
	size_t i;

	if (extra == NULL)
		return 0;
	for (i = 0; i < extra->n; i++)
		if (attr_set(dst, extra->v[i].type, extra->v[i].pValue,
			     extra->v[i].ulValueLen) != 0)
			return -1;
	return 0;
}

/* Stores a key pair's two records, both in one transaction (never one
 * without the other), then clears them. */
static CK_RV
key_pair_store(core *c, object_rec *recs, int64_t *pub_id, int64_t *priv_id)
{
	CK_RV rv;
	int rc;

	if ((rc = store_objects_add(c->st, recs, 2)) != STORE_OK) {
		rv = store_failed(c, rc);
	} else {
		if (pub_id)
			*pub_id = recs[0].id;
		if (priv_id)
			*priv_id = recs[1].id;
		rv = core_load(c);
	}
	object_rec_clear(&recs[0]);
	object_rec_clear(&recs[1]);
	return rv;
}

CK_RV
token_generate_key(core *c, token *t, tpm_key_type type, const char *label,
		   const uint8_t *id, size_t id_len, unsigned flags,
		   const attr_list *extra_pub, const attr_list *extra_priv,
		   int64_t *pub_id, int64_t *priv_id)
{
	object_rec recs[2];
	CK_RV rv;

	rv = token_generate_key_recs(c, t, type, label, id, id_len, flags,
				     extra_pub, extra_priv, recs);
	if (rv != CKR_OK)
		return rv;
	return key_pair_store(c, recs, pub_id, priv_id);
}

/* A new key's authValue: for a PIN-protected key (the user logged in)
 * a fresh nonce goes into attrs and the authValue derives from it and the
 * token secret; a key usable without login has none (auth_len 0). */
static CK_RV
key_auth_new(core *c, token *t, bool needs_pin, attr_list *attrs,
	     uint8_t auth[TPM_AUTH_LEN], size_t *auth_len)
{
	uint8_t nonce[TPM11_NONCE_LEN];

	*auth_len = 0;
	if (!needs_pin) {
		attr_remove(attrs, CKA_TPM11_AUTH_NONCE);
		return CKR_OK;
	}
	if (t->login != CKU_USER || t->sec == NULL) {
		snprintf(c->err, sizeof(c->err), "log in as user first");
		return CKR_USER_NOT_LOGGED_IN;
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    attr_set(attrs, CKA_TPM11_AUTH_NONCE, nonce, sizeof(nonce)) != 0)
		return CKR_GENERAL_ERROR;
	if (key_auth_derive(t, nonce, sizeof(nonce), auth) != 0)
		return CKR_GENERAL_ERROR;
	*auth_len = TPM_AUTH_LEN;
	return CKR_OK;
}

/* An imported key's test signature, before anything is stored: loads
 * the new blobs, signs random data and verifies it with the public key
 * given (the file's), then flushes the key. Proves that the TPM holds
 * the private part that belongs to that public key. */
static CK_RV
key_import_check(core *c, const tpm_privkey *imp, const blob *pub,
		 const blob *priv, const uint8_t *auth, size_t auth_len)
{
	const tpm_pubkey *pk = &imp->pub;
	tpm_key k;
	uint8_t in[512], sig[512];
	size_t siglen = sizeof(sig);
	pkey *vk = NULL;
	CK_RV rv;
	int ok = 0;

	memset(&k, 0, sizeof(k));
	k.pub = *pub; /* borrowed: tpm_key_unload frees no blob */
	k.priv = *priv;
	tpm_key_set_auth(&k, auth, auth_len);
	if (pk->type == TPM_KEY_ECC_P256 || pk->type == TPM_KEY_ECC_P384) {
		if (RAND_bytes(in, 32) != 1) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
		rv = tpm_sign_ecdsa(c->tpm, &k, pk->curve, in, 32, sig,
				    &siglen);
		if (rv == CKR_OK &&
		    (vk = pkey_ec(pk->curve, pk->x, pk->y)) != NULL)
			ok = pkey_verify_ecdsa(vk, pk->curve, in, 32, sig,
					       siglen);
	} else {
		uint8_t e[4] = {pk->exponent >> 24, pk->exponent >> 16,
				pk->exponent >> 8, pk->exponent};

		/* a block below the modulus: its first byte zero */
		if (pk->n_len > sizeof(in) || RAND_bytes(in, pk->n_len) != 1) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
		in[0] = 0;
		rv = tpm_rsa_raw(c->tpm, &k, in, pk->n_len, false, sig,
				 &siglen);
		if (rv == CKR_OK &&
		    (vk = pkey_rsa(pk->n, pk->n_len, e, sizeof(e))) != NULL)
			ok = pkey_verify_rsa_raw(vk, in, pk->n_len, sig,
						 siglen);
	}
	if (rv != CKR_OK)
		snprintf(c->err, sizeof(c->err),
			 "the imported key does not "
			 "sign: %s",
			 tpm_errmsg(c->tpm));
	else if (ok != 1) {
		snprintf(c->err, sizeof(c->err),
			 "the imported key's signature "
			 "does not verify with its public key (the file's "
			 "private and public parts do not match)");
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	}
out:
	pkey_free(vk);
	tpm_key_unload(c->tpm, &k);
	return rv;
}

static CK_RV key_pair_recs(core *c, token *t, tpm_key_type type,
			   const tpm_privkey *imp, const char *label,
			   const uint8_t *id, size_t id_len, unsigned flags,
			   const attr_list *extra_pub,
			   const attr_list *extra_priv, object_rec *recs);

CK_RV
token_generate_key_recs(core *c, token *t, tpm_key_type type, const char *label,
			const uint8_t *id, size_t id_len, unsigned flags,
			const attr_list *extra_pub, const attr_list *extra_priv,
			object_rec *recs)
{
	return key_pair_recs(c, t, type, NULL, label, id, id_len, flags,
			     extra_pub, extra_priv, recs);
}

/* Whether a and b are the same public key. */
static bool
pubkey_same(const tpm_pubkey *a, const tpm_pubkey *b)
{
	size_t fl = ec_field_len(a->curve);

	if (a->type != b->type)
		return false;
	if (a->type == TPM_KEY_RSA_2048 || a->type == TPM_KEY_RSA_3072)
		return a->n_len == b->n_len &&
		       memcmp(a->n, b->n, a->n_len) == 0;
	return a->curve == b->curve && memcmp(a->x, b->x, fl) == 0 &&
	       memcmp(a->y, b->y, fl) == 0;
}

void
token_privkey_tpm(const privkey *k, tpm_privkey *out)
{
	size_t fl;

	memset(out, 0, sizeof(*out));
	if (k->kind == PRIVKEY_EC) {
		fl = ec_field_len(k->curve);
		out->pub.type = k->curve == CURVE_P256 ? TPM_KEY_ECC_P256
						       : TPM_KEY_ECC_P384;
		out->pub.curve = k->curve;
		memcpy(out->pub.x, k->x, fl);
		memcpy(out->pub.y, k->y, fl);
		memcpy(out->priv, k->d, fl);
		out->priv_len = fl;
		return;
	}
	out->pub.type = k->n_len == 256 ? TPM_KEY_RSA_2048 : TPM_KEY_RSA_3072;
	memcpy(out->pub.n, k->n, k->n_len);
	out->pub.n_len = k->n_len;
	out->pub.bits = (unsigned)k->n_len * 8;
	out->pub.exponent = k->e;
	memcpy(out->priv, k->p, k->n_len / 2);
	out->priv_len = k->n_len / 2;
}

/* The caller's extra attributes (may be NULL) and what PKCS#11 v2.40 4.9
 * says of a key that was known outside the token: not local, and no
 * mechanism generated it (the private half's CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE false come with key_pair_recs). */
static int
import_extra(const attr_list *user, attr_list *out)
{
	attr_list_init(out);
	if ((user != NULL && attrs_apply(out, user) != 0) ||
	    attr_set_bool(out, CKA_LOCAL, false) != 0 ||
	    attr_set_ulong(out, CKA_KEY_GEN_MECHANISM,
			   CK_UNAVAILABLE_INFORMATION) != 0) {
		attr_list_clear(out);
		return -1;
	}
	return 0;
}

CK_RV
token_import_key_recs(core *c, token *t, const tpm_privkey *k,
		      const char *label, const uint8_t *id, size_t id_len,
		      unsigned flags, const attr_list *extra_pub,
		      const attr_list *extra_priv, object_rec *recs)
{
	attr_list xpub, xpriv;
	size_t i;
	CK_RV rv;

	memset(recs, 0, 2 * sizeof(*recs));
	/* A key imported twice would be two objects for one key. */
	for (i = 0; i < t->nobjs; i++) {
		if (t->objs[i]->cls == CKO_PRIVATE_KEY &&
		    pubkey_same(&t->objs[i]->pub, &k->pub)) {
			char *l = attr_dup_str(&t->objs[i]->attrs, CKA_LABEL);

			snprintf(c->err, sizeof(c->err),
				 "the token already "
				 "holds this key (labelled \"%s\")",
				 l ? l : "");
			free(l);
			return CKR_ATTRIBUTE_VALUE_INVALID;
		}
	}
	if (import_extra(extra_pub, &xpub) != 0)
		return CKR_HOST_MEMORY;
	if (import_extra(extra_priv, &xpriv) != 0) {
		attr_list_clear(&xpub);
		return CKR_HOST_MEMORY;
	}
	rv = key_pair_recs(c, t, k->pub.type, k, label, id, id_len, flags,
			   &xpub, &xpriv, recs);
	attr_list_clear(&xpub);
	attr_list_clear(&xpriv);
	return rv;
}

CK_RV
token_import_key(core *c, token *t, const tpm_privkey *k, const char *label,
		 const uint8_t *id, size_t id_len, unsigned flags,
		 const attr_list *extra_pub, const attr_list *extra_priv,
		 int64_t *priv_id)
{
	object_rec recs[2];
	CK_RV rv;

	rv = token_import_key_recs(c, t, k, label, id, id_len, flags, extra_pub,
				   extra_priv, recs);
	if (rv != CKR_OK)
		return rv;
	return key_pair_store(c, recs, NULL, priv_id);
}

static CK_RV
key_pair_recs(core *c, token *t, tpm_key_type type, const tpm_privkey *imp,
	      const char *label, const uint8_t *id, size_t id_len,
	      unsigned flags, const attr_list *extra_pub,
	      const attr_list *extra_priv, object_rec *recs)
{
	bool no_login = (flags & TOKEN_KEY_NO_LOGIN) != 0;
	tpm_pubkey pk;
	uint8_t defid[20], auth[TPM_AUTH_LEN];
	size_t auth_len;
	char deflabel[48];
	attr_list nonce;
	const CK_ATTRIBUTE *pa;
	tpm_pcr_sel pcrs = {0};
	blob pcr_values = {0}, pcr_attr = {0}, signer = {0};
	CK_RV rv;
	int i;

	memset(recs, 0, 2 * sizeof(*recs));
	attr_list_init(&nonce);
	c->err[0] = '\0';
	if ((rv = key_auth_new(c, t, !no_login, &nonce, auth, &auth_len)) !=
	    CKR_OK)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK ||
	    (rv = core_tpm_offers(c, type)) != CKR_OK)
		goto out;
	/* A PCR binding asked for: the selection, without values. */
	if (extra_priv != NULL &&
	    (pa = attr_find(extra_priv, CKA_TPM11_PCRS)) != NULL &&
	    (tpm_pcr_decode(pa->pValue, pa->ulValueLen, &pcrs, NULL) != 0 ||
	     pa->ulValueLen != 6)) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	if (extra_priv != NULL &&
	    (pa = attr_find(extra_priv, CKA_TPM11_PCR_SIGNER)) != NULL) {
		uint8_t xy[64];

		signer.data = pa->pValue;
		signer.len = pa->ulValueLen;
		if (pcrs.mask != 0 || tpm_signer_xy(&signer, xy) != 0) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto out;
		}
	}
	if (imp != NULL) {
		/* an imported key is not bound to PCRs (import has no such
		 * option) */
		rv = TOKEN_AGAIN(c, tpm_key_import_private(c->tpm, imp, auth,
							   auth_len,
							   &recs[1].tpm_pub,
							   &recs[1].tpm_priv));
		if (rv != CKR_OK) {
			snprintf(c->err, sizeof(c->err),
				 "the TPM refused the "
				 "key: %s",
				 tpm_errmsg(c->tpm));
			goto out;
		}
		if ((rv = key_import_check(c, imp, &recs[1].tpm_pub,
					   &recs[1].tpm_priv, auth,
					   auth_len)) != CKR_OK)
			goto out;
	} else {
		rv = TOKEN_AGAIN(
			c,
			tpm_key_create(
				c->tpm, type,
				flags & TOKEN_KEY_DERIVE ? TPM_KEYGEN_DERIVE
							 : 0,
				auth, auth_len, &pcrs, &pcr_values, &signer,
				&recs[1].tpm_pub, &recs[1].tpm_priv,
				&recs[1].creation_data, &recs[1].creation_hash,
				&recs[1].creation_ticket));
		if (rv != CKR_OK) {
			snprintf(c->err, sizeof(c->err),
				 "cannot create the key in "
				 "the TPM: %s",
				 tpm_errmsg(c->tpm));
			goto out;
		}
	}
	if (tpm_pub_parse(&recs[1].tpm_pub, &pk) != 0) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	if (id == NULL || id_len == 0) {
		if (key_default_id(&pk, defid) != 0) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
		id = defid;
		id_len = sizeof(defid);
	}
	if (label == NULL || *label == '\0') {
		for (i = 0; i < 4 && (size_t)i < id_len; i++)
			snprintf(deflabel + 2 * i, 3, "%02x", id[i]);
		label = deflabel;
	}
	for (i = 0; i < 2; i++) {
		recs[i].token_id = t->rec.id;
		attr_list_init(&recs[i].attrs);
	}
	if (key_attrs_build(&pk, label, id, id_len, no_login, &recs[0].attrs,
			    &recs[1].attrs) != 0 ||
	    (imp != NULL &&
	     (attr_set_bool(&recs[1].attrs, CKA_ALWAYS_SENSITIVE, false) != 0 ||
	      attr_set_bool(&recs[1].attrs, CKA_NEVER_EXTRACTABLE, false) !=
		      0)) ||
	    attrs_apply(&recs[0].attrs, extra_pub) != 0 ||
	    attrs_apply(&recs[1].attrs, extra_priv) != 0 ||
	    attrs_apply(&recs[1].attrs, &nonce) != 0) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (pcrs.mask != 0 &&
	    (tpm_pcr_encode(&pcrs, &pcr_values, &pcr_attr) != 0 ||
	     attr_set(&recs[1].attrs, CKA_TPM11_PCRS, pcr_attr.data,
		      pcr_attr.len) != 0)) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
out:
	blob_free(&pcr_values);
	blob_free(&pcr_attr);
	if (c->tpm != NULL)
		tpm_idle(c->tpm);
	secure_zero(auth, sizeof(auth));
	attr_list_clear(&nonce);
	if (rv != CKR_OK) {
		object_rec_clear(&recs[0]);
		object_rec_clear(&recs[1]);
	}
	return rv;
}

CK_RV
token_replace_objects(core *c, token *t, attr_list *objs, size_t n,
		      const int64_t *old, size_t nold, int64_t *ids)
{
	object_rec *recs;
	size_t i;
	CK_RV rv = CKR_OK;
	int rc;

	if ((recs = calloc(n ? n : 1, sizeof(*recs))) == NULL)
		return CKR_HOST_MEMORY;
	for (i = 0; i < n; i++) {
		recs[i].token_id = t->rec.id;
		recs[i].attrs = objs[i]; /* borrowed, not freed here */
	}
	for (i = 0; i < nold; i++) {
		token_obj *o = token_find_obj(t, old[i]);

		if (o != NULL)
			tpm_key_unload(c->tpm, &o->key);
	}
	if ((rc = store_objects_replace(c->st, recs, n, old, nold)) !=
	    STORE_OK) {
		rv = store_failed(c, rc);
	} else if (ids != NULL) {
		for (i = 0; i < n; i++)
			ids[i] = recs[i].id;
	}
	free(recs);
	if (rv == CKR_OK)
		rv = core_load(c);
	return rv;
}

CK_RV
token_add_objects(core *c, token *t, attr_list *objs, size_t n, int64_t *ids)
{
	return token_replace_objects(c, t, objs, n, NULL, 0, ids);
}

CK_RV
token_destroy_objects(core *c, token *t, const int64_t *ids, size_t n)
{
	return token_replace_objects(c, t, NULL, 0, ids, n, NULL);
}

int
token_obj_creation(core *c, token *t, const token_obj *o, blob *cdata,
		   blob *chash, blob *ctk)
{
	object_rec *recs = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (store_objects(c->st, t->rec.id, &recs, &n) != STORE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		if (recs[i].id != o->id || recs[i].creation_data.data == NULL ||
		    recs[i].creation_hash.data == NULL ||
		    recs[i].creation_ticket.data == NULL)
			continue;
		/* TPM2B_CREATION_DATA: keep the TPMS_CREATION_DATA that the
		 * creation hash covers (Part 3, 12.1). */
		if (recs[i].creation_data.len < 2 ||
		    blob_set(cdata, recs[i].creation_data.data + 2,
			     recs[i].creation_data.len - 2) != 0 ||
		    blob_set(chash, recs[i].creation_hash.data,
			     recs[i].creation_hash.len) != 0 ||
		    blob_set(ctk, recs[i].creation_ticket.data,
			     recs[i].creation_ticket.len) != 0)
			rc = -1;
		else
			rc = 0;
		break;
	}
	store_objects_free(recs, n);
	return rc;
}

/* --- attestation keys (not token objects) ---------------------------------- */

int
core_ak_get(core *c, const char *name, ak_rec *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->st == NULL)
		return 1;
	rc = store_ak_get(c->st, name, out);
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_NOTFOUND)
		return 1;
	snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
	return -1;
}

CK_RV
core_ak_put(core *c, const ak_rec *r)
{
	int rc;

	if (c->st == NULL)
		return CKR_TOKEN_NOT_PRESENT;
	if ((rc = store_ak_put(c->st, r)) != STORE_OK)
		return store_failed(c, rc);
	return CKR_OK;
}

CK_RV
core_ak_names(core *c, char ***names, size_t *n)
{
	int rc;

	*names = NULL;
	*n = 0;
	if (c->st == NULL)
		return CKR_OK;
	if ((rc = store_ak_names(c->st, names, n)) != STORE_OK)
		return store_failed(c, rc);
	return CKR_OK;
}

void
core_ak_names_free(char **names, size_t n)
{
	store_ak_names_free(names, n);
}

const char *
core_store_error(core *c)
{
	return c->st ? store_errmsg(c->st) : "no store open";
}

/* --- signed PCR policies ----------------------------------------------------- */

static const char pcrpol_magic[] = "TPM11PCRPOL1\n";
#define PCRPOL_MAGIC_LEN (sizeof(pcrpol_magic) - 1)

int
token_pcr_policy_encode(const tpm_pcr_policy *p, blob *out)
{
	blob sel = {0};
	uint8_t *b;
	size_t n;
	int i;

	if (tpm_pcr_encode(&p->sel, &p->values, &sel) != 0)
		return -1;
	n = PCRPOL_MAGIC_LEN + 8 + 2 + sel.len + 64;
	if ((b = malloc(n)) == NULL) {
		blob_free(&sel);
		return -1;
	}
	memcpy(b, pcrpol_magic, PCRPOL_MAGIC_LEN);
	for (i = 0; i < 8; i++)
		b[PCRPOL_MAGIC_LEN + i] = (uint8_t)(p->created >> (56 - 8 * i));
	b[PCRPOL_MAGIC_LEN + 8] = (uint8_t)(sel.len >> 8);
	b[PCRPOL_MAGIC_LEN + 9] = (uint8_t)sel.len;
	memcpy(b + PCRPOL_MAGIC_LEN + 10, sel.data, sel.len);
	memcpy(b + PCRPOL_MAGIC_LEN + 10 + sel.len, p->sig, 64);
	blob_free(&sel);
	out->data = b;
	out->len = n;
	return 0;
}

int
token_pcr_policy_decode(const uint8_t *in, size_t len, tpm_pcr_policy *p)
{
	size_t sl;
	int i;

	memset(p, 0, sizeof(*p));
	if (len < PCRPOL_MAGIC_LEN + 10 + 64 ||
	    memcmp(in, pcrpol_magic, PCRPOL_MAGIC_LEN) != 0)
		return -1;
	for (i = 0; i < 8; i++)
		p->created = p->created << 8 | in[PCRPOL_MAGIC_LEN + i];
	sl = (size_t)in[PCRPOL_MAGIC_LEN + 8] << 8 | in[PCRPOL_MAGIC_LEN + 9];
	if (len != PCRPOL_MAGIC_LEN + 10 + sl + 64 ||
	    tpm_pcr_decode(in + PCRPOL_MAGIC_LEN + 10, sl, &p->sel,
			   &p->values) != 0 ||
	    p->values.len == 0) {
		blob_free(&p->values);
		return -1;
	}
	memcpy(p->sig, in + PCRPOL_MAGIC_LEN + 10 + sl, 64);
	return 0;
}

char *
token_pcr_policy_dir(const char *store_dir)
{
	const char *env = getenv("TPM11_PCR_POLICIES");
	char *d;

	if (env != NULL && *env != '\0')
		return strdup(env);
	if (store_dir == NULL ||
	    (d = malloc(strlen(store_dir) + sizeof("/pcr-policies"))) == NULL)
		return NULL;
	sprintf(d, "%s/pcr-policies", store_dir);
	return d;
}

static int
policy_newer_first(const void *a, const void *b)
{
	const tpm_pcr_policy *x = a, *y = b;

	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

/* The signed policies for a signer-bound key: every *.pcrpol file of the
 * policy directory that parses and whose signature the key's signer made
 * (checked here, so that another signer's files are not even tried), the
 * newest first. */
static void
key_load_policies(core *c, tpm_key *k)
{
	char *dir = token_pcr_policy_dir(c->store_dir), path[4096];
	tpm_pcr_policy *v = NULL, *nv, p;
	size_t n = 0, len;
	uint8_t xy[64], h[32], buf[1024];
	struct dirent *e;
	pkey *pk = NULL;
	DIR *d;
	FILE *f;

	if (dir == NULL || tpm_signer_xy(&k->signer, xy) != 0 ||
	    (pk = pkey_ec(CURVE_P256, xy, xy + 32)) == NULL ||
	    (d = opendir(dir)) == NULL) {
		pkey_free(pk);
		free(dir);
		tpm_key_set_policies(k, NULL, 0);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);

		if (nl < 7 || strcmp(e->d_name + nl - 7, ".pcrpol") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (token_pcr_policy_decode(buf, len, &p) != 0)
			continue;
		if (tpm_pcr_policy_hash(&p.sel, &p.values, h) != 0 ||
		    pkey_verify_ecdsa(pk, CURVE_P256, h, 32, p.sig, 64) != 1 ||
		    (nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			log_debug("token: %s: not signed by the key's signer",
				  path);
			blob_free(&p.values);
			continue;
		}
		v = nv;
		v[n++] = p;
	}
	closedir(d);
	pkey_free(pk);
	free(dir);
	if (n > 1)
		qsort(v, n, sizeof(*v), policy_newer_first);
	tpm_key_set_policies(k, v, n);
}

/* --- signing ------------------------------------------------------------- */

CK_RV
token_key_ready(core *c, token *t, token_obj *o)
{
	const CK_ATTRIBUTE *n = attr_find(&o->attrs, CKA_TPM11_AUTH_NONCE);
	uint8_t auth[TPM_AUTH_LEN];
	CK_RV rv;

	if (o->key.pub.data == NULL)
		return CKR_KEY_HANDLE_INVALID;
	if ((o->is_private || n != NULL) && t->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	if ((rv = core_tpm(c)) != CKR_OK)
		return rv;
	if (o->key.signer.len != 0)
		key_load_policies(c, &o->key);
	/* The key's authValue, once per login: from the token secret and
	 * the key's nonce, or empty for a key usable without login. */
	if (n != NULL && o->key.auth_len == 0) {
		if (t->sec == NULL ||
		    key_auth_derive(t, n->pValue, n->ulValueLen, auth) != 0)
			return CKR_USER_NOT_LOGGED_IN;
		tpm_key_unload(c->tpm, &o->key);
		tpm_key_set_auth(&o->key, auth, sizeof(auth));
		secure_zero(auth, sizeof(auth));
	}
	return CKR_OK;
}

/* A key's use failed: a PCR-bound key whose PCRs changed says which
 * (CKR_FUNCTION_FAILED, tpm_errmsg names them), for the tool. */
static void
key_use_failed(core *c, CK_RV rv)
{
	if (rv == CKR_FUNCTION_FAILED && c->tpm != NULL)
		snprintf(c->err, sizeof(c->err), "%s", tpm_errmsg(c->tpm));
}

CK_RV
token_sign_ecdsa(core *c, token *t, token_obj *o, const uint8_t *dig,
		 size_t dlen, uint8_t *sig, size_t *siglen)
{
	CK_RV rv;

	if ((rv = token_key_ready(c, t, o)) != CKR_OK)
		return rv;
	rv = TOKEN_AGAIN(c, tpm_sign_ecdsa(c->tpm, &o->key, o->pub.curve, dig,
					   dlen, sig, siglen));
	key_use_failed(c, rv);
	tpm_idle(c->tpm); /* a first use loaded the key through a session */
	return rv;
}

CK_RV
token_rsa_raw(core *c, token *t, token_obj *o, const uint8_t *in, size_t len,
	      bool secret, uint8_t *out, size_t *outlen)
{
	CK_RV rv;

	if ((rv = token_key_ready(c, t, o)) != CKR_OK)
		return rv;
	rv = TOKEN_AGAIN(
		c, tpm_rsa_raw(c->tpm, &o->key, in, len, secret, out, outlen));
	key_use_failed(c, rv);
	tpm_idle(c->tpm);
	return rv;
}

CK_RV
token_ecdh(core *c, token *t, token_obj *o, const uint8_t *x, const uint8_t *y,
	   uint8_t *z)
{
	CK_RV rv;

	if ((rv = token_key_ready(c, t, o)) != CKR_OK)
		return rv;
	rv = TOKEN_AGAIN(c,
			 tpm_ecdh_zgen(c->tpm, &o->key, o->pub.curve, x, y, z));
	key_use_failed(c, rv);
	tpm_idle(c->tpm);
	return rv;
}

/* Whether a secret key made from attrs needs the PIN: CKA_PRIVATE,
 * default true (v2.40 4.4: the token's default; ours is private). */
static bool
attrs_private(const attr_list *attrs)
{
	return attr_bool_or(attrs, CKA_PRIVATE, true);
}

CK_RV
token_create_secret(core *c, token *t, tpm_key_type type, attr_list *attrs,
		    blob *pub, blob *priv)
{
	uint8_t auth[TPM_AUTH_LEN];
	size_t auth_len;
	CK_RV rv;

	if ((rv = key_auth_new(c, t, attrs_private(attrs), attrs, auth,
			       &auth_len)) != CKR_OK ||
	    (rv = core_tpm(c)) != CKR_OK ||
	    (rv = core_tpm_offers(c, type)) != CKR_OK)
		goto out;
	rv = TOKEN_AGAIN(c, tpm_key_create(c->tpm, type, 0, auth, auth_len,
					   NULL, NULL, NULL, pub, priv, NULL,
					   NULL, NULL));
	tpm_idle(c->tpm);
out:
	secure_zero(auth, sizeof(auth));
	return rv;
}

CK_RV
token_import_secret(core *c, token *t, tpm_key_type type, attr_list *attrs,
		    const uint8_t *value, size_t len, blob *pub, blob *priv)
{
	uint8_t auth[TPM_AUTH_LEN];
	size_t auth_len;
	CK_RV rv;

	if ((rv = key_auth_new(c, t, attrs_private(attrs), attrs, auth,
			       &auth_len)) != CKR_OK ||
	    (rv = core_tpm(c)) != CKR_OK ||
	    (rv = core_tpm_offers(c, type)) != CKR_OK)
		goto out;
	rv = TOKEN_AGAIN(c, tpm_key_import(c->tpm, type, auth, auth_len, value,
					   len, pub, priv));
	tpm_idle(c->tpm);
out:
	secure_zero(auth, sizeof(auth));
	return rv;
}

CK_RV
token_store_key(core *c, token *t, attr_list *attrs, blob *pub, blob *priv,
		int64_t *id)
{
	object_rec rec;
	CK_RV rv = CKR_OK;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.token_id = t->rec.id;
	rec.attrs = *attrs;   /* borrowed */
	rec.tpm_pub = *pub;   /* borrowed */
	rec.tpm_priv = *priv; /* borrowed */
	if ((rc = store_objects_add(c->st, &rec, 1)) != STORE_OK)
		rv = store_failed(c, rc);
	if (rv == CKR_OK) {
		if (id)
			*id = rec.id;
		rv = core_load(c);
	}
	return rv;
}

CK_RV
token_aes(core *c, token *t, token_obj *o, bool decrypt, uint16_t mode,
	  uint8_t iv[16], const uint8_t *in, size_t len, uint8_t *out)
{
	CK_RV rv;

	if ((rv = token_key_ready(c, t, o)) != CKR_OK)
		return rv;
	rv = tpm_aes(c->tpm, &o->key, decrypt, mode, iv, in, len, out);
	tpm_idle(c->tpm);
	return rv;
}

CK_RV
token_hmac(core *c, token *t, token_obj *o, hash_algo alg, const uint8_t *data,
	   size_t len, uint8_t *out)
{
	CK_RV rv;

	if ((rv = token_key_ready(c, t, o)) != CKR_OK)
		return rv;
	rv = TOKEN_AGAIN(c, tpm_hmac(c->tpm, &o->key, alg, data, len, out));
	tpm_idle(c->tpm);
	return rv;
}

char *
token_obj_ssh_line(const token_obj *o)
{
	char *label = attr_dup_str(&o->attrs, CKA_LABEL), *line = NULL;
	const tpm_pubkey *pk = &o->pub;
	uint8_t e[4];

	switch (pk->type) {
	case TPM_KEY_ECC_P256:
	case TPM_KEY_ECC_P384:
		line = ssh_pubkey_line_ec(pk->curve, pk->x, pk->y, label);
		break;
	case TPM_KEY_RSA_2048:
	case TPM_KEY_RSA_3072:
		e[0] = pk->exponent >> 24;
		e[1] = pk->exponent >> 16;
		e[2] = pk->exponent >> 8;
		e[3] = pk->exponent;
		line = ssh_pubkey_line_rsa(pk->n, pk->n_len, e, 4, label);
		break;
	default:
		break;
	}
	free(label);
	return line;
}

/* --- certificate objects ------------------------------------------------- */

CK_RV
token_cert_attrs(attr_list *l)
{
	const CK_ATTRIBUTE *v = attr_find(l, CKA_VALUE);
	x509_cert xc;
	char err[160];
	int r = 0;

	if (v == NULL || v->ulValueLen == 0)
		return CKR_TEMPLATE_INCOMPLETE;
	if (x509_cert_parse(v->pValue, v->ulValueLen, &xc, err, sizeof(err)) !=
	    0)
		return CKR_ATTRIBUTE_VALUE_INVALID;
#define CERT_DEFAULT(type, set)                 \
	do {                                    \
		if (attr_find(l, type) == NULL) \
			r |= (set);             \
	} while (0)
	CERT_DEFAULT(CKA_CERTIFICATE_TYPE,
		     attr_set_ulong(l, CKA_CERTIFICATE_TYPE, CKC_X_509));
	CERT_DEFAULT(CKA_SUBJECT,
		     attr_set(l, CKA_SUBJECT, xc.subject, xc.subject_len));
	CERT_DEFAULT(CKA_ISSUER,
		     attr_set(l, CKA_ISSUER, xc.issuer, xc.issuer_len));
	CERT_DEFAULT(CKA_SERIAL_NUMBER,
		     attr_set(l, CKA_SERIAL_NUMBER, xc.serial, xc.serial_len));
	CERT_DEFAULT(CKA_CHECK_VALUE,
		     attr_set(l, CKA_CHECK_VALUE, xc.check_value, 3));
	CERT_DEFAULT(CKA_START_DATE,
		     attr_set(l, CKA_START_DATE, xc.start_date, 8));
	CERT_DEFAULT(CKA_END_DATE, attr_set(l, CKA_END_DATE, xc.end_date, 8));
	/* 0 unspecified; the tool says 1 (token user) or 2 (authority) */
	CERT_DEFAULT(CKA_CERTIFICATE_CATEGORY,
		     attr_set_ulong(l, CKA_CERTIFICATE_CATEGORY, 0));
	CERT_DEFAULT(CKA_TRUSTED, attr_set_bool(l, CKA_TRUSTED, false));
	CERT_DEFAULT(CKA_URL, attr_set(l, CKA_URL, NULL, 0));
	CERT_DEFAULT(CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
		     attr_set(l, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0));
	CERT_DEFAULT(CKA_HASH_OF_ISSUER_PUBLIC_KEY,
		     attr_set(l, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0));
	CERT_DEFAULT(CKA_JAVA_MIDP_SECURITY_DOMAIN,
		     attr_set_ulong(l, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0));
	CERT_DEFAULT(CKA_NAME_HASH_ALGORITHM,
		     attr_set_ulong(l, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1));
#undef CERT_DEFAULT
	x509_cert_clear(&xc);
	return r ? CKR_HOST_MEMORY : CKR_OK;
}
