/* Unit tests for the attesting side's bookkeeping (src/attest/ak.c,
 * attester.c, challenge.c over the token layer and the store): the AK
 * table and its list, the conversion of a schema 2 store's AK records,
 * the atomic replacement of the attestation data object, and the
 * verifier's single-use challenge state. A real sqlite store in a
 * temporary directory; no TPM (tests/e2e/attest.sh runs the TPM part). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "attest/ak.h"
#include "attest/attester.h"
#include "attest/challenge.h"
#include "store/store.h"
#include "token/token.h"
#include "util/file.h"

/* A fresh store directory per test (removed afterwards). */
typedef struct {
	char dir[64];
	char db[128];
	core *c;
} fixture;

static int
fx_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tpm11-unit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/%s", f->dir, STORE_DB_NAME);
	if (core_open(f->dir, NULL, true, &f->c) != CKR_OK)
		return -1;
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	fixture *f = *state;
	char cmd[160];

	core_close(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* An AK record with recognisable bytes: pub "P<tag>" with a 2-byte size,
 * priv "S<tag>", ncerts certificates "C<tag><i>". */
static void
make_ak(ak_rec *r, const char *name, char tag, size_t ncerts)
{
	uint8_t pub[4] = {0, 2, 'P', (uint8_t)tag};
	uint8_t priv[2] = {'S', (uint8_t)tag};
	size_t i;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ek_index = tag == 'e' ? 0x01c0000a : 0;
	assert_int_equal(blob_set(&r->pub, pub, sizeof(pub)), 0);
	assert_int_equal(blob_set(&r->priv, priv, sizeof(priv)), 0);
	r->certs = calloc(ncerts ? ncerts : 1, sizeof(blob));
	assert_non_null(r->certs);
	for (i = 0; i < ncerts; i++) {
		uint8_t der[3] = {'C', (uint8_t)tag, (uint8_t)('0' + i)};

		assert_int_equal(blob_set(&r->certs[i], der, sizeof(der)), 0);
	}
	r->ncerts = ncerts;
}

static void
assert_names(core *c, const char *const *want, size_t n)
{
	char **names;
	size_t got, i;

	assert_int_equal(core_ak_names(c, &names, &got), CKR_OK);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
	store_ak_names_free(names, got);
}

/* --- the AK table -------------------------------------------------------- */

/* The list is the table: every AK once, in the order first made; a
 * replaced AK keeps its place and its certificates change with it. */
static void
test_ak_table_and_list(void **state)
{
	fixture *f = *state;
	static const char *const order[] = {"ak", "ekak", "third"};
	ak_rec r, got;

	assert_names(f->c, NULL, 0);
	assert_int_equal(ak_load(f->c, "ak", &got), 1);
	make_ak(&r, "ak", 'a', 2);
	assert_int_equal(core_ak_put(f->c, &r), CKR_OK);
	ak_rec_clear(&r);
	make_ak(&r, "ekak", 'e', 0);
	assert_int_equal(core_ak_put(f->c, &r), CKR_OK);
	ak_rec_clear(&r);
	make_ak(&r, "third", 't', 1);
	assert_int_equal(core_ak_put(f->c, &r), CKR_OK);
	ak_rec_clear(&r);
	assert_names(f->c, order, 3);

	/* `ak create --force` of the first, then `ak import-cert`. */
	make_ak(&r, "ak", 'A', 0);
	assert_int_equal(core_ak_put(f->c, &r), CKR_OK);
	ak_rec_clear(&r);
	assert_names(f->c, order, 3);
	assert_int_equal(ak_load(f->c, "ak", &got), 0);
	assert_int_equal(got.ncerts, 0);
	assert_memory_equal(got.priv.data, "SA", 2);
	assert_int_equal(got.ek_index, 0);
	ak_rec_clear(&got);

	assert_int_equal(ak_load(f->c, "ekak", &got), 0);
	assert_int_equal(got.ek_index, 0x01c0000a);
	assert_int_equal(got.pub.len, 4);
	ak_rec_clear(&got);
	assert_int_equal(ak_load(f->c, "third", &got), 0);
	assert_int_equal(got.ncerts, 1);
	assert_memory_equal(got.certs[0].data, "Ct0", 3);
	ak_rec_clear(&got);
}

/* 16 certificates at the most, as the record of schema 2 allowed. */
static void
test_ak_refuses_too_many_certs(void **state)
{
	fixture *f = *state;
	ak_rec r, got;

	make_ak(&r, "many", 'm', STORE_AK_CERTS_MAX + 1);
	assert_int_not_equal(core_ak_put(f->c, &r), CKR_OK);
	ak_rec_clear(&r);
	assert_int_equal(ak_load(f->c, "many", &got), 1);
	assert_names(f->c, NULL, 0);
}

static void
test_ak_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"ak", true}, {"A-z_0.9", true},
		{"12345678901234567890123456789012", true}, {"", false},
		{"123456789012345678901234567890123", false}, {"a b", false},
		{"a/b", false}, {"ak\n", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ak_name_ok(cases[i].name) != cases[i].ok)
			fail_msg("ak_name_ok(\"%s\") is not %d", cases[i].name,
				 cases[i].ok);
}

/* --- a store of schema 2 ---------------------------------------------------- */

/* The schema 2 record, "TAK1" | u32 ek_index | u32 4 | pub | u32 2 |
 * priv | u32 count | (u32 3 | der): pub 00 02 'P' tag, priv 'S' tag,
 * one certificate 'C' tag '0' or none. */
static size_t
tak1(uint8_t *b, char tag, uint32_t ek_index, bool with_cert)
{
	static const uint8_t head[] = {'T', 'A', 'K', '1', 0, 0, 0, 0,
				       0, 0, 0, 4, 0, 2, 'P', 0,
				       0, 0, 0, 2, 'S', 0, 0, 0, 0, 0};
	static const uint8_t cert[] = {0, 0, 0, 3, 'C', 0, '0'};

	memcpy(b, head, sizeof(head));
	b[4] = (uint8_t)(ek_index >> 24);
	b[5] = (uint8_t)(ek_index >> 16);
	b[6] = (uint8_t)(ek_index >> 8);
	b[7] = (uint8_t)ek_index;
	b[15] = b[21] = (uint8_t)tag;
	if (!with_cert)
		return sizeof(head);
	b[25] = 1;
	memcpy(b + sizeof(head), cert, sizeof(cert));
	b[sizeof(head) + 5] = (uint8_t)tag;
	return sizeof(head) + sizeof(cert);
}

static void
sql(sqlite3 *db, const char *s)
{
	char *msg = NULL;

	if (sqlite3_exec(db, s, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", s, msg ? msg : "?");
}

static void
meta_put(sqlite3 *db, const char *key, const void *v, size_t len)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO meta VALUES(?,?);",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static int64_t
sql_int(sqlite3 *db, const char *s)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, s, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A store as tpm11 with schema 2 left it (its tables are schema 3's
 * without aks and ak_certs) with AKs "zeta" and "alpha", listed in that
 * order, one damaged record and an unlisted one. Opening it converts
 * them in one go: the list keeps its order, the damaged one stays
 * "damaged", the meta rows of the converted ones are gone. */
static void
test_schema2_aks_converted(void **state)
{
	fixture *f = *state;
	static const char *const order[] = {"zeta", "alpha", "unlisted"};
	uint8_t b[64];
	sqlite3 *db;
	ak_rec got;
	core *c;

	core_close(f->c);
	f->c = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sql(db, "DROP TABLE ak_certs; DROP TABLE aks; PRAGMA user_version=2;");
	meta_put(db, "ak.alpha", b, tak1(b, 'a', 0, true));
	meta_put(db, "ak.zeta", b, tak1(b, 'z', 0x01c00016, false));
	meta_put(db, "ak.unlisted", b, tak1(b, 'u', 0, false));
	meta_put(db, "ak.bad", "TAK1\0\0", 6);
	meta_put(db, "ak.names", "zeta\nalpha\nbad\n", 15);
	sqlite3_close(db);

	assert_int_equal(core_open(f->dir, NULL, false, &c), CKR_OK);
	f->c = c;
	assert_names(c, order, 3);
	assert_int_equal(ak_load(c, "alpha", &got), 0);
	assert_int_equal(got.ncerts, 1);
	assert_memory_equal(got.certs[0].data, "Ca0", 3);
	assert_memory_equal(got.pub.data, "\0\2Pa", 4);
	ak_rec_clear(&got);
	assert_int_equal(ak_load(c, "zeta", &got), 0);
	assert_int_equal(got.ek_index, 0x01c00016);
	ak_rec_clear(&got);
	assert_int_equal(ak_load(c, "bad", &got), -1);
	assert_int_equal(ak_load(c, "nothere", &got), 1);

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sql_int(db, "PRAGMA user_version;"), 3);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM meta WHERE "
				     "key LIKE 'ak.%';"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM meta WHERE "
				     "key='ak.bad';"), 1);
	sqlite3_close(db);

	/* A new AK of the damaged one's name replaces its record. */
	make_ak(&got, "bad", 'b', 0);
	assert_int_equal(core_ak_put(c, &got), CKR_OK);
	ak_rec_clear(&got);
	assert_int_equal(ak_load(c, "bad", &got), 0);
	ak_rec_clear(&got);
}

/* --- the attestation data object --------------------------------------------- */

/* A token row without TPM parts: enough for data objects. */
static token *
add_token(core *c)
{
	token_rec t;

	memset(&t, 0, sizeof(t));
	snprintf(t.label, sizeof(t.label), "unit");
	snprintf(t.serial, sizeof(t.serial), "0123456789abcdef");
	assert_int_equal(blob_set(&t.pin_salt, "salt", 4), 0);
	assert_int_equal(blob_set(&t.user_nv_name, "user", 4), 0);
	assert_int_equal(blob_set(&t.so_nv_name, "so", 2), 0);
	assert_int_equal(store_token_add(c->st, &t), STORE_OK);
	token_rec_clear(&t);
	assert_int_equal(core_reload(c), CKR_OK);
	assert_non_null(core_find_token(c, "unit"));
	return core_find_token(c, "unit");
}

/* The token's attestation objects: how many, and the last one's value. */
static size_t
attestations(token *t, const char **value, size_t *len)
{
	size_t i, n = 0;

	for (i = 0; i < t->nobjs; i++) {
		const CK_ATTRIBUTE *a = attr_find(&t->objs[i]->attrs,
						  CKA_APPLICATION);
		const CK_ATTRIBUTE *v = attr_find(&t->objs[i]->attrs, CKA_VALUE);

		if (a == NULL || a->ulValueLen != strlen(ATTEST_APPLICATION) ||
		    memcmp(a->pValue, ATTEST_APPLICATION, a->ulValueLen) != 0)
			continue;
		n++;
		*value = v ? v->pValue : NULL;
		*len = v ? v->ulValueLen : 0;
	}
	return n;
}

/* A newer attestation of a key replaces the older in one transaction:
 * one object after each, the newest; one that cannot be stored (too big)
 * leaves the older in place. Another key's attestation stays. */
static void
test_attestation_object_replaced_atomically(void **state)
{
	fixture *f = *state;
	token_obj key, other;
	const char *v = NULL;
	size_t len = 0;
	token *t = add_token(f->c);
	char *big;

	memset(&key, 0, sizeof(key));
	memset(&other, 0, sizeof(other));
	attr_list_init(&key.attrs);
	attr_list_init(&other.attrs);
	assert_int_equal(attr_set(&key.attrs, CKA_ID, "\x01\x02", 2), 0);
	assert_int_equal(attr_set_str(&key.attrs, CKA_LABEL, "k256"), 0);
	assert_int_equal(attr_set(&other.attrs, CKA_ID, "\x09", 1), 0);

	assert_int_equal(attest_store_object(f->c, t, &other, EV_JSON, "o", 1),
			 CKR_OK);
	t = core_find_token(f->c, "unit");
	assert_int_equal(attest_store_object(f->c, t, &key, EV_JSON, "first",
					     5), CKR_OK);
	t = core_find_token(f->c, "unit");
	assert_int_equal(attestations(t, &v, &len), 2);
	assert_int_equal(attest_store_object(f->c, t, &key, EV_WEBAUTHN,
					     "second", 6), CKR_OK);
	t = core_find_token(f->c, "unit");
	assert_int_equal(attestations(t, &v, &len), 2);
	assert_int_equal(len, 6);
	assert_memory_equal(v, "second", 6);

	big = calloc(1, STORE_OBJECT_MAX + 1);
	assert_non_null(big);
	assert_int_equal(attest_store_object(f->c, t, &key, EV_JSON, big,
					     STORE_OBJECT_MAX + 1),
			 CKR_DEVICE_MEMORY);
	free(big);
	assert_int_equal(core_reload(f->c), CKR_OK);
	t = core_find_token(f->c, "unit");
	assert_int_equal(attestations(t, &v, &len), 2);
	assert_int_equal(len, 6);
	assert_memory_equal(v, "second", 6);
	attr_list_clear(&key.attrs);
	attr_list_clear(&other.attrs);
}

/* --- the verifier's challenge state ------------------------------------------- */

/* The state at path is refused for answer id at now, saying what. */
static void
assert_refused(const char *path, const char *id, time_t now, const char *what)
{
	challenge_state st;
	char why[256];

	assert_int_equal(challenge_state_load(path, &st, why, sizeof(why)), 0);
	assert_int_equal(challenge_state_check(path, &st, id, now, why,
					       sizeof(why)), 1);
	if (strstr(why, what) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, what);
	challenge_state_clear(&st);
}

static void
write_state(const char *path, int64_t expires, bool used)
{
	challenge_state st;
	char *text, err[256];
	size_t len;
	uint8_t secret[32];

	memset(&st, 0, sizeof(st));
	memset(secret, 0x5a, sizeof(secret));
	st.id = "00112233445566778899aabbccddeeff";
	st.secret = secret;
	st.secret_len = sizeof(secret);
	st.ak_pub.data = (uint8_t *)"\x00\x23" "ak";
	st.ak_pub.len = 4;
	st.ek_index = "0x01c00016";
	st.ek_cert.data = (uint8_t *)"der";
	st.ek_cert.len = 3;
	st.expires = expires;
	st.used = used;
	text = challenge_state_encode(&st, &len);
	assert_non_null(text);
	assert_int_equal(file_write(path, text, len, 0600, err, sizeof(err)), 0);
	free(text);
}

/* Single use: the first check claims the state (and the file says
 * "used": true afterwards, every other member as it was); every later
 * check is refused as a replay, by the claim file or by the state. */
static void
test_challenge_state_single_use(void **state)
{
	fixture *f = *state;
	challenge_state st;
	char path[128], used[160], why[256];
	const char *id = "00112233445566778899aabbccddeeff";
	struct stat sb;

	snprintf(path, sizeof(path), "%s/state.json", f->dir);
	snprintf(used, sizeof(used), "%s.used", path);
	write_state(path, (int64_t)time(NULL) + 600, false);
	assert_int_equal(challenge_state_load(path, &st, why, sizeof(why)), 0);
	assert_string_equal(st.id, id);
	assert_string_equal(st.ek_index, "0x01c00016");
	assert_int_equal(st.secret_len, 32);
	assert_false(st.used);
	assert_int_equal(challenge_state_check(path, &st, id, time(NULL), why,
					       sizeof(why)), 0);
	assert_int_equal(challenge_state_check(path, &st, NULL, time(NULL), why,
					       sizeof(why)), 0);
	challenge_state_clear(&st);

	assert_int_equal(challenge_state_claim(path, why, sizeof(why)), 0);
	assert_int_equal(stat(used, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(challenge_state_load(path, &st, why, sizeof(why)), 0);
	assert_true(st.used);
	assert_string_equal(st.id, id);
	assert_int_equal(st.secret[31], 0x5a);
	assert_int_equal(challenge_state_check(path, &st, id, time(NULL), why,
					       sizeof(why)), 1);
	assert_non_null(strstr(why, "already answered"));
	challenge_state_clear(&st);
	assert_int_equal(challenge_state_claim(path, why, sizeof(why)), 1);

	/* A copy of the state from before the check: the claim file still
	 * says it was answered. */
	write_state(path, (int64_t)time(NULL) + 600, false);
	assert_refused(path, id, time(NULL), "already answered");
	assert_int_equal(challenge_state_claim(path, why, sizeof(why)), 1);
}

static void
test_challenge_state_refusals(void **state)
{
	fixture *f = *state;
	challenge_state st;
	char path[128], why[256];

	snprintf(path, sizeof(path), "%s/old.json", f->dir);
	write_state(path, (int64_t)time(NULL) - 1, false);
	assert_refused(path, NULL, time(NULL), "expired");
	assert_refused(path, "ffff", time(NULL) - 1,
		       "another challenge (id ffff)");

	write_state(path, (int64_t)time(NULL) + 60, true);
	assert_refused(path, NULL, time(NULL), "already answered");

	/* Not a state file; a member missing. */
	assert_int_equal(file_write(path, "{\"format\": \"x\"}\n", 16, 0600, why,
				    sizeof(why)), 0);
	assert_int_equal(challenge_state_load(path, &st, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "is not a tpm11-challenge-state-1 file"));
	assert_int_equal(file_write(path, "{\"format\": "
				    "\"tpm11-challenge-state-1\"}\n", 38, 0600,
				    why, sizeof(why)), 0);
	assert_int_equal(challenge_state_load(path, &st, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "a member is missing or malformed"));
}

static void
test_key_authorization_rule(void **state)
{
	(void)state;
	assert_null(challenge_key_authorization_check(
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
	assert_non_null(challenge_key_authorization_check("short.x"));
	assert_non_null(challenge_key_authorization_check(
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"));
	assert_non_null(challenge_key_authorization_check(
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ+PCt92wr-oA."
		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
	assert_non_null(challenge_key_authorization_check(
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ak_table_and_list,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ak_refuses_too_many_certs,
						fx_setup, fx_teardown),
		cmocka_unit_test(test_ak_names),
		cmocka_unit_test_setup_teardown(test_schema2_aks_converted,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
			test_attestation_object_replaced_atomically, fx_setup,
			fx_teardown),
		cmocka_unit_test_setup_teardown(test_challenge_state_single_use,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_challenge_state_refusals,
						fx_setup, fx_teardown),
		cmocka_unit_test(test_key_authorization_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
