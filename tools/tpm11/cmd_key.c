/* Key commands: addkey, listobjects, rmkey (objdel), ssh-pubkey. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tool.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
cmd_addkey(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token"},
		{"algorithm", OPT_VALUE, "ecc256, ecc384, rsa2048 or rsa3072"},
		{"key-label", OPT_VALUE, "the key's label (CKA_LABEL; ssh shows "
		 "it)"},
		{"id", OPT_VALUE, "the key's CKA_ID in hex (default: from the "
		 "public key)"},
		{"no-login", OPT_FLAG, "usable WITHOUT the PIN (for services); "
		 "still never leaves the TPM"},
		{"userpin", OPT_PIN, "user PIN (asked when left out)"},
		{"userpin-file", OPT_VALUE, "read the user PIN from a file"},
		{NULL},
	};
	const char *alg = NULL;
	bool no_login;
	uint8_t id[64];
	size_t id_len = 0;
	tpm_key_type type;
	core *c = NULL;
	token *t;
	int64_t priv_id = 0;
	token_obj *o;
	CK_RV rv;
	int ret = 1;
	double t0;

	ARGS(opts, "addkey",
	     "--label LABEL --algorithm ALG [--key-label NAME] [--id HEX] "
	     "(--userpin PIN | --no-login)",
	     "Creates a key pair inside the TPM (it never leaves it) and "
	     "stores its\nTPM-wrapped blob and public key on the token.");
	alg = opts_value(opts, "algorithm");
	if (alg == NULL) {
		fprintf(stderr, "tpm11: --algorithm is needed: ecc256, ecc384, "
			"rsa2048 or rsa3072\n");
		return 2;
	}
	if ((type = tpm_key_type_parse(alg)) == TPM_KEY_NONE) {
		if (strncasecmp(alg, "ed25519", 7) == 0 ||
		    strncasecmp(alg, "ed448", 5) == 0 ||
		    strncasecmp(alg, "x25519", 6) == 0)
			fprintf(stderr, "tpm11: --algorithm %s: not a TPM 2.0 "
				"algorithm (TPMs do NIST curves and RSA); choose "
				"ecc256, ecc384, rsa2048 or rsa3072\n", alg);
		else
			fprintf(stderr, "tpm11: --algorithm %s: unknown; choose "
				"ecc256, ecc384, rsa2048 or rsa3072\n", alg);
		return 2;
	}
	if (tool_key_args(opts, id, sizeof(id), &id_len) != 0)
		return 2;
	no_login = opts_get(opts, "no-login")->given;
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL ||
	    tool_key_prepare(c, t, opts, type, id, id_len, "addkey") != 0)
		goto out;
	t0 = now_ms();
	if (type == TPM_KEY_RSA_2048 || type == TPM_KEY_RSA_3072)
		fprintf(stderr, "tpm11: generating an RSA key in the TPM (this "
			"can take several seconds)...\n");
	rv = token_generate_key(c, t, type, opts_value(opts, "key-label"),
				id_len ? id : NULL, id_len,
				no_login ? TOKEN_KEY_NO_LOGIN : 0, NULL, NULL,
				NULL, &priv_id);
	token_logout(c, t);
	if (rv != CKR_OK) {
		tool_fail(c, "addkey", rv);
		goto out;
	}
	if ((o = token_find_obj(t, priv_id)) != NULL) {
		char *label = attr_dup_str(&o->attrs, CKA_LABEL);
		const CK_ATTRIBUTE *a = attr_find(&o->attrs, CKA_ID);

		printf("key: %s (id ", label ? label : "");
		if (a)
			hex_print(stdout, a->pValue, a->ulValueLen);
		printf(", %s)\n", tpm_key_type_name(type));
		free(label);
	}
	if (getenv("TPM11_LOG"))
		fprintf(stderr, "tpm11: addkey took %.1f ms\n", now_ms() - t0);
	ret = 0;
out:
	core_close(c);
	return ret;
}

static const char *
class_name(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_PRIVATE_KEY: return "private-key";
	case CKO_PUBLIC_KEY: return "public-key";
	case CKO_CERTIFICATE: return "certificate";
	case CKO_SECRET_KEY: return "secret-key";
	case CKO_DATA: return "data";
	default: return "other";
	}
}

int
cmd_listobjects(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token"},
		{NULL},
	};
	core *c;
	token *t;
	size_t i;

	ARGS(opts, "listobjects", "--label LABEL",
	     "Lists a token's objects, as YAML. Needs no PIN: only public "
	     "attributes are shown.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL) {
		core_close(c);
		return 1;
	}
	if (t->damaged > 0)
		fprintf(stderr, "tpm11: warning: %zu object(s) of token \"%s\" "
			"are damaged and left out; the last: %s\n", t->damaged,
			t->rec.label, store_errmsg(c->st));
	for (i = 0; i < t->nobjs; i++) {
		token_obj *o = t->objs[i];
		char *label = attr_dup_str(&o->attrs, CKA_LABEL);
		const CK_ATTRIBUTE *id = attr_find(&o->attrs, CKA_ID);
		tpm_pubkey pk = o->pub;
		CK_ULONG kt = (CK_ULONG)-1, bits = 0;

		printf("- label: %s\n  class: %s\n  id: ", label ? label : "",
		       class_name(o->cls));
		if (id)
			hex_print(stdout, id->pValue, id->ulValueLen);
		printf("\n");
		if (o->cls == CKO_PRIVATE_KEY && pk.type != TPM_KEY_NONE) {
			printf("  algorithm: %s\n", tpm_key_type_name(pk.type));
		} else if (attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt)) {
			if (kt == CKK_RSA &&
			    attr_get_ulong(&o->attrs, CKA_MODULUS_BITS, &bits))
				printf("  algorithm: rsa%lu\n", bits);
			else if (kt == CKK_EC) {
				const CK_ATTRIBUTE *p =
					attr_find(&o->attrs, CKA_EC_PARAMS);
				ec_curve cv = p ? ec_params_parse(p->pValue,
								  p->ulValueLen)
						: CURVE_NONE;
				printf("  algorithm: ecc%u\n", ec_bits(cv));
			}
		}
		if (o->cls == CKO_CERTIFICATE)
			cert_print_details(o);
		free(label);
	}
	core_close(c);
	return 0;
}

/* The objects of one key: every object whose CKA_ID equals the chosen
 * key's (private key, public key, later certificates). */
static size_t
key_objects(token *t, const CK_ATTRIBUTE *id, int64_t *ids, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < t->nobjs && n < cap; i++) {
		const CK_ATTRIBUTE *a = attr_find(&t->objs[i]->attrs, CKA_ID);

		if (a && a->ulValueLen == id->ulValueLen &&
		    memcmp(a->pValue, id->pValue, a->ulValueLen) == 0)
			ids[n++] = t->objs[i]->id;
	}
	return n;
}

/* The private key named by --key-label or --id; NULL with a message. */
static token_obj *
find_key(token *t, opt *opts, bool required)
{
	const char *kl = opts_value(opts, "key-label");
	const char *idhex = opts_value(opts, "id");

	if (kl == NULL && idhex == NULL) {
		if (required)
			fprintf(stderr, "tpm11: name the key with --key-label "
				"NAME or --id HEX (see `tpm11 listobjects`)\n");
		return NULL;
	}
	return tool_find_key(t, kl, idhex, "id");
}

int
cmd_rmkey(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token"},
		{"key-label", OPT_VALUE, "the key's label"},
		{"id", OPT_VALUE, "the key's CKA_ID in hex"},
		{NULL},
	};
	int64_t ids[16];
	core *c;
	token *t;
	token_obj *o;
	char *label;
	size_t n;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "rmkey", "--label LABEL (--key-label NAME | --id HEX)",
	     "Removes a key (its private and public objects) from the token. "
	     "A copy of the\nstore made before still holds it, usable with the "
	     "token's current PIN;\n`tpm11 rmtoken` ends a token's keys in "
	     "every copy.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL ||
	    (o = find_key(t, opts, true)) == NULL)
		goto out;
	label = attr_dup_str(&o->attrs, CKA_LABEL);
	n = key_objects(t, attr_find(&o->attrs, CKA_ID), ids, 16);
	rv = token_destroy_objects(c, t, ids, n);
	if (rv != CKR_OK)
		tool_fail(c, "rmkey", rv);
	else {
		printf("key removed: %s\n", label ? label : "");
		ret = 0;
	}
	free(label);
out:
	core_close(c);
	return ret;
}

int
cmd_ssh_pubkey(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "only this token (default: all)"},
		{"key-label", OPT_VALUE, "only this key"},
		{"id", OPT_VALUE, "only the key with this CKA_ID (hex)"},
		{NULL},
	};
	core *c;
	size_t i, j;
	int ret = 0, shown = 0;

	ARGS(opts, "ssh-pubkey", "[--label LABEL] [--key-label NAME | --id HEX]",
	     "Prints public keys as OpenSSH lines, the same as "
	     "`ssh-keygen -D MODULE`,\nready for authorized_keys.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	for (i = 0; i < c->ntokens; i++) {
		token *t = c->tokens[i];
		token_obj *only = NULL;

		if (opts_value(opts, "label") &&
		    strcmp(opts_value(opts, "label"), t->rec.label) != 0)
			continue;
		if (opts_value(opts, "key-label") || opts_value(opts, "id")) {
			if ((only = find_key(t, opts, false)) == NULL) {
				ret = 1;
				continue;
			}
		}
		for (j = 0; j < t->nobjs; j++) {
			token_obj *o = t->objs[j];
			char *line;

			if (o->cls != CKO_PRIVATE_KEY || (only && o != only))
				continue;
			if ((line = token_obj_ssh_line(o)) == NULL)
				continue;
			printf("%s\n", line);
			free(line);
			shown++;
		}
	}
	if (opts_value(opts, "label") &&
	    core_find_token(c, opts_value(opts, "label")) == NULL) {
		fprintf(stderr, "tpm11: no token labelled \"%s\"\n",
			opts_value(opts, "label"));
		ret = 1;
	}
	core_close(c);
	return ret;
}
