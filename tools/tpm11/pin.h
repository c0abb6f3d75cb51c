/* PINs for the tool: from the flag's value, from a file, or asked on the
 * terminal without echo. Every PIN returned is malloc'd and must be freed
 * with secure_free_str(). */
#ifndef TPM11_TOOL_PIN_H
#define TPM11_TOOL_PIN_H

#include "opts.h"

/* flag: "userpin" or "sopin" (the file flag is flag + "-file"); prompt:
 * what to ask. confirm: ask twice (new PINs). NULL with a message on
 * stderr when no PIN can be had. */
char *pin_get(opt *opts, const char *flag, const char *prompt, bool confirm);
/* The same from an explicit value or prompt (changepin's --old/--new). */
char *pin_from(const opt *o, const char *prompt, bool confirm);
/* A passphrase (of a key file): the first line of --FILEFLAG FILE,
 * refused like a PIN file when others may read it, or asked on the
 * terminal without echo. Never a command-line value. NULL with a message
 * on stderr when none can be had; free with secure_free_str(). */
char *pin_passphrase(opt *opts, const char *fileflag, const char *prompt);

#endif
