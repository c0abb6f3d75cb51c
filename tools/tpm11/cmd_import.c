/* import: an existing private key (PEM, OpenSSH, PKCS#12) into the TPM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/privkey.h"
#include "pin.h"
#include "tool.h"
#include "util/secure.h"

/* --shred: overwrites the file with random bytes, syncs it, removes it.
 * On a copy-on-write or flash file system the old blocks may survive;
 * the man page says so. */
static int
import_shred(const char *path)
{
	uint8_t buf[4096];
	struct stat st;
	off_t done = 0;
	int fd, r = -1;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	while (done < st.st_size) {
		size_t n = st.st_size - done < (off_t)sizeof(buf)
				   ? (size_t)(st.st_size - done)
				   : sizeof(buf);
		FILE *u = fopen("/dev/urandom", "rb");

		if (u == NULL || fread(buf, 1, n, u) != n) {
			if (u)
				fclose(u);
			goto out;
		}
		fclose(u);
		if (pwrite(fd, buf, n, done) != (ssize_t)n)
			goto out;
		done += (off_t)n;
	}
	if (fsync(fd) != 0)
		goto out;
	close(fd);
	fd = -1;
	if (unlink(path) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		fprintf(stderr,
			"tpm11: warning: --shred: %s: %s; remove the "
			"file yourself\n",
			path, errno ? strerror(errno) : "not a regular file");
	if (fd >= 0)
		close(fd);
	return r;
}

/* The key (and a PKCS#12's certificate) from the file's bytes: a
 * passphrase is read or asked for only when an OpenSSH key turns out to be
 * encrypted, a PKCS#12 password only from --passphrase-file. 0, or 1 after
 * the message. */
static int
import_parse(opt *opts, const char *path, bool p12, const uint8_t *data,
	     size_t len, privkey *pk, uint8_t **cert, size_t *cert_len)
{
	char *pass = NULL, prompt[128], err[256];
	int r = -1;

	if (p12) {
		if (opts_value(opts, "passphrase-file") &&
		    (pass = pin_passphrase(opts, "passphrase-file", "")) ==
			    NULL)
			return 1;
		r = privkey_read_pkcs12(data, len, pass ? pass : "", pk, cert,
					cert_len, err, sizeof(err));
	} else {
		r = privkey_read(data, len, NULL, pk, err, sizeof(err));
		if (r == PRIVKEY_NEED_PASSPHRASE) {
			snprintf(prompt, sizeof(prompt), "Passphrase for %s",
				 path);
			if ((pass = pin_passphrase(opts, "passphrase-file",
						   prompt)) == NULL)
				return 1;
			r = privkey_read(data, len, pass, pk, err, sizeof(err));
		}
	}
	secure_free_str(pass);
	if (r == PRIVKEY_WRONG_PASSPHRASE && !p12)
		fprintf(stderr, "tpm11: wrong passphrase for %s\n", path);
	else if (r != 0)
		fprintf(stderr, "tpm11: %s: %s\n", path, err);
	return r != 0;
}

/* Prints the imported key (object priv_id of t) and puts the certificate
 * xc, when there is one, on the token with the key's CKA_ID. 0, or 1
 * after the message. */
static int
import_print(core *c, token *t, int64_t priv_id, tpm_key_type type,
	     const x509_cert *xc)
{
	token_obj *o = token_find_obj(t, priv_id);
	const CK_ATTRIBUTE *a;
	char *label;
	uint8_t kid[64];
	size_t kid_len;
	int ret = 0;

	if (o == NULL)
		return 0;
	label = attr_dup_str(&o->attrs, CKA_LABEL);
	a = attr_find(&o->attrs, CKA_ID);
	kid_len = a && a->ulValueLen <= sizeof(kid) ? a->ulValueLen : 0;
	printf("key: %s (id ", label ? label : "");
	if (a)
		hex_print(stdout, a->pValue, a->ulValueLen);
	printf(", %s, imported)\n", tpm_key_type_name(type));
	if (kid_len)
		memcpy(kid, a->pValue, kid_len);
	/* The certificate with the key's CKA_ID (o is stale after the store
	 * changes). */
	if (xc && kid_len &&
	    cert_store(c, t, xc, label ? label : "", kid, kid_len, false,
		       false) == 0) {
		printf("certificate: %s (subject %s)\n", label ? label : "",
		       xc->subject_str);
	} else if (xc) {
		fprintf(stderr, "tpm11: the key is imported, its certificate "
				"is not; add it with `tpm11 addcert`\n");
		ret = 1;
	}
	free(label);
	return ret;
}

int
cmd_import(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"key-label", OPT_VALUE,
		 "the key's label (CKA_LABEL; ssh shows "
		 "it)"},
		{"privkey", OPT_VALUE,
		 "the private key file: PEM (PKCS#8, EC or "
		 "RSA PRIVATE KEY, unencrypted) or OpenSSH (a passphrase is "
		 "asked for when it has one)"},
		{"pkcs12", OPT_VALUE,
		 "or a PKCS#12 file: its key, and its "
		 "certificate onto the token with the key's CKA_ID"},
		{"passphrase-file", OPT_VALUE,
		 "the OpenSSH key's passphrase or "
		 "the PKCS#12 password: the file's first line (mode 600; "
		 "default: asked on the terminal, empty for PKCS#12)"},
		{"id", OPT_VALUE,
		 "the key's CKA_ID in hex (default: from the "
		 "public key)"},
		{"no-login", OPT_FLAG, "usable WITHOUT the PIN (for services)"},
		OPT_USERPIN,
		{"shred", OPT_FLAG,
		 "overwrite and remove the file after a "
		 "verified import"},
		{NULL},
	};
	const char *path, *p12;
	uint8_t *data = NULL, id[64], *cert = NULL;
	size_t len = 0, id_len = 0, cert_len = 0;
	x509_cert xc;
	char err[256];
	privkey pk;
	tpm_privkey tk;
	core *c = NULL;
	token *t;
	int64_t priv_id = 0;
	bool no_login;
	CK_RV rv;
	int ret = 1;

	memset(&pk, 0, sizeof(pk));
	memset(&tk, 0, sizeof(tk));
	memset(&xc, 0, sizeof(xc));
	ARGS(opts, "import",
	     "--label LABEL (--privkey FILE | --pkcs12 FILE) "
	     "[--passphrase-file FILE] [--key-label NAME] [--id HEX] "
	     "(--userpin PIN | --no-login) [--shred]",
	     "Puts an existing private key into the TPM (TPM2_Import: the "
	     "private part\ncrosses the bus only encrypted) and stores its "
	     "TPM-wrapped blob and public\nkey on the token. P-256, P-384, "
	     "RSA-2048 and RSA-3072 keys from PEM (PKCS#8,\n\"EC/RSA PRIVATE "
	     "KEY\"), OpenSSH files (passphrase-protected ones too: the\n"
	     "passphrase is asked without echo, or read from --passphrase-file)"
	     " or\nPKCS#12 (with the certificate). The key existed outside the "
	     "TPM: destroy the\noriginal file afterwards (--shred).");
	path = opts_value(opts, "privkey");
	p12 = opts_value(opts, "pkcs12");
	if ((path == NULL) == (p12 == NULL)) {
		fprintf(stderr,
			"tpm11: give one of --privkey FILE and --pkcs12 "
			"FILE: the private key to import\n");
		return 2;
	}
	if (p12)
		path = p12;
	if (tool_key_args(opts, id, sizeof(id), &id_len) != 0)
		return 2;
	no_login = opts_get(opts, "no-login")->given;
	/* The file is read and judged before the store, the TPM or a PIN
	 * is touched. */
	if (tool_read_file(path, &data, &len) != 0)
		return 1;
	if (import_parse(opts, path, p12 != NULL, data, len, &pk, &cert,
			 &cert_len) != 0)
		goto out;
	if (cert &&
	    x509_cert_parse(cert, cert_len, &xc, err, sizeof(err)) != 0) {
		fprintf(stderr, "tpm11: %s: its certificate: %s\n", path, err);
		goto out;
	}
	token_privkey_tpm(&pk, &tk);
	if ((c = tool_open(false)) == NULL)
		goto out;
	if ((t = tool_token(c, opts)) == NULL ||
	    tool_key_prepare(c, t, opts, tk.pub.type, id, id_len, NULL,
			     "import") != 0)
		goto out;
	rv = token_import_key(c, t, &tk, opts_value(opts, "key-label"),
			      id_len ? id : NULL, id_len,
			      no_login ? TOKEN_KEY_NO_LOGIN : 0, NULL, NULL,
			      &priv_id);
	token_logout(c, t);
	if (rv != CKR_OK) {
		tool_fail(c, "import", rv);
		goto out;
	}
	if (import_print(c, t, priv_id, tk.pub.type, cert ? &xc : NULL) != 0)
		goto out;
	fprintf(stderr,
		"tpm11: the key is in the TPM now and signed a test "
		"message. It existed outside\n       the TPM: anyone with a "
		"copy of %s (or a backup of it)\n       can still use it. "
		"Destroy the original file%s.\n",
		path,
		opts_get(opts, "shred")->given ? " (--shred does that now)"
					       : " (--shred does that)");
	if (opts_get(opts, "shred")->given && import_shred(path) == 0)
		fprintf(stderr, "tpm11: %s overwritten and removed\n", path);
	ret = 0;
out:
	privkey_clear(&pk);
	x509_cert_clear(&xc);
	free(cert);
	secure_zero(&tk, sizeof(tk));
	if (data) {
		secure_zero(data, len);
		free(data);
	}
	core_close(c);
	return ret;
}
