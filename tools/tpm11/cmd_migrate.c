/* tpm11 migrate: what to do with a store of key model 1 (schema 1).
 *
 * Model 1 kept each token's keys under a per-token storage key whose
 * authValue a PIN change replaced by writing a new blob, and gave loaded
 * keys no authValue of their own (docs/design.md, "Stores of key model
 * 1"). Those keys are fixedParent: the TPM will not move them under the
 * current model, and nothing can make their old blobs forget the old PIN.
 * So this command does not convert; it lists what the old store holds
 * (the public keys to replace where they are trusted), sets the database
 * aside under a new name (never deletes it), and says what to do next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* One object of the old store, printed as listobjects would. */
static void
migrate_print_object(const object_rec *r)
{
	token_obj o;
	CK_ULONG cls = CKO_DATA;
	char *label, *line = NULL;

	memset(&o, 0, sizeof(o));
	o.attrs = r->attrs;
	attr_get_ulong(&o.attrs, CKA_CLASS, &cls);
	if (cls != CKO_PRIVATE_KEY && cls != CKO_CERTIFICATE)
		return;
	label = attr_dup_str(&o.attrs, CKA_LABEL);
	if (cls == CKO_PRIVATE_KEY && r->tpm_pub.data != NULL &&
	    tpm_pub_parse(&r->tpm_pub, &o.pub) == 0)
		line = token_obj_ssh_line(&o);
	printf("  - %s: %s\n", cls == CKO_PRIVATE_KEY ? "key" : "certificate",
	       label ? label : "");
	if (line != NULL)
		printf("    public key: %s\n", line);
	free(label);
	free(line);
}

int
cmd_migrate(int argc, char **argv)
{
	opt opts[] = {
		{"dry-run", OPT_FLAG,
		 "list what the old store holds, move "
		 "nothing"},
		{NULL},
	};
	char err[512], moved[4096];
	store *st = NULL;
	old_token *toks = NULL;
	size_t ntoks = 0, i, j;
	char *dir;
	int ret = 1, rc;

	if ((rc = tool_args(
		     argc, argv, opts, "migrate", "[--dry-run]",
		     "For a store made by tpm11's first key model (schema 1): "
		     "lists its tokens\nand keys with their public keys, then "
		     "moves its database aside\n(tpm11.sqlite3.model1-<time>, "
		     "nothing is deleted) so that `tpm11 init`\ncan start a "
		     "new store. Model 1's keys cannot be moved into the "
		     "current\nmodel: make new keys and replace the public "
		     "keys listed here wherever\nthey are trusted "
		     "(authorized_keys, certificates).")) != 0)
		return rc < 0 ? 2 : 0;
	dir = tool_store && *tool_store ? strdup(tool_store)
					: store_default_dir();
	if (dir == NULL) {
		fprintf(stderr, "tpm11: migrate: no store directory (set "
				"TPM11_STORE or --store)\n");
		return 1;
	}
	rc = store_open_old(dir, &st, err, sizeof(err));
	if (rc == STORE_CORRUPT &&
	    store_open(dir, false, &st, NULL, 0) == STORE_OK) {
		printf("store %s already uses the current key model; nothing "
		       "to migrate\n",
		       dir);
		ret = 0;
		goto out;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "tpm11: migrate: %s\n", err);
		goto out;
	}
	if (store_old_tokens(st, &toks, &ntoks) != STORE_OK) {
		fprintf(stderr, "tpm11: migrate: %s\n", store_errmsg(st));
		goto out;
	}
	printf("store %s (key model 1) holds:\n", dir);
	for (i = 0; i < ntoks; i++) {
		object_rec *recs = NULL;
		size_t n = 0;

		printf("- token: %s\n", toks[i].label);
		if (store_objects(st, toks[i].id, &recs, &n) != STORE_OK) {
			printf("  (its objects cannot be read: %s)\n",
			       store_errmsg(st));
			continue;
		}
		for (j = 0; j < n; j++)
			migrate_print_object(&recs[j]);
		store_objects_free(recs, n);
	}
	store_close(st);
	st = NULL;
	if (opts_get(opts, "dry-run")->given) {
		printf("--dry-run: nothing was moved\n");
		ret = 0;
		goto out;
	}
	if (store_archive(dir, moved, sizeof(moved), err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "tpm11: migrate: %s\n", err);
		goto out;
	}
	printf("the old database is now %s\n"
	       "next: `tpm11 init`, `tpm11 addtoken`, `tpm11 addkey`, then "
	       "replace the public keys above\n"
	       "wherever they are trusted; when nothing needs the old keys, "
	       "delete the old database\n",
	       moved);
	ret = 0;
out:
	free(toks);
	store_close(st);
	free(dir);
	return ret;
}
