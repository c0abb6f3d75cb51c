/* What the tool's commands share. */
#ifndef TPM11_TOOL_TOOL_H
#define TPM11_TOOL_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "crypto/x509.h"
#include "opts.h"
#include "token/token.h"
#include "util/file.h"

extern const char *tool_store; /* --store / --path */
extern const char *tool_tcti;  /* --tcti */

/* Opens the core (no TPM yet). create: make the store when missing.
 * Prints the error and returns NULL on failure. */
core *tool_open(bool create);
/* The token named by --label, with an error naming the fix. */
token *tool_token(core *c, opt *opts);
/* Prints "tpm11: <what>: <c->err or the CKR name>" to stderr. */
void tool_fail(core *c, const char *what, CK_RV rv);
/* Standard parse + --help handling; returns -1 on error, 1 on help. */
int tool_args(int argc, char **argv, opt *opts, const char *cmd,
	      const char *synopsis, const char *what);
/* In a cmd_* function: parse argv into opts; return 2 on a usage error,
 * 0 after --help. */
#define ARGS(opts, cmd, syn, what)                                    \
	do {                                                          \
		int r_ = tool_args(argc, argv, opts, cmd, syn, what); \
		if (r_ != 0)                                          \
			return r_ < 0 ? 2 : 0;                        \
	} while (0)

/* A file (or stdin for "-"), at most TOOL_FILE_MAX bytes, NUL-terminated;
 * -1 with a message naming the file. */
#define TOOL_FILE_MAX FILE_READ_MAX
int tool_read_file(const char *path, uint8_t **out, size_t *len);
/* file_write (util/file.h): stdout for NULL or "-", a regular file
 * replaced whole; -1 after a message naming the file. */
int tool_write_file(const char *path, const void *data, size_t len,
		    mode_t mode);

/* Hex digits only (an even number, 1 to cap bytes) into out; -1 if not. */
int hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len);
void hex_print(FILE *f, const void *p, size_t n);
/* The one private key of t with label kl and/or CKA_ID idhex (hex; either
 * may be NULL, not both). NULL with a message naming the fix; id_flag is
 * the option that gave idhex ("id", "key-id"). */
/* Whether o is a TPM private key with label kl and/or CKA_ID id (NULL:
 * any). */
bool tool_key_matches(const token_obj *o, const char *kl, const uint8_t *id,
		      size_t id_len);
/* Whether t has a key labelled kl or with CKA_ID id (either may be
 * NULL); if so, says so and how to go on. */
bool tool_key_taken(token *t, const char *kl, const uint8_t *id, size_t id_len);
/* addkey, import: checks --key-label and decodes --id into id (cap
 * bytes); 2 after a message on a usage error, else 0. */
int tool_key_args(opt *opts, uint8_t *id, size_t cap, size_t *id_len);
/* addkey, import, before a new key is made on t: its --key-label and id
 * are free, the TPM offers type (and the PCR bank of pcrs, when not NULL
 * and not empty), and either --no-login (a warning) or the user is logged
 * in (the PIN given or asked). 0, or 1 after a message naming what. The
 * caller logs out. */
int tool_key_prepare(core *c, token *t, opt *opts, tpm_key_type type,
		     const uint8_t *id, size_t id_len, const tpm_pcr_sel *pcrs,
		     const char *what);
token_obj *tool_find_key(token *t, const char *kl, const char *idhex,
			 const char *id_flag);

int cmd_init(int argc, char **argv);
int cmd_addtoken(int argc, char **argv);
int cmd_listtokens(int argc, char **argv);
int cmd_rmtoken(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_changepin(int argc, char **argv);
int cmd_initpin(int argc, char **argv);
int cmd_addkey(int argc, char **argv);
int cmd_pcr_sign(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_listobjects(int argc, char **argv);
int cmd_rmkey(int argc, char **argv);
int cmd_ssh_pubkey(int argc, char **argv);
int cmd_ak(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_verify_attestation(int argc, char **argv);
/* verify-attestation --make-challenge (cmd_ak.c). */
int ak_make_challenge(opt *opts);
int cmd_csr(int argc, char **argv);
int cmd_selfsign(int argc, char **argv);
int cmd_addcert(int argc, char **argv);
int cmd_rmcert(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
/* Stores certificate xc on t with CKA_ID id (addcert's object: the
 * attributes from the DER); refuses one already there. 0, or -1 with a
 * message (cmd_cert.c). */
int cert_store(core *c, token *t, const x509_cert *xc, const char *label,
	       const uint8_t *id, size_t id_len, bool ca, bool trusted);
/* listobjects: a certificate's subject, issuer, expiry (cmd_cert.c). */
void cert_print_details(const token_obj *o);

#endif
