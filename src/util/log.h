/* Logging: silent unless TPM11_LOG is set ("debug" or "error"); then to
 * stderr. The module never prints otherwise (DESIGN.md property 6). Never
 * pass a PIN or a sensitive attribute to these. */
#ifndef TPM11_UTIL_LOG_H
#define TPM11_UTIL_LOG_H

#include <stdbool.h>

enum { LOG_LEVEL_OFF = 0, LOG_LEVEL_ERROR = 1, LOG_LEVEL_DEBUG = 2 };

extern int log_level;

/* Reads TPM11_LOG; cheap, call it from C_Initialize and main(). */
void log_init(void);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...)                                         \
	do {                                                   \
		if (log_level >= LOG_LEVEL_DEBUG)              \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_error(...)                                         \
	do {                                                   \
		if (log_level >= LOG_LEVEL_ERROR)              \
			log_msg(LOG_LEVEL_ERROR, __VA_ARGS__); \
	} while (0)

#endif
