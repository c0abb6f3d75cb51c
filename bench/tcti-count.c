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
 *  - command by command, from any number of processes, also those that do
 *    not exit (ssh-agent's helper, a p11-kit server): set TCTI_COUNT_LOG=PATH;
 *    for every command answered, one line is appended to PATH:
 *      pid=N cc=Sign/ecc rc=0x0
 *    cc is the command's name, with the kind of key whose latency a chip
 *    profile looks up for it (tcti-wrap.h: the new key's type for Create,
 *    CreatePrimary, CreateLoaded, Load, LoadExternal and Import, else the
 *    type of the object at the first handle when it was loaded through this
 *    connection); rc is the TPM's response code, "-" when none came. A
 *    reader takes the lines added while an action ran (bench/run's table
 *    of user actions).
 *
 * Counting is per process and thread safe (atomic increments); the log's
 * lines are appended with one write(2) each (O_APPEND).
 */
#include <fcntl.h>
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

#define OBJ_MAX 64

static uint64_t n_total;
static uint64_t n_other;
static uint64_t n_cc[CC_SLOTS];

/* A connection. For TCTI_COUNT_LOG only: the command in flight and the
 * kinds of the objects it loaded (handles are per connection through a
 * resource manager). One command at a time per context, as for any TCTI. */
typedef struct {
	tcti_wrap w;
	char log_path[512]; /* TCTI_COUNT_LOG when the connection opened */
	const char *log; /* log_path, NULL: no log */
	uint32_t cc; /* the command in flight, 0: none */
	uint32_t flush_handle; /* FlushContext's parameter */
	enum kind new_kind; /* the type of its public area */
	enum kind kind; /* the kind it is logged with */
	tracked_object obj[OBJ_MAX];
	size_t n_obj;
} count_ctx;

static count_ctx *
cctx(TSS2_TCTI_CONTEXT *c)
{
	return (count_ctx *)tcti_wrap_get(c);
}

static uint16_t
get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* h is loaded with kind k (replacing what a reused handle was); k K_ANY
 * forgets h (flushed). */
static void
obj_set(count_ctx *x, uint32_t h, enum kind k)
{
	size_t i;
	for (i = 0; i < x->n_obj && x->obj[i].handle != h; i++)
		;
	if (k == K_ANY) {
		if (i < x->n_obj)
			x->obj[i] = x->obj[--x->n_obj];
		return;
	}
	if (i == x->n_obj) {
		if (x->n_obj == OBJ_MAX)
			return;
		x->n_obj++;
	}
	x->obj[i].handle = h;
	x->obj[i].kind = k;
}

/* The command's kind (tcti-wrap.h), and what the response will change. */
static void
note_command(count_ctx *x, const uint8_t *cmd, size_t size)
{
	const tcti_cc *info = tcti_cc_info(x->cc);
	x->new_kind = x->kind = K_ANY;
	x->flush_handle = 0;
	if (info == NULL)
		return;
	size_t off = 10 + 4u * info->cmd_handles;
	if (off > size)
		return;
	uint32_t first = info->cmd_handles > 0 ? tcti_get32(cmd + 10) : 0;
	if (get16(cmd) == TPM2_ST_SESSIONS) {
		if (off + 4 > size)
			return;
		off += 4 + (size_t)tcti_get32(cmd + off);
	}
	if (x->cc == TPM2_CC_FlushContext && off + 4 <= size)
		x->flush_handle = tcti_get32(cmd + off);
	if (has_public_area(x->cc) && off + 2 <= size) {
		/* a TPM2B, then the public area's size and its type */
		off += 2 + (size_t)get16(cmd + off);
		if (off + 4 <= size)
			x->new_kind = kind_of(get16(cmd + off + 2));
	}
	x->kind = x->new_kind;
	if (x->kind == K_ANY && info->cmd_handles > 0 && kind_by_first_handle(x->cc))
		x->kind = tracked_kind(x->obj, x->n_obj, first);
}

/* The response to the command in flight came (rsp NULL: none did). */
static void
note_response(count_ctx *x, const uint8_t *rsp, size_t size)
{
	char line[128];
	const char *name = tcti_cc_name(x->cc);
	char rc_s[16] = "-";
	if (rsp != NULL && size >= 10) {
		uint32_t rc = tcti_get32(rsp + 6);
		snprintf(rc_s, sizeof(rc_s), "0x%x", rc);
		const tcti_cc *info = tcti_cc_info(x->cc);
		if (rc == TPM2_RC_SUCCESS && info != NULL && info->rsp_handles == 1 && size >= 14 &&
		    (makes_object(x->cc) || x->cc == TPM2_CC_ContextLoad))
			obj_set(x, tcti_get32(rsp + 10), x->new_kind);
		if (rc == TPM2_RC_SUCCESS && x->cc == TPM2_CC_FlushContext)
			obj_set(x, x->flush_handle, K_ANY);
	}
	int n;
	if (name != NULL)
		n = snprintf(line, sizeof(line), "pid=%ld cc=%s%s%s rc=%s\n", (long)getpid(), name,
			     x->kind != K_ANY ? "/" : "", kind_names[x->kind], rc_s);
	else
		n = snprintf(line, sizeof(line), "pid=%ld cc=0x%x rc=%s\n", (long)getpid(), x->cc,
			     rc_s);
	x->cc = 0;
	/* opened for each line: the program may close what it did not open
	 * (daemons, ssh's helpers) */
	int fd = open(x->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* nothing to do: the count file still has the totals */
	}
	close(fd);
}

static TSS2_RC
count_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	TSS2_RC rc = Tss2_Tcti_Transmit(x->w.inner, size, cmd);
	if (rc == TSS2_RC_SUCCESS) {
		__atomic_fetch_add(&n_total, 1, __ATOMIC_RELAXED);
		uint32_t cc = tcti_cmd_code(cmd, size);
		if (cc >= CC_BASE && cc < CC_BASE + CC_SLOTS)
			__atomic_fetch_add(&n_cc[cc - CC_BASE], 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&n_other, 1, __ATOMIC_RELAXED);
		if (x->log != NULL) {
			if (x->cc != 0)
				note_response(x, NULL, 0); /* the last one never came */
			x->cc = cc;
			note_command(x, cmd, size);
		}
	}
	return rc;
}

static TSS2_RC
count_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *resp, int32_t timeout)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	TSS2_RC rc = Tss2_Tcti_Receive(x->w.inner, size, resp, timeout);
	if (x->log != NULL && x->cc != 0) {
		if (rc == TSS2_RC_SUCCESS && resp != NULL)
			note_response(x, resp, *size);
		else if (rc != TSS2_RC_SUCCESS && rc != TSS2_TCTI_RC_TRY_AGAIN &&
			 rc != TSS2_TCTI_RC_INSUFFICIENT_BUFFER)
			note_response(x, NULL, 0);
	}
	return rc;
}

static void
count_finalize(TSS2_TCTI_CONTEXT *c)
{
	count_ctx *x = cctx(c);
	if (x == NULL)
		return;
	if (x->log != NULL && x->cc != 0)
		note_response(x, NULL, 0);
	tcti_wrap_close(&x->w);
	x->w.common.v1.magic = 0;
}

static TSS2_RC
count_init(TSS2_TCTI_CONTEXT *c, size_t *size, const char *conf)
{
	TSS2_RC rc;
	if (!tcti_wrap_init_begin(c, size, sizeof(count_ctx), &rc))
		return rc;
	count_ctx *x = (count_ctx *)c;
	if ((rc = tcti_wrap_open(&x->w, conf)) != TSS2_RC_SUCCESS)
		return rc;
	tcti_wrap_setup(&x->w, count_transmit, count_receive, count_finalize);
	/* a copy: a program may change its environment later */
	const char *log = getenv("TCTI_COUNT_LOG");
	if (log != NULL && log[0] != '\0' && strlen(log) < sizeof(x->log_path)) {
		memcpy(x->log_path, log, strlen(log) + 1);
		x->log = x->log_path;
	}
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
