#include "attest/certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

STACK_OF(X509) * certs_load_pem(const char *path, char *why, size_t whylen)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *f = fopen(path, "r");
	X509 *c;

	if (f == NULL) {
		snprintf(why, whylen, "cannot open %s", path);
		sk_X509_free(sk);
		return NULL;
	}
	while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		if (sk == NULL || !sk_X509_push(sk, c))
			X509_free(c);
	ERR_clear_error();
	fclose(f);
	if (sk == NULL || sk_X509_num(sk) == 0) {
		snprintf(why, whylen, "%s holds no PEM certificate", path);
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

X509 *
cert_from_der(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	X509 *c = d2i_X509(NULL, &q, (long)len);

	/* The whole buffer, nothing after the certificate. */
	if (c != NULL && q != p + len) {
		X509_free(c);
		c = NULL;
	}
	ERR_clear_error();
	return c;
}

int
cert_to_der(X509 *c, uint8_t **out, size_t *len)
{
	int n = i2d_X509(c, NULL);
	unsigned char *p;

	*out = NULL;
	if (n <= 0 || (*out = malloc((size_t)n)) == NULL)
		return -1;
	p = *out;
	i2d_X509(c, &p);
	*len = (size_t)n;
	return 0;
}

int
cert_verify_chain(X509 *leaf, STACK_OF(X509) * untrusted,
		  STACK_OF(X509) * anchors, char *why, size_t whylen)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int i, rc = -1;

	if (st == NULL || ctx == NULL)
		goto oom;
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(anchors, i)) != 1)
			goto oom;
	/* A given intermediate is an anchor of its own: vendors publish
	 * their intermediates, and a verifier may trust only those. */
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_init(ctx, st, leaf, untrusted) != 1)
		goto oom;
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
	} else {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(why, whylen, "%s", X509_verify_cert_error_string(e));
	}
	goto out;
oom:
	snprintf(why, whylen, "cannot check the chain (OpenSSL error)");
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

/* TCG OIDs: tcg-at-tpmManufacturer 2.23.133.2.1, tpmModel 2.23.133.2.2,
 * tpmVersion 2.23.133.2.3. */
static void
name_tpm_attrs(const X509_NAME *n, tpm_identity *id)
{
	int i;

	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		char oid[64], *dst = NULL;
		size_t cap = 0, len, k;
		const unsigned char *d;

		if (OBJ_obj2txt(oid, sizeof(oid), o, 1) <= 0)
			continue;
		if (strcmp(oid, "2.23.133.2.1") == 0)
			dst = id->manufacturer, cap = sizeof(id->manufacturer);
		else if (strcmp(oid, "2.23.133.2.2") == 0)
			dst = id->model, cap = sizeof(id->model);
		else if (strcmp(oid, "2.23.133.2.3") == 0)
			dst = id->version, cap = sizeof(id->version);
		if (dst == NULL)
			continue;
		d = ASN1_STRING_get0_data(v);
		len = (size_t)ASN1_STRING_length(v);
		/* Printable ASCII only: the value ends up on a terminal. */
		for (k = 0; k < len && k + 1 < cap; k++)
			dst[k] = d[k] >= 0x20 && d[k] < 0x7f ? (char)d[k] : '?';
		dst[k] = '\0';
	}
}

void
cert_tpm_identity(X509 *c, tpm_identity *id)
{
	GENERAL_NAMES *gens;
	int i;

	memset(id, 0, sizeof(*id));
	gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DIRNAME)
			name_tpm_attrs(g->d.directoryName, id);
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
}

/* The TCG TPM Vendor ID Registry (Family 1.2 and 2.0, "TCG TPM Vendor ID
 * Registry", trustedcomputinggroup.org): each registered vendor's
 * TPM_PT_MANUFACTURER, four ASCII bytes, in hex; certificates write it as
 * "id:" and these 8 digits (TCG EK Credential Profile 3.2.9). */
static const struct {
	const char *id, *name;
} tpm_vendors[] = {
	{"414D4400", "AMD"},
	{"41544D4C", "Atmel"},
	{"4252434D", "Broadcom"},
	{"4353434F", "Cisco"},
	{"464C5953", "Flyslice"},
	{"474F4F47", "Google"},
	{"48504500", "HPE"},
	{"48495349", "Huawei"},
	{"49424D00", "IBM"},
	{"49465800", "Infineon"},
	{"494E5443", "Intel"},
	{"4C454E00", "Lenovo"},
	{"4D534654", "Microsoft"},
	{"4E534D20", "National Semi"},
	{"4E545A00", "Nationz"},
	{"4E544300", "Nuvoton"},
	{"51434F4D", "Qualcomm"},
	{"534D5343", "SMSC"},
	{"53544D20", "STMicroelectronics"},
	{"534D534E", "Samsung"},
	{"534E5300", "Sinosun"},
	{"54584E00", "Texas Instruments"},
	{"57454300", "Winbond"},
	{"524F4343", "Fuzhou Rockchip"},
};

/* The registry entry for "id:XXXXXXXX" (or the bare digits), or -1. */
static int
tpm_vendor_index(const char *id)
{
	size_t i;

	if (id == NULL)
		return -1;
	if (strncmp(id, "id:", 3) == 0)
		id += 3;
	for (i = 0; i < sizeof(tpm_vendors) / sizeof(tpm_vendors[0]); i++)
		if (strcasecmp(id, tpm_vendors[i].id) == 0)
			return (int)i;
	return -1;
}

bool
tpm_vendor_registered(const char *id)
{
	/* The form is part of the rule: "id:" and 8 hex digits. */
	return id != NULL && strncmp(id, "id:", 3) == 0 && strlen(id) == 11 &&
	       tpm_vendor_index(id) >= 0;
}

const char *
tpm_vendor_name(const char *id)
{
	int i = tpm_vendor_index(id);

	if (i >= 0)
		return tpm_vendors[i].name;
	/* Not registered: the PCI vendor ID of IBM, which swtpm writes in
	 * its EK certificates. Named, never counted as registered. */
	if (id != NULL && strcasecmp(strncmp(id, "id:", 3) == 0 ? id + 3 : id,
				     "00001014") == 0)
		return "IBM (swtpm)";
	return NULL;
}

int
cert_check_ak(X509 *c, bool webauthn, char *why, size_t whylen)
{
	EXTENDED_KEY_USAGE *eku;
	BASIC_CONSTRAINTS *bc;
	bool has = false;
	int i;

	eku = X509_get_ext_d2i(c, NID_ext_key_usage, NULL, NULL);
	for (i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
		char oid[64];

		if (OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i),
				1) > 0 &&
		    strcmp(oid, "2.23.133.8.3") == 0)
			has = true;
	}
	EXTENDED_KEY_USAGE_free(eku);
	if (!has) {
		snprintf(why, whylen,
			 "the AK certificate lacks the extended "
			 "key usage tcg-kp-AIKCertificate (2.23.133.8.3)");
		goto bad;
	}
	bc = X509_get_ext_d2i(c, NID_basic_constraints, NULL, NULL);
	if (bc != NULL && bc->ca) {
		BASIC_CONSTRAINTS_free(bc);
		snprintf(why, whylen, "the AK certificate is a CA certificate");
		goto bad;
	}
	BASIC_CONSTRAINTS_free(bc);
	if (webauthn) {
		tpm_identity id;

		if (X509_get_version(c) != 2) {
			snprintf(why, whylen,
				 "the AK certificate is not X.509 "
				 "version 3");
			goto bad;
		}
		if (X509_NAME_entry_count(X509_get_subject_name(c)) != 0) {
			snprintf(why, whylen,
				 "the AK certificate's subject is "
				 "not empty (WebAuthn 8.3.1)");
			goto bad;
		}
		cert_tpm_identity(c, &id);
		if (!id.manufacturer[0] || !id.model[0] || !id.version[0]) {
			snprintf(why, whylen,
				 "the AK certificate's "
				 "subjectAltName lacks the TPM manufacturer, "
				 "model and version (WebAuthn 8.3.1)");
			goto bad;
		}
	}
	{
		tpm_identity id;

		/* WebAuthn 8.3.1: the TPM manufacturer is a vendor ID of the
		 * TCG registry. Whenever a certificate names one, it must be
		 * registered: the verifier reports it as the TPM's maker. */
		cert_tpm_identity(c, &id);
		if (id.manufacturer[0] &&
		    !tpm_vendor_registered(id.manufacturer)) {
			snprintf(why, whylen,
				 "the AK certificate names TPM "
				 "manufacturer %s, which is not in the TCG TPM "
				 "Vendor ID Registry (WebAuthn 8.3.1)",
				 id.manufacturer);
			goto bad;
		}
	}
	ERR_clear_error();
	return 0;
bad:
	ERR_clear_error();
	return -1;
}

static char *
name_line(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long len;

	if (b == NULL)
		return NULL;
	if (X509_NAME_entry_count(n) == 0) {
		BIO_free(b);
		return strdup("(empty)");
	}
	X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(b, &p);
	if ((s = malloc((size_t)len + 1)) != NULL) {
		memcpy(s, p, (size_t)len);
		s[len] = '\0';
	}
	BIO_free(b);
	return s;
}

char *
cert_subject(X509 *c)
{
	return name_line(X509_get_subject_name(c));
}

char *
cert_issuer(X509 *c)
{
	return name_line(X509_get_issuer_name(c));
}
