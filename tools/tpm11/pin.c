#include "pin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/secure.h"

static char *
pin_read_line(FILE *f)
{
	char buf[512];
	size_t n;
	char *s;

	if (fgets(buf, sizeof(buf), f) == NULL) {
		secure_zero(buf, sizeof(buf));
		return NULL;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	s = strdup(buf);
	secure_zero(buf, sizeof(buf));
	return s;
}

/* Asks on the terminal with echo off. NULL when there is no terminal
 * (*why NULL) or when echo cannot be turned off (*why says so): a PIN is
 * then not asked at all, as it would show on the screen. */
static char *
pin_prompt_once(const char *prompt, const char **why)
{
	struct termios old, noecho, now;
	FILE *tty = fopen("/dev/tty", "r+");
	char *s = NULL;

	*why = NULL;
	if (tty == NULL)
		return NULL;
	/* tcsetattr succeeds when any of the changes took: read back. */
	if (tcgetattr(fileno(tty), &old) != 0) {
		*why = "echo cannot be turned off: it is not a terminal";
		goto out;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(fileno(tty), TCSAFLUSH, &noecho) != 0 ||
	    tcgetattr(fileno(tty), &now) != 0 || (now.c_lflag & ECHO)) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		*why = "echo cannot be turned off";
		goto out;
	}
	fprintf(tty, "%s: ", prompt);
	fflush(tty);
	s = pin_read_line(tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
out:
	fclose(tty);
	return s;
}

static char *
pin_prompt(const char *prompt, bool confirm, const char **why)
{
	char *a, *b, again[128];

	if ((a = pin_prompt_once(prompt, why)) == NULL)
		return NULL;
	if (!confirm)
		return a;
	snprintf(again, sizeof(again), "%s (again)", prompt);
	if ((b = pin_prompt_once(again, why)) == NULL) {
		secure_free_str(a);
		return NULL;
	}
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "tpm11: the two PINs differ; nothing was "
				"changed\n");
		secure_free_str(a);
		secure_free_str(b);
		return NULL;
	}
	secure_free_str(b);
	return a;
}

/* The flags that have a -file twin (pin_get). */
static bool
pin_has_file_flag(const char *name)
{
	return strcmp(name, "userpin") == 0 || strcmp(name, "sopin") == 0;
}

char *
pin_from(const opt *o, const char *prompt, bool confirm)
{
	const char *name = o ? o->name : "pin", *why = NULL;
	char alt[96] = "";
	char *s;

	if (pin_has_file_flag(name))
		snprintf(alt, sizeof(alt),
			 ", or give --%s-file FILE (mode 600)", name);
	if (o != NULL && o->given && o->value != NULL) {
		/* Kept for tpm2_ptool's command lines, with the reason not
		 * to use it. */
		fprintf(stderr,
			"tpm11: warning: a PIN given as --%s on the "
			"command line is visible to other users (ps, "
			"/proc/PID/cmdline) and stays in shell history; leave "
			"the value out to be asked without echo%s\n",
			name, alt);
		return strdup(o->value);
	}
	if ((s = pin_prompt(prompt, confirm, &why)) != NULL)
		return s;
	if (pin_has_file_flag(name))
		snprintf(alt, sizeof(alt), "--%s-file FILE (mode 600) or ",
			 name);
	if (why != NULL)
		fprintf(stderr,
			"tpm11: %s is needed but not asked on /dev/tty "
			"(%s), as the PIN would show; give %s--%s VALUE\n",
			prompt, why, alt, name);
	else
		fprintf(stderr,
			"tpm11: %s is needed and no terminal is there "
			"to ask it; give %s--%s VALUE\n",
			prompt, alt, name);
	return NULL;
}

/* A PIN (or passphrase) file is refused when others may read or write
 * it, as ssh refuses such private keys: the PIN is as secret as the key
 * it guards. Only regular files are checked (a pipe or FIFO is read
 * once). */
static bool
pin_file_private(FILE *f, const char *flag, const char *path)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "tpm11: cannot read --%s %s: %s\n", flag, path,
			strerror(errno));
		return false;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
		fprintf(stderr,
			"tpm11: --%s %s is %s by other users (mode "
			"%04o): a %s file must be private; run chmod 600 %s\n",
			flag, path,
			(st.st_mode & 044)
				? ((st.st_mode & 022) ? "readable "
							"and writable"
						      : "readable")
				: "writable",
			(unsigned)(st.st_mode & 07777),
			strncmp(flag, "passphrase", 10) == 0 ? "passphrase"
							     : "PIN",
			path);
		return false;
	}
	return true;
}

/* The first line of a private file (--FLAG PATH); NULL with a message. */
static char *
pin_read_file(const char *flag, const char *path)
{
	FILE *f;
	char *s;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "tpm11: cannot read --%s %s: %s\n", flag, path,
			strerror(errno));
		return NULL;
	}
	if (!pin_file_private(f, flag, path)) {
		fclose(f);
		return NULL;
	}
	s = pin_read_line(f);
	fclose(f);
	if (s == NULL)
		fprintf(stderr, "tpm11: --%s %s is empty\n", flag, path);
	return s;
}

char *
pin_get(opt *opts, const char *flag, const char *prompt, bool confirm)
{
	char fname[64];
	const char *path;

	snprintf(fname, sizeof(fname), "%s-file", flag);
	if ((path = opts_value(opts, fname)) != NULL)
		return pin_read_file(fname, path);
	return pin_from(opts_get(opts, flag), prompt, confirm);
}

char *
pin_passphrase(opt *opts, const char *fileflag, const char *prompt)
{
	const char *path = opts_value(opts, fileflag), *why = NULL;
	char *s;

	if (path != NULL)
		return pin_read_file(fileflag, path);
	if ((s = pin_prompt(prompt, false, &why)) != NULL)
		return s;
	if (why != NULL)
		fprintf(stderr,
			"tpm11: %s is needed but not asked on /dev/tty "
			"(%s), as it would show; give --%s FILE (mode 600)\n",
			prompt, why, fileflag);
	else
		fprintf(stderr,
			"tpm11: %s is needed and no terminal is there "
			"to ask it; give --%s FILE (mode 600)\n",
			prompt, fileflag);
	return NULL;
}
