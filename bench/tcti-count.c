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

#define TCTI_WRAP_MAGIC 0x636f756e74746369ULL /* "counttci" */
#include "tcti-wrap.h"

#define EXPORT TCTI_EXPORT
#define CC_BASE TCTI_CC_BASE
#define CC_SLOTS TCTI_CC_SLOTS /* command codes 0x100..0x1ff; others go to 'other' */

static uint64_t n_total;
static uint64_t n_other;
static uint64_t n_cc[CC_SLOTS];

static TSS2_RC
count_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	tcti_wrap *x = tcti_wrap_get(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	TSS2_RC rc = Tss2_Tcti_Transmit(x->inner, size, cmd);
	if (rc == TSS2_RC_SUCCESS) {
		__atomic_fetch_add(&n_total, 1, __ATOMIC_RELAXED);
		uint32_t cc = tcti_cmd_code(cmd, size);
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
	tcti_wrap *x = tcti_wrap_get(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	return Tss2_Tcti_Receive(x->inner, size, resp, timeout);
}

static void
count_finalize(TSS2_TCTI_CONTEXT *c)
{
	tcti_wrap *x = tcti_wrap_get(c);
	if (x == NULL)
		return;
	tcti_wrap_close(x);
	x->common.v1.magic = 0;
}

static TSS2_RC
count_init(TSS2_TCTI_CONTEXT *c, size_t *size, const char *conf)
{
	TSS2_RC rc;
	if (!tcti_wrap_init_begin(c, size, sizeof(tcti_wrap), &rc))
		return rc;
	tcti_wrap *x = (tcti_wrap *)c;
	if ((rc = tcti_wrap_open(x, conf)) != TSS2_RC_SUCCESS)
		return rc;
	tcti_wrap_setup(x, count_transmit, count_receive, count_finalize);
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

EXPORT const char *
tcti_count_cc_name(uint32_t cc)
{
	return tcti_cc_name(cc);
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
