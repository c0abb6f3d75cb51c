/* What the tool's commands share: opening the store, finding a token or
 * a key, argument handling, hex and file input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/codec.h"
#include "pin.h"
#include "tool.h"
#include "util/file.h"
#include "util/secure.h"

static void
tool_notice(const char *msg)
{
	fprintf(stderr, "tpm11: %s\n", msg);
}

core *
tool_open(bool create)
{
	core *c = NULL;
	CK_RV rv = core_open(tool_store, tool_tcti, create, &c);

	if (rv != CKR_OK) {
		fprintf(stderr, "tpm11: %s\n",
			c && c->err[0] ? c->err : "cannot open the store");
		core_close(c);
		return NULL;
	}
	/* One salted session for the whole command (see tpm_hold_session);
	 * core_close flushes it. */
	c->hold_session = true;
	c->notice = tool_notice;
	if (core_refresh(c) != CKR_OK) {
		fprintf(stderr, "tpm11: %s\n", c->err);
		core_close(c);
		return NULL;
	}
	return c;
}

token *
tool_token(core *c, opt *opts)
{
	const char *label = opts_value(opts, "label");
	token *t;

	if (label == NULL) {
		fprintf(stderr, "tpm11: --label is needed (the token's label; "
				"see `tpm11 listtokens`)\n");
		return NULL;
	}
	if (c->st == NULL) {
		fprintf(stderr,
			"tpm11: no store at %s; run `tpm11 init` and "
			"`tpm11 addtoken` first\n",
			c->store_dir);
		return NULL;
	}
	if ((t = core_find_token(c, label)) == NULL)
		fprintf(stderr,
			"tpm11: no token labelled \"%s\" in %s; see "
			"`tpm11 listtokens`\n",
			label, c->store_dir);
	return t;
}

void
tool_fail(core *c, const char *what, CK_RV rv)
{
	if (c != NULL && c->err[0] != '\0')
		fprintf(stderr, "tpm11: %s: %s\n", what, c->err);
	else
		fprintf(stderr, "tpm11: %s: failed (PKCS#11 error 0x%lx)\n",
			what, (unsigned long)rv);
}

int
tool_args(int argc, char **argv, opt *opts, const char *cmd,
	  const char *synopsis, const char *what)
{
	bool help;

	if (opts_parse(argc, argv, opts, &help, NULL) != 0)
		return -1;
	if (help) {
		opts_usage(cmd, synopsis, what, opts);
		return 1;
	}
	return 0;
}

int
hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t *b = NULL;
	size_t n = 0;

	/* codec.c's decoder: hex digits only, no sign, space or "0x". */
	if (hex_decode_alloc(s, &b, &n) != 0 || n == 0 || n > cap) {
		free(b);
		return -1;
	}
	memcpy(out, b, n);
	free(b);
	*len = n;
	return 0;
}

void
hex_print(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

int
tool_read_file(const char *path, uint8_t **out, size_t *len)
{
	char err[4200];

	if (file_read(path, out, len, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "tpm11: %s\n", err);
	return -1;
}

int
tool_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char err[4200];

	if (file_write(path, data, len, mode, err, sizeof(err)) == 0)
		return 0;
	if (err[0] != '\0')
		fprintf(stderr, "tpm11: %s\n", err);
	return -1;
}

bool
tool_key_matches(const token_obj *o, const char *kl, const uint8_t *id,
		 size_t id_len)
{
	const CK_ATTRIBUTE *a;

	if (o->cls != CKO_PRIVATE_KEY || o->key.pub.data == NULL)
		return false;
	if (kl) {
		a = attr_find(&o->attrs, CKA_LABEL);
		if (!a || a->ulValueLen != strlen(kl) ||
		    memcmp(a->pValue, kl, a->ulValueLen) != 0)
			return false;
	}
	if (id) {
		a = attr_find(&o->attrs, CKA_ID);
		if (!a || a->ulValueLen != id_len ||
		    memcmp(a->pValue, id, id_len) != 0)
			return false;
	}
	return true;
}

token_obj *
tool_find_key(token *t, const char *kl, const char *idhex, const char *id_flag)
{
	uint8_t id[256];
	size_t id_len = 0, i, matches = 0;
	token_obj *found = NULL;

	if (idhex && hex_decode(idhex, id, sizeof(id), &id_len) != 0) {
		fprintf(stderr, "tpm11: --%s takes hex digits, e.g. 01a2\n",
			id_flag);
		return NULL;
	}
	for (i = 0; i < t->nobjs; i++)
		if (tool_key_matches(t->objs[i], kl, idhex ? id : NULL,
				     id_len)) {
			found = t->objs[i];
			matches++;
		}
	if (matches == 0) {
		fprintf(stderr,
			"tpm11: token \"%s\" has no key %s \"%s\"; see "
			"`tpm11 listobjects --label %s`\n",
			t->rec.label, kl ? "labelled" : "with id",
			kl ? kl : idhex, t->rec.label);
		return NULL;
	}
	if (matches > 1 && idhex) {
		fprintf(stderr,
			"tpm11: token \"%s\" has %zu keys with id %s: "
			"the tool cannot tell them apart; give one another "
			"CKA_ID or remove one with a PKCS#11 program "
			"(pkcs11-tool --delete-object --type privkey --id %s)\n",
			t->rec.label, matches, idhex, idhex);
		return NULL;
	}
	if (matches > 1) {
		/* Labels may repeat (PKCS#11 programs such as pkcs11-tool
		 * make keys too): list the ids, one of which picks the key. */
		fprintf(stderr,
			"tpm11: token \"%s\" has %zu keys labelled "
			"\"%s\" (ids",
			t->rec.label, matches, kl);
		for (i = 0; i < t->nobjs; i++) {
			const CK_ATTRIBUTE *a =
				attr_find(&t->objs[i]->attrs, CKA_ID);

			if (!a || !tool_key_matches(t->objs[i], kl, NULL, 0))
				continue;
			fputc(' ', stderr);
			hex_print(stderr, a->pValue, a->ulValueLen);
		}
		fprintf(stderr,
			"); pick one with --%s HEX (`tpm11 listobjects "
			"--label %s` shows them)\n",
			id_flag, t->rec.label);
		return NULL;
	}
	return found;
}

/* Whether t has a key labelled kl or with CKA_ID id (either may be NULL);
 * if so, says so and how to go on. */
bool
tool_key_taken(token *t, const char *kl, const uint8_t *id, size_t id_len)
{
	size_t i;

	for (i = 0; i < t->nobjs; i++) {
		if (kl && tool_key_matches(t->objs[i], kl, NULL, 0)) {
			fprintf(stderr,
				"tpm11: token \"%s\" already has a key "
				"labelled \"%s\"; choose another --key-label, or "
				"remove that key first with `tpm11 rmkey --label "
				"%s --key-label %s`\n",
				t->rec.label, kl, t->rec.label, kl);
			return true;
		}
		if (id && tool_key_matches(t->objs[i], NULL, id, id_len)) {
			fprintf(stderr,
				"tpm11: token \"%s\" already has a key "
				"with id ",
				t->rec.label);
			hex_print(stderr, id, id_len);
			fprintf(stderr,
				"; choose another --id, or leave it out "
				"(the id is then made from the public key)\n");
			return true;
		}
	}
	return false;
}

int
tool_key_args(opt *opts, uint8_t *id, size_t cap, size_t *id_len)
{
	const char *idhex = opts_value(opts, "id");

	*id_len = 0;
	if (idhex != NULL && hex_decode(idhex, id, cap, id_len) != 0) {
		fprintf(stderr, "tpm11: --id takes hex digits, e.g. 01a2\n");
		return 2;
	}
	if (opts_value(opts, "key-label") &&
	    strlen(opts_value(opts, "key-label")) > 255) {
		fprintf(stderr, "tpm11: --key-label: at most 255 bytes\n");
		return 2;
	}
	return 0;
}

int
tool_key_prepare(core *c, token *t, opt *opts, tpm_key_type type,
		 const uint8_t *id, size_t id_len, const tpm_pcr_sel *pcrs,
		 const char *what)
{
	char *pin;
	CK_RV rv;

	/* PKCS#11 lets labels repeat, but the tool's commands name a key by
	 * its label: a second "ssh" would make every later --key-label ssh
	 * ambiguous. An id must name one key: its objects share it. */
	if (tool_key_taken(t, opts_value(opts, "key-label"), id_len ? id : NULL,
			   id_len))
		return 1;
	/* What the TPM lacks is said before a PIN is asked for. */
	if ((rv = core_tpm(c)) != CKR_OK ||
	    (rv = core_tpm_offers(c, type)) != CKR_OK) {
		tool_fail(c, what, rv);
		return 1;
	}
	if (pcrs != NULL && pcrs->mask != 0) {
		/* A bank the TPM does not keep is said before the PIN. */
		blob now = {0};
		char sel[96];

		rv = tpm_pcr_read(c->tpm, pcrs, &now);
		blob_free(&now);
		if (rv != CKR_OK) {
			tpm_pcr_sel_text(pcrs, sel, sizeof(sel));
			fprintf(stderr, "tpm11: %s: --pcrs %s: %s\n", what, sel,
				tpm_errmsg(c->tpm));
			return 1;
		}
	}
	if (opts_get(opts, "no-login")->given) {
		/* Such a key has an empty authValue and never touches the
		 * PIN's NV index: no PIN to ask, no dictionary-attack strike
		 * from a mistyped one. */
		fprintf(stderr,
			"tpm11: warning: --no-login: any program running "
			"as this user can sign with this key without a PIN.\n"
			"       The key still cannot be copied off this TPM.\n");
		if (opts_get(opts, "userpin")->given ||
		    opts_value(opts, "userpin-file"))
			fprintf(stderr,
				"tpm11: note: a --no-login key needs no "
				"PIN; the one given is not used\n");
		return 0;
	}
	if ((pin = pin_get(opts, "userpin", "user PIN", false)) == NULL)
		return 1;
	/* The TPM checks the PIN and hands out the token secret, from which
	 * the new key's authValue is derived. */
	rv = token_login(c, t, CKU_USER, pin, strlen(pin));
	secure_free_str(pin);
	if (rv != CKR_OK) {
		tool_fail(c, what, rv);
		return 1;
	}
	return 0;
}
