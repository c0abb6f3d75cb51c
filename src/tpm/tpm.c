#include "tpm/tpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "tpm/tpm_rc.h"
#include "util/log.h"
#include "util/secure.h"

/* swtpm, and many hardware TPMs, hold three transient objects, and a
 * command that names a persistent object (the SRK: salted sessions, Load,
 * Create) needs one free slot to bring it in. So two of ours at most. */
#define TPM_MAX_RESIDENT 2

struct tpm_ctx {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char *tcti_name;
	ESYS_TR srk;
	ESYS_TR hmac;            /* salted HMAC session, or ESYS_TR_NONE */
	bool hold;               /* tpm_idle keeps the session (the tool) */
	tpm_key *resident[TPM_MAX_RESIDENT];
	uint64_t clock;
	uint64_t ncmds;
	char err[256];
};

/* Every ESAPI call that talks to the TPM goes through this, so commands are
 * counted and failures logged once, where they happen. */
#define TPM_CALL(t, what, call)                                            \
	({                                                                 \
		TSS2_RC r_ = (call);                                       \
		(t)->ncmds++;                                              \
		if (r_ != TSS2_RC_SUCCESS)                                 \
			tpm_note_error((t), (what), r_);                   \
		r_;                                                        \
	})

static void
tpm_note_error(tpm_ctx *t, const char *what, TSS2_RC rc)
{
	snprintf(t->err, sizeof(t->err), "%s: 0x%x %s", what, rc,
		 Tss2_RC_Decode(rc));
	log_error("tpm: %s", t->err);
}

const char *
tpm_errmsg(const tpm_ctx *t)
{
	return t->err;
}

uint64_t
tpm_command_count(const tpm_ctx *t)
{
	return t->ncmds;
}

const char *
tpm_tcti_name(const tpm_ctx *t)
{
	return t->tcti_name;
}

CK_RV
tpm_open(const char *tcti, tpm_ctx **out, char *err, size_t errlen)
{
	tpm_ctx *t;
	TSS2_RC rc;

	*out = NULL;
	if (tcti == NULL || *tcti == '\0')
		tcti = getenv("TPM11_TCTI");
	if (tcti != NULL && *tcti == '\0')
		tcti = NULL;
	/* tpm2-tss logs to stderr by default; the module must stay silent
	 * (DESIGN.md property 6) unless the user asked for logs. */
	if (log_level < LOG_LEVEL_DEBUG)
		setenv("TSS2_LOG", "all+NONE", 0);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CKR_HOST_MEMORY;
	t->srk = ESYS_TR_NONE;
	t->hmac = ESYS_TR_NONE;
	t->tcti_name = strdup(tcti ? tcti : "(tctildr default: tabrmd, "
					     "/dev/tpmrm0, /dev/tpm0, mssim)");
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen,
			 "no TPM reachable through TCTI %s (%s); set "
			 "TPM11_TCTI or --tcti to a reachable TPM, e.g. "
			 "device:/dev/tpmrm0",
			 t->tcti_name, Tss2_RC_Decode(rc));
		log_error("%s", err);
		free(t->tcti_name);
		free(t);
		return CKR_DEVICE_ERROR;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "cannot start ESAPI on TCTI %s (%s)",
			 t->tcti_name, Tss2_RC_Decode(rc));
		log_error("%s", err);
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t->tcti_name);
		free(t);
		return CKR_DEVICE_ERROR;
	}
	log_debug("tpm: connected through %s", t->tcti_name);
	*out = t;
	return CKR_OK;
}

static void
tpm_flush_session(tpm_ctx *t)
{
	if (t->hmac != ESYS_TR_NONE) {
		TPM_CALL(t, "flush session", Esys_FlushContext(t->esys, t->hmac));
		t->hmac = ESYS_TR_NONE;
	}
}

void
tpm_idle(tpm_ctx *t)
{
	if (t != NULL && !t->hold)
		tpm_flush_session(t);
}

void
tpm_hold_session(tpm_ctx *t, bool hold)
{
	t->hold = hold;
}

void
tpm_close(tpm_ctx *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < TPM_MAX_RESIDENT; i++)
		if (t->resident[i] != NULL)
			tpm_key_unload(t, t->resident[i]);
	tpm_flush_session(t);
	if (t->srk != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &t->srk);
	log_debug("tpm: %llu commands sent", (unsigned long long)t->ncmds);
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t->tcti_name);
	free(t);
}

void
tpm_abandon(tpm_ctx *t)
{
	/* The ESAPI context and the TCTI connection belong to the parent's
	 * TPM session state; finalising them here could send commands or
	 * close the parent's resource-manager connection. Leak them. */
	(void)t;
}

/* --- capabilities ------------------------------------------------------ */

static CK_RV
tpm_get_props(tpm_ctx *t, uint32_t first, uint32_t count,
	      TPMS_CAPABILITY_DATA **cap)
{
	TPMI_YES_NO more;
	TSS2_RC rc;

	rc = TPM_CALL(t, "GetCapability",
		      Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
					 first, count, &more, cap));
	return tpm_rc_to_ckr(rc);
}

static uint32_t
prop_value(const TPMS_CAPABILITY_DATA *cap, uint32_t prop, uint32_t def)
{
	uint32_t i;

	for (i = 0; i < cap->data.tpmProperties.count; i++)
		if (cap->data.tpmProperties.tpmProperty[i].property == prop)
			return cap->data.tpmProperties.tpmProperty[i].value;
	return def;
}

static void
prop_chars(uint32_t v, char *out)
{
	int i, n = 0;

	for (i = 3; i >= 0; i--) {
		char c = (char)(v >> (8 * i));

		if (c >= 0x20 && c < 0x7f)
			out[n++] = c;
	}
	out[n] = '\0';
}

CK_RV
tpm_get_info(tpm_ctx *t, tpm_info *info)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	uint32_t fw, level, rev;
	char part[5];
	CK_RV rv;
	int i;

	memset(info, 0, sizeof(*info));
	if ((rv = tpm_get_props(t, TPM2_PT_FIXED, TPM2_MAX_TPM_PROPERTIES,
				&cap)) != CKR_OK)
		return rv;
	prop_chars(prop_value(cap, TPM2_PT_MANUFACTURER, 0), info->manufacturer);
	for (i = 0; i < 4; i++) {
		prop_chars(prop_value(cap, TPM2_PT_VENDOR_STRING_1 + i, 0), part);
		strncat(info->vendor, part,
			sizeof(info->vendor) - strlen(info->vendor) - 1);
	}
	fw = prop_value(cap, TPM2_PT_FIRMWARE_VERSION_1, 0);
	info->fw_major = (uint8_t)(fw >> 16);
	info->fw_minor = (uint8_t)fw;
	level = prop_value(cap, TPM2_PT_LEVEL, 0);
	rev = prop_value(cap, TPM2_PT_REVISION, 0);
	info->spec_major = (uint8_t)(rev / 100);
	info->spec_minor = (uint8_t)(rev % 100);
	(void)level;
	info->software = strcmp(info->manufacturer, "IBM") == 0 &&
			 strstr(info->vendor, "SW") != NULL;
	Esys_Free(cap);
	return CKR_OK;
}

CK_RV
tpm_get_lockout(tpm_ctx *t, tpm_lockout *l)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	CK_RV rv;

	memset(l, 0, sizeof(*l));
	if ((rv = tpm_get_props(t, TPM2_PT_PERMANENT, 16, &cap)) != CKR_OK)
		return rv;
	l->in_lockout = (prop_value(cap, TPM2_PT_PERMANENT, 0) &
			 TPMA_PERMANENT_INLOCKOUT) != 0;
	l->counter = prop_value(cap, TPM2_PT_LOCKOUT_COUNTER, 0);
	l->max_tries = prop_value(cap, TPM2_PT_MAX_AUTH_FAIL, 0);
	l->recovery = prop_value(cap, TPM2_PT_LOCKOUT_INTERVAL, 0);
	l->lockout_recovery = prop_value(cap, TPM2_PT_LOCKOUT_RECOVERY, 0);
	Esys_Free(cap);
	return CKR_OK;
}

CK_RV
tpm_random(tpm_ctx *t, uint8_t *out, size_t n)
{
	while (n > 0) {
		TPM2B_DIGEST *r = NULL;
		UINT16 want = n > 32 ? 32 : (UINT16)n;
		TSS2_RC rc;

		rc = TPM_CALL(t, "GetRandom",
			      Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					     ESYS_TR_NONE, want, &r));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		if (r->size == 0 || r->size > want) {
			Esys_Free(r);
			return CKR_DEVICE_ERROR;
		}
		memcpy(out, r->buffer, r->size);
		out += r->size;
		n -= r->size;
		secure_zero(r, sizeof(*r));
		Esys_Free(r);
	}
	return CKR_OK;
}

CK_RV
tpm_stir_random(tpm_ctx *t, const uint8_t *in, size_t n)
{
	while (n > 0) {
		TPM2B_SENSITIVE_DATA d = {0};
		/* TPM2_StirRandom takes at most 128 bytes (Part 3, 16.2). */
		size_t k = n > 128 ? 128 : n;
		TSS2_RC rc;

		d.size = (UINT16)k;
		memcpy(d.buffer, in, k);
		rc = TPM_CALL(t, "StirRandom",
			      Esys_StirRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					      ESYS_TR_NONE, &d));
		secure_zero(&d, sizeof(d));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		in += k;
		n -= k;
	}
	return CKR_OK;
}

/* --- templates ----------------------------------------------------------- */

#define ATTR_CHILD_KEY                                                     \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |                  \
	 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)

/* The primary storage key: the TCG ECC P-256 SRK template (restricted
 * decryption, AES-128-CFB, noDA, empty authValue, zero unique). */
static void
tmpl_srk(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes =
		ATTR_CHILD_KEY | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_DECRYPT;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->publicArea.unique.ecc.x.size = 32;
	p->publicArea.unique.ecc.y.size = 32;
}

static int
tpm_key_type_template(tpm_key_type type, unsigned flags, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	switch (type) {
	case TPM_KEY_ECC_P256:
	case TPM_KEY_ECC_P384:
		p->publicArea.type = TPM2_ALG_ECC;
		p->publicArea.objectAttributes =
			ATTR_CHILD_KEY | TPMA_OBJECT_SIGN_ENCRYPT;
		/* ECDH_ZGen needs decrypt; with scheme NULL the key may do
		 * both. Only when asked (CKA_DERIVE). */
		if (flags & TPM_KEYGEN_DERIVE)
			p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.eccDetail.symmetric.algorithm =
			TPM2_ALG_NULL;
		p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		p->publicArea.parameters.eccDetail.curveID =
			type == TPM_KEY_ECC_P256 ? TPM2_ECC_NIST_P256
						 : TPM2_ECC_NIST_P384;
		p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		return 0;
	case TPM_KEY_RSA_2048:
	case TPM_KEY_RSA_3072:
		/* sign|decrypt with scheme NULL: padding is done on the host
		 * and the TPM performs the raw private operation, so PSS
		 * with any salt and caller-built DigestInfo both work. */
		p->publicArea.type = TPM2_ALG_RSA;
		p->publicArea.objectAttributes = ATTR_CHILD_KEY |
						 TPMA_OBJECT_SIGN_ENCRYPT |
						 TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.rsaDetail.symmetric.algorithm =
			TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.keyBits =
			type == TPM_KEY_RSA_2048 ? 2048 : 3072;
		p->publicArea.parameters.rsaDetail.exponent = 0;
		return 0;
	case TPM_KEY_AES_128:
	case TPM_KEY_AES_256:
		/* mode NULL: the caller picks one per operation */
		p->publicArea.type = TPM2_ALG_SYMCIPHER;
		p->publicArea.objectAttributes = ATTR_CHILD_KEY |
						 TPMA_OBJECT_SIGN_ENCRYPT |
						 TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
		p->publicArea.parameters.symDetail.sym.keyBits.aes =
			type == TPM_KEY_AES_128 ? 128 : 256;
		p->publicArea.parameters.symDetail.sym.mode.aes = TPM2_ALG_NULL;
		return 0;
	case TPM_KEY_HMAC_SHA1:
	case TPM_KEY_HMAC:
	case TPM_KEY_HMAC_SHA384:
	case TPM_KEY_HMAC_SHA512: {
		/* A signing keyed-hash key must name its scheme (the TPM
		 * refuses NULL); its name hash sets the generated key's
		 * length: 20, 32, 48 or 64 bytes. */
		TPMI_ALG_HASH h = type == TPM_KEY_HMAC_SHA1 ? TPM2_ALG_SHA1
				  : type == TPM_KEY_HMAC_SHA384 ? TPM2_ALG_SHA384
				  : type == TPM_KEY_HMAC_SHA512 ? TPM2_ALG_SHA512
								: TPM2_ALG_SHA256;

		p->publicArea.type = TPM2_ALG_KEYEDHASH;
		p->publicArea.nameAlg = h;
		p->publicArea.objectAttributes =
			ATTR_CHILD_KEY | TPMA_OBJECT_SIGN_ENCRYPT;
		p->publicArea.parameters.keyedHashDetail.scheme.scheme =
			TPM2_ALG_HMAC;
		p->publicArea.parameters.keyedHashDetail.scheme.details.hmac
			.hashAlg = h;
		return 0;
	}
	default:
		return -1;
	}
}

/* --- blobs ------------------------------------------------------------- */

static int
pub_from_blob(const blob *b, TPM2B_PUBLIC *p)
{
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	if (b->data == NULL ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->data, b->len, &off, p) !=
		    TSS2_RC_SUCCESS ||
	    off != b->len)
		return -1;
	return 0;
}

static int
priv_from_blob(const blob *b, TPM2B_PRIVATE *p)
{
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	if (b->data == NULL ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(b->data, b->len, &off, p) !=
		    TSS2_RC_SUCCESS ||
	    off != b->len)
		return -1;
	return 0;
}

#define MARSHAL_TO_BLOB(type, src, dst)                                    \
	({                                                                 \
		uint8_t buf_[sizeof(*(src)) + 16];                         \
		size_t off_ = 0;                                           \
		int r_ = -1;                                               \
		if (Tss2_MU_##type##_Marshal((src), buf_, sizeof(buf_),    \
					     &off_) == TSS2_RC_SUCCESS)    \
			r_ = blob_set((dst), buf_, off_);                  \
		r_;                                                        \
	})

int
tpm_pub_parse(const blob *pub, tpm_pubkey *out)
{
	TPM2B_PUBLIC p;
	const TPMT_PUBLIC *a = &p.publicArea;

	memset(out, 0, sizeof(*out));
	if (pub_from_blob(pub, &p) != 0)
		return -1;
	if (a->type == TPM2_ALG_ECC) {
		size_t fl;

		switch (a->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			out->type = TPM_KEY_ECC_P256;
			out->curve = CURVE_P256;
			break;
		case TPM2_ECC_NIST_P384:
			out->type = TPM_KEY_ECC_P384;
			out->curve = CURVE_P384;
			break;
		default:
			return -1;
		}
		fl = ec_field_len(out->curve);
		if (a->unique.ecc.x.size > fl || a->unique.ecc.y.size > fl)
			return -1;
		/* Left-pad: the TPM may strip leading zero bytes. */
		memcpy(out->x + fl - a->unique.ecc.x.size, a->unique.ecc.x.buffer,
		       a->unique.ecc.x.size);
		memcpy(out->y + fl - a->unique.ecc.y.size, a->unique.ecc.y.buffer,
		       a->unique.ecc.y.size);
		out->bits = ec_bits(out->curve);
		return 0;
	}
	if (a->type == TPM2_ALG_SYMCIPHER &&
	    a->parameters.symDetail.sym.algorithm == TPM2_ALG_AES) {
		out->bits = a->parameters.symDetail.sym.keyBits.aes;
		out->type = out->bits == 128 ? TPM_KEY_AES_128 : TPM_KEY_AES_256;
		return out->bits == 128 || out->bits == 256 ? 0 : -1;
	}
	if (a->type == TPM2_ALG_KEYEDHASH) {
		switch (a->parameters.keyedHashDetail.scheme.details.hmac.hashAlg) {
		case TPM2_ALG_SHA1: out->hmac_hash = HASH_SHA1; break;
		case TPM2_ALG_SHA256: out->hmac_hash = HASH_SHA256; break;
		case TPM2_ALG_SHA384: out->hmac_hash = HASH_SHA384; break;
		case TPM2_ALG_SHA512: out->hmac_hash = HASH_SHA512; break;
		default: return -1;
		}
		out->type = tpm_hmac_type(out->hmac_hash);
		out->bits = 8 * hash_len(out->hmac_hash);
		return 0;
	}
	if (a->type == TPM2_ALG_RSA) {
		unsigned bits = a->parameters.rsaDetail.keyBits;

		if (bits == 2048)
			out->type = TPM_KEY_RSA_2048;
		else if (bits == 3072)
			out->type = TPM_KEY_RSA_3072;
		else
			return -1;
		if (a->unique.rsa.size == 0 ||
		    a->unique.rsa.size > sizeof(out->n))
			return -1;
		memcpy(out->n, a->unique.rsa.buffer, a->unique.rsa.size);
		out->n_len = a->unique.rsa.size;
		out->exponent = a->parameters.rsaDetail.exponent
					? a->parameters.rsaDetail.exponent
					: 65537;
		out->bits = bits;
		return 0;
	}
	return -1;
}

/* Name = nameAlg || H(marshalled TPMT_PUBLIC). */
static int
pub_name(const TPM2B_PUBLIC *p, uint8_t name[2 + SHA256_DIGEST_LENGTH])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&p->publicArea, buf, sizeof(buf),
					&off) != TSS2_RC_SUCCESS)
		return -1;
	name[0] = 0x00;
	name[1] = 0x0b; /* TPM2_ALG_SHA256 */
	return hash_digest(HASH_SHA256, buf, off, name + 2);
}

/* --- primary ----------------------------------------------------------- */

CK_RV
tpm_primary_setup(tpm_ctx *t, uint32_t handle, blob *name)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_NAME *n = NULL;
	ESYS_TR obj = ESYS_TR_NONE, persisted = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv;

	/* Already there? (TR_FromTPMPublic reads its public area.) */
	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &obj);
	t->ncmds++;
	if (rc == TSS2_RC_SUCCESS) {
		rc = TPM_CALL(t, "ReadPublic",
			      Esys_ReadPublic(t->esys, obj, ESYS_TR_NONE,
					      ESYS_TR_NONE, ESYS_TR_NONE, &pub,
					      &n, NULL));
		if (rc != TSS2_RC_SUCCESS) {
			rv = tpm_rc_to_ckr(rc);
			goto out;
		}
		if ((pub->publicArea.objectAttributes &
		     (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)) !=
			    (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT) ||
		    (pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT)) {
			snprintf(t->err, sizeof(t->err),
				 "persistent handle 0x%08x holds a key that is "
				 "not a storage key; choose another handle "
				 "with --primary-handle", handle);
			rv = CKR_DEVICE_ERROR;
			goto out;
		}
		rv = blob_set(name, n->name, n->size) ? CKR_HOST_MEMORY : CKR_OK;
		goto out;
	}

	tmpl_srk(&tmpl);
	rc = TPM_CALL(t, "CreatePrimary",
		      Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER,
					 ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &sens, &tmpl, NULL, &pcr,
					 &obj, NULL, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	rc = TPM_CALL(t, "EvictControl",
		      Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, obj,
					ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, handle, &persisted));
	TPM_CALL(t, "flush primary", Esys_FlushContext(t->esys, obj));
	obj = ESYS_TR_NONE;
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	rc = Esys_TR_GetName(t->esys, persisted, &n);
	if (rc != TSS2_RC_SUCCESS) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	rv = blob_set(name, n->name, n->size) ? CKR_HOST_MEMORY : CKR_OK;
out:
	if (persisted != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &persisted);
	if (obj != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &obj);
	Esys_Free(pub);
	Esys_Free(n);
	return rv;
}

/* The Name ESAPI holds for tr. Esys_TR_GetName would hash the public
 * area again (a new OpenSSL library context each time in tpm2-tss 3.x,
 * ~1 ms of CPU); the serialized form (TPM handle, then the Name, as
 * tpm2-tools keeps it in files) already carries the Name that
 * Esys_TR_FromTPMPublic checked against the TPM's. */
static int
tr_name(tpm_ctx *t, ESYS_TR tr, TPM2B_NAME **out)
{
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	TPM2_HANDLE h;
	TPM2B_NAME *n;
	int ret = -1;

	*out = NULL;
	if (Esys_TR_Serialize(t->esys, tr, &buf, &len) != TSS2_RC_SUCCESS)
		return -1;
	if ((n = calloc(1, sizeof(*n))) != NULL &&
	    Tss2_MU_TPM2_HANDLE_Unmarshal(buf, len, &off, &h) ==
		    TSS2_RC_SUCCESS &&
	    Tss2_MU_TPM2B_NAME_Unmarshal(buf, len, &off, n) ==
		    TSS2_RC_SUCCESS) {
		*out = n;
		n = NULL;
		ret = 0;
	}
	free(n);
	Esys_Free(buf);
	return ret;
}

CK_RV
tpm_primary_use(tpm_ctx *t, uint32_t handle, const blob *expected)
{
	TPM2B_NAME *n = NULL;
	TSS2_RC rc;

	if (t->srk != ESYS_TR_NONE)
		return CKR_OK;
	rc = TPM_CALL(t, "ReadPublic(primary)",
		      Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE,
					    ESYS_TR_NONE, ESYS_TR_NONE, &t->srk));
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		snprintf(t->err, sizeof(t->err),
			 "the primary key 0x%08x is not in this TPM (a cleared "
			 "TPM or another machine's store?); run `tpm11 init`",
			 handle);
		return tpm_rc_to_ckr(rc) == CKR_DEVICE_REMOVED
			       ? CKR_DEVICE_REMOVED
			       : CKR_DEVICE_ERROR;
	}
	if (expected != NULL && expected->len > 0) {
		if (tr_name(t, t->srk, &n) != 0 ||
		    n->size != expected->len ||
		    memcmp(n->name, expected->data, n->size) != 0) {
			snprintf(t->err, sizeof(t->err),
				 "the key at 0x%08x is not the primary this "
				 "store was made with (TPM cleared, or the "
				 "store comes from another machine)", handle);
			log_error("tpm: %s", t->err);
			free(n);
			Esys_TR_Close(t->esys, &t->srk);
			t->srk = ESYS_TR_NONE;
			return CKR_DEVICE_ERROR;
		}
		free(n);
	}
	return CKR_OK;
}

/* --- sessions ---------------------------------------------------------- */

static const TPMT_SYM_DEF session_sym = {
	.algorithm = TPM2_ALG_AES,
	.keyBits = {.aes = 128},
	.mode = {.aes = TPM2_ALG_CFB},
};

#define SESSION_ATTRS                                                      \
	(TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT |             \
	 TPMA_SESSION_ENCRYPT)

/* A session salted to the SRK: its key never crosses the bus, and with
 * parameter encryption (encrypt true) neither do new authValues. Kept
 * until tpm_idle. Each call sets the attributes it needs: ESAPI's session
 * crypto makes a new OpenSSL library context per operation (tpm2-tss 3.x),
 * so a command without parameter encryption (TPM2_Load, whose private
 * part is already wrapped by the parent, or TPM2_PolicySecret) saves a key
 * derivation and two AES passes of client CPU. */
static CK_RV
tpm_session_attrs(tpm_ctx *t, ESYS_TR *out, bool encrypt)
{
	TSS2_RC rc;

	*out = ESYS_TR_NONE;
	if (t->hmac == ESYS_TR_NONE) {
		if (t->srk == ESYS_TR_NONE)
			return CKR_GENERAL_ERROR;
		rc = TPM_CALL(t, "StartAuthSession",
			      Esys_StartAuthSession(t->esys, t->srk,
						    ESYS_TR_NONE, ESYS_TR_NONE,
						    ESYS_TR_NONE, ESYS_TR_NONE,
						    NULL, TPM2_SE_HMAC,
						    &session_sym,
						    TPM2_ALG_SHA256, &t->hmac));
		if (rc != TSS2_RC_SUCCESS) {
			t->hmac = ESYS_TR_NONE;
			return tpm_rc_to_ckr(rc);
		}
	}
	rc = Esys_TRSess_SetAttributes(t->esys, t->hmac,
				       encrypt ? SESSION_ATTRS
					       : TPMA_SESSION_CONTINUESESSION,
				       0xff);
	if (rc != TSS2_RC_SUCCESS)
		return CKR_DEVICE_ERROR;
	*out = t->hmac;
	return CKR_OK;
}

static CK_RV
tpm_hmac_session(tpm_ctx *t, ESYS_TR *out)
{
	return tpm_session_attrs(t, out, true);
}

/* --- residency ---------------------------------------------------------- */

static void
resident_remove(tpm_ctx *t, tpm_key *k)
{
	int i;

	for (i = 0; i < TPM_MAX_RESIDENT; i++)
		if (t->resident[i] == k)
			t->resident[i] = NULL;
	k->resident = false;
}

/* Context-saves and flushes k, so it can come back with one ContextLoad. */
static CK_RV
tpm_key_evict(tpm_ctx *t, tpm_key *k)
{
	TPMS_CONTEXT *ctx = NULL;
	TSS2_RC rc;

	rc = TPM_CALL(t, "ContextSave",
		      Esys_ContextSave(t->esys, (ESYS_TR)k->tr, &ctx));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	rc = TPM_CALL(t, "FlushContext", Esys_FlushContext(t->esys, k->tr));
	if (rc != TSS2_RC_SUCCESS) {
		Esys_Free(ctx);
		return tpm_rc_to_ckr(rc);
	}
	Esys_Free(k->saved);
	k->saved = ctx;
	k->tr = 0;
	resident_remove(t, k);
	return CKR_OK;
}

/* Makes room for one more object, evicting the least recently used one
 * that is not pin. */
static CK_RV
tpm_make_room(tpm_ctx *t, const tpm_key *pin)
{
	tpm_key *lru = NULL;
	int i, free_i = -1;
	CK_RV rv;

	for (i = 0; i < TPM_MAX_RESIDENT; i++) {
		if (t->resident[i] == NULL) {
			free_i = i;
			break;
		}
		if (t->resident[i] == pin)
			continue;
		if (lru == NULL || t->resident[i]->last_use < lru->last_use)
			lru = t->resident[i];
	}
	if (free_i < 0) {
		if (lru == NULL)
			return CKR_DEVICE_MEMORY;
		for (i = 0; i < TPM_MAX_RESIDENT; i++)
			if (t->resident[i] == lru)
				free_i = i;
		if ((rv = tpm_key_evict(t, lru)) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

static void
resident_add(tpm_ctx *t, tpm_key *k)
{
	int i;

	for (i = 0; i < TPM_MAX_RESIDENT; i++) {
		if (t->resident[i] == NULL) {
			t->resident[i] = k;
			k->resident = true;
			return;
		}
	}
}

static void
tpm_key_apply_auth(tpm_ctx *t, tpm_key *k)
{
	TPM2B_AUTH a = {0};

	a.size = (UINT16)k->auth_len;
	memcpy(a.buffer, k->auth, k->auth_len);
	Esys_TR_SetAuth(t->esys, k->tr, &a);
	secure_zero(&a, sizeof(a));
}

/* Loads k (and, first, its parents) so that k->tr is usable. */
static CK_RV
tpm_key_ensure(tpm_ctx *t, tpm_key *k)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR parent, sess, tr = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv;

	k->last_use = ++t->clock;
	if (k->tr != 0)
		return CKR_OK;
	if (k->saved != NULL) {
		if ((rv = tpm_make_room(t, NULL)) != CKR_OK)
			return rv;
		rc = TPM_CALL(t, "ContextLoad",
			      Esys_ContextLoad(t->esys, k->saved, &tr));
		if (rc == TSS2_RC_SUCCESS) {
			Esys_Free(k->saved);
			k->saved = NULL;
			k->tr = tr;
			tpm_key_apply_auth(t, k);
			resident_add(t, k);
			return CKR_OK;
		}
		/* A saved context dies with a TPM reset: load from blobs. */
		Esys_Free(k->saved);
		k->saved = NULL;
	}
	if (k->parent != NULL) {
		if ((rv = tpm_key_ensure(t, k->parent)) != CKR_OK)
			return rv;
		parent = k->parent->tr;
		if ((rv = tpm_session_attrs(t, &sess, false)) != CKR_OK)
			return rv;
	} else {
		if (t->srk == ESYS_TR_NONE)
			return CKR_GENERAL_ERROR;
		parent = t->srk;
		sess = ESYS_TR_PASSWORD;
	}
	if (pub_from_blob(&k->pub, &pub) != 0 ||
	    priv_from_blob(&k->priv, &priv) != 0) {
		snprintf(t->err, sizeof(t->err), "a stored key blob is damaged");
		log_error("tpm: %s", t->err);
		return CKR_DEVICE_ERROR;
	}
	if ((rv = tpm_make_room(t, k->parent)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "Load",
		      Esys_Load(t->esys, parent, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				&priv, &pub, &tr));
	secure_zero(&priv, sizeof(priv));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr_auth(rc);
	k->tr = tr;
	tpm_key_apply_auth(t, k);
	resident_add(t, k);
	return CKR_OK;
}

CK_RV
tpm_key_park(tpm_ctx *t, tpm_key *k)
{
	if (k->tr == 0)
		return CKR_OK;
	return tpm_key_evict(t, k);
}

void
tpm_key_set_auth(tpm_key *k, const uint8_t *auth, size_t len)
{
	secure_zero(k->auth, sizeof(k->auth));
	if (len > sizeof(k->auth))
		len = sizeof(k->auth);
	memcpy(k->auth, auth, len);
	k->auth_len = len;
}

void
tpm_key_unload(tpm_ctx *t, tpm_key *k)
{
	if (t != NULL && k->tr != 0) {
		TPM2B_AUTH empty = {0};

		/* Leave no authValue in ESAPI's memory. */
		Esys_TR_SetAuth(t->esys, k->tr, &empty);
		TPM_CALL(t, "FlushContext", Esys_FlushContext(t->esys, k->tr));
		resident_remove(t, k);
	}
	k->tr = 0;
	Esys_Free(k->saved);
	k->saved = NULL;
	secure_zero(k->auth, sizeof(k->auth));
	k->auth_len = 0;
}

void
tpm_key_clear(tpm_ctx *t, tpm_key *k)
{
	tpm_key_unload(t, k);
	blob_free(&k->pub);
	blob_free(&k->priv);
}

/* --- PIN ------------------------------------------------------------------ */

int
tpm_pin_auth(const blob *salt, const char *pin, size_t pin_len,
	     uint8_t out[TPM_AUTH_LEN])
{
	unsigned int len = TPM_AUTH_LEN;

	if (HMAC(EVP_sha256(), salt->data, (int)salt->len,
		 (const unsigned char *)pin, pin_len, out, &len) == NULL)
		return -1;
	return 0;
}

CK_RV
tpm_key_check_auth(tpm_ctx *t, tpm_key *k, tpm_key *child)
{
	ESYS_TR trial = ESYS_TR_NONE, sess;
	TSS2_RC rc;
	CK_RV rv;

	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	/* Loading a child is the proof (TPM2_Load authorises with the
	 * parent's authValue) and leaves the child ready for its first use:
	 * 1 command instead of 3. Only a child that is not loaded yet proves
	 * anything. */
	if (child != NULL && child->parent == k && child->tr == 0 &&
	    child->saved == NULL) {
		rv = tpm_key_ensure(t, child);
		if (rv == CKR_OK || rv == CKR_PIN_INCORRECT ||
		    rv == CKR_PIN_LOCKED || rv == CKR_DEVICE_REMOVED)
			return rv;
		/* Anything else (a damaged child blob): the policy way. */
		log_debug("tpm: child load for the PIN check failed (0x%lx); "
			  "using PolicySecret", (unsigned long)rv);
		if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
			return rv;
	}
	if ((rv = tpm_session_attrs(t, &sess, false)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "StartAuthSession(trial)",
		      Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
					    &session_sym, TPM2_ALG_SHA256,
					    &trial));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	rc = TPM_CALL(t, "PolicySecret",
		      Esys_PolicySecret(t->esys, k->tr, trial, sess, ESYS_TR_NONE,
					ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL,
					NULL));
	rv = rc == TSS2_RC_SUCCESS ? CKR_OK : tpm_rc_to_ckr_auth(rc);
	TPM_CALL(t, "flush trial", Esys_FlushContext(t->esys, trial));
	return rv;
}

/* --- token objects ------------------------------------------------------- */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* policyDigest' = H(policyDigest || parts...) with SHA-256. */
static int
policy_extend(uint8_t d[32], const void *a, size_t alen, const void *b,
	      size_t blen)
{
	uint8_t buf[32 + 4 + 2 * 64 + 72];

	if (alen + blen > sizeof(buf) - 32)
		return -1;
	memcpy(buf, d, 32);
	memcpy(buf + 32, a, alen);
	if (blen)
		memcpy(buf + 32 + alen, b, blen);
	return hash_digest(HASH_SHA256, buf, 32 + alen + blen, d);
}

static int
policy_cc(uint8_t d[32], uint32_t cc, const void *extra, size_t elen)
{
	uint8_t c[4];

	put_u32(c, cc);
	return policy_extend(d, c, 4, extra, elen);
}

/* The two ways to change a storage key's authValue (DESIGN.md):
 *   user: PolicyAuthValue, PolicyCommandCode(ObjectChangeAuth)
 *   SO:   PolicySecret(SO object), PolicyCommandCode(ObjectChangeAuth)
 *   authPolicy = PolicyOR(user, SO)
 * TPM 2.0 Part 3, 23.x: PolicySecret extends with the object's Name and
 * then with policyRef (empty here). */
static int
policy_branches(const uint8_t *so_name, size_t so_name_len,
		uint8_t user[32], uint8_t so[32], uint8_t or_digest[32])
{
	uint8_t occ[4], both[64];

	put_u32(occ, TPM2_CC_ObjectChangeAuth);
	memset(user, 0, 32);
	if (policy_cc(user, TPM2_CC_PolicyAuthValue, NULL, 0) ||
	    policy_cc(user, TPM2_CC_PolicyCommandCode, occ, 4))
		return -1;
	memset(so, 0, 32);
	if (policy_cc(so, TPM2_CC_PolicySecret, so_name, so_name_len) ||
	    policy_extend(so, "", 0, NULL, 0) ||
	    policy_cc(so, TPM2_CC_PolicyCommandCode, occ, 4))
		return -1;
	memcpy(both, user, 32);
	memcpy(both + 32, so, 32);
	memset(or_digest, 0, 32);
	return policy_cc(or_digest, TPM2_CC_PolicyOR, both, 64);
}

static CK_RV
tpm_create(tpm_ctx *t, ESYS_TR parent, ESYS_TR sess,
	   const uint8_t *auth, size_t auth_len, const TPM2B_PUBLIC *tmpl,
	   blob *pub, blob *priv, blob *cdata, blob *chash, blob *cticket)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_DATA outside = {0};
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_CREATION_DATA *ocd = NULL;
	TPM2B_DIGEST *och = NULL;
	TPMT_TK_CREATION *otk = NULL;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;

	sens.sensitive.userAuth.size = (UINT16)auth_len;
	if (auth_len)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	rc = TPM_CALL(t, "Create",
		      Esys_Create(t->esys, parent, sess, ESYS_TR_NONE,
				  ESYS_TR_NONE, &sens, tmpl, &outside, &pcr,
				  &opriv, &opub, &ocd, &och, &otk));
	secure_zero(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr_auth(rc);
	if (MARSHAL_TO_BLOB(TPM2B_PUBLIC, opub, pub) ||
	    MARSHAL_TO_BLOB(TPM2B_PRIVATE, opriv, priv) ||
	    (cdata && MARSHAL_TO_BLOB(TPM2B_CREATION_DATA, ocd, cdata)) ||
	    (chash && MARSHAL_TO_BLOB(TPM2B_DIGEST, och, chash)) ||
	    (cticket && MARSHAL_TO_BLOB(TPMT_TK_CREATION, otk, cticket)))
		rv = CKR_HOST_MEMORY;
	Esys_Free(opriv);
	Esys_Free(opub);
	Esys_Free(ocd);
	Esys_Free(och);
	Esys_Free(otk);
	return rv;
}

CK_RV
tpm_token_create(tpm_ctx *t, const uint8_t so_auth[TPM_AUTH_LEN],
		 const uint8_t user_auth[TPM_AUTH_LEN], blob *so_pub,
		 blob *so_priv, blob *user_pub, blob *user_priv)
{
	TPM2B_PUBLIC so_tmpl, key_tmpl, so_parsed;
	uint8_t so_name[34], ub[32], sb[32], ord[32];
	ESYS_TR sess;
	CK_RV rv;

	if ((rv = tpm_hmac_session(t, &sess)) != CKR_OK)
		return rv;
	/* SO object: a keyed-hash key whose only use is its authValue. Not
	 * noDA, so SO PIN guesses count too. */
	memset(&so_tmpl, 0, sizeof(so_tmpl));
	so_tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	so_tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	so_tmpl.publicArea.objectAttributes =
		ATTR_CHILD_KEY | TPMA_OBJECT_SIGN_ENCRYPT;
	so_tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme =
		TPM2_ALG_HMAC;
	so_tmpl.publicArea.parameters.keyedHashDetail.scheme.details.hmac
		.hashAlg = TPM2_ALG_SHA256;
	rv = tpm_create(t, t->srk, sess, so_auth, TPM_AUTH_LEN, &so_tmpl,
			so_pub, so_priv, NULL, NULL, NULL);
	if (rv != CKR_OK)
		return rv;
	if (pub_from_blob(so_pub, &so_parsed) != 0 ||
	    pub_name(&so_parsed, so_name) != 0 ||
	    policy_branches(so_name, sizeof(so_name), ub, sb, ord) != 0)
		return CKR_GENERAL_ERROR;

	/* The token's storage key. */
	tmpl_srk(&key_tmpl);
	key_tmpl.publicArea.objectAttributes =
		ATTR_CHILD_KEY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
		TPMA_OBJECT_ADMINWITHPOLICY;
	key_tmpl.publicArea.unique.ecc.x.size = 0;
	key_tmpl.publicArea.unique.ecc.y.size = 0;
	key_tmpl.publicArea.authPolicy.size = 32;
	memcpy(key_tmpl.publicArea.authPolicy.buffer, ord, 32);
	return tpm_create(t, t->srk, sess, user_auth, TPM_AUTH_LEN, &key_tmpl,
			  user_pub, user_priv, NULL, NULL, NULL);
}

CK_RV
tpm_key_create(tpm_ctx *t, tpm_key *parent, tpm_key_type type, unsigned flags,
	       blob *pub, blob *priv, blob *cdata, blob *chash, blob *cticket)
{
	TPM2B_PUBLIC tmpl;
	ESYS_TR sess;
	CK_RV rv;

	if (tpm_key_type_template(type, flags, &tmpl) != 0)
		return CKR_MECHANISM_INVALID;
	if (parent != NULL && (rv = tpm_key_ensure(t, parent)) != CKR_OK)
		return rv;
	/* The new key's sensitive part is empty (no authValue, the TPM
	 * makes the key) and its private part comes back wrapped: the
	 * salted session is for the parent's authorisation only, no
	 * parameter encryption needed. */
	if ((rv = tpm_session_attrs(t, &sess, false)) != CKR_OK)
		return rv;
	if (parent != NULL)
		parent->last_use = ++t->clock;
	return tpm_create(t, parent ? parent->tr : t->srk, sess, NULL, 0,
			  &tmpl, pub, priv, cdata, chash, cticket);
}

static CK_RV
tpm_policy_session(tpm_ctx *t, ESYS_TR *out)
{
	TSS2_RC rc;

	rc = TPM_CALL(t, "StartAuthSession(policy)",
		      Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE,
					    ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
					    &session_sym, TPM2_ALG_SHA256, out));
	if (rc != TSS2_RC_SUCCESS) {
		*out = ESYS_TR_NONE;
		return tpm_rc_to_ckr(rc);
	}
	/* The policy session only authorises; parameter encryption is done
	 * by the salted HMAC session (see tpm_change_auth_with): the key of
	 * an authorising session would include the object's authValue, which
	 * the SO does not know. */
	rc = Esys_TRSess_SetAttributes(t->esys, *out,
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	return rc == TSS2_RC_SUCCESS ? CKR_OK : CKR_DEVICE_ERROR;
}

/* ObjectChangeAuth authorised by sess; newAuth travels encrypted by the
 * salted HMAC session (sess itself when it is that session). */
static CK_RV
tpm_change_auth_with(tpm_ctx *t, tpm_key *key, ESYS_TR sess,
		     const uint8_t new_auth[TPM_AUTH_LEN], blob *new_priv)
{
	TPM2B_AUTH na = {0};
	TPM2B_PRIVATE *out = NULL;
	ESYS_TR parent = key->parent ? key->parent->tr : t->srk, hmac;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;

	if ((rv = tpm_hmac_session(t, &hmac)) != CKR_OK)
		return rv;
	na.size = TPM_AUTH_LEN;
	memcpy(na.buffer, new_auth, TPM_AUTH_LEN);
	rc = TPM_CALL(t, "ObjectChangeAuth",
		      Esys_ObjectChangeAuth(t->esys, key->tr, parent, sess,
					    sess == hmac ? ESYS_TR_NONE : hmac,
					    ESYS_TR_NONE, &na, &out));
	secure_zero(&na, sizeof(na));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr_auth(rc);
	if (MARSHAL_TO_BLOB(TPM2B_PRIVATE, out, new_priv))
		rv = CKR_HOST_MEMORY;
	Esys_Free(out);
	return rv;
}

CK_RV
tpm_storage_change_auth(tpm_ctx *t, tpm_key *key, tpm_key *so,
			const uint8_t new_auth[TPM_AUTH_LEN], blob *new_priv)
{
	TPM2B_PUBLIC so_pub;
	TPML_DIGEST list = {0};
	uint8_t so_name[34], ub[32], sb[32], ord[32];
	ESYS_TR policy = ESYS_TR_NONE, hmac;
	TSS2_RC rc;
	CK_RV rv;

	if (so == NULL)
		return CKR_ARGUMENTS_BAD;
	/* The SO object's Name is needed for the OR list in both cases. */
	if (pub_from_blob(&so->pub, &so_pub) != 0 ||
	    pub_name(&so_pub, so_name) != 0 ||
	    policy_branches(so_name, sizeof(so_name), ub, sb, ord) != 0)
		return CKR_GENERAL_ERROR;
	if ((rv = tpm_key_ensure(t, key)) != CKR_OK)
		return rv;
	key->last_use = ++t->clock;
	if ((rv = tpm_policy_session(t, &policy)) != CKR_OK)
		return rv;
	if (so->auth_len > 0) {
		/* SO branch: the SO object's authValue, proven through the
		 * salted HMAC session. */
		if ((rv = tpm_key_ensure(t, so)) != CKR_OK)
			goto out;
		if ((rv = tpm_key_ensure(t, key)) != CKR_OK)
			goto out;
		if ((rv = tpm_hmac_session(t, &hmac)) != CKR_OK)
			goto out;
		rc = TPM_CALL(t, "PolicySecret",
			      Esys_PolicySecret(t->esys, so->tr, policy, hmac,
						ESYS_TR_NONE, ESYS_TR_NONE, NULL,
						NULL, NULL, 0, NULL, NULL));
		if (rc != TSS2_RC_SUCCESS) {
			rv = tpm_rc_to_ckr_auth(rc);
			goto out;
		}
	} else {
		rc = TPM_CALL(t, "PolicyAuthValue",
			      Esys_PolicyAuthValue(t->esys, policy, ESYS_TR_NONE,
						   ESYS_TR_NONE, ESYS_TR_NONE));
		if (rc != TSS2_RC_SUCCESS) {
			rv = tpm_rc_to_ckr(rc);
			goto out;
		}
	}
	rc = TPM_CALL(t, "PolicyCommandCode",
		      Esys_PolicyCommandCode(t->esys, policy, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE,
					     TPM2_CC_ObjectChangeAuth));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	list.count = 2;
	list.digests[0].size = 32;
	memcpy(list.digests[0].buffer, ub, 32);
	list.digests[1].size = 32;
	memcpy(list.digests[1].buffer, sb, 32);
	rc = TPM_CALL(t, "PolicyOR",
		      Esys_PolicyOR(t->esys, policy, ESYS_TR_NONE, ESYS_TR_NONE,
				    ESYS_TR_NONE, &list));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	if ((rv = tpm_key_ensure(t, key)) != CKR_OK)
		goto out;
	rv = tpm_change_auth_with(t, key, policy, new_auth, new_priv);
out:
	if (policy != ESYS_TR_NONE)
		TPM_CALL(t, "flush policy", Esys_FlushContext(t->esys, policy));
	return rv;
}

CK_RV
tpm_object_change_auth(tpm_ctx *t, tpm_key *key,
		       const uint8_t new_auth[TPM_AUTH_LEN], blob *new_priv)
{
	ESYS_TR sess;
	CK_RV rv;

	if ((rv = tpm_key_ensure(t, key)) != CKR_OK)
		return rv;
	if ((rv = tpm_hmac_session(t, &sess)) != CKR_OK)
		return rv;
	return tpm_change_auth_with(t, key, sess, new_auth, new_priv);
}

/* --- signing ------------------------------------------------------------ */

CK_RV
tpm_sign_ecdsa(tpm_ctx *t, tpm_key *k, ec_curve curve, const uint8_t *digest,
	       size_t dlen, uint8_t *sig, size_t *siglen)
{
	TPMT_SIG_SCHEME scheme = {0};
	TPMT_TK_HASHCHECK check = {0};
	TPM2B_DIGEST d = {0};
	TPMT_SIGNATURE *s = NULL;
	size_t fl = ec_field_len(curve), use;
	hash_algo h;
	TSS2_RC rc;
	CK_RV rv;

	/* ECDSA uses the leftmost bits of the digest, up to the order's
	 * size (SEC 1, 4.1.3 step 5). The TPM wants a digest of a hash it
	 * knows: pick the hash by length, truncating a longer input to the
	 * field size first and zero-padding a short one on the left. */
	use = dlen > fl ? fl : dlen;
	if ((h = hash_by_len(use)) == HASH_NONE) {
		h = fl == 32 ? HASH_SHA256 : HASH_SHA384;
		d.size = (UINT16)hash_len(h);
		memcpy(d.buffer + d.size - use, digest, use);
	} else {
		d.size = (UINT16)use;
		memcpy(d.buffer, digest, use);
	}
	scheme.scheme = TPM2_ALG_ECDSA;
	switch (h) {
	case HASH_SHA1: scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA1; break;
	case HASH_SHA256: scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256; break;
	case HASH_SHA384: scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA384; break;
	case HASH_SHA512: scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA512; break;
	default:
		/* SHA-224 length: pad to SHA-256's, same value mod n. */
		scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		memmove(d.buffer + 32 - use, digest, use);
		memset(d.buffer, 0, 32 - use);
		d.size = 32;
		break;
	}
	check.tag = TPM2_ST_HASHCHECK;
	check.hierarchy = TPM2_RH_NULL;
	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "Sign",
		      Esys_Sign(t->esys, k->tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &d, &scheme, &check, &s));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	if (ec_sig_rs(curve, s->signature.ecdsa.signatureR.buffer,
		      s->signature.ecdsa.signatureR.size,
		      s->signature.ecdsa.signatureS.buffer,
		      s->signature.ecdsa.signatureS.size, sig) != 0)
		rv = CKR_DEVICE_ERROR;
	else
		*siglen = 2 * fl;
	Esys_Free(s);
	return rv;
}

CK_RV
tpm_rsa_raw(tpm_ctx *t, tpm_key *k, const uint8_t *in, size_t len,
	    uint8_t *out, size_t *outlen)
{
	TPM2B_PUBLIC_KEY_RSA c = {0};
	TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_NULL};
	TPM2B_DATA label = {0};
	TPM2B_PUBLIC_KEY_RSA *m = NULL;
	TSS2_RC rc;
	CK_RV rv;

	if (len > sizeof(c.buffer))
		return CKR_DATA_LEN_RANGE;
	c.size = (UINT16)len;
	memcpy(c.buffer, in, len);
	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "RSA_Decrypt",
		      Esys_RSA_Decrypt(t->esys, k->tr, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE, &c, &scheme,
				       &label, &m));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	/* The TPM strips leading zeros: left-pad to the modulus length. */
	if (m->size > len) {
		rv = CKR_DEVICE_ERROR;
	} else {
		memset(out, 0, len - m->size);
		memcpy(out + len - m->size, m->buffer, m->size);
		*outlen = len;
	}
	secure_zero(m, sizeof(*m));
	Esys_Free(m);
	return rv;
}

/* --- access for other TPM code of tpm11 ---------------------------------- */

struct ESYS_CONTEXT *
tpm_esys(tpm_ctx *t)
{
	return t->esys;
}

uint32_t
tpm_srk_tr(tpm_ctx *t)
{
	return t->srk;
}

CK_RV
tpm_session(tpm_ctx *t, uint32_t *sess)
{
	ESYS_TR s;
	CK_RV rv = tpm_hmac_session(t, &s);

	*sess = s;
	return rv;
}

CK_RV
tpm_key_load(tpm_ctx *t, tpm_key *k)
{
	return tpm_key_ensure(t, k);
}

CK_RV
tpm_free_slot(tpm_ctx *t)
{
	return tpm_make_room(t, NULL);
}

void
tpm_count(tpm_ctx *t, const char *what, uint32_t rc)
{
	t->ncmds++;
	if (rc != TSS2_RC_SUCCESS)
		tpm_note_error(t, what, rc);
}

CK_RV
tpm_ecdh_zgen(tpm_ctx *t, tpm_key *k, ec_curve curve, const uint8_t *x,
	      const uint8_t *y, uint8_t *z)
{
	TPM2B_ECC_POINT in = {0};
	TPM2B_ECC_POINT *out = NULL;
	size_t fl = ec_field_len(curve);
	TSS2_RC rc;
	CK_RV rv;

	in.point.x.size = (UINT16)fl;
	memcpy(in.point.x.buffer, x, fl);
	in.point.y.size = (UINT16)fl;
	memcpy(in.point.y.buffer, y, fl);
	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "ECDH_ZGen",
		      Esys_ECDH_ZGen(t->esys, k->tr, ESYS_TR_PASSWORD,
				     ESYS_TR_NONE, ESYS_TR_NONE, &in, &out));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	if (out->point.x.size > fl) {
		rv = CKR_DEVICE_ERROR;
	} else {
		memset(z, 0, fl - out->point.x.size);
		memcpy(z + fl - out->point.x.size, out->point.x.buffer,
		       out->point.x.size);
	}
	secure_zero(out, sizeof(*out));
	Esys_Free(out);
	return rv;
}

/* --- secret keys --------------------------------------------------------- */

CK_RV
tpm_aes(tpm_ctx *t, tpm_key *k, bool decrypt, uint16_t mode, uint8_t iv[16],
	const uint8_t *in, size_t len, uint8_t *out)
{
	TPM2B_MAX_BUFFER data;
	TPM2B_IV ivin = {.size = 16};
	TPM2B_MAX_BUFFER *o = NULL;
	TPM2B_IV *ivout = NULL;
	TSS2_RC rc;
	CK_RV rv;

	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	while (len > 0) {
		/* Chunks of whole blocks, at most TPM2_MAX_DIGEST_BUFFER. */
		size_t n = len > 1024 ? 1024 : len;

		data.size = (UINT16)n;
		memcpy(data.buffer, in, n);
		/* ECB has no IV: the TPM wants an empty one. */
		ivin.size = mode == TPM2_ALG_ECB ? 0 : 16;
		memcpy(ivin.buffer, iv, 16);
		rc = TPM_CALL(t, "EncryptDecrypt2",
			      Esys_EncryptDecrypt2(t->esys, k->tr,
						   ESYS_TR_PASSWORD, ESYS_TR_NONE,
						   ESYS_TR_NONE, &data,
						   decrypt ? TPM2_YES : TPM2_NO,
						   mode, &ivin, &o, &ivout));
		secure_zero(&data, sizeof(data));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		if (o->size != n || ivout->size != ivin.size) {
			Esys_Free(o);
			Esys_Free(ivout);
			return CKR_DEVICE_ERROR;
		}
		memcpy(out, o->buffer, n);
		if (ivout->size == 16)
			memcpy(iv, ivout->buffer, 16);
		secure_zero(o, sizeof(*o));
		Esys_Free(o);
		Esys_Free(ivout);
		in += n;
		out += n;
		len -= n;
	}
	return CKR_OK;
}

static TPMI_ALG_HASH
tpm_hash_alg(hash_algo a)
{
	switch (a) {
	case HASH_SHA1: return TPM2_ALG_SHA1;
	case HASH_SHA256: return TPM2_ALG_SHA256;
	case HASH_SHA384: return TPM2_ALG_SHA384;
	case HASH_SHA512: return TPM2_ALG_SHA512;
	default: return TPM2_ALG_NULL;
	}
}

CK_RV
tpm_hmac(tpm_ctx *t, tpm_key *k, hash_algo alg, const uint8_t *data,
	 size_t len, uint8_t *out)
{
	TPM2B_MAX_BUFFER buf;
	TPM2B_AUTH empty = {0};
	TPM2B_DIGEST *d = NULL;
	TPMT_TK_HASHCHECK *tk = NULL;
	ESYS_TR seq = ESYS_TR_NONE;
	TPMI_ALG_HASH h = tpm_hash_alg(alg);
	TSS2_RC rc;
	CK_RV rv;

	if (h == TPM2_ALG_NULL)
		return CKR_MECHANISM_INVALID;
	if ((rv = tpm_key_ensure(t, k)) != CKR_OK)
		return rv;
	if (len <= sizeof(buf.buffer)) {
		buf.size = (UINT16)len;
		memcpy(buf.buffer, data, len);
		rc = TPM_CALL(t, "HMAC",
			      Esys_HMAC(t->esys, k->tr, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &buf, h, &d));
		secure_zero(&buf, sizeof(buf));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		goto done;
	}
	/* Longer: an HMAC sequence, which takes an object slot. */
	if ((rv = tpm_make_room(t, k)) != CKR_OK)
		return rv;
	rc = TPM_CALL(t, "HMAC_Start",
		      Esys_HMAC_Start(t->esys, k->tr, ESYS_TR_PASSWORD,
				      ESYS_TR_NONE, ESYS_TR_NONE, &empty, h,
				      &seq));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	while (len > sizeof(buf.buffer)) {
		buf.size = sizeof(buf.buffer);
		memcpy(buf.buffer, data, buf.size);
		rc = TPM_CALL(t, "SequenceUpdate",
			      Esys_SequenceUpdate(t->esys, seq, ESYS_TR_PASSWORD,
						  ESYS_TR_NONE, ESYS_TR_NONE,
						  &buf));
		if (rc != TSS2_RC_SUCCESS) {
			TPM_CALL(t, "flush sequence",
				 Esys_FlushContext(t->esys, seq));
			return tpm_rc_to_ckr(rc);
		}
		data += buf.size;
		len -= buf.size;
	}
	buf.size = (UINT16)len;
	memcpy(buf.buffer, data, len);
	rc = TPM_CALL(t, "SequenceComplete",
		      Esys_SequenceComplete(t->esys, seq, ESYS_TR_PASSWORD,
					    ESYS_TR_NONE, ESYS_TR_NONE, &buf,
					    ESYS_TR_RH_NULL, &d, &tk));
	secure_zero(&buf, sizeof(buf));
	Esys_Free(tk);
	if (rc != TSS2_RC_SUCCESS) {
		TPM_CALL(t, "flush sequence", Esys_FlushContext(t->esys, seq));
		return tpm_rc_to_ckr(rc);
	}
done:
	if (d->size != hash_len(alg))
		rv = CKR_DEVICE_ERROR;
	else
		memcpy(out, d->buffer, d->size);
	secure_zero(d, sizeof(*d));
	Esys_Free(d);
	return rv;
}

CK_RV
tpm_key_import(tpm_ctx *t, tpm_key *parent, tpm_key_type type,
	       const uint8_t *value, size_t len, blob *pub, blob *priv)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_DATA outside = {0};
	TPM2B_PUBLIC tmpl, *opub = NULL;
	TPM2B_PRIVATE *opriv = NULL;
	ESYS_TR sess;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;

	if (tpm_key_type_template(type, 0, &tmpl) != 0 ||
	    len > sizeof(sens.sensitive.data.buffer))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	/* Not made by the TPM: sensitiveDataOrigin clear. */
	tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_SENSITIVEDATAORIGIN;
	if ((rv = tpm_key_ensure(t, parent)) != CKR_OK)
		return rv;
	if ((rv = tpm_hmac_session(t, &sess)) != CKR_OK)
		return rv;
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, value, len);
	rc = TPM_CALL(t, "Create(import)",
		      Esys_Create(t->esys, parent->tr, sess, ESYS_TR_NONE,
				  ESYS_TR_NONE, &sens, &tmpl, &outside, &pcr,
				  &opriv, &opub, NULL, NULL, NULL));
	secure_zero(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	if (MARSHAL_TO_BLOB(TPM2B_PUBLIC, opub, pub) ||
	    MARSHAL_TO_BLOB(TPM2B_PRIVATE, opriv, priv))
		rv = CKR_HOST_MEMORY;
	Esys_Free(opub);
	Esys_Free(opriv);
	return rv;
}

tpm_key_type
tpm_hmac_type(hash_algo h)
{
	switch (h) {
	case HASH_SHA1: return TPM_KEY_HMAC_SHA1;
	case HASH_SHA256: return TPM_KEY_HMAC;
	case HASH_SHA384: return TPM_KEY_HMAC_SHA384;
	case HASH_SHA512: return TPM_KEY_HMAC_SHA512;
	default: return TPM_KEY_NONE;
	}
}
