/* Key attestation commands (docs/attestation.md): ak, attest,
 * verify-attestation. `verify-attestation` needs no TPM and no store: it
 * is what a server runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "attest/certs.h"
#include "attest/codec.h"
#include "attest/credential.h"
#include "attest/evidence.h"
#include "attest/json.h"
#include "attest/tpmdata.h"
#include "attest/verify.h"
#include "pin.h"
#include "tool.h"
#include "tpm/attest.h"
#include "util/secure.h"

#define AK_DEFAULT "ak"
#define AK_NAMES_META "ak.names"
#define ATTEST_APPLICATION "tpm11-attestation"
#define REQUEST_FORMAT "tpm11-ak-request-1"
#define CHALLENGE_FORMAT "tpm11-challenge-1"
#define STATE_FORMAT "tpm11-challenge-state-1"

/* --- files ------------------------------------------------------------------- */

/* Writes data to path (or stdout for NULL / "-"); mode for new files. A
 * regular file is replaced through a temporary in the same directory, so
 * a reader never sees half of it; anything else that exists (/dev/null, a
 * pipe) is written in place, never replaced. */
static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	struct stat sb;
	int fd;
	ssize_t w;
	size_t done = 0;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return -1;
		return 0;
	}
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		if ((fd = open(path, O_WRONLY)) < 0) {
			fprintf(stderr, "tpm11: cannot write %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		while (done < len &&
		       (w = write(fd, (const char *)data + done, len - done)) > 0)
			done += (size_t)w;
		if (close(fd) != 0 || done != len) {
			fprintf(stderr, "tpm11: cannot write %s\n", path);
			return -1;
		}
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode)) < 0) {
		fprintf(stderr, "tpm11: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (done < len) {
		if ((w = write(fd, (const char *)data + done, len - done)) <= 0)
			break;
		done += (size_t)w;
	}
	if (done != len || fchmod(fd, mode) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "tpm11: cannot write %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static json_value *
read_json(const char *path, const char *format)
{
	uint8_t *b;
	size_t n;
	char err[96];
	json_value *j;
	const char *f;

	if (tool_read_file(path, &b, &n) != 0)
		return NULL;
	j = json_parse((const char *)b, n, err, sizeof(err));
	free(b);
	if (j == NULL) {
		fprintf(stderr, "tpm11: %s: not valid JSON (%s)\n", path, err);
		return NULL;
	}
	if ((f = json_get_str(j, "format")) == NULL || strcmp(f, format) != 0) {
		fprintf(stderr, "tpm11: %s is not a %s file\n", path, format);
		json_free(j);
		return NULL;
	}
	return j;
}

static bool
parse_index(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end != '\0' || v > 0xffffffffu)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* --- AKs in the store ------------------------------------------------------ */

/* Stored as one meta value "ak.<name>", written in one statement:
 *   "TAK1" | u32 ek_index | u32 n | TPM2B_PUBLIC | u32 n | TPM2B_PRIVATE |
 *   u32 count | count x (u32 n | certificate DER)
 * (big-endian lengths). The list of names is "ak.names", one a line. */
typedef struct {
	char name[33];
	tpm_ak ak;
	blob *certs;
	size_t ncerts;
} ak_rec;

static void
ak_rec_clear(ak_rec *r)
{
	size_t i;

	blob_free(&r->ak.pub);
	blob_free(&r->ak.priv);
	for (i = 0; i < r->ncerts; i++)
		blob_free(&r->certs[i]);
	free(r->certs);
	memset(r, 0, sizeof(*r));
}

static bool
ak_name_ok(const char *n)
{
	size_t i, len = strlen(n);

	if (len == 0 || len > 32)
		return false;
	for (i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '-' ||
		      n[i] == '_' || n[i] == '.'))
			return false;
	return true;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
get32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	if (end - *p < 4)
		return -1;
	*v = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	     (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	return 0;
}

static int
get_blob(const uint8_t **p, const uint8_t *end, blob *b)
{
	uint32_t n;

	if (get32(p, end, &n) != 0 || (size_t)(end - *p) < n ||
	    blob_set(b, *p, n) != 0)
		return -1;
	*p += n;
	return 0;
}

static int
ak_save(core *c, const ak_rec *r)
{
	size_t len = 4 + 4 + 4 + r->ak.pub.len + 4 + r->ak.priv.len + 4, i;
	uint8_t *b, *p;
	char key[48];
	blob names = {0};
	int rc;

	for (i = 0; i < r->ncerts; i++)
		len += 4 + r->certs[i].len;
	if ((b = malloc(len)) == NULL)
		return -1;
	p = b;
	memcpy(p, "TAK1", 4);
	p += 4;
	put32(p, r->ak.ek_index);
	p += 4;
	put32(p, (uint32_t)r->ak.pub.len);
	memcpy(p + 4, r->ak.pub.data, r->ak.pub.len);
	p += 4 + r->ak.pub.len;
	put32(p, (uint32_t)r->ak.priv.len);
	memcpy(p + 4, r->ak.priv.data, r->ak.priv.len);
	p += 4 + r->ak.priv.len;
	put32(p, (uint32_t)r->ncerts);
	p += 4;
	for (i = 0; i < r->ncerts; i++) {
		put32(p, (uint32_t)r->certs[i].len);
		memcpy(p + 4, r->certs[i].data, r->certs[i].len);
		p += 4 + r->certs[i].len;
	}
	snprintf(key, sizeof(key), "ak.%s", r->name);
	rc = store_meta_set(c->st, key, b, len);
	free(b);
	if (rc != STORE_OK)
		return -1;
	/* Add the name to the list (display only). */
	if (store_meta_get(c->st, AK_NAMES_META, &names) != STORE_OK)
		memset(&names, 0, sizeof(names));
	{
		size_t nl = strlen(r->name), j = 0;
		bool found = false;

		while (j < names.len) {
			size_t k = j;

			while (k < names.len && names.data[k] != '\n')
				k++;
			if (k - j == nl && memcmp(names.data + j, r->name, nl) == 0)
				found = true;
			j = k + 1;
		}
		if (!found) {
			uint8_t *nb = realloc(names.data, names.len + nl + 1);

			if (nb == NULL) {
				blob_free(&names);
				return -1;
			}
			memcpy(nb + names.len, r->name, nl);
			nb[names.len + nl] = '\n';
			names.data = nb;
			names.len += nl + 1;
			rc = store_meta_set(c->st, AK_NAMES_META, names.data,
					    names.len);
		}
	}
	blob_free(&names);
	return rc == STORE_OK ? 0 : -1;
}

/* 0 ok, 1 no such AK, -1 damaged. */
static int
ak_load(core *c, const char *name, ak_rec *r)
{
	char key[48];
	blob b = {0};
	const uint8_t *p, *end;
	uint32_t n, i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(key, sizeof(key), "ak.%s", name);
	if (c->st == NULL || store_meta_get(c->st, key, &b) != STORE_OK)
		return 1;
	p = b.data;
	end = b.data + b.len;
	if (b.len < 4 || memcmp(p, "TAK1", 4) != 0)
		goto out;
	p += 4;
	if (get32(&p, end, &r->ak.ek_index) != 0 ||
	    get_blob(&p, end, &r->ak.pub) != 0 ||
	    get_blob(&p, end, &r->ak.priv) != 0 || get32(&p, end, &n) != 0 ||
	    n > 16)
		goto out;
	if (n && (r->certs = calloc(n, sizeof(blob))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (get_blob(&p, end, &r->certs[i]) != 0)
			goto out;
		r->ncerts++;
	}
	if (p == end)
		rc = 0;
out:
	blob_free(&b);
	if (rc != 0)
		ak_rec_clear(r);
	return rc;
}

static int
ak_need(core *c, const char *name, ak_rec *r)
{
	int rc = ak_load(c, name, r);

	if (rc == 1)
		fprintf(stderr, "tpm11: no attestation key \"%s\"; make one "
			"with `tpm11 ak create --name %s`\n", name, name);
	else if (rc != 0)
		fprintf(stderr, "tpm11: the stored attestation key \"%s\" is "
			"damaged\n", name);
	return rc;
}

/* The AK's TPMT_PUBLIC bytes (its stored TPM2B_PUBLIC without the size). */
static int
ak_tpmt(const ak_rec *r, blob *out)
{
	if (r->ak.pub.len < 2)
		return -1;
	return blob_set(out, r->ak.pub.data + 2, r->ak.pub.len - 2);
}

static EVP_PKEY *
ak_pkey(const ak_rec *r)
{
	TPMT_PUBLIC p;

	if (r->ak.pub.len < 2 ||
	    tpmt_public_parse(r->ak.pub.data + 2, r->ak.pub.len - 2, &p) != 0)
		return NULL;
	return tpmt_public_pkey(&p);
}

static int
ak_tpm_name(const ak_rec *r, uint8_t *name, size_t *len)
{
	TPMT_PUBLIC p;

	if (r->ak.pub.len < 2 ||
	    tpmt_public_parse(r->ak.pub.data + 2, r->ak.pub.len - 2, &p) != 0)
		return -1;
	return tpm_name(r->ak.pub.data + 2, r->ak.pub.len - 2, p.nameAlg, name,
			len);
}

static void
print_pem_pubkey(FILE *f, EVP_PKEY *k)
{
	if (k != NULL)
		PEM_write_PUBKEY(f, k);
}

/* What this TPM lacks to make the EK of the template of the EK certificate
 * at index (TCG EK Credential Profile 2.3, B.3 and B.4), or NULL when it
 * can make it. A chip without P-384 or SHA-384 cannot recreate a
 * high-range EK, whatever certificate sits in its NV. */
static const char *
ek_lacks(core *c, uint32_t index)
{
	uint32_t need, has;
	const char *what;

	switch (index) {
	case 0x01c0000a: case 0x01c00014:
		need = TPM_HAS_P256; what = "NIST P-256 curve"; break;
	case 0x01c00016:
		need = TPM_HAS_P384 | TPM_HAS_SHA384;
		what = "NIST P-384 curve with SHA-384"; break;
	case 0x01c0001c:
		need = TPM_HAS_RSA3072 | TPM_HAS_SHA384;
		what = "RSA-3072 with SHA-384"; break;
	case 0x01c0001e:
		need = TPM_HAS_SHA384; what = "SHA-384"; break;
	default:
		return NULL;
	}
	has = core_tpm_has(c);
	return (has & need) == need ? NULL : what;
}

/* Leaves out the EK certificates whose EK this TPM cannot make: a
 * verifier that chose one would send a challenge the TPM cannot answer. */
static void
ek_certs_makeable(core *c, tpm_ek_cert *ec, size_t *n)
{
	const char *lacks;
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if ((lacks = ek_lacks(c, ec[i].index)) == NULL) {
			ec[k++] = ec[i];
			continue;
		}
		fprintf(stderr, "tpm11: note: the EK certificate at 0x%08x is "
			"left out: this TPM has no %s to make its EK\n",
			ec[i].index, lacks);
		blob_free(&ec[i].der);
	}
	*n = k;
}

/* --- tpm11 ak ------------------------------------------------------------------ */

static int
ak_create(int argc, char **argv)
{
	opt opts[] = {
		{"name", OPT_VALUE, "the AK's name (default \"ak\")"},
		{"algorithm", OPT_VALUE, "ecc256 (default: ECDSA P-256, what "
		 "CAs accept) or rsa2048"},
		{"ek-parent", OPT_FLAG, "make the AK a child of the EK "
		 "(endorsement hierarchy) instead of the SRK"},
		{"ek-index", OPT_VALUE, "with --ek-parent: the EK by its "
		 "certificate's NV index (default: the first one present "
		 "whose EK this TPM can make)"},
		{"pub-out", OPT_VALUE, "also write the AK's public key (PEM) "
		 "to this file, for an AK CA"},
		{"force", OPT_FLAG, "replace an AK of the same name"},
		{NULL},
	};
	const char *name, *alg;
	tpm_ak_alg a = TPM_AK_ECC_P256;
	uint32_t ek_index = 0;
	ak_rec r, old;
	core *c = NULL;
	char why[320];
	uint8_t nm[66];
	size_t nl;
	char *hex;
	EVP_PKEY *k;
	CK_RV rv;
	int ret = 1;

	memset(&r, 0, sizeof(r));
	ARGS(opts, "ak create",
	     "[--name NAME] [--algorithm ecc256|rsa2048] [--ek-parent "
	     "[--ek-index HEX]] [--pub-out FILE]",
	     "Creates an attestation key (AK) in the TPM: a restricted "
	     "signing key that\nonly ever signs the TPM's own attestation "
	     "structures. Owner hierarchy by\ndefault (the TPM then hides its "
	     "reset counts and firmware version).");
	name = opts_value(opts, "name") ? opts_value(opts, "name") : AK_DEFAULT;
	if (!ak_name_ok(name)) {
		fprintf(stderr, "tpm11: --name: 1 to 32 of A-Z a-z 0-9 . _ -\n");
		return 2;
	}
	if ((alg = opts_value(opts, "algorithm")) != NULL) {
		if (strcmp(alg, "ecc256") == 0)
			a = TPM_AK_ECC_P256;
		else if (strcmp(alg, "rsa2048") == 0)
			a = TPM_AK_RSA_2048;
		else {
			fprintf(stderr, "tpm11: --algorithm: ecc256 or "
				"rsa2048\n");
			return 2;
		}
	}
	if (opts_value(opts, "ek-index") &&
	    (!opts_get(opts, "ek-parent")->given ||
	     !parse_index(opts_value(opts, "ek-index"), &ek_index) ||
	     ek_template_find(ek_index) == NULL)) {
		fprintf(stderr, "tpm11: --ek-index goes with --ek-parent and "
			"names an EK certificate index, e.g. 0x01c00016\n");
		return 2;
	}
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (c->st == NULL) {
		fprintf(stderr, "tpm11: no store at %s; run `tpm11 init` "
			"first\n", c->store_dir);
		goto out;
	}
	if (ak_load(c, name, &old) != 1) {
		ak_rec_clear(&old);
		if (!opts_get(opts, "force")->given) {
			fprintf(stderr, "tpm11: an AK named \"%s\" exists; "
				"--force replaces it\n", name);
			goto out;
		}
	}
	if ((rv = core_tpm(c)) != CKR_OK) {
		tool_fail(c, "ak create", rv);
		goto out;
	}
	if (opts_get(opts, "ek-parent")->given && ek_index == 0) {
		tpm_ek_cert *ec = NULL;
		size_t n = 0, i;

		if (tpm_ek_certs(c->tpm, &ec, &n, why, sizeof(why)) != CKR_OK) {
			fprintf(stderr, "tpm11: ak create: %s\n", why);
			goto out;
		}
		for (i = 0; i < n && ek_index == 0; i++)
			if (ek_template_find(ec[i].index)->supported &&
			    ek_lacks(c, ec[i].index) == NULL)
				ek_index = ec[i].index;
		tpm_ek_certs_free(ec, n);
		if (ek_index == 0)
			ek_index = 0x01c0000a; /* no certificate: P-256 EK */
	}
	rv = tpm_ak_create(c->tpm, a, ek_index, &r.ak, why, sizeof(why));
	tpm_idle(c->tpm);
	if (rv != CKR_OK) {
		fprintf(stderr, "tpm11: ak create: %s\n", why);
		goto out;
	}
	snprintf(r.name, sizeof(r.name), "%s", name);
	if (ak_save(c, &r) != 0) {
		fprintf(stderr, "tpm11: ak create: %s\n", store_errmsg(c->st));
		goto out;
	}
	if (ak_tpm_name(&r, nm, &nl) != 0 || (hex = hex_encode(nm, nl)) == NULL)
		goto out;
	if (ek_index)
		printf("ak: %s (%s, endorsement hierarchy, child of the EK "
		       "0x%08x)\nname: %s\n", name,
		       a == TPM_AK_ECC_P256 ? "ecc256" : "rsa2048", ek_index,
		       hex);
	else
		printf("ak: %s (%s, owner hierarchy, child of the SRK)\n"
		       "name: %s\n", name,
		       a == TPM_AK_ECC_P256 ? "ecc256" : "rsa2048", hex);
	free(hex);
	if (opts_value(opts, "pub-out")) {
		FILE *f = fopen(opts_value(opts, "pub-out"), "w");

		if (f == NULL || (k = ak_pkey(&r)) == NULL) {
			fprintf(stderr, "tpm11: cannot write %s\n",
				opts_value(opts, "pub-out"));
			if (f)
				fclose(f);
			goto out;
		}
		print_pem_pubkey(f, k);
		EVP_PKEY_free(k);
		fclose(f);
	}
	ret = 0;
out:
	ak_rec_clear(&r);
	core_close(c);
	return ret;
}

static int
ak_import_cert(int argc, char **argv)
{
	opt opts[] = {
		{"name", OPT_VALUE, "the AK (default \"ak\")"},
		{"cert", OPT_VALUE, "PEM file: the AK certificate, then any "
		 "intermediate CA certificates"},
		{NULL},
	};
	const char *name, *path;
	STACK_OF(X509) *sk = NULL;
	EVP_PKEY *k = NULL, *ck = NULL;
	ak_rec r;
	core *c = NULL;
	char why[256];
	size_t i;
	int ret = 1;

	memset(&r, 0, sizeof(r));
	ARGS(opts, "ak import-cert", "[--name NAME] --cert FILE",
	     "Stores an AK certificate issued by an attestation CA (and its "
	     "chain). The\ncertificate must be for this AK's key.");
	name = opts_value(opts, "name") ? opts_value(opts, "name") : AK_DEFAULT;
	if ((path = opts_value(opts, "cert")) == NULL) {
		fprintf(stderr, "tpm11: --cert FILE is needed\n");
		return 2;
	}
	if ((sk = certs_load_pem(path, why, sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: %s\n", why);
		return 1;
	}
	if ((c = tool_open(false)) == NULL || ak_need(c, name, &r) != 0)
		goto out;
	k = ak_pkey(&r);
	ck = X509_get_pubkey(sk_X509_value(sk, 0));
	if (k == NULL || ck == NULL || EVP_PKEY_eq(k, ck) != 1) {
		fprintf(stderr, "tpm11: the first certificate in %s is not for "
			"the AK \"%s\"\n", path, name);
		goto out;
	}
	if (cert_check_ak(sk_X509_value(sk, 0), false, why, sizeof(why)) != 0)
		fprintf(stderr, "tpm11: warning: %s; verifiers will refuse it\n",
			why);
	for (i = 0; i < r.ncerts; i++)
		blob_free(&r.certs[i]);
	free(r.certs);
	r.ncerts = 0;
	if ((r.certs = calloc((size_t)sk_X509_num(sk), sizeof(blob))) == NULL)
		goto out;
	for (i = 0; i < (size_t)sk_X509_num(sk) && i < 16; i++) {
		if (cert_to_der(sk_X509_value(sk, (int)i), &r.certs[i].data,
				&r.certs[i].len) != 0)
			goto out;
		r.ncerts++;
	}
	if (ak_save(c, &r) != 0) {
		fprintf(stderr, "tpm11: %s\n", store_errmsg(c->st));
		goto out;
	}
	{
		char *subj = cert_issuer(sk_X509_value(sk, 0));

		printf("ak: %s: certificate from %s stored (%zu in chain)\n",
		       name, subj ? subj : "?", r.ncerts);
		free(subj);
	}
	ret = 0;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
	sk_X509_pop_free(sk, X509_free);
	ak_rec_clear(&r);
	core_close(c);
	return ret;
}

static int
ak_show(int argc, char **argv)
{
	opt opts[] = {
		{"name", OPT_VALUE, "the AK (default \"ak\")"},
		{"pem", OPT_FLAG, "print only the AK's public key as PEM"},
		{NULL},
	};
	const char *name;
	ak_rec r;
	core *c;
	uint8_t nm[66];
	size_t nl, i;
	char *hex = NULL;
	EVP_PKEY *k;
	int ret = 1;

	ARGS(opts, "ak show", "[--name NAME] [--pem]",
	     "Shows an AK: its TPM Name, parent, public key and certificate.");
	name = opts_value(opts, "name") ? opts_value(opts, "name") : AK_DEFAULT;
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (ak_need(c, name, &r) != 0) {
		core_close(c);
		return 1;
	}
	k = ak_pkey(&r);
	if (opts_get(opts, "pem")->given) {
		print_pem_pubkey(stdout, k);
		ret = k ? 0 : 1;
		goto out;
	}
	if (ak_tpm_name(&r, nm, &nl) == 0)
		hex = hex_encode(nm, nl);
	printf("ak: %s\nname: %s\nparent: ", name, hex ? hex : "?");
	if (r.ak.ek_index)
		printf("EK 0x%08x (endorsement hierarchy)\n", r.ak.ek_index);
	else
		printf("SRK (owner hierarchy)\n");
	printf("certificates: %zu\n", r.ncerts);
	for (i = 0; i < r.ncerts; i++) {
		X509 *x = cert_from_der(r.certs[i].data, r.certs[i].len);
		char *s = x ? cert_subject(x) : NULL, *is = x ? cert_issuer(x) : NULL;

		printf("  - subject: %s\n    issuer: %s\n", s ? s : "?",
		       is ? is : "?");
		free(s);
		free(is);
		X509_free(x);
	}
	print_pem_pubkey(stdout, k);
	ret = 0;
out:
	free(hex);
	EVP_PKEY_free(k);
	ak_rec_clear(&r);
	core_close(c);
	return ret;
}

static int
ak_list(int argc, char **argv)
{
	opt opts[] = {{NULL}};
	blob names = {0};
	core *c;
	size_t j = 0;

	ARGS(opts, "ak list", "", "Lists the attestation keys of the store.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (c->st != NULL && store_meta_get(c->st, AK_NAMES_META, &names) ==
				     STORE_OK) {
		while (j < names.len) {
			size_t k = j;
			char n[33];
			ak_rec r;

			while (k < names.len && names.data[k] != '\n')
				k++;
			snprintf(n, sizeof(n), "%.*s", (int)(k - j),
				 (const char *)names.data + j);
			j = k + 1;
			if (ak_load(c, n, &r) != 0)
				continue;
			printf("- name: %s\n  parent: %s\n  certificates: %zu\n",
			       n, r.ak.ek_index ? "EK" : "SRK", r.ncerts);
			ak_rec_clear(&r);
		}
	}
	blob_free(&names);
	core_close(c);
	return 0;
}

/* The EK certificates, for the request and the json format. */
static int
json_ek_certs(json_writer *w, const tpm_ek_cert *ec, size_t n)
{
	size_t i;

	json_w_arr_begin(w);
	for (i = 0; i < n; i++) {
		char idx[16];

		snprintf(idx, sizeof(idx), "0x%08x", ec[i].index);
		json_w_obj_begin(w);
		json_w_key(w, "nv_index");
		json_w_str(w, idx);
		json_w_key(w, "der");
		json_w_b64(w, ec[i].der.data, ec[i].der.len);
		json_w_obj_end(w);
	}
	json_w_arr_end(w);
	return 0;
}

static int
ak_export(int argc, char **argv)
{
	opt opts[] = {
		{"name", OPT_VALUE, "the AK (default \"ak\")"},
		{"out", OPT_VALUE, "write to this file (default: stdout)"},
		{NULL},
	};
	const char *name;
	tpm_ek_cert *ec = NULL;
	size_t n = 0, len;
	json_writer w;
	blob tpmt = {0};
	char why[320], *text;
	ak_rec r;
	core *c;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "ak export", "[--name NAME] [--out FILE]",
	     "Writes what a verifier needs to make a challenge for this AK "
	     "(`tpm11\nverify-attestation --make-challenge`): the AK's public "
	     "area and the TPM's EK\ncertificates.");
	name = opts_value(opts, "name") ? opts_value(opts, "name") : AK_DEFAULT;
	if ((c = tool_open(false)) == NULL)
		return 1;
	memset(&r, 0, sizeof(r));
	if (ak_need(c, name, &r) != 0)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK) {
		tool_fail(c, "ak export", rv);
		goto out;
	}
	if (tpm_ek_certs(c->tpm, &ec, &n, why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: ak export: %s\n", why);
		goto out;
	}
	ek_certs_makeable(c, ec, &n);
	if (n == 0)
		fprintf(stderr, "tpm11: warning: this TPM has no EK "
			"certificate; a verifier cannot make a challenge\n");
	else
		fprintf(stderr, "tpm11: note: the EK certificates identify this "
			"TPM, and so this machine, to whoever reads the "
			"file\n");
	if (ak_tpmt(&r, &tpmt) != 0)
		goto out;
	json_w_init(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "format");
	json_w_str(&w, REQUEST_FORMAT);
	json_w_key(&w, "ak_public");
	json_w_b64(&w, tpmt.data, tpmt.len);
	json_w_key(&w, "ek_certificates");
	json_ek_certs(&w, ec, n);
	json_w_obj_end(&w);
	if ((text = json_w_finish(&w, &len)) == NULL)
		goto out;
	ret = write_file(opts_value(opts, "out"), text, len, 0644) == 0 ? 0 : 1;
	free(text);
out:
	blob_free(&tpmt);
	tpm_ek_certs_free(ec, n);
	ak_rec_clear(&r);
	core_close(c);
	return ret;
}

int
cmd_ak(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
		const char *what;
	} sub[] = {
		{"create", ak_create, "create an attestation key in the TPM"},
		{"import-cert", ak_import_cert, "store the AK's certificate "
		 "from an attestation CA"},
		{"export", ak_export, "write the AK and EK certificates for a "
		 "verifier's challenge"},
		{"show", ak_show, "show an AK (--pem: its public key)"},
		{"list", ak_list, "list the AKs"},
	};
	size_t i;
	bool bad = argc == 0 || (strcmp(argv[0], "--help") != 0 &&
				 strcmp(argv[0], "-h") != 0);
	FILE *f;

	if (argc >= 1) {
		for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
			if (strcmp(argv[0], sub[i].name) == 0) {
				static char cmd[32];

				snprintf(cmd, sizeof(cmd), "ak %s", sub[i].name);
				tool_command = cmd;
				return sub[i].fn(argc - 1, argv + 1);
			}
	}
	if (argc >= 1 && bad)
		fprintf(stderr, "tpm11: unknown ak command \"%s\"\n\n", argv[0]);
	f = bad ? stderr : stdout;
	fprintf(f, "usage: tpm11 ak COMMAND [OPTIONS]\n\nAttestation keys: "
		"restricted signing keys that prove where other keys\nlive "
		"(docs/attestation.md).\n\ncommands:\n");
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		fprintf(f, "  %-12s %s\n", sub[i].name, sub[i].what);
	fprintf(f, "\n`tpm11 ak COMMAND --help` for a command's options.\n");
	return bad ? 2 : 0;
}

/* --- tpm11 attest ------------------------------------------------------------ */


/* The stored creation data of an object (TPM2_Create's outputs). */
static int
object_creation(core *c, token *t, int64_t id, blob *cdata, blob *chash,
		blob *ctk)
{
	object_rec *recs = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (store_objects(c->st, t->rec.id, &recs, &n) != STORE_OK)
		return -1;
	for (i = 0; i < n; i++) {
		if (recs[i].id != id || recs[i].creation_data.data == NULL ||
		    recs[i].creation_hash.data == NULL ||
		    recs[i].creation_ticket.data == NULL)
			continue;
		/* TPM2B_CREATION_DATA: keep the TPMS_CREATION_DATA that the
		 * creation hash covers (Part 3, 12.1). */
		if (recs[i].creation_data.len < 2 ||
		    blob_set(cdata, recs[i].creation_data.data + 2,
			     recs[i].creation_data.len - 2) != 0 ||
		    blob_set(chash, recs[i].creation_hash.data,
			     recs[i].creation_hash.len) != 0 ||
		    blob_set(ctk, recs[i].creation_ticket.data,
			     recs[i].creation_ticket.len) != 0)
			rc = -1;
		else
			rc = 0;
		break;
	}
	store_objects_free(recs, n);
	return rc;
}

/* A CKO_DATA object per attested key, so PKCS#11-only programs can read
 * the attestation: CKA_APPLICATION "tpm11-attestation", CKA_ID and
 * CKA_LABEL of the key, CKA_VALUE the attestation as written. A newer one
 * replaces the older. */
static CK_RV
store_attestation_object(core *c, token *t, token_obj *o, const char *fmt,
			 const void *data, size_t len)
{
	object_rec rec;
	const CK_ATTRIBUTE *id = attr_find(&o->attrs, CKA_ID);
	const CK_ATTRIBUTE *lb = attr_find(&o->attrs, CKA_LABEL);
	int64_t old[16];
	size_t nold = 0, i;
	char objid[64];
	CK_RV rv;

	memset(&rec, 0, sizeof(rec));
	attr_list_init(&rec.attrs);
	rec.token_id = t->rec.id;
	for (i = 0; i < t->nobjs && nold < 16; i++) {
		token_obj *d = t->objs[i];
		const CK_ATTRIBUTE *a = attr_find(&d->attrs, CKA_APPLICATION);
		const CK_ATTRIBUTE *did = attr_find(&d->attrs, CKA_ID);

		if (d->cls == CKO_DATA && a &&
		    a->ulValueLen == strlen(ATTEST_APPLICATION) &&
		    memcmp(a->pValue, ATTEST_APPLICATION, a->ulValueLen) == 0 &&
		    id && did && did->ulValueLen == id->ulValueLen &&
		    memcmp(did->pValue, id->pValue, id->ulValueLen) == 0)
			old[nold++] = d->id;
	}
	snprintf(objid, sizeof(objid), "tpm11-attestation/%s", fmt);
	if (attr_set_ulong(&rec.attrs, CKA_CLASS, CKO_DATA) ||
	    attr_set_bool(&rec.attrs, CKA_TOKEN, true) ||
	    attr_set_bool(&rec.attrs, CKA_PRIVATE, false) ||
	    attr_set_bool(&rec.attrs, CKA_MODIFIABLE, false) ||
	    attr_set_str(&rec.attrs, CKA_APPLICATION, ATTEST_APPLICATION) ||
	    attr_set(&rec.attrs, CKA_OBJECT_ID, objid, strlen(objid)) ||
	    (lb && attr_set(&rec.attrs, CKA_LABEL, lb->pValue, lb->ulValueLen)) ||
	    (id && attr_set(&rec.attrs, CKA_ID, id->pValue, id->ulValueLen)) ||
	    attr_set(&rec.attrs, CKA_VALUE, data, len)) {
		attr_list_clear(&rec.attrs);
		return CKR_HOST_MEMORY;
	}
	if (store_objects_add(c->st, &rec, 1) != STORE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", store_errmsg(c->st));
		attr_list_clear(&rec.attrs);
		return CKR_DEVICE_ERROR;
	}
	attr_list_clear(&rec.attrs);
	rv = nold ? token_destroy_objects(c, t, old, nold) : CKR_OK;
	return rv;
}

/* --- the verifier's challenge ---------------------------------------------- */

#define NONCE_MAX 64
#define KEY_AUTH_MAX 1024

static bool
b64url_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* RFC 8555 8.1: keyAuthorization = token || '.' ||
 * base64url(Thumbprint(accountKey)). The token is base64url without
 * padding and carries at least 128 bits (8.3: 22 characters or more); the
 * thumbprint is RFC 7638's SHA-256, 43 characters. Up to KEY_AUTH_MAX
 * characters in all. NULL when s is one, else what is wrong. */
static const char *
key_authorization_check(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t n = strlen(s);

	if (n > KEY_AUTH_MAX)
		return "longer than 1024 characters";
	if (dot == NULL || strchr(dot + 1, '.') != NULL)
		return "it must be one token, a dot, and the account key's "
		       "thumbprint";
	if (!b64url_run(s, (size_t)(dot - s)) ||
	    !b64url_run(dot + 1, strlen(dot + 1)))
		return "token and thumbprint are base64url, without padding";
	if (dot - s < 22)
		return "the token is shorter than 22 characters (128 bits)";
	if (strlen(dot + 1) != 43)
		return "the thumbprint is not 43 characters (base64url of a "
		       "SHA-256)";
	return NULL;
}

/* --client-data or --client-data-hash: WebAuthn's clientDataJSON or its
 * hash, which only the webauthn format binds. */
static bool
client_data_given(opt *opts)
{
	return opts_value(opts, "client-data") != NULL ||
	       opts_value(opts, "client-data-hash") != NULL;
}

/* The challenge C given as --nonce HEX (1 to 64 bytes), --key-authorization
 * STR or --client-data FILE (the clientDataJSON's bytes: WebAuthn's
 * clientDataHash is then SHA-256(C), as for any C), into a malloc'd *c;
 * or WebAuthn's clientDataHash itself, --client-data-hash HEX (32 bytes),
 * into cdh with *have_cdh set. Exactly one of them, or of the command's
 * own option other (a FILE: "respond", "challenge-state"), must be given;
 * *c stays NULL with other. 0 ok, 1 error, 2 usage error (message
 * printed). */
static int
challenge_from_opts(opt *opts, const char *other, uint8_t **c, size_t *len,
		    uint8_t cdh[32], bool *have_cdh)
{
	const char *nonce = opts_value(opts, "nonce");
	const char *kauth = opts_value(opts, "key-authorization");
	const char *cd = opts_value(opts, "client-data");
	const char *cdhex = opts_value(opts, "client-data-hash");
	const char *bad;
	size_t n = 0;

	*c = NULL;
	*len = 0;
	*have_cdh = false;
	if ((nonce != NULL) + (kauth != NULL) + (cd != NULL) +
		    (cdhex != NULL) + (opts_value(opts, other) != NULL) !=
	    1) {
		fprintf(stderr, "tpm11: give one challenge: --nonce HEX, "
			"--key-authorization STR, --client-data FILE, "
			"--client-data-hash HEX or --%s FILE\n", other);
		return 2;
	}
	if (cdhex != NULL) {
		if (hex_decode(cdhex, cdh, 32, &n) != 0 || n != 32) {
			fprintf(stderr, "tpm11: --client-data-hash takes "
				"exactly 32 bytes in hex (a SHA-256)\n");
			return 2;
		}
		*have_cdh = true;
	} else if (cd != NULL) {
		if (tool_read_file(cd, c, len) != 0)
			return 1;
		if (*len == 0) {
			fprintf(stderr, "tpm11: --client-data %s is empty\n", cd);
			free(*c);
			*c = NULL;
			return 2;
		}
	} else if (nonce != NULL) {
		if (hex_decode_alloc(nonce, c, len) != 0 || *len == 0 ||
		    *len > NONCE_MAX) {
			fprintf(stderr, "tpm11: --nonce takes 1 to 64 bytes in "
				"hex\n");
			free(*c);
			*c = NULL;
			return 2;
		}
	} else if (kauth != NULL) {
		if ((bad = key_authorization_check(kauth)) != NULL) {
			fprintf(stderr, "tpm11: --key-authorization is not an "
				"RFC 8555 key authorization (token.thumbprint): "
				"%s\n", bad);
			return 2;
		}
		*len = strlen(kauth);
		if ((*c = malloc(*len)) == NULL)
			return 1;
		memcpy(*c, kauth, *len);
	}
	return 0;
}

/* Key label for the json output and the authorized_keys comment. */
static char *
key_label(token_obj *o)
{
	return o ? attr_dup_str(&o->attrs, CKA_LABEL) : NULL;
}

/* A key that was imported (tpm11 import, C_CreateObject: TPM2_Import,
 * sensitiveDataOrigin clear) existed outside the TPM: no attestation can
 * say otherwise, and a verifier refuses it (verify.c). Said here, before
 * an AK or the PIN is asked for. Returns true (with the message) for one. */
static bool
attest_key_imported(const token_obj *o)
{
	TPMT_PUBLIC p;
	char *label;

	if (o->key.pub.len < 2 ||
	    tpmt_public_parse(o->key.pub.data + 2, o->key.pub.len - 2, &p) !=
		    0 ||
	    (p.objectAttributes & TPMA_OBJECT_SENSITIVEDATAORIGIN))
		return false;
	label = attr_dup_str(&o->attrs, CKA_LABEL);
	fprintf(stderr, "tpm11: attest: key \"%s\" was imported into the TPM "
		"(sensitiveDataOrigin clear): it existed outside the TPM, so "
		"no attestation can vouch for it and verifiers refuse it; make "
		"a key in the TPM with `tpm11 addkey` to attest\n",
		label ? label : "");
	free(label);
	return true;
}

int
cmd_attest(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "the token"},
		{"key-label", OPT_VALUE, "the key to attest (CKA_LABEL)"},
		{"id", OPT_VALUE, "the key to attest by CKA_ID (hex)"},
		{"key-handle", OPT_VALUE, "attest a persistent TPM object "
		 "instead (e.g. 0x81000100; made by other tools)"},
		{"ak", OPT_VALUE, "the attestation key (default \"ak\")"},
		{"nonce", OPT_VALUE, "the verifier's challenge, in hex"},
		{"key-authorization", OPT_VALUE, "ACME: the challenge's key "
		 "authorization (token.thumbprint)"},
		{"client-data", OPT_VALUE, "webauthn: the clientDataJSON, a "
		 "file (clientDataHash = its SHA-256)"},
		{"client-data-hash", OPT_VALUE, "webauthn: the clientDataHash, "
		 "in hex (32 bytes)"},
		{"respond", OPT_VALUE, "answer a challenge file from `tpm11 "
		 "verify-attestation --make-challenge`"},
		{"format", OPT_VALUE, "json (default), webauthn or acme"},
		{"rp-id", OPT_VALUE, "webauthn: the relying party ID (default "
		 "\"tpm11\")"},
		{"out", OPT_VALUE, "write to this file (default: stdout)"},
		{"store-object", OPT_FLAG, "also keep the attestation on the "
		 "token as a CKO_DATA object"},
		{"userpin", OPT_PIN, "user PIN (asked when left out)"},
		{"userpin-file", OPT_VALUE, "read the user PIN from a file"},
		{NULL},
	};
	const char *fmt_s = opts_value(opts, "format"), *respond, *khs;
	ev_format fmt = EV_JSON;
	evidence ev;
	ak_rec ak;
	core *c = NULL;
	token *t = NULL;
	token_obj *o = NULL;
	uint8_t *chal = NULL, extra[32], cdh[32];
	size_t chal_len = 0, chal_cap = 0, n_ec = 0, outlen = 0;
	bool have_cdh = false;
	tpm_ek_cert *ec = NULL;
	uint32_t key_handle = 0, obj_tr = 0, ak_tr = 0;
	blob pers_pub = {0}, chash = {0}, ctk = {0}, akt = {0};
	json_value *cj = NULL;
	char why[320], *out = NULL, *pin = NULL;
	bool logged_in = false, have_creation = false;
	CK_RV rv;
	int ret = 1, i;

	memset(&ev, 0, sizeof(ev));
	memset(&ak, 0, sizeof(ak));
	ARGS(opts, "attest",
	     "--label LABEL (--key-label NAME | --id HEX) (--nonce HEX | "
	     "--key-authorization STR | --client-data FILE | "
	     "--client-data-hash HEX | --respond FILE) [--format "
	     "json|webauthn|acme] [--ak NAME] [--out FILE] [--store-object]",
	     "Proves that a key lives in this TPM: TPM2_Certify (and "
	     "TPM2_CertifyCreation)\nby the attestation key over the key, "
	     "bound to the verifier's challenge.\nAttestation is opt-in: "
	     "nothing is sent anywhere; the output goes to the\nverifier "
	     "(`tpm11 verify-attestation`). The json format carries the EK "
	     "certificates,\nwhich identify this machine.");
	fmt_s = opts_value(opts, "format");
	respond = opts_value(opts, "respond");
	khs = opts_value(opts, "key-handle");
	if (fmt_s && (fmt = ev_format_parse(fmt_s)) == 0) {
		fprintf(stderr, "tpm11: --format: json, webauthn or acme\n");
		return 2;
	}
	if (client_data_given(opts) && fmt != EV_WEBAUTHN) {
		fprintf(stderr, "tpm11: --client-data and --client-data-hash "
			"are WebAuthn's clientDataJSON and its hash: use them "
			"with --format webauthn\n");
		return 2;
	}
	if ((i = challenge_from_opts(opts, "respond", &chal, &chal_len, cdh,
				     &have_cdh)) != 0)
		return i;
	chal_cap = chal_len;
	if (khs) {
		char *end;
		unsigned long h = strtoul(khs, &end, 16);

		if (*end != '\0' || h < 0x81000000ul || h > 0x81fffffful) {
			fprintf(stderr, "tpm11: --key-handle takes a persistent "
				"handle, 0x81000000..0x81FFFFFF\n");
			return 2;
		}
		key_handle = (uint32_t)h;
		if (opts_get(opts, "store-object")->given) {
			fprintf(stderr, "tpm11: --store-object needs a token "
				"key, not --key-handle\n");
			return 2;
		}
	} else if (!opts_value(opts, "key-label") && !opts_value(opts, "id")) {
		fprintf(stderr, "tpm11: name the key with --key-label NAME or "
			"--id HEX (see `tpm11 listobjects`)\n");
		return 2;
	}
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (!key_handle) {
		if ((t = tool_token(c, opts)) == NULL ||
		    (o = tool_find_key(t, opts_value(opts, "key-label"),
				       opts_value(opts, "id"), "id")) == NULL)
			goto out;
		if (attest_key_imported(o))
			goto out;
	}
	if (ak_need(c, opts_value(opts, "ak") ? opts_value(opts, "ak")
					      : AK_DEFAULT, &ak) != 0)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK) {
		tool_fail(c, "attest", rv);
		goto out;
	}
	/* Nothing of ours is loaded yet: the EK work comes first. */
	if (fmt == EV_JSON &&
	    tpm_ek_certs(c->tpm, &ec, &n_ec, why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: attest: %s\n", why);
		goto out;
	}
	if (respond) {
		uint8_t nm[66], *want = NULL;
		size_t nl, wl;
		uint32_t ek_index = 0;
		const char *idx, *cid;
		blob cred = {0}, sec = {0};
		bool ok;

		if ((cj = read_json(respond, CHALLENGE_FORMAT)) == NULL)
			goto out;
		/* The credential the TPM recovers: at most 64 bytes. */
		if ((chal = malloc(NONCE_MAX)) == NULL)
			goto out;
		chal_cap = NONCE_MAX;
		idx = json_get_str(cj, "ek_nv_index");
		cid = json_get_str(cj, "challenge_id");
		if (idx == NULL || !parse_index(idx, &ek_index) || cid == NULL ||
		    json_get_hex(cj, "ak_name", &want, &wl) != 0 ||
		    json_get_b64(cj, "credential_blob", &cred.data,
				 &cred.len) != 0 ||
		    json_get_b64(cj, "encrypted_secret", &sec.data,
				 &sec.len) != 0) {
			fprintf(stderr, "tpm11: %s: a member is missing or "
				"malformed\n", respond);
			free(want);
			blob_free(&cred);
			blob_free(&sec);
			goto out;
		}
		ok = ak_tpm_name(&ak, nm, &nl) == 0 && nl == wl &&
		     memcmp(nm, want, nl) == 0;
		free(want);
		if (!ok) {
			fprintf(stderr, "tpm11: the challenge is for another "
				"AK than \"%s\"\n", ak.name);
			blob_free(&cred);
			blob_free(&sec);
			goto out;
		}
		rv = tpm_activate_credential(c->tpm, &ak.ak, ek_index, &cred,
					     &sec, chal, &chal_len, why,
					     sizeof(why));
		blob_free(&cred);
		blob_free(&sec);
		if (rv != CKR_OK) {
			fprintf(stderr, "tpm11: attest: %s\n", why);
			goto out;
		}
		if ((ev.challenge_id = strdup(cid)) == NULL)
			goto out;
	}

	/* The key's public area, the qualifying data. */
	if (key_handle) {
		if (tpm_persistent_object(c->tpm, key_handle, &obj_tr,
					  &pers_pub, why, sizeof(why)) !=
		    CKR_OK) {
			fprintf(stderr, "tpm11: attest: %s\n", why);
			goto out;
		}
		if (blob_set(&ev.key_pub, pers_pub.data + 2,
			     pers_pub.len - 2) != 0)
			goto out;
	} else {
		if (o->key.pub.len < 2 ||
		    blob_set(&ev.key_pub, o->key.pub.data + 2,
			     o->key.pub.len - 2) != 0)
			goto out;
		i = object_creation(c, t, o->id, &ev.creation_data, &chash,
				    &ctk);
		have_creation = i == 0;
	}
	ev.format = fmt;
	if (fmt == EV_WEBAUTHN &&
	    ev_auth_data(opts_value(opts, "rp-id") ? opts_value(opts, "rp-id")
						   : "tpm11",
			 &ev.key_pub, &ev.auth_data) != 0) {
		fprintf(stderr, "tpm11: attest: this key type has no COSE "
			"form\n");
		goto out;
	}
	if ((have_cdh ? ev_webauthn_extra(&ev.auth_data, cdh, extra)
		      : ev_extra_data(fmt, chal, chal_len, &ev.auth_data,
				      extra)) != 0)
		goto out;

	/* Load the key (TPM2_Certify proves its authValue, which needs the
	 * PIN for a PIN-protected key); the AK joins it. */
	if (o != NULL) {
		if (attr_find(&o->attrs, CKA_TPM11_AUTH_NONCE) != NULL) {
			if ((pin = pin_get(opts, "userpin", "user PIN",
					   false)) == NULL)
				goto out;
			rv = token_login(c, t, CKU_USER, pin, strlen(pin));
			if (rv != CKR_OK) {
				tool_fail(c, "attest", rv);
				goto out;
			}
			logged_in = true;
		}
		if ((rv = token_key_ready(c, t, o)) != CKR_OK ||
		    (rv = tpm_key_load(c->tpm, &o->key)) != CKR_OK) {
			fprintf(stderr, "tpm11: attest: cannot load the key: "
				"%s\n", tpm_errmsg(c->tpm));
			goto out;
		}
		obj_tr = o->key.tr;
	}
	if ((rv = tpm_ak_load(c->tpm, &ak.ak, &ak_tr, why, sizeof(why))) !=
	    CKR_OK) {
		fprintf(stderr, "tpm11: attest: %s\n", why);
		goto out;
	}
	if (tpm_certify(c->tpm, obj_tr, ak_tr, extra, 32, &ev.cert_info,
			&ev.cert_sig, why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: attest: %s\n", why);
		goto out;
	}
	if (have_creation && fmt == EV_JSON &&
	    tpm_certify_creation(c->tpm, obj_tr, ak_tr, extra, 32, &chash,
				 &ctk, &ev.creation_info, &ev.creation_sig,
				 why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: attest: %s\n", why);
		goto out;
	}
	if (!have_creation || fmt != EV_JSON)
		blob_free(&ev.creation_data);
	tpm_attest_flush(c->tpm, ak_tr);
	ak_tr = 0;
	if (logged_in) {
		token_logout(c, t);
		logged_in = false;
	}
	tpm_idle(c->tpm);

	/* The output. */
	{
		TPMT_SIGNATURE s;

		if (tpmt_signature_parse(ev.cert_sig.data, ev.cert_sig.len,
					 &s) == 0)
			ev.alg = tpm_signature_cose_alg(&s);
	}
	if (ak.ncerts) {
		if ((ev.ak_certs = calloc(ak.ncerts, sizeof(blob))) == NULL)
			goto out;
		for (ev.n_ak_certs = 0; ev.n_ak_certs < ak.ncerts;
		     ev.n_ak_certs++)
			if (blob_set(&ev.ak_certs[ev.n_ak_certs],
				     ak.certs[ev.n_ak_certs].data,
				     ak.certs[ev.n_ak_certs].len) != 0)
				goto out;
	}
	if (fmt == EV_JSON) {
		if (ak_tpmt(&ak, &akt) != 0)
			goto out;
		ev.ak_pub = akt;
		memset(&akt, 0, sizeof(akt));
		ev.key_label = key_label(o);
		if (o)
			ev.ssh = token_obj_ssh_line(o);
		if (n_ec && (ev.ek_certs = calloc(n_ec, sizeof(ev_ek_cert))) ==
				    NULL)
			goto out;
		for (ev.n_ek_certs = 0; ev.n_ek_certs < n_ec; ev.n_ek_certs++) {
			ev.ek_certs[ev.n_ek_certs].index = ec[ev.n_ek_certs].index;
			if (blob_set(&ev.ek_certs[ev.n_ek_certs].der,
				     ec[ev.n_ek_certs].der.data,
				     ec[ev.n_ek_certs].der.len) != 0)
				goto out;
		}
	}
	if ((out = evidence_encode(&ev, &outlen)) == NULL) {
		fprintf(stderr, "tpm11: attest: cannot encode the output\n");
		goto out;
	}
	if (write_file(opts_value(opts, "out"), out, outlen, 0644) != 0)
		goto out;
	if (opts_get(opts, "store-object")->given) {
		rv = store_attestation_object(c, t, o, ev_format_name(fmt), out,
					      outlen);
		if (rv != CKR_OK) {
			tool_fail(c, "attest --store-object", rv);
			goto out;
		}
	}
	ret = 0;
out:
	if (c != NULL && c->tpm != NULL) {
		tpm_attest_flush(c->tpm, ak_tr);
		if (key_handle)
			tpm_attest_release(c->tpm, obj_tr);
		if (logged_in)
			token_logout(c, t);
		tpm_idle(c->tpm);
	}
	if (chal != NULL)
		secure_free(chal, chal_cap);
	secure_free_str(pin);
	free(out);
	json_free(cj);
	blob_free(&pers_pub);
	blob_free(&chash);
	blob_free(&ctk);
	blob_free(&akt);
	tpm_ek_certs_free(ec, n_ec);
	evidence_clear(&ev);
	ak_rec_clear(&ak);
	core_close(c);
	return ret;
}

/* --- tpm11 verify-attestation --------------------------------------------- */

static int
make_challenge(opt *opts)
{
	const char *req = opts_value(opts, "request");
	const char *ek_ca_path = opts_value(opts, "ek-ca");
	const char *ttl_s = opts_value(opts, "ttl");
	STACK_OF(X509) *ek_ca = NULL;
	json_value *j = NULL;
	const json_value *list;
	blob akp = {0};
	TPMT_PUBLIC ak, ekpub;
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET sec;
	uint8_t name[66], secret[32], cid[16], buf[sizeof(TPM2B_ID_OBJECT) +
						   sizeof(TPM2B_ENCRYPTED_SECRET)];
	size_t name_len, i, off, len;
	X509 *chosen = NULL;
	uint32_t chosen_index = 0;
	char why[256], idx[16], *cid_hex = NULL, *text = NULL;
	const char *bad;
	json_writer w;
	long ttl = 600;
	uint32_t want_index = 0;
	int pass;
	time_t expires;
	int ret = 1;

	if (req == NULL || ek_ca_path == NULL ||
	    opts_value(opts, "state-out") == NULL) {
		fprintf(stderr, "tpm11: --make-challenge needs --request FILE "
			"(from `tpm11 ak export`), --ek-ca FILE and --state-out "
			"FILE\n");
		return 2;
	}
	if (ttl_s) {
		char *end;

		ttl = strtol(ttl_s, &end, 10);
		if (*end != '\0' || ttl < 1 || ttl > 30L * 86400) {
			fprintf(stderr, "tpm11: --ttl: seconds, 1 to 2592000\n");
			return 2;
		}
	}
	if ((ek_ca = certs_load_pem(ek_ca_path, why, sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: --ek-ca: %s\n", why);
		return 1;
	}
	if ((j = read_json(req, REQUEST_FORMAT)) == NULL)
		goto out;
	if (json_get_b64(j, "ak_public", &akp.data, &akp.len) != 0 ||
	    tpmt_public_parse(akp.data, akp.len, &ak) != 0) {
		fprintf(stderr, "tpm11: refused: the request's ak_public does "
			"not parse\n");
		goto out;
	}
	if ((bad = verify_ak_attributes(&ak)) != NULL) {
		fprintf(stderr, "tpm11: refused: %s\n", bad);
		goto out;
	}
	if (tpm_name(akp.data, akp.len, ak.nameAlg, name, &name_len) != 0) {
		fprintf(stderr, "tpm11: refused: the AK's name algorithm is not "
			"supported\n");
		goto out;
	}
	/* The first EK certificate that chains to a trusted EK CA and whose
	 * template tpm11 knows: --ek-index, else ECC ones first (the TPM
	 * makes an ECC EK in a moment, an RSA one may take seconds). */
	if (opts_value(opts, "ek-index") &&
	    !parse_index(opts_value(opts, "ek-index"), &want_index)) {
		fprintf(stderr, "tpm11: --ek-index takes an NV index, e.g. "
			"0x01c00016\n");
		ret = 2;
		goto out;
	}
	list = json_get(j, "ek_certificates");
	why[0] = '\0';
	for (pass = 0; pass < 2 && !chosen; pass++)
	for (i = 0; list && list->type == JSON_ARR && i < list->n && !chosen;
	     i++) {
		const char *is = json_get_str(list->items[i], "nv_index");
		const ek_template *et;
		uint8_t *der = NULL;
		size_t dl;
		uint32_t index;
		X509 *x;
		EVP_PKEY *k;

		if (is == NULL || !parse_index(is, &index) ||
		    (et = ek_template_find(index)) == NULL || !et->supported ||
		    (want_index && index != want_index) ||
		    (!want_index && pass == 0 && strstr(et->name, "ECC") == NULL) ||
		    (!want_index && pass == 1 && strstr(et->name, "ECC") != NULL) ||
		    json_get_b64(list->items[i], "der", &der, &dl) != 0)
			continue;
		x = cert_from_der(der, dl);
		free(der);
		if (x == NULL)
			continue;
		if (cert_verify_chain(x, NULL, ek_ca, why, sizeof(why)) != 0) {
			X509_free(x);
			continue;
		}
		/* The EK as its TCG template makes it, with the certified
		 * key: its nameAlg and symmetric algorithm shape the
		 * credential. */
		k = X509_get_pubkey(x);
		if (k == NULL || ek_template_public(et, NULL, 0, &ekpub) != 0 ||
		    tpmt_public_set_unique(&ekpub, k) != 0) {
			snprintf(why, sizeof(why), "the EK certificate at "
				 "0x%08x does not hold a key of its template",
				 index);
			EVP_PKEY_free(k);
			X509_free(x);
			continue;
		}
		EVP_PKEY_free(k);
		chosen = x;
		chosen_index = index;
	}
	if (chosen == NULL) {
		fprintf(stderr, "tpm11: refused: no EK certificate in %s is "
			"issued by a trusted EK CA (--ek-ca)%s%s\n", req,
			why[0] ? ": " : "", why);
		goto out;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1 ||
	    RAND_bytes(cid, sizeof(cid)) != 1 ||
	    (cid_hex = hex_encode(cid, sizeof(cid))) == NULL)
		goto out;
	if (credential_make(&ekpub, name, name_len, secret, sizeof(secret),
			    &cred, &sec, why, sizeof(why)) != 0) {
		fprintf(stderr, "tpm11: make-challenge: %s\n", why);
		goto out;
	}
	expires = time(NULL) + ttl;
	snprintf(idx, sizeof(idx), "0x%08x", chosen_index);

	/* The state first: a challenge without its state is worthless. */
	json_w_init(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "format");
	json_w_str(&w, STATE_FORMAT);
	json_w_key(&w, "challenge_id");
	json_w_str(&w, cid_hex);
	json_w_key(&w, "secret");
	json_w_hex(&w, secret, sizeof(secret));
	json_w_key(&w, "ak_public");
	json_w_b64(&w, akp.data, akp.len);
	json_w_key(&w, "ek_nv_index");
	json_w_str(&w, idx);
	{
		uint8_t *der;
		size_t dl;

		if (cert_to_der(chosen, &der, &dl) != 0) {
			json_w_free(&w);
			goto out;
		}
		json_w_key(&w, "ek_certificate");
		json_w_b64(&w, der, dl);
		free(der);
	}
	json_w_key(&w, "expires");
	json_w_int(&w, (int64_t)expires);
	json_w_key(&w, "used");
	json_w_bool(&w, false);
	json_w_obj_end(&w);
	if ((text = json_w_finish(&w, &len)) == NULL)
		goto out;
	i = write_file(opts_value(opts, "state-out"), text, len, 0600);
	secure_free(text, len);
	text = NULL;
	if (i != 0)
		goto out;

	json_w_init(&w);
	json_w_obj_begin(&w);
	json_w_key(&w, "format");
	json_w_str(&w, CHALLENGE_FORMAT);
	json_w_key(&w, "challenge_id");
	json_w_str(&w, cid_hex);
	json_w_key(&w, "ek_nv_index");
	json_w_str(&w, idx);
	json_w_key(&w, "ak_name");
	json_w_hex(&w, name, name_len);
	off = 0;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&cred, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS) {
		json_w_free(&w);
		goto out;
	}
	json_w_key(&w, "credential_blob");
	json_w_b64(&w, buf, off);
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&sec, buf, sizeof(buf),
						   &off) != TSS2_RC_SUCCESS) {
		json_w_free(&w);
		goto out;
	}
	json_w_key(&w, "encrypted_secret");
	json_w_b64(&w, buf, off);
	json_w_key(&w, "expires");
	json_w_int(&w, (int64_t)expires);
	json_w_obj_end(&w);
	if ((text = json_w_finish(&w, &len)) == NULL)
		goto out;
	if (write_file(opts_value(opts, "challenge-out"), text, len, 0644) != 0)
		goto out;
	{
		tpm_identity id;

		cert_tpm_identity(chosen, &id);
		fprintf(stderr, "tpm11: challenge %s for AK %02x%02x... through "
			"the EK at %s (manufacturer %s, model %s); answer with "
			"`tpm11 attest --respond`\n", cid_hex, name[0], name[1],
			idx, id.manufacturer[0] ? id.manufacturer : "?",
			id.model[0] ? id.model : "?");
	}
	ret = 0;
out:
	secure_zero(secret, sizeof(secret));
	secure_zero(&cred, sizeof(cred));
	free(text);
	free(cid_hex);
	blob_free(&akp);
	X509_free(chosen);
	json_free(j);
	sk_X509_pop_free(ek_ca, X509_free);
	return ret;
}

/* A challenge state is answered once. The claim is the exclusive
 * creation of "<state>.used" (two verifiers racing on one answer: one
 * wins); the state is then rewritten with "used": true for people. */
static bool
state_claimed(const char *path)
{
	char u[4096];
	struct stat sb;

	snprintf(u, sizeof(u), "%s.used", path);
	return stat(u, &sb) == 0;
}

static int
state_mark_used(const char *path)
{
	char u[4096];
	uint8_t *b;
	size_t n;
	char *p;
	int fd, rc;

	if (snprintf(u, sizeof(u), "%s.used", path) >= (int)sizeof(u))
		return -1;
	if ((fd = open(u, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		return errno == EEXIST ? 1 : -1;
	close(fd);
	if (tool_read_file(path, &b, &n) != 0)
		return -1;
	p = strstr((char *)b, "\"used\": false");
	if (p == NULL) {
		secure_free(b, n);
		return -1;
	}
	memcpy(p, "\"used\": true ", 13);
	rc = write_file(path, b, n, 0600);
	secure_free(b, n);
	return rc;
}

static void
sanitize_comment(char *s)
{
	for (; s && *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.' || *s == '@'))
			*s = '_';
}

int
cmd_verify_attestation(int argc, char **argv)
{
	opt opts[] = {
		{"nonce", OPT_VALUE, "the challenge given to `tpm11 attest "
		 "--nonce` (hex)"},
		{"key-authorization", OPT_VALUE, "ACME: the key authorization"},
		{"client-data", OPT_VALUE, "webauthn: the clientDataJSON given "
		 "to `tpm11 attest --client-data` (a file)"},
		{"client-data-hash", OPT_VALUE, "webauthn: the clientDataHash, "
		 "in hex (32 bytes)"},
		{"challenge-state", OPT_VALUE, "challenge-response: the state "
		 "file from --make-challenge (used once)"},
		{"ek-ca", OPT_VALUE, "PEM file of trusted EK CA certificates "
		 "(TPM vendors)"},
		{"ak-ca", OPT_VALUE, "PEM file of trusted AK CA certificates"},
		{"expect-ssh-key", OPT_VALUE, "the attested key must be this "
		 "OpenSSH public key"},
		{"expect-csr", OPT_VALUE, "the attested key must be the key of "
		 "this PEM CSR"},
		{"rp-id", OPT_VALUE, "webauthn: the relying party ID (default "
		 "\"tpm11\")"},
		{"require-creation", OPT_FLAG, "also require the "
		 "TPM2_CertifyCreation proof (json)"},
		{"require-policy", OPT_VALUE, "the key's authPolicy must be "
		 "this (hex; e.g. a PCR-bound key's), binding every use"},
		{"make-challenge", OPT_FLAG, "make a challenge instead (with "
		 "--request, --ek-ca, --state-out, --challenge-out)"},
		{"request", OPT_VALUE, "with --make-challenge: the file from "
		 "`tpm11 ak export`"},
		{"state-out", OPT_VALUE, "with --make-challenge: where to keep "
		 "the secret state (0600)"},
		{"challenge-out", OPT_VALUE, "with --make-challenge: the "
		 "challenge for the user (default: stdout)"},
		{"ttl", OPT_VALUE, "with --make-challenge: seconds the "
		 "challenge stays valid (default 600)"},
		{"ek-index", OPT_VALUE, "with --make-challenge: use the EK "
		 "whose certificate is at this NV index"},
		{NULL},
	};
	const char *file = NULL, *st_path;
	bool help;
	uint8_t *in = NULL, *chal = NULL, cdh[32];
	size_t inlen, chal_len = 0, i;
	bool have_cdh = false;
	evidence ev;
	verify_opts vo;
	verify_result vr;
	json_value *st = NULL;
	blob st_ak = {0}, st_ek = {0};
	char why[256], *label = NULL;
	int ret = 1, mk;

	memset(&ev, 0, sizeof(ev));
	memset(&vo, 0, sizeof(vo));
	memset(&vr, 0, sizeof(vr));
	if (opts_parse(argc, argv, opts, &help, &file) != 0)
		return 2;
	if (help) {
		opts_usage("verify-attestation",
			   "FILE (--nonce HEX | --key-authorization STR | "
			   "--client-data FILE | --client-data-hash HEX | "
			   "--challenge-state FILE) [--ek-ca FILE] [--ak-ca "
			   "FILE] [--expect-ssh-key FILE | --expect-csr FILE]\n"
			   "       tpm11 verify-attestation --make-challenge "
			   "--request FILE --ek-ca FILE --state-out FILE "
			   "[--challenge-out FILE]",
			   "Checks an attestation from `tpm11 attest` (any of "
			   "its formats) on a machine\nwithout a TPM. Exit "
			   "status 0 only when every check holds; each failed "
			   "check\nprints one line. On success prints the "
			   "key's authorized_keys line, after\n'#' lines naming "
			   "the TPM (so the whole output can be appended to\n"
			   "authorized_keys).",
			   opts);
		return 0;
	}
	if (opts_get(opts, "make-challenge")->given)
		return make_challenge(opts);
	if (file == NULL) {
		fprintf(stderr, "tpm11: name the attestation file (see "
			"--help)\n");
		return 2;
	}
	st_path = opts_value(opts, "challenge-state");
	if ((mk = challenge_from_opts(opts, "challenge-state", &chal,
				      &chal_len, cdh, &have_cdh)) != 0)
		return mk;
	if (tool_read_file(file, &in, &inlen) != 0)
		goto out;
	if (evidence_decode(in, inlen, &ev, why, sizeof(why)) != 0) {
		fprintf(stderr, "tpm11: refused: %s\n", why);
		goto out;
	}
	if (client_data_given(opts) && ev.format != EV_WEBAUTHN) {
		fprintf(stderr, "tpm11: --client-data and --client-data-hash "
			"bind only the webauthn format; %s is a %s attestation\n",
			file, ev_format_name(ev.format));
		ret = 2;
		goto out;
	}
	if (st_path) {
		const json_value *used, *exp;

		if ((st = read_json(st_path, STATE_FORMAT)) == NULL)
			goto out;
		used = json_get(st, "used");
		exp = json_get(st, "expires");
		if (json_get_hex(st, "secret", &chal, &chal_len) != 0 ||
		    json_get_b64(st, "ak_public", &st_ak.data, &st_ak.len) != 0 ||
		    json_get_b64(st, "ek_certificate", &st_ek.data,
				 &st_ek.len) != 0 ||
		    used == NULL || used->type != JSON_BOOL || exp == NULL ||
		    exp->type != JSON_INT) {
			fprintf(stderr, "tpm11: %s: a member is missing or "
				"malformed\n", st_path);
			goto out;
		}
		if (used->b || state_claimed(st_path)) {
			fprintf(stderr, "tpm11: refused: the challenge was "
				"already answered (a replayed response)\n");
			goto out;
		}
		if ((int64_t)time(NULL) > exp->i) {
			fprintf(stderr, "tpm11: refused: the challenge expired; "
				"make a new one\n");
			goto out;
		}
		if (ev.challenge_id != NULL &&
		    (json_get_str(st, "challenge_id") == NULL ||
		     strcmp(ev.challenge_id, json_get_str(st, "challenge_id")) !=
			     0)) {
			fprintf(stderr, "tpm11: refused: the attestation "
				"answers another challenge (id %s)\n",
				ev.challenge_id);
			goto out;
		}
		vo.credential = true;
		vo.state_ak_pub = &st_ak;
		vo.state_ek_cert = &st_ek;
	}
	vo.challenge = chal;
	vo.challenge_len = chal_len;
	vo.client_data_hash = have_cdh ? cdh : NULL;
	vo.rp_id = opts_value(opts, "rp-id");
	vo.require_creation = opts_get(opts, "require-creation")->given;
	vo.require_policy = opts_value(opts, "require-policy");
	if (opts_value(opts, "ek-ca") &&
	    (vo.ek_ca = certs_load_pem(opts_value(opts, "ek-ca"), why,
				       sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: --ek-ca: %s\n", why);
		goto out;
	}
	if (opts_value(opts, "ak-ca") &&
	    (vo.ak_ca = certs_load_pem(opts_value(opts, "ak-ca"), why,
				       sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: --ak-ca: %s\n", why);
		goto out;
	}
	if (opts_value(opts, "expect-ssh-key")) {
		uint8_t *k;
		size_t kl;

		vo.expect_what = opts_value(opts, "expect-ssh-key");
		if (tool_read_file(vo.expect_what, &k, &kl) != 0)
			goto out;
		vo.expect_key = ssh_line_pkey((const char *)k);
		free(k);
		if (vo.expect_key == NULL) {
			fprintf(stderr, "tpm11: %s: not an OpenSSH ECDSA or RSA "
				"public key\n", vo.expect_what);
			goto out;
		}
	} else if (opts_value(opts, "expect-csr")) {
		FILE *f;
		X509_REQ *req;

		vo.expect_what = opts_value(opts, "expect-csr");
		if ((f = fopen(vo.expect_what, "r")) == NULL) {
			fprintf(stderr, "tpm11: cannot open %s\n",
				vo.expect_what);
			goto out;
		}
		req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
		fclose(f);
		if (req == NULL ||
		    (vo.expect_key = X509_REQ_get_pubkey(req)) == NULL) {
			fprintf(stderr, "tpm11: %s: not a PEM certificate "
				"request\n", vo.expect_what);
			X509_REQ_free(req);
			goto out;
		}
		/* The CSR must be signed by its key: its holder used the
		 * key, so the key in the TPM is the CSR's. */
		if (X509_REQ_verify(req, vo.expect_key) != 1) {
			fprintf(stderr, "tpm11: refused: the CSR's signature "
				"does not verify\n");
			X509_REQ_free(req);
			goto out;
		}
		X509_REQ_free(req);
	}
	if (ev.key_label && (label = strdup(ev.key_label)) != NULL) {
		sanitize_comment(label);
		vo.comment = label;
	}
	if (verify_evidence(&ev, &vo, &vr) != 0) {
		for (i = 0; i < vr.n; i++)
			fprintf(stderr, "tpm11: refused: %s\n", vr.reasons[i]);
		goto out;
	}
	if (st_path && (mk = state_mark_used(st_path)) != 0) {
		if (mk == 1)
			fprintf(stderr, "tpm11: refused: the challenge was "
				"already answered (a replayed response)\n");
		else
			fprintf(stderr, "tpm11: refused: cannot mark the "
				"challenge state %s used\n", st_path);
		goto out;
	}
	printf("# tpm11: attestation verified (%s, %s)\n",
	       ev_format_name(ev.format),
	       st_path ? "challenge-response" : "AK certificate");
	printf("# key: %s, generated in the TPM and bound to it (fixedTPM, "
	       "fixedParent, sensitiveDataOrigin)\n",
	       vr.key_desc ? vr.key_desc : "?");
	if (vr.creation)
		printf("# created: in this TPM, under parent %s "
		       "(TPM2_CertifyCreation)\n", vr.creation_parent);
	if (vr.policy_only)
		printf("# key policy: authPolicy %s; every use must satisfy "
		       "it (userWithAuth clear), e.g. bound to PCRs\n",
		       vr.auth_policy);
	else if (vr.auth_policy[0])
		printf("# key policy: authPolicy %s, but its authValue alone "
		       "also authorizes it (userWithAuth set)\n",
		       vr.auth_policy);
	else
		printf("# key policy: none; its authValue authorizes its use\n");
	printf("# AK: %s\n", vr.ak_desc ? vr.ak_desc : "?");
	if (vr.ek_unbound)
		printf("# EK certificate: issued by a trusted EK CA (--ek-ca), "
		       "but not bound to the AK (AK certificate mode): it does "
		       "not name the TPM\n");
	if (vr.id.manufacturer[0] || vr.id.model[0]) {
		const char *vn = tpm_vendor_name(vr.id.manufacturer);

		printf("# TPM: manufacturer %s%s%s%s, model %s, version %s "
		       "(from the %s)\n", vr.id.manufacturer,
		       vn ? " (" : "", vn ? vn : "", vn ? ")" : "",
		       vr.id.model[0] ? vr.id.model : "?",
		       vr.id.version[0] ? vr.id.version : "?", vr.id_source);
		if (strcmp(vr.id.model, "swtpm") == 0)
			printf("# warning: swtpm is a software TPM: its keys "
			       "are held by a program, not by hardware\n");
	} else {
		printf("# TPM: manufacturer and model unknown (the %s names "
		       "none)\n", vr.id_source[0] ? vr.id_source
						   : "attestation");
	}
	printf("%s\n", vr.ssh_line);
	ret = 0;
out:
	verify_result_clear(&vr);
	evidence_clear(&ev);
	free(in);
	if (chal)
		secure_free(chal, chal_len);
	free(label);
	json_free(st);
	blob_free(&st_ak);
	blob_free(&st_ek);
	EVP_PKEY_free(vo.expect_key);
	sk_X509_pop_free(vo.ek_ca, X509_free);
	sk_X509_pop_free(vo.ak_ca, X509_free);
	return ret;
}
