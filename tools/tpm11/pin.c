#include "pin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static char *
pin_prompt_once(const char *prompt)
{
	struct termios old, noecho;
	FILE *tty = fopen("/dev/tty", "r+");
	char *s;

	if (tty == NULL)
		return NULL;
	fprintf(tty, "%s: ", prompt);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	s = pin_read_line(tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	return s;
}

static char *
pin_prompt(const char *prompt, bool confirm)
{
	char *a, *b, again[128];

	if ((a = pin_prompt_once(prompt)) == NULL)
		return NULL;
	if (!confirm)
		return a;
	snprintf(again, sizeof(again), "%s (again)", prompt);
	if ((b = pin_prompt_once(again)) == NULL) {
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

char *
pin_from(const opt *o, const char *prompt, bool confirm)
{
	char *s;

	if (o != NULL && o->given && o->value != NULL)
		return strdup(o->value);
	if ((s = pin_prompt(prompt, confirm)) == NULL)
		fprintf(stderr, "tpm11: %s is needed and no terminal is there "
			"to ask it; give --%s VALUE or --%s-file FILE\n",
			prompt, o ? o->name : "pin", o ? o->name : "pin");
	return s;
}

char *
pin_get(opt *opts, const char *flag, const char *prompt, bool confirm)
{
	char fname[64];
	const char *path;
	FILE *f;
	char *s;

	snprintf(fname, sizeof(fname), "%s-file", flag);
	if ((path = opts_value(opts, fname)) != NULL) {
		if ((f = fopen(path, "r")) == NULL) {
			fprintf(stderr, "tpm11: cannot read --%s %s: %s\n",
				fname, path, strerror(errno));
			return NULL;
		}
		s = pin_read_line(f);
		fclose(f);
		if (s == NULL)
			fprintf(stderr, "tpm11: --%s %s is empty\n", fname, path);
		return s;
	}
	return pin_from(opts_get(opts, flag), prompt, confirm);
}
