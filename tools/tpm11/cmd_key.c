/* Key commands: addkey, listobjects, rmkey (objdel), ssh-pubkey. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pin.h"
#include "tool.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* An EC P-256 key from a PEM file (a public key, or a private key when
 * priv is set): its point x||y, and the private key in *out when asked.
 * -1 with a message. */
static int
signer_read(const char *path, bool priv, uint8_t xy[64], EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;
	uint8_t pt[65];
	char grp[32] = "";
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "tpm11: %s: cannot open: %s\n", path,
			strerror(errno));
		return -1;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
		 : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (k == NULL && !priv) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, grp,
					   sizeof(grp), NULL) != 1 ||
	    strcmp(grp, "prime256v1") != 0 ||
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
					    sizeof(pt), &n) != 1 ||
	    n != 65 || pt[0] != 4) {
		fprintf(stderr,
			"tpm11: %s: not a PEM EC P-256 %s key (make "
			"one with `openssl genpkey -algorithm EC -pkeyopt "
			"ec_paramgen_curve:P-256`)\n",
			path, priv ? "private" : "public or private");
		EVP_PKEY_free(k);
		return -1;
	}
	memcpy(xy, pt + 1, 64);
	if (out != NULL)
		*out = k;
	else
		EVP_PKEY_free(k);
	return 0;
}

int
cmd_pcr_sign(int argc, char **argv)
{
	opt opts[] = {
		{"signer", OPT_VALUE,
		 "the signer's EC P-256 private key (PEM)"},
		{"pcrs", OPT_VALUE,
		 "the PCRs, e.g. sha256:7,11; their values are "
		 "read from this TPM"},
		{"out", OPT_VALUE,
		 "the signed policy file (the module reads "
		 "*.pcrpol in STORE/pcr-policies or $TPM11_PCR_POLICIES)"},
		{NULL},
	};
	const char *sa, *pa, *out;
	tpm_pcr_policy p = {0};
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	uint8_t xy[64], h[32], der[80];
	const uint8_t *dp = der;
	size_t dl = sizeof(der);
	struct timespec ts;
	char err[160];
	blob file = {0};
	core *c = NULL;
	FILE *f;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "pcr-sign", "--signer PEM --pcrs BANK:N,... --out FILE",
	     "Signs the current values of these PCRs with the signer's key: "
	     "keys made with\naddkey --pcr-signer sign again while the PCRs "
	     "have these values.");
	sa = opts_value(opts, "signer");
	pa = opts_value(opts, "pcrs");
	out = opts_value(opts, "out");
	if (sa == NULL || pa == NULL || out == NULL) {
		fprintf(stderr, "tpm11: pcr-sign needs --signer, --pcrs and "
				"--out\n");
		return 2;
	}
	if (tpm_pcr_sel_parse(pa, &p.sel, err, sizeof(err)) != 0) {
		fprintf(stderr, "tpm11: %s\n", err);
		return 2;
	}
	if (signer_read(sa, true, xy, &k) != 0)
		return 2;
	if ((c = tool_open(false)) == NULL)
		goto out;
	if ((rv = core_tpm(c)) != CKR_OK) {
		tool_fail(c, "pcr-sign", rv);
		goto out;
	}
	if (tpm_pcr_read(c->tpm, &p.sel, &p.values) != CKR_OK) {
		fprintf(stderr, "tpm11: pcr-sign: --pcrs %s: %s\n", pa,
			tpm_errmsg(c->tpm));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	p.created =
		(uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (tpm_pcr_policy_hash(&p.sel, &p.values, h) != 0 ||
	    (pc = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_sign(pc, der, &dl, h, sizeof(h)) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &dp, (long)dl)) == NULL) {
		fprintf(stderr, "tpm11: pcr-sign: signing failed\n");
		goto out;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, p.sig, 32) != 32 ||
	    BN_bn2binpad(s, p.sig + 32, 32) != 32 ||
	    token_pcr_policy_encode(&p, &file) != 0) {
		fprintf(stderr, "tpm11: pcr-sign: signing failed\n");
		goto out;
	}
	if ((f = fopen(out, "wb")) == NULL ||
	    fwrite(file.data, 1, file.len, f) != file.len || fclose(f) != 0) {
		fprintf(stderr, "tpm11: pcr-sign: %s: cannot write: %s\n", out,
			strerror(errno));
		goto out;
	}
	tpm_pcr_sel_text(&p.sel, err, sizeof(err));
	printf("signed the current values of PCRs %s into %s\n", err, out);
	ret = 0;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	blob_free(&p.values);
	blob_free(&file);
	core_close(c);
	return ret;
}

int
cmd_addkey(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"algorithm", OPT_VALUE, "ecc256, ecc384, rsa2048 or rsa3072"},
		{"key-label", OPT_VALUE,
		 "the key's label (CKA_LABEL; ssh shows "
		 "it)"},
		{"id", OPT_VALUE,
		 "the key's CKA_ID in hex (default: from the "
		 "public key)"},
		{"no-login", OPT_FLAG,
		 "usable WITHOUT the PIN (for services); "
		 "still never leaves the TPM"},
		{"pcrs", OPT_VALUE,
		 "bind the key to these PCRs' current values, "
		 "e.g. sha256:7,11: it signs only while they are unchanged"},
		{"pcr-signer", OPT_VALUE,
		 "bind the key to PCR values signed by "
		 "this EC P-256 key (PEM; see pcr-sign) instead"},
		OPT_USERPIN,
		{NULL},
	};
	const char *alg = NULL;
	bool no_login;
	uint8_t id[64];
	size_t id_len = 0;
	tpm_key_type type;
	core *c = NULL;
	token *t;
	int64_t priv_id = 0;
	token_obj *o;
	CK_RV rv;
	int ret = 1;
	double t0;
	const char *pcrs_arg, *signer_arg;
	tpm_pcr_sel pcrs = {0};
	attr_list extra;
	blob req = {0};

	attr_list_init(&extra);
	ARGS(opts, "addkey",
	     "--label LABEL --algorithm ALG [--key-label NAME] [--id HEX] "
	     "[--pcrs BANK:N,... | --pcr-signer PEM] (--userpin PIN | "
	     "--no-login)",
	     "Creates a key pair inside the TPM (it never leaves it) and "
	     "stores its\nTPM-wrapped blob and public key on the token.");
	alg = opts_value(opts, "algorithm");
	if (alg == NULL) {
		fprintf(stderr, "tpm11: --algorithm is needed: ecc256, ecc384, "
				"rsa2048 or rsa3072\n");
		return 2;
	}
	if ((type = tpm_key_type_parse(alg)) == TPM_KEY_NONE) {
		if (strncasecmp(alg, "ed25519", 7) == 0 ||
		    strncasecmp(alg, "ed448", 5) == 0 ||
		    strncasecmp(alg, "x25519", 6) == 0)
			fprintf(stderr,
				"tpm11: --algorithm %s: not a TPM 2.0 "
				"algorithm (TPMs do NIST curves and RSA); choose "
				"ecc256, ecc384, rsa2048 or rsa3072\n",
				alg);
		else
			fprintf(stderr,
				"tpm11: --algorithm %s: unknown; choose "
				"ecc256, ecc384, rsa2048 or rsa3072\n",
				alg);
		return 2;
	}
	if (tool_key_args(opts, id, sizeof(id), &id_len) != 0)
		return 2;
	if ((pcrs_arg = opts_value(opts, "pcrs")) != NULL) {
		char err[160];

		if (tpm_pcr_sel_parse(pcrs_arg, &pcrs, err, sizeof(err)) != 0) {
			fprintf(stderr, "tpm11: %s\n", err);
			return 2;
		}
		if (tpm_pcr_encode(&pcrs, NULL, &req) != 0 ||
		    attr_set(&extra, CKA_TPM11_PCRS, req.data, req.len) != 0) {
			fprintf(stderr, "tpm11: out of memory\n");
			goto out;
		}
	}
	if ((signer_arg = opts_value(opts, "pcr-signer")) != NULL) {
		uint8_t xy[64];

		if (pcrs_arg != NULL) {
			fprintf(stderr,
				"tpm11: --pcrs and --pcr-signer exclude "
				"each other: fixed PCR values, or values a signer "
				"approves\n");
			ret = 2;
			goto out;
		}
		if (signer_read(signer_arg, false, xy, NULL) != 0 ||
		    tpm_signer_pub(xy, &req) != 0 ||
		    attr_set(&extra, CKA_TPM11_PCR_SIGNER, req.data, req.len) !=
			    0) {
			ret = 2;
			goto out;
		}
	}
	no_login = opts_get(opts, "no-login")->given;
	if ((c = tool_open(false)) == NULL)
		goto out;
	if ((t = tool_token(c, opts)) == NULL ||
	    tool_key_prepare(c, t, opts, type, id, id_len, &pcrs, "addkey") !=
		    0)
		goto out;
	t0 = now_ms();
	if (type == TPM_KEY_RSA_2048 || type == TPM_KEY_RSA_3072)
		fprintf(stderr, "tpm11: generating an RSA key in the TPM (this "
				"can take several seconds)...\n");
	rv = token_generate_key(c, t, type, opts_value(opts, "key-label"),
				id_len ? id : NULL, id_len,
				no_login ? TOKEN_KEY_NO_LOGIN : 0, NULL,
				extra.n ? &extra : NULL, NULL, &priv_id);
	token_logout(c, t);
	if (rv != CKR_OK) {
		tool_fail(c, "addkey", rv);
		goto out;
	}
	if ((o = token_find_obj(t, priv_id)) != NULL) {
		char *label = attr_dup_str(&o->attrs, CKA_LABEL);
		const CK_ATTRIBUTE *a = attr_find(&o->attrs, CKA_ID);

		printf("key: %s (id ", label ? label : "");
		if (a)
			hex_print(stdout, a->pValue, a->ulValueLen);
		printf(", %s)\n", tpm_key_type_name(type));
		if (pcrs.mask != 0) {
			char sel[96];

			tpm_pcr_sel_text(&pcrs, sel, sizeof(sel));
			printf("bound to PCRs %s (their current values)\n",
			       sel);
		}
		if (signer_arg != NULL)
			printf("bound to PCR values signed by %s (tpm11 "
			       "pcr-sign)\n",
			       signer_arg);
		free(label);
	}
	if (getenv("TPM11_LOG"))
		fprintf(stderr, "tpm11: addkey took %.1f ms\n", now_ms() - t0);
	ret = 0;
out:
	attr_list_clear(&extra);
	blob_free(&req);
	core_close(c);
	return ret;
}

static const char *
class_name(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_PRIVATE_KEY:
		return "private-key";
	case CKO_PUBLIC_KEY:
		return "public-key";
	case CKO_CERTIFICATE:
		return "certificate";
	case CKO_SECRET_KEY:
		return "secret-key";
	case CKO_DATA:
		return "data";
	default:
		return "other";
	}
}

int
cmd_listobjects(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{NULL},
	};
	core *c;
	token *t;
	size_t i;

	ARGS(opts, "listobjects", "--label LABEL",
	     "Lists a token's objects, as YAML. Needs no PIN: only public "
	     "attributes are shown.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL) {
		core_close(c);
		return 1;
	}
	if (t->damaged > 0)
		fprintf(stderr,
			"tpm11: warning: %zu object(s) of token \"%s\" "
			"are damaged and left out; the last: %s\n",
			t->damaged, t->rec.label, core_store_error(c));
	for (i = 0; i < t->nobjs; i++) {
		token_obj *o = t->objs[i];
		char *label = attr_dup_str(&o->attrs, CKA_LABEL);
		const CK_ATTRIBUTE *id = attr_find(&o->attrs, CKA_ID);
		tpm_pubkey pk = o->pub;
		CK_ULONG kt = (CK_ULONG)-1, bits = 0;

		printf("- label: %s\n  class: %s\n  id: ", label ? label : "",
		       class_name(o->cls));
		if (id)
			hex_print(stdout, id->pValue, id->ulValueLen);
		printf("\n");
		if (o->cls == CKO_PRIVATE_KEY && pk.type != TPM_KEY_NONE) {
			printf("  algorithm: %s\n", tpm_key_type_name(pk.type));
		} else if (attr_get_ulong(&o->attrs, CKA_KEY_TYPE, &kt)) {
			if (kt == CKK_RSA &&
			    attr_get_ulong(&o->attrs, CKA_MODULUS_BITS, &bits))
				printf("  algorithm: rsa%lu\n", bits);
			else if (kt == CKK_EC) {
				const CK_ATTRIBUTE *p =
					attr_find(&o->attrs, CKA_EC_PARAMS);
				ec_curve cv = p ? ec_params_parse(p->pValue,
								  p->ulValueLen)
						: CURVE_NONE;
				printf("  algorithm: ecc%u\n", ec_bits(cv));
			}
		}
		if (o->key.pcrs.mask != 0) {
			char sel[96];

			tpm_pcr_sel_text(&o->key.pcrs, sel, sizeof(sel));
			printf("  pcrs: %s\n", sel);
		}
		if (o->key.signer.len != 0)
			printf("  pcrs: signed policy\n");
		if (o->key.pcrs.mask != 0 || o->key.signer.len != 0) {
			uint8_t pol[64];
			size_t pl = 0;

			/* what verify-attestation --require-policy compares */
			if (tpm_pub_policy(&o->key.pub, pol, &pl) == 0 && pl) {
				printf("  policy: ");
				hex_print(stdout, pol, pl);
				putchar('\n');
			}
		}
		if (o->cls == CKO_CERTIFICATE)
			cert_print_details(o);
		free(label);
	}
	core_close(c);
	return 0;
}

/* The objects of one key: every object whose CKA_ID equals the chosen
 * key's (private key, public key, later certificates). */
static size_t
key_objects(token *t, const CK_ATTRIBUTE *id, int64_t *ids, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < t->nobjs && n < cap; i++) {
		const CK_ATTRIBUTE *a = attr_find(&t->objs[i]->attrs, CKA_ID);

		if (a && a->ulValueLen == id->ulValueLen &&
		    memcmp(a->pValue, id->pValue, a->ulValueLen) == 0)
			ids[n++] = t->objs[i]->id;
	}
	return n;
}

/* The private key named by --key-label or --id; NULL with a message. */
static token_obj *
find_key(token *t, opt *opts, bool required)
{
	const char *kl = opts_value(opts, "key-label");
	const char *idhex = opts_value(opts, "id");

	if (kl == NULL && idhex == NULL) {
		if (required)
			fprintf(stderr,
				"tpm11: name the key with --key-label "
				"NAME or --id HEX (see `tpm11 listobjects`)\n");
		return NULL;
	}
	return tool_find_key(t, kl, idhex, "id");
}

int
cmd_rmkey(int argc, char **argv)
{
	opt opts[] = {
		OPT_TOKEN,
		{"key-label", OPT_VALUE, "the key's label"},
		{"id", OPT_VALUE, "the key's CKA_ID in hex"},
		{NULL},
	};
	int64_t ids[16];
	core *c;
	token *t;
	token_obj *o;
	char *label;
	size_t n;
	CK_RV rv;
	int ret = 1;

	ARGS(opts, "rmkey", "--label LABEL (--key-label NAME | --id HEX)",
	     "Removes a key (its private and public objects) from the token. "
	     "A copy of the\nstore made before still holds it, usable with the "
	     "token's current PIN;\n`tpm11 rmtoken` ends a token's keys in "
	     "every copy.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	if ((t = tool_token(c, opts)) == NULL ||
	    (o = find_key(t, opts, true)) == NULL)
		goto out;
	label = attr_dup_str(&o->attrs, CKA_LABEL);
	n = key_objects(t, attr_find(&o->attrs, CKA_ID), ids, 16);
	rv = token_destroy_objects(c, t, ids, n);
	if (rv != CKR_OK)
		tool_fail(c, "rmkey", rv);
	else {
		printf("key removed: %s\n", label ? label : "");
		ret = 0;
	}
	free(label);
out:
	core_close(c);
	return ret;
}

int
cmd_ssh_pubkey(int argc, char **argv)
{
	opt opts[] = {
		{"label", OPT_VALUE, "only this token (default: all)"},
		{"key-label", OPT_VALUE, "only this key"},
		{"id", OPT_VALUE, "only the key with this CKA_ID (hex)"},
		{NULL},
	};
	core *c;
	size_t i, j;
	int ret = 0, shown = 0;

	ARGS(opts, "ssh-pubkey",
	     "[--label LABEL] [--key-label NAME | --id HEX]",
	     "Prints public keys as OpenSSH lines, the same as "
	     "`ssh-keygen -D MODULE`,\nready for authorized_keys.");
	if ((c = tool_open(false)) == NULL)
		return 1;
	for (i = 0; i < c->ntokens; i++) {
		token *t = c->tokens[i];
		token_obj *only = NULL;

		if (opts_value(opts, "label") &&
		    strcmp(opts_value(opts, "label"), t->rec.label) != 0)
			continue;
		if (opts_value(opts, "key-label") || opts_value(opts, "id")) {
			if ((only = find_key(t, opts, false)) == NULL) {
				ret = 1;
				continue;
			}
		}
		for (j = 0; j < t->nobjs; j++) {
			token_obj *o = t->objs[j];
			char *line;

			if (o->cls != CKO_PRIVATE_KEY || (only && o != only))
				continue;
			if ((line = token_obj_ssh_line(o)) == NULL)
				continue;
			printf("%s\n", line);
			free(line);
			shown++;
		}
	}
	if (opts_value(opts, "label") &&
	    core_find_token(c, opts_value(opts, "label")) == NULL) {
		fprintf(stderr, "tpm11: no token labelled \"%s\"\n",
			opts_value(opts, "label"));
		ret = 1;
	}
	core_close(c);
	return ret;
}
