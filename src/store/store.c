#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/log.h"
#include "util/secure.h"

/* "tp11" as the database's application_id, so a foreign sqlite file is
 * told apart from a tpm11 store. */
#define STORE_APP_ID 0x74703131

struct store {
	sqlite3 *db;
	bool old;                   /* schema 1, read-only (store_open_old) */
	size_t skipped;             /* store_objects: damaged rows left out */
	sqlite3_stmt *data_version; /* prepared once: asked on many calls */
	char *path;
	char err[512];
};

/* Schema version 2 (version 1 held the first key model's blobs in the
 * tokens table; see store_setup). Each later version appends a migration
 * step below. */
static const char *const schema_v2 =
	"CREATE TABLE meta("
	"  key TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);"
	"CREATE TABLE tokens("
	"  id INTEGER PRIMARY KEY,"
	"  label TEXT NOT NULL UNIQUE,"
	"  serial TEXT NOT NULL UNIQUE,"
	"  manufacturer TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  fw_major INTEGER NOT NULL, fw_minor INTEGER NOT NULL,"
	"  hw_major INTEGER NOT NULL, hw_minor INTEGER NOT NULL,"
	"  pin_salt BLOB NOT NULL,"
	"  user_nv INTEGER NOT NULL, user_nv_name BLOB NOT NULL,"
	"  so_nv INTEGER NOT NULL, so_nv_name BLOB NOT NULL,"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  pending INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE objects("
	"  id INTEGER PRIMARY KEY,"
	"  token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
	"  attrs BLOB NOT NULL,"
	"  tpm_pub BLOB, tpm_priv BLOB,"
	"  creation_data BLOB, creation_hash BLOB, creation_ticket BLOB);"
	"CREATE INDEX objects_token ON objects(token_id);";

/* Schema 3: attestation keys (docs/attestation.md), which schema 2 kept
 * as meta values "ak.<name>" beside a name list "ak.names" written by a
 * second statement. An AK's row and its certificates change together, in
 * one transaction; the id orders the list. */
static const char *const schema_v3_step =
	"CREATE TABLE aks("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  ek_index INTEGER NOT NULL,"
	"  tpm_pub BLOB NOT NULL, tpm_priv BLOB NOT NULL);"
	"CREATE TABLE ak_certs("
	"  ak_id INTEGER NOT NULL REFERENCES aks(id) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  der BLOB NOT NULL,"
	"  PRIMARY KEY(ak_id, pos));";

static int
store_fail(store *s, int code, const char *what)
{
	if (s->db != NULL && sqlite3_errcode(s->db) == SQLITE_OK)
		snprintf(s->err, sizeof(s->err), "%s: %s", s->path, what);
	else
		snprintf(s->err, sizeof(s->err), "%s: %s: %s", s->path, what,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
	log_error("store: %s", s->err);
	return code;
}

const char *
store_errmsg(store *s)
{
	return s->err;
}

const char *
store_path(const store *s)
{
	return s->path;
}

char *
store_default_dir(void)
{
	const char *v = getenv("TPM11_STORE");
	char *out = NULL;

	if (v != NULL && *v != '\0')
		return strdup(v);
	if ((v = getenv("XDG_DATA_HOME")) != NULL && *v == '/') {
		if (asprintf(&out, "%s/tpm11", v) < 0)
			return NULL;
		return out;
	}
	if ((v = getenv("HOME")) == NULL || *v == '\0')
		return NULL;
	if (asprintf(&out, "%s/.local/share/tpm11", v) < 0)
		return NULL;
	return out;
}

/* mkdir -p; parents get 0755 like any XDG directory, the store itself
 * 0700. */
static int
make_dirs(const char *dir)
{
	char tmp[PATH_MAX];
	size_t len = strlen(dir);
	char *p;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, dir, len + 1);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return chmod(tmp, 0700);
}

static int
exec_sql(store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s: %s", s->path,
			 msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int
pragma_int(store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return STORE_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERROR;
}

static int store_migrate_v3(store *s);

static int
store_setup(store *s, bool create)
{
	int64_t ver = 0, app = 0, nobj = 0;
	int rc;

	sqlite3_busy_timeout(s->db, 15000);
	/* secure_delete: deleted and replaced rows are overwritten, not
	 * left in free pages (a removed key's blob, an old PIN's blob). */
	if (exec_sql(s, "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;") !=
	    STORE_OK)
		return store_fail(s, STORE_ERROR, "cannot configure");
	if (pragma_int(s, "PRAGMA application_id;", &app) != STORE_OK ||
	    pragma_int(s, "PRAGMA user_version;", &ver) != STORE_OK) {
		rc = sqlite3_errcode(s->db);
		if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
			return store_fail(s, STORE_CORRUPT,
					  "not a tpm11 store or damaged");
		return store_fail(s, STORE_ERROR, "cannot read");
	}
	if (app == 0 && ver == 0) {
		if (pragma_int(s, "SELECT count(*) FROM sqlite_master;",
			       &nobj) != STORE_OK)
			return store_fail(s, STORE_CORRUPT,
					  "not a tpm11 store or damaged");
		if (nobj != 0)
			return store_fail(s, STORE_CORRUPT,
					  "not a tpm11 store");
		if (!create)
			return store_fail(s, STORE_ENOENT,
					  "store not initialised");
		/* New store: schema and WAL in one go. */
		if (exec_sql(s, "PRAGMA journal_mode=WAL;") != STORE_OK)
			return STORE_ERROR;
		if (exec_sql(s, "BEGIN IMMEDIATE;") != STORE_OK)
			return STORE_ERROR;
		if (pragma_int(s, "PRAGMA user_version;", &ver) == STORE_OK &&
		    ver == 0) {
			char sql[64];

			snprintf(sql, sizeof(sql),
				 "PRAGMA application_id=%d;"
				 "PRAGMA user_version=%d;",
				 STORE_APP_ID, STORE_SCHEMA_VERSION);
			if (exec_sql(s, schema_v2) != STORE_OK ||
			    exec_sql(s, schema_v3_step) != STORE_OK ||
			    exec_sql(s, sql) != STORE_OK) {
				exec_sql(s, "ROLLBACK;");
				return STORE_ERROR;
			}
		}
		if (exec_sql(s, "COMMIT;") != STORE_OK)
			return STORE_ERROR;
		return STORE_OK;
	}
	if (app != STORE_APP_ID)
		return store_fail(s, STORE_CORRUPT, "not a tpm11 store");
	if (ver > STORE_SCHEMA_VERSION) {
		snprintf(s->err, sizeof(s->err),
			 "%s: made by a newer tpm11 (schema %lld, this one "
			 "knows %d); use that version, nothing was changed",
			 s->path, (long long)ver, STORE_SCHEMA_VERSION);
		return STORE_NEWER;
	}
	if (ver < 1)
		return store_fail(s, STORE_CORRUPT, "unknown schema version");
	if (ver == 1 && !s->old) {
		/* Key model 1: keys were children of a per-token storage key
		 * whose authValue ObjectChangeAuth changed by making a new
		 * blob, so an old copy and an old PIN kept opening them, and
		 * loaded keys had no authValue. They are fixedParent: no
		 * migration can move them under model 2. Nothing is changed;
		 * the user decides (docs/design.md, "Stores of key model 1"). */
		snprintf(s->err, sizeof(s->err),
			 "%s holds keys of tpm11's first key model (schema 1), "
			 "whose PINs do not protect loaded keys and are not "
			 "revoked by a PIN change. Its keys cannot be moved to "
			 "the current model (TPM keys stay under the parent "
			 "they were made with). Run `tpm11 migrate` to list "
			 "them and set the old database aside, then make new "
			 "keys and replace their public keys where they are "
			 "used; nothing was changed",
			 s->path);
		log_error("store: %s", s->err);
		return STORE_OLD;
	}
	if (s->old && ver != 1)
		return store_fail(s, STORE_CORRUPT,
				  "not a store of key model 1");
	/* Migrations from later versions go here, one transaction each. */
	if (ver == 2 && !s->old && (rc = store_migrate_v3(s)) != STORE_OK)
		return rc;
	return STORE_OK;
}

/* The store's directory and database must be the user's own and not
 * writable by others (as ssh asks of ~/.ssh): whoever can write there can
 * swap objects and nonces under the user's programs. */
static int
store_check_owner(store *s, const char *path, bool dir)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(s->err, sizeof(s->err), "%s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(s->err, sizeof(s->err),
			 "%s belongs to user %u, not to you (%u): tpm11 uses "
			 "only a store of your own (set TPM11_STORE to a "
			 "directory of yours)",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(s->err, sizeof(s->err),
			 "%s is writable by others (mode %04o): run `chmod "
			 "%s %s`",
			 path, (unsigned)(st.st_mode & 07777),
			 dir ? "700" : "600", path);
		return -1;
	}
	return 0;
}

/* A new, empty database file, 0600 from the start. */
static int
store_create_file(store *s)
{
	int fd = open(s->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int store_open_mode(const char *dir, bool create, bool model1,
			   store **out, char *err, size_t errlen);

int
store_open(const char *dir, bool create, store **out, char *err, size_t errlen)
{
	return store_open_mode(dir, create, false, out, err, errlen);
}

int
store_open_old(const char *dir, store **out, char *err, size_t errlen)
{
	return store_open_mode(dir, false, true, out, err, errlen);
}

static int
store_open_mode(const char *dir, bool create, bool model1, store **out,
		char *err, size_t errlen)
{
	store *s;
	struct stat stb;
	int rc, flags;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return STORE_ERROR;
	s->old = model1;
	if (asprintf(&s->path, "%s/%s", dir, STORE_DB_NAME) < 0) {
		free(s);
		return STORE_ERROR;
	}
	if (stat(s->path, &stb) != 0) {
		if (errno != ENOENT) {
			/* EACCES above all: another user's store, or a
			 * directory we may not enter. Not "no store". */
			snprintf(
				s->err, sizeof(s->err),
				"%s: cannot read it: %s; a store must belong "
				"to the user who uses it (set TPM11_STORE to a "
				"directory of yours)",
				s->path, strerror(errno));
			rc = STORE_ERROR;
			goto fail;
		}
		if (!create) {
			snprintf(s->err, sizeof(s->err), "%s: no store here",
				 s->path);
			rc = STORE_ENOENT;
			goto fail;
		}
		if (make_dirs(dir) != 0 ||
		    store_check_owner(s, dir, true) != 0 ||
		    store_create_file(s) != 0) {
			if (s->err[0] == '\0')
				snprintf(s->err, sizeof(s->err),
					 "%s: cannot create the store: %s", dir,
					 strerror(errno));
			rc = STORE_ERROR;
			goto fail;
		}
	} else if (!S_ISREG(stb.st_mode)) {
		snprintf(s->err, sizeof(s->err), "%s: not a regular file",
			 s->path);
		rc = STORE_CORRUPT;
		goto fail;
	} else if (store_check_owner(s, dir, true) != 0 ||
		   store_check_owner(s, s->path, false) != 0) {
		rc = STORE_ERROR;
		goto fail;
	} else if (stb.st_size == 0) {
		/* sqlite reads an empty file as an empty database: that
		 * would show a store without tokens and say nothing. */
		snprintf(s->err, sizeof(s->err),
			 "%s is empty (0 bytes): the store was truncated and "
			 "its tokens are gone from it. Restore the file from a "
			 "backup (docs/design.md, \"Backing up a store\"); to "
			 "start afresh instead, move it away and run `tpm11 "
			 "init`. Nothing was changed",
			 s->path);
		log_error("store: %s", s->err);
		rc = STORE_CORRUPT;
		goto fail;
	}
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
		(create ? SQLITE_OPEN_CREATE : 0);
	if (model1)
		flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX;
	/* The database is 0600 (store_create_file); sqlite gives its -wal and
	 * -shm files the same mode. (No umask(): that is process-wide, and
	 * the module shares the process with the host's threads.) */
	rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
	if (rc == SQLITE_OK)
		rc = store_setup(s, create);
	else
		rc = store_fail(s, STORE_ERROR, "cannot open");
	if (rc != STORE_OK)
		goto fail;
	*out = s;
	return STORE_OK;
fail:
	if (err != NULL)
		snprintf(err, errlen, "%s", s->err);
	store_close(s);
	return rc;
}

void
store_close(store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->data_version);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

int64_t
store_data_version(store *s)
{
	int64_t v = -1;

	if (s->data_version == NULL &&
	    sqlite3_prepare_v2(s->db, "PRAGMA data_version;", -1,
			       &s->data_version, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s->data_version) == SQLITE_ROW)
		v = sqlite3_column_int64(s->data_version, 0);
	sqlite3_reset(s->data_version);
	return v;
}

int
store_check(store *s, int64_t *schema, char *problems, size_t cap)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int rc, ret = STORE_OK;

	problems[0] = '\0';
	if (pragma_int(s, "PRAGMA user_version;", schema) != STORE_OK)
		return store_fail(s, STORE_ERROR, "cannot read");
	/* At most 10 lines: the first problems say enough. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(10);", -1, &st,
			       NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot check");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);

		if (line == NULL || strcmp(line, "ok") == 0)
			continue;
		ret = STORE_CORRUPT;
		if (n < cap)
			n += (size_t)snprintf(problems + n, cap - n, "%s%s",
					      n ? "; " : "", line);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = sqlite3_errcode(s->db);
		if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
			snprintf(problems, cap, "%s", sqlite3_errmsg(s->db));
			return STORE_CORRUPT;
		}
		return store_fail(s, STORE_ERROR, "cannot check");
	}
	return ret;
}

/* --- statements ---------------------------------------------------------- */

static int
bind_blob(sqlite3_stmt *st, int i, const blob *b)
{
	if (b == NULL || b->data == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_blob(st, i, b->data, (int)b->len, SQLITE_TRANSIENT);
}

static int
column_blob(sqlite3_stmt *st, int i, blob *b)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);

	memset(b, 0, sizeof(*b));
	if (p == NULL || n <= 0)
		return 0;
	return blob_set(b, p, (size_t)n);
}

static void
column_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* After a delete or a blob replacement: the WAL still holds the old
 * pages until a checkpoint copies the overwritten ones back and TRUNCATE
 * empties it. Best effort: a reader in another process only delays it
 * (busy timeout) to the next write. Returns rc. */
static int
store_scrub(store *s, int rc)
{
	if (rc == STORE_OK)
		sqlite3_wal_checkpoint_v2(
			s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc;
}

static int
tx_begin(store *s)
{
	if (exec_sql(s, "BEGIN IMMEDIATE;") != STORE_OK)
		return store_fail(s, STORE_ERROR, "cannot start a transaction");
	return STORE_OK;
}

static int
tx_end(store *s, int rc)
{
	if (rc == STORE_OK) {
		if (exec_sql(s, "COMMIT;") == STORE_OK)
			return STORE_OK;
		rc = store_fail(s, STORE_ERROR, "cannot commit");
	}
	exec_sql(s, "ROLLBACK;");
	return rc;
}

int
store_meta_get(store *s, const char *key, blob *out)
{
	sqlite3_stmt *st = NULL;
	int rc = STORE_NOTFOUND;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key=?;", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot read meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		rc = column_blob(st, 0, out) == 0 ? STORE_OK : STORE_ERROR;
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = store_fail(s, STORE_ERROR, "cannot read meta");
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_meta_set(store *s, const char *key, const void *v, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = STORE_OK;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO meta(key, value) "
			       "VALUES(?, ?);",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot write meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(s, STORE_ERROR, "cannot write meta");
	sqlite3_finalize(st);
	return rc;
}

void
token_rec_clear(token_rec *t)
{
	blob_free(&t->pin_salt);
	blob_free(&t->user_nv_name);
	blob_free(&t->so_nv_name);
	memset(t, 0, sizeof(*t));
}

void
store_tokens_free(token_rec *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		token_rec_clear(&t[i]);
	free(t);
}

int
store_tokens(store *s, token_rec **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	token_rec *v = NULL, *nv;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, label, serial, manufacturer, model,"
			       " fw_major, fw_minor, hw_major, hw_minor,"
			       " pin_salt, user_nv, user_nv_name, so_nv,"
			       " so_nv_name, flags, pending FROM tokens"
			       " ORDER BY id;",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot read tokens");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		token_rec *t;

		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL)
			goto oom;
		v = nv;
		t = &v[cnt++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		column_text(st, 1, t->label, sizeof(t->label));
		column_text(st, 2, t->serial, sizeof(t->serial));
		column_text(st, 3, t->manufacturer, sizeof(t->manufacturer));
		column_text(st, 4, t->model, sizeof(t->model));
		t->fw_major = (uint8_t)sqlite3_column_int(st, 5);
		t->fw_minor = (uint8_t)sqlite3_column_int(st, 6);
		t->hw_major = (uint8_t)sqlite3_column_int(st, 7);
		t->hw_minor = (uint8_t)sqlite3_column_int(st, 8);
		t->user_nv = (uint32_t)sqlite3_column_int64(st, 10);
		t->so_nv = (uint32_t)sqlite3_column_int64(st, 12);
		if (column_blob(st, 9, &t->pin_salt) ||
		    column_blob(st, 11, &t->user_nv_name) ||
		    column_blob(st, 13, &t->so_nv_name))
			goto oom;
		t->flags = (uint64_t)sqlite3_column_int64(st, 14);
		t->pending = sqlite3_column_int64(st, 15);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_tokens_free(v, cnt);
		return store_fail(s, STORE_ERROR, "cannot read tokens");
	}
	*out = v;
	*n = cnt;
	return STORE_OK;
oom:
	sqlite3_finalize(st);
	store_tokens_free(v, cnt);
	return STORE_ERROR;
}

int
store_token_add(store *s, token_rec *t)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO tokens(label, serial, manufacturer,"
			       " model, fw_major, fw_minor, hw_major, hw_minor,"
			       " pin_salt, user_nv, user_nv_name, so_nv,"
			       " so_nv_name, flags, pending)"
			       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot add token");
	sqlite3_bind_text(st, 1, t->label, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->manufacturer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->model, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, t->fw_major);
	sqlite3_bind_int(st, 6, t->fw_minor);
	sqlite3_bind_int(st, 7, t->hw_major);
	sqlite3_bind_int(st, 8, t->hw_minor);
	bind_blob(st, 9, &t->pin_salt);
	sqlite3_bind_int64(st, 10, t->user_nv);
	bind_blob(st, 11, &t->user_nv_name);
	sqlite3_bind_int64(st, 12, t->so_nv);
	bind_blob(st, 13, &t->so_nv_name);
	sqlite3_bind_int64(st, 14, (int64_t)t->flags);
	sqlite3_bind_int64(st, 15, t->pending);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(s->err, sizeof(s->err),
			 "a token labelled \"%s\" already exists", t->label);
		return STORE_EXISTS;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, STORE_ERROR, "cannot add token");
	t->id = sqlite3_last_insert_rowid(s->db);
	return STORE_OK;
}

int
store_token_clear_flags(store *s, int64_t id, uint64_t flags)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE tokens SET flags=flags & ~? WHERE id=?;",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot update token");
	sqlite3_bind_int64(st, 1, (int64_t)flags);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, STORE_ERROR, "cannot update token");
	return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int
store_token_set_pending(store *s, int64_t id, int64_t pid)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "UPDATE tokens SET pending=? WHERE id=?;",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot update token");
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, STORE_ERROR, "cannot update token");
	return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int
store_token_set_pins(store *s, const token_rec *t)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE tokens SET user_nv=?, user_nv_name=?,"
			       " so_nv=?, so_nv_name=? WHERE id=?;",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot update token");
	sqlite3_bind_int64(st, 1, t->user_nv);
	bind_blob(st, 2, &t->user_nv_name);
	sqlite3_bind_int64(st, 3, t->so_nv);
	bind_blob(st, 4, &t->so_nv_name);
	sqlite3_bind_int64(st, 5, t->id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, STORE_ERROR, "cannot update token");
	return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int
store_token_delete(store *s, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE token_id=?1;",
			       -1, &st, NULL) != SQLITE_OK)
		return tx_end(s, store_fail(s, STORE_ERROR, "cannot delete"));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tx_end(s, store_fail(s, STORE_ERROR, "cannot delete"));
	if (sqlite3_prepare_v2(s->db, "DELETE FROM tokens WHERE id=?1;", -1,
			       &st, NULL) != SQLITE_OK)
		return tx_end(s, store_fail(s, STORE_ERROR, "cannot delete"));
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tx_end(s, store_fail(s, STORE_ERROR, "cannot delete"));
	if (sqlite3_changes(s->db) != 1)
		return tx_end(s, STORE_NOTFOUND);
	return store_scrub(s, tx_end(s, STORE_OK));
}

void
object_rec_clear(object_rec *o)
{
	attr_list_clear(&o->attrs);
	blob_free(&o->tpm_pub);
	blob_free(&o->tpm_priv);
	blob_free(&o->creation_data);
	blob_free(&o->creation_hash);
	blob_free(&o->creation_ticket);
	memset(o, 0, sizeof(*o));
}

void
store_objects_free(object_rec *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		object_rec_clear(&o[i]);
	free(o);
}

int
store_objects(store *s, int64_t token_id, object_rec **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	object_rec *v = NULL, *nv;
	size_t cnt = 0;
	int rc, ret = STORE_OK;

	*out = NULL;
	*n = 0;
	s->skipped = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, token_id, attrs, tpm_pub, tpm_priv,"
			       " creation_data, creation_hash, creation_ticket"
			       " FROM objects WHERE token_id=? ORDER BY id;",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot read objects");
	sqlite3_bind_int64(st, 1, token_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		object_rec *o;
		const void *a = sqlite3_column_blob(st, 2);
		int alen = sqlite3_column_bytes(st, 2);

		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			ret = STORE_ERROR;
			break;
		}
		v = nv;
		o = &v[cnt++];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(st, 0);
		o->token_id = sqlite3_column_int64(st, 1);
		if (attr_list_deserialise(a, (size_t)alen, &o->attrs) != 0) {
			/* One damaged object costs that object, not the
			 * token or the store (issue 13 item 9). */
			snprintf(
				s->err, sizeof(s->err),
				"%s: object %lld is damaged (its attributes do "
				"not parse) and is left out; remove it with "
				"`sqlite3 %s 'DELETE FROM objects WHERE id=%lld'` "
				"or restore the store from a backup",
				s->path, (long long)o->id, s->path,
				(long long)o->id);
			log_error("store: %s", s->err);
			s->skipped++;
			cnt--;
			continue;
		}
		if (column_blob(st, 3, &o->tpm_pub) ||
		    column_blob(st, 4, &o->tpm_priv) ||
		    column_blob(st, 5, &o->creation_data) ||
		    column_blob(st, 6, &o->creation_hash) ||
		    column_blob(st, 7, &o->creation_ticket)) {
			ret = STORE_ERROR;
			break;
		}
	}
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_fail(s, STORE_ERROR, "cannot read objects");
	sqlite3_finalize(st);
	if (ret != STORE_OK) {
		store_objects_free(v, cnt);
		return ret;
	}
	*out = v;
	*n = cnt;
	return STORE_OK;
}

size_t
store_objects_skipped(const store *s)
{
	return s->skipped;
}

/* The write-side cap (issue 13 item 9): an object too big for every
 * reader would make the whole store unreadable. */
static int
store_object_fits(store *s, size_t alen)
{
	if (alen <= STORE_OBJECT_MAX)
		return STORE_OK;
	snprintf(s->err, sizeof(s->err),
		 "an object of %zu bytes is more than a token holds (%u "
		 "bytes); nothing was written",
		 alen, STORE_OBJECT_MAX);
	return STORE_TOOBIG;
}

/* Inside a transaction: inserts n objects, sets their ids. */
static int
objects_add_inlock(store *s, object_rec *o, size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = STORE_OK;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO objects(token_id, attrs, tpm_pub,"
			       " tpm_priv, creation_data, creation_hash,"
			       " creation_ticket) VALUES(?,?,?,?,?,?,?);",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot add object");
	for (i = 0; i < n; i++) {
		uint8_t *a = NULL;
		size_t alen = 0;

		if (attr_list_serialise(&o[i].attrs, &a, &alen) != 0) {
			rc = STORE_ERROR;
			break;
		}
		if ((rc = store_object_fits(s, alen)) != STORE_OK) {
			free(a);
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, o[i].token_id);
		sqlite3_bind_blob(st, 2, a, (int)alen, SQLITE_TRANSIENT);
		free(a);
		bind_blob(st, 3, &o[i].tpm_pub);
		bind_blob(st, 4, &o[i].tpm_priv);
		bind_blob(st, 5, &o[i].creation_data);
		bind_blob(st, 6, &o[i].creation_hash);
		bind_blob(st, 7, &o[i].creation_ticket);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = store_fail(s, STORE_ERROR, "cannot add object");
			break;
		}
		o[i].id = sqlite3_last_insert_rowid(s->db);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Inside a transaction: deletes the objects ids[0..n). */
static int
objects_delete_inlock(store *s, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = STORE_OK;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE id=?;", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot delete");
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = store_fail(s, STORE_ERROR, "cannot delete");
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_objects_add(store *s, object_rec *o, size_t n)
{
	int rc;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	return tx_end(s, objects_add_inlock(s, o, n));
}

int
store_objects_delete(store *s, const int64_t *ids, size_t n)
{
	int rc;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	return store_scrub(s, tx_end(s, objects_delete_inlock(s, ids, n)));
}

int
store_objects_replace(store *s, object_rec *o, size_t n, const int64_t *old,
		      size_t nold)
{
	int rc;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = objects_add_inlock(s, o, n)) == STORE_OK)
		rc = objects_delete_inlock(s, old, nold);
	rc = tx_end(s, rc);
	return nold ? store_scrub(s, rc) : rc;
}

int
store_object_set_attrs(store *s, int64_t id, const attr_list *attrs)
{
	sqlite3_stmt *st = NULL;
	uint8_t *a = NULL;
	size_t alen = 0;
	int rc;

	if (attr_list_serialise(attrs, &a, &alen) != 0)
		return STORE_ERROR;
	if ((rc = store_object_fits(s, alen)) != STORE_OK) {
		free(a);
		return rc;
	}
	if (sqlite3_prepare_v2(s->db, "UPDATE objects SET attrs=? WHERE id=?;",
			       -1, &st, NULL) != SQLITE_OK) {
		free(a);
		return store_fail(s, STORE_ERROR, "cannot update object");
	}
	sqlite3_bind_blob(st, 1, a, (int)alen, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	free(a);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, STORE_ERROR, "cannot update object");
	return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOTFOUND;
}

/* --- attestation keys ------------------------------------------------------ */

void
ak_rec_clear(ak_rec *r)
{
	size_t i;

	blob_free(&r->pub);
	blob_free(&r->priv);
	for (i = 0; i < r->ncerts; i++)
		blob_free(&r->certs[i]);
	free(r->certs);
	memset(r, 0, sizeof(*r));
}

/* Inside a transaction: writes r's row (a new one, or the existing row of
 * its name, which keeps its id and so its place in the list) and
 * replaces its certificates. */
static int
ak_put_inlock(store *s, const ak_rec *r)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;
	size_t i;
	int rc = STORE_ERROR;

	if (sqlite3_prepare_v2(
		    s->db,
		    "INSERT INTO aks(name, ek_index, tpm_pub, "
		    "tpm_priv) VALUES(?1,?2,?3,?4) ON CONFLICT(name) "
		    "DO UPDATE SET ek_index=?2, tpm_pub=?3, "
		    "tpm_priv=?4 RETURNING id;",
		    -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot write the AK");
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->ek_index);
	bind_blob(st, 3, &r->pub);
	bind_blob(st, 4, &r->priv);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		rc = STORE_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != STORE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM ak_certs WHERE ak_id=?;", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot write the AK");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
	sqlite3_finalize(st);
	st = NULL;
	if (rc != STORE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO ak_certs(ak_id, pos, der) "
			       "VALUES(?,?,?);",
			       -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot write the AK");
	for (i = 0; i < r->ncerts && rc == STORE_OK; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		bind_blob(st, 3, &r->certs[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = STORE_ERROR;
	}
	sqlite3_finalize(st);
	return rc == STORE_OK ? STORE_OK
			      : store_fail(s, rc, "cannot write the AK");
}

int
store_ak_put(store *s, const ak_rec *r)
{
	sqlite3_stmt *st = NULL;
	char key[8 + STORE_AK_NAME_MAX];
	int rc;

	if (r->ncerts > STORE_AK_CERTS_MAX || r->pub.data == NULL ||
	    r->priv.data == NULL)
		return STORE_ERROR;
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = ak_put_inlock(s, r);
	/* A schema 2 record of this name that could not be converted is
	 * replaced too. */
	snprintf(key, sizeof(key), "ak.%s", r->name);
	if (rc == STORE_OK &&
	    (sqlite3_prepare_v2(s->db, "DELETE FROM meta WHERE key=?;", -1, &st,
				NULL) != SQLITE_OK ||
	     sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	     sqlite3_step(st) != SQLITE_DONE))
		rc = store_fail(s, STORE_ERROR, "cannot write the AK");
	sqlite3_finalize(st);
	return store_scrub(s, tx_end(s, rc));
}

int
store_ak_get(store *s, const char *name, ak_rec *out)
{
	sqlite3_stmt *st = NULL;
	char key[8 + STORE_AK_NAME_MAX];
	blob leftover = {0};
	int64_t id = 0;
	int rc = STORE_NOTFOUND, step;

	memset(out, 0, sizeof(*out));
	if (strlen(name) > STORE_AK_NAME_MAX)
		return STORE_NOTFOUND;
	snprintf(out->name, sizeof(out->name), "%s", name);
	/* One read transaction: the row and its certificates as one
	 * writer left them. */
	if (exec_sql(s, "BEGIN;") != STORE_OK)
		return store_fail(s, STORE_ERROR, "cannot read the AK");
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, ek_index, tpm_pub, tpm_priv "
			       "FROM aks WHERE name=?;",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = store_fail(s, STORE_ERROR, "cannot read the AK");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		out->ek_index = (uint32_t)sqlite3_column_int64(st, 1);
		rc = column_blob(st, 2, &out->pub) == 0 &&
				     column_blob(st, 3, &out->priv) == 0
			     ? STORE_OK
			     : STORE_ERROR;
	} else if (step != SQLITE_DONE) {
		rc = store_fail(s, STORE_ERROR, "cannot read the AK");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == STORE_NOTFOUND) {
		snprintf(key, sizeof(key), "ak.%s", name);
		if (store_meta_get(s, key, &leftover) == STORE_OK)
			rc = STORE_CORRUPT;
		blob_free(&leftover);
		goto out;
	}
	if (rc != STORE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT der FROM ak_certs WHERE ak_id=? "
			       "ORDER BY pos;",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = rc == STORE_OK
			     ? store_fail(s, STORE_ERROR, "cannot read the AK")
			     : rc;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	while (rc == STORE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		blob *nc;

		if (out->ncerts == STORE_AK_CERTS_MAX ||
		    (nc = realloc(out->certs,
				  (out->ncerts + 1) * sizeof(blob))) == NULL) {
			rc = STORE_ERROR;
			break;
		}
		out->certs = nc;
		if (column_blob(st, 0, &out->certs[out->ncerts]) != 0)
			rc = STORE_ERROR;
		else
			out->ncerts++;
	}
	if (rc == STORE_OK && step != SQLITE_DONE)
		rc = store_fail(s, STORE_ERROR, "cannot read the AK");
out:
	sqlite3_finalize(st);
	exec_sql(s, "COMMIT;");
	if (rc != STORE_OK) {
		ak_rec_clear(out);
		snprintf(out->name, sizeof(out->name), "%s", name);
	}
	return rc;
}

void
store_ak_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
store_ak_names(store *s, char ***out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	char **v = NULL, **nv;
	size_t cnt = 0;
	int rc = STORE_OK, step;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT name FROM aks ORDER BY id;", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot list the AKs");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL ||
		    (nv[cnt] = strdup(t ? (const char *)t : "")) == NULL) {
			if (nv != NULL)
				v = nv;
			rc = STORE_ERROR;
			break;
		}
		v = nv;
		cnt++;
	}
	if (rc == STORE_OK && step != SQLITE_DONE)
		rc = store_fail(s, STORE_ERROR, "cannot list the AKs");
	sqlite3_finalize(st);
	if (rc == STORE_OK) {
		*out = v;
		*n = cnt;
	} else {
		store_ak_names_free(v, cnt);
	}
	return rc;
}

/* A schema 2 AK record, meta value "ak.<name>":
 *   "TAK1" | u32 ek_index | u32 n | TPM2B_PUBLIC | u32 n | TPM2B_PRIVATE |
 *   u32 count | count x (u32 n | certificate DER)
 * (big-endian lengths, at most 16 certificates, nothing after). */
static int
tak1_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	if (end - *p < 4)
		return -1;
	*v = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	     (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	return 0;
}

static int
tak1_blob(const uint8_t **p, const uint8_t *end, blob *b)
{
	uint32_t n;

	if (tak1_u32(p, end, &n) != 0 || (size_t)(end - *p) < n ||
	    blob_set(b, *p, n) != 0)
		return -1;
	*p += n;
	return 0;
}

static int
tak1_decode(const uint8_t *b, size_t len, ak_rec *r)
{
	const uint8_t *p = b, *end = b + len;
	uint32_t n, i;

	if (len < 4 || memcmp(p, "TAK1", 4) != 0)
		return -1;
	p += 4;
	if (tak1_u32(&p, end, &r->ek_index) != 0 ||
	    tak1_blob(&p, end, &r->pub) != 0 ||
	    tak1_blob(&p, end, &r->priv) != 0 || tak1_u32(&p, end, &n) != 0 ||
	    n > STORE_AK_CERTS_MAX)
		return -1;
	if (n && (r->certs = calloc(n, sizeof(blob))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (tak1_blob(&p, end, &r->certs[i]) != 0)
			return -1;
		r->ncerts++;
	}
	return p == end && r->pub.len >= 2 ? 0 : -1;
}

/* Schema 2 -> 3, one transaction: every AK record of the meta table that
 * decodes goes into aks and ak_certs (those named in "ak.names" first, in
 * its order, so `ak list` keeps it) and leaves meta; one that does not
 * decode stays where it is, so store_ak_get still calls it damaged.
 * Another process may have migrated meanwhile: the version is read again
 * inside the transaction. */
static int
store_migrate_v3(store *s)
{
	sqlite3_stmt *st = NULL, *del = NULL;
	int64_t ver = 0;
	int rc, step = SQLITE_DONE, moved = 0;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if (pragma_int(s, "PRAGMA user_version;", &ver) != STORE_OK)
		return tx_end(s, store_fail(s, STORE_ERROR, "cannot read"));
	if (ver != 2)
		return tx_end(s, STORE_OK);
	if (exec_sql(s, schema_v3_step) != STORE_OK)
		return tx_end(s, STORE_ERROR);
	/* The listed names first, by their place in the list, then the
	 * rest by name. instr() finds "<name>\n" in "\n" || the list. */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT m.key, m.value FROM meta m "
			       "LEFT JOIN meta l ON l.key='ak.names' "
			       "WHERE substr(m.key, 1, 3)='ak.' AND "
			       "m.key != 'ak.names' ORDER BY "
			       "coalesce(nullif(instr(char(10) || "
			       "CAST(l.value AS TEXT), char(10) || "
			       "substr(m.key, 4) || char(10)), 0), "
			       "1 << 40), m.key;",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM meta WHERE key=?;", -1, &del,
			       NULL) != SQLITE_OK) {
		rc = store_fail(s, STORE_ERROR, "cannot convert the AKs");
		goto out;
	}
	while (rc == STORE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const void *v = sqlite3_column_blob(st, 1);
		int vlen = sqlite3_column_bytes(st, 1);
		ak_rec r;

		memset(&r, 0, sizeof(r));
		if (key == NULL || strlen(key) - 3 > STORE_AK_NAME_MAX ||
		    strlen(key) == 3 || v == NULL ||
		    tak1_decode(v, (size_t)vlen, &r) != 0) {
			log_error("store: %s: the AK record %s does not "
				  "decode; left as it was",
				  s->path, key ? key : "?");
			ak_rec_clear(&r);
			continue;
		}
		snprintf(r.name, sizeof(r.name), "%s", key + 3);
		if ((rc = ak_put_inlock(s, &r)) == STORE_OK) {
			sqlite3_reset(del);
			sqlite3_bind_text(del, 1, key, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(del) != SQLITE_DONE)
				rc = store_fail(s, STORE_ERROR,
						"cannot convert the AKs");
			moved++;
		}
		ak_rec_clear(&r);
	}
	if (rc == STORE_OK && step != SQLITE_DONE)
		rc = store_fail(s, STORE_ERROR, "cannot convert the AKs");
	if (rc == STORE_OK &&
	    (exec_sql(s, "DELETE FROM meta WHERE key='ak.names';") !=
		     STORE_OK ||
	     exec_sql(s, "PRAGMA user_version=3;") != STORE_OK))
		rc = STORE_ERROR;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	if ((rc = tx_end(s, rc)) == STORE_OK)
		log_debug("store: %s: schema 2 -> 3, %d AK%s converted",
			  s->path, moved, moved == 1 ? "" : "s");
	return rc;
}

/* --- key model 1 stores (tpm11 migrate) --------------------------------- */

int
store_old_tokens(store *s, old_token **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	old_token *v = NULL, *nv;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, label FROM tokens ORDER BY id;", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, STORE_ERROR, "cannot read tokens");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			sqlite3_finalize(st);
			free(v);
			return STORE_ERROR;
		}
		v = nv;
		v[cnt].id = sqlite3_column_int64(st, 0);
		column_text(st, 1, v[cnt].label, sizeof(v[cnt].label));
		cnt++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return store_fail(s, STORE_ERROR, "cannot read tokens");
	}
	*out = v;
	*n = cnt;
	return STORE_OK;
}

int
store_archive(const char *dir, char *newpath, size_t cap, char *err,
	      size_t errlen)
{
	char *path = NULL, *wal = NULL, *shm = NULL;
	time_t now = time(NULL);
	struct tm tm;
	sqlite3 *rw = NULL;
	int rc = STORE_ERROR;

	if (asprintf(&path, "%s/%s", dir, STORE_DB_NAME) < 0)
		return STORE_ERROR;
	gmtime_r(&now, &tm);
	snprintf(newpath, cap, "%s.model1-%04d%02d%02dT%02d%02d%02dZ", path,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	/* Fold the WAL into the main file first, so that one file holds all
	 * of it (TRUNCATE: the WAL ends empty). While another program reads
	 * the store this is SQLITE_BUSY and nothing is moved. */
	if (sqlite3_open_v2(path, &rw, SQLITE_OPEN_READWRITE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_wal_checkpoint_v2(rw, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				      NULL, NULL) != SQLITE_OK) {
		snprintf(
			err, errlen,
			"%s: cannot fold its write-ahead log (%s); close every "
			"program that uses tpm11 (ssh-agent, browsers) and try "
			"again; nothing was moved",
			path, rw ? sqlite3_errmsg(rw) : "cannot open");
		goto out;
	}
	sqlite3_close_v2(rw);
	rw = NULL;
	if (link(path, newpath) != 0) {
		snprintf(err, errlen,
			 "%s: cannot keep it as %s: %s; nothing "
			 "was moved",
			 path, newpath, strerror(errno));
		goto out;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen,
			 "%s: cannot remove it (a copy is at %s): "
			 "%s",
			 path, newpath, strerror(errno));
		goto out;
	}
	if (asprintf(&wal, "%s-wal", path) >= 0)
		unlink(wal);
	if (asprintf(&shm, "%s-shm", path) >= 0)
		unlink(shm);
	rc = STORE_OK;
out:
	sqlite3_close_v2(rw);
	free(path);
	free(wal);
	free(shm);
	return rc;
}
