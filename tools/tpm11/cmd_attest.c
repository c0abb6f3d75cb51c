/* Key attestation commands (docs/attestation.md): ak, attest,
 * verify-attestation: their options and what they print. The work is in
 * src/attest/ (ak.c, attester.c, challenge.c, verify.c).
 * `verify-attestation` needs no TPM and no store: it is what a server
 * runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/ak.h"
#include "attest/attester.h"
#include "attest/certs.h"
#include "attest/challenge.h"
#include "attest/codec.h"
#include "attest/evidence.h"
#include "attest/tpmdata.h"
#include "attest/verify.h"
#include "pin.h"
#include "tool.h"
#include "util/file.h"
#include "util/secure.h"

/* --- the challenge given on the command line --------------------------------- */

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
	if ((nonce != NULL) + (kauth != NULL) + (cd != NULL) + (cdhex != NULL) +
		    (opts_value(opts, other) != NULL) !=
	    1) {
		fprintf(stderr,
			"tpm11: give one challenge: --nonce HEX, "
			"--key-authorization STR, --client-data FILE, "
			"--client-data-hash HEX or --%s FILE\n",
			other);
		return 2;
	}
	if (cdhex != NULL) {
		if (hex_decode(cdhex, cdh, 32, &n) != 0 || n != 32) {
			fprintf(stderr,
				"tpm11: --client-data-hash takes "
				"exactly 32 bytes in hex (a SHA-256)\n");
			return 2;
		}
		*have_cdh = true;
	} else if (cd != NULL) {
		if (tool_read_file(cd, c, len) != 0)
			return 1;
		if (*len == 0) {
			fprintf(stderr, "tpm11: --client-data %s is empty\n",
				cd);
			free(*c);
			*c = NULL;
			return 2;
		}
	} else if (nonce != NULL) {
		if (hex_decode_alloc(nonce, c, len) != 0 || *len == 0 ||
		    *len > CHALLENGE_NONCE_MAX) {
			fprintf(stderr, "tpm11: --nonce takes 1 to 64 bytes in "
					"hex\n");
			free(*c);
			*c = NULL;
			return 2;
		}
	} else if (kauth != NULL) {
		if ((bad = challenge_key_authorization_check(kauth)) != NULL) {
			fprintf(stderr,
				"tpm11: --key-authorization is not an "
				"RFC 8555 key authorization (token.thumbprint): "
				"%s\n",
				bad);
			return 2;
		}
		*len = strlen(kauth);
		if ((*c = malloc(*len)) == NULL)
			return 1;
		memcpy(*c, kauth, *len);
	}
	return 0;
}

/* --- tpm11 attest ------------------------------------------------------------ */

static char *
attest_pin(void *opts)
{
	return pin_get(opts, "userpin", "user PIN", false);
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
	fprintf(stderr,
		"tpm11: attest: key \"%s\" was imported into the TPM "
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
		OPT_TOKEN,
		{"key-label", OPT_VALUE, "the key to attest (CKA_LABEL)"},
		{"id", OPT_VALUE, "the key to attest by CKA_ID (hex)"},
		{"key-handle", OPT_VALUE,
		 "attest a persistent TPM object "
		 "instead (e.g. 0x81000100; made by other tools)"},
		{"ak", OPT_VALUE, "the attestation key (default \"ak\")"},
		{"nonce", OPT_VALUE, "the verifier's challenge, in hex"},
		{"key-authorization", OPT_VALUE,
		 "ACME: the challenge's key "
		 "authorization (token.thumbprint)"},
		{"client-data", OPT_VALUE,
		 "webauthn: the clientDataJSON, a "
		 "file (clientDataHash = its SHA-256)"},
		{"client-data-hash", OPT_VALUE,
		 "webauthn: the clientDataHash, "
		 "in hex (32 bytes)"},
		{"respond", OPT_VALUE,
		 "answer a challenge file from `tpm11 "
		 "verify-attestation --make-challenge`"},
		{"format", OPT_VALUE, "json (default), webauthn or acme"},
		{"rp-id", OPT_VALUE,
		 "webauthn: the relying party ID (default "
		 "\"tpm11\")"},
		{"out", OPT_VALUE, "write to this file (default: stdout)"},
		{"store-object", OPT_FLAG,
		 "also keep the attestation on the "
		 "token as a CKO_DATA object"},
		OPT_USERPIN,
		{NULL},
	};
	const char *fmt_s, *khs;
	attest_req req;
	core *c = NULL;
	uint8_t *chal = NULL, cdh[32];
	size_t chal_len = 0, outlen = 0;
	bool have_cdh = false;
	char why[400], *out = NULL;
	CK_RV rv;
	int ret = 1, i;

	memset(&req, 0, sizeof(req));
	req.format = EV_JSON;
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
	if ((fmt_s = opts_value(opts, "format")) != NULL &&
	    (req.format = ev_format_parse(fmt_s)) == 0) {
		fprintf(stderr, "tpm11: --format: json, webauthn or acme\n");
		return 2;
	}
	if (client_data_given(opts) && req.format != EV_WEBAUTHN) {
		fprintf(stderr,
			"tpm11: --client-data and --client-data-hash "
			"are WebAuthn's clientDataJSON and its hash: use them "
			"with --format webauthn\n");
		return 2;
	}
	if ((i = challenge_from_opts(opts, "respond", &chal, &chal_len, cdh,
				     &have_cdh)) != 0)
		return i;
	if ((khs = opts_value(opts, "key-handle")) != NULL) {
		char *end;
		unsigned long h = strtoul(khs, &end, 16);

		if (*end != '\0' || h < 0x81000000ul || h > 0x81fffffful) {
			fprintf(stderr,
				"tpm11: --key-handle takes a persistent "
				"handle, 0x81000000..0x81FFFFFF\n");
			ret = 2;
			goto out;
		}
		req.key_handle = (uint32_t)h;
		if (opts_get(opts, "store-object")->given) {
			fprintf(stderr, "tpm11: --store-object needs a token "
					"key, not --key-handle\n");
			ret = 2;
			goto out;
		}
	} else if (!opts_value(opts, "key-label") && !opts_value(opts, "id")) {
		fprintf(stderr, "tpm11: name the key with --key-label NAME or "
				"--id HEX (see `tpm11 listobjects`)\n");
		ret = 2;
		goto out;
	}
	if ((c = tool_open(false)) == NULL)
		goto out;
	if (!req.key_handle &&
	    ((req.t = tool_token(c, opts)) == NULL ||
	     (req.o = tool_find_key(req.t, opts_value(opts, "key-label"),
				    opts_value(opts, "id"), "id")) == NULL ||
	     attest_key_imported(req.o)))
		goto out;
	req.ak = opts_value(opts, "ak") ? opts_value(opts, "ak") : AK_DEFAULT;
	req.chal = chal;
	req.chal_len = chal_len;
	req.client_data_hash = have_cdh ? cdh : NULL;
	req.respond = opts_value(opts, "respond");
	req.rp_id = opts_value(opts, "rp-id");
	req.get_pin = attest_pin;
	req.pin_arg = opts;
	if (attest_run(c, &req, &out, &outlen, why, sizeof(why)) != 0) {
		if (why[0] != '\0')
			fprintf(stderr, "tpm11: %s\n", why);
		goto out;
	}
	if (tool_write_file(opts_value(opts, "out"), out, outlen, 0644) != 0)
		goto out;
	if (opts_get(opts, "store-object")->given &&
	    (rv = attest_store_object(c, req.t, req.o, req.format, out,
				      outlen)) != CKR_OK) {
		tool_fail(c, "attest --store-object", rv);
		goto out;
	}
	ret = 0;
out:
	if (chal != NULL)
		secure_free(chal, chal_len);
	free(out);
	core_close(c);
	return ret;
}

/* --- tpm11 verify-attestation --------------------------------------------- */

static void
sanitize_comment(char *s)
{
	for (; s && *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.' || *s == '@'))
			*s = '_';
}

/* What was proven: '#' lines, then the key's authorized_keys line. */
static void
print_verified(const evidence *ev, const verify_result *vr, bool cr)
{
	printf("# tpm11: attestation verified (%s, %s)\n",
	       ev_format_name(ev->format),
	       cr ? "challenge-response" : "AK certificate");
	printf("# key: %s, generated in the TPM and bound to it (fixedTPM, "
	       "fixedParent, sensitiveDataOrigin)\n",
	       vr->key_desc ? vr->key_desc : "?");
	if (vr->creation)
		printf("# created: in this TPM, under parent %s "
		       "(TPM2_CertifyCreation)\n",
		       vr->creation_parent);
	if (vr->policy_only)
		printf("# key policy: authPolicy %s; every use must satisfy "
		       "it (userWithAuth clear), e.g. bound to PCRs\n",
		       vr->auth_policy);
	else if (vr->auth_policy[0])
		printf("# key policy: authPolicy %s, but its authValue alone "
		       "also authorizes it (userWithAuth set)\n",
		       vr->auth_policy);
	else
		printf("# key policy: none; its authValue authorizes its use\n");
	printf("# AK: %s\n", vr->ak_desc ? vr->ak_desc : "?");
	if (vr->ek_unbound)
		printf("# EK certificate: issued by a trusted EK CA (--ek-ca), "
		       "but not bound to the AK (AK certificate mode): it does "
		       "not name the TPM\n");
	if (vr->id.manufacturer[0] || vr->id.model[0]) {
		const char *vn = tpm_vendor_name(vr->id.manufacturer);

		printf("# TPM: manufacturer %s%s%s%s, model %s, version %s "
		       "(from the %s)\n",
		       vr->id.manufacturer, vn ? " (" : "", vn ? vn : "",
		       vn ? ")" : "", vr->id.model[0] ? vr->id.model : "?",
		       vr->id.version[0] ? vr->id.version : "?", vr->id_source);
		if (strcmp(vr->id.model, "swtpm") == 0)
			printf("# warning: swtpm is a software TPM: its keys "
			       "are held by a program, not by hardware\n");
	} else {
		printf("# TPM: manufacturer and model unknown (the %s names "
		       "none)\n",
		       vr->id_source[0] ? vr->id_source : "attestation");
	}
	printf("%s\n", vr->ssh_line);
}

/* The checks the options of verify-attestation ask for beyond the
 * challenge: trusted CAs, the expected key, webauthn's RP ID, the creation
 * proof and the policy. 0, or -1 with why set. */
static int
verify_opts_from(opt *opts, verify_opts *vo, char *why, size_t n)
{
	const char *ek = opts_value(opts, "ek-ca");
	const char *ak = opts_value(opts, "ak-ca");
	const char *ssh = opts_value(opts, "expect-ssh-key");
	const char *ex = ssh ? ssh : opts_value(opts, "expect-csr");
	char e[4096];

	vo->rp_id = opts_value(opts, "rp-id");
	vo->require_creation = opts_get(opts, "require-creation")->given;
	vo->require_policy = opts_value(opts, "require-policy");
	if (ek && (vo->ek_ca = certs_load_pem(ek, e, sizeof(e))) == NULL) {
		snprintf(why, n, "--ek-ca: %s", e);
		return -1;
	}
	if (ak && (vo->ak_ca = certs_load_pem(ak, e, sizeof(e))) == NULL) {
		snprintf(why, n, "--ak-ca: %s", e);
		return -1;
	}
	if (ex) {
		vo->expect_what = ex;
		vo->expect_key = verify_expect_key(ex, ssh == NULL, why, n);
		if (vo->expect_key == NULL)
			return -1;
	}
	return 0;
}

/* verify-attestation FILE ...: see --help. */
int
cmd_verify_attestation(int argc, char **argv)
{
	opt opts[] = {
		{"nonce", OPT_VALUE,
		 "the challenge given to `tpm11 attest "
		 "--nonce` (hex)"},
		{"key-authorization", OPT_VALUE, "ACME: the key authorization"},
		{"client-data", OPT_VALUE,
		 "webauthn: the clientDataJSON given "
		 "to `tpm11 attest --client-data` (a file)"},
		{"client-data-hash", OPT_VALUE,
		 "webauthn: the clientDataHash, "
		 "in hex (32 bytes)"},
		{"challenge-state", OPT_VALUE,
		 "challenge-response: the state "
		 "file from --make-challenge (used once)"},
		{"ek-ca", OPT_VALUE,
		 "PEM file of trusted EK CA certificates "
		 "(TPM vendors)"},
		{"ak-ca", OPT_VALUE, "PEM file of trusted AK CA certificates"},
		{"expect-ssh-key", OPT_VALUE,
		 "the attested key must be this "
		 "OpenSSH public key"},
		{"expect-csr", OPT_VALUE,
		 "the attested key must be the key of "
		 "this PEM CSR"},
		{"rp-id", OPT_VALUE,
		 "webauthn: the relying party ID (default "
		 "\"tpm11\")"},
		{"require-creation", OPT_FLAG,
		 "also require the "
		 "TPM2_CertifyCreation proof (json)"},
		{"require-policy", OPT_VALUE,
		 "the key's authPolicy must be "
		 "this (hex; e.g. a PCR-bound key's), binding every use"},
		{"make-challenge", OPT_FLAG,
		 "make a challenge instead (with "
		 "--request, --ek-ca, --state-out, --challenge-out)"},
		{"request", OPT_VALUE,
		 "with --make-challenge: the file from "
		 "`tpm11 ak export`"},
		{"state-out", OPT_VALUE,
		 "with --make-challenge: where to keep "
		 "the secret state (0600)"},
		{"challenge-out", OPT_VALUE,
		 "with --make-challenge: the "
		 "challenge for the user (default: stdout)"},
		{"ttl", OPT_VALUE,
		 "with --make-challenge: seconds the "
		 "challenge stays valid (default 600)"},
		{"ek-index", OPT_VALUE,
		 "with --make-challenge: use the EK "
		 "whose certificate is at this NV index"},
		{NULL},
	};
	const char *file = NULL, *st_path;
	bool help, have_cdh = false;
	uint8_t *in = NULL, *chal = NULL, cdh[32];
	size_t inlen, chal_len = 0, i;
	evidence ev;
	verify_opts vo;
	verify_result vr;
	challenge_state st;
	char why[4200], *label = NULL;
	int ret = 1, mk;

	memset(&ev, 0, sizeof(ev));
	memset(&vo, 0, sizeof(vo));
	memset(&vr, 0, sizeof(vr));
	memset(&st, 0, sizeof(st));
	if (opts_parse(argc, argv, opts, &help, &file) != 0)
		return 2;
	if (help) {
		opts_usage(
			"verify-attestation",
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
		return ak_make_challenge(opts);
	if (file == NULL) {
		fprintf(stderr, "tpm11: name the attestation file (see "
				"--help)\n");
		return 2;
	}
	st_path = opts_value(opts, "challenge-state");
	if ((mk = challenge_from_opts(opts, "challenge-state", &chal, &chal_len,
				      cdh, &have_cdh)) != 0)
		return mk;
	if (tool_read_file(file, &in, &inlen) != 0)
		goto out;
	if (evidence_decode(in, inlen, &ev, why, sizeof(why)) != 0) {
		fprintf(stderr, "tpm11: refused: %s\n", why);
		goto out;
	}
	if (client_data_given(opts) && ev.format != EV_WEBAUTHN) {
		fprintf(stderr,
			"tpm11: --client-data and --client-data-hash "
			"bind only the webauthn format; %s is a %s attestation\n",
			file, ev_format_name(ev.format));
		ret = 2;
		goto out;
	}
	if (st_path) {
		if (challenge_state_load(st_path, &st, why, sizeof(why)) != 0) {
			fprintf(stderr, "tpm11: %s\n", why);
			goto out;
		}
		if (challenge_state_check(st_path, &st, ev.challenge_id,
					  time(NULL), why, sizeof(why)) != 0) {
			fprintf(stderr, "tpm11: refused: %s\n", why);
			goto out;
		}
		vo.credential = true;
		vo.state_ak_pub = &st.ak_pub;
		vo.state_ek_cert = &st.ek_cert;
		vo.challenge = st.secret;
		vo.challenge_len = st.secret_len;
	} else {
		vo.challenge = chal;
		vo.challenge_len = chal_len;
	}
	vo.client_data_hash = have_cdh ? cdh : NULL;
	if (verify_opts_from(opts, &vo, why, sizeof(why)) != 0) {
		fprintf(stderr, "tpm11: %s\n", why);
		goto out;
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
	if (st_path &&
	    (mk = challenge_state_claim(st_path, why, sizeof(why))) != 0) {
		if (mk == 1)
			fprintf(stderr,
				"tpm11: refused: the challenge was "
				"already answered (a replayed response)\n");
		else
			fprintf(stderr,
				"tpm11: refused: cannot mark the "
				"challenge state %s used\n",
				st_path);
		goto out;
	}
	print_verified(&ev, &vr, st_path != NULL);
	ret = 0;
out:
	verify_result_clear(&vr);
	evidence_clear(&ev);
	free(in);
	if (chal)
		secure_free(chal, chal_len);
	free(label);
	challenge_state_clear(&st);
	EVP_PKEY_free(vo.expect_key);
	sk_X509_pop_free(vo.ek_ca, X509_free);
	sk_X509_pop_free(vo.ak_ca, X509_free);
	return ret;
}
