/* Command-line options in tpm2_ptool's style: `--flag value`,
 * `--flag=value`, and PIN flags whose value may be left out (then the PIN
 * is asked on the terminal). */
#ifndef TPM11_TOOL_OPTS_H
#define TPM11_TOOL_OPTS_H

#include <stdbool.h>

enum opt_kind { OPT_FLAG, OPT_VALUE, OPT_PIN };

typedef struct {
	const char *name; /* without the leading "--" */
	enum opt_kind kind;
	const char *help;
	/* results */
	bool given;
	const char *value; /* NULL for a PIN flag given without value */
} opt;

/* Rows many commands share, so that their --help says the same. */
#define OPT_TOKEN                               \
	{                                       \
		"label", OPT_VALUE, "the token" \
	}
#define OPT_USERPIN                                                        \
	{"userpin", OPT_PIN, "user PIN (asked when left out)"},            \
	{                                                                  \
		"userpin-file", OPT_VALUE, "read the user PIN from a file" \
	}

/* Parses argv (after the command name). Unknown options, missing values
 * and stray arguments are usage errors: prints one to stderr and returns
 * -1. `--help` sets *help. Positional arguments are not accepted unless
 * positional != NULL (then the first one lands there). */
int opts_parse(int argc, char **argv, opt *opts, bool *help,
	       const char **positional);
opt *opts_get(opt *opts, const char *name);
const char *opts_value(opt *opts, const char *name);
/* The command as typed, for usage lines (set by main). */
extern const char *tool_command;
void opts_usage(const char *cmd, const char *synopsis, const char *what,
		const opt *opts);

#endif
