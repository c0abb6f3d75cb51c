/*
 * libtss2-tcti-count.so: a TCTI that counts TPM commands.
 *
 * It wraps another TCTI, named by its own configuration string, and counts
 * every command that passes through Transmit (in total and per command
 * code). Use it wherever a tctildr string is accepted, by giving the full
 * path of this library as the TCTI name:
 *
 *   TPM11_TCTI=/path/libtss2-tcti-count.so:swtpm:path=/tmp/x/tpm.sock
 *   TPM2_PKCS11_TCTI=/path/libtss2-tcti-count.so:tabrmd:bus_type=session
 *
 * Two ways to read the counts:
 *  - in the same process: dlopen() this library (same path) before the code
 *    under test loads it, then call tcti_count_total() / tcti_count_get()
 *    through dlsym(); tctildr's dlopen() of the same path returns the same
 *    instance, so both see one set of counters (this is what p11bench does);
 *  - from another process (admin tools): set TCTI_COUNT_FILE=PATH; at exit
 *    the library appends one line to PATH:
 *      pid=N total=N Sign=1,Load=2,...
 *
 * Counting is per process and thread safe (atomic increments).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

#define EXPORT __attribute__((visibility("default")))

#define COUNT_MAGIC 0x636f756e74746369ULL /* "counttci" */
#define CC_BASE 0x100u
#define CC_SLOTS 0x100u /* command codes 0x100..0x1ff; others go to 'other' */

typedef struct {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;
	TSS2_TCTI_CONTEXT *inner;
} count_ctx;

static uint64_t n_total;
static uint64_t n_other;
static uint64_t n_cc[CC_SLOTS];

static count_ctx *
cctx(TSS2_TCTI_CONTEXT *c)
{
	count_ctx *x = (count_ctx *)c;
	if (x == NULL || x->common.v1.magic != COUNT_MAGIC)
		return NULL;
	return x;
}

static TSS2_RC
count_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	TSS2_RC rc = Tss2_Tcti_Transmit(x->inner, size, cmd);
	if (rc == TSS2_RC_SUCCESS) {
		__atomic_fetch_add(&n_total, 1, __ATOMIC_RELAXED);
		uint32_t cc = 0;
		if (size >= 10 && cmd != NULL)
			cc = (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 |
			     (uint32_t)cmd[8] << 8 | cmd[9];
		if (cc >= CC_BASE && cc < CC_BASE + CC_SLOTS)
			__atomic_fetch_add(&n_cc[cc - CC_BASE], 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&n_other, 1, __ATOMIC_RELAXED);
	}
	return rc;
}

static TSS2_RC
count_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *resp, int32_t timeout)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_Receive(x->inner, size, resp, timeout);
}

static void
count_finalize(TSS2_TCTI_CONTEXT *c)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return;
	if (x->inner != NULL)
		Tss2_TctiLdr_Finalize(&x->inner);
	x->common.v1.magic = 0;
}

static TSS2_RC
count_cancel(TSS2_TCTI_CONTEXT *c)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_Cancel(x->inner);
}

static TSS2_RC
count_poll(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_GetPollHandles(x->inner, h, n);
}

static TSS2_RC
count_locality(TSS2_TCTI_CONTEXT *c, uint8_t loc)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_SetLocality(x->inner, loc);
}

static TSS2_RC
count_sticky(TSS2_TCTI_CONTEXT *c, TPM2_HANDLE *handle, uint8_t sticky)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_MakeSticky(x->inner, handle, sticky);
}

static TSS2_RC
count_init(TSS2_TCTI_CONTEXT *c, size_t *size, const char *conf)
{
	if (size == NULL)
		return TSS2_TCTI_RC_BAD_VALUE;
	if (c == NULL) {
		*size = sizeof(count_ctx);
		return TSS2_RC_SUCCESS;
	}
	if (*size < sizeof(count_ctx))
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	count_ctx *x = (count_ctx *)c;
	memset(x, 0, sizeof(*x));
	/* An empty configuration means tctildr's default TCTI. */
	TSS2_RC rc = Tss2_TctiLdr_Initialize(conf != NULL && conf[0] ? conf : NULL,
					     &x->inner);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	x->common.v1.magic = COUNT_MAGIC;
	x->common.v1.version = 2;
	x->common.v1.transmit = count_transmit;
	x->common.v1.receive = count_receive;
	x->common.v1.finalize = count_finalize;
	x->common.v1.cancel = count_cancel;
	x->common.v1.getPollHandles = count_poll;
	x->common.v1.setLocality = count_locality;
	x->common.makeSticky = count_sticky;
	return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO count_info = {
	.version = 2,
	.name = "tcti-count",
	.description = "Counts TPM commands, passing them to another TCTI",
	.config_help = "The wrapped TCTI as a tctildr string, e.g. "
		       "swtpm:path=/tmp/tpm.sock or tabrmd:bus_type=session",
	.init = count_init,
};

EXPORT const TSS2_TCTI_INFO *
Tss2_Tcti_Info(void)
{
	return &count_info;
}

/* Commands sent so far by this process through any count TCTI. */
EXPORT uint64_t
tcti_count_total(void)
{
	return __atomic_load_n(&n_total, __ATOMIC_RELAXED);
}

/* Per command code: out[i] = commands with code 0x100 + i, for i < n
 * (n at most 256); returns the number of commands with other codes. */
EXPORT uint64_t
tcti_count_get(uint64_t *out, size_t n)
{
	if (n > CC_SLOTS)
		n = CC_SLOTS;
	for (size_t i = 0; i < n; i++)
		out[i] = __atomic_load_n(&n_cc[i], __ATOMIC_RELAXED);
	return __atomic_load_n(&n_other, __ATOMIC_RELAXED);
}

/* TCG names of the command codes (TPM 2.0 Part 2, table 12). */
static const char *const cc_names[CC_SLOTS] = {
	[0x11f - CC_BASE] = "NV_UndefineSpaceSpecial",
	[0x120 - CC_BASE] = "EvictControl",
	[0x121 - CC_BASE] = "HierarchyControl",
	[0x122 - CC_BASE] = "NV_UndefineSpace",
	[0x124 - CC_BASE] = "ChangeEPS",
	[0x125 - CC_BASE] = "ChangePPS",
	[0x126 - CC_BASE] = "Clear",
	[0x127 - CC_BASE] = "ClearControl",
	[0x128 - CC_BASE] = "ClockSet",
	[0x129 - CC_BASE] = "HierarchyChangeAuth",
	[0x12a - CC_BASE] = "NV_DefineSpace",
	[0x12b - CC_BASE] = "PCR_Allocate",
	[0x12c - CC_BASE] = "PCR_SetAuthPolicy",
	[0x12d - CC_BASE] = "PP_Commands",
	[0x12e - CC_BASE] = "SetPrimaryPolicy",
	[0x12f - CC_BASE] = "FieldUpgradeStart",
	[0x130 - CC_BASE] = "ClockRateAdjust",
	[0x131 - CC_BASE] = "CreatePrimary",
	[0x132 - CC_BASE] = "NV_GlobalWriteLock",
	[0x133 - CC_BASE] = "GetCommandAuditDigest",
	[0x134 - CC_BASE] = "NV_Increment",
	[0x135 - CC_BASE] = "NV_SetBits",
	[0x136 - CC_BASE] = "NV_Extend",
	[0x137 - CC_BASE] = "NV_Write",
	[0x138 - CC_BASE] = "NV_WriteLock",
	[0x139 - CC_BASE] = "DictionaryAttackLockReset",
	[0x13a - CC_BASE] = "DictionaryAttackParameters",
	[0x13b - CC_BASE] = "NV_ChangeAuth",
	[0x13c - CC_BASE] = "PCR_Event",
	[0x13d - CC_BASE] = "PCR_Reset",
	[0x13e - CC_BASE] = "SequenceComplete",
	[0x13f - CC_BASE] = "SetAlgorithmSet",
	[0x140 - CC_BASE] = "SetCommandCodeAuditStatus",
	[0x141 - CC_BASE] = "FieldUpgradeData",
	[0x142 - CC_BASE] = "IncrementalSelfTest",
	[0x143 - CC_BASE] = "SelfTest",
	[0x144 - CC_BASE] = "Startup",
	[0x145 - CC_BASE] = "Shutdown",
	[0x146 - CC_BASE] = "StirRandom",
	[0x147 - CC_BASE] = "ActivateCredential",
	[0x148 - CC_BASE] = "Certify",
	[0x149 - CC_BASE] = "PolicyNV",
	[0x14a - CC_BASE] = "CertifyCreation",
	[0x14b - CC_BASE] = "Duplicate",
	[0x14c - CC_BASE] = "GetTime",
	[0x14d - CC_BASE] = "GetSessionAuditDigest",
	[0x14e - CC_BASE] = "NV_Read",
	[0x14f - CC_BASE] = "NV_ReadLock",
	[0x150 - CC_BASE] = "ObjectChangeAuth",
	[0x151 - CC_BASE] = "PolicySecret",
	[0x152 - CC_BASE] = "Rewrap",
	[0x153 - CC_BASE] = "Create",
	[0x154 - CC_BASE] = "ECDH_ZGen",
	[0x155 - CC_BASE] = "HMAC",
	[0x156 - CC_BASE] = "Import",
	[0x157 - CC_BASE] = "Load",
	[0x158 - CC_BASE] = "Quote",
	[0x159 - CC_BASE] = "RSA_Decrypt",
	[0x15b - CC_BASE] = "HMAC_Start",
	[0x15c - CC_BASE] = "SequenceUpdate",
	[0x15d - CC_BASE] = "Sign",
	[0x15e - CC_BASE] = "Unseal",
	[0x160 - CC_BASE] = "PolicySigned",
	[0x161 - CC_BASE] = "ContextLoad",
	[0x162 - CC_BASE] = "ContextSave",
	[0x163 - CC_BASE] = "ECDH_KeyGen",
	[0x164 - CC_BASE] = "EncryptDecrypt",
	[0x165 - CC_BASE] = "FlushContext",
	[0x167 - CC_BASE] = "LoadExternal",
	[0x168 - CC_BASE] = "MakeCredential",
	[0x169 - CC_BASE] = "NV_ReadPublic",
	[0x16a - CC_BASE] = "PolicyAuthorize",
	[0x16b - CC_BASE] = "PolicyAuthValue",
	[0x16c - CC_BASE] = "PolicyCommandCode",
	[0x16d - CC_BASE] = "PolicyCounterTimer",
	[0x16e - CC_BASE] = "PolicyCpHash",
	[0x16f - CC_BASE] = "PolicyLocality",
	[0x170 - CC_BASE] = "PolicyNameHash",
	[0x171 - CC_BASE] = "PolicyOR",
	[0x172 - CC_BASE] = "PolicyTicket",
	[0x173 - CC_BASE] = "ReadPublic",
	[0x174 - CC_BASE] = "RSA_Encrypt",
	[0x176 - CC_BASE] = "StartAuthSession",
	[0x177 - CC_BASE] = "VerifySignature",
	[0x178 - CC_BASE] = "ECC_Parameters",
	[0x179 - CC_BASE] = "FirmwareRead",
	[0x17a - CC_BASE] = "GetCapability",
	[0x17b - CC_BASE] = "GetRandom",
	[0x17c - CC_BASE] = "GetTestResult",
	[0x17d - CC_BASE] = "Hash",
	[0x17e - CC_BASE] = "PCR_Read",
	[0x17f - CC_BASE] = "PolicyPCR",
	[0x180 - CC_BASE] = "PolicyRestart",
	[0x181 - CC_BASE] = "ReadClock",
	[0x182 - CC_BASE] = "PCR_Extend",
	[0x183 - CC_BASE] = "PCR_SetAuthValue",
	[0x184 - CC_BASE] = "NV_Certify",
	[0x185 - CC_BASE] = "EventSequenceComplete",
	[0x186 - CC_BASE] = "HashSequenceStart",
	[0x187 - CC_BASE] = "PolicyPhysicalPresence",
	[0x188 - CC_BASE] = "PolicyDuplicationSelect",
	[0x189 - CC_BASE] = "PolicyGetDigest",
	[0x18a - CC_BASE] = "TestParms",
	[0x18b - CC_BASE] = "Commit",
	[0x18c - CC_BASE] = "PolicyPassword",
	[0x18d - CC_BASE] = "ZGen_2Phase",
	[0x18e - CC_BASE] = "EC_Ephemeral",
	[0x18f - CC_BASE] = "PolicyNvWritten",
	[0x190 - CC_BASE] = "PolicyTemplate",
	[0x191 - CC_BASE] = "CreateLoaded",
	[0x192 - CC_BASE] = "PolicyAuthorizeNV",
	[0x193 - CC_BASE] = "EncryptDecrypt2",
	[0x194 - CC_BASE] = "AC_GetCapability",
	[0x195 - CC_BASE] = "AC_Send",
	[0x196 - CC_BASE] = "Policy_AC_SendSelect",
	[0x197 - CC_BASE] = "CertifyX509",
	[0x198 - CC_BASE] = "ACT_SetTimeout",
};

EXPORT const char *
tcti_count_cc_name(uint32_t cc)
{
	if (cc < CC_BASE || cc >= CC_BASE + CC_SLOTS)
		return NULL;
	return cc_names[cc - CC_BASE];
}

static void
fmt_counts(FILE *f)
{
	int first = 1;
	for (uint32_t i = 0; i < CC_SLOTS; i++) {
		uint64_t v = __atomic_load_n(&n_cc[i], __ATOMIC_RELAXED);
		if (v == 0)
			continue;
		const char *nm = tcti_count_cc_name(CC_BASE + i);
		if (nm != NULL)
			fprintf(f, "%s%s=%llu", first ? "" : ",", nm, (unsigned long long)v);
		else
			fprintf(f, "%s0x%x=%llu", first ? "" : ",", CC_BASE + i,
				(unsigned long long)v);
		first = 0;
	}
	if (n_other)
		fprintf(f, "%sother=%llu", first ? "" : ",", (unsigned long long)n_other);
	if (first)
		fputs("-", f);
}

__attribute__((destructor)) static void
count_report(void)
{
	const char *path = getenv("TCTI_COUNT_FILE");
	if (path == NULL || path[0] == '\0' || n_total == 0)
		return;
	FILE *f = fopen(path, "a");
	if (f == NULL)
		return;
	fprintf(f, "pid=%ld total=%llu ", (long)getpid(), (unsigned long long)n_total);
	fmt_counts(f);
	fputc('\n', f);
	fclose(f);
}
