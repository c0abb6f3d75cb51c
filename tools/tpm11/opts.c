#include "opts.h"

#include <stdio.h>
#include <string.h>

opt *
opts_get(opt *opts, const char *name)
{
	for (; opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

const char *
opts_value(opt *opts, const char *name)
{
	opt *o = opts_get(opts, name);

	return o && o->given ? o->value : NULL;
}

int
opts_parse(int argc, char **argv, opt *opts, bool *help,
	   const char **positional)
{
	int i;

	*help = false;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq;
		char name[64];
		size_t nlen;
		opt *o;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (positional != NULL && *positional == NULL) {
				*positional = a;
				continue;
			}
			fprintf(stderr,
				"tpm11: unexpected argument \"%s\" "
				"(see --help)\n",
				a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name)) {
			fprintf(stderr, "tpm11: unknown option --%s\n", a);
			return -1;
		}
		memcpy(name, a, nlen);
		name[nlen] = '\0';
		if ((o = opts_get(opts, name)) == NULL) {
			fprintf(stderr,
				"tpm11: unknown option --%s (see "
				"--help)\n",
				name);
			return -1;
		}
		o->given = true;
		switch (o->kind) {
		case OPT_FLAG:
			if (eq) {
				fprintf(stderr, "tpm11: --%s takes no value\n",
					name);
				return -1;
			}
			break;
		case OPT_VALUE:
			if (eq) {
				o->value = eq + 1;
			} else if (i + 1 < argc) {
				o->value = argv[++i];
			} else {
				fprintf(stderr, "tpm11: --%s needs a value\n",
					name);
				return -1;
			}
			break;
		case OPT_PIN:
			/* A value unless the next word is another option: then
			 * the PIN is asked for. */
			if (eq)
				o->value = eq + 1;
			else if (i + 1 < argc &&
				 strncmp(argv[i + 1], "--", 2) != 0)
				o->value = argv[++i];
			else
				o->value = NULL;
			break;
		}
	}
	return 0;
}

void
opts_usage(const char *cmd, const char *synopsis, const char *what,
	   const opt *opts)
{
	/* The name the user typed (objdel is rmkey's alias). */
	if (tool_command != NULL)
		cmd = tool_command;
	printf("usage: tpm11 %s %s\n\n%s\n\noptions:\n", cmd, synopsis, what);
	for (; opts->name != NULL; opts++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s", opts->name,
			 opts->kind == OPT_VALUE ? " VALUE"
			 : opts->kind == OPT_PIN ? " [PIN]"
						 : "");
		printf("  %-24s %s\n", left, opts->help);
	}
	printf("  %-24s %s\n", "--store DIR",
	       "store directory (default "
	       "$TPM11_STORE, else $XDG_DATA_HOME/tpm11)");
	printf("  %-24s %s\n", "--tcti STRING",
	       "TPM to use (default "
	       "$TPM11_TCTI, else tctildr's search)");
	printf("  %-24s %s\n", "--help", "this text");
}
