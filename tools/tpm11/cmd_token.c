/* Store and token commands: init, addtoken, listtokens, rmtoken, verify,
 * changepin, initpin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"
#include "tool.h"
#include "util/secure.h"

int
cmd_init(int argc, char **argv)
{
	opt opts[] = {
		{"primary-handle", OPT_VALUE,
		 "persistent handle of the primary "
		 "key (default 0x81000001)"},
		{"primary-auth", OPT_VALUE,
		 "(accepted for tpm2_ptool "
		 "compatibility; must be empty)"},
		{NULL},
	};
	const char *h;
	unsigned long handle = TPM_DEFAULT_PRIMARY;
	core *c;
	CK_RV rv;

	ARGS(opts, "init", "[--primary-handle HANDLE]",
	     "Creates the store and the TPM's primary storage key (persistent)."
	     "\nSafe to run again: an existing primary key is kept.");
	if ((h = opts_value(opts, "primary-handle")) != NULL) {
		char *end;

		handle = strtoul(h, &end, 0);
		if (*end != '\0' || handle < 0x81000000ul ||
		    handle > 0x817ffffful) {
			fprintf(stderr,
				"tpm11: --primary-handle %s: use a "
				"persistent handle 0x81000000..0x817FFFFF\n",
				h);
			return 2;
		}
	}
	if (opts_value(opts, "primary-auth") &&
	    *opts_value(opts, "primary-auth")) {
		fprintf(stderr, "tpm11: a primary key with an authValue is not "
				"supported; leave --primary-auth out\n");
		return 2;
	}
	/* The store is made only once the TPM has its primary key
	 * (core_init_primary): a failed init leaves nothing behind. */
	if ((c = tool_open(false)) == NULL)
		return 1;
	fprintf(stderr, "tpm11: setting up the primary key in the TPM...\n");
	rv = core_init_primary(c, (uint32_t)handle);
	if (rv != CKR_OK) {
		tool_fail(c, "init", rv);
		core_close(c);
		return 1;
	}
	printf("store: %s\nprimary: 0x%08lx\n", c->store_dir, handle);
	core_close(c);
	return 0;
}

static void
warn_software_tpm(core *c)
{
	tpm_info info;

	if (c->tpm && tpm_get_info(c->tpm, &info) == CKR_OK && info.software)
		fprintf(stderr,
			"tpm11: warning: this is a software TPM (%s %s); "
			"its keys are not held by hardware\n",
			info.manufacturer, info.vendor);
}

int
cmd_addtoken(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token's label (up to 32 characters)"},
		{"sopin", OPT_PIN, "SO PIN (asked when the value is left out)"},
		{"sopin-file", OPT_VALUE, "read the SO PIN from a file"},
		OPT_USERPIN,
		{"pid", OPT_VALUE, "(tpm2_ptool compatibility; ignored)"},
		{NULL},
	};
	char *so = NULL, *user = NULL;
	token *t = NULL;
	core *c = NULL;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "addtoken", "--label LABEL --sopin PIN --userpin PIN",
	     "Creates a token: two NV indices in the TPM whose authValues are "
	     "the PINs,\nthe user's holding the token secret its keys are "
	     "bound to. The TPM checks\nevery PIN, with its dictionary-attack "
	     "protection; a PIN change takes effect\nfor every copy of the "
	     "store.");
	if (opts_value(opts, "label") == NULL) {
		fprintf(stderr, "tpm11: --label is needed\n");
		return 2;
	}
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (core_find_token(c, opts_value(opts, "label")) != NULL) {
		fprintf(stderr,
			"tpm11: a token labelled \"%s\" already exists; "
			"pick another label or remove it with `tpm11 rmtoken "
			"--label %s`\n",
			opts_value(opts, "label"), opts_value(opts, "label"));
		goto out;
	}
	if ((so = pin_get(opts, "sopin", "SO PIN", true)) == NULL ||
	    (user = pin_get(opts, "userpin", "user PIN", true)) == NULL)
		goto out;
	/* No store or no primary yet: do `init` on the way (which makes
	 * the store only when the TPM answers). */
	if (c->st == NULL || (rv = core_tpm(c)) == CKR_TOKEN_NOT_PRESENT)
		rv = core_init_primary(c, TPM_DEFAULT_PRIMARY);
	if (rv != CKR_OK) {
		tool_fail(c, "addtoken", rv);
		goto out;
	}
	warn_software_tpm(c);
	rv = token_create(c, opts_value(opts, "label"), so, user, &t);
	if (rv != CKR_OK || t == NULL) {
		tool_fail(c, "addtoken", rv);
		goto out;
	}
	printf("token: %s (serial %s)\n", t->rec.label, t->rec.serial);
	ret = 0;
out:
	secure_free_str(so);
	secure_free_str(user);
	core_close(c);
	return ret;
}

int
cmd_listtokens(int argc, char **argv)
{
	opt opts[] = {{NULL}};
	core *c;
	size_t i;

	ARGS(opts, "listtokens", "", "Lists the tokens of the store, as YAML.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	for (i = 0; i < c->ntokens; i++) {
		token *t = c->tokens[i];

		printf("- label: %s\n  serial: %s\n  manufacturer: %s\n"
		       "  model: %s\n  firmware: %u.%u\n  keys: %zu\n"
		       "  user-pin-initialized: %s\n",
		       t->rec.label, t->rec.serial, t->rec.manufacturer,
		       t->rec.model, t->rec.fw_major, t->rec.fw_minor,
		       t->nobjs / 2,
		       t->rec.flags & TOKEN_REC_USER_PIN_UNSET ? "no" : "yes");
	}
	core_close(c);
	return 0;
}

int
cmd_rmtoken(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token to remove"},
		{NULL},
	};
	core *c;
	token *t;
	CK_RV rv;
	char label[TOKEN_LABEL_MAX + 1];

	ARGS(opts, "rmtoken", "--label LABEL",
	     "Removes a token: its PIN indices from the TPM, then the token "
	     "and all its\nkeys from the store, in one transaction. The keys "
	     "are gone for good, for\nevery copy of the store.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	/* Tokens whose making or removal was cut short are cleared up
	 * first (they are not listed). */
	if (c->st != NULL && core_tpm(c) == CKR_OK)
		T11_IGNORE(token_finish_pending(
			c)); /* else tried again next time */
	if ((t = tool_token(c, opts)) == NULL) {
		core_close(c);
		return 1;
	}
	snprintf(label, sizeof(label), "%s", t->rec.label);
	if ((rv = token_delete(c, t)) != CKR_OK) {
		tool_fail(c, "rmtoken", rv);
		core_close(c);
		return 1;
	}
	printf("token removed: %s\n", label);
	core_close(c);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"userpin", OPT_PIN, "check this user PIN"},
		{"userpin-file", OPT_VALUE, "read the user PIN from a file"},
		{"sopin", OPT_PIN, "check this SO PIN"},
		{"sopin-file", OPT_VALUE, "read the SO PIN from a file"},
		{NULL},
	};
	bool user, so;
	core *c;
	token *t;
	int ret = 0;

	ARGS(opts, "verify", "--label LABEL [--userpin PIN] [--sopin PIN]",
	     "Checks PINs with the TPM. A wrong PIN counts against the TPM's "
	     "dictionary-attack counter.");
	user = opts_get(opts, "userpin")->given ||
	       opts_value(opts, "userpin-file");
	so = opts_get(opts, "sopin")->given || opts_value(opts, "sopin-file");
	if (!user && !so)
		user = true;
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL) {
		core_close(c);
		return 1;
	}
	for (int pass = 0; pass < 2; pass++) {
		bool is_so = pass == 1;
		char *pin;
		CK_RV rv;

		if (is_so ? !so : !user)
			continue;
		pin = pin_get(opts, is_so ? "sopin" : "userpin",
			      is_so ? "SO PIN" : "user PIN", false);
		if (pin == NULL) {
			ret = 1;
			continue;
		}
		rv = token_login(c, t, is_so ? CKU_SO : CKU_USER, pin,
				 strlen(pin));
		secure_free_str(pin);
		if (rv != CKR_OK) {
			tool_fail(c, "verify", rv);
			ret = 1;
			continue;
		}
		token_logout(c, t);
		printf("%s: ok\n", is_so ? "SO PIN" : "user PIN");
	}
	core_close(c);
	return ret;
}

int
cmd_changepin(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"user", OPT_VALUE, "whose PIN: so or user (default user)"},
		{"old", OPT_PIN, "the current PIN (asked when left out)"},
		{"new", OPT_PIN, "the new PIN (asked when left out)"},
		{NULL},
	};
	const char *who;
	char *oldp = NULL, *newp = NULL;
	core *c = NULL;
	token *t;
	CK_RV rv;
	int ret = 1;
	bool so;

	ARGS(opts, "changepin",
	     "--label LABEL --user so|user --old PIN --new PIN",
	     "Changes a PIN. The TPM checks the old one; the change is atomic:\n"
	     "if it is interrupted, the old PIN or the new one works, never "
	     "neither.");
	who = opts_value(opts, "user");
	if (who == NULL)
		who = "user";
	if (strcmp(who, "so") != 0 && strcmp(who, "user") != 0) {
		fprintf(stderr, "tpm11: --user takes so or user\n");
		return 2;
	}
	so = strcmp(who, "so") == 0;
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL)
		goto out;
	if ((oldp = pin_from(opts_get(opts, "old"),
			     so ? "current SO PIN" : "current user PIN",
			     false)) == NULL ||
	    (newp = pin_from(opts_get(opts, "new"),
			     so ? "new SO PIN" : "new user PIN", true)) == NULL)
		goto out;
	rv = token_change_pin(c, t, so ? CKU_SO : CKU_USER, oldp, strlen(oldp),
			      newp, strlen(newp));
	if (rv != CKR_OK) {
		tool_fail(c, "changepin", rv);
		goto out;
	}
	printf("PIN changed\n");
	ret = 0;
out:
	secure_free_str(oldp);
	secure_free_str(newp);
	core_close(c);
	return ret;
}

int
cmd_initpin(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"sopin", OPT_PIN, "the SO PIN (asked when left out)"},
		{"sopin-file", OPT_VALUE, "read the SO PIN from a file"},
		{"userpin", OPT_PIN, "the new user PIN (asked when left out)"},
		{"userpin-file", OPT_VALUE,
		 "read the new user PIN from a file"},
		{NULL},
	};
	char *so = NULL, *user = NULL;
	core *c = NULL;
	token *t;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "initpin", "--label LABEL --sopin PIN --userpin NEWPIN",
	     "Sets a new user PIN with the SO PIN, without the old user PIN "
	     "(after a forgotten PIN).");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL)
		goto out;
	if ((so = pin_get(opts, "sopin", "SO PIN", false)) == NULL ||
	    (user = pin_get(opts, "userpin", "new user PIN", true)) == NULL)
		goto out;
	rv = token_init_pin(c, t, so, strlen(so), user, strlen(user));
	if (rv != CKR_OK) {
		tool_fail(c, "initpin", rv);
		goto out;
	}
	printf("user PIN set\n");
	ret = 0;
out:
	secure_free_str(so);
	secure_free_str(user);
	core_close(c);
	return ret;
}
