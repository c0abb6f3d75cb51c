#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int log_level = LOG_LEVEL_OFF;

void
log_init(void)
{
	const char *v = getenv("TPM11_LOG");

	if (v == NULL || *v == '\0' || strcmp(v, "off") == 0 ||
	    strcmp(v, "0") == 0)
		log_level = LOG_LEVEL_OFF;
	else if (strcmp(v, "error") == 0)
		log_level = LOG_LEVEL_ERROR;
	else
		log_level = LOG_LEVEL_DEBUG;
}

void
log_msg(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "tpm11[%ld]: %s", (long)getpid(),
		     level == LOG_LEVEL_ERROR ? "error: " : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf);
}
