#include "attest/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "attest/cbor.h"
#include "attest/codec.h"
#include "attest/tpmdata.h"
#include "crypto/ec.h"
#include "crypto/sshkey.h"
#include "util/file.h"
#include "util/secure.h"

static void fail(verify_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(verify_result *r, const char *fmt, ...)
{
	char buf[512], **nr;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((nr = realloc(r->reasons, (r->n + 1) * sizeof(*nr))) == NULL)
		return;
	r->reasons = nr;
	if ((r->reasons[r->n] = strdup(buf)) != NULL)
		r->n++;
}

void
verify_result_clear(verify_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->reasons[i]);
	free(r->reasons);
	free(r->ssh_line);
	free(r->key_desc);
	free(r->ak_desc);
	memset(r, 0, sizeof(*r));
}

const char *
verify_ak_attributes(const TPMT_PUBLIC *p)
{
	TPMA_OBJECT a = p->objectAttributes;

	/* A key that is not restricted signs any digest, so it can sign a
	 * TPMS_ATTEST made up outside the TPM (Part 1, 34.2): mandatory. */
	if (!(a & TPMA_OBJECT_RESTRICTED) || !(a & TPMA_OBJECT_SIGN_ENCRYPT))
		return "the AK is not a restricted signing key, so it can "
		       "sign attestation structures forged outside the TPM";
	if (a & TPMA_OBJECT_DECRYPT)
		return "the AK is also a decryption key";
	if (!(a & TPMA_OBJECT_FIXEDTPM) || !(a & TPMA_OBJECT_FIXEDPARENT) ||
	    !(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
		return "the AK is not fixedTPM, fixedParent and "
		       "sensitiveDataOrigin: it may exist outside the TPM";
	if (a & TPMA_OBJECT_ADMINWITHPOLICY)
		return "the AK has adminWithPolicy (a public-only copy could "
		       "be authorised by policy)";
	if (p->type != TPM2_ALG_ECC && p->type != TPM2_ALG_RSA)
		return "the AK is neither an ECC nor an RSA key";
	return NULL;
}

/* The checks a key must pass to be "in the TPM", each with its reason. */
static void
check_key_attributes(const TPMT_PUBLIC *p, verify_result *r)
{
	TPMA_OBJECT a = p->objectAttributes;

	if (!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
		fail(r, "the key was not generated inside the TPM "
			"(sensitiveDataOrigin clear): it was imported from "
			"outside");
	if (!(a & TPMA_OBJECT_FIXEDTPM))
		fail(r, "the key is not fixedTPM: it can be duplicated out "
			"of the TPM");
	if (!(a & TPMA_OBJECT_FIXEDPARENT))
		fail(r, "the key is not fixedParent: it can be duplicated "
			"to another parent");
	if (!(a & TPMA_OBJECT_SIGN_ENCRYPT))
		fail(r, "the key is not a signing key");
	if (a & TPMA_OBJECT_RESTRICTED)
		fail(r, "the key is restricted (an attestation or storage "
			"key, not a user key)");
	/* Certify needs the object's ADMIN role. With adminWithPolicy the
	 * role can be had by policy, also for a public area loaded on its
	 * own with TPM2_LoadExternal; without it only the authValue works,
	 * which needs the sensitive part loaded. */
	if (a & TPMA_OBJECT_ADMINWITHPOLICY)
		fail(r, "the key has adminWithPolicy, so the TPM may have "
			"certified a public area loaded without its private "
			"part");
}

/* The key's authPolicy and whether it binds every use (userWithAuth
 * clear: the authValue alone does not authorize; Part 1, 19.7). tpm11's
 * PCR-bound keys are such keys. --require-policy: the relying party's
 * expected policy digest. */
static void
check_key_policy(const TPMT_PUBLIC *p, const verify_opts *o, verify_result *r)
{
	char *hex = p->authPolicy.size ? hex_encode(p->authPolicy.buffer,
						    p->authPolicy.size)
				       : NULL;

	snprintf(r->auth_policy, sizeof(r->auth_policy), "%s", hex ? hex : "");
	free(hex);
	r->policy_only = p->authPolicy.size > 0 &&
			 !(p->objectAttributes & TPMA_OBJECT_USERWITHAUTH);
	if (o->require_policy == NULL)
		return;
	if (strcasecmp(o->require_policy, r->auth_policy) != 0)
		fail(r, "the key's authPolicy is %s, not the required %s",
		     r->auth_policy[0] ? r->auth_policy : "empty (none)",
		     o->require_policy);
	else if (!r->policy_only)
		fail(r, "the key has the required authPolicy but userWithAuth "
			"set: its authValue alone authorizes it, so the policy "
			"binds nothing");
}

static char *
key_ssh_line(const TPMT_PUBLIC *p, const char *comment, char **desc)
{
	if (p->type == TPM2_ALG_ECC) {
		ec_curve c;
		uint8_t x[66] = {0}, y[66] = {0};
		size_t fl;

		switch (p->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			c = CURVE_P256;
			break;
		case TPM2_ECC_NIST_P384:
			c = CURVE_P384;
			break;
		default:
			return NULL;
		}
		fl = ec_field_len(c);
		if (p->unique.ecc.x.size > fl || p->unique.ecc.y.size > fl)
			return NULL;
		memcpy(x + fl - p->unique.ecc.x.size, p->unique.ecc.x.buffer,
		       p->unique.ecc.x.size);
		memcpy(y + fl - p->unique.ecc.y.size, p->unique.ecc.y.buffer,
		       p->unique.ecc.y.size);
		*desc = strdup(c == CURVE_P256 ? "ECC NIST P-256"
					       : "ECC NIST P-384");
		return ssh_pubkey_line_ec(c, x, y, comment);
	}
	if (p->type == TPM2_ALG_RSA) {
		uint32_t e = p->parameters.rsaDetail.exponent;
		uint8_t eb[4];
		char d[32];

		if (e == 0)
			e = 65537;
		eb[0] = (uint8_t)(e >> 24);
		eb[1] = (uint8_t)(e >> 16);
		eb[2] = (uint8_t)(e >> 8);
		eb[3] = (uint8_t)e;
		snprintf(d, sizeof(d), "RSA %u",
			 p->parameters.rsaDetail.keyBits);
		*desc = strdup(d);
		return ssh_pubkey_line_rsa(p->unique.rsa.buffer,
					   p->unique.rsa.size, eb, 4, comment);
	}
	return NULL;
}

/* "type base64" of a line, for comparison (the comment is free). */
static bool
ssh_same_key(const char *a, const char *b)
{
	const char *ae, *be;

	ae = strchr(a, ' ');
	ae = ae ? strchr(ae + 1, ' ') : NULL;
	be = strchr(b, ' ');
	be = be ? strchr(be + 1, ' ') : NULL;
	{
		size_t al = ae ? (size_t)(ae - a) : strlen(a);
		size_t bl = be ? (size_t)(be - b) : strlen(b);

		while (al && (a[al - 1] == '\n' || a[al - 1] == '\r'))
			al--;
		while (bl && (b[bl - 1] == '\n' || b[bl - 1] == '\r'))
			bl--;
		return al == bl && memcmp(a, b, al) == 0;
	}
}

/* --- OpenSSH public keys ---------------------------------------------------- */

static int
ssh_string(const uint8_t **p, const uint8_t *end, const uint8_t **s, size_t *n)
{
	uint32_t l;

	if (end - *p < 4)
		return -1;
	l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	*p += 4;
	if ((size_t)(end - *p) < l)
		return -1;
	*s = *p;
	*n = l;
	*p += l;
	return 0;
}

EVP_PKEY *
ssh_line_pkey(const char *line)
{
	const char *sp = strchr(line, ' '), *b64, *e;
	uint8_t *blob = NULL;
	size_t blen;
	const uint8_t *p, *end, *s1, *s2, *s3;
	size_t n1, n2, n3;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn_e = NULL, *bn_n = NULL;
	const char *type = NULL;

	if (sp == NULL)
		return NULL;
	b64 = sp + 1;
	for (e = b64; *e && *e != ' ' && *e != '\n' && *e != '\r'; e++)
		;
	if (b64_decode(b64, (size_t)(e - b64), false, &blob, &blen) != 0)
		return NULL;
	p = blob;
	end = blob + blen;
	if (ssh_string(&p, end, &s1, &n1) != 0 ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (n1 == 19 && memcmp(s1, "ecdsa-sha2-nistp", 16) == 0) {
		/* RFC 5656 3.1: string type, string curve, string Q */
		const char *g = memcmp(s1 + 16, "256", 3) == 0   ? "P-256"
				: memcmp(s1 + 16, "384", 3) == 0 ? "P-384"
				: memcmp(s1 + 16, "521", 3) == 0 ? "P-521"
								 : NULL;

		if (g == NULL || ssh_string(&p, end, &s2, &n2) != 0 ||
		    ssh_string(&p, end, &s3, &n3) != 0 || p != end ||
		    OSSL_PARAM_BLD_push_utf8_string(
			    bld, OSSL_PKEY_PARAM_GROUP_NAME, g, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(
			    bld, OSSL_PKEY_PARAM_PUB_KEY, s3, n3) != 1)
			goto out;
		type = "EC";
	} else if (n1 == 7 && memcmp(s1, "ssh-rsa", 7) == 0) {
		/* RFC 4253 6.6: string "ssh-rsa", mpint e, mpint n */
		if (ssh_string(&p, end, &s2, &n2) != 0 ||
		    ssh_string(&p, end, &s3, &n3) != 0 || p != end ||
		    (bn_e = BN_bin2bn(s2, (int)n2, NULL)) == NULL ||
		    (bn_n = BN_bin2bn(s3, (int)n3, NULL)) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) !=
			    1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) !=
			    1)
			goto out;
		type = "RSA";
	} else {
		goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
out:
	BN_free(bn_e);
	BN_free(bn_n);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	free(blob);
	return k;
}

/* --- the AK ------------------------------------------------------------------ */

/* Finds the AK's key: from the challenge state (credential mode) or its
 * certificate (checked against --ak-ca). NULL when it cannot be trusted;
 * reasons are added. */
static EVP_PKEY *
verify_ak(const evidence *ev, const verify_opts *o, verify_result *r)
{
	TPMT_PUBLIC akp;
	EVP_PKEY *k = NULL, *ck = NULL;
	X509 *c = NULL;
	STACK_OF(X509) *inter = NULL;
	const char *bad;
	char why[256];
	size_t i;

	if (o->credential) {
		if (tpmt_public_parse(o->state_ak_pub->data,
				      o->state_ak_pub->len, &akp) != 0) {
			fail(r, "the challenge state's AK public area does "
				"not parse");
			return NULL;
		}
		if (ev->ak_pub.data != NULL &&
		    (ev->ak_pub.len != o->state_ak_pub->len ||
		     memcmp(ev->ak_pub.data, o->state_ak_pub->data,
			    ev->ak_pub.len) != 0)) {
			fail(r, "the attestation's AK is not the AK the "
				"challenge was made for");
			return NULL;
		}
		if ((bad = verify_ak_attributes(&akp)) != NULL) {
			fail(r, "%s", bad);
			return NULL;
		}
		if ((k = tpmt_public_pkey(&akp)) == NULL)
			fail(r, "the AK's key type is not supported");
		else
			r->ak_desc = strdup("bound to the EK by credential "
					    "activation (challenge-response)");
		return k;
	}
	if (ev->n_ak_certs == 0) {
		fail(r,
		     "no AK certificate and no challenge state: nothing "
		     "binds the AK to a TPM (use --challenge-state, or get an "
		     "AK certificate with `tpm11 ak import-cert`)");
		return NULL;
	}
	if ((c = cert_from_der(ev->ak_certs[0].data, ev->ak_certs[0].len)) ==
	    NULL) {
		fail(r, "the AK certificate does not parse");
		return NULL;
	}
	if (o->ak_ca == NULL) {
		fail(r, "no --ak-ca given to check the AK certificate");
		goto out;
	}
	inter = sk_X509_new_null();
	for (i = 1; inter && i < ev->n_ak_certs; i++) {
		X509 *ic = cert_from_der(ev->ak_certs[i].data,
					 ev->ak_certs[i].len);

		if (ic && !sk_X509_push(inter, ic))
			X509_free(ic);
	}
	if (cert_verify_chain(c, inter, o->ak_ca, why, sizeof(why)) != 0) {
		fail(r,
		     "the AK certificate is not issued by a trusted AK CA "
		     "(--ak-ca): %s",
		     why);
		goto out;
	}
	if (cert_check_ak(c, ev->format != EV_JSON, why, sizeof(why)) != 0) {
		fail(r, "%s", why);
		goto out;
	}
	if ((ck = X509_get_pubkey(c)) == NULL) {
		fail(r, "the AK certificate's key is not supported");
		goto out;
	}
	if (ev->ak_pub.data != NULL) {
		EVP_PKEY *pk;

		if (tpmt_public_parse(ev->ak_pub.data, ev->ak_pub.len, &akp) !=
		    0) {
			fail(r, "ak_public does not parse");
			goto out;
		}
		if ((bad = verify_ak_attributes(&akp)) != NULL) {
			fail(r, "%s", bad);
			goto out;
		}
		pk = tpmt_public_pkey(&akp);
		if (pk == NULL || EVP_PKEY_eq(pk, ck) != 1) {
			EVP_PKEY_free(pk);
			fail(r, "ak_public is not the key of the AK "
				"certificate");
			goto out;
		}
		EVP_PKEY_free(pk);
	}
	{
		char *iss = cert_issuer(c), d[384];

		snprintf(d, sizeof(d), "certified by %s", iss ? iss : "?");
		free(iss);
		r->ak_desc = strdup(d);
	}
	/* The AK CA vouches for the TPM that holds the AK: the identity in
	 * its certificate is the one proven (WebAuthn 8.3.1), the only one
	 * this mode reports. */
	cert_tpm_identity(c, &r->id);
	snprintf(r->id_source, sizeof(r->id_source), "AK certificate");
	k = ck;
	ck = NULL;
out:
	EVP_PKEY_free(ck);
	sk_X509_pop_free(inter, X509_free);
	X509_free(c);
	return k;
}

/* The EK: in credential mode its certificate must chain to --ek-ca, and
 * the activation binds it to the AK, so it names the TPM. With an AK
 * certificate the EK certificates are checked when --ek-ca is given, but
 * nothing binds them to the AK (any TPM's EK certificate could be put
 * in): they never name the TPM there; the AK certificate does. */
static void
verify_ek(const evidence *ev, const verify_opts *o, verify_result *r)
{
	char why[256];
	size_t i;

	if (o->credential) {
		X509 *c = cert_from_der(o->state_ek_cert->data,
					o->state_ek_cert->len);

		if (c == NULL) {
			fail(r, "the challenge state's EK certificate does "
				"not parse");
			return;
		}
		if (o->ek_ca == NULL)
			fail(r, "no --ek-ca given to check the EK "
				"certificate");
		else if (cert_verify_chain(c, NULL, o->ek_ca, why,
					   sizeof(why)) != 0)
			fail(r,
			     "the EK certificate is not issued by a "
			     "trusted EK CA (--ek-ca): %s",
			     why);
		else {
			cert_tpm_identity(c, &r->id);
			snprintf(r->id_source, sizeof(r->id_source),
				 "EK certificate");
		}
		X509_free(c);
		return;
	}
	if (o->ek_ca == NULL)
		return;
	if (ev->n_ek_certs == 0) {
		fail(r,
		     "--ek-ca given, but the attestation carries no EK "
		     "certificate%s",
		     ev->format == EV_JSON
			     ? ""
			     : " (webauthn and acme objects carry none: there the AK "
			       "certificate vouches for the TPM)");
		return;
	}
	why[0] = '\0';
	for (i = 0; i < ev->n_ek_certs; i++) {
		X509 *c = cert_from_der(ev->ek_certs[i].der.data,
					ev->ek_certs[i].der.len);

		if (c != NULL && cert_verify_chain(c, NULL, o->ek_ca, why,
						   sizeof(why)) == 0) {
			r->ek_unbound = true;
			X509_free(c);
			return;
		}
		X509_free(c);
	}
	fail(r, "no EK certificate is issued by a trusted EK CA (--ek-ca)%s%s",
	     why[0] ? ": " : "", why);
}

/* --- one TPMS_ATTEST --------------------------------------------------------- */

static bool
check_attest(const char *what, const blob *info, const blob *sigb,
	     TPMI_ST_ATTEST type, EVP_PKEY *ak, const uint8_t extra[32],
	     int64_t cose_alg, TPMS_ATTEST *att, verify_result *r)
{
	TPMT_SIGNATURE sig;
	char why[160];
	bool ok = true;

	if (tpms_attest_parse(info->data, info->len, att) != 0) {
		/* Unmarshal stops short or runs out: both are refused. */
		fail(r,
		     "%s: the TPMS_ATTEST does not parse, or has trailing "
		     "bytes",
		     what);
		return false;
	}
	if (att->magic != TPMDATA_GENERATED) {
		fail(r,
		     "%s: magic is 0x%08x, not TPM_GENERATED_VALUE "
		     "0xff544347",
		     what, att->magic);
		ok = false;
	}
	if (att->type != type) {
		fail(r, "%s: type is 0x%04x, not 0x%04x", what, att->type,
		     type);
		ok = false;
	}
	if (tpmt_signature_parse(sigb->data, sigb->len, &sig) != 0) {
		fail(r, "%s: the signature (TPMT_SIGNATURE) does not parse",
		     what);
		ok = false;
	} else {
		if (cose_alg != 0 && tpm_signature_cose_alg(&sig) != cose_alg) {
			fail(r,
			     "%s: attStmt.alg %lld is not the signature's "
			     "algorithm",
			     what, (long long)cose_alg);
			ok = false;
		}
		if (ak != NULL &&
		    tpm_signature_verify(ak, &sig, info->data, info->len, why,
					 sizeof(why)) != 0) {
			fail(r,
			     "%s: the AK's signature over the exact "
			     "TPMS_ATTEST bytes does not verify (%s)",
			     what, why);
			ok = false;
		}
	}
	if (att->extraData.size != 32 ||
	    secure_memcmp(att->extraData.buffer, extra, 32) != 0) {
		fail(r,
		     "%s: extraData does not match the challenge (a wrong "
		     "or replayed challenge)",
		     what);
		ok = false;
	}
	return ok;
}

static void
verify_webauthn(const evidence *ev, const TPMT_PUBLIC *kp, const verify_opts *o,
		verify_result *r)
{
	const uint8_t *a = ev->auth_data.data, *q;
	size_t n = ev->auth_data.len, idlen, used;
	uint8_t h[32];
	const char *rp = o->rp_id ? o->rp_id : "tpm11";
	blob cose = {0};
	char err[96];
	cbor_item *ck;

	if (n < 37 + 18) {
		fail(r, "authData is too short");
		return;
	}
	EVP_Digest(rp, strlen(rp), h, NULL, EVP_sha256(), NULL);
	if (memcmp(a, h, 32) != 0)
		fail(r, "authData.rpIdHash is not SHA-256(\"%s\")", rp);
	if (!(a[32] & 0x40) || (a[32] & 0x80)) {
		fail(r, "authData flags: no attested credential data, or "
			"extensions present");
		return;
	}
	q = a + 37 + 16;
	idlen = (size_t)q[0] << 8 | q[1];
	q += 2;
	if ((size_t)(a + n - q) < idlen) {
		fail(r, "authData.credentialId runs past the end");
		return;
	}
	q += idlen;
	/* credentialPublicKey: one CBOR item to the end (no extensions). */
	ck = cbor_parse_prefix(q, (size_t)(a + n - q), &used, err, sizeof(err));
	cbor_free(ck);
	if (ck == NULL || used != (size_t)(a + n - q)) {
		fail(r, "authData.credentialPublicKey is not one CBOR item");
		return;
	}
	/* WebAuthn 8.3 step 2: the pubArea's key is credentialPublicKey. */
	if (ev_cose_key(&ev->key_pub, &cose) != 0 || cose.len != used ||
	    memcmp(cose.data, q, used) != 0)
		fail(r, "authData.credentialPublicKey is not the key of "
			"pubArea");
	blob_free(&cose);
	(void)kp;
}

size_t
verify_evidence(const evidence *ev, const verify_opts *o, verify_result *r)
{
	TPMT_PUBLIC kp;
	TPMS_ATTEST att, catt;
	EVP_PKEY *ak = NULL, *key = NULL;
	uint8_t extra[32], name[66];
	size_t name_len = 0;
	bool kp_ok;

	memset(r, 0, sizeof(*r));
	if (o->challenge == NULL && o->client_data_hash == NULL) {
		fail(r, "no challenge to check extraData against");
		return r->n;
	}
	if (o->client_data_hash != NULL && ev->format != EV_WEBAUTHN) {
		fail(r,
		     "a clientDataHash binds only the webauthn format; "
		     "this attestation is %s",
		     ev_format_name(ev->format));
		return r->n;
	}
	verify_ek(ev, o, r);
	ak = verify_ak(ev, o, r);
	if (ak == NULL && r->n == 0)
		fail(r, "the AK is unknown");

	kp_ok = tpmt_public_parse(ev->key_pub.data, ev->key_pub.len, &kp) == 0;
	if (!kp_ok)
		fail(r, "the key's public area (TPMT_PUBLIC) does not parse, "
			"or has trailing bytes");
	if (ev->format == EV_WEBAUTHN)
		verify_webauthn(ev, &kp, o, r);
	if ((o->client_data_hash != NULL
		     ? ev_webauthn_extra(&ev->auth_data, o->client_data_hash,
					 extra)
		     : ev_extra_data(ev->format, o->challenge, o->challenge_len,
				     &ev->auth_data, extra)) != 0) {
		fail(r, "cannot compute the expected extraData");
		goto out;
	}
	/* Part 1, 16: Name = nameAlg || H_nameAlg(TPMT_PUBLIC) */
	if (kp_ok && tpm_name(ev->key_pub.data, ev->key_pub.len, kp.nameAlg,
			      name, &name_len) != 0) {
		fail(r, "the key's name algorithm is not supported");
		kp_ok = false;
	}
	if (check_attest("certify", &ev->cert_info, &ev->cert_sig,
			 TPM2_ST_ATTEST_CERTIFY, ak, extra,
			 ev->format == EV_JSON ? 0 : ev->alg, &att, r) &&
	    kp_ok &&
	    (att.attested.certify.name.size != name_len ||
	     memcmp(att.attested.certify.name.name, name, name_len) != 0))
		fail(r, "the certified Name is not the Name of the given "
			"public area (another key's public area)");
	if (kp_ok) {
		check_key_attributes(&kp, r);
		check_key_policy(&kp, o, r);
		r->ssh_line = key_ssh_line(
			&kp, o->comment ? o->comment : "tpm11-attested",
			&r->key_desc);
		if (r->ssh_line == NULL)
			fail(r, "the key's type is not supported for OpenSSH");
		else if (ev->ssh != NULL && !ssh_same_key(ev->ssh, r->ssh_line))
			fail(r, "the OpenSSH line in the attestation is not "
				"the attested key");
		if (o->expect_key != NULL &&
		    ((key = tpmt_public_pkey(&kp)) == NULL ||
		     EVP_PKEY_eq(key, o->expect_key) != 1))
			fail(r, "the attested key is not the key in %s",
			     o->expect_what ? o->expect_what
					    : "the expected "
					      "file");
	}
	/* Where the key was made: TPM2_CertifyCreation (Part 3, 18.3). */
	if (ev->creation_info.data != NULL && kp_ok) {
		TPMS_CREATION_DATA cd;
		uint8_t h[64];
		unsigned int hl = 0;
		size_t off = 0;
		const EVP_MD *md = tpm_alg_md(kp.nameAlg);
		size_t before = r->n;

		if (check_attest("certify-creation", &ev->creation_info,
				 &ev->creation_sig, TPM2_ST_ATTEST_CREATION, ak,
				 extra, 0, &catt, r)) {
			if (catt.attested.creation.objectName.size !=
				    name_len ||
			    memcmp(catt.attested.creation.objectName.name, name,
				   name_len) != 0)
				fail(r, "certify-creation: the Name is not the "
					"key's");
			if (md == NULL ||
			    EVP_Digest(ev->creation_data.data,
				       ev->creation_data.len, h, &hl, md,
				       NULL) != 1 ||
			    catt.attested.creation.creationHash.size != hl ||
			    memcmp(catt.attested.creation.creationHash.buffer,
				   h, hl) != 0)
				fail(r, "certify-creation: the creation data "
					"is not what the TPM hashed");
			else if (Tss2_MU_TPMS_CREATION_DATA_Unmarshal(
					 ev->creation_data.data,
					 ev->creation_data.len, &off,
					 &cd) != TSS2_RC_SUCCESS ||
				 off != ev->creation_data.len)
				fail(r, "certify-creation: the creation data "
					"does not parse");
			else {
				char *hex = hex_encode(cd.parentName.name,
						       cd.parentName.size);

				snprintf(r->creation_parent,
					 sizeof(r->creation_parent), "%s",
					 hex ? hex : "");
				free(hex);
			}
		}
		r->creation = r->n == before;
	} else if (o->require_creation) {
		fail(r, "no TPM2_CertifyCreation in the attestation "
			"(--require-creation)");
	}
out:
	EVP_PKEY_free(ak);
	EVP_PKEY_free(key);
	return r->n;
}

EVP_PKEY *
verify_expect_key(const char *path, bool csr, char *why, size_t whylen)
{
	EVP_PKEY *k = NULL;
	X509_REQ *req;
	uint8_t *b;
	size_t n;
	FILE *f;

	if (!csr) {
		if (file_read(path, &b, &n, why, whylen) != 0)
			return NULL;
		k = ssh_line_pkey((const char *)b);
		free(b);
		if (k == NULL)
			snprintf(why, whylen,
				 "%s: not an OpenSSH ECDSA or RSA "
				 "public key",
				 path);
		return k;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "cannot open %s", path);
		return NULL;
	}
	req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	if (req == NULL || (k = X509_REQ_get_pubkey(req)) == NULL)
		snprintf(why, whylen, "%s: not a PEM certificate request",
			 path);
	else if (X509_REQ_verify(req, k) != 1) {
		snprintf(why, whylen,
			 "refused: the CSR's signature does not "
			 "verify");
		EVP_PKEY_free(k);
		k = NULL;
	}
	X509_REQ_free(req);
	return k;
}
