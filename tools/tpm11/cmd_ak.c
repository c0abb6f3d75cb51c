/* tpm11 ak (docs/attestation.md, "Attestation keys"): its subcommands'
 * options and what they print. The work is in src/attest/ak.c; the AKs
 * live in the store's aks table, reached through the token layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/ak.h"
#include "attest/certs.h"
#include "attest/challenge.h"
#include "attest/codec.h"
#include "attest/tpmdata.h"
#include "tool.h"

/* --name, else the default AK. */
static const char *
ak_opt(opt *opts, const char *flag)
{
	return opts_value(opts, flag) ? opts_value(opts, flag) : AK_DEFAULT;
}

/* ak_need for the tool: 0, or 1 after the message. */
static int
ak_need_tool(core *c, const char *name, ak_rec *r)
{
	char why[256];

	if (ak_need(c, name, r, why, sizeof(why)) == 0)
		return 0;
	fprintf(stderr, "tpm11: %s\n", why);
	return 1;
}

static void
print_ak_name(const ak_rec *r)
{
	uint8_t nm[66];
	size_t nl;
	char *hex = NULL;

	if (ak_tpm_name(r, nm, &nl) == 0)
		hex = hex_encode(nm, nl);
	printf("name: %s\n", hex ? hex : "?");
	free(hex);
}

/* --- tpm11 ak ------------------------------------------------------------------ */

static int
ak_create_cmd(int argc, char **argv)
{
	opt opts[] = {
		{"name", OPT_VALUE, "the AK's name (default \"ak\")"},
		{"algorithm", OPT_VALUE,
		 "ecc256 (default: ECDSA P-256, what "
		 "CAs accept) or rsa2048"},
		{"ek-parent", OPT_FLAG,
		 "make the AK a child of the EK "
		 "(endorsement hierarchy) instead of the SRK"},
		{"ek-index", OPT_VALUE,
		 "with --ek-parent: the EK by its "
		 "certificate's NV index (default: the first one present "
		 "whose EK this TPM can make)"},
		{"pub-out", OPT_VALUE,
		 "also write the AK's public key (PEM) "
		 "to this file, for an AK CA"},
		{"force", OPT_FLAG, "replace an AK of the same name"},
		{NULL},
	};
	const char *name, *alg, *pub_out;
	tpm_ak_alg a = TPM_AK_ECC_P256;
	uint32_t ek_index = 0;
	ak_rec r, old;
	core *c = NULL;
	char why[320];
	EVP_PKEY *k;
	FILE *f;
	int ret = 1;

	memset(&r, 0, sizeof(r));
	ARGS(opts, "ak create",
	     "[--name NAME] [--algorithm ecc256|rsa2048] [--ek-parent "
	     "[--ek-index HEX]] [--pub-out FILE]",
	     "Creates an attestation key (AK) in the TPM: a restricted "
	     "signing key that\nonly ever signs the TPM's own attestation "
	     "structures. Owner hierarchy by\ndefault (the TPM then hides its "
	     "reset counts and firmware version).");
	name = ak_opt(opts, "name");
	if (!ak_name_ok(name)) {
		fprintf(stderr,
			"tpm11: --name: 1 to 32 of A-Z a-z 0-9 . _ -\n");
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
	     !challenge_parse_index(opts_value(opts, "ek-index"), &ek_index) ||
	     ek_template_find(ek_index) == NULL)) {
		fprintf(stderr,
			"tpm11: --ek-index goes with --ek-parent and "
			"names an EK certificate index, e.g. 0x01c00016\n");
		return 2;
	}
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (c->st == NULL) {
		fprintf(stderr,
			"tpm11: no store at %s; run `tpm11 init` "
			"first\n",
			c->store_dir);
		goto out;
	}
	if (ak_load(c, name, &old) != 1) {
		ak_rec_clear(&old);
		if (!opts_get(opts, "force")->given) {
			fprintf(stderr,
				"tpm11: an AK named \"%s\" exists; "
				"--force replaces it\n",
				name);
			goto out;
		}
	}
	if (ak_create(c, name, a, opts_get(opts, "ek-parent")->given, ek_index,
		      &r, why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: ak create: %s\n", why);
		goto out;
	}
	if (r.ek_index)
		printf("ak: %s (%s, endorsement hierarchy, child of the EK "
		       "0x%08x)\n",
		       name, a == TPM_AK_ECC_P256 ? "ecc256" : "rsa2048",
		       r.ek_index);
	else
		printf("ak: %s (%s, owner hierarchy, child of the SRK)\n", name,
		       a == TPM_AK_ECC_P256 ? "ecc256" : "rsa2048");
	print_ak_name(&r);
	if ((pub_out = opts_value(opts, "pub-out")) != NULL) {
		if ((f = fopen(pub_out, "w")) == NULL ||
		    (k = ak_pkey(&r)) == NULL) {
			fprintf(stderr, "tpm11: cannot write %s\n", pub_out);
			if (f)
				fclose(f);
			goto out;
		}
		PEM_write_PUBKEY(f, k);
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
		{"cert", OPT_VALUE,
		 "PEM file: the AK certificate, then any "
		 "intermediate CA certificates"},
		{NULL},
	};
	const char *name, *path;
	STACK_OF(X509) *sk = NULL;
	ak_rec r;
	core *c = NULL;
	char why[320], *issuer;
	int ret = 1;

	memset(&r, 0, sizeof(r));
	ARGS(opts, "ak import-cert", "[--name NAME] --cert FILE",
	     "Stores an AK certificate issued by an attestation CA (and its "
	     "chain). The\ncertificate must be for this AK's key.");
	name = ak_opt(opts, "name");
	if ((path = opts_value(opts, "cert")) == NULL) {
		fprintf(stderr, "tpm11: --cert FILE is needed\n");
		return 2;
	}
	if ((sk = certs_load_pem(path, why, sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: %s\n", why);
		return 1;
	}
	if ((c = tool_open(false)) == NULL || ak_need_tool(c, name, &r) != 0)
		goto out;
	{
		EVP_PKEY *k = ak_pkey(&r),
			 *ck = X509_get_pubkey(sk_X509_value(sk, 0));
		bool same = k != NULL && ck != NULL && EVP_PKEY_eq(k, ck) == 1;

		EVP_PKEY_free(k);
		EVP_PKEY_free(ck);
		if (!same) {
			fprintf(stderr,
				"tpm11: the first certificate in %s is "
				"not for the AK \"%s\"\n",
				path, name);
			goto out;
		}
	}
	if (cert_check_ak(sk_X509_value(sk, 0), false, why, sizeof(why)) != 0)
		fprintf(stderr,
			"tpm11: warning: %s; verifiers will refuse it\n", why);
	if (ak_set_certs(c, &r, sk, why, sizeof(why)) != 0) {
		fprintf(stderr, "tpm11: %s\n", why);
		goto out;
	}
	issuer = cert_issuer(sk_X509_value(sk, 0));
	printf("ak: %s: certificate from %s stored (%zu in chain)\n", name,
	       issuer ? issuer : "?", r.ncerts);
	free(issuer);
	ret = 0;
out:
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
	size_t i;
	EVP_PKEY *k;
	int ret = 1;

	ARGS(opts, "ak show", "[--name NAME] [--pem]",
	     "Shows an AK: its TPM Name, parent, public key and certificate.");
	name = ak_opt(opts, "name");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (ak_need_tool(c, name, &r) != 0) {
		core_close(c);
		return 1;
	}
	k = ak_pkey(&r);
	if (opts_get(opts, "pem")->given) {
		if (k != NULL)
			PEM_write_PUBKEY(stdout, k);
		ret = k ? 0 : 1;
		goto out;
	}
	printf("ak: %s\n", name);
	print_ak_name(&r);
	if (r.ek_index)
		printf("parent: EK 0x%08x (endorsement hierarchy)\n",
		       r.ek_index);
	else
		printf("parent: SRK (owner hierarchy)\n");
	printf("certificates: %zu\n", r.ncerts);
	for (i = 0; i < r.ncerts; i++) {
		X509 *x = cert_from_der(r.certs[i].data, r.certs[i].len);
		char *s = x ? cert_subject(x) : NULL,
		     *is = x ? cert_issuer(x) : NULL;

		printf("  - subject: %s\n    issuer: %s\n", s ? s : "?",
		       is ? is : "?");
		free(s);
		free(is);
		X509_free(x);
	}
	if (k != NULL)
		PEM_write_PUBKEY(stdout, k);
	ret = 0;
out:
	EVP_PKEY_free(k);
	ak_rec_clear(&r);
	core_close(c);
	return ret;
}

static int
ak_list(int argc, char **argv)
{
	opt opts[] = {{NULL}};
	char **names = NULL;
	size_t n = 0, i;
	core *c;
	ak_rec r;

	ARGS(opts, "ak list", "", "Lists the attestation keys of the store.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if (core_ak_names(c, &names, &n) == CKR_OK) {
		for (i = 0; i < n; i++) {
			if (ak_load(c, names[i], &r) != 0)
				continue;
			printf("- name: %s\n  parent: %s\n  certificates: %zu\n",
			       names[i], r.ek_index ? "EK" : "SRK", r.ncerts);
			ak_rec_clear(&r);
		}
	}
	core_ak_names_free(names, n);
	core_close(c);
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
	tpm_ek_cert *ec = NULL;
	size_t n = 0, len;
	char why[320], *text;
	ak_rec r;
	core *c;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "ak export", "[--name NAME] [--out FILE]",
	     "Writes what a verifier needs to make a challenge for this AK "
	     "(`tpm11\nverify-attestation --make-challenge`): the AK's public "
	     "area and the TPM's EK\ncertificates.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	memset(&r, 0, sizeof(r));
	if (ak_need_tool(c, ak_opt(opts, "name"), &r) != 0)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK) {
		tool_fail(c, "ak export", rv);
		goto out;
	}
	if (tpm_ek_certs(c->tpm, &ec, &n, why, sizeof(why)) != CKR_OK) {
		fprintf(stderr, "tpm11: ak export: %s\n", why);
		goto out;
	}
	ak_ek_certs_makeable(c, ec, &n);
	if (n == 0)
		fprintf(stderr,
			"tpm11: warning: this TPM has no EK "
			"certificate; a verifier cannot make a challenge\n");
	else
		fprintf(stderr,
			"tpm11: note: the EK certificates identify this "
			"TPM, and so this machine, to whoever reads the "
			"file\n");
	if ((text = ak_request_encode(&r, ec, n, &len)) == NULL)
		goto out;
	ret = tool_write_file(opts_value(opts, "out"), text, len, 0644) == 0
		      ? 0
		      : 1;
	free(text);
out:
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
		{"create", ak_create_cmd,
		 "create an attestation key in the TPM"},
		{"import-cert", ak_import_cert,
		 "store the AK's certificate "
		 "from an attestation CA"},
		{"export", ak_export,
		 "write the AK and EK certificates for a "
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

				snprintf(cmd, sizeof(cmd), "ak %s",
					 sub[i].name);
				tool_command = cmd;
				return sub[i].fn(argc - 1, argv + 1);
			}
	}
	if (argc >= 1 && bad)
		fprintf(stderr, "tpm11: unknown ak command \"%s\"\n\n",
			argv[0]);
	f = bad ? stderr : stdout;
	fprintf(f, "usage: tpm11 ak COMMAND [OPTIONS]\n\nAttestation keys: "
		   "restricted signing keys that prove where other keys\nlive "
		   "(docs/attestation.md).\n\ncommands:\n");
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		fprintf(f, "  %-12s %s\n", sub[i].name, sub[i].what);
	fprintf(f, "\n`tpm11 ak COMMAND --help` for a command's options.\n");
	return bad ? 2 : 0;
}

/* --- the verifier's side: verify-attestation --make-challenge -------------- */

/* A challenge for the AK in a request from `tpm11 ak export`, encrypted to
 * the EK a trusted CA certified (TPM2_MakeCredential's form): the
 * challenge for the user, and the secret state the verifier keeps to check
 * the answer (`tpm11 attest --respond`). Its options are
 * verify-attestation's (cmd_attest.c). 0 ok, 1 error, 2 usage error. */
int
ak_make_challenge(opt *opts)
{
	const char *req = opts_value(opts, "request");
	const char *ek_ca_path = opts_value(opts, "ek-ca");
	const char *ttl_s = opts_value(opts, "ttl");
	STACK_OF(X509) *ek_ca = NULL;
	json_value *j = NULL;
	challenge_made m;
	char why[4200];
	long ttl = CHALLENGE_TTL_DEFAULT;
	uint32_t want_index = 0;
	int ret = 1, rc;

	memset(&m, 0, sizeof(m));
	if (req == NULL || ek_ca_path == NULL ||
	    opts_value(opts, "state-out") == NULL) {
		fprintf(stderr,
			"tpm11: --make-challenge needs --request FILE "
			"(from `tpm11 ak export`), --ek-ca FILE and --state-out "
			"FILE\n");
		return 2;
	}
	if (ttl_s) {
		char *end;

		ttl = strtol(ttl_s, &end, 10);
		if (*end != '\0' || ttl < 1 || ttl > CHALLENGE_TTL_MAX) {
			fprintf(stderr,
				"tpm11: --ttl: seconds, 1 to 2592000\n");
			return 2;
		}
	}
	if ((ek_ca = certs_load_pem(ek_ca_path, why, sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: --ek-ca: %s\n", why);
		return 1;
	}
	if ((j = challenge_read_json(req, AK_REQUEST_FORMAT, why,
				     sizeof(why))) == NULL) {
		fprintf(stderr, "tpm11: %s\n", why);
		goto out;
	}
	if (opts_value(opts, "ek-index") &&
	    !challenge_parse_index(opts_value(opts, "ek-index"), &want_index)) {
		fprintf(stderr, "tpm11: --ek-index takes an NV index, e.g. "
				"0x01c00016\n");
		ret = 2;
		goto out;
	}
	if ((rc = challenge_make(j, req, ek_ca, want_index, ttl, time(NULL), &m,
				 why, sizeof(why))) == 1) {
		fprintf(stderr, "tpm11: refused: %s\n", why);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "tpm11: make-challenge: %s\n", why);
		goto out;
	}
	/* The state first: a challenge without its state is worthless. */
	if (tool_write_file(opts_value(opts, "state-out"), m.state_text,
			    m.state_len, 0600) != 0 ||
	    tool_write_file(opts_value(opts, "challenge-out"), m.challenge_text,
			    m.challenge_len, 0644) != 0)
		goto out;
	fprintf(stderr,
		"tpm11: challenge %s for AK %02x%02x... through the EK "
		"at %s (manufacturer %s, model %s); answer with `tpm11 attest "
		"--respond`\n",
		m.id, m.ak_name[0], m.ak_name[1], m.ek_index,
		m.tpm.manufacturer[0] ? m.tpm.manufacturer : "?",
		m.tpm.model[0] ? m.tpm.model : "?");
	ret = 0;
out:
	challenge_made_clear(&m);
	json_free(j);
	sk_X509_pop_free(ek_ca, X509_free);
	return ret;
}
