/* Certificate commands: csr, selfsign, addcert; and the certificate lines
 * of listobjects. Requests and self-signed certificates are signed by the
 * token key inside the TPM (src/crypto/x509.c builds and checks them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/x509.h"
#include "pin.h"
#include "tool.h"
#include "util/secure.h"


/* A YAML double-quoted scalar. */
static void
cert_yaml_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static bool
cert_attr_eq(const token_obj *o, CK_ATTRIBUTE_TYPE type, const void *v,
	     size_t len)
{
	const CK_ATTRIBUTE *a = attr_find(&o->attrs, type);

	return a != NULL && a->ulValueLen == len &&
	       (len == 0 || memcmp(a->pValue, v, len) == 0);
}

/* The private key named by --key-label and/or --key-id (alias --id);
 * NULL with a message. */
static token_obj *
cert_find_key(token *t, opt *opts)
{
	const char *kl = opts_value(opts, "key-label");
	const char *idhex = opts_value(opts, "key-id");

	if (idhex == NULL && opts_get(opts, "id") != NULL)
		idhex = opts_value(opts, "id");
	if (kl == NULL && idhex == NULL) {
		fprintf(stderr,
			"tpm11: name the key with --key-label NAME or "
			"--key-id HEX (see `tpm11 listobjects --label %s`)\n",
			t->rec.label);
		return NULL;
	}
	return tool_find_key(t, kl, idhex, "key-id");
}

static void
cert_key_of(const token_obj *o, x509_key *k)
{
	const tpm_pubkey *pk = &o->pub;

	memset(k, 0, sizeof(*k));
	if (pk->type == TPM_KEY_ECC_P256 || pk->type == TPM_KEY_ECC_P384) {
		k->kind = X509_KEY_EC;
		k->curve = pk->curve;
		k->x = pk->x;
		k->y = pk->y;
	} else {
		k->kind = X509_KEY_RSA;
		k->n = pk->n;
		k->n_len = pk->n_len;
		k->e = pk->exponent ? pk->exponent : 65537;
	}
}

/* --- signing through the token ------------------------------------------ */

typedef struct {
	core *c;
	token *t;
	token_obj *o;
	CK_RV rv;
} cert_signer;

static int
cert_sign_cb(void *vctx, const uint8_t *in, size_t inlen, uint8_t *out,
	     size_t *outlen)
{
	cert_signer *s = vctx;

	*outlen = 512;
	if (s->o->pub.type == TPM_KEY_ECC_P256 ||
	    s->o->pub.type == TPM_KEY_ECC_P384)
		s->rv = token_sign_ecdsa(s->c, s->t, s->o, in, inlen, out,
					 outlen);
	else
		s->rv = token_rsa_raw(s->c, s->t, s->o, in, inlen, false, out,
				      outlen);
	return s->rv == CKR_OK ? 0 : -1;
}

/* Logs in when the key needs the PIN (a --no-login key does not). */
static int
cert_login(core *c, token *t, token_obj *o, opt *opts, const char *what)
{
	char *pin;
	CK_RV rv;

	if (!o->is_private)
		return 0;
	if ((pin = pin_get(opts, "userpin", "user PIN", false)) == NULL)
		return -1;
	rv = token_login(c, t, CKU_USER, pin, strlen(pin));
	secure_free_str(pin);
	if (rv != CKR_OK) {
		tool_fail(c, what, rv);
		return -1;
	}
	return 0;
}

/* Fills spec and signer from the common flags; -1 (usage) on error. */
static int
cert_spec(opt *opts, token_obj *o, x509_spec *spec, x509_signer *sg,
	  cert_signer *cs)
{
	bool rsa = o->pub.type == TPM_KEY_RSA_2048 ||
		   o->pub.type == TPM_KEY_RSA_3072;

	memset(spec, 0, sizeof(*spec));
	spec->subject = opts_value(opts, "subject");
	spec->san = opts_value(opts, "san");
	spec->key_usage = opts_value(opts, "key-usage");
	spec->eku = opts_value(opts, "eku");
	if (opts_get(opts, "pss")->given && !rsa) {
		fprintf(stderr,
			"tpm11: --pss is for RSA keys; this key is "
			"%s\n",
			tpm_key_type_name(o->pub.type));
		return -1;
	}
	memset(sg, 0, sizeof(*sg));
	cert_key_of(o, &sg->key);
	sg->scheme = !rsa                           ? X509_SIG_ECDSA
		     : opts_get(opts, "pss")->given ? X509_SIG_RSA_PSS
						    : X509_SIG_RSA_PKCS1;
	sg->sign = cert_sign_cb;
	sg->ctx = cs;
	return 0;
}

static void
cert_sign_fail(core *c, const cert_signer *cs, const char *what,
	       const char *err)
{
	if (cs->rv != CKR_OK)
		tool_fail(c, what, cs->rv);
	else
		fprintf(stderr, "tpm11: %s: %s\n", what, err);
}

#define CERT_SIGN_OPTS                                                      \
	OPT_TOKEN, {"key-label", OPT_VALUE, "the key's label"},             \
		{"key-id", OPT_VALUE, "the key's CKA_ID in hex (or --id)"}, \
		{"id", OPT_VALUE, NULL},                                    \
		{"subject", OPT_VALUE,                                      \
		 "the subject, e.g. \"/CN=alice/O=Example\""},              \
		{"san", OPT_VALUE,                                          \
		 "subjectAltName: DNS:x,email:y,URI:z,IP:1.2.3.4"},         \
		{"key-usage", OPT_VALUE,                                    \
		 "keyUsage (default \"critical,digitalSignature\"; "        \
		 "\"none\" to leave out)"},                                 \
		{"eku", OPT_VALUE,                                          \
		 "extendedKeyUsage (default clientAuth; "                   \
		 "\"none\" to leave out)"},                                 \
		{"pss", OPT_FLAG,                                           \
		 "RSA keys: sign with RSASSA-PSS (default PKCS#1 v1.5)"},   \
		OPT_USERPIN

static int
cert_args(int argc, char **argv, opt *opts, const char *cmd,
	  const char *synopsis, const char *what, const char **positional)
{
	bool help;
	opt *o;

	if (opts_parse(argc, argv, opts, &help, positional) != 0)
		return -1;
	if (help) {
		/* hidden aliases have no help text */
		for (o = opts; o->name; o++)
			if (o->help == NULL)
				o->help = "(alias)";
		opts_usage(cmd, synopsis, what, opts);
		return 1;
	}
	return 0;
}

#define CERT_ARGS(opts, cmd, syn, what, pos)                               \
	do {                                                               \
		int r_ = cert_args(argc, argv, opts, cmd, syn, what, pos); \
		if (r_ != 0)                                               \
			return r_ < 0 ? 2 : 0;                             \
	} while (0)

/* What csr and selfsign do before they sign: --subject given, the store
 * and the token opened, the key found, spec and signer filled, the PIN
 * given when the key needs it. 0, 1 (error) or 2 (usage), the message
 * printed; *c and *t are set as far as it got (the caller closes them). */
static int
cert_begin(opt *opts, const char *what, core **c, token **t, token_obj **o,
	   x509_spec *spec, x509_signer *sg, cert_signer *cs)
{
	if (opts_value(opts, "subject") == NULL) {
		fprintf(stderr, "tpm11: --subject is needed, e.g. --subject "
				"\"/CN=alice/O=Example\"\n");
		return 2;
	}
	if ((*c = tool_open(false)) == NULL ||
	    (*t = tool_token(*c, opts)) == NULL ||
	    (*o = cert_find_key(*t, opts)) == NULL)
		return 1;
	if (cert_spec(opts, *o, spec, sg, cs) != 0)
		return 2;
	if (cert_login(*c, *t, *o, opts, what) != 0)
		return 1;
	cs->c = *c;
	cs->t = *t;
	cs->o = *o;
	return 0;
}

int
cmd_csr(int argc, char **argv)
{
	opt opts[] = {
		CERT_SIGN_OPTS,
		{NULL},
	};
	x509_spec spec;
	x509_signer sg;
	cert_signer cs = {0};
	char err[512] = "", *pem = NULL;
	core *c = NULL;
	token *t = NULL;
	token_obj *o;
	int ret = 1;

	CERT_ARGS(
		opts, "csr",
		"--label LABEL (--key-label NAME | --key-id HEX) --subject "
		"/CN=... [--san ...] [--pss]",
		"Prints a PKCS#10 certificate request (PEM) for a token key, "
		"signed inside\nthe TPM. Give it to a CA; store the certificate "
		"it returns with `tpm11 addcert`.",
		NULL);
	if ((ret = cert_begin(opts, "csr", &c, &t, &o, &spec, &sg, &cs)) != 0)
		goto out;
	ret = 1;
	if (x509_make_csr(&spec, &sg, &pem, err, sizeof(err)) != 0) {
		cert_sign_fail(c, &cs, "csr", err);
		goto out;
	}
	fputs(pem, stdout);
	ret = 0;
out:
	free(pem);
	if (c && t)
		token_logout(c, t);
	core_close(c);
	return ret;
}

/* --- storing certificates ------------------------------------------------ */

/* The attributes of a certificate object: what addcert decides, then the
 * rest from the certificate (token_cert_attrs, shared with the module). */
static int
cert_attrs(const x509_cert *xc, const char *label, const uint8_t *id,
	   size_t id_len, bool ca, bool trusted, attr_list *l)
{
	int r = 0;

	r |= attr_set_ulong(l, CKA_CLASS, CKO_CERTIFICATE);
	r |= attr_set_bool(l, CKA_TOKEN, true);
	/* readable without login: NSS and OpenSSH list certificates first */
	r |= attr_set_bool(l, CKA_PRIVATE, false);
	r |= attr_set_bool(l, CKA_MODIFIABLE, true);
	r |= attr_set_bool(l, CKA_COPYABLE, false);
	r |= attr_set_bool(l, CKA_DESTROYABLE, true);
	r |= attr_set_str(l, CKA_LABEL, label);
	r |= attr_set_bool(l, CKA_TRUSTED, trusted);
	/* 1 token user, 2 authority (v2.40 4.6.3) */
	r |= attr_set_ulong(l, CKA_CERTIFICATE_CATEGORY, ca ? 2 : 1);
	r |= attr_set(l, CKA_ID, id, id_len);
	r |= attr_set(l, CKA_VALUE, xc->der, xc->der_len);
	return r || token_cert_attrs(l) != CKR_OK ? -1 : 0;
}

/* A certificate already on the token: the same DER, or the same issuer
 * and serial (NSS takes those as one certificate). */
static token_obj *
cert_existing(token *t, const x509_cert *xc)
{
	size_t i;

	for (i = 0; i < t->nobjs; i++) {
		token_obj *o = t->objs[i];

		if (o->cls != CKO_CERTIFICATE)
			continue;
		if (cert_attr_eq(o, CKA_VALUE, xc->der, xc->der_len) ||
		    (cert_attr_eq(o, CKA_ISSUER, xc->issuer, xc->issuer_len) &&
		     cert_attr_eq(o, CKA_SERIAL_NUMBER, xc->serial,
				  xc->serial_len)))
			return o;
	}
	return NULL;
}

int
cert_store(core *c, token *t, const x509_cert *xc, const char *label,
	   const uint8_t *id, size_t id_len, bool ca, bool trusted)
{
	attr_list l;
	token_obj *dup;
	int64_t handle = 0;
	CK_RV rv;
	int ret = -1;

	if ((dup = cert_existing(t, xc)) != NULL) {
		char *dl = attr_dup_str(&dup->attrs, CKA_LABEL);

		fprintf(stderr,
			"tpm11: addcert: this certificate (same issuer "
			"and serial) is already on token \"%s\" as \"%s\"; "
			"remove it first with `tpm11 rmcert`\n",
			t->rec.label, dl ? dl : "");
		free(dl);
		return -1;
	}
	attr_list_init(&l);
	if (cert_attrs(xc, label, id, id_len, ca, trusted, &l) != 0) {
		fprintf(stderr, "tpm11: addcert: out of memory\n");
		goto out;
	}
	if ((rv = token_add_objects(c, t, &l, 1, &handle)) != CKR_OK) {
		tool_fail(c, "addcert", rv);
		goto out;
	}
	ret = 0;
out:
	attr_list_clear(&l);
	return ret;
}

int
cmd_selfsign(int argc, char **argv)
{
	opt opts[] = {
		CERT_SIGN_OPTS,
		{"days", OPT_VALUE, "validity in days (default 365)"},
		{"store-cert", OPT_FLAG,
		 "also store the certificate on the token, "
		 "next to its key"},
		{NULL},
	};
	x509_spec spec;
	x509_signer sg;
	x509_cert xc;
	cert_signer cs = {0};
	char err[512] = "", *pem = NULL, *label = NULL, *end;
	uint8_t *der = NULL;
	size_t der_len = 0;
	const CK_ATTRIBUTE *id;
	unsigned long days = 365;
	core *c = NULL;
	token *t = NULL;
	token_obj *o;
	int ret = 1;

	memset(&xc, 0, sizeof(xc));
	CERT_ARGS(
		opts, "selfsign",
		"--label LABEL (--key-label NAME | --key-id HEX) --subject "
		"/CN=... [--days N] [--store-cert]",
		"Prints a self-signed X.509 certificate (PEM) for a token key, "
		"signed inside\nthe TPM; with --store-cert it is also written to "
		"the token.",
		NULL);
	if (opts_value(opts, "days")) {
		errno = 0;
		days = strtoul(opts_value(opts, "days"), &end, 10);
		if (errno || *end || days == 0 || days > 36500) {
			fprintf(stderr, "tpm11: --days takes a number from 1 "
					"to 36500\n");
			return 2;
		}
	}
	if ((ret = cert_begin(opts, "selfsign", &c, &t, &o, &spec, &sg, &cs)) !=
	    0)
		goto out;
	ret = 1;
	spec.days = (unsigned)days;
	if (x509_make_selfsigned(&spec, &sg, &der, &der_len, err,
				 sizeof(err)) != 0) {
		cert_sign_fail(c, &cs, "selfsign", err);
		goto out;
	}
	if ((pem = x509_cert_pem(der, der_len)) == NULL) {
		fprintf(stderr, "tpm11: selfsign: cannot write PEM\n");
		goto out;
	}
	if (opts_get(opts, "store-cert")->given) {
		if (x509_cert_parse(der, der_len, &xc, err, sizeof(err)) != 0) {
			fprintf(stderr, "tpm11: selfsign: %s\n", err);
			goto out;
		}
		label = attr_dup_str(&o->attrs, CKA_LABEL);
		id = attr_find(&o->attrs, CKA_ID);
		/* o may move on reload: everything taken from it first */
		if (cert_store(c, t, &xc, label ? label : "",
			       id ? id->pValue : NULL, id ? id->ulValueLen : 0,
			       false, false) != 0)
			goto out;
		fprintf(stderr,
			"tpm11: certificate stored on token \"%s\" "
			"for key \"%s\"\n",
			t->rec.label, label ? label : "");
	}
	fputs(pem, stdout);
	ret = 0;
out:
	free(pem);
	free(label);
	free(der);
	x509_cert_clear(&xc);
	if (c && t)
		token_logout(c, t);
	core_close(c);
	return ret;
}

int
cmd_addcert(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"key-label", OPT_VALUE, "the key the certificate is for"},
		{"key-id", OPT_VALUE, "the key's CKA_ID in hex (or --id)"},
		{"id", OPT_VALUE, NULL},
		{"ca", OPT_FLAG,
		 "a CA certificate (category authority); needs "
		 "no key on the token"},
		{"trusted", OPT_FLAG,
		 "set CKA_TRUSTED (default: trusted for "
		 "nothing)"},
		{"cert-label", OPT_VALUE,
		 "CKA_LABEL (default: the key's label, "
		 "or the subject for a CA)"},
		{NULL},
	};
	const char *file = NULL;
	uint8_t *data = NULL, idbuf[20];
	size_t len = 0, id_len = 0;
	const uint8_t *id = NULL;
	char err[512] = "", *label = NULL, *kid = NULL;
	bool ca;
	x509_cert xc;
	x509_key key;
	core *c = NULL;
	token *t;
	token_obj *o = NULL;
	const CK_ATTRIBUTE *a;
	int ret = 1, m;

	memset(&xc, 0, sizeof(xc));
	CERT_ARGS(
		opts, "addcert",
		"--label LABEL (--key-label NAME | --key-id HEX) [--ca] "
		"[--trusted] FILE",
		"Stores an X.509 certificate (PEM or DER; FILE - reads stdin) on "
		"the token,\nwith the CKA_ID of its key so that browsers and "
		"TLS clients pair them.\nA certificate whose public key is not "
		"the key's is refused.",
		&file);
	ca = opts_get(opts, "ca")->given;
	if (file == NULL) {
		fprintf(stderr, "tpm11: addcert: name the certificate file "
				"(PEM or DER)\n");
		return 2;
	}
	if (tool_read_file(file, &data, &len) != 0)
		return 1;
	if (x509_cert_parse(data, len, &xc, err, sizeof(err)) != 0) {
		fprintf(stderr, "tpm11: addcert: %s: %s\n", file, err);
		goto out;
	}
	if ((c = tool_open(false)) == NULL)
		goto out;
	if ((t = tool_token(c, opts)) == NULL)
		goto out;
	if (!ca || opts_value(opts, "key-label") ||
	    opts_value(opts, "key-id") || opts_value(opts, "id")) {
		if ((o = cert_find_key(t, opts)) == NULL)
			goto out;
		cert_key_of(o, &key);
		m = x509_cert_matches_key(&xc, &key, err, sizeof(err));
		if (m != 1) {
			kid = attr_dup_str(&o->attrs, CKA_LABEL);
			fprintf(stderr,
				"tpm11: addcert: %s is not a certificate "
				"for key \"%s\": %s\n",
				file, kid ? kid : "", err);
			goto out;
		}
		a = attr_find(&o->attrs, CKA_ID);
		if (a == NULL || a->ulValueLen == 0) {
			fprintf(stderr, "tpm11: addcert: the key has no "
					"CKA_ID\n");
			goto out;
		}
		if (a->ulValueLen > sizeof(idbuf)) {
			fprintf(stderr, "tpm11: addcert: the key's CKA_ID is "
					"longer than 20 bytes\n");
			goto out;
		}
		memcpy(idbuf, a->pValue, a->ulValueLen);
		id = idbuf;
		id_len = a->ulValueLen;
		label = attr_dup_str(&o->attrs, CKA_LABEL);
	} else {
		/* A CA certificate without a key on the token: an id of its
		 * own, the SHA-1 of the certificate, which pairs it with no
		 * key. */
		if (hash_digest(HASH_SHA1, xc.der, xc.der_len, idbuf) != 0)
			goto out;
		id = idbuf;
		id_len = 20;
		if (!xc.is_ca)
			fprintf(stderr,
				"tpm11: addcert: warning: %s is not a "
				"CA certificate (no basicConstraints cA)\n",
				file);
	}
	if (opts_value(opts, "cert-label")) {
		free(label);
		label = strdup(opts_value(opts, "cert-label"));
	} else if (label == NULL) {
		label = strdup(xc.subject_str);
	}
	if (label == NULL)
		goto out;
	if (strlen(label) > 255)
		label[255] = '\0';
	if (cert_store(c, t, &xc, label, id, id_len, ca,
		       opts_get(opts, "trusted")->given) != 0)
		goto out;
	printf("certificate: %s (id ", label);
	hex_print(stdout, id, id_len);
	printf(", subject ");
	cert_yaml_str(stdout, xc.subject_str);
	printf(")\n");
	ret = 0;
out:
	free(kid);
	free(label);
	free(data);
	x509_cert_clear(&xc);
	core_close(c);
	return ret;
}

int
cmd_rmcert(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"key-label", OPT_VALUE, "remove the certificates of this key"},
		{"key-id", OPT_VALUE,
		 "remove the certificates with this CKA_ID "
		 "(hex)"},
		{"id", OPT_VALUE, NULL},
		{"cert-label", OPT_VALUE,
		 "remove the certificates with this "
		 "CKA_LABEL"},
		{NULL},
	};
	const char *cl, *idhex;
	uint8_t id[64];
	size_t id_len = 0, i, n = 0;
	int64_t *ids = NULL;
	token_obj *key;
	core *c;
	token *t;
	CK_RV rv;
	int ret = 1;

	CERT_ARGS(
		opts, "rmcert",
		"--label LABEL (--key-label NAME | --key-id HEX | --cert-label "
		"NAME)",
		"Removes certificate objects from the token; keys stay.", NULL);
	cl = opts_value(opts, "cert-label");
	idhex = opts_value(opts, "key-id") ? opts_value(opts, "key-id")
					   : opts_value(opts, "id");
	if (cl == NULL && idhex == NULL && !opts_value(opts, "key-label")) {
		fprintf(stderr, "tpm11: rmcert: name the certificates with "
				"--key-label, --key-id or --cert-label\n");
		return 2;
	}
	if (idhex && hex_decode(idhex, id, sizeof(id), &id_len) != 0) {
		fprintf(stderr, "tpm11: --key-id takes hex digits\n");
		return 2;
	}
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL)
		goto out;
	if (opts_value(opts, "key-label") && idhex == NULL) {
		const CK_ATTRIBUTE *a;

		if ((key = cert_find_key(t, opts)) == NULL)
			goto out;
		if ((a = attr_find(&key->attrs, CKA_ID)) == NULL ||
		    a->ulValueLen > sizeof(id))
			goto out;
		memcpy(id, a->pValue, a->ulValueLen);
		id_len = a->ulValueLen;
	}
	if ((ids = calloc(t->nobjs ? t->nobjs : 1, sizeof(*ids))) == NULL)
		goto out;
	for (i = 0; i < t->nobjs; i++) {
		token_obj *o = t->objs[i];

		if (o->cls != CKO_CERTIFICATE)
			continue;
		if (id_len && !cert_attr_eq(o, CKA_ID, id, id_len))
			continue;
		if (cl && !cert_attr_eq(o, CKA_LABEL, cl, strlen(cl)))
			continue;
		ids[n++] = o->id;
	}
	if (n == 0) {
		fprintf(stderr,
			"tpm11: rmcert: no such certificate on token "
			"\"%s\"; see `tpm11 listobjects --label %s`\n",
			t->rec.label, t->rec.label);
		goto out;
	}
	if ((rv = token_destroy_objects(c, t, ids, n)) != CKR_OK) {
		tool_fail(c, "rmcert", rv);
		goto out;
	}
	printf("certificates removed: %zu\n", n);
	ret = 0;
out:
	free(ids);
	core_close(c);
	return ret;
}

/* listobjects: subject, issuer and expiry of a certificate object. */
void
cert_print_details(const token_obj *o)
{
	const CK_ATTRIBUTE *v = attr_find(&o->attrs, CKA_VALUE);
	x509_cert xc;
	char err[256], when[32];
	struct tm tm;
	CK_ULONG cat = 0;

	if (v == NULL || x509_cert_parse(v->pValue, v->ulValueLen, &xc, err,
					 sizeof(err)) != 0) {
		printf("  certificate: unreadable\n");
		return;
	}
	printf("  subject: ");
	cert_yaml_str(stdout, xc.subject_str);
	printf("\n  issuer: ");
	cert_yaml_str(stdout, xc.issuer_str);
	gmtime_r(&xc.not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("\n  expires: %s%s\n", when,
	       xc.not_after < time(NULL) ? " (expired)" : "");
	if (attr_get_ulong(&o->attrs, CKA_CERTIFICATE_CATEGORY, &cat))
		printf("  category: %s\n", cat == 2   ? "authority"
					   : cat == 1 ? "user"
					   : cat == 3 ? "other"
						      : "unspecified");
	if (attr_bool_or(&o->attrs, CKA_TRUSTED, false))
		printf("  trusted: true\n");
	x509_cert_clear(&xc);
}
