#include "tpm/tpm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "attest/tpmdata.h"
#include "tpm/call.h"
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
	ESYS_TR hmac;   /* salted HMAC session, or ESYS_TR_NONE */
	ESYS_TR policy; /* a policy session while one is in use */
	bool hold;      /* tpm_idle keeps the session (the tool) */
	tpm_key *resident[TPM_MAX_RESIDENT];
	ESYS_TR ours[4]; /* src/tpm/attest.c's, tpm_mark_ours */
	uint64_t clock;
	uint64_t ncmds;
	uint64_t gen; /* this connection's number (tpm_key.gen) */
	bool lost;    /* the connection failed: reconnect */
	void (*notice)(const char *msg); /* tpm_set_notice */
	bool noticed;                    /* notice given for this command */
	char denied[64];                 /* a TPM device we may not open */
	char search[384]; /* what the TCTI choice tried, and why */
	bool read_only;   /* tpm_read_only: flush nobody's leftovers */
	char err[256];
	TSS2_RC last_rc; /* the last failure (tpm_note_error) */
};

/* Counts the command just sent and says whether to send it again after
 * rc (attempt try, from 0), having waited: a TPM may answer "not now"
 * (Part 2, 6.6.3: TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING), which
 * ESAPI already resubmits up to five times at once; a chip still busy
 * after that gets a backoff of 10 ms doubling to 640 ms (about 1.3 s in
 * all). TPM_RC_NV_RATE (an NV write too soon after the last) waits
 * 500 ms at a time, up to 30 s, and says so through the notice callback
 * (the tool prints it). A lost connection is remembered: the next
 * core_tpm connects again. */
bool
tpm_again(tpm_ctx *t, const char *what, TSS2_RC rc, unsigned try)
{
	TSS2_RC b = tpm_rc_base(rc), layer = rc & TSS2_RC_LAYER_MASK;
	struct timespec ts = {0, 0};

	t->ncmds++;
	if (rc == TSS2_RC_SUCCESS) {
		t->noticed = false;
		return false;
	}
	/* The connection failed, or a response came back cut short or
	 * garbled: nothing more can be trusted to go through it. */
	if (layer == TSS2_TCTI_RC_LAYER ||
	    ((layer == TSS2_ESAPI_RC_LAYER || layer == TSS2_SYS_RC_LAYER) &&
	     ((rc & 0xffff) == TSS2_BASE_RC_IO_ERROR ||
	      (rc & 0xffff) == TSS2_BASE_RC_NO_CONNECTION ||
	      (rc & 0xffff) == TSS2_BASE_RC_INSUFFICIENT_RESPONSE ||
	      (rc & 0xffff) == TSS2_BASE_RC_MALFORMED_RESPONSE))) {
		t->lost = true;
		return false;
	}
	if ((b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED ||
	     b == TPM2_RC_TESTING) &&
	    try < 7) {
		ts.tv_nsec = (10L << try) * 1000000L;
	} else if (b == TPM2_RC_NV_RATE && try < 60) {
		if (!t->noticed && t->notice != NULL) {
			char msg[160];

			snprintf(
				msg, sizeof(msg),
				"the TPM limits how often its "
				"NV memory is written (%s); waiting up to 30 s",
				what);
			t->notice(msg);
		}
		t->noticed = true;
		ts.tv_nsec = 500000000L;
	} else {
		t->noticed = false;
		return false;
	}
	log_debug("tpm: %s: 0x%x, sending again (attempt %u)", what, rc,
		  try + 2);
	nanosleep(&ts, NULL);
	return true;
}

void
tpm_note_error(tpm_ctx *t, const char *what, TSS2_RC rc)
{
	t->last_rc = rc;
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

/* Threads of this process (/proc/self/stat, field 20); 0 when unknown. */
static long
process_threads(void)
{
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	long v = 0;
	int field;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name in parentheses, fields 3 on. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; field < 20 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		v = strtol(p + 1, NULL, 10);
	return v;
}

/* tpm2-tss logs to stderr (WARNING and up by default: a wrong PIN prints
 * two lines), and the module must stay silent unless the user asked for
 * logs (DESIGN.md property 6). tpm2-tss reads its level only from the
 * environment (TSS2_LOG, at the first message of each source file), and
 * changing the environment races any other thread that reads it (a
 * browser's do; glibc's setenv may free the array they walk). So the
 * module sets TSS2_LOG only while the process has one thread (the tool,
 * ssh, ssh-agent's helper, pkcs11-tool): then nothing can race it. In a
 * process with more threads the environment is left alone, and tpm2-tss
 * may print its own lines on errors unless the host sets TSS2_LOG
 * (docs/design.md). A TSS2_LOG that is set already is never changed. */
static void
tss2_log_quiet(void)
{
	if (log_level >= LOG_LEVEL_DEBUG || getenv("TSS2_LOG") != NULL)
		return;
	if (process_threads() == 1)
		setenv("TSS2_LOG", "all+NONE", 0);
}

/* The descriptors open now, from /proc/self/fd; NULL when unknown. */
static int *
fds_open(size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int *v = NULL, *nv;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		/* Not the listing's own descriptor: it is closed below, and
		 * the TCTI may then get its number. */
		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    atoi(e->d_name) == dirfd(d))
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		v[(*n)++] = atoi(e->d_name);
	}
	closedir(d);
	return v;
}

/* tpm2-tss opens its TPM connection without O_CLOEXEC and has no way to
 * ask for it: a program that execs (ssh-agent's helper, a browser's
 * children) would hand the connection, and on /dev/tpm0 the device
 * itself, to the new program (DESIGN.md property 10). Marks the sockets
 * and character devices that the TCTI's set-up opened. */
static void
fds_cloexec_new(const int *before, size_t nbefore)
{
	size_t n = 0, i, j;
	int *now = fds_open(&n);

	for (i = 0; i < n; i++) {
		struct stat st;
		int fl;
		bool old = false;

		for (j = 0; j < nbefore && !old; j++)
			old = before[j] == now[i];
		if (old || fstat(now[i], &st) != 0 ||
		    !(S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
			continue;
		if ((fl = fcntl(now[i], F_GETFD)) >= 0 && !(fl & FD_CLOEXEC))
			fcntl(now[i], F_SETFD, fl | FD_CLOEXEC);
	}
	free(now);
}

/* A TPM device we may not open: remembered for the error message (the
 * usual cause: not in the tss group). */
static bool
tcti_device_denied(tpm_ctx *t, const char *path)
{
	if (access(path, R_OK | W_OK) == 0 || errno != EACCES)
		return false;
	snprintf(t->denied, sizeof(t->denied), "%s", path);
	return true;
}

/* Appends "what: why" to the record of the TCTI choice (tpm11 doctor
 * shows it; a failed search puts it into the error). */
static void
tcti_note(tpm_ctx *t, const char *what, const char *why)
{
	size_t n = strlen(t->search);

	snprintf(t->search + n, sizeof(t->search) - n, "%s%s: %s",
		 n ? "; " : "", what, why);
}

/* tpm2-abrmd's TCTI reports a D-Bus bus it cannot reach through GLib's
 * own logger (a CRITICAL line on stderr that nobody can turn off). So a
 * tabrmd configuration is tried only when its bus can be there: the
 * system bus's socket exists, or the session bus has an address whose
 * socket exists. Returns the reason it cannot, or NULL. */
static const char *
tabrmd_bus_missing(const char *conf)
{
	const char *addr, *path;
	static char why[160];

	if (strstr(conf, "bus_type=session") == NULL) {
		addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
		if (addr == NULL || *addr == '\0')
			addr = "unix:path=/run/dbus/system_bus_socket";
	} else {
		addr = getenv("DBUS_SESSION_BUS_ADDRESS");
		if (addr == NULL || *addr == '\0')
			return "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS "
			       "is not set";
	}
	/* Only a plain unix:path= address can be checked here (abstract
	 * sockets, tcp: and lists are left to the TCTI). */
	if (strncmp(addr, "unix:path=", 10) != 0 || strchr(addr, ';') != NULL)
		return NULL;
	path = addr + 10;
	snprintf(why, sizeof(why), "%.*s", (int)strcspn(path, ","), path);
	if (access(why, F_OK) == 0)
		return NULL;
	snprintf(why, sizeof(why), "no D-Bus %s bus: %.*s does not exist",
		 strstr(conf, "bus_type=session") ? "session" : "system",
		 (int)strcspn(path, ","), path);
	return why;
}

/* tctildr's default search, done here so that we know which TCTI it
 * chose (a resource manager in front or not: tpm_behind_rm; `tpm11` says
 * which) and why. The same order: tpm2-abrmd on the system bus, the
 * kernel's resource manager, the raw device, a local swtpm, a local
 * mssim. One whose device or bus socket is not there is not tried, nor
 * tpm2-abrmd when it is not installed (its D-Bus service file): its TCTI
 * prints GLib warnings of its own when it finds no bus or no daemon. */
static TSS2_RC
tcti_connect(tpm_ctx *t, const char *tcti)
{
	static const struct {
		const char *conf, *needs, *also;
	} defaults[] = {
		{"tabrmd", "/run/dbus/system_bus_socket",
		 "/usr/share/dbus-1/system-services/com.intel.tss2.Tabrmd.service"},
		{"device:/dev/tpmrm0", "/dev/tpmrm0", NULL},
		{"device:/dev/tpm0", "/dev/tpm0", NULL},
		{"swtpm", NULL, NULL},
		{"mssim", NULL, NULL},
	};
	TSS2_RC rc = TSS2_TCTI_RC_IO_ERROR;
	const char *why;
	size_t i;

	if (tcti != NULL) {
		t->tcti_name = strdup(tcti);
		if (strncmp(tcti, "device:", 7) == 0)
			tcti_device_denied(t, tcti + 7);
		if (strncmp(tcti, "tabrmd", 6) == 0 &&
		    (why = tabrmd_bus_missing(tcti)) != NULL) {
			snprintf(t->search, sizeof(t->search), "%s", why);
			return TSS2_TCTI_RC_NO_CONNECTION;
		}
		return Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	}
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		const char *conf = defaults[i].conf;

		if (defaults[i].needs && access(defaults[i].needs, F_OK) != 0) {
			tcti_note(t, conf,
				  strncmp(conf, "tabrmd", 6) == 0
					  ? "no system bus"
					  : "no such device");
			continue;
		}
		if (defaults[i].also && access(defaults[i].also, F_OK) != 0) {
			tcti_note(t, conf, "tpm2-abrmd is not installed");
			continue;
		}
		if (strncmp(conf, "device:", 7) == 0 &&
		    tcti_device_denied(t, defaults[i].needs)) {
			tcti_note(t, conf, "permission denied");
			continue;
		}
		rc = Tss2_TctiLdr_Initialize(conf, &t->tcti);
		if (rc == TSS2_RC_SUCCESS) {
			tcti_note(t, conf, "chosen");
			t->tcti_name = strdup(conf);
			return rc;
		}
		tcti_note(t, conf, "not reachable");
	}
	t->tcti_name = strdup("(the default search)");
	return rc;
}

void
tpm_read_only(tpm_ctx *t)
{
	t->read_only = true;
}

const char *
tpm_tcti_search(const tpm_ctx *t)
{
	return t->search;
}

bool
tpm_behind_rm(const tpm_ctx *t)
{
	const char *n = t->tcti_name ? t->tcti_name : "";

	return strncmp(n, "tabrmd", 6) == 0 ||
	       strncmp(n, "device:/dev/tpmrm", 17) == 0;
}

/* Connections made by this process, so a key knows whether its handle
 * belongs to the current one (the library lock serialises tpm_open). */
static uint64_t tpm_generation;

CK_RV
tpm_open(const char *tcti, tpm_ctx **out, char *err, size_t errlen)
{
	size_t nfds = 0, i;
	int *fds;
	tpm_ctx *t;
	TSS2_RC rc;

	*out = NULL;
	if (tcti == NULL || *tcti == '\0')
		tcti = getenv("TPM11_TCTI");
	if (tcti != NULL && *tcti == '\0')
		tcti = NULL;
	tss2_log_quiet();
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return CKR_HOST_MEMORY;
	t->srk = ESYS_TR_NONE;
	t->hmac = ESYS_TR_NONE;
	t->policy = ESYS_TR_NONE;
	for (i = 0; i < sizeof(t->ours) / sizeof(t->ours[0]); i++)
		t->ours[i] = ESYS_TR_NONE;
	fds = fds_open(&nfds);
	rc = tcti_connect(t, tcti);
	if (fds != NULL)
		fds_cloexec_new(fds, nfds);
	free(fds);
	if (rc != TSS2_RC_SUCCESS) {
		if (t->denied[0] != '\0')
			snprintf(err, errlen,
				 "permission denied on %s: add yourself to the "
				 "group that owns it (`sudo usermod -aG tss "
				 "$USER`, then log out and in again)",
				 t->denied);
		else
			snprintf(
				err, errlen,
				"no TPM reachable through TCTI %s (%s); set "
				"TPM11_TCTI or --tcti to a reachable TPM, e.g. "
				"device:/dev/tpmrm0",
				t->tcti_name,
				t->search[0] ? t->search : Tss2_RC_Decode(rc));
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
	t->gen = ++tpm_generation;
	log_debug("tpm: connected through %s", t->tcti_name);
	*out = t;
	return CKR_OK;
}

bool
tpm_lost(const tpm_ctx *t)
{
	return t != NULL && t->lost;
}

struct tpm_orphans {
	size_t n;
	struct {
		TPM2_HANDLE h;
		blob pub; /* empty for a session */
	} v[TPM_MAX_RESIDENT + 1];
};

tpm_orphans *
tpm_discard(tpm_ctx *t)
{
	tpm_orphans *o = NULL;
	TPM2_HANDLE h;
	int i;

	if (t == NULL)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) != NULL) {
		for (i = 0; i < TPM_MAX_RESIDENT; i++) {
			tpm_key *k = t->resident[i];

			if (k != NULL &&
			    Esys_TR_GetTpmHandle(t->esys, k->tr, &h) ==
				    TSS2_RC_SUCCESS &&
			    blob_set(&o->v[o->n].pub, k->pub.data,
				     k->pub.len) == 0)
				o->v[o->n++].h = h;
		}
		if (t->hmac != ESYS_TR_NONE &&
		    Esys_TR_GetTpmHandle(t->esys, t->hmac, &h) ==
			    TSS2_RC_SUCCESS)
			o->v[o->n++].h = h;
	}
	Esys_Finalize(&t->esys);
	Tss2_TctiLdr_Finalize(&t->tcti);
	free(t->tcti_name);
	free(t);
	return o;
}

void
tpm_flush_orphans(tpm_ctx *t, tpm_orphans *o)
{
	TSS2_SYS_CONTEXT *sys = NULL;
	size_t i;

	if (o == NULL)
		return;
	if (t == NULL || Esys_GetSysContext(t->esys, &sys) != TSS2_RC_SUCCESS)
		sys = NULL;
	for (i = 0; i < o->n && sys != NULL; i++) {
		TPM2B_PUBLIC *pub = NULL;
		ESYS_TR tr = ESYS_TR_NONE;
		blob now = {0};
		bool same;

		if (o->v[i].pub.len == 0) {
			/* A session: nobody can use it without its key. */
			TPM_CALL(t, "FlushContext(orphan session)",
				 Tss2_Sys_FlushContext(sys, o->v[i].h));
			continue;
		}
		if (TPM_CALL(t, "ReadPublic(orphan)",
			     Esys_TR_FromTPMPublic(t->esys, o->v[i].h,
						   ESYS_TR_NONE, ESYS_TR_NONE,
						   ESYS_TR_NONE, &tr)) !=
		    TSS2_RC_SUCCESS)
			continue;
		same = TPM_CALL(t, "ReadPublic(orphan)",
				Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE,
						ESYS_TR_NONE, ESYS_TR_NONE,
						&pub, NULL, NULL)) ==
			       TSS2_RC_SUCCESS &&
		       MARSHAL_TO_BLOB(TPM2B_PUBLIC, pub, &now) == 0 &&
		       now.len == o->v[i].pub.len &&
		       memcmp(now.data, o->v[i].pub.data, now.len) == 0;
		if (same)
			TPM_CALL(t, "FlushContext(orphan)",
				 Esys_FlushContext(t->esys, tr));
		else
			Esys_TR_Close(t->esys, &tr);
		Esys_Free(pub);
		blob_free(&now);
	}
	for (i = 0; i < o->n; i++)
		blob_free(&o->v[i].pub);
	free(o);
}

void
tpm_set_notice(tpm_ctx *t, void (*notice)(const char *msg))
{
	t->notice = notice;
}

static void
tpm_flush_session(tpm_ctx *t)
{
	if (t->hmac != ESYS_TR_NONE) {
		TPM_CALL(t, "flush session",
			 Esys_FlushContext(t->esys, t->hmac));
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

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
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
	prop_chars(prop_value(cap, TPM2_PT_MANUFACTURER, 0),
		   info->manufacturer);
	for (i = 0; i < 4; i++) {
		prop_chars(prop_value(cap, TPM2_PT_VENDOR_STRING_1 + i, 0),
			   part);
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
	/* TPM2_PT_PERMANENT (0x200) to TPM2_PT_LOCKOUT_RECOVERY (0x211):
	 * the interval and the recovery time are the 17th and 18th. */
	if ((rv = tpm_get_props(
		     t, TPM2_PT_PERMANENT,
		     TPM2_PT_LOCKOUT_RECOVERY - TPM2_PT_PERMANENT + 1, &cap)) !=
	    CKR_OK)
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

uint64_t
tpm_lockout_wait(const tpm_lockout *l)
{
	/* Locked while counter >= max_tries; the counter drops by one
	 * every `recovery` seconds (Part 1, 19.8.6: the self-healing), so
	 * counter - max_tries + 1 drops are needed, the first after up to
	 * one interval. */
	if (!l->in_lockout)
		return 0;
	if (l->max_tries == 0 || l->recovery == 0)
		return UINT64_MAX;
	return ((uint64_t)(l->counter >= l->max_tries
				   ? l->counter - l->max_tries
				   : 0) +
		1) *
	       l->recovery;
}

void
tpm_lockout_text(const tpm_lockout *l, char *out, size_t cap)
{
	uint64_t w = tpm_lockout_wait(l);
	char about[32] = "";

	if (w == UINT64_MAX) {
		snprintf(out, cap,
			 "waiting does not end it (%s is 0): the "
			 "TPM's owner must run `tpm2_dictionarylockout "
			 "--clear-lockout`",
			 l->max_tries == 0 ? "the number of tries allowed"
					   : "the recovery time");
		return;
	}
	if (w >= 7200)
		snprintf(about, sizeof(about), " (about %llu h)",
			 (unsigned long long)(w + 1800) / 3600);
	else if (w >= 120)
		snprintf(about, sizeof(about), " (about %llu min)",
			 (unsigned long long)(w + 30) / 60);
	snprintf(out, cap,
		 "it takes PINs again in at most %llu s%s: it "
		 "forgets one failure every %u s, and does not say how much "
		 "of the current interval has passed; or the TPM's owner ends "
		 "it at once with `tpm2_dictionarylockout --clear-lockout`",
		 (unsigned long long)w, about, l->recovery);
}

CK_RV
tpm_firmware(tpm_ctx *t, uint32_t *fw1, uint32_t *fw2)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	CK_RV rv;

	if ((rv = tpm_get_props(t, TPM2_PT_FIRMWARE_VERSION_1, 2, &cap)) !=
	    CKR_OK)
		return rv;
	*fw1 = prop_value(cap, TPM2_PT_FIRMWARE_VERSION_1, 0);
	*fw2 = prop_value(cap, TPM2_PT_FIRMWARE_VERSION_2, 0);
	Esys_Free(cap);
	return CKR_OK;
}

/* Every value of one capability (they come in pages: "more"). */
static CK_RV
tpm_cap_all(tpm_ctx *t, TPM2_CAP cap, uint32_t first, uint32_t count,
	    uint32_t (*item)(const TPMS_CAPABILITY_DATA *, uint32_t i,
			     uint32_t *n),
	    uint32_t *vals, size_t cap_vals, size_t *nvals)
{
	TPMI_YES_NO more = TPM2_YES;
	TSS2_RC rc;

	*nvals = 0;
	while (more == TPM2_YES && *nvals < cap_vals) {
		TPMS_CAPABILITY_DATA *d = NULL;
		uint32_t i, n = 0, v = 0;

		rc = TPM_CALL(t, "GetCapability",
			      Esys_GetCapability(t->esys, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 cap, first, count, &more, &d));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		item(d, 0, &n);
		for (i = 0; i < n && *nvals < cap_vals; i++)
			vals[(*nvals)++] = v = item(d, i, NULL);
		Esys_Free(d);
		if (n == 0)
			break;
		first = v + 1;
	}
	return CKR_OK;
}

static uint32_t
cap_alg(const TPMS_CAPABILITY_DATA *d, uint32_t i, uint32_t *n)
{
	if (n)
		*n = d->data.algorithms.count;
	return n ? 0 : d->data.algorithms.algProperties[i].alg;
}

static uint32_t
cap_curve(const TPMS_CAPABILITY_DATA *d, uint32_t i, uint32_t *n)
{
	if (n)
		*n = d->data.eccCurves.count;
	return n ? 0 : d->data.eccCurves.eccCurves[i];
}

static uint32_t
cap_command(const TPMS_CAPABILITY_DATA *d, uint32_t i, uint32_t *n)
{
	if (n)
		*n = d->data.command.count;
	return n ? 0
		 : d->data.command.commandAttributes[i] &
			       TPMA_CC_COMMANDINDEX_MASK;
}

static bool
in_list(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* TPM2_TestParms: does the TPM take these parameters? */
static bool
tpm_test_parms(tpm_ctx *t, const TPMT_PUBLIC_PARMS *p)
{
	return TPM_CALL(t, "TestParms",
			Esys_TestParms(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				       ESYS_TR_NONE, p)) == TSS2_RC_SUCCESS;
}

CK_RV
tpm_probe(tpm_ctx *t, tpm_caps *c)
{
	uint32_t algs[256], curves[64], ccs[512];
	size_t na, nc, ncc;
	TPMT_PUBLIC_PARMS p;
	CK_RV rv;
	bool encdec;

	memset(c, 0, sizeof(*c));
	if ((rv = tpm_firmware(t, &c->fw1, &c->fw2)) != CKR_OK ||
	    (rv = tpm_cap_all(t, TPM2_CAP_ALGS, TPM2_ALG_FIRST,
			      TPM2_MAX_CAP_ALGS, cap_alg, algs, 256, &na)) !=
		    CKR_OK ||
	    (rv = tpm_cap_all(t, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE,
			      TPM2_MAX_ECC_CURVES, cap_curve, curves, 64,
			      &nc)) != CKR_OK ||
	    (rv = tpm_cap_all(t, TPM2_CAP_COMMANDS, TPM2_CC_FIRST,
			      TPM2_MAX_CAP_CC, cap_command, ccs, 512, &ncc)) !=
		    CKR_OK)
		return rv;
#define HAS(cond, bit)                   \
	do {                             \
		if (cond)                \
			c->has |= (bit); \
	} while (0)
	HAS(in_list(algs, na, TPM2_ALG_SHA1), TPM_HAS_SHA1);
	HAS(in_list(algs, na, TPM2_ALG_SHA256), TPM_HAS_SHA256);
	HAS(in_list(algs, na, TPM2_ALG_SHA384), TPM_HAS_SHA384);
	HAS(in_list(algs, na, TPM2_ALG_SHA512), TPM_HAS_SHA512);
	if (in_list(algs, na, TPM2_ALG_ECC) &&
	    in_list(algs, na, TPM2_ALG_ECDSA)) {
		HAS(in_list(curves, nc, TPM2_ECC_NIST_P256), TPM_HAS_P256);
		HAS(in_list(curves, nc, TPM2_ECC_NIST_P384), TPM_HAS_P384);
	}
	HAS((c->has & (TPM_HAS_P256 | TPM_HAS_P384)) &&
		    in_list(algs, na, TPM2_ALG_ECDH) &&
		    in_list(ccs, ncc, TPM2_CC_ECDH_ZGen),
	    TPM_HAS_ECDH);
	if (in_list(algs, na, TPM2_ALG_RSA)) {
		c->has |= TPM_HAS_RSA2048;
		memset(&p, 0, sizeof(p));
		p.type = TPM2_ALG_RSA;
		p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p.parameters.rsaDetail.keyBits = 3072;
		HAS(tpm_test_parms(t, &p), TPM_HAS_RSA3072);
		HAS(in_list(ccs, ncc, TPM2_CC_RSA_Decrypt),
		    TPM_HAS_RSA_DECRYPT);
	}
	encdec = in_list(ccs, ncc, TPM2_CC_EncryptDecrypt2) ||
		 in_list(ccs, ncc, TPM2_CC_EncryptDecrypt);
	if (in_list(algs, na, TPM2_ALG_AES) && encdec) {
		c->has |= TPM_HAS_AES128;
		memset(&p, 0, sizeof(p));
		p.type = TPM2_ALG_SYMCIPHER;
		p.parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
		p.parameters.symDetail.sym.keyBits.aes = 256;
		p.parameters.symDetail.sym.mode.aes = TPM2_ALG_NULL;
		HAS(tpm_test_parms(t, &p), TPM_HAS_AES256);
		HAS(in_list(algs, na, TPM2_ALG_ECB), TPM_HAS_ECB);
		HAS(in_list(algs, na, TPM2_ALG_CBC), TPM_HAS_CBC);
		HAS(in_list(algs, na, TPM2_ALG_CFB), TPM_HAS_CFB);
		HAS(in_list(algs, na, TPM2_ALG_CTR), TPM_HAS_CTR);
	}
	HAS(in_list(algs, na, TPM2_ALG_KEYEDHASH) &&
		    in_list(algs, na, TPM2_ALG_HMAC) &&
		    in_list(ccs, ncc, TPM2_CC_HMAC),
	    TPM_HAS_HMAC);
#undef HAS
	return CKR_OK;
}

void
tpm_caps_encode(const tpm_caps *c, uint8_t out[12])
{
	put_be32(out, c->fw1);
	put_be32(out + 4, c->fw2);
	put_be32(out + 8, c->has);
}

int
tpm_caps_decode(const uint8_t *in, size_t len, tpm_caps *c)
{
	if (in == NULL || len != 12)
		return -1;
	c->fw1 = get_be32(in);
	c->fw2 = get_be32(in + 4);
	c->has = get_be32(in + 8);
	return 0;
}

CK_RV
tpm_random(tpm_ctx *t, uint8_t *out, size_t n)
{
	while (n > 0) {
		TPM2B_DIGEST *r = NULL;
		UINT16 want = n > 32 ? 32 : (UINT16)n;
		TSS2_RC rc;

		rc = TPM_CALL(t, "GetRandom",
			      Esys_GetRandom(t->esys, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, want,
					     &r));
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
			      Esys_StirRandom(t->esys, ESYS_TR_NONE,
					      ESYS_TR_NONE, ESYS_TR_NONE, &d));
		secure_zero(&d, sizeof(d));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		in += k;
		n -= k;
	}
	return CKR_OK;
}

/* --- templates ----------------------------------------------------------- */

#define ATTR_CHILD_KEY                                    \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
	 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH)
/* Application keys: their authValue is 32 random-looking bytes (or empty
 * for keys usable without login), so no dictionary-attack protection is
 * needed, and none of their use can lock the TPM (DESIGN.md property 9).
 * The PINs are in NV indices that are not noDA. */
#define ATTR_APP_KEY (ATTR_CHILD_KEY | TPMA_OBJECT_NODA)

/* The primary storage key: the TCG ECC P-256 SRK template (restricted
 * decryption, AES-128-CFB, noDA, empty authValue, zero unique). */
static void
tmpl_srk(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = ATTR_CHILD_KEY | TPMA_OBJECT_NODA |
					 TPMA_OBJECT_RESTRICTED |
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
			ATTR_APP_KEY | TPMA_OBJECT_SIGN_ENCRYPT;
		/* ECDH_ZGen needs decrypt; with scheme NULL the key may do
		 * both. Only when asked (CKA_DERIVE). */
		if (flags & TPM_KEYGEN_DERIVE)
			p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.eccDetail.symmetric.algorithm =
			TPM2_ALG_NULL;
		p->publicArea.parameters.eccDetail.scheme.scheme =
			TPM2_ALG_NULL;
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
		p->publicArea.objectAttributes = ATTR_APP_KEY |
						 TPMA_OBJECT_SIGN_ENCRYPT |
						 TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.rsaDetail.symmetric.algorithm =
			TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.scheme.scheme =
			TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.keyBits =
			type == TPM_KEY_RSA_2048 ? 2048 : 3072;
		p->publicArea.parameters.rsaDetail.exponent = 0;
		return 0;
	case TPM_KEY_AES_128:
	case TPM_KEY_AES_256:
		/* mode NULL: the caller picks one per operation */
		p->publicArea.type = TPM2_ALG_SYMCIPHER;
		p->publicArea.objectAttributes = ATTR_APP_KEY |
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
		TPMI_ALG_HASH h =
			type == TPM_KEY_HMAC_SHA1     ? TPM2_ALG_SHA1
			: type == TPM_KEY_HMAC_SHA384 ? TPM2_ALG_SHA384
			: type == TPM_KEY_HMAC_SHA512 ? TPM2_ALG_SHA512
						      : TPM2_ALG_SHA256;

		p->publicArea.type = TPM2_ALG_KEYEDHASH;
		p->publicArea.nameAlg = h;
		p->publicArea.objectAttributes =
			ATTR_APP_KEY | TPMA_OBJECT_SIGN_ENCRYPT;
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

int
tpm_pub_policy(const blob *pub, uint8_t out[64], size_t *len)
{
	TPM2B_PUBLIC p;

	*len = 0;
	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, pub, &p) != 0 ||
	    p.publicArea.authPolicy.size > 64)
		return -1;
	memcpy(out, p.publicArea.authPolicy.buffer,
	       p.publicArea.authPolicy.size);
	*len = p.publicArea.authPolicy.size;
	return 0;
}

int
tpm_pub_parse(const blob *pub, tpm_pubkey *out)
{
	TPM2B_PUBLIC p;
	const TPMT_PUBLIC *a = &p.publicArea;

	memset(out, 0, sizeof(*out));
	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, pub, &p) != 0)
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
		memcpy(out->x + fl - a->unique.ecc.x.size,
		       a->unique.ecc.x.buffer, a->unique.ecc.x.size);
		memcpy(out->y + fl - a->unique.ecc.y.size,
		       a->unique.ecc.y.buffer, a->unique.ecc.y.size);
		out->bits = ec_bits(out->curve);
		return 0;
	}
	if (a->type == TPM2_ALG_SYMCIPHER &&
	    a->parameters.symDetail.sym.algorithm == TPM2_ALG_AES) {
		out->bits = a->parameters.symDetail.sym.keyBits.aes;
		out->type =
			out->bits == 128 ? TPM_KEY_AES_128 : TPM_KEY_AES_256;
		return out->bits == 128 || out->bits == 256 ? 0 : -1;
	}
	if (a->type == TPM2_ALG_KEYEDHASH) {
		switch (a->parameters.keyedHashDetail.scheme.details.hmac
				.hashAlg) {
		case TPM2_ALG_SHA1:
			out->hmac_hash = HASH_SHA1;
			break;
		case TPM2_ALG_SHA256:
			out->hmac_hash = HASH_SHA256;
			break;
		case TPM2_ALG_SHA384:
			out->hmac_hash = HASH_SHA384;
			break;
		case TPM2_ALG_SHA512:
			out->hmac_hash = HASH_SHA512;
			break;
		default:
			return -1;
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
		    (pub->publicArea.objectAttributes &
		     TPMA_OBJECT_SIGN_ENCRYPT)) {
			snprintf(t->err, sizeof(t->err),
				 "persistent handle 0x%08x holds a key that is "
				 "not a storage key; choose another handle "
				 "with --primary-handle",
				 handle);
			rv = CKR_DEVICE_ERROR;
			goto out;
		}
		rv = blob_set(name, n->name, n->size) ? CKR_HOST_MEMORY
						      : CKR_OK;
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
	/* Reading a persistent object's public area brings it into an
	 * object slot: a TPM full of others' leftovers answers 0x902. */
	rc = TPM_CALL_ROOM(t, "ReadPublic(primary)",
			   Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 &t->srk));
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		if (tpm_rc_full(rc)) {
			snprintf(t->err, sizeof(t->err),
				 "the TPM has no free object slot to read the "
				 "primary key 0x%08x (0x%x, out of memory for "
				 "object contexts): other programs hold them "
				 "(`tpm11 doctor` lists them)",
				 handle, rc);
			return CKR_DEVICE_MEMORY;
		}
		if (tpm_rc_to_ckr(rc) == CKR_DEVICE_REMOVED)
			return CKR_DEVICE_REMOVED;
		snprintf(t->err, sizeof(t->err),
			 "the primary key 0x%08x is not in this TPM (a cleared "
			 "TPM or another machine's store?); run `tpm11 init`",
			 handle);
		return CKR_DEVICE_ERROR;
	}
	if (expected != NULL && expected->len > 0) {
		if (tr_name(t, t->srk, &n) != 0 || n->size != expected->len ||
		    memcmp(n->name, expected->data, n->size) != 0) {
			snprintf(t->err, sizeof(t->err),
				 "the key at 0x%08x is not the primary this "
				 "store was made with (TPM cleared, or the "
				 "store comes from another machine)",
				 handle);
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

/* What the salted session does for a command besides authorising:
 * encrypt its first command parameter (an authValue, a secret going in),
 * its first response parameter (a secret coming out), both, or neither. */
enum {
	SESS_PLAIN = 0,
	SESS_IN = TPMA_SESSION_DECRYPT,  /* TPM decrypts the command's */
	SESS_OUT = TPMA_SESSION_ENCRYPT, /* TPM encrypts the response's */
};

/* A session salted to the SRK: its key never crosses the bus, so neither
 * do the authValues it proves (an HMAC) nor the parameters it encrypts.
 * Kept until tpm_idle. Each call sets the attributes it needs: ESAPI's
 * session crypto makes a new OpenSSL library context per operation
 * (tpm2-tss 3.x), so a command without parameter encryption saves a key
 * derivation and two AES passes of client CPU. */
static CK_RV
tpm_session_attrs(tpm_ctx *t, ESYS_TR *out, unsigned crypt)
{
	TSS2_RC rc;

	*out = ESYS_TR_NONE;
	if (t->hmac == ESYS_TR_NONE) {
		if (t->srk == ESYS_TR_NONE)
			return CKR_GENERAL_ERROR;
		rc = TPM_CALL_ROOM(
			t, "StartAuthSession",
			Esys_StartAuthSession(
				t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC,
				&session_sym, TPM2_ALG_SHA256, &t->hmac));
		if (rc != TSS2_RC_SUCCESS) {
			t->hmac = ESYS_TR_NONE;
			return tpm_rc_to_ckr(rc);
		}
	}
	rc = Esys_TRSess_SetAttributes(
		t->esys, t->hmac, TPMA_SESSION_CONTINUESESSION | crypt, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return CKR_DEVICE_ERROR;
	*out = t->hmac;
	return CKR_OK;
}

/* --- leftovers of other processes ---------------------------------------- */

/* The handles that are ours: our resident keys, our sessions and what
 * src/tpm/attest.c has loaded (tpm_mark_ours). */
static bool
tpm_handle_ours(tpm_ctx *t, TPM2_HANDLE h)
{
	TPM2_HANDLE mine;
	int i;

	for (i = 0; i < TPM_MAX_RESIDENT; i++)
		if (t->resident[i] != NULL &&
		    Esys_TR_GetTpmHandle(t->esys, t->resident[i]->tr, &mine) ==
			    TSS2_RC_SUCCESS &&
		    mine == h)
			return true;
	for (i = 0; i < (int)(sizeof(t->ours) / sizeof(t->ours[0])); i++)
		if (t->ours[i] != ESYS_TR_NONE &&
		    Esys_TR_GetTpmHandle(t->esys, t->ours[i], &mine) ==
			    TSS2_RC_SUCCESS &&
		    mine == h)
			return true;
	return (t->hmac != ESYS_TR_NONE &&
		Esys_TR_GetTpmHandle(t->esys, t->hmac, &mine) ==
			TSS2_RC_SUCCESS &&
		mine == h) ||
	       (t->policy != ESYS_TR_NONE &&
		Esys_TR_GetTpmHandle(t->esys, t->policy, &mine) ==
			TSS2_RC_SUCCESS &&
		mine == h);
}

/* The TPM is full of objects or sessions (TPM_RC_OBJECT_MEMORY 0x902,
 * TPM_RC_SESSION_MEMORY 0x903). Behind a resource manager (tpm2-abrmd,
 * /dev/tpmrm0) a client sees only its own handles, so this finds nothing
 * of anyone else's. On a TPM reached directly (swtpm, mssim, /dev/tpm0)
 * it sees what other processes left behind when they were killed or
 * exited without cleaning up: those handles are unusable for us and for
 * anyone without their authValues, and they block every later client, so
 * they are flushed (DESIGN.md property 10; a live process sharing a
 * direct TPM with us reloads its keys from their blobs, see
 * TPM_KEY_CALL). Returns how many were flushed. Flushes through SAPI:
 * ESAPI knows nothing of these handles. */
int
tpm_flush_strangers(tpm_ctx *t)
{
	static const TPM2_HANDLE firsts[] = {TPM2_TRANSIENT_FIRST,
					     TPM2_LOADED_SESSION_FIRST};
	TSS2_SYS_CONTEXT *sys = NULL;
	int flushed = 0;
	size_t f;

	if (t->read_only ||
	    Esys_GetSysContext(t->esys, &sys) != TSS2_RC_SUCCESS || !sys)
		return 0;
	for (f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
		uint32_t hs[TPM2_MAX_CAP_HANDLES];
		size_t i, n = 0;

		if (tpm_list_handles(t, firsts[f], hs, TPM2_MAX_CAP_HANDLES,
				     &n) != CKR_OK)
			continue;
		for (i = 0; i < n; i++) {
			if (tpm_handle_ours(t, hs[i]))
				continue;
			if (TPM_CALL(t, "FlushContext(leftover)",
				     Tss2_Sys_FlushContext(sys, hs[i])) ==
			    TSS2_RC_SUCCESS) {
				log_debug(
					"tpm: flushed 0x%08x, left in the TPM "
					"by another process",
					hs[i]);
				flushed++;
			}
		}
	}
	return flushed;
}

CK_RV
tpm_list_handles(tpm_ctx *t, uint32_t first, uint32_t *out, size_t cap,
		 size_t *n)
{
	TPMS_CAPABILITY_DATA *d = NULL;
	TPMI_YES_NO more;
	uint32_t type = first >> TPM2_HR_SHIFT, i;
	TSS2_RC rc;

	*n = 0;
	rc = TPM_CALL(t, "GetCapability(handles)",
		      Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
					 TPM2_MAX_CAP_HANDLES, &more, &d));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	for (i = 0; i < d->data.handles.count && *n < cap; i++) {
		uint32_t h = d->data.handles.handle[i], ht = h >> TPM2_HR_SHIFT;

		/* Loaded sessions: HMAC (0x02) and policy (0x03) alike. */
		if (ht == type ||
		    (type == (TPM2_LOADED_SESSION_FIRST >> TPM2_HR_SHIFT) &&
		     ht == (TPM2_POLICY_SESSION_FIRST >> TPM2_HR_SHIFT)))
			out[(*n)++] = h;
	}
	Esys_Free(d);
	return CKR_OK;
}

bool
tpm_rc_full(TSS2_RC rc)
{
	TSS2_RC b = tpm_rc_base(rc);

	return b == TPM2_RC_OBJECT_MEMORY || b == TPM2_RC_SESSION_MEMORY;
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
 * that is not pin: at most TPM_MAX_RESIDENT - 1 of ours stay, so a
 * TPM2_Load or TPM2_Create under the persistent SRK finds the two slots
 * it needs (one to bring in the SRK, one for the new object) on a TPM
 * with three. */
static CK_RV
tpm_make_room(tpm_ctx *t, const tpm_key *pin)
{
	tpm_key *lru = NULL;
	int i;

	for (i = 0; i < TPM_MAX_RESIDENT; i++) {
		if (t->resident[i] == NULL)
			return CKR_OK;
		if (t->resident[i] == pin)
			continue;
		if (lru == NULL || t->resident[i]->last_use < lru->last_use)
			lru = t->resident[i];
	}
	if (lru == NULL)
		return CKR_DEVICE_MEMORY;
	return tpm_key_evict(t, lru);
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

/* Loads k under the SRK (or brings its saved context back) so that k->tr
 * is usable. The SRK's authValue is empty: a password session, no
 * secret. What protects a PIN key is its own authValue, not its loading. */
static CK_RV
tpm_key_ensure(tpm_ctx *t, tpm_key *k)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv;

	k->last_use = ++t->clock;
	if (k->gen != t->gen) {
		/* Loaded or saved through an earlier connection: its handle
		 * means nothing (or something else) on this one. */
		k->tr = 0;
		Esys_Free(k->saved);
		k->saved = NULL;
		k->resident = false;
	}
	if (k->tr != 0)
		return CKR_OK;
	if (t->srk == ESYS_TR_NONE)
		return CKR_GENERAL_ERROR;
	if ((rv = tpm_make_room(t, k)) != CKR_OK)
		return rv;
	if (k->saved != NULL) {
		rc = TPM_CALL_ROOM(t, "ContextLoad",
				   Esys_ContextLoad(t->esys, k->saved, &tr));
		Esys_Free(k->saved);
		k->saved = NULL;
		if (rc == TSS2_RC_SUCCESS)
			goto loaded;
		/* A saved context dies with a TPM reset: load from blobs. */
	}
	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, &k->pub, &pub) != 0 ||
	    UNMARSHAL_BLOB(TPM2B_PRIVATE, &k->priv, &priv) != 0) {
		snprintf(t->err, sizeof(t->err),
			 "a stored key blob is damaged");
		log_error("tpm: %s", t->err);
		return CKR_DEVICE_ERROR;
	}
	rc = TPM_CALL_ROOM(t, "Load",
			   Esys_Load(t->esys, t->srk, ESYS_TR_PASSWORD,
				     ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
				     &tr));
	secure_zero(&priv, sizeof(priv));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
loaded:
	k->tr = tr;
	k->gen = t->gen;
	tpm_key_apply_auth(t, k);
	resident_add(t, k);
	return CKR_OK;
}

/* Forgets k's handle without a command: the TPM no longer holds what we
 * loaded there (flushed by another process on a shared direct TPM, or a
 * TPM restart), and the handle may now be someone else's object. */
static void
tpm_key_forget(tpm_ctx *t, tpm_key *k)
{
	ESYS_TR tr = k->tr;
	TPM2B_AUTH empty = {0};

	Esys_TR_SetAuth(t->esys, tr, &empty);
	Esys_TR_Close(t->esys, &tr);
	resident_remove(t, k);
	k->tr = 0;
}

/* A key command failed in a way that says our handle is stale: the
 * object is gone (TPM_RC_REFERENCE_H0, TPM_RC_HANDLE) or the handle now
 * names another process's object, whose authValue is not ours
 * (TPM_RC_BAD_AUTH; our keys are noDA, so nothing is counted), or whose
 * authPolicy is not a PCR-bound key's (TPM_RC_POLICY_FAIL). */
static bool
tpm_rc_stale(TSS2_RC rc)
{
	TSS2_RC b = tpm_rc_base(rc);

	return b == TPM2_RC_REFERENCE_H0 || b == TPM2_RC_HANDLE ||
	       b == TPM2_RC_BAD_AUTH || b == TPM2_RC_AUTH_FAIL ||
	       b == TPM2_RC_POLICY_FAIL;
}

/* Runs call, a command on key k, with k loaded; when the handle turns
 * out to be stale, reloads k from its blobs and runs it once more. */
#define TPM_KEY_CALL(t, k, what, call)                                       \
	({                                                                   \
		TSS2_RC kr_ = TSS2_BASE_RC_GENERAL_FAILURE;                  \
		CK_RV kv_ = tpm_key_ensure((t), (k));                        \
		if (kv_ == CKR_OK) {                                         \
			kr_ = TPM_CALL((t), (what), (call));                 \
			if (tpm_rc_stale(kr_)) {                             \
				tpm_key_forget((t), (k));                    \
				if (tpm_key_ensure((t), (k)) == CKR_OK)      \
					kr_ = TPM_CALL((t), (what), (call)); \
			}                                                    \
		}                                                            \
		kv_ != CKR_OK ? kv_ : tpm_key_rc((t), kr_);                  \
	})

/* A key command's result: an authorisation failure there is not a wrong
 * PIN (no PIN is involved) but a key whose authValue does not match,
 * i.e. a key of another token or a damaged store. */
static CK_RV
tpm_key_rc(tpm_ctx *t, TSS2_RC rc)
{
	TSS2_RC b = tpm_rc_base(rc);

	if (rc == TSS2_RC_SUCCESS)
		return CKR_OK;
	if (b == TPM2_RC_BAD_AUTH || b == TPM2_RC_AUTH_FAIL) {
		snprintf(t->err, sizeof(t->err),
			 "the TPM refused the key's authorization: the key "
			 "does not belong to this token's secret (a store "
			 "put together from another token's rows?)");
		log_error("tpm: %s", t->err);
		return CKR_DEVICE_ERROR;
	}
	return tpm_rc_to_ckr(rc);
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
	if (t != NULL && k->tr != 0 && k->gen == t->gen) {
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
	blob_free(&k->pcr_values);
	k->pcrs.mask = 0;
	blob_free(&k->signer);
	tpm_key_set_policies(k, NULL, 0);
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

/* --- policies ---------------------------------------------------------------- */

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

	put_be32(c, cc);
	return policy_extend(d, c, 4, extra, elen);
}

/* The policies of a token's PIN indices (TPM 2.0 Part 3: PolicySecret
 * extends with the object's Name, then with policyRef, empty here):
 *   own = PolicyAuthValue, PolicyCommandCode(NV_ChangeAuth)
 *   so  = PolicySecret(SO index), PolicyCommandCode(NV_ChangeAuth)
 *   tag = SHA-256("tpm11 SO index" || the token's tag): a branch nobody
 *         can satisfy, there to make the SO index's policy, and with it
 *         both indices' Names, unique to the token (crash recovery
 *         removes an index only when its Name is the token's own)
 *   SO index:   PolicyOR(own, tag)  (the SO changes the SO PIN)
 *   user index: PolicyOR(own, so)   (the user changes the user PIN, or
 *               the SO sets a new one)
 * NV_ChangeAuth is always authorised by policy (ADMIN role); reading an
 * index or PolicySecret on it use its authValue (TPMA_NV_AUTHREAD). */
typedef struct {
	uint8_t a[32], b[32]; /* the OR's branches */
	uint8_t digest[32];   /* the index's authPolicy */
} pin_policy;

static int
policy_or(pin_policy *p)
{
	uint8_t both[64];

	memcpy(both, p->a, 32);
	memcpy(both + 32, p->b, 32);
	memset(p->digest, 0, 32);
	return policy_cc(p->digest, TPM2_CC_PolicyOR, both, 64);
}

static int
policy_own(uint8_t own[32])
{
	uint8_t occ[4];

	put_be32(occ, TPM2_CC_NV_ChangeAuth);
	memset(own, 0, 32);
	if (policy_cc(own, TPM2_CC_PolicyAuthValue, NULL, 0) ||
	    policy_cc(own, TPM2_CC_PolicyCommandCode, occ, 4))
		return -1;
	return 0;
}

static int
policy_so_index(const blob *tag, pin_policy *p)
{
	static const char label[] = "tpm11 SO index";
	uint8_t buf[sizeof(label) - 1 + 64];

	if (tag->len == 0 || tag->len > 64 || policy_own(p->a) != 0)
		return -1;
	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, tag->data, tag->len);
	if (hash_digest(HASH_SHA256, buf, sizeof(label) - 1 + tag->len, p->b))
		return -1;
	return policy_or(p);
}

static int
policy_user_index(const blob *so_name, pin_policy *p)
{
	uint8_t occ[4];

	put_be32(occ, TPM2_CC_NV_ChangeAuth);
	if (policy_own(p->a) != 0)
		return -1;
	memset(p->b, 0, 32);
	if (policy_cc(p->b, TPM2_CC_PolicySecret, so_name->data,
		      so_name->len) ||
	    policy_extend(p->b, "", 0, NULL, 0) ||
	    policy_cc(p->b, TPM2_CC_PolicyCommandCode, occ, 4))
		return -1;
	return policy_or(p);
}

/* Flushes the policy session, keeping the error that ended its use (the
 * message the caller reports). */
static void
tpm_policy_end(tpm_ctx *t, ESYS_TR policy)
{
	if (policy != ESYS_TR_NONE) {
		Esys_FlushContext(t->esys, policy);
		t->ncmds++;
	}
	t->policy = ESYS_TR_NONE;
}

static CK_RV
tpm_policy_session(tpm_ctx *t, ESYS_TR *out)
{
	TSS2_RC rc;

	/* Salted: with PolicyAuthValue its HMAC key includes the PIN's
	 * authValue, which a bus observer must not be able to guess
	 * offline from the HMAC. */
	rc = TPM_CALL_ROOM(t, "StartAuthSession(policy)",
			   Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 ESYS_TR_NONE, NULL,
						 TPM2_SE_POLICY, &session_sym,
						 TPM2_ALG_SHA256, out));
	if (rc != TSS2_RC_SUCCESS) {
		*out = ESYS_TR_NONE;
		return tpm_rc_to_ckr(rc);
	}
	t->policy = *out; /* ours: tpm_flush_strangers leaves it */
	/* It only authorises; parameter encryption rides on the salted
	 * HMAC session (the key of an authorising policy session with
	 * PolicySecret would not include an authValue the SO knows). */
	rc = Esys_TRSess_SetAttributes(t->esys, *out,
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	return rc == TSS2_RC_SUCCESS ? CKR_OK : CKR_DEVICE_ERROR;
}

/* --- PCRs -------------------------------------------------------------------- */

static TPMI_ALG_HASH
pcr_bank_alg(hash_algo h)
{
	return h == HASH_SHA1     ? TPM2_ALG_SHA1
	       : h == HASH_SHA256 ? TPM2_ALG_SHA256
				  : TPM2_ALG_NULL;
}

static const char *
pcr_bank_name(hash_algo h)
{
	return h == HASH_SHA1 ? "sha1" : "sha256";
}

static unsigned
pcr_count(uint32_t mask)
{
	return (unsigned)__builtin_popcount(mask);
}

/* sel as a TPML_PCR_SELECTION, always three select bytes (PCRs 0-23):
 * the PolicyPCR digest covers the marshalled selection, so creation and
 * use must say it the same way. */
static void
pcr_selection(const tpm_pcr_sel *sel, uint32_t mask, TPML_PCR_SELECTION *out)
{
	memset(out, 0, sizeof(*out));
	out->count = 1;
	out->pcrSelections[0].hash = pcr_bank_alg(sel->bank);
	out->pcrSelections[0].sizeofSelect = 3;
	out->pcrSelections[0].pcrSelect[0] = (BYTE)(mask & 0xff);
	out->pcrSelections[0].pcrSelect[1] = (BYTE)((mask >> 8) & 0xff);
	out->pcrSelections[0].pcrSelect[2] = (BYTE)((mask >> 16) & 0xff);
}

int
tpm_pcr_sel_parse(const char *s, tpm_pcr_sel *sel, char *err, size_t errlen)
{
	const char *p;
	char *end;
	long n;

	memset(sel, 0, sizeof(*sel));
	if (strncasecmp(s, "sha256:", 7) == 0) {
		sel->bank = HASH_SHA256;
		p = s + 7;
	} else if (strncasecmp(s, "sha1:", 5) == 0) {
		sel->bank = HASH_SHA1;
		p = s + 5;
	} else {
		snprintf(err, errlen,
			 "--pcrs %s: name the bank and the PCRs, "
			 "e.g. sha256:7,11 (banks: sha256, sha1)",
			 s);
		return -1;
	}
	for (;;) {
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen,
				 "--pcrs %s: PCR numbers are 0 to "
				 "23, separated by commas (e.g. sha256:7,11)",
				 s);
			return -1;
		}
		n = strtol(p, &end, 10);
		if (n < 0 || n >= TPM_PCR_COUNT || end - p > 2) {
			snprintf(err, errlen,
				 "--pcrs %s: PCR %.*s does not "
				 "exist; PCRs are 0 to 23",
				 s, (int)(end - p), p);
			return -1;
		}
		sel->mask |= 1u << n;
		if (*end == '\0')
			break;
		if (*end != ',') {
			snprintf(err, errlen,
				 "--pcrs %s: PCR numbers are 0 to "
				 "23, separated by commas (e.g. sha256:7,11)",
				 s);
			return -1;
		}
		p = end + 1;
	}
	return 0;
}

void
tpm_pcr_sel_text(const tpm_pcr_sel *sel, char *out, size_t cap)
{
	size_t off;
	int i;

	off = (size_t)snprintf(out, cap, "%s:", pcr_bank_name(sel->bank));
	for (i = 0; i < TPM_PCR_COUNT && off < cap; i++)
		if (sel->mask & (1u << i))
			off += (size_t)snprintf(out + off, cap - off, "%s%d",
						out[off - 1] == ':' ? "" : ",",
						i);
}

int
tpm_pcr_encode(const tpm_pcr_sel *sel, const blob *values, blob *out)
{
	uint8_t buf[6 + TPM_PCR_COUNT * 32];
	size_t vlen = values ? values->len : 0;

	if (vlen > sizeof(buf) - 6)
		return -1;
	buf[0] = (uint8_t)(pcr_bank_alg(sel->bank) >> 8);
	buf[1] = (uint8_t)pcr_bank_alg(sel->bank);
	put_be32(buf + 2, sel->mask);
	if (vlen)
		memcpy(buf + 6, values->data, vlen);
	return blob_set(out, buf, 6 + vlen);
}

int
tpm_pcr_decode(const uint8_t *in, size_t len, tpm_pcr_sel *sel, blob *values)
{
	uint16_t alg;

	if (len < 6)
		return -1;
	alg = (uint16_t)(in[0] << 8 | in[1]);
	sel->bank = alg == TPM2_ALG_SHA1     ? HASH_SHA1
		    : alg == TPM2_ALG_SHA256 ? HASH_SHA256
					     : HASH_NONE;
	sel->mask = get_be32(in + 2);
	if (sel->bank == HASH_NONE || sel->mask == 0 ||
	    sel->mask >> TPM_PCR_COUNT)
		return -1;
	if (len != 6 && len != 6 + pcr_count(sel->mask) * hash_len(sel->bank))
		return -1;
	if (values != NULL && blob_set(values, in + 6, len - 6) != 0)
		return -1;
	return 0;
}

int
tpm_key_set_pcrs(tpm_key *k, const uint8_t *attr, size_t len)
{
	tpm_pcr_sel sel;
	blob v = {0};

	if (tpm_pcr_decode(attr, len, &sel, &v) != 0 || v.len == 0) {
		blob_free(&v);
		return -1;
	}
	blob_free(&k->pcr_values);
	k->pcr_values = v;
	k->pcrs = sel;
	return 0;
}

CK_RV
tpm_pcr_read(tpm_ctx *t, const tpm_pcr_sel *sel, blob *values)
{
	size_t hl = hash_len(sel->bank);
	uint8_t buf[TPM_PCR_COUNT * 32];
	uint32_t left = sel->mask, got;
	TPML_PCR_SELECTION in, *out = NULL;
	TPML_DIGEST *d = NULL;
	TSS2_RC rc;
	uint32_t i, j;

	if (pcr_bank_alg(sel->bank) == TPM2_ALG_NULL || sel->mask == 0)
		return CKR_ARGUMENTS_BAD;
	/* A TPM answers at most eight PCRs per PCR_Read: ask for what is
	 * left until all came. */
	while (left) {
		pcr_selection(sel, left, &in);
		rc = TPM_CALL(t, "PCR_Read",
			      Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, &in, NULL, &out, &d));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_rc_to_ckr(rc);
		got = 0;
		if (out->count == 1 &&
		    out->pcrSelections[0].hash == pcr_bank_alg(sel->bank))
			for (j = 0;
			     j < 3 && j < out->pcrSelections[0].sizeofSelect;
			     j++)
				got |= (uint32_t)out->pcrSelections[0]
					       .pcrSelect[j]
				       << (8 * j);
		got &= left;
		/* The TPM returns the PCRs in order: place each digest. */
		for (i = 0, j = 0; i < TPM_PCR_COUNT && got; i++) {
			unsigned pos;

			if (!(got & (1u << i)))
				continue;
			if (j >= d->count || d->digests[j].size != hl) {
				got = 0;
				break;
			}
			pos = pcr_count(sel->mask & ((1u << i) - 1));
			memcpy(buf + pos * hl, d->digests[j].buffer, hl);
			j++;
			left &= ~(1u << i);
		}
		Esys_Free(out);
		Esys_Free(d);
		out = NULL;
		d = NULL;
		if (got == 0) {
			snprintf(t->err, sizeof(t->err),
				 "the TPM keeps no %s "
				 "PCR bank (its active banks: `tpm2_pcrread`); "
				 "choose another with --pcrs",
				 pcr_bank_name(sel->bank));
			return CKR_MECHANISM_INVALID;
		}
	}
	return blob_set(values, buf, pcr_count(sel->mask) * hl) == 0
		       ? CKR_OK
		       : CKR_HOST_MEMORY;
}

/* PolicyPCR(sel, SHA-256 of the values) from an empty digest: the policy
 * a signer approves, and the start of a PCR-bound key's. */
static int
policy_pcr_approved(const tpm_pcr_sel *sel, const blob *values, uint8_t d[32])
{
	TPML_PCR_SELECTION ps;
	uint8_t extra[sizeof(TPML_PCR_SELECTION) + 32];
	size_t off = 0;

	pcr_selection(sel, sel->mask, &ps);
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&ps, extra, sizeof(extra) - 32,
					       &off) != TSS2_RC_SUCCESS ||
	    hash_digest(HASH_SHA256, values->data, values->len, extra + off))
		return -1;
	memset(d, 0, 32);
	return policy_cc(d, TPM2_CC_PolicyPCR, extra, off + 32);
}

/* A PCR-bound key's authPolicy: PolicyPCR, then PolicyPassword (extends
 * with TPM_CC_PolicyAuthValue: the key's authValue is still needed). */
static int
policy_pcr_key(const tpm_pcr_sel *sel, const blob *values, uint8_t d[32])
{
	return policy_pcr_approved(sel, values, d) ||
	       policy_cc(d, TPM2_CC_PolicyAuthValue, NULL, 0);
}

/* --- signed PCR policies (--pcr-signer) ------------------------------------ */

static void
signer_template(const uint8_t *xy, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes =
		TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		TPM2_ALG_SHA256;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->publicArea.unique.ecc.x.size = 32;
	memcpy(p->publicArea.unique.ecc.x.buffer, xy, 32);
	p->publicArea.unique.ecc.y.size = 32;
	memcpy(p->publicArea.unique.ecc.y.buffer, xy + 32, 32);
}

int
tpm_signer_pub(const uint8_t *xy, blob *out)
{
	TPM2B_PUBLIC p;

	signer_template(xy, &p);
	return MARSHAL_TO_BLOB(TPM2B_PUBLIC, &p, out) ? -1 : 0;
}

int
tpm_signer_xy(const blob *pub, uint8_t xy[64])
{
	TPM2B_PUBLIC p;

	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, pub, &p) != 0 ||
	    p.publicArea.type != TPM2_ALG_ECC ||
	    p.publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    p.publicArea.unique.ecc.x.size != 32 ||
	    p.publicArea.unique.ecc.y.size != 32)
		return -1;
	memcpy(xy, p.publicArea.unique.ecc.x.buffer, 32);
	memcpy(xy + 32, p.publicArea.unique.ecc.y.buffer, 32);
	return 0;
}

int
tpm_pcr_policy_hash(const tpm_pcr_sel *sel, const blob *values, uint8_t out[32])
{
	uint8_t approved[32];

	/* aHash = H(approvedPolicy || policyRef), policyRef empty */
	if (policy_pcr_approved(sel, values, approved) != 0)
		return -1;
	return hash_digest(HASH_SHA256, approved, 32, out);
}

/* A signer-bound key's authPolicy: PolicyAuthorize(signer's Name,
 * policyRef empty), then PolicyPassword. */
static int
policy_signer_key(const blob *signer, uint8_t d[32])
{
	TPM2B_PUBLIC p;
	uint8_t name[2 + 64];
	size_t nl;

	/* The signer's Name: nameAlg (SHA-256) || H(TPMT_PUBLIC). */
	if (UNMARSHAL_BLOB(TPM2B_PUBLIC, signer, &p) != 0 ||
	    tpmt_public_name(&p.publicArea, name, &nl) != 0)
		return -1;
	memset(d, 0, 32);
	return policy_cc(d, TPM2_CC_PolicyAuthorize, name, nl) ||
	       policy_extend(d, "", 0, NULL, 0) ||
	       policy_cc(d, TPM2_CC_PolicyAuthValue, NULL, 0);
}

int
tpm_key_set_signer(tpm_key *k, const uint8_t *pub, size_t len)
{
	blob b = {.data = (uint8_t *)pub, .len = len};
	uint8_t xy[64];

	if (tpm_signer_xy(&b, xy) != 0)
		return -1;
	return blob_set(&k->signer, pub, len);
}

void
tpm_pcr_policies_free(tpm_pcr_policy *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		blob_free(&p[i].values);
	free(p);
}

void
tpm_key_set_policies(tpm_key *k, tpm_pcr_policy *p, size_t n)
{
	tpm_pcr_policies_free(k->policies, k->npolicies);
	k->policies = p;
	k->npolicies = n;
}

/* In policy session s: the first of k's signed policies whose PCRs have
 * their values now (PolicyPCR, tried in turn: a failed one leaves the
 * session as it was), then PolicyAuthorize with the signer's approval
 * (LoadExternal, VerifySignature, FlushContext). CKR_FUNCTION_FAILED when
 * none matches. */
static CK_RV
tpm_key_authorize(tpm_ctx *t, tpm_key *k, ESYS_TR s)
{
	TPM2B_PUBLIC pub;
	TPML_PCR_SELECTION ps;
	TPM2B_DIGEST dig = {0}, approved = {.size = 32}, ahash = {.size = 32};
	TPM2B_NONCE ref = {0};
	TPM2B_NAME *name = NULL;
	TPMT_SIGNATURE sig = {0};
	TPMT_TK_VERIFIED *tk = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	const tpm_pcr_policy *p = NULL;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	CK_RV rv;
	size_t i;

	for (i = 0; i < k->npolicies; i++) {
		p = &k->policies[i];
		if (hash_digest(HASH_SHA256, p->values.data, p->values.len,
				dig.buffer) != 0)
			return CKR_GENERAL_ERROR;
		dig.size = 32;
		pcr_selection(&p->sel, p->sel.mask, &ps);
		rc = TPM_CALL(t, "PolicyPCR",
			      Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, &dig,
					     &ps));
		if (rc == TSS2_RC_SUCCESS)
			break;
		if (tpm_rc_base(rc) != TPM2_RC_VALUE)
			return tpm_rc_to_ckr(rc);
	}
	if (i == k->npolicies) {
		snprintf(
			t->err, sizeof(t->err),
			"no PCR policy signed by "
			"this key's signer matches the PCRs' current values "
			"(%zu signed policies found; sign one for these values "
			"with `tpm11 pcr-sign`)",
			k->npolicies);
		log_error("tpm: %s", t->err);
		return CKR_FUNCTION_FAILED;
	}
	if (policy_pcr_approved(&p->sel, &p->values, approved.buffer) != 0 ||
	    hash_digest(HASH_SHA256, approved.buffer, 32, ahash.buffer) != 0 ||
	    UNMARSHAL_BLOB(TPM2B_PUBLIC, &k->signer, &pub) != 0)
		return CKR_GENERAL_ERROR;
	sig.sigAlg = TPM2_ALG_ECDSA;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	memcpy(sig.signature.ecdsa.signatureR.buffer, p->sig, 32);
	sig.signature.ecdsa.signatureS.size = 32;
	memcpy(sig.signature.ecdsa.signatureS.buffer, p->sig + 32, 32);
	/* The owner hierarchy: a ticket of the null hierarchy does not
	 * satisfy PolicyAuthorize. */
	if ((rv = tpm_make_room(t, NULL)) != CKR_OK)
		return rv;
	rc = TPM_CALL_ROOM(t, "LoadExternal(signer)",
			   Esys_LoadExternal(t->esys, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, NULL,
					     &pub, ESYS_TR_RH_OWNER, &h));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	rc = TPM_CALL(t, "VerifySignature",
		      Esys_VerifySignature(t->esys, h, ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE, &ahash,
					   &sig, &tk));
	if (rc == TSS2_RC_SUCCESS &&
	    Esys_TR_GetName(t->esys, h, &name) != TSS2_RC_SUCCESS)
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
	TPM_CALL(t, "FlushContext(signer)", Esys_FlushContext(t->esys, h));
	if (rc == TSS2_RC_SUCCESS)
		rc = TPM_CALL(t, "PolicyAuthorize",
			      Esys_PolicyAuthorize(t->esys, s, ESYS_TR_NONE,
						   ESYS_TR_NONE, ESYS_TR_NONE,
						   &approved, &ref, name, tk));
	Esys_Free(name);
	Esys_Free(tk);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(t->err, sizeof(t->err),
			 "the TPM refused the signed "
			 "PCR policy (%s)",
			 Tss2_RC_Decode(rc));
		log_error("tpm: %s", t->err);
		return CKR_FUNCTION_FAILED;
	}
	return CKR_OK;
}

/* Why a PCR-bound key was refused: reads its PCRs and names each that
 * differs from the value the key was bound to (into t->err and the log). */
static void
pcr_explain(tpm_ctx *t, const tpm_key *k)
{
	size_t hl = hash_len(k->pcrs.bank), off = 0;
	blob now = {0};
	char msg[sizeof(t->err)];
	unsigned pos = 0;
	int i;

	if (tpm_pcr_read(t, &k->pcrs, &now) != CKR_OK ||
	    now.len != k->pcr_values.len) {
		snprintf(t->err, sizeof(t->err),
			 "the key's PCR policy failed "
			 "and its PCRs cannot be read");
		blob_free(&now);
		return;
	}
	msg[0] = '\0';
	for (i = 0; i < TPM_PCR_COUNT; i++) {
		if (!(k->pcrs.mask & (1u << i)))
			continue;
		if (memcmp(now.data + pos * hl, k->pcr_values.data + pos * hl,
			   hl) != 0 &&
		    off < sizeof(msg))
			off += (size_t)snprintf(
				msg + off, sizeof(msg) - off,
				"%sPCR %d differs from the value this key "
				"was bound to",
				off ? "; " : "", i);
		pos++;
	}
	blob_free(&now);
	if (off == 0)
		snprintf(msg, sizeof(msg),
			 "the key's PCR policy failed, but "
			 "its PCRs have the values it was bound to now (they "
			 "changed while it was used?)");
	snprintf(t->err, sizeof(t->err), "%s", msg);
	log_error("tpm: %s", t->err);
}

/* Whether rc says a PCR-bound key's policy failed (the PCRs differ). */
static bool
tpm_rc_pcr(TSS2_RC rc)
{
	TSS2_RC b = tpm_rc_base(rc);

	return b == TPM2_RC_VALUE || b == TPM2_RC_POLICY_FAIL ||
	       b == TPM2_RC_PCR_CHANGED;
}

/* The session that authorises a use of k: the password session, or for a
 * PCR-bound key a policy session that has passed PolicyPCR (with the
 * bound values' digest: the TPM compares) and PolicyPassword (the
 * authValue in clear, as in the password session of other keys). It is
 * unsalted and unbound: it carries no secret and proves none; the
 * authValue check is the TPM's. continueSession clear: the TPM flushes
 * it after the command it authorises, so a use costs StartAuthSession,
 * PolicyPCR, PolicyPassword and the command. CKR_FUNCTION_FAILED when the
 * PCRs differ, with t->err naming them. */
static CK_RV
tpm_key_auth(tpm_ctx *t, tpm_key *k, ESYS_TR *out)
{
	static const TPMT_SYM_DEF none = {.algorithm = TPM2_ALG_NULL};
	TPML_PCR_SELECTION ps;
	TPM2B_DIGEST dig = {0};
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;

	*out = ESYS_TR_PASSWORD;
	t->last_rc = TSS2_RC_SUCCESS;
	if (k->pcrs.mask == 0 && k->signer.len == 0)
		return CKR_OK;
	if (k->pcrs.mask != 0) {
		if (hash_digest(HASH_SHA256, k->pcr_values.data,
				k->pcr_values.len, dig.buffer) != 0)
			return CKR_GENERAL_ERROR;
		dig.size = 32;
		pcr_selection(&k->pcrs, k->pcrs.mask, &ps);
	}
	rc = TPM_CALL_ROOM(t, "StartAuthSession(key policy)",
			   Esys_StartAuthSession(t->esys, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 ESYS_TR_NONE, ESYS_TR_NONE,
						 NULL, TPM2_SE_POLICY, &none,
						 TPM2_ALG_SHA256, &s));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	t->policy = s; /* ours: tpm_flush_strangers leaves it */
	if (k->signer.len != 0) {
		CK_RV rv = tpm_key_authorize(t, k, s);

		if (rv != CKR_OK) {
			tpm_policy_end(t, s);
			return rv;
		}
	} else {
		rc = TPM_CALL(t, "PolicyPCR",
			      Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE, &dig,
					     &ps));
	}
	if (rc == TSS2_RC_SUCCESS)
		rc = TPM_CALL(t, "PolicyPassword",
			      Esys_PolicyPassword(t->esys, s, ESYS_TR_NONE,
						  ESYS_TR_NONE, ESYS_TR_NONE));
	if (rc == TSS2_RC_SUCCESS &&
	    Esys_TRSess_SetAttributes(t->esys, s, 0, 0xff) != TSS2_RC_SUCCESS)
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
	if (rc != TSS2_RC_SUCCESS) {
		tpm_policy_end(t, s);
		if (tpm_rc_pcr(rc)) {
			pcr_explain(t, k);
			return CKR_FUNCTION_FAILED;
		}
		return tpm_rc_to_ckr(rc);
	}
	*out = s;
	return CKR_OK;
}

/* After the command tpm_key_auth authorised (rv its result): a policy
 * session that is still there (the command failed) is flushed; the TPM
 * flushed it after a success, and ESAPI's handle for it is closed. A
 * policy failure at the command (PCRs changed between PolicyPCR and it)
 * is explained as in tpm_key_auth. */
static CK_RV
tpm_key_auth_done(tpm_ctx *t, tpm_key *k, ESYS_TR s, CK_RV rv)
{
	TSS2_RC b = tpm_rc_base(t->last_rc);

	if (s == ESYS_TR_PASSWORD || s == ESYS_TR_NONE)
		return rv;
	if (rv == CKR_OK) {
		Esys_TR_Close(t->esys, &s);
		t->policy = ESYS_TR_NONE;
		return rv;
	}
	tpm_policy_end(t, s);
	if (k->pcrs.mask != 0 &&
	    (b == TPM2_RC_POLICY_FAIL || b == TPM2_RC_PCR_CHANGED)) {
		pcr_explain(t, k);
		return CKR_FUNCTION_FAILED;
	}
	return rv;
}

/* --- PINs in NV indices ------------------------------------------------------ */

/* tpm11's NV handles: the owner range (TCG handle registry: 0x01000000 to
 * 0x013FFFFF for the owner's indices), from here on. */
#define TPM_NV_BASE 0x01311100u
#define TPM_NV_SPAN 0x100u

/* The indices' attributes once made: an ordinary index, not noDA (a wrong
 * PIN counts). AUTHREAD lets its authValue read it and satisfy
 * PolicySecret; AUTHWRITE writes it once when made; the user index is
 * WRITEDEFINE and write-locked, so the token secret can never be
 * overwritten. WRITTEN and WRITELOCKED are set by the TPM and are part of
 * the Name. */
#define NV_ATTRS_SO (TPMA_NV_AUTHREAD | TPMA_NV_AUTHWRITE)
#define NV_ATTRS_USER (NV_ATTRS_SO | TPMA_NV_WRITEDEFINE)
#define NV_ATTRS_SET_BY_TPM (TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED)
#define NV_SO_SIZE 1

/* An index's public area as tpm11 makes it. */
static void
nv_public(uint32_t index, TPMA_NV attrs, const uint8_t policy[32], UINT16 size,
	  TPM2B_NV_PUBLIC *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->nvPublic.nvIndex = index;
	pub->nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub->nvPublic.attributes = attrs;
	pub->nvPublic.authPolicy.size = 32;
	memcpy(pub->nvPublic.authPolicy.buffer, policy, 32);
	pub->nvPublic.dataSize = size;
}

/* Name = nameAlg || H(marshalled TPMS_NV_PUBLIC) (Part 1, 16). */
static int
nv_name(const TPMS_NV_PUBLIC *pub, blob *out)
{
	uint8_t buf[sizeof(TPMS_NV_PUBLIC)], name[2 + 64];
	size_t off = 0, nl;

	if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) !=
		    TSS2_RC_SUCCESS ||
	    tpm_name(buf, off, pub->nameAlg, name, &nl) != 0)
		return -1;
	return blob_set(out, name, nl);
}

/* The two lowest free handles in tpm11's range. */
static CK_RV
tpm_nv_free(tpm_ctx *t, uint32_t out[2])
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	uint32_t h;
	int n = 0;
	TSS2_RC rc;

	rc = TPM_CALL(t, "GetCapability(NV handles)",
		      Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, TPM2_CAP_HANDLES,
					 TPM_NV_BASE, TPM_NV_SPAN, &more,
					 &cap));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	for (h = TPM_NV_BASE; h < TPM_NV_BASE + TPM_NV_SPAN && n < 2; h++) {
		UINT32 i;
		bool used = false;

		for (i = 0; i < cap->data.handles.count; i++)
			used |= cap->data.handles.handle[i] == h;
		if (!used)
			out[n++] = h;
	}
	Esys_Free(cap);
	if (n < 2) {
		snprintf(t->err, sizeof(t->err),
			 "all of tpm11's NV handles (0x%08x to 0x%08x) are in "
			 "use; remove tokens you no longer use with `tpm11 "
			 "rmtoken`",
			 TPM_NV_BASE, TPM_NV_BASE + TPM_NV_SPAN - 1);
		return CKR_DEVICE_MEMORY;
	}
	return CKR_OK;
}

CK_RV
tpm_token_plan(tpm_ctx *t, tpm_pins *p)
{
	TPM2B_NV_PUBLIC pub;
	pin_policy pol;
	uint32_t idx[2];
	CK_RV rv;

	if ((rv = tpm_nv_free(t, idx)) != CKR_OK)
		return rv;
	if (policy_so_index(&p->tag, &pol) != 0)
		return CKR_GENERAL_ERROR;
	nv_public(idx[0], NV_ATTRS_SO | TPMA_NV_WRITTEN, pol.digest, NV_SO_SIZE,
		  &pub);
	p->so.index = idx[0];
	if (nv_name(&pub.nvPublic, &p->so.name) != 0 ||
	    policy_user_index(&p->so.name, &pol) != 0)
		return CKR_GENERAL_ERROR;
	nv_public(idx[1], NV_ATTRS_USER | NV_ATTRS_SET_BY_TPM, pol.digest,
		  TPM_SECRET_LEN, &pub);
	p->user.index = idx[1];
	return nv_name(&pub.nvPublic, &p->user.name) != 0 ? CKR_GENERAL_ERROR
							  : CKR_OK;
}

/* An ESYS_TR for nv, refused when the TPM's index is not the one
 * recorded: its Name differs. unfinished: accept the index also before
 * its write and lock (WRITTEN, WRITELOCKED clear), as a creation that was
 * cut short leaves it, for clearing up. */
static CK_RV
tpm_nv_open_as(tpm_ctx *t, const tpm_nv *nv, bool unfinished, ESYS_TR *out)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *n = NULL;
	blob want = {0};
	bool same;
	TSS2_RC rc;

	*out = ESYS_TR_NONE;
	rc = TPM_CALL(t, "NV_ReadPublic",
		      Esys_TR_FromTPMPublic(t->esys, nv->index, ESYS_TR_NONE,
					    ESYS_TR_NONE, ESYS_TR_NONE, out));
	if (rc != TSS2_RC_SUCCESS) {
		*out = ESYS_TR_NONE;
		if (tpm_rc_base(rc) != TPM2_RC_HANDLE)
			return tpm_rc_to_ckr(rc);
		snprintf(t->err, sizeof(t->err),
			 "the token's PIN index 0x%08x is not in this TPM (the "
			 "TPM was cleared, or the store comes from another "
			 "machine): its keys cannot be used any more",
			 nv->index);
		log_error("tpm: %s", t->err);
		return CKR_TOKEN_NOT_RECOGNIZED;
	}
	if (tr_name(t, *out, &n) != 0) {
		Esys_TR_Close(t->esys, out);
		return CKR_HOST_MEMORY;
	}
	same = n->size == nv->name.len &&
	       memcmp(n->name, nv->name.data, n->size) == 0;
	if (!same && unfinished &&
	    TPM_CALL(t, "NV_ReadPublic",
		     Esys_NV_ReadPublic(t->esys, *out, ESYS_TR_NONE,
					ESYS_TR_NONE, ESYS_TR_NONE, &pub,
					NULL)) == TSS2_RC_SUCCESS) {
		pub->nvPublic.attributes |=
			TPMA_NV_WRITTEN |
			(pub->nvPublic.attributes & TPMA_NV_WRITEDEFINE
				 ? TPMA_NV_WRITELOCKED
				 : 0);
		same = nv_name(&pub->nvPublic, &want) == 0 &&
		       want.len == nv->name.len &&
		       memcmp(want.data, nv->name.data, want.len) == 0;
	}
	free(n);
	Esys_Free(pub);
	blob_free(&want);
	if (!same) {
		snprintf(t->err, sizeof(t->err),
			 "the NV index 0x%08x is not the token's PIN index (it "
			 "was removed and defined again by someone else); the "
			 "token's keys cannot be used any more",
			 nv->index);
		log_error("tpm: %s", t->err);
		Esys_TR_Close(t->esys, out);
		*out = ESYS_TR_NONE;
		return CKR_TOKEN_NOT_RECOGNIZED;
	}
	return CKR_OK;
}

static CK_RV
tpm_nv_open(tpm_ctx *t, const tpm_nv *nv, ESYS_TR *out)
{
	return tpm_nv_open_as(t, nv, false, out);
}

/* Closes an ESYS_TR of an NV index, leaving no authValue in ESAPI. */
static void
tpm_nv_close(tpm_ctx *t, ESYS_TR *tr)
{
	TPM2B_AUTH empty = {0};

	if (*tr == ESYS_TR_NONE)
		return;
	Esys_TR_SetAuth(t->esys, *tr, &empty);
	Esys_TR_Close(t->esys, tr);
	*tr = ESYS_TR_NONE;
}

CK_RV
tpm_nv_check(tpm_ctx *t, const tpm_nv *nv)
{
	ESYS_TR tr = ESYS_TR_NONE;
	CK_RV rv = tpm_nv_open(t, nv, &tr);

	if (rv == CKR_OK)
		tpm_nv_close(t, &tr);
	return rv;
}

static void
tpm_tr_auth(tpm_ctx *t, ESYS_TR tr, const uint8_t auth[TPM_AUTH_LEN])
{
	TPM2B_AUTH a = {.size = TPM_AUTH_LEN};

	memcpy(a.buffer, auth, TPM_AUTH_LEN);
	Esys_TR_SetAuth(t->esys, tr, &a);
	secure_zero(&a, sizeof(a));
}

/* Defines one PIN index as planned (nv), with authValue auth, writes
 * data (the salted session proves auth and encrypts auth and data on the
 * bus) and, for the user index, locks it against writes. */
static CK_RV
tpm_nv_define(tpm_ctx *t, const tpm_nv *nv, TPMA_NV attrs,
	      const uint8_t policy[32], const uint8_t auth[TPM_AUTH_LEN],
	      const uint8_t *data, size_t len)
{
	TPM2B_AUTH a = {.size = TPM_AUTH_LEN};
	TPM2B_NV_PUBLIC pub;
	TPM2B_MAX_NV_BUFFER d = {0};
	ESYS_TR tr = ESYS_TR_NONE, sess;
	TSS2_RC rc;
	CK_RV rv;

	nv_public(nv->index, attrs, policy, (UINT16)len, &pub);
	memcpy(a.buffer, auth, TPM_AUTH_LEN);
	if ((rv = tpm_session_attrs(t, &sess, SESS_IN)) != CKR_OK)
		goto out;
	rc = TPM_CALL(t, "NV_DefineSpace",
		      Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER,
					  ESYS_TR_PASSWORD, sess, ESYS_TR_NONE,
					  &a, &pub, &tr));
	if (rc != TSS2_RC_SUCCESS) {
		TSS2_RC b = tpm_rc_base(rc);

		tr = ESYS_TR_NONE;
		rv = tpm_rc_to_ckr(rc);
		if (b == TPM2_RC_NV_SPACE)
			snprintf(t->err, sizeof(t->err),
				 "the TPM's NV memory is full: remove tokens "
				 "you no longer use (`tpm11 rmtoken`) or other "
				 "NV indices (`tpm2_getcap handles-nv-index`)");
		else if (b == TPM2_RC_NV_DEFINED)
			rv = CKR_FUNCTION_REJECTED; /* taken meanwhile: re-plan */
		else if (b == TPM2_RC_AUTH_FAIL || b == TPM2_RC_BAD_AUTH)
			snprintf(
				t->err, sizeof(t->err),
				"the TPM's owner hierarchy has a password; "
				"tpm11 needs it empty to define its NV indices");
		goto out;
	}
	tpm_tr_auth(t, tr, auth);
	if ((rv = tpm_session_attrs(t, &sess, SESS_IN)) != CKR_OK)
		goto out;
	d.size = (UINT16)len;
	memcpy(d.buffer, data, len);
	rc = TPM_CALL(t, "NV_Write",
		      Esys_NV_Write(t->esys, tr, tr, sess, ESYS_TR_NONE,
				    ESYS_TR_NONE, &d, 0));
	secure_zero(&d, sizeof(d));
	if (rc == TSS2_RC_SUCCESS && (attrs & TPMA_NV_WRITEDEFINE)) {
		if ((rv = tpm_session_attrs(t, &sess, SESS_PLAIN)) != CKR_OK)
			goto out;
		rc = TPM_CALL(t, "NV_WriteLock",
			      Esys_NV_WriteLock(t->esys, tr, tr, sess,
						ESYS_TR_NONE, ESYS_TR_NONE));
	}
	rv = tpm_rc_to_ckr(rc);
out:
	tpm_nv_close(t, &tr);
	secure_zero(&a, sizeof(a));
	return rv;
}

/* Undefines nv if it is still the one recorded (as made, or cut short). */
static CK_RV
tpm_nv_undefine(tpm_ctx *t, const tpm_nv *nv)
{
	ESYS_TR tr;
	TSS2_RC rc;
	CK_RV rv = tpm_nv_open_as(t, nv, true, &tr);

	if (rv != CKR_OK)
		/* Gone already (nothing to do), or someone else's now
		 * (not ours to remove). */
		return rv == CKR_TOKEN_NOT_RECOGNIZED ? CKR_OK : rv;
	rc = TPM_CALL(t, "NV_UndefineSpace",
		      Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, tr,
					    ESYS_TR_PASSWORD, ESYS_TR_NONE,
					    ESYS_TR_NONE));
	if (rc == TSS2_RC_SUCCESS)
		return CKR_OK; /* ESAPI closed tr */
	tpm_nv_close(t, &tr);
	if (tpm_rc_base(rc) == TPM2_RC_AUTH_FAIL ||
	    tpm_rc_base(rc) == TPM2_RC_BAD_AUTH)
		snprintf(t->err, sizeof(t->err),
			 "the TPM's owner hierarchy has a password; remove "
			 "NV index 0x%08x with `tpm2_nvundefine 0x%08x -C o "
			 "-P <owner password>`",
			 nv->index, nv->index);
	return tpm_rc_to_ckr(rc);
}

CK_RV
tpm_token_create(tpm_ctx *t, const tpm_pins *p,
		 const uint8_t so_auth[TPM_AUTH_LEN],
		 const uint8_t user_auth[TPM_AUTH_LEN],
		 const uint8_t secret[TPM_SECRET_LEN])
{
	pin_policy so_pol, user_pol;
	uint8_t one = 1;
	CK_RV rv;

	if (policy_so_index(&p->tag, &so_pol) != 0 ||
	    policy_user_index(&p->so.name, &user_pol) != 0)
		return CKR_GENERAL_ERROR;
	if ((rv = tpm_nv_define(t, &p->so, NV_ATTRS_SO, so_pol.digest, so_auth,
				&one, NV_SO_SIZE)) != CKR_OK ||
	    (rv = tpm_nv_define(t, &p->user, NV_ATTRS_USER, user_pol.digest,
				user_auth, secret, TPM_SECRET_LEN)) != CKR_OK)
		goto fail;
	/* Made as planned? (The plan's Names are what the store recorded
	 * before anything was made: crash recovery relies on them.) */
	{
		ESYS_TR tr;

		if ((rv = tpm_nv_open(t, &p->so, &tr)) != CKR_OK)
			goto fail;
		tpm_nv_close(t, &tr);
		if ((rv = tpm_nv_open(t, &p->user, &tr)) != CKR_OK)
			goto fail;
		tpm_nv_close(t, &tr);
	}
	return CKR_OK;
fail:
	if (rv != CKR_FUNCTION_REJECTED)
		T11_IGNORE(tpm_token_remove(t, p)); /* undo; the error stands */
	return rv;
}

CK_RV
tpm_token_remove(tpm_ctx *t, const tpm_pins *p)
{
	CK_RV rv = tpm_nv_undefine(t, &p->user),
	      rv2 = tpm_nv_undefine(t, &p->so);

	return rv != CKR_OK ? rv : rv2;
}

CK_RV
tpm_pin_read(tpm_ctx *t, const tpm_nv *nv, const uint8_t auth[TPM_AUTH_LEN],
	     uint8_t *out, size_t n)
{
	TPM2B_MAX_NV_BUFFER *d = NULL;
	ESYS_TR tr, sess;
	TSS2_RC rc;
	CK_RV rv;

	if ((rv = tpm_nv_open(t, nv, &tr)) != CKR_OK)
		return rv;
	if ((rv = tpm_session_attrs(t, &sess, SESS_OUT)) != CKR_OK)
		goto out;
	tpm_tr_auth(t, tr, auth);
	rc = TPM_CALL(t, "NV_Read",
		      Esys_NV_Read(t->esys, tr, tr, sess, ESYS_TR_NONE,
				   ESYS_TR_NONE, (UINT16)n, 0, &d));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr_auth(rc);
		goto out;
	}
	if (d->size != n)
		rv = CKR_DEVICE_ERROR;
	else
		memcpy(out, d->buffer, n);
	secure_zero(d, sizeof(*d));
	Esys_Free(d);
out:
	tpm_nv_close(t, &tr);
	return rv;
}

/* NV_ChangeAuth of target through a policy session that the caller has
 * satisfied up to its branch: adds PolicyCommandCode and the index's OR,
 * and sends newAuth encrypted by the salted session. */
static CK_RV
tpm_nv_change(tpm_ctx *t, ESYS_TR target, ESYS_TR policy, const pin_policy *pol,
	      const uint8_t new_auth[TPM_AUTH_LEN])
{
	TPML_DIGEST list = {0};
	TPM2B_AUTH na = {.size = TPM_AUTH_LEN};
	ESYS_TR sess;
	TSS2_RC rc;
	CK_RV rv;

	rc = TPM_CALL(t, "PolicyCommandCode",
		      Esys_PolicyCommandCode(t->esys, policy, ESYS_TR_NONE,
					     ESYS_TR_NONE, ESYS_TR_NONE,
					     TPM2_CC_NV_ChangeAuth));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	list.count = 2;
	list.digests[0].size = 32;
	memcpy(list.digests[0].buffer, pol->a, 32);
	list.digests[1].size = 32;
	memcpy(list.digests[1].buffer, pol->b, 32);
	rc = TPM_CALL(t, "PolicyOR",
		      Esys_PolicyOR(t->esys, policy, ESYS_TR_NONE, ESYS_TR_NONE,
				    ESYS_TR_NONE, &list));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
	if ((rv = tpm_session_attrs(t, &sess, SESS_IN)) != CKR_OK)
		return rv;
	memcpy(na.buffer, new_auth, TPM_AUTH_LEN);
	rc = TPM_CALL(t, "NV_ChangeAuth",
		      Esys_NV_ChangeAuth(t->esys, target, policy, sess,
					 ESYS_TR_NONE, &na));
	secure_zero(&na, sizeof(na));
	return rc == TSS2_RC_SUCCESS ? CKR_OK : tpm_rc_to_ckr_auth(rc);
}

CK_RV
tpm_pin_change(tpm_ctx *t, const tpm_pins *p, bool so,
	       const uint8_t old_auth[TPM_AUTH_LEN],
	       const uint8_t new_auth[TPM_AUTH_LEN])
{
	const tpm_nv *nv = so ? &p->so : &p->user;
	ESYS_TR tr, policy = ESYS_TR_NONE;
	pin_policy pol;
	TSS2_RC rc;
	CK_RV rv;

	if ((so ? policy_so_index(&p->tag, &pol)
		: policy_user_index(&p->so.name, &pol)) != 0)
		return CKR_GENERAL_ERROR;
	if ((rv = tpm_nv_open(t, nv, &tr)) != CKR_OK)
		return rv;
	if ((rv = tpm_policy_session(t, &policy)) != CKR_OK)
		goto out;
	/* The own branch: the policy session's HMAC proves the current
	 * authValue (PolicyAuthValue); a wrong one fails NV_ChangeAuth
	 * with TPM_RC_AUTH_FAIL and counts, as the index is not noDA. */
	rc = TPM_CALL(t, "PolicyAuthValue",
		      Esys_PolicyAuthValue(t->esys, policy, ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	tpm_tr_auth(t, tr, old_auth);
	rv = tpm_nv_change(t, tr, policy, &pol, new_auth);
out:
	tpm_policy_end(t, policy);
	tpm_nv_close(t, &tr);
	return rv;
}

CK_RV
tpm_pin_reset(tpm_ctx *t, const tpm_pins *p,
	      const uint8_t so_auth[TPM_AUTH_LEN],
	      const uint8_t new_auth[TPM_AUTH_LEN])
{
	ESYS_TR utr = ESYS_TR_NONE, str = ESYS_TR_NONE, policy = ESYS_TR_NONE;
	ESYS_TR sess;
	pin_policy pol;
	TSS2_RC rc;
	CK_RV rv;

	if (policy_user_index(&p->so.name, &pol) != 0)
		return CKR_GENERAL_ERROR;
	if ((rv = tpm_nv_open(t, &p->user, &utr)) != CKR_OK ||
	    (rv = tpm_nv_open(t, &p->so, &str)) != CKR_OK ||
	    (rv = tpm_policy_session(t, &policy)) != CKR_OK ||
	    (rv = tpm_session_attrs(t, &sess, SESS_PLAIN)) != CKR_OK)
		goto out;
	/* The SO branch: PolicySecret proves the SO PIN (the SO index's
	 * authValue) through the salted session; a wrong one counts. */
	tpm_tr_auth(t, str, so_auth);
	rc = TPM_CALL(t, "PolicySecret",
		      Esys_PolicySecret(t->esys, str, policy, sess,
					ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL,
					NULL, 0, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr_auth(rc);
		goto out;
	}
	rv = tpm_nv_change(t, utr, policy, &pol, new_auth);
out:
	tpm_policy_end(t, policy);
	tpm_nv_close(t, &utr);
	tpm_nv_close(t, &str);
	return rv;
}

/* --- keys ---------------------------------------------------------------- */

/* TPM2_Create under the SRK (empty authValue: a password session). With
 * an authValue for the new key, the salted session encrypts inSensitive,
 * the parameter that carries it. */
static CK_RV
tpm_create(tpm_ctx *t, TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
	   blob *pub, blob *priv, blob *cdata, blob *chash, blob *cticket)
{
	TPML_PCR_SELECTION pcr = {0};
	TPM2B_DATA outside = {0};
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	TPM2B_CREATION_DATA *ocd = NULL;
	TPM2B_DIGEST *och = NULL;
	TPMT_TK_CREATION *otk = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;
	bool secret = sens->sensitive.userAuth.size > 0 ||
		      sens->sensitive.data.size > 0;

	if (t->srk == ESYS_TR_NONE)
		return CKR_GENERAL_ERROR;
	/* TPM2_Create holds the new object in a slot of its own while it
	 * works, beside the SRK: two free slots (see tpm_make_room). */
	if ((rv = tpm_make_room(t, NULL)) != CKR_OK)
		return rv;
	if (secret && (rv = tpm_session_attrs(t, &sess, SESS_IN)) != CKR_OK)
		return rv;
	rc = TPM_CALL_ROOM(t, "Create",
			   Esys_Create(t->esys, t->srk, ESYS_TR_PASSWORD, sess,
				       ESYS_TR_NONE, sens, tmpl, &outside, &pcr,
				       &opriv, &opub, &ocd, &och, &otk));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_rc_to_ckr(rc);
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
tpm_key_create(tpm_ctx *t, tpm_key_type type, unsigned flags,
	       const uint8_t *auth, size_t auth_len, const tpm_pcr_sel *pcrs,
	       blob *pcr_values, const blob *signer, blob *pub, blob *priv,
	       blob *cdata, blob *chash, blob *cticket)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl;
	CK_RV rv;

	if (tpm_key_type_template(type, flags, &tmpl) != 0)
		return CKR_MECHANISM_INVALID;
	if (auth_len > sizeof(sens.sensitive.userAuth.buffer))
		return CKR_ARGUMENTS_BAD;
	if (pcrs != NULL && pcrs->mask != 0) {
		/* Bound to the PCRs' values now: only the policy authorises
		 * a use (userWithAuth clear), and it asks for the authValue
		 * too (PolicyPassword). */
		if ((rv = tpm_pcr_read(t, pcrs, pcr_values)) != CKR_OK)
			return rv;
		if (policy_pcr_key(pcrs, pcr_values,
				   tmpl.publicArea.authPolicy.buffer) != 0)
			return CKR_GENERAL_ERROR;
		tmpl.publicArea.authPolicy.size = 32;
		tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	} else if (signer != NULL && signer->len != 0) {
		if (policy_signer_key(signer,
				      tmpl.publicArea.authPolicy.buffer) != 0)
			return CKR_ARGUMENTS_BAD;
		tmpl.publicArea.authPolicy.size = 32;
		tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	}
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	if (auth_len)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	rv = tpm_create(t, &sens, &tmpl, pub, priv, cdata, chash, cticket);
	secure_zero(&sens, sizeof(sens));
	return rv;
}

CK_RV
tpm_key_import(tpm_ctx *t, tpm_key_type type, const uint8_t *auth,
	       size_t auth_len, const uint8_t *value, size_t len, blob *pub,
	       blob *priv)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_PUBLIC tmpl;
	CK_RV rv;

	if (tpm_key_type_template(type, 0, &tmpl) != 0 ||
	    len > sizeof(sens.sensitive.data.buffer) ||
	    auth_len > sizeof(sens.sensitive.userAuth.buffer))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	/* Not made by the TPM: sensitiveDataOrigin clear. */
	tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_SENSITIVEDATAORIGIN;
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	if (auth_len)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	sens.sensitive.data.size = (UINT16)len;
	memcpy(sens.sensitive.data.buffer, value, len);
	rv = tpm_create(t, &sens, &tmpl, pub, priv, NULL, NULL, NULL);
	secure_zero(&sens, sizeof(sens));
	return rv;
}

/* The public area of an imported key: the template of a key made in
 * the TPM, without fixedTPM, fixedParent (TPM2_Import refuses them) and
 * sensitiveDataOrigin (the key was made outside), with k's public part as
 * unique. */
static int
import_public(const tpm_privkey *k, TPM2B_PUBLIC *p)
{
	const tpm_pubkey *pk = &k->pub;
	size_t fl;

	if (tpm_key_type_template(pk->type, 0, p) != 0)
		return -1;
	p->publicArea.objectAttributes &=
		~(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		  TPMA_OBJECT_SENSITIVEDATAORIGIN);
	switch (pk->type) {
	case TPM_KEY_ECC_P256:
	case TPM_KEY_ECC_P384:
		fl = ec_field_len(pk->curve);
		if (fl == 0 || k->priv_len != fl ||
		    (pk->type == TPM_KEY_ECC_P256) != (pk->curve == CURVE_P256))
			return -1;
		p->publicArea.unique.ecc.x.size = (UINT16)fl;
		memcpy(p->publicArea.unique.ecc.x.buffer, pk->x, fl);
		p->publicArea.unique.ecc.y.size = (UINT16)fl;
		memcpy(p->publicArea.unique.ecc.y.buffer, pk->y, fl);
		return 0;
	case TPM_KEY_RSA_2048:
	case TPM_KEY_RSA_3072:
		if (pk->n_len * 8 !=
			    p->publicArea.parameters.rsaDetail.keyBits ||
		    k->priv_len != pk->n_len / 2 || pk->exponent < 3 ||
		    (pk->exponent & 1) == 0)
			return -1;
		/* 0 stands for 2^16 + 1, the exponent of keys the TPM makes */
		p->publicArea.parameters.rsaDetail.exponent =
			pk->exponent == 65537 ? 0 : pk->exponent;
		p->publicArea.unique.rsa.size = (UINT16)pk->n_len;
		memcpy(p->publicArea.unique.rsa.buffer, pk->n, pk->n_len);
		return 0;
	default:
		return -1;
	}
}

/* The duplication blob with an inner wrapper and no outer one (TPM 2.0
 * Part 1, "Duplication", inner duplication wrapper):
 *
 *   dup = AES-128-CFB(key, IV 0, TPM2B_DIGEST(innerIntegrity) ||
 *                                TPM2B_SENSITIVE)
 *   innerIntegrity = SHA-256(TPM2B_SENSITIVE || Name)
 *
 * Name = nameAlg (00 0B) || SHA-256(TPMT_PUBLIC). */
static int
import_wrap(const TPM2B_PUBLIC *p, const TPM2B_SENSITIVE *sens,
	    const uint8_t key[16], TPM2B_PRIVATE *dup)
{
	uint8_t name[2 + 64];
	size_t nl, slen = 0, hl = 2 + SHA256_DIGEST_LENGTH;
	uint8_t iv[16] = {0};
	EVP_CIPHER_CTX *cx = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int dl = 0;
	int outl = 0, r = -1;

	if (tpmt_public_name(&p->publicArea, name, &nl) != 0 || nl != hl)
		return -1;
	memset(dup, 0, sizeof(*dup));
	if (Tss2_MU_TPM2B_SENSITIVE_Marshal(sens, dup->buffer + hl,
					    sizeof(dup->buffer) - hl,
					    &slen) != TSS2_RC_SUCCESS)
		goto out;
	dup->buffer[0] = 0;
	dup->buffer[1] = SHA256_DIGEST_LENGTH;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, dup->buffer + hl, slen) != 1 ||
	    EVP_DigestUpdate(md, name, nl) != 1 ||
	    EVP_DigestFinal_ex(md, dup->buffer + 2, &dl) != 1 ||
	    dl != SHA256_DIGEST_LENGTH)
		goto out;
	if ((cx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cx, EVP_aes_128_cfb128(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(cx, dup->buffer, &outl, dup->buffer,
			      (int)(hl + slen)) != 1 ||
	    (size_t)outl != hl + slen)
		goto out;
	dup->size = (UINT16)(hl + slen);
	r = 0;
out:
	EVP_CIPHER_CTX_free(cx);
	EVP_MD_CTX_free(md);
	if (r != 0)
		secure_zero(dup, sizeof(*dup));
	return r;
}

CK_RV
tpm_key_import_private(tpm_ctx *t, const tpm_privkey *k, const uint8_t *auth,
		       size_t auth_len, blob *pub, blob *priv)
{
	TPM2B_PUBLIC p;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup;
	TPM2B_DATA key = {.size = 16};
	TPM2B_ENCRYPTED_SECRET seed = {0};
	TPMT_SYM_DEF_OBJECT sym = {
		.algorithm = TPM2_ALG_AES,
		.keyBits = {.aes = 128},
		.mode = {.aes = TPM2_ALG_CFB},
	};
	TPM2B_PRIVATE *opriv = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	CK_RV rv = CKR_OK;

	if (t->srk == ESYS_TR_NONE)
		return CKR_GENERAL_ERROR;
	if (import_public(k, &p) != 0 ||
	    auth_len > sizeof(sens.sensitiveArea.authValue.buffer))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memset(&sens, 0, sizeof(sens));
	sens.sensitiveArea.sensitiveType = p.publicArea.type;
	sens.sensitiveArea.authValue.size = (UINT16)auth_len;
	if (auth_len)
		memcpy(sens.sensitiveArea.authValue.buffer, auth, auth_len);
	if (p.publicArea.type == TPM2_ALG_ECC) {
		sens.sensitiveArea.sensitive.ecc.size = (UINT16)k->priv_len;
		memcpy(sens.sensitiveArea.sensitive.ecc.buffer, k->priv,
		       k->priv_len);
	} else {
		sens.sensitiveArea.sensitive.rsa.size = (UINT16)k->priv_len;
		memcpy(sens.sensitiveArea.sensitive.rsa.buffer, k->priv,
		       k->priv_len);
	}
	if (RAND_bytes(key.buffer, 16) != 1 ||
	    import_wrap(&p, &sens, key.buffer, &dup) != 0) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	/* encryptionKey is TPM2_Import's first parameter: the salted
	 * session encrypts it. */
	if ((rv = tpm_session_attrs(t, &sess, SESS_IN)) != CKR_OK)
		goto out;
	rc = TPM_CALL_ROOM(t, "Import",
			   Esys_Import(t->esys, t->srk, ESYS_TR_PASSWORD, sess,
				       ESYS_TR_NONE, &key, &p, &dup, &seed,
				       &sym, &opriv));
	if (rc != TSS2_RC_SUCCESS) {
		rv = tpm_rc_to_ckr(rc);
		goto out;
	}
	if (MARSHAL_TO_BLOB(TPM2B_PUBLIC, &p, pub) ||
	    MARSHAL_TO_BLOB(TPM2B_PRIVATE, opriv, priv))
		rv = CKR_HOST_MEMORY;
out:
	Esys_Free(opriv);
	secure_zero(&sens, sizeof(sens));
	secure_zero(&dup, sizeof(dup));
	secure_zero(&key, sizeof(key));
	return rv;
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
	ESYS_TR ka;
	size_t fl = ec_field_len(curve), use;
	hash_algo h;
	CK_RV rv;

	/* ECDSA uses the leftmost bits of the digest, up to the order's
	 * size (SEC 1, 4.1.3 step 5). The TPM wants a digest of a hash it
	 * knows: pick the hash by length, truncating a longer input to the
	 * field size first and zero-padding a short one on the left. A
	 * SHA-1 digest is padded too (the same integer, so the same
	 * signature): many TPMs no longer offer SHA-1, and TPM2_Sign names
	 * the hash in its scheme. */
	use = dlen > fl ? fl : dlen;
	if ((h = hash_by_len(use)) == HASH_NONE || h == HASH_SHA1) {
		h = fl == 32 ? HASH_SHA256 : HASH_SHA384;
		d.size = (UINT16)hash_len(h);
		memcpy(d.buffer + d.size - use, digest, use);
	} else {
		d.size = (UINT16)use;
		memcpy(d.buffer, digest, use);
	}
	scheme.scheme = TPM2_ALG_ECDSA;
	switch (h) {
	case HASH_SHA256:
		scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		break;
	case HASH_SHA384:
		scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA384;
		break;
	case HASH_SHA512:
		scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA512;
		break;
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
	/* The steady path: one TPM2_Sign, the key's authValue in a password
	 * session (docs/design.md, "Why a password session"). */
	if ((rv = tpm_key_auth(t, k, &ka)) != CKR_OK)
		return rv;
	rv = TPM_KEY_CALL(t, k, "Sign",
			  Esys_Sign(t->esys, k->tr, ka, ESYS_TR_NONE,
				    ESYS_TR_NONE, &d, &scheme, &check, &s));
	if ((rv = tpm_key_auth_done(t, k, ka, rv)) != CKR_OK)
		return rv;
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
tpm_rsa_raw(tpm_ctx *t, tpm_key *k, const uint8_t *in, size_t len, bool secret,
	    uint8_t *out, size_t *outlen)
{
	TPM2B_PUBLIC_KEY_RSA c = {0};
	TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_NULL};
	TPM2B_DATA label = {0};
	TPM2B_PUBLIC_KEY_RSA *m = NULL;
	ESYS_TR sess = ESYS_TR_NONE, ka;
	CK_RV rv;

	if (len > sizeof(c.buffer))
		return CKR_DATA_LEN_RANGE;
	c.size = (UINT16)len;
	memcpy(c.buffer, in, len);
	/* A decryption's result is a secret: the salted session encrypts it
	 * on its way back. A signature is public anyway. */
	if (secret && (rv = tpm_session_attrs(t, &sess, SESS_OUT)) != CKR_OK)
		return rv;
	if ((rv = tpm_key_auth(t, k, &ka)) != CKR_OK)
		return rv;
	rv = TPM_KEY_CALL(t, k, "RSA_Decrypt",
			  Esys_RSA_Decrypt(t->esys, k->tr, ka, sess,
					   ESYS_TR_NONE, &c, &scheme, &label,
					   &m));
	if ((rv = tpm_key_auth_done(t, k, ka, rv)) != CKR_OK)
		return rv;
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

/* --- for the other files of src/tpm/ (call.h) ---------------------------- */

ESYS_CONTEXT *
tpm_esys(tpm_ctx *t)
{
	return t->esys;
}

ESYS_TR
tpm_srk_tr(tpm_ctx *t)
{
	return t->srk;
}

void
tpm_mark_ours(tpm_ctx *t, ESYS_TR tr, bool ours)
{
	size_t i;

	if (tr == ESYS_TR_NONE || tr == ESYS_TR_PASSWORD)
		return;
	for (i = 0; i < sizeof(t->ours) / sizeof(t->ours[0]); i++) {
		if (ours && t->ours[i] == ESYS_TR_NONE) {
			t->ours[i] = tr;
			return;
		}
		if (!ours && t->ours[i] == tr)
			t->ours[i] = ESYS_TR_NONE;
	}
	if (ours)
		log_error("tpm: more than %zu attestation objects loaded at "
			  "once: a full TPM's clean-up may flush one",
			  i);
}

CK_RV
tpm_key_load(tpm_ctx *t, tpm_key *k)
{
	return tpm_key_ensure(t, k);
}

CK_RV
tpm_ecdh_zgen(tpm_ctx *t, tpm_key *k, ec_curve curve, const uint8_t *x,
	      const uint8_t *y, uint8_t *z)
{
	TPM2B_ECC_POINT in = {0};
	TPM2B_ECC_POINT *out = NULL;
	size_t fl = ec_field_len(curve);
	ESYS_TR sess, ka;
	CK_RV rv;

	in.point.x.size = (UINT16)fl;
	memcpy(in.point.x.buffer, x, fl);
	in.point.y.size = (UINT16)fl;
	memcpy(in.point.y.buffer, y, fl);
	/* Z is the shared secret: encrypted on its way back. */
	if ((rv = tpm_session_attrs(t, &sess, SESS_OUT)) != CKR_OK)
		return rv;
	if ((rv = tpm_key_auth(t, k, &ka)) != CKR_OK)
		return rv;
	rv = TPM_KEY_CALL(t, k, "ECDH_ZGen",
			  Esys_ECDH_ZGen(t->esys, k->tr, ka, sess, ESYS_TR_NONE,
					 &in, &out));
	if ((rv = tpm_key_auth_done(t, k, ka, rv)) != CKR_OK)
		return rv;
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
	ESYS_TR sess;
	CK_RV rv;

	while (len > 0) {
		/* Chunks of whole blocks, at most TPM2_MAX_DIGEST_BUFFER. */
		size_t n = len > 1024 ? 1024 : len;

		data.size = (UINT16)n;
		memcpy(data.buffer, in, n);
		/* ECB has no IV: the TPM wants an empty one. */
		ivin.size = mode == TPM2_ALG_ECB ? 0 : 16;
		memcpy(ivin.buffer, iv, 16);
		/* The plaintext is the data going in (encrypt) or coming
		 * out (decrypt), the first parameter either way: the salted
		 * session encrypts both directions. */
		if ((rv = tpm_session_attrs(t, &sess, SESS_IN | SESS_OUT)) !=
		    CKR_OK)
			return rv;
		rv = TPM_KEY_CALL(
			t, k, "EncryptDecrypt2",
			Esys_EncryptDecrypt2(t->esys, k->tr, ESYS_TR_PASSWORD,
					     sess, ESYS_TR_NONE, &data,
					     decrypt ? TPM2_YES : TPM2_NO, mode,
					     &ivin, &o, &ivout));
		secure_zero(&data, sizeof(data));
		if (rv != CKR_OK)
			return rv;
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
	case HASH_SHA1:
		return TPM2_ALG_SHA1;
	case HASH_SHA256:
		return TPM2_ALG_SHA256;
	case HASH_SHA384:
		return TPM2_ALG_SHA384;
	case HASH_SHA512:
		return TPM2_ALG_SHA512;
	default:
		return TPM2_ALG_NULL;
	}
}

CK_RV
tpm_hmac(tpm_ctx *t, tpm_key *k, hash_algo alg, const uint8_t *data, size_t len,
	 uint8_t *out)
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
	if (len <= sizeof(buf.buffer)) {
		buf.size = (UINT16)len;
		memcpy(buf.buffer, data, len);
		rv = TPM_KEY_CALL(t, k, "HMAC",
				  Esys_HMAC(t->esys, k->tr, ESYS_TR_PASSWORD,
					    ESYS_TR_NONE, ESYS_TR_NONE, &buf, h,
					    &d));
		secure_zero(&buf, sizeof(buf));
		if (rv != CKR_OK)
			return rv;
		goto done;
	}
	/* Longer: an HMAC sequence, which takes an object slot. */
	if ((rv = tpm_make_room(t, k)) != CKR_OK)
		return rv;
	rv = TPM_KEY_CALL(t, k, "HMAC_Start",
			  Esys_HMAC_Start(t->esys, k->tr, ESYS_TR_PASSWORD,
					  ESYS_TR_NONE, ESYS_TR_NONE, &empty, h,
					  &seq));
	if (rv != CKR_OK)
		return rv;
	while (len > sizeof(buf.buffer)) {
		buf.size = sizeof(buf.buffer);
		memcpy(buf.buffer, data, buf.size);
		rc = TPM_CALL(
			t, "SequenceUpdate",
			Esys_SequenceUpdate(t->esys, seq, ESYS_TR_PASSWORD,
					    ESYS_TR_NONE, ESYS_TR_NONE, &buf));
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

tpm_key_type
tpm_hmac_type(hash_algo h)
{
	switch (h) {
	case HASH_SHA1:
		return TPM_KEY_HMAC_SHA1;
	case HASH_SHA256:
		return TPM_KEY_HMAC;
	case HASH_SHA384:
		return TPM_KEY_HMAC_SHA384;
	case HASH_SHA512:
		return TPM_KEY_HMAC_SHA512;
	default:
		return TPM_KEY_NONE;
	}
}
