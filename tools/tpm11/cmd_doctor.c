/* tpm11 doctor: what is wrong with this set-up and how to fix it.
 *
 * Read-only: it sends the TPM only commands that read (GetCapability,
 * ReadPublic, NV_ReadPublic, TestParms), flushes nothing of anyone's and
 * writes nothing, to the TPM or to the store. It works without a TPM (the
 * TPM's checks are then left out) and without a store. docs/cli.md has
 * the checks and the --json schema. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/json.h"
#include "tool.h"

/* Where `make install` puts the module and p11-kit's module file, and
 * where p11-kit looks for a module named without a directory (set by
 * tools/tpm11/meson.build). */
#ifndef TPM11_MODULE_PATH
#define TPM11_MODULE_PATH "/usr/local/lib/pkcs11/libtpm11.so"
#endif
#ifndef TPM11_P11KIT_DIR
#define TPM11_P11KIT_DIR "/usr/share/p11-kit/modules"
#endif
#ifndef TPM11_P11KIT_MODULE_PATH
#define TPM11_P11KIT_MODULE_PATH "/usr/lib/pkcs11"
#endif
/* ssh-agent's provider allow-list when it is started without -P
 * (OpenSSH 8.9 and later). */
#define SSH_AGENT_DEFAULT_ALLOW "/usr/lib*/*,/usr/local/lib*/*"

typedef enum { ST_OK, ST_WARN, ST_FAIL } status;

static const char *const status_name[] = {"ok", "warn", "fail"};

typedef struct {
	const char *name;
	status st;
	char *token; /* the token a check is about, or NULL */
	char *detail;
	char *fix; /* "" when there is nothing to do */
} check;

typedef struct {
	check v[64];
	size_t n;
} report;

/* Adds a check; detail is a printf format. fix and token are copied (may
 * be NULL). */
static void __attribute__((format(printf, 6, 7)))
add(report *r, const char *name, status st, const char *token, const char *fix,
    const char *fmt, ...)
{
	check *c;
	va_list ap;

	if (r->n == sizeof(r->v) / sizeof(r->v[0]))
		return;
	c = &r->v[r->n++];
	c->name = name;
	c->st = st;
	c->token = token ? strdup(token) : NULL;
	c->fix = strdup(fix ? fix : "");
	va_start(ap, fmt);
	if (vasprintf(&c->detail, fmt, ap) < 0)
		c->detail = NULL;
	va_end(ap);
}

/* A printf into one of four static buffers in turn (a call may use a
 * few at once), for fixes and details that name paths. */
static const char *__attribute__((format(printf, 1, 2))) fmt(const char *f, ...)
{
	static char buf[4][1024];
	static unsigned next;
	char *b = buf[next++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

/* Appends to the string in buf (cap bytes), ", " first unless it is
 * empty; what does not fit is cut. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t cap, const char *f, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 3 >= cap)
		return;
	if (n > 0) {
		memcpy(buf + n, ", ", 3);
		n += 2;
	}
	va_start(ap, f);
	vsnprintf(buf + n, cap - n, f, ap);
	va_end(ap);
}

/* --- the TPM ------------------------------------------------------------- */

/* Connects (no command yet). NULL when it cannot; the check says why. */
static tpm_ctx *
check_tcti(report *r)
{
	const char *env = getenv("TPM11_TCTI");
	const char *given = tool_tcti && *tool_tcti ? "--tcti"
			    : env && *env           ? "TPM11_TCTI"
						    : NULL;
	char err[768];
	tpm_ctx *t = NULL;

	if (tpm_open(tool_tcti, &t, err, sizeof(err)) != CKR_OK) {
		const char *fix;

		if (strstr(err, "permission denied") != NULL)
			fix = "join the group that owns the TPM device: `sudo "
			      "usermod -aG tss $USER`, then log out and in again";
		else if (given != NULL)
			fix = fmt(
				"start that TPM (or its resource manager), or "
				"set %s to one that runs (device:/dev/tpmrm0 "
				"on a PC)",
				given);
		else
			fix = "no TPM was found: on a PC, turn the TPM on in the "
			      "firmware set-up (Linux then offers /dev/tpmrm0); "
			      "to try tpm11 without one, run swtpm and set "
			      "TPM11_TCTI (see README.md)";
		add(r, "tcti", ST_FAIL, NULL, fix,
		    "%s; the checks that need the TPM were left out", err);
		return NULL;
	}
	tpm_read_only(t);
	if (given != NULL)
		add(r, "tcti", ST_OK, NULL, NULL, "%s (set by %s)",
		    tpm_tcti_name(t), given);
	else
		add(r, "tcti", ST_OK, NULL, NULL,
		    "%s, chosen by the default search (%s)", tpm_tcti_name(t),
		    tpm_tcti_search(t));
	return t;
}

static void
check_rm(report *r, tpm_ctx *t)
{
	const char *n = tpm_tcti_name(t);

	if (tpm_behind_rm(t))
		add(r, "resource-manager", ST_OK, NULL, NULL,
		    "%s is in front "
		    "of the TPM: programs using it at once do not disturb "
		    "each other",
		    strncmp(n, "tabrmd", 6) == 0
			    ? "tpm2-abrmd"
			    : "the kernel's resource manager");
	else
		add(r, "resource-manager", ST_WARN, NULL,
		    strncmp(n, "device:", 7) == 0
			    ? "use the kernel's resource manager: "
			      "TPM11_TCTI=device:/dev/tpmrm0 (or leave "
			      "TPM11_TCTI unset)"
			    : "put tpm2-abrmd in front of it and set "
			      "TPM11_TCTI=tabrmd: (docs/design.md, TPM "
			      "residency)",
		    "none: %s reaches the TPM directly, so programs using it "
		    "at the same time (ssh-agent and a browser) take each "
		    "other's few object slots",
		    n);
}

static void
check_identity(report *r, tpm_ctx *t)
{
	uint32_t fw1 = 0, fw2 = 0;
	tpm_info i;

	/* tpm_info keeps the low bytes (a CK_VERSION); the halves of
	 * TPM2_PT_FIRMWARE_VERSION_1 are what vendors publish. */
	if (tpm_get_info(t, &i) != CKR_OK ||
	    tpm_firmware(t, &fw1, &fw2) != CKR_OK) {
		add(r, "tpm", ST_FAIL, NULL,
		    "see the TCTI above; TPM11_LOG="
		    "debug shows the TPM's answers",
		    "the TPM does not answer: %s", tpm_errmsg(t));
		return;
	}
	if (i.software)
		add(r, "tpm", ST_WARN, NULL,
		    "for keys that matter use the machine's TPM "
		    "(device:/dev/tpmrm0)",
		    "%s \"%s\" firmware %u.%u, TPM 2.0 revision %u.%02u: a "
		    "software TPM; its keys are as safe as its state files, "
		    "not held by hardware",
		    i.manufacturer, i.vendor, fw1 >> 16, fw1 & 0xffff,
		    i.spec_major, i.spec_minor);
	else
		add(r, "tpm", ST_OK, NULL, NULL,
		    "%s \"%s\" firmware %u.%u, TPM 2.0 revision %u.%02u",
		    i.manufacturer, i.vendor, fw1 >> 16, fw1 & 0xffff,
		    i.spec_major, i.spec_minor);
}

static void
check_algorithms(report *r, tpm_ctx *t, core *c)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} algs[] = {
		{TPM_HAS_P256, "NIST P-256 (ecc256)"},
		{TPM_HAS_P384, "NIST P-384 (ecc384)"},
		{TPM_HAS_RSA2048 | TPM_HAS_RSA_DECRYPT, "RSA-2048 (rsa2048)"},
		{TPM_HAS_RSA3072 | TPM_HAS_RSA_DECRYPT, "RSA-3072 (rsa3072)"},
		{TPM_HAS_SHA1, "SHA-1"},
		{TPM_HAS_SHA256, "SHA-256"},
		{TPM_HAS_SHA384, "SHA-384"},
		{TPM_HAS_SHA512, "SHA-512"},
		{TPM_HAS_AES128, "AES-128"},
		{TPM_HAS_AES256, "AES-256"},
		{TPM_HAS_HMAC, "HMAC keys"},
		{TPM_HAS_ECDH, "ECDH"},
	};
	char has[512] = "", lacks[512] = "";
	const char *source = "the store's copy of the probe";
	uint32_t fw1, fw2;
	tpm_caps caps;
	size_t i;

	if (!(c != NULL && core_stored_caps(c, &caps) &&
	      tpm_firmware(t, &fw1, &fw2) == CKR_OK && fw1 == caps.fw1 &&
	      fw2 == caps.fw2)) {
		if (tpm_probe(t, &caps) != CKR_OK) {
			add(r, "tpm-algorithms", ST_WARN, NULL, "",
			    "could not ask the TPM what it offers: %s",
			    tpm_errmsg(t));
			return;
		}
		source = "asked now";
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		append((caps.has & algs[i].bit) == algs[i].bit ? has : lacks,
		       512, "%s", algs[i].name);
	if (!(caps.has & TPM_HAS_SHA256) ||
	    !(caps.has & (TPM_HAS_P256 | TPM_HAS_RSA2048)))
		add(r, "tpm-algorithms", ST_FAIL, NULL,
		    "use another TPM: tpm11 needs SHA-256 and P-256 or RSA-2048",
		    "offers %s; lacks %s (%s)", has, lacks, source);
	else if (lacks[0])
		add(r, "tpm-algorithms", ST_OK, NULL, NULL,
		    "offers %s; lacks %s, so tpm11 offers no keys or "
		    "mechanisms that need them (%s)",
		    has, lacks, source);
	else
		add(r, "tpm-algorithms", ST_OK, NULL, NULL,
		    "offers everything tpm11 uses: %s (%s)", has, source);
}

static void
check_lockout(report *r, tpm_ctx *t)
{
	tpm_lockout l;

	if (tpm_get_lockout(t, &l) != CKR_OK) {
		add(r, "lockout", ST_WARN, NULL, "",
		    "could not read the lockout state: %s", tpm_errmsg(t));
		return;
	}
	if (l.in_lockout) {
		uint64_t w = tpm_lockout_wait(&l);

		if (w == UINT64_MAX)
			add(r, "lockout", ST_FAIL, NULL,
			    "the TPM's owner ends it: `tpm2_dictionarylockout "
			    "--clear-lockout` (-p with the lockout password, if "
			    "one is set)",
			    "in dictionary-attack lockout (%u failure%s counted, "
			    "%u allowed, recovery time %u s): waiting does not "
			    "end it",
			    l.counter, l.counter == 1 ? "" : "s", l.max_tries,
			    l.recovery);
		else
			add(r, "lockout", ST_FAIL, NULL,
			    "wait, or the TPM's owner ends it at once: "
			    "`tpm2_dictionarylockout --clear-lockout` (-p with "
			    "the lockout password, if one is set)",
			    "in dictionary-attack lockout: locked out for at "
			    "most %llu s more (%u failure%s counted, %u allowed; "
			    "the TPM forgets one every %u s and does not say "
			    "how much of the current interval has passed); no "
			    "PIN is accepted until then",
			    (unsigned long long)w, l.counter,
			    l.counter == 1 ? "" : "s", l.max_tries, l.recovery);
	} else if (l.recovery == 0)
		add(r, "lockout", ST_WARN, NULL,
		    "the TPM's owner sets a recovery time, e.g. "
		    "`tpm2_dictionarylockout --setup-parameters --max-tries=32 "
		    "--recovery-time=600 --lockout-recovery-time=86400`",
		    "dictionary-attack protection is off (recovery time 0): the "
		    "TPM does not limit how fast PINs can be guessed");
	else if (l.counter > 0)
		add(r, "lockout", ST_WARN, NULL,
		    "nothing, if those were your own mistyped PINs; else someone "
		    "is guessing",
		    "%u wrong PIN%s counted (lockout after %u; the TPM forgets "
		    "one every %u s)",
		    l.counter, l.counter == 1 ? "" : "s", l.max_tries,
		    l.recovery);
	else
		add(r, "lockout", ST_OK, NULL, NULL,
		    "not locked out; no failures counted (lockout after %u, one "
		    "forgotten every %u s, lockout-password recovery %u s)",
		    l.max_tries, l.recovery, l.lockout_recovery);
}

static void
check_leftovers(report *r, tpm_ctx *t)
{
	uint32_t objs[64], sess[64];
	size_t no = 0, ns = 0, i;
	char list[640] = "";

	/* tss2's TPM2_TRANSIENT_FIRST shifts a signed int into its sign
	 * bit (UBSan says so): the handle types' first handles, spelled out. */
	if (tpm_list_handles(t, 0x80000000u, objs, 64, &no) != CKR_OK ||
	    tpm_list_handles(t, 0x02000000u, sess, 64, &ns) != CKR_OK) {
		add(r, "leftovers", ST_WARN, NULL, "",
		    "could not list the loaded handles: %s", tpm_errmsg(t));
		return;
	}
	if (tpm_behind_rm(t)) {
		/* This connection's view only; ours holds nothing. */
		add(r, "leftovers", ST_OK, NULL, NULL,
		    "behind a resource manager each program sees only its own "
		    "handles (this one: %zu objects, %zu sessions); it flushes "
		    "a program's when the program goes",
		    no, ns);
		return;
	}
	if (no + ns == 0) {
		add(r, "leftovers", ST_OK, NULL, NULL,
		    "no transient objects or sessions loaded in the TPM");
		return;
	}
	for (i = 0; i < no + ns; i++)
		append(list, sizeof(list), "0x%08x",
		       i < no ? objs[i] : sess[i - no]);
	add(r, "leftovers", ST_FAIL, NULL,
	    "if no other program uses this TPM now, flush them: "
	    "`tpm2_flushcontext --transient-object; tpm2_flushcontext "
	    "--loaded-session` (tpm11 also flushes such leftovers itself when "
	    "the TPM is full); a resource manager (device:/dev/tpmrm0, "
	    "tpm2-abrmd) keeps programs apart",
	    "%zu transient object%s and %zu session%s are loaded (%s): other "
	    "programs' on this direct connection, live ones (ssh-agent "
	    "holding a key) or left by killed ones; the TPM holds only a few",
	    no, no == 1 ? "" : "s", ns, ns == 1 ? "" : "s", list);
}

static void
check_primary(report *r, tpm_ctx *t, core *c)
{
	const blob *name;
	uint32_t h;
	CK_RV rv;

	if (core_primary(c, &h, &name) != CKR_OK) {
		add(r, "tpm-primary", ST_FAIL, NULL, "run `tpm11 init`",
		    "the store records no primary key");
		return;
	}
	if ((rv = tpm_primary_use(t, h, name)) == CKR_DEVICE_MEMORY) {
		add(r, "tpm-primary", ST_FAIL, NULL,
		    "free the slots (see leftovers above); tpm11 itself frees "
		    "leftovers of a direct TPM when it needs a slot",
		    "%s", tpm_errmsg(t));
		return;
	}
	if (rv != CKR_OK) {
		add(r, "tpm-primary", ST_FAIL, NULL,
		    "if this TPM was cleared, the store's keys are gone for "
		    "good: move the store aside and run `tpm11 init`; if the "
		    "store comes from another machine, use it there",
		    "%s", tpm_errmsg(t));
		return;
	}
	add(r, "tpm-primary", ST_OK, NULL, NULL,
	    "the primary key 0x%08x is in the TPM, with the Name the store "
	    "recorded",
	    h);
}

static void
check_pins(report *r, tpm_ctx *t, core *c)
{
	size_t i;

	for (i = 0; i < c->ntokens; i++) {
		token_rec *rec = &c->tokens[i]->rec;
		tpm_nv user = {rec->user_nv, rec->user_nv_name};
		tpm_nv so = {rec->so_nv, rec->so_nv_name};

		if (tpm_nv_check(t, &user) != CKR_OK ||
		    tpm_nv_check(t, &so) != CKR_OK)
			add(r, "token-pins", ST_FAIL, rec->label,
			    fmt("remove it (`tpm11 rmtoken --label %s`), make "
				"a new token and keys, and replace the old public "
				"keys where they are trusted",
				rec->label),
			    "token \"%s\": %s", rec->label, tpm_errmsg(t));
		else
			add(r, "token-pins", ST_OK, rec->label, NULL,
			    "token \"%s\": its PIN indices 0x%08x (user) and "
			    "0x%08x (SO) are in the TPM with the Names the store "
			    "recorded",
			    rec->label, rec->user_nv, rec->so_nv);
	}
}

/* --- the store ------------------------------------------------------------ */

static const char *
user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? fmt("%s (uid %u)", pw->pw_name, (unsigned)uid)
		  : fmt("uid %u", (unsigned)uid);
}

/* The directory and its database files: the user's own, not writable by
 * others (the store refuses that), not readable by others (DESIGN.md
 * property 5). False when the store cannot be used. */
static bool
check_store_files(report *r, const char *dir)
{
	static const char *const files[] = {"", "/" STORE_DB_NAME,
					    "/" STORE_DB_NAME "-wal",
					    "/" STORE_DB_NAME "-shm"};
	char path[PATH_MAX], modes[1024] = "";
	bool readable = false;
	struct stat st = {0};
	size_t i;

	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		const char *why = !S_ISDIR(st.st_mode) && errno == 0
					  ? "not a directory"
				  : errno == ENOENT ? "no store here"
						    : strerror(errno);

		add(r, "store", ST_FAIL, NULL,
		    "`tpm11 init` makes it (or set TPM11_STORE / --store to your "
		    "store)",
		    "%s: %s", dir, why);
		return false;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, files[i]);
		if (stat(path, &st) != 0) {
			if (i == 1) {
				add(r, "store", ST_FAIL, NULL,
				    "run `tpm11 init`",
				    "%s: no store database in it", dir);
				return false;
			}
			continue;
		}
		if (st.st_uid != geteuid()) {
			add(r, "store", ST_FAIL, NULL,
			    "use a store of your own: set TPM11_STORE (or "
			    "--store) to a directory of yours",
			    "%s belongs to %s, not to you (uid %u); tpm11 "
			    "refuses it",
			    path, user_name(st.st_uid), (unsigned)geteuid());
			return false;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			add(r, "store", ST_FAIL, NULL,
			    fmt("`chmod %s %s`, and check what was changed "
				"there (whoever can write it can swap keys)",
				i == 0 ? "700" : "600", path),
			    "%s is writable by others (mode %04o); tpm11 "
			    "refuses it",
			    path, (unsigned)(st.st_mode & 07777));
			return false;
		}
		readable |= (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
		append(modes, sizeof(modes), "%s %04o",
		       i == 0 ? dir : files[i] + 1,
		       (unsigned)(st.st_mode & 07777));
	}
	if (readable)
		add(r, "store", ST_WARN, NULL,
		    fmt("`chmod 700 %s; chmod 600 %s/%s*`", dir, dir,
			STORE_DB_NAME),
		    "others may read the store (%s): it holds no secret, but "
		    "shows which keys you have",
		    modes);
	else
		add(r, "store", ST_OK, NULL, NULL, "yours, private: %s", modes);
	return true;
}

/* The database: schema and integrity. True when it is a usable store. */
static bool
check_store_db(report *r, const char *dir)
{
	char err[768], problems[512], path[PATH_MAX];
	int64_t schema = 0;
	struct stat st;
	store *s = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	rc = store_open(dir, false, &s, err, sizeof(err));
	if (rc == STORE_OLD) {
		old_token *ot = NULL;
		size_t n = 0;

		if (store_open_old(dir, &s, err, sizeof(err)) == STORE_OK &&
		    store_old_tokens(s, &ot, &n) != STORE_OK)
			n = 0;
		free(ot);
		store_close(s);
		add(r, "store-schema", ST_FAIL, NULL,
		    "run `tpm11 migrate`: it lists the tokens and keys with "
		    "their public keys and sets the old database aside; then "
		    "make new keys (docs/design.md, \"Stores of key model 1\")",
		    "%s holds %zu token%s of tpm11's first key model (schema "
		    "1), which the module and tool no longer use",
		    path, n, n == 1 ? "" : "s");
		return false;
	}
	if (rc == STORE_CORRUPT && stat(path, &st) == 0 && st.st_size == 0) {
		add(r, "store-schema", ST_FAIL, NULL,
		    "restore the file from a backup (docs/design.md, \"Backing "
		    "up a store\"); to start afresh instead, move it away and "
		    "run `tpm11 init`",
		    "%s is empty (0 bytes): the store was truncated and its "
		    "tokens are gone from it",
		    path);
		return false;
	}
	if (rc == STORE_NEWER) {
		add(r, "store-schema", ST_FAIL, NULL,
		    "use the newer tpm11 that made it", "%s", err);
		return false;
	}
	if (rc != STORE_OK) {
		add(r, "store-schema", ST_FAIL, NULL,
		    rc == STORE_CORRUPT
			    ? "restore the store from a backup (docs/design.md, "
			      "\"Backing up a store\")"
			    : "see the message; TPM11_LOG=debug says more",
		    "%s", err);
		return false;
	}
	rc = store_check(s, &schema, problems, sizeof(problems));
	add(r, "store-schema", ST_OK, NULL, NULL,
	    "%s: schema %lld (key model 2)", path, (long long)schema);
	if (rc == STORE_OK)
		add(r, "store-integrity", ST_OK, NULL, NULL,
		    "sqlite's integrity check: ok");
	else
		add(r, "store-integrity", ST_FAIL, NULL,
		    "restore the store from a backup (docs/design.md, "
		    "\"Backing up a store\"); `sqlite3 FILE .recover` may save "
		    "what is left",
		    "sqlite's integrity check: %s",
		    problems[0] ? problems : store_errmsg(s));
	store_close(s);
	return rc == STORE_OK;
}

/* Two private keys of t with the same label, or NULL. */
static const char *
dup_label(const token *t)
{
	static char buf[256];
	size_t i, j;

	for (i = 0; i < t->nobjs; i++) {
		const CK_ATTRIBUTE *a =
			attr_find(&t->objs[i]->attrs, CKA_LABEL);

		if (t->objs[i]->cls != CKO_PRIVATE_KEY || a == NULL)
			continue;
		for (j = i + 1; j < t->nobjs; j++) {
			const CK_ATTRIBUTE *b =
				attr_find(&t->objs[j]->attrs, CKA_LABEL);

			if (t->objs[j]->cls == CKO_PRIVATE_KEY && b &&
			    a->ulValueLen == b->ulValueLen &&
			    memcmp(a->pValue, b->pValue, a->ulValueLen) == 0) {
				snprintf(buf, sizeof(buf), "%.*s",
					 (int)a->ulValueLen,
					 (const char *)a->pValue);
				return buf;
			}
		}
	}
	return NULL;
}

static void
check_tokens(report *r, core *c)
{
	token_rec *recs = NULL;
	size_t n = 0, i, j;

	if (c->ntokens == 0)
		add(r, "tokens", ST_WARN, NULL,
		    "`tpm11 addtoken --label LABEL` makes one",
		    "the store has no tokens yet");
	for (i = 0; i < c->ntokens; i++) {
		token *t = c->tokens[i];
		size_t keys = 0, certs = 0;
		const char *dup = dup_label(t);

		for (j = 0; j < t->nobjs; j++) {
			keys += t->objs[j]->cls == CKO_PRIVATE_KEY ||
				t->objs[j]->cls == CKO_SECRET_KEY;
			certs += t->objs[j]->cls == CKO_CERTIFICATE;
		}
		if (t->damaged > 0)
			add(r, "tokens", ST_FAIL, t->rec.label,
			    "restore the store from a backup (docs/design.md, "
			    "\"Backing up a store\")",
			    "token \"%s\": %zu damaged object%s left out (%s)",
			    t->rec.label, t->damaged,
			    t->damaged == 1 ? "" : "s", store_errmsg(c->st));
		else if (t->rec.flags & TOKEN_REC_USER_PIN_UNSET)
			add(r, "tokens", ST_WARN, t->rec.label,
			    fmt("`tpm11 initpin --label %s` sets it (with the "
				"SO PIN)",
				t->rec.label),
			    "token \"%s\" (serial %s): %zu keys, no user PIN "
			    "set yet",
			    t->rec.label, t->rec.serial, keys);
		else if (dup != NULL)
			add(r, "tokens", ST_WARN, t->rec.label,
			    fmt("name the key with --id (`tpm11 listobjects "
				"--label %s` shows the ids), or remove one",
				t->rec.label),
			    "token \"%s\": two keys are labelled \"%s\", so "
			    "--key-label %s does not pick one",
			    t->rec.label, dup, dup);
		else
			add(r, "tokens", ST_OK, t->rec.label, NULL,
			    "token \"%s\" (serial %s): %zu key%s, %zu "
			    "certificate%s, user PIN set",
			    t->rec.label, t->rec.serial, keys,
			    keys == 1 ? "" : "s", certs, certs == 1 ? "" : "s");
	}
	/* Rows of tokens being made or removed: done by a live process, or
	 * cut short (token_finish_pending clears those up). */
	if (store_tokens(c->st, &recs, &n) != STORE_OK)
		return;
	for (i = 0; i < n; i++) {
		pid_t pid = (pid_t)recs[i].pending;

		if (pid == 0)
			continue;
		if (kill(pid, 0) == 0 || errno == EPERM)
			add(r, "tokens", ST_OK, recs[i].label, NULL,
			    "token \"%s\" is being made or removed by process "
			    "%d",
			    recs[i].label, (int)pid);
		else
			add(r, "tokens", ST_WARN, recs[i].label,
			    fmt("`tpm11 rmtoken --label %s` finishes the work "
				"(so does the next addtoken)",
				recs[i].label),
			    "token \"%s\": its making or removal by process %d "
			    "was cut short",
			    recs[i].label, (int)pid);
	}
	store_tokens_free(recs, n);
}

/* --- p11-kit and ssh-agent ---------------------------------------------- */

/* The value of the "module:" line of a p11-kit module file, resolved as
 * p11-kit does (a bare name lives in its module directory). */
static bool
module_file_path(const char *file, char *out, size_t cap)
{
	char line[PATH_MAX + 32];
	FILE *f = fopen(file, "re");
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *v = line + strspn(line, " \t");

		if (strncmp(v, "module:", 7) != 0)
			continue;
		v += 7;
		v += strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		while (*v &&
		       (v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t'))
			v[strlen(v) - 1] = '\0';
		out[0] = '\0';
		if (*v == '/')
			append(out, cap, "%s", v);
		else
			append(out, cap, "%s/%s", TPM11_P11KIT_MODULE_PATH, v);
		found = true;
	}
	fclose(f);
	return found;
}

/* Looks for tpm11's module file in p11-kit's directories. Sets module to
 * the path it names when that exists. */
static void
check_p11kit(report *r, char *module, size_t cap)
{
	const char *dirs[4] = {TPM11_P11KIT_DIR, "/usr/share/p11-kit/modules",
			       "/etc/pkcs11/modules", NULL};
	char user_dir[PATH_MAX], seen[PATH_MAX * 2] = "";
	const char *home = getenv("HOME");
	size_t d, found = 0;

	/* p11-kit reads the user's directory only for other users than
	 * root (docs/cli.md). */
	if (geteuid() != 0 && home && *home) {
		snprintf(user_dir, sizeof(user_dir),
			 "%s/.config/pkcs11/modules", home);
		dirs[3] = user_dir;
	}
	for (d = 0; d < 4; d++) {
		DIR *dh;
		struct dirent *e;
		size_t j;
		bool dup = false;

		if (dirs[d] == NULL)
			continue;
		for (j = 0; j < d; j++)
			dup |= dirs[j] && strcmp(dirs[j], dirs[d]) == 0;
		if (dup || (dh = opendir(dirs[d])) == NULL)
			continue;
		while ((e = readdir(dh)) != NULL) {
			char file[PATH_MAX * 2], path[PATH_MAX];
			const char *base;
			size_t len = strlen(e->d_name);

			if (len < 8 ||
			    strcmp(e->d_name + len - 7, ".module") != 0)
				continue;
			snprintf(file, sizeof(file), "%s/%s", dirs[d],
				 e->d_name);
			if (!module_file_path(file, path, sizeof(path)))
				continue;
			base = strrchr(path, '/') ? strrchr(path, '/') + 1
						  : path;
			if (strcmp(e->d_name, "tpm11.module") != 0 &&
			    strcmp(base, "libtpm11.so") != 0)
				continue;
			found++;
			if (access(path, R_OK) != 0) {
				add(r, "p11-kit", ST_FAIL, NULL,
				    fmt("install the module again (`sudo make "
					"install`), or correct or remove %s",
					file),
				    "%s names %s, which %s: p11-kit skips it "
				    "without a word",
				    file, path,
				    errno == ENOENT ? "does not exist"
						    : strerror(errno));
				continue;
			}
			if (module[0] == '\0')
				snprintf(module, cap, "%s", path);
			append(seen, sizeof(seen), "%s -> %s", file, path);
		}
		closedir(dh);
	}
	if (seen[0])
		add(r, "p11-kit", ST_OK, NULL, NULL, "p11-kit knows tpm11: %s",
		    seen);
	else if (found == 0)
		add(r, "p11-kit", ST_WARN, NULL,
		    fmt("`sudo make install` writes %s/tpm11.module; or write "
			"one with the line `module: PATH-TO-libtpm11.so` into "
			"one of those directories",
			TPM11_P11KIT_DIR),
		    "no tpm11 module file in p11-kit's directories (%s%s%s%s): "
		    "programs that find modules through p11-kit (p11-kit "
		    "list-modules, GnuTLS) do not see tpm11",
		    dirs[0], strcmp(dirs[0], dirs[1]) ? ", " : "",
		    strcmp(dirs[0], dirs[1]) ? dirs[1] : "",
		    fmt(", %s%s%s", dirs[2], dirs[3] ? ", " : "",
			dirs[3] ? dirs[3] : ""));
}

static void
check_module(report *r, const char *module, bool given)
{
	struct stat st;

	if (stat(module, &st) == 0 && S_ISREG(st.st_mode))
		add(r, "module", ST_OK, NULL, NULL, "%s", module);
	else
		add(r, "module", ST_FAIL, NULL,
		    given ? "give the path of libtpm11.so"
			  : "`sudo make install` installs it there (or give "
			    "--module PATH for a module elsewhere)",
		    "no module at %s", module);
}

/* ssh-agent's -P patterns from a running agent's command line, if it is
 * SSH_AGENT_PID's and readable; NULL otherwise (then the default). */
static const char *
agent_allow(pid_t *pid)
{
	static char cmd[4096];
	const char *v = getenv("SSH_AGENT_PID");
	char path[64];
	size_t n, i;
	FILE *f;

	*pid = 0;
	if (v == NULL || (*pid = (pid_t)atoi(v)) <= 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)*pid);
	if ((f = fopen(path, "re")) == NULL) {
		*pid = 0;
		return NULL;
	}
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	cmd[n] = '\0';
	if (strstr(cmd, "ssh-agent") == NULL) {
		*pid = 0;
		return NULL;
	}
	for (i = strlen(cmd) + 1; i < n; i += strlen(cmd + i) + 1) {
		if (strcmp(cmd + i, "-P") == 0 && i + 3 < n)
			return cmd + i + 3;
		if (strncmp(cmd + i, "-P", 2) == 0 && cmd[i + 2])
			return cmd + i + 2;
	}
	return NULL;
}

/* OpenSSH's match_pattern_list for one path: a comma-separated list of
 * globs ('*' and '?' match '/' too), a '!' in front denies. */
static bool
allow_list_accepts(const char *list, const char *path)
{
	char *copy = strdup(list), *save = NULL, *p;
	bool ok = false;

	if (copy == NULL)
		return false;
	for (p = strtok_r(copy, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		bool neg = *p == '!';

		if (fnmatch(neg ? p + 1 : p, path, 0) != 0)
			continue;
		if (neg) {
			ok = false;
			break;
		}
		ok = true;
	}
	free(copy);
	return ok;
}

static void
check_ssh_agent(report *r, const char *module)
{
	char real[PATH_MAX];
	pid_t pid;
	const char *allow = agent_allow(&pid);
	bool dflt = allow == NULL;

	if (realpath(module, real) == NULL)
		snprintf(real, sizeof(real), "%s", module);
	if (dflt)
		allow = SSH_AGENT_DEFAULT_ALLOW;
	if (allow_list_accepts(allow, real)) {
		add(r, "ssh-agent", ST_OK, NULL, NULL,
		    "%s accepts %s (allow-list %s)",
		    pid ? fmt("ssh-agent (PID %d)", (int)pid)
			: "ssh-agent, started without -P,",
		    real, allow);
		return;
	}
	add(r, "ssh-agent", pid && !dflt ? ST_FAIL : ST_WARN, NULL,
	    fmt("install the module under /usr/local/lib (`sudo make "
		"install`), or start ssh-agent with -P '%s'",
		real),
	    "%s refuses %s (allow-list %s): `ssh-add -s` fails with \"agent "
	    "refused operation\"",
	    pid ? fmt("ssh-agent (PID %d)", (int)pid)
		: "ssh-agent, started without -P,",
	    real, allow);
}

/* --- output -------------------------------------------------------------- */

static void
print_text(const report *r, size_t fails, size_t warns)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const check *c = &r->v[i];

		printf("%-5s %-17s %s\n",
		       c->st == ST_FAIL   ? "FAIL"
		       : c->st == ST_WARN ? "warn"
					  : "ok",
		       c->name, c->detail ? c->detail : "");
		if (c->st != ST_OK && c->fix[0])
			printf("%-5s %-17s fix: %s\n", "", "", c->fix);
	}
	if (fails == 0)
		printf("\nhealthy%s\n", warns ? fmt(" (%zu warning%s)", warns,
						    warns == 1 ? "" : "s")
					      : "");
	else
		printf("\n%zu problem%s%s: see the FAIL lines and their fixes\n",
		       fails, fails == 1 ? "" : "s",
		       warns ? fmt(", %zu warning%s", warns,
				   warns == 1 ? "" : "s")
			     : "");
}

static int
print_json(const report *r, size_t fails, size_t warns)
{
	json_writer w;
	char *out;
	size_t i, len;

	json_w_init(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "schema");
	json_w_int(&w, 1);
	json_w_key(&w, "healthy");
	json_w_bool(&w, fails == 0);
	json_w_key(&w, "problems");
	json_w_int(&w, (int64_t)fails);
	json_w_key(&w, "warnings");
	json_w_int(&w, (int64_t)warns);
	json_w_key(&w, "checks");
	json_w_arr_begin(&w);
	for (i = 0; i < r->n; i++) {
		const check *c = &r->v[i];

		json_w_obj_begin(&w);
		json_w_key(&w, "name");
		json_w_str(&w, c->name);
		if (c->token) {
			json_w_key(&w, "token");
			json_w_str(&w, c->token);
		}
		json_w_key(&w, "status");
		json_w_str(&w, status_name[c->st]);
		json_w_key(&w, "detail");
		json_w_str(&w, c->detail ? c->detail : "");
		json_w_key(&w, "fix");
		json_w_str(&w, c->fix);
		json_w_obj_end(&w);
	}
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	if ((out = json_w_finish(&w, &len)) == NULL) {
		fprintf(stderr, "tpm11: doctor: out of memory\n");
		return -1;
	}
	fwrite(out, 1, len, stdout);
	free(out);
	return 0;
}

int
cmd_doctor(int argc, char **argv)
{
	opt opts[] = {
		{"json", OPT_FLAG,
		 "print the checks as JSON (docs/cli.md has "
		 "the schema)"},
		{"module", OPT_VALUE,
		 "check this libtpm11.so (default: the one "
		 "p11-kit names, else " TPM11_MODULE_PATH ")"},
		{NULL},
	};
	char module[PATH_MAX] = "";
	size_t i, fails = 0, warns = 0;
	tpm_ctx *t;
	core *c = NULL;
	report *r;
	bool store_ok, have_store;
	int ret;

	{
		int r_ = tool_args(
			argc, argv, opts, "doctor", "[--json] [--module PATH]",
			"Checks the TPM, the store, the tokens and how "
			"programs find the module, and says\nwhat is "
			"wrong and how to fix it. Reads only: nothing "
			"is changed.\nExit status 0 when no check "
			"fails, 1 otherwise.");
		if (r_ != 0)
			return r_ < 0 ? 2 : 0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    core_new(tool_store, tool_tcti, &c) != CKR_OK) {
		fprintf(stderr, "tpm11: doctor: out of memory\n");
		free(r);
		return 1;
	}
	/* The store, opened quietly first: its copy of the TPM's probe
	 * spares asking the TPM again. Its checks follow the TPM's. */
	have_store = core_refresh(c) == CKR_OK && c->st != NULL;
	if ((t = check_tcti(r)) != NULL) {
		check_rm(r, t);
		check_identity(r, t);
		check_algorithms(r, t, have_store ? c : NULL);
		check_lockout(r, t);
		check_leftovers(r, t);
	}
	store_ok = check_store_files(r, c->store_dir) &&
		   check_store_db(r, c->store_dir) && have_store;
	if (store_ok) {
		if (t != NULL)
			check_primary(r, t, c);
		check_tokens(r, c);
		if (t != NULL)
			check_pins(r, t, c);
	}
	/* How programs find the module. */
	if (opts_value(opts, "module"))
		snprintf(module, sizeof(module), "%s",
			 opts_value(opts, "module"));
	check_p11kit(r, module, sizeof(module));
	if (module[0] == '\0')
		snprintf(module, sizeof(module), "%s", TPM11_MODULE_PATH);
	check_module(r, module, opts_value(opts, "module") != NULL);
	check_ssh_agent(r, module);

	for (i = 0; i < r->n; i++) {
		fails += r->v[i].st == ST_FAIL;
		warns += r->v[i].st == ST_WARN;
	}
	if (opts_get(opts, "json")->given)
		ret = print_json(r, fails, warns) == 0 && fails == 0 ? 0 : 1;
	else {
		print_text(r, fails, warns);
		ret = fails == 0 ? 0 : 1;
	}
	for (i = 0; i < r->n; i++) {
		free(r->v[i].token);
		free(r->v[i].detail);
		free(r->v[i].fix);
	}
	free(r);
	tpm_close(t);
	core_close(c);
	return ret;
}
