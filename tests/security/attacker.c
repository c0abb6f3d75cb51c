/* attacker: a process that does not know the PIN tries to use a token's
 * keys straight through the TPM (ESAPI, no PKCS#11 module): with every
 * transient object the TPM holds (whoever loaded it) and with every key
 * blob in the store, loaded by itself. DESIGN.md property 7, issue 12.
 *
 *   attacker --tcti TCTI [--store DIR] [--phase NAME] [--pin LABEL]...
 *            [--public LABEL]... [--min-handles N]
 *
 * --pin LABEL: a key that needs the PIN; --public LABEL: a key made
 * without login (CKA_PRIVATE false), which must work for us (the positive
 * control). A store row is named by the label whose bytes its attributes
 * hold; rows named by no label count as keys that need the PIN. The store
 * is DIR/tpm11.sqlite3 (default $TPM11_STORE), table objects(id, attrs,
 * tpm_pub, tpm_priv): marshalled TPM2B_PUBLIC and TPM2B_PRIVATE.
 * --min-handles N: at least N transient objects must be in the TPM (so the
 * handle attack is not vacuous).
 *
 * Every attempt authorises with a password session holding an empty auth
 * value. The TPM checks the authorisation before it unmarshals or checks
 * the command's parameters (TPM 2.0 Part 3, 5 "Command Processing":
 * handle area, session area and authorisation, then parameters), so only
 * an authorisation error (or the object being gone) counts as refused:
 * success, or any later error, means the TPM accepted our empty
 * authorisation for that key.
 *
 * A full TPM (TPM_RC_OBJECT_MEMORY) on our Load is answered as an
 * attacker would: ContextSave and flush another transient object, load,
 * try, flush ours, ContextLoad the other back at its own handle. Output is
 * TAP (tests/lib/t11test.h: TAP_START, TAP_PREFIX). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "rel.h"

#define SRK_HANDLE 0x81000001u
#define MAX_LABELS 16
#define MAX_HANDLES 64
#define MAX_ATTEMPTS 4

typedef struct blobrow {
	long long id;
	char name[300];
	bool public_key;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
} blobrow;

typedef struct attempt {
	const char *op;
	TSS2_RC rc;
} attempt;

static ESYS_CONTEXT *ectx;
static blobrow *rows;
static size_t nrows;
static const char *phase = "";

/* The transient objects found at the start, and one of them saved away
 * to make room (see make_room). */
static TPM2_HANDLE handles[MAX_HANDLES];
static ESYS_TR handle_tr[MAX_HANDLES];
static size_t nhandles;
static TPMS_CONTEXT *saved;
static size_t saved_i;

/* --- return codes --------------------------------------------------------- */

/* An authorisation refusal, or the object no longer there. */
static bool
refused(TSS2_RC rc)
{
	TSS2_RC base;

	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return false;
	if (rc & TPM2_RC_FMT1) {
		base = rc & (TPM2_RC_FMT1 | 0x3f);
		return base == TPM2_RC_AUTH_FAIL || base == TPM2_RC_BAD_AUTH ||
		       base == TPM2_RC_POLICY_FAIL || base == TPM2_RC_EXPIRED ||
		       base == TPM2_RC_POLICY_CC || base == TPM2_RC_HANDLE;
	}
	base = rc & 0xfff;
	return base == TPM2_RC_AUTH_UNAVAILABLE || base == TPM2_RC_AUTH_TYPE ||
	       base == TPM2_RC_AUTH_MISSING || base == TPM2_RC_POLICY ||
	       base == TPM2_RC_LOCKOUT || base == TPM2_RC_NV_AUTHORIZATION ||
	       (base >= TPM2_RC_REFERENCE_H0 && base <= TPM2_RC_REFERENCE_H6);
}

static const char *
rc_text(TSS2_RC rc)
{
	static char buf[160];

	if (rc == TSS2_RC_SUCCESS)
		return "success";
	snprintf(buf, sizeof(buf), "0x%x %s", rc, Tss2_RC_Decode(rc));
	return buf;
}

/* --- the store -------------------------------------------------------------- */

static const char *pin_labels[MAX_LABELS], *pub_labels[MAX_LABELS];
static size_t npin, npub;

/* Names row r by the longest label whose bytes its attributes hold. */
static void
name_row(blobrow *r, const void *attrs, size_t alen)
{
	size_t best = 0, i, l;

	snprintf(r->name, sizeof(r->name), "row %lld (no label given)", r->id);
	for (i = 0; i < npin + npub; i++) {
		bool pub = i >= npin;
		const char *lab = pub ? pub_labels[i - npin] : pin_labels[i];

		l = strlen(lab);
		if (l > best && memmem(attrs, alen, lab, l) != NULL) {
			best = l;
			snprintf(r->name, sizeof(r->name), "%s", lab);
			r->public_key = pub;
		}
	}
}

static bool
read_store(const char *dir)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool good = false;
	size_t cap = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/tpm11.sqlite3", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT id, attrs, tpm_pub, tpm_priv "
			       "FROM objects WHERE tpm_pub IS NOT NULL AND "
			       "tpm_priv IS NOT NULL ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK) {
		t11_diag("reading %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		blobrow *r;
		size_t off = 0, off2 = 0;
		int lp = sqlite3_column_bytes(st, 2);
		int lv = sqlite3_column_bytes(st, 3);

		if (nrows == cap) {
			cap = cap ? 2 * cap : 16;
			if ((r = realloc(rows, cap * sizeof(*rows))) == NULL)
				goto out;
			rows = r;
		}
		r = &rows[nrows];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		name_row(r, sqlite3_column_blob(st, 1),
			 (size_t)sqlite3_column_bytes(st, 1));
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(sqlite3_column_blob(st, 2),
						   (size_t)lp, &off, &r->pub) !=
			    TSS2_RC_SUCCESS || off != (size_t)lp ||
		    Tss2_MU_TPM2B_PRIVATE_Unmarshal(sqlite3_column_blob(st, 3),
						    (size_t)lv, &off2,
						    &r->priv) !=
			    TSS2_RC_SUCCESS || off2 != (size_t)lv) {
			t11_ok(false, "%sstore row %lld (%s) holds a "
				"marshalled TPM2B_PUBLIC and TPM2B_PRIVATE",
				phase, r->id, r->name);
			continue;
		}
		t11_diag("%sstore row %lld: %s", phase, r->id, r->name);
		nrows++;
	}
	good = rc == SQLITE_DONE;
	if (!good)
		t11_diag("reading %s: %s", path, sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return good;
}

/* The row whose public area is pub's, or NULL. */
static blobrow *
row_of(const TPMT_PUBLIC *pub)
{
	uint8_t a[sizeof(TPMT_PUBLIC)], b[sizeof(TPMT_PUBLIC)];
	size_t la = 0, lb, i;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, a, sizeof(a), &la) != 0)
		return NULL;
	for (i = 0; i < nrows; i++) {
		lb = 0;
		if (Tss2_MU_TPMT_PUBLIC_Marshal(&rows[i].pub.publicArea, b,
						sizeof(b), &lb) == 0 &&
		    la == lb && memcmp(a, b, la) == 0)
			return &rows[i];
	}
	return NULL;
}

/* --- attempts ----------------------------------------------------------- */

/* A digest of hash alg and its hashcheck ticket (valid for restricted
 * signing keys of the owner hierarchy too). */
static TSS2_RC
digest_of(TPMI_ALG_HASH alg, TPM2B_DIGEST **dg, TPMT_TK_HASHCHECK **tk)
{
	TPM2B_MAX_BUFFER data = { .size = 8 };

	memcpy(data.buffer, "attacker", 8);
	return Esys_Hash(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &data,
			 alg, ESYS_TR_RH_OWNER, dg, tk);
}

static TSS2_RC
try_sign(ESYS_TR tr, const TPMT_PUBLIC *p)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPMI_ALG_HASH alg = TPM2_ALG_SHA256;
	TPM2B_DIGEST *dg = NULL;
	TPMT_TK_HASHCHECK *tk = NULL;
	TPMT_SIGNATURE *sig = NULL;
	const TPMT_RSA_SCHEME *rs = &p->parameters.rsaDetail.scheme;
	const TPMT_ECC_SCHEME *es = &p->parameters.eccDetail.scheme;
	TPMI_ALG_ASYM_SCHEME ks;
	TSS2_RC rc;

	ks = p->type == TPM2_ALG_RSA ? rs->scheme : es->scheme;
	if (ks == TPM2_ALG_NULL) {
		scheme.scheme = p->type == TPM2_ALG_RSA ? TPM2_ALG_RSASSA :
							  TPM2_ALG_ECDSA;
		scheme.details.any.hashAlg = alg;
	} else {
		/* The key's own scheme and hash (scheme stays NULL). */
		alg = p->type == TPM2_ALG_RSA ? rs->details.anySig.hashAlg :
						es->details.anySig.hashAlg;
	}
	if ((rc = digest_of(alg, &dg, &tk)) != TSS2_RC_SUCCESS)
		return rc;
	rc = Esys_Sign(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		       dg, &scheme, tk, &sig);
	Esys_Free(dg);
	Esys_Free(tk);
	Esys_Free(sig);
	return rc;
}

static TSS2_RC
try_rsa_decrypt(ESYS_TR tr, const TPMT_PUBLIC *p)
{
	TPM2B_PUBLIC_KEY_RSA c = { .size = p->unique.rsa.size };
	TPMT_RSA_DECRYPT scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_DATA label = { .size = 0 };
	TPM2B_PUBLIC_KEY_RSA *m = NULL;
	TSS2_RC rc;

	/* c = 2, below any modulus: raw RSA (or the key's own scheme). */
	if (c.size == 0)
		c.size = 256;
	c.buffer[c.size - 1] = 2;
	rc = Esys_RSA_Decrypt(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			      ESYS_TR_NONE, &c, &scheme, &label, &m);
	Esys_Free(m);
	return rc;
}

static TSS2_RC
try_ecdh(ESYS_TR tr, const TPMT_PUBLIC *p)
{
	TPM2B_ECC_POINT in = { .point = p->unique.ecc };
	TPM2B_ECC_POINT *z = NULL;
	TSS2_RC rc;

	rc = Esys_ECDH_ZGen(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			    ESYS_TR_NONE, &in, &z);
	Esys_Free(z);
	return rc;
}

static TSS2_RC
try_hmac(ESYS_TR tr, const TPMT_PUBLIC *p)
{
	TPM2B_MAX_BUFFER data = { .size = 8 };
	TPM2B_DIGEST *mac = NULL;
	TPMI_ALG_HASH alg = TPM2_ALG_SHA256;
	TSS2_RC rc;

	if (p->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL)
		alg = TPM2_ALG_NULL;
	memcpy(data.buffer, "attacker", 8);
	rc = Esys_HMAC(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
		       &data, alg, &mac);
	Esys_Free(mac);
	return rc;
}

static TSS2_RC
try_unseal(ESYS_TR tr)
{
	TPM2B_SENSITIVE_DATA *d = NULL;
	TSS2_RC rc;

	rc = Esys_Unseal(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			 ESYS_TR_NONE, &d);
	Esys_Free(d);
	return rc;
}

static TSS2_RC
try_symcipher(ESYS_TR tr, const TPMT_PUBLIC *p)
{
	TPM2B_MAX_BUFFER in = { .size = 16 };
	TPM2B_IV iv = { .size = 16 };
	TPM2B_MAX_BUFFER *out = NULL;
	TPM2B_IV *ivout = NULL;
	TPMI_ALG_CIPHER_MODE mode = TPM2_ALG_CFB;
	TSS2_RC rc;

	if (p->parameters.symDetail.sym.mode.sym != TPM2_ALG_NULL)
		mode = TPM2_ALG_NULL;
	rc = Esys_EncryptDecrypt2(ectx, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, &in, TPM2_YES, mode, &iv, &out,
				  &ivout);
	Esys_Free(out);
	Esys_Free(ivout);
	return rc;
}

static bool
is_parent(const TPMT_PUBLIC *p)
{
	TPMA_OBJECT a = p->objectAttributes;

	return (a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT) &&
	       (p->type == TPM2_ALG_RSA || p->type == TPM2_ALG_ECC);
}

/* Every use of the object that yields a signature, a decryption, a MAC
 * or data; into out (at most MAX_ATTEMPTS). */
static size_t
try_uses(ESYS_TR tr, const TPMT_PUBLIC *p, attempt *out)
{
	TPMA_OBJECT a = p->objectAttributes;
	bool sign = a & TPMA_OBJECT_SIGN_ENCRYPT, dec = a & TPMA_OBJECT_DECRYPT;
	bool restricted = a & TPMA_OBJECT_RESTRICTED;
	TPM2B_AUTH empty = { .size = 0 };
	size_t n = 0;

	Esys_TR_SetAuth(ectx, tr, &empty);
	switch (p->type) {
	case TPM2_ALG_ECC:
	case TPM2_ALG_RSA:
		if (sign)
			out[n++] = (attempt){ "TPM2_Sign", try_sign(tr, p) };
		if (dec && !restricted && p->type == TPM2_ALG_RSA)
			out[n++] = (attempt){ "TPM2_RSA_Decrypt",
					      try_rsa_decrypt(tr, p) };
		if (dec && !restricted && p->type == TPM2_ALG_ECC)
			out[n++] = (attempt){ "TPM2_ECDH_ZGen",
					      try_ecdh(tr, p) };
		break;
	case TPM2_ALG_KEYEDHASH:
		if (sign)
			out[n++] = (attempt){ "TPM2_HMAC", try_hmac(tr, p) };
		else if (!dec)
			out[n++] = (attempt){ "TPM2_Unseal", try_unseal(tr) };
		break;
	case TPM2_ALG_SYMCIPHER:
		if ((sign || dec) && !restricted)
			out[n++] = (attempt){ "TPM2_EncryptDecrypt2",
					      try_symcipher(tr, p) };
		break;
	}
	return n;
}

/* --- room in a full TPM ----------------------------------------------------- */

/* Saves and flushes one transient object other than keep, so that one
 * Load fits; restore_room puts it back. */
static bool
make_room(ESYS_TR keep)
{
	size_t i;

	for (i = 0; i < nhandles; i++) {
		if (handle_tr[i] == ESYS_TR_NONE || handle_tr[i] == keep)
			continue;
		if (Esys_ContextSave(ectx, handle_tr[i], &saved) !=
		    TSS2_RC_SUCCESS)
			continue;
		if (Esys_FlushContext(ectx, handle_tr[i]) != TSS2_RC_SUCCESS) {
			Esys_Free(saved);
			saved = NULL;
			continue;
		}
		saved_i = i;
		handle_tr[i] = ESYS_TR_NONE;
		t11_diag("the TPM is full: saved and flushed 0x%08x to load "
			 "a blob", handles[i]);
		return true;
	}
	return false;
}

/* The TPM gives a loaded context the lowest free slot; to put the saved
 * object back at its own handle (its owner knows it by that handle),
 * lower free slots are first filled with copies of it (an object context
 * can be loaded more than once), which are then flushed. */
static void
restore_room(void)
{
	TPM2_HANDLE want = handles[saved_i], h = 0;
	ESYS_TR tr, fill[4];
	size_t nfill = 0, i;
	TSS2_RC rc;

	if (saved == NULL)
		return;
	for (;;) {
		rc = Esys_ContextLoad(ectx, saved, &tr);
		if (rc != TSS2_RC_SUCCESS) {
			t11_diag("could not put 0x%08x back: %s", want,
				 rc_text(rc));
			break;
		}
		Esys_TR_GetTpmHandle(ectx, tr, &h);
		if (h < want && nfill < sizeof(fill) / sizeof(fill[0])) {
			fill[nfill++] = tr;
			continue;
		}
		handle_tr[saved_i] = tr;
		if (h != want)
			t11_diag("0x%08x came back as 0x%08x", want, h);
		break;
	}
	for (i = 0; i < nfill; i++)
		Esys_FlushContext(ectx, fill[i]);
	Esys_Free(saved);
	saved = NULL;
}

static TSS2_RC
load_blob(ESYS_TR parent, const blobrow *r, ESYS_TR *out)
{
	TSS2_RC rc;

	rc = Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		       ESYS_TR_NONE, &r->priv, &r->pub, out);
	if (rc == TPM2_RC_OBJECT_MEMORY && make_room(parent))
		rc = Esys_Load(ectx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, &r->priv, &r->pub, out);
	return rc;
}

/* --- the attacks ------------------------------------------------------------ */

static void
report_uses(const char *what, const attempt *at, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (refused(at[i].rc))
			t11_ok(true, "%s%s: %s with an empty password is "
				"refused (%s)", phase, what, at[i].op,
				rc_text(at[i].rc));
		else
			t11_ok(false, "%s%s: %s with an empty password is "
				"refused: the TPM ACCEPTED it (%s)", phase,
				what, at[i].op, rc_text(at[i].rc));
	}
}

static bool
list_handles(void)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	TSS2_RC rc;
	size_t i;

	/* 0x80000000: the first transient handle; tss2's TPM2_TRANSIENT_FIRST
	 * shifts a signed int into its sign bit, which UBSan reports. */
	rc = Esys_GetCapability(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, 0x80000000u,
				TPM2_MAX_CAP_HANDLES, &more, &cap);
	if (!t11_ok(rc == TSS2_RC_SUCCESS, "%sTPM2_GetCapability "
		     "(handles-transient) (%s)", phase, rc_text(rc)))
		return false;
	for (i = 0; i < cap->data.handles.count && i < MAX_HANDLES; i++) {
		handles[i] = cap->data.handles.handle[i];
		handle_tr[i] = ESYS_TR_NONE;
	}
	nhandles = i;
	Esys_Free(cap);
	return true;
}

/* Every transient object: use it; if it is a storage parent, load every
 * PIN blob under it and use that. */
static void
attack_handles(void)
{
	TPM2B_PUBLIC *pub = NULL;
	attempt at[MAX_ATTEMPTS];
	char what[400];
	size_t i, j, n;
	ESYS_TR tr, child;
	blobrow *r;
	TSS2_RC rc;

	for (i = 0; i < nhandles; i++) {
		rc = Esys_TR_FromTPMPublic(ectx, handles[i], ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE, &tr);
		if (rc != TSS2_RC_SUCCESS) {
			t11_diag("%shandle 0x%08x: ReadPublic: %s (gone?)",
				 phase, handles[i], rc_text(rc));
			continue;
		}
		handle_tr[i] = tr;
		if ((rc = Esys_ReadPublic(ectx, tr, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, &pub, NULL, NULL)) !=
		    TSS2_RC_SUCCESS)
			continue;
		r = row_of(&pub->publicArea);
		snprintf(what, sizeof(what), "handle 0x%08x (%s)", handles[i],
			 r ? r->name : "not a key of the store");
		n = try_uses(tr, &pub->publicArea, at);
		if (r != NULL && r->public_key) {
			for (j = 0; j < n; j++)
				t11_diag("%s%s, a key without login: %s -> %s",
					 phase, what, at[j].op,
					 rc_text(at[j].rc));
		} else {
			report_uses(what, at, n);
		}
		if (is_parent(&pub->publicArea)) {
			for (j = 0; j < nrows; j++) {
				if (rows[j].public_key)
					continue;
				snprintf(what, sizeof(what), "blob of %s "
					 "loaded under handle 0x%08x",
					 rows[j].name, handles[i]);
				rc = load_blob(tr, &rows[j], &child);
				if (rc != TSS2_RC_SUCCESS) {
					t11_ok(true, "%s%s: TPM2_Load with "
						"an empty password fails (%s)",
						phase, what, rc_text(rc));
				} else {
					n = try_uses(child,
						     &rows[j].pub.publicArea,
						     at);
					report_uses(what, at, n);
					Esys_FlushContext(ectx, child);
				}
				restore_room();
			}
		}
		Esys_Free(pub);
		pub = NULL;
	}
}

/* Every blob of the store, loaded by us under the SRK. */
static void
attack_blobs(void)
{
	attempt at[MAX_ATTEMPTS];
	char what[400];
	ESYS_TR srk, tr;
	size_t i, j, n;
	TSS2_RC rc;
	bool used;

	rc = Esys_TR_FromTPMPublic(ectx, SRK_HANDLE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, &srk);
	if (!t11_ok(rc == TSS2_RC_SUCCESS, "%sthe SRK 0x%08x is there (%s)",
		     phase, SRK_HANDLE, rc_text(rc)))
		return;
	for (i = 0; i < nrows; i++) {
		blobrow *r = &rows[i];

		snprintf(what, sizeof(what), "blob of %s (row %lld) loaded "
			 "under 0x%08x", r->name, r->id, SRK_HANDLE);
		rc = load_blob(srk, r, &tr);
		if (rc != TSS2_RC_SUCCESS) {
			t11_ok(!r->public_key, "%s%s: TPM2_Load %s (%s)",
				phase, what, r->public_key ?
				"works (positive control)" : "fails",
				rc_text(rc));
			restore_room();
			continue;
		}
		n = try_uses(tr, &r->pub.publicArea, at);
		if (r->public_key) {
			used = false;
			for (j = 0; j < n; j++)
				if (at[j].rc == TSS2_RC_SUCCESS &&
				    strcmp(at[j].op, "TPM2_Sign") == 0)
					used = true;
			t11_ok(used, "%sthe key without login %s signs for "
				"the attacker from its blob (positive control)"
				"%s%s", phase, r->name, used ? "" : ": ",
				used ? "" : n ? rc_text(at[0].rc) :
				"no signing use");
		} else {
			report_uses(what, at, n);
		}
		Esys_FlushContext(ectx, tr);
		restore_room();
	}
	Esys_TR_Close(ectx, &srk);
}

int
main(int argc, char **argv)
{
	const char *tcti = NULL, *store = getenv("TPM11_STORE");
	TSS2_TCTI_CONTEXT *tc = NULL;
	static char phasebuf[256];
	long min_handles = -1;
	size_t i, j;
	bool found;
	int a;
	TSS2_RC rc;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--tcti") == 0)
			tcti = argv[a + 1];
		else if (strcmp(argv[a], "--store") == 0)
			store = argv[a + 1];
		else if (strcmp(argv[a], "--phase") == 0)
			phase = argv[a + 1];
		else if (strcmp(argv[a], "--pin") == 0 && npin < MAX_LABELS)
			pin_labels[npin++] = argv[a + 1];
		else if (strcmp(argv[a], "--public") == 0 && npub < MAX_LABELS)
			pub_labels[npub++] = argv[a + 1];
		else if (strcmp(argv[a], "--min-handles") == 0)
			min_handles = atol(argv[a + 1]);
		else
			break;
	}
	if (a != argc || tcti == NULL || store == NULL) {
		fprintf(stderr, "usage: attacker --tcti TCTI [--store DIR] "
			"[--phase NAME] [--pin LABEL]... [--public LABEL]... "
			"[--min-handles N]\n");
		return 2;
	}
	if (*phase != '\0') {
		snprintf(phasebuf, sizeof(phasebuf), "%s: ", phase);
		phase = phasebuf;
	}
	t11_init();
	found = read_store(store);
	if (!t11_ok(found, "%sthe store's %zu key blobs are readable", phase,
		     nrows))
		return t11_done();
	for (i = 0; i < npin + npub; i++) {
		const char *lab = i < npin ? pin_labels[i] : pub_labels[i - npin];

		for (j = 0, found = false; j < nrows; j++)
			if (strcmp(rows[j].name, lab) == 0)
				found = true;
		t11_ok(found, "%sthe store holds the blob of %s", phase, lab);
	}
	rc = Tss2_TctiLdr_Initialize(tcti, &tc);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Initialize(&ectx, tc, NULL);
	if (!t11_ok(rc == TSS2_RC_SUCCESS, "%sconnected to the TPM without "
		     "the module (%s): %s", phase, tcti, rc_text(rc)))
		return t11_done();
	if (list_handles()) {
		char line[MAX_HANDLES * 12 + 1] = "";

		for (i = 0; i < nhandles; i++)
			snprintf(line + strlen(line),
				 sizeof(line) - strlen(line), " 0x%08x",
				 handles[i]);
		t11_diag("%s%zu transient object(s) in the TPM:%s", phase,
			 nhandles, line);
		if (min_handles >= 0)
			t11_ok(nhandles >= (size_t)min_handles,
				"%sthe TPM holds at least %ld transient "
				"object(s) to attack (positive control; %zu)",
				phase, min_handles, nhandles);
		attack_handles();
	}
	attack_blobs();
	for (i = 0; i < nhandles; i++)
		if (handle_tr[i] != ESYS_TR_NONE)
			Esys_TR_Close(ectx, &handle_tr[i]);
	Esys_Finalize(&ectx);
	Tss2_TctiLdr_Finalize(&tc);
	free(rows);
	return t11_done();
}
