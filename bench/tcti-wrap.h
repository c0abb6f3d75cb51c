/*
 * tcti-wrap.h: what a TCTI that wraps another TCTI needs, shared by
 * bench/tcti-count.c and tests/tcti/tcti-profile.c.
 *
 *  - tcti_wrap: the context's first member (the TCTI common part and the
 *    wrapped TCTI, opened through tctildr from a configuration string);
 *  - tcti_wrap_setup(): fills in the common part, with Cancel,
 *    GetPollHandles, SetLocality and MakeSticky passed to the wrapped TCTI;
 *  - tcti_cc_info(): per TPM command code, its TCG name and the number of
 *    handles in its command and response handle areas;
 *  - the key type ("kind") a command's latency is looked up with in a chip
 *    profile (tests/tcti/tcti-profile.c sleeps it, bench/tcti-count.c logs
 *    it for bench/report.py's model): the new key's type for Create*,
 *    Load* and Import, else the type of the object at the first handle.
 *
 * Define TCTI_WRAP_MAGIC (a uint64_t constant of the including file's own)
 * before including this header. Everything here is static to the file that
 * includes it, so each TCTI library stays one self-contained object
 * (bench/run compiles tcti-count.c alone when meson cannot configure).
 */
#ifndef TCTI_WRAP_H
#define TCTI_WRAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_tpm2_types.h>

#ifndef TCTI_WRAP_MAGIC
#error "define TCTI_WRAP_MAGIC before including tcti-wrap.h"
#endif

#define TCTI_EXPORT __attribute__((visibility("default")))

typedef struct {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;
	TSS2_TCTI_CONTEXT *inner; /* the wrapped TCTI; NULL while closed */
} tcti_wrap;

/* The context, or NULL when c is not one of this file's contexts. */
static inline tcti_wrap *
tcti_wrap_get(TSS2_TCTI_CONTEXT *c)
{
	tcti_wrap *w = (tcti_wrap *)c;
	if (w == NULL || w->common.v1.magic != TCTI_WRAP_MAGIC)
		return NULL;
	return w;
}

static inline TSS2_RC
tcti_wrap_cancel(TSS2_TCTI_CONTEXT *c)
{
	tcti_wrap *w = tcti_wrap_get(c);
	if (w == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (w->inner == NULL)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	return Tss2_Tcti_Cancel(w->inner);
}

static inline TSS2_RC
tcti_wrap_poll(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	tcti_wrap *w = tcti_wrap_get(c);
	if (w == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (w->inner == NULL)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	return Tss2_Tcti_GetPollHandles(w->inner, h, n);
}

static inline TSS2_RC
tcti_wrap_locality(TSS2_TCTI_CONTEXT *c, uint8_t loc)
{
	tcti_wrap *w = tcti_wrap_get(c);
	if (w == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (w->inner == NULL)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	return Tss2_Tcti_SetLocality(w->inner, loc);
}

static inline TSS2_RC
tcti_wrap_sticky(TSS2_TCTI_CONTEXT *c, TPM2_HANDLE *handle, uint8_t sticky)
{
	tcti_wrap *w = tcti_wrap_get(c);
	if (w == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (w->inner == NULL)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	return Tss2_Tcti_MakeSticky(w->inner, handle, sticky);
}

/* Marks w as initialised: version 2, this file's magic, its own Transmit,
 * Receive and Finalize, the rest passed to the wrapped TCTI. */
static inline void
tcti_wrap_setup(tcti_wrap *w, TSS2_TCTI_TRANSMIT_FCN transmit,
		TSS2_TCTI_RECEIVE_FCN receive, TSS2_TCTI_FINALIZE_FCN finalize)
{
	w->common.v1.magic = TCTI_WRAP_MAGIC;
	w->common.v1.version = 2;
	w->common.v1.transmit = transmit;
	w->common.v1.receive = receive;
	w->common.v1.finalize = finalize;
	w->common.v1.cancel = tcti_wrap_cancel;
	w->common.v1.getPollHandles = tcti_wrap_poll;
	w->common.v1.setLocality = tcti_wrap_locality;
	w->common.makeSticky = tcti_wrap_sticky;
}

/* The first steps of a TCTI's init (tss2_tcti.h, TSS2_TCTI_INIT_FUNC):
 * with no context, report the size a context of this TCTI needs (need);
 * with one, check that it is that large and zero it. Returns 1 when the
 * caller goes on to initialise c, else 0 with *rc its answer. */
static inline int
tcti_wrap_init_begin(TSS2_TCTI_CONTEXT *c, size_t *size, size_t need, TSS2_RC *rc)
{
	*rc = TSS2_RC_SUCCESS;
	if (size == NULL) {
		*rc = TSS2_TCTI_RC_BAD_VALUE;
		return 0;
	}
	if (c == NULL) {
		*size = need;
		return 0;
	}
	if (*size < need) {
		*rc = TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
		return 0;
	}
	memset(c, 0, need);
	return 1;
}

/* Opens the wrapped TCTI; an empty configuration means tctildr's default. */
static inline TSS2_RC
tcti_wrap_open(tcti_wrap *w, const char *conf)
{
	return Tss2_TctiLdr_Initialize(conf != NULL && conf[0] ? conf : NULL, &w->inner);
}

static inline void
tcti_wrap_close(tcti_wrap *w)
{
	if (w->inner != NULL)
		Tss2_TctiLdr_Finalize(&w->inner);
	w->inner = NULL;
}

/* TPM structures are big-endian (TPM 2.0 Part 1, 18). */
static inline uint32_t
tcti_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void
tcti_put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* The command code of a command buffer (Part 1, 18.2: tag, size,
 * commandCode), 0 when the buffer is too short. */
static inline uint32_t
tcti_cmd_code(const uint8_t *cmd, size_t size)
{
	if (cmd == NULL || size < 10)
		return 0;
	return tcti_get32(cmd + 6);
}

#define TCTI_CC_BASE 0x100u
#define TCTI_CC_SLOTS 0x100u /* command codes 0x100..0x1ff */

typedef struct {
	const char *name; /* TCG name without "TPM2_" */
	uint8_t cmd_handles; /* handles in the command's handle area */
	uint8_t rsp_handles; /* handles in the response's handle area */
} tcti_cc;

/* TPM 2.0 Part 2, table 12 (the codes and names) and Part 3 (each
 * command's handle areas; note FlushContext's handle is a parameter). */
static const tcti_cc tcti_cc_table[TCTI_CC_SLOTS] = {
	[0x11f - TCTI_CC_BASE] = { "NV_UndefineSpaceSpecial", 2, 0 },
	[0x120 - TCTI_CC_BASE] = { "EvictControl", 2, 0 },
	[0x121 - TCTI_CC_BASE] = { "HierarchyControl", 1, 0 },
	[0x122 - TCTI_CC_BASE] = { "NV_UndefineSpace", 2, 0 },
	[0x124 - TCTI_CC_BASE] = { "ChangeEPS", 1, 0 },
	[0x125 - TCTI_CC_BASE] = { "ChangePPS", 1, 0 },
	[0x126 - TCTI_CC_BASE] = { "Clear", 1, 0 },
	[0x127 - TCTI_CC_BASE] = { "ClearControl", 1, 0 },
	[0x128 - TCTI_CC_BASE] = { "ClockSet", 1, 0 },
	[0x129 - TCTI_CC_BASE] = { "HierarchyChangeAuth", 1, 0 },
	[0x12a - TCTI_CC_BASE] = { "NV_DefineSpace", 1, 0 },
	[0x12b - TCTI_CC_BASE] = { "PCR_Allocate", 1, 0 },
	[0x12c - TCTI_CC_BASE] = { "PCR_SetAuthPolicy", 1, 0 },
	[0x12d - TCTI_CC_BASE] = { "PP_Commands", 1, 0 },
	[0x12e - TCTI_CC_BASE] = { "SetPrimaryPolicy", 1, 0 },
	[0x12f - TCTI_CC_BASE] = { "FieldUpgradeStart", 2, 0 },
	[0x130 - TCTI_CC_BASE] = { "ClockRateAdjust", 1, 0 },
	[0x131 - TCTI_CC_BASE] = { "CreatePrimary", 1, 1 },
	[0x132 - TCTI_CC_BASE] = { "NV_GlobalWriteLock", 1, 0 },
	[0x133 - TCTI_CC_BASE] = { "GetCommandAuditDigest", 2, 0 },
	[0x134 - TCTI_CC_BASE] = { "NV_Increment", 2, 0 },
	[0x135 - TCTI_CC_BASE] = { "NV_SetBits", 2, 0 },
	[0x136 - TCTI_CC_BASE] = { "NV_Extend", 2, 0 },
	[0x137 - TCTI_CC_BASE] = { "NV_Write", 2, 0 },
	[0x138 - TCTI_CC_BASE] = { "NV_WriteLock", 2, 0 },
	[0x139 - TCTI_CC_BASE] = { "DictionaryAttackLockReset", 1, 0 },
	[0x13a - TCTI_CC_BASE] = { "DictionaryAttackParameters", 1, 0 },
	[0x13b - TCTI_CC_BASE] = { "NV_ChangeAuth", 1, 0 },
	[0x13c - TCTI_CC_BASE] = { "PCR_Event", 1, 0 },
	[0x13d - TCTI_CC_BASE] = { "PCR_Reset", 1, 0 },
	[0x13e - TCTI_CC_BASE] = { "SequenceComplete", 1, 0 },
	[0x13f - TCTI_CC_BASE] = { "SetAlgorithmSet", 1, 0 },
	[0x140 - TCTI_CC_BASE] = { "SetCommandCodeAuditStatus", 1, 0 },
	[0x141 - TCTI_CC_BASE] = { "FieldUpgradeData", 0, 0 },
	[0x142 - TCTI_CC_BASE] = { "IncrementalSelfTest", 0, 0 },
	[0x143 - TCTI_CC_BASE] = { "SelfTest", 0, 0 },
	[0x144 - TCTI_CC_BASE] = { "Startup", 0, 0 },
	[0x145 - TCTI_CC_BASE] = { "Shutdown", 0, 0 },
	[0x146 - TCTI_CC_BASE] = { "StirRandom", 0, 0 },
	[0x147 - TCTI_CC_BASE] = { "ActivateCredential", 2, 0 },
	[0x148 - TCTI_CC_BASE] = { "Certify", 2, 0 },
	[0x149 - TCTI_CC_BASE] = { "PolicyNV", 3, 0 },
	[0x14a - TCTI_CC_BASE] = { "CertifyCreation", 2, 0 },
	[0x14b - TCTI_CC_BASE] = { "Duplicate", 2, 0 },
	[0x14c - TCTI_CC_BASE] = { "GetTime", 2, 0 },
	[0x14d - TCTI_CC_BASE] = { "GetSessionAuditDigest", 3, 0 },
	[0x14e - TCTI_CC_BASE] = { "NV_Read", 2, 0 },
	[0x14f - TCTI_CC_BASE] = { "NV_ReadLock", 2, 0 },
	[0x150 - TCTI_CC_BASE] = { "ObjectChangeAuth", 2, 0 },
	[0x151 - TCTI_CC_BASE] = { "PolicySecret", 2, 0 },
	[0x152 - TCTI_CC_BASE] = { "Rewrap", 2, 0 },
	[0x153 - TCTI_CC_BASE] = { "Create", 1, 0 },
	[0x154 - TCTI_CC_BASE] = { "ECDH_ZGen", 1, 0 },
	[0x155 - TCTI_CC_BASE] = { "HMAC", 1, 0 },
	[0x156 - TCTI_CC_BASE] = { "Import", 1, 0 },
	[0x157 - TCTI_CC_BASE] = { "Load", 1, 1 },
	[0x158 - TCTI_CC_BASE] = { "Quote", 1, 0 },
	[0x159 - TCTI_CC_BASE] = { "RSA_Decrypt", 1, 0 },
	[0x15b - TCTI_CC_BASE] = { "HMAC_Start", 1, 1 },
	[0x15c - TCTI_CC_BASE] = { "SequenceUpdate", 1, 0 },
	[0x15d - TCTI_CC_BASE] = { "Sign", 1, 0 },
	[0x15e - TCTI_CC_BASE] = { "Unseal", 1, 0 },
	[0x160 - TCTI_CC_BASE] = { "PolicySigned", 2, 0 },
	[0x161 - TCTI_CC_BASE] = { "ContextLoad", 0, 1 },
	[0x162 - TCTI_CC_BASE] = { "ContextSave", 1, 0 },
	[0x163 - TCTI_CC_BASE] = { "ECDH_KeyGen", 1, 0 },
	[0x164 - TCTI_CC_BASE] = { "EncryptDecrypt", 1, 0 },
	[0x165 - TCTI_CC_BASE] = { "FlushContext", 0, 0 },
	[0x167 - TCTI_CC_BASE] = { "LoadExternal", 0, 1 },
	[0x168 - TCTI_CC_BASE] = { "MakeCredential", 1, 0 },
	[0x169 - TCTI_CC_BASE] = { "NV_ReadPublic", 1, 0 },
	[0x16a - TCTI_CC_BASE] = { "PolicyAuthorize", 1, 0 },
	[0x16b - TCTI_CC_BASE] = { "PolicyAuthValue", 1, 0 },
	[0x16c - TCTI_CC_BASE] = { "PolicyCommandCode", 1, 0 },
	[0x16d - TCTI_CC_BASE] = { "PolicyCounterTimer", 1, 0 },
	[0x16e - TCTI_CC_BASE] = { "PolicyCpHash", 1, 0 },
	[0x16f - TCTI_CC_BASE] = { "PolicyLocality", 1, 0 },
	[0x170 - TCTI_CC_BASE] = { "PolicyNameHash", 1, 0 },
	[0x171 - TCTI_CC_BASE] = { "PolicyOR", 1, 0 },
	[0x172 - TCTI_CC_BASE] = { "PolicyTicket", 1, 0 },
	[0x173 - TCTI_CC_BASE] = { "ReadPublic", 1, 0 },
	[0x174 - TCTI_CC_BASE] = { "RSA_Encrypt", 1, 0 },
	[0x176 - TCTI_CC_BASE] = { "StartAuthSession", 2, 1 },
	[0x177 - TCTI_CC_BASE] = { "VerifySignature", 1, 0 },
	[0x178 - TCTI_CC_BASE] = { "ECC_Parameters", 0, 0 },
	[0x179 - TCTI_CC_BASE] = { "FirmwareRead", 0, 0 },
	[0x17a - TCTI_CC_BASE] = { "GetCapability", 0, 0 },
	[0x17b - TCTI_CC_BASE] = { "GetRandom", 0, 0 },
	[0x17c - TCTI_CC_BASE] = { "GetTestResult", 0, 0 },
	[0x17d - TCTI_CC_BASE] = { "Hash", 0, 0 },
	[0x17e - TCTI_CC_BASE] = { "PCR_Read", 0, 0 },
	[0x17f - TCTI_CC_BASE] = { "PolicyPCR", 1, 0 },
	[0x180 - TCTI_CC_BASE] = { "PolicyRestart", 1, 0 },
	[0x181 - TCTI_CC_BASE] = { "ReadClock", 0, 0 },
	[0x182 - TCTI_CC_BASE] = { "PCR_Extend", 1, 0 },
	[0x183 - TCTI_CC_BASE] = { "PCR_SetAuthValue", 1, 0 },
	[0x184 - TCTI_CC_BASE] = { "NV_Certify", 3, 0 },
	[0x185 - TCTI_CC_BASE] = { "EventSequenceComplete", 2, 0 },
	[0x186 - TCTI_CC_BASE] = { "HashSequenceStart", 0, 1 },
	[0x187 - TCTI_CC_BASE] = { "PolicyPhysicalPresence", 1, 0 },
	[0x188 - TCTI_CC_BASE] = { "PolicyDuplicationSelect", 1, 0 },
	[0x189 - TCTI_CC_BASE] = { "PolicyGetDigest", 1, 0 },
	[0x18a - TCTI_CC_BASE] = { "TestParms", 0, 0 },
	[0x18b - TCTI_CC_BASE] = { "Commit", 1, 0 },
	[0x18c - TCTI_CC_BASE] = { "PolicyPassword", 1, 0 },
	[0x18d - TCTI_CC_BASE] = { "ZGen_2Phase", 1, 0 },
	[0x18e - TCTI_CC_BASE] = { "EC_Ephemeral", 0, 0 },
	[0x18f - TCTI_CC_BASE] = { "PolicyNvWritten", 1, 0 },
	[0x190 - TCTI_CC_BASE] = { "PolicyTemplate", 1, 0 },
	[0x191 - TCTI_CC_BASE] = { "CreateLoaded", 1, 1 },
	[0x192 - TCTI_CC_BASE] = { "PolicyAuthorizeNV", 3, 0 },
	[0x193 - TCTI_CC_BASE] = { "EncryptDecrypt2", 1, 0 },
	[0x194 - TCTI_CC_BASE] = { "AC_GetCapability", 1, 0 },
	[0x195 - TCTI_CC_BASE] = { "AC_Send", 3, 0 },
	[0x196 - TCTI_CC_BASE] = { "Policy_AC_SendSelect", 1, 0 },
	[0x197 - TCTI_CC_BASE] = { "CertifyX509", 2, 0 },
	[0x198 - TCTI_CC_BASE] = { "ACT_SetTimeout", 1, 0 },
};

/* The entry of command code cc, or NULL for a code not in the table. */
static inline const tcti_cc *
tcti_cc_info(uint32_t cc)
{
	if (cc < TCTI_CC_BASE || cc >= TCTI_CC_BASE + TCTI_CC_SLOTS)
		return NULL;
	const tcti_cc *e = &tcti_cc_table[cc - TCTI_CC_BASE];
	return e->name != NULL ? e : NULL;
}

static inline const char *
tcti_cc_name(uint32_t cc)
{
	const tcti_cc *e = tcti_cc_info(cc);
	return e != NULL ? e->name : NULL;
}

/* --- key kinds ------------------------------------------------------------- */

/* The kind of key a command works on, as chip profiles name it
 * ("latency Sign/ecc 69"); K_ANY: none or not known. */
enum kind { K_ANY, K_RSA, K_ECC, K_KEYEDHASH, K_SYMCIPHER, K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"", "rsa", "ecc", "keyedhash", "symcipher",
};

/* The kind of a TPMT_PUBLIC type (TPMI_ALG_PUBLIC). */
static inline enum kind
kind_of(uint16_t type)
{
	switch (type) {
	case TPM2_ALG_RSA: return K_RSA;
	case TPM2_ALG_ECC: return K_ECC;
	case TPM2_ALG_KEYEDHASH: return K_KEYEDHASH;
	case TPM2_ALG_SYMCIPHER: return K_SYMCIPHER;
	default: return K_ANY;
	}
}

/* A loaded object and its kind, as a wrapping TCTI saw it loaded. */
typedef struct {
	uint32_t handle;
	enum kind kind;
} tracked_object;

/* The kind of h among the n objects at obj; K_ANY if not among them. */
static inline enum kind
tracked_kind(const tracked_object *obj, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		if (obj[i].handle == h)
			return obj[i].kind;
	return K_ANY;
}

/* Commands whose response hands out a new transient object. */
static inline int
makes_object(uint32_t cc)
{
	switch (cc) {
	case TPM2_CC_CreatePrimary:
	case TPM2_CC_Load:
	case TPM2_CC_LoadExternal:
	case TPM2_CC_CreateLoaded:
	case TPM2_CC_HMAC_Start:
	case TPM2_CC_HashSequenceStart:
		return 1;
	default:
		return 0;
	}
}

/* Commands whose parameters carry a public area (TPMT_PUBLIC, or
 * CreateLoaded's template) after one TPM2B: its type is the command's
 * kind (inSensitive, inPrivate or encryptionKey comes first). */
static inline int
has_public_area(uint32_t cc)
{
	switch (cc) {
	case TPM2_CC_Create:
	case TPM2_CC_CreatePrimary:
	case TPM2_CC_CreateLoaded:
	case TPM2_CC_Load:
	case TPM2_CC_LoadExternal:
	case TPM2_CC_Import:
		return 1;
	default:
		return 0;
	}
}

/* Whether a command that carries no public area takes its kind from the
 * object at its first handle (Sign, RSA_Decrypt, ECDH_ZGen, ...). */
static inline int
kind_by_first_handle(uint32_t cc)
{
	return !makes_object(cc) && cc != TPM2_CC_Create;
}

#endif
