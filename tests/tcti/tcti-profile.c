/*
 * libtss2-tcti-tpmprofile.so: a TCTI that makes the TPM behind another TCTI
 * behave like a given chip (issue 14 item 2). For the tests and the
 * benchmark; built with the project, never installed.
 *
 * Configuration string (a tctildr name is this library's full path):
 *
 *   TPM11_TCTI=/path/libtss2-tcti-tpmprofile.so:PROFILE:INNER
 *   e.g.  .../libtss2-tcti-tpmprofile.so:minimal:swtpm:path=/x/tpm.sock
 *
 * PROFILE ends at the first ':'. A PROFILE with a '/' is the path of a
 * profile file; otherwise it names PROFILE.profile in $TPM11_PROFILE_DIR,
 * or else in tests/tcti/profiles of the source tree this was built from.
 * INNER is any tctildr string (empty: tctildr's default TCTI).
 *
 * Profile files: one setting a line, "key value...", '#' starts a comment.
 *
 *   hide-algorithm ALG...   algorithms the chip lacks (tpm2-tools names:
 *                           sha1 sha384 aes cbc ecdaa ..., or 0xID)
 *   hide-command CC...      commands the chip lacks (Part 2 names such as
 *                           EncryptDecrypt, optional TPM2_ prefix, or 0xCC)
 *   ecc-curves CURVE...     the only curves (nist_p256 nist_p384 bn_p256 ...)
 *   rsa-key-bits N...       the only RSA key sizes
 *   aes-key-bits N...       the only AES key sizes
 *   max-transient N         transient objects loaded at once (0: no limit
 *                           other than the TPM's own)
 *   max-sessions N          sessions loaded at once (0: likewise)
 *   latency default MS      added to every command the TPM runs
 *   latency CC MS           ... to command CC instead
 *   latency CC/TYPE MS      ... to CC on a key of TYPE (rsa ecc keyedhash
 *                           symcipher): the new key's type for Create,
 *                           CreatePrimary and CreateLoaded, else the type of
 *                           the object at the command's first handle when
 *                           this TCTI saw it loaded
 *   fault KIND RATE         KIND: retry yielded testing nv_rate drop cut;
 *                           RATE: probability per command, 0 to 1
 *   seed N                  the fault generator's seed (default 1)
 *
 * Settings accumulate (hide-*, list keys) or the last one wins (numbers).
 * An unknown key or a bad value fails initialisation with
 * "tpmprofile: FILE:LINE: ..." on stderr.
 *
 * Environment:
 *   TPM11_PROFILE_FAULTS=KIND:RATE,...  replaces every fault line of the
 *                                       profile ("" or "none": no faults)
 *   TPM11_PROFILE_SEED=N                replaces the profile's seed
 *   TPM11_PROFILE_LOG=FILE              one line per command appended to
 *                                       FILE: "N CommandName action"
 *   TPM11_PROFILE_DIR=DIR               where profile names are looked up
 *
 * What happens to a command, in this order:
 *  1. A hidden command is answered TPM_RC_COMMAND_CODE (Part 2, table 16:
 *     "command code not supported").
 *  2. A command whose parameters name something hidden is answered with
 *     the error the reference implementation gives when it unmarshals that
 *     parameter (Part 2 gives each interface type its error, the "#TPM_RC_"
 *     line of its table; libtpms, the reference code swtpm runs, answers
 *     the same): TPM_RC_TYPE (object type), TPM_RC_HASH (hash),
 *     TPM_RC_SYMMETRIC (symmetric algorithm), TPM_RC_MODE (block mode),
 *     TPM_RC_VALUE (RSA or keyed-hash scheme, RSA or AES key size),
 *     TPM_RC_SCHEME (ECC scheme), TPM_RC_CURVE (curve), TPM_RC_KDF (KDF),
 *     each with the parameter's number (Part 1, 39.4: RC_FMT1 + RC_P +
 *     number << 8). An unsupported RSA size is TPM_RC_VALUE, not
 *     TPM_RC_KEY_SIZE: TPMI_RSA_KEY_BITS' error; swtpm answers rsa4096 and
 *     real chips answer rsa3072 with 0x2C4 (tpm2-tools issue #1909).
 *     Checked: the public areas of Create, CreatePrimary, CreateLoaded,
 *     Load, LoadExternal and Import, TestParms, StartAuthSession's
 *     symmetric and hash, the hash of Hash, HMAC, HMAC_Start and
 *     HashSequenceStart, Sign's scheme, ECC_Parameters' curve.
 *  3. A fault, drawn from the seeded generator once per command that got
 *     here (the same seed and commands give the same faults; each
 *     connection of a process starts from the seed plus its number):
 *     retry, yielded, testing, nv_rate (only for commands that write NV):
 *       answered TPM_RC_RETRY / YIELDED / TESTING / NV_RATE (Part 2,
 *       table 16) with a 10-byte header, as the TPM answers a command it
 *       did not start; the command never reaches the TPM.
 *     drop: the connection is lost. Transmit succeeds, Receive fails with
 *       TSS2_TCTI_RC_IO_ERROR, and the command never reaches the TPM. The
 *       wrapped TCTI is closed then: a resource manager (tpm2-abrmd,
 *       /dev/tpmrm0) flushes what the connection had loaded when it closes,
 *       which is what a client sees after a real connection loss. The next
 *       Transmit opens the wrapped TCTI again (and fails if it cannot), and
 *       this TCTI relearns what is loaded from the TPM (GetCapability of
 *       the transient and loaded-session handles).
 *     cut: the response is cut short: Receive delivers 6 of the 10 bytes
 *       of a response header (tag and size, no responseCode); the command
 *       never reaches the TPM. (Shorter than a header on purpose: tss2-sys
 *       does not compare a header's size with what arrived, and the TCTIs
 *       of real devices do that themselves.)
 *  4. Limits: a command that would load an object (CreatePrimary, Load,
 *     LoadExternal, CreateLoaded, HMAC_Start, HashSequenceStart,
 *     ContextLoad of an object) while max-transient objects are loaded is
 *     answered TPM_RC_OBJECT_MEMORY; each persistent handle in a command's
 *     handle area needs a free object slot while the command runs, as in
 *     the reference implementation (it loads the persistent object into a
 *     transient slot). StartAuthSession or ContextLoad of a session while
 *     max-sessions are loaded is answered TPM_RC_SESSION_MEMORY. Counted:
 *     the handles that responses hand out, minus FlushContext, completed
 *     sequences, sessions saved by ContextSave, and sessions used without
 *     continueSession in a command that succeeded. When a connection opens,
 *     this TCTI first asks what is loaded (GetCapability of the transient
 *     and loaded-session handles, not shown to the client): through a
 *     resource manager that is the connection's own, on a TPM used
 *     directly all the TPM holds, which is what limits a real chip.
 *  5. Otherwise the command goes to the wrapped TCTI. On the way back,
 *     GetCapability answers are edited: hidden algorithms, curves,
 *     commands and PCR banks are left out; TPM_PT_HR_TRANSIENT_MIN,
 *     TPM_PT_HR_LOADED_MIN and their _AVAIL are the profile's limits and
 *     TPM_PT_MAX_DIGEST the largest digest left. (A GetCapability with an
 *     audit session is passed unedited: editing would break its HMAC.)
 *     The command's latency is slept before Receive returns the response
 *     (the wrapped TPM's own time comes on top: swtpm takes about 1 ms).
 *     Answers made here (1 to 4) come at once.
 *
 * One command at a time per context, as for any TCTI.
 */
#include <dlfcn.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tpm2_types.h>

#define TCTI_WRAP_MAGIC 0x7470726f66696c65ULL /* "tprofile" */
#include "tcti-wrap.h"

#ifndef TPMPROFILE_DIR
#define TPMPROFILE_DIR "tests/tcti/profiles"
#endif

#define BUF_MAX 4096 /* TPM2_MAX_COMMAND_SIZE, the TSS's buffer size */
#define ALG_SLOTS 0x50 /* TPM_ALG_ID values this TCTI knows, 0..0x4f */
#define LIST_MAX 16
#define TRACK_MAX 64

enum fault { F_RETRY, F_YIELDED, F_TESTING, F_NV_RATE, F_DROP, F_CUT, F_COUNT };
static const char *const fault_names[F_COUNT] = {
	"retry", "yielded", "testing", "nv_rate", "drop", "cut",
};

typedef struct {
	uint8_t hidden_alg[ALG_SLOTS];
	uint8_t hidden_cc[TCTI_CC_SLOTS];
	uint16_t curves[LIST_MAX], rsa_bits[LIST_MAX], aes_bits[LIST_MAX];
	size_t n_curves, n_rsa_bits, n_aes_bits; /* 0: the TPM's own */
	uint32_t max_transient, max_sessions; /* 0: the TPM's own */
	int32_t latency_default; /* ms */
	int32_t latency[TCTI_CC_SLOTS][K_COUNT]; /* ms; -1: not set */
	double fault[F_COUNT];
	uint64_t seed;
} profile;

enum state { S_IDLE, S_SENT, S_READY, S_DROPPED };

typedef struct {
	tcti_wrap w;
	profile p;
	char inner_conf[1024];
	char log_path[512];
	uint64_t rng;
	uint64_t n_cmd;
	tracked_object obj[TRACK_MAX];
	size_t n_obj;
	uint32_t sess[TRACK_MAX];
	size_t n_sess;
	/* the command in flight */
	enum state state;
	uint32_t cc;
	uint16_t cmd_tag;
	uint32_t handles[3];
	size_t n_handles;
	uint32_t ending[3]; /* sessions used without continueSession */
	size_t n_ending;
	uint32_t flush_handle; /* FlushContext's parameter */
	uint32_t cap, cap_property; /* GetCapability's parameters */
	enum kind new_kind; /* of the object Create* or Load* makes */
	struct timespec ready; /* when the response may be given out */
	uint8_t rsp[BUF_MAX];
	size_t rsp_len;
} profile_ctx;

/* --- names ------------------------------------------------------------ */

typedef struct {
	const char *name;
	uint16_t id;
} named;

/* TPM 2.0 Part 2, table 9 (TPM_ALG_ID), with tpm2-tools' spellings. */
static const named alg_names[] = {
	{ "rsa", TPM2_ALG_RSA }, { "tdes", TPM2_ALG_TDES }, { "sha1", TPM2_ALG_SHA1 },
	{ "hmac", TPM2_ALG_HMAC }, { "aes", TPM2_ALG_AES }, { "mgf1", TPM2_ALG_MGF1 },
	{ "keyedhash", TPM2_ALG_KEYEDHASH }, { "xor", TPM2_ALG_XOR },
	{ "sha256", TPM2_ALG_SHA256 }, { "sha384", TPM2_ALG_SHA384 },
	{ "sha512", TPM2_ALG_SHA512 }, { "null", TPM2_ALG_NULL },
	{ "sm3_256", TPM2_ALG_SM3_256 }, { "sm4", TPM2_ALG_SM4 },
	{ "rsassa", TPM2_ALG_RSASSA }, { "rsaes", TPM2_ALG_RSAES },
	{ "rsapss", TPM2_ALG_RSAPSS }, { "oaep", TPM2_ALG_OAEP },
	{ "ecdsa", TPM2_ALG_ECDSA }, { "ecdh", TPM2_ALG_ECDH }, { "ecdaa", TPM2_ALG_ECDAA },
	{ "sm2", TPM2_ALG_SM2 }, { "ecschnorr", TPM2_ALG_ECSCHNORR },
	{ "ecmqv", TPM2_ALG_ECMQV }, { "kdf1_sp800_56a", TPM2_ALG_KDF1_SP800_56A },
	{ "kdf2", TPM2_ALG_KDF2 }, { "kdf1_sp800_108", TPM2_ALG_KDF1_SP800_108 },
	{ "ecc", TPM2_ALG_ECC }, { "symcipher", TPM2_ALG_SYMCIPHER },
	{ "camellia", TPM2_ALG_CAMELLIA }, { "sha3_256", TPM2_ALG_SHA3_256 },
	{ "sha3_384", TPM2_ALG_SHA3_384 }, { "sha3_512", TPM2_ALG_SHA3_512 },
	{ "ctr", TPM2_ALG_CTR }, { "ofb", TPM2_ALG_OFB }, { "cbc", TPM2_ALG_CBC },
	{ "cfb", TPM2_ALG_CFB }, { "ecb", TPM2_ALG_ECB },
};

/* Part 2, table 10 (TPM_ECC_CURVE). */
static const named curve_names[] = {
	{ "nist_p192", TPM2_ECC_NIST_P192 }, { "nist_p224", TPM2_ECC_NIST_P224 },
	{ "nist_p256", TPM2_ECC_NIST_P256 }, { "nist_p384", TPM2_ECC_NIST_P384 },
	{ "nist_p521", TPM2_ECC_NIST_P521 }, { "bn_p256", TPM2_ECC_BN_P256 },
	{ "bn_p638", TPM2_ECC_BN_P638 }, { "sm2_p256", TPM2_ECC_SM2_P256 },
};

/* Digest sizes, for TPM_PT_MAX_DIGEST. */
static const named digest_sizes[] = {
	{ "sha1", 20 }, { "sha256", 32 }, { "sha384", 48 }, { "sha512", 64 },
	{ "sm3_256", 32 }, { "sha3_256", 32 }, { "sha3_384", 48 }, { "sha3_512", 64 },
};

static int
name_lookup(const named *t, size_t n, const char *s, uint16_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(t[i].name, s) == 0) {
			*out = t[i].id;
			return 0;
		}
	return -1;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_alg(const char *s, uint16_t *out)
{
	unsigned long v;
	if (name_lookup(alg_names, sizeof(alg_names) / sizeof(alg_names[0]), s, out) == 0)
		return 0;
	if (parse_uint(s, ALG_SLOTS - 1, &v) != 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
parse_cc(const char *s, uint32_t *out)
{
	unsigned long v;
	if (strncasecmp(s, "TPM2_", 5) == 0)
		s += 5;
	else if (strncasecmp(s, "TPM_CC_", 7) == 0)
		s += 7;
	for (uint32_t cc = TCTI_CC_BASE; cc < TCTI_CC_BASE + TCTI_CC_SLOTS; cc++) {
		const char *n = tcti_cc_name(cc);
		if (n != NULL && strcasecmp(n, s) == 0) {
			*out = cc;
			return 0;
		}
	}
	if (parse_uint(s, TCTI_CC_BASE + TCTI_CC_SLOTS - 1, &v) != 0 || v < TCTI_CC_BASE)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* --- profile files ------------------------------------------------------ */

static void
profile_defaults(profile *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < TCTI_CC_SLOTS; i++)
		for (size_t k = 0; k < K_COUNT; k++)
			p->latency[i][k] = -1;
	p->seed = 1;
}

static void
profile_error(const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "tpmprofile: %s:%u: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

/* "KIND RATE" (a profile line) or "KIND:RATE" (the environment). */
static int
fault_set(profile *p, const char *kind, const char *rate)
{
	for (size_t f = 0; f < F_COUNT; f++)
		if (strcmp(kind, fault_names[f]) == 0)
			return parse_rate(rate, &p->fault[f]);
	return -1;
}

static int
uint16_list(char **v, size_t n, uint16_t *list, size_t *count, unsigned long max)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long x;
		if (parse_uint(v[i], max, &x) != 0 || *count == LIST_MAX)
			return (int)i + 1;
		list[(*count)++] = (uint16_t)x;
	}
	return 0;
}

/* One line's words (v[0] the key): 0, or -1 after the message. */
static int
profile_line(profile *p, const char *file, unsigned ln, char **v, size_t n)
{
	const char *key = v[0];
	unsigned long x;
	int bad;
	if (n < 2) {
		profile_error(file, ln, "'%s' needs a value", key);
		return -1;
	}
	if (strcmp(key, "hide-algorithm") == 0) {
		for (size_t i = 1; i < n; i++) {
			uint16_t a;
			if (parse_alg(v[i], &a) != 0) {
				profile_error(file, ln, "hide-algorithm: unknown algorithm '%s'", v[i]);
				return -1;
			}
			p->hidden_alg[a] = 1;
		}
	} else if (strcmp(key, "hide-command") == 0) {
		for (size_t i = 1; i < n; i++) {
			uint32_t cc;
			if (parse_cc(v[i], &cc) != 0) {
				profile_error(file, ln, "hide-command: unknown command '%s'", v[i]);
				return -1;
			}
			p->hidden_cc[cc - TCTI_CC_BASE] = 1;
		}
	} else if (strcmp(key, "ecc-curves") == 0) {
		for (size_t i = 1; i < n; i++) {
			uint16_t c;
			if (name_lookup(curve_names, sizeof(curve_names) / sizeof(curve_names[0]),
					v[i], &c) != 0 ||
			    p->n_curves == LIST_MAX) {
				profile_error(file, ln, "ecc-curves: unknown curve '%s'", v[i]);
				return -1;
			}
			p->curves[p->n_curves++] = c;
		}
	} else if (strcmp(key, "rsa-key-bits") == 0 || strcmp(key, "aes-key-bits") == 0) {
		int rsa = key[0] == 'r';
		bad = uint16_list(v + 1, n - 1, rsa ? p->rsa_bits : p->aes_bits,
				  rsa ? &p->n_rsa_bits : &p->n_aes_bits, 16384);
		if (bad) {
			profile_error(file, ln, "%s: bad key size '%s'", key, v[bad]);
			return -1;
		}
	} else if (strcmp(key, "max-transient") == 0 || strcmp(key, "max-sessions") == 0) {
		if (n != 2 || parse_uint(v[1], TRACK_MAX, &x) != 0) {
			profile_error(file, ln, "%s: '%s' is not a number from 0 to %d", key, v[1],
				      TRACK_MAX);
			return -1;
		}
		if (key[4] == 't')
			p->max_transient = (uint32_t)x;
		else
			p->max_sessions = (uint32_t)x;
	} else if (strcmp(key, "latency") == 0) {
		if (n != 3 || parse_uint(v[2], 600000, &x) != 0) {
			profile_error(file, ln, "latency: want 'latency default|COMMAND[/TYPE] MS', "
						"MS from 0 to 600000");
			return -1;
		}
		if (strcmp(v[1], "default") == 0) {
			p->latency_default = (int32_t)x;
			return 0;
		}
		char *slash = strchr(v[1], '/');
		size_t k = K_ANY;
		if (slash != NULL) {
			*slash++ = '\0';
			for (k = 1; k < K_COUNT && strcmp(slash, kind_names[k]) != 0; k++)
				;
			if (k == K_COUNT) {
				profile_error(file, ln, "latency: unknown key type '%s' "
							"(rsa, ecc, keyedhash, symcipher)", slash);
				return -1;
			}
		}
		uint32_t cc;
		if (parse_cc(v[1], &cc) != 0) {
			profile_error(file, ln, "latency: unknown command '%s'", v[1]);
			return -1;
		}
		p->latency[cc - TCTI_CC_BASE][k] = (int32_t)x;
	} else if (strcmp(key, "fault") == 0) {
		if (n != 3 || fault_set(p, v[1], v[2]) != 0) {
			profile_error(file, ln, "fault: want 'fault KIND RATE', KIND one of retry "
						"yielded testing nv_rate drop cut, RATE from 0 to 1");
			return -1;
		}
	} else if (strcmp(key, "seed") == 0) {
		if (n != 2 || parse_uint(v[1], ~0UL, &x) != 0) {
			profile_error(file, ln, "seed: '%s' is not a number", v[1]);
			return -1;
		}
		p->seed = x;
	} else {
		profile_error(file, ln, "unknown key '%s'", key);
		return -1;
	}
	return 0;
}

static int
profile_load(profile *p, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "tpmprofile: cannot open profile %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[1024];
	unsigned ln = 0;
	int r = 0;
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		ln++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			profile_error(path, ln, "line longer than %zu characters", sizeof(line) - 2);
			r = -1;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *v[64];
		size_t n = 0;
		for (char *t = strtok(line, " \t\r\n"); t != NULL; t = strtok(NULL, " \t\r\n")) {
			if (n == sizeof(v) / sizeof(v[0])) {
				profile_error(path, ln, "more than %zu words", n);
				r = -1;
				break;
			}
			v[n++] = t;
		}
		if (r == 0 && n > 0)
			r = profile_line(p, path, ln, v, n);
	}
	fclose(f);
	return r;
}

/* TPM11_PROFILE_FAULTS and TPM11_PROFILE_SEED over the profile's. */
static int
profile_env(profile *p)
{
	const char *s = getenv("TPM11_PROFILE_FAULTS");
	if (s != NULL) {
		char buf[512];
		memset(p->fault, 0, sizeof(p->fault));
		if (strlen(s) >= sizeof(buf))
			goto bad_faults;
		strcpy(buf, s);
		if (strcmp(buf, "none") == 0)
			buf[0] = '\0';
		for (char *t = strtok(buf, ","); t != NULL; t = strtok(NULL, ",")) {
			char *colon = strchr(t, ':');
			if (colon == NULL)
				goto bad_faults;
			*colon = '\0';
			if (fault_set(p, t, colon + 1) != 0)
				goto bad_faults;
		}
	}
	s = getenv("TPM11_PROFILE_SEED");
	if (s != NULL) {
		unsigned long x;
		if (parse_uint(s, ~0UL, &x) != 0) {
			fprintf(stderr, "tpmprofile: TPM11_PROFILE_SEED='%s' is not a number\n", s);
			return -1;
		}
		p->seed = x;
	}
	return 0;
bad_faults:
	fprintf(stderr, "tpmprofile: TPM11_PROFILE_FAULTS='%s': want KIND:RATE,... with KIND "
			"one of retry yielded testing nv_rate drop cut and RATE from 0 to 1\n",
		s);
	return -1;
}

/* --- the fault generator: splitmix64, so a seed gives the same run ------- */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* --- reading TPM structures (big-endian, Part 1, 18) --------------------- */

typedef struct {
	const uint8_t *p;
	size_t n;
	int bad; /* ran past the end */
} rd;

static uint32_t
rd_n(rd *r, size_t n)
{
	uint32_t v = 0;
	if (r->bad || r->n < n) {
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	r->n -= n;
	return v;
}

static uint8_t
rd8(rd *r)
{
	return (uint8_t)rd_n(r, 1);
}

static uint16_t
rd16(rd *r)
{
	return (uint16_t)rd_n(r, 2);
}

static uint32_t
rd32(rd *r)
{
	return rd_n(r, 4);
}

static void
rd_skip(rd *r, size_t n)
{
	if (r->bad || r->n < n) {
		r->bad = 1;
		return;
	}
	r->p += n;
	r->n -= n;
}

/* Skips a TPM2B (size, then that many bytes). */
static void
rd_2b(rd *r)
{
	rd_skip(r, rd16(r));
}

/* --- what the profile allows -------------------------------------------- */

static int
alg_hidden(const profile *p, uint16_t alg)
{
	return alg < ALG_SLOTS && p->hidden_alg[alg];
}

static int
in_list(const uint16_t *list, size_t n, uint16_t v)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

/* Each check returns 0, or the format-one TPM_RC the TPM gives when it
 * unmarshals the offending field (number and P added by the caller). */

static TPM2_RC
check_hash(const profile *p, uint16_t alg)
{
	/* TPMI_ALG_HASH: #TPM_RC_HASH */
	return alg != TPM2_ALG_NULL && alg_hidden(p, alg) ? TPM2_RC_HASH : 0;
}

/* TPMT_SYM_DEF_OBJECT and TPMT_SYM_DEF: algorithm, keyBits, mode. */
static TPM2_RC
check_sym_def(const profile *p, rd *r)
{
	uint16_t alg = rd16(r);
	if (alg == TPM2_ALG_NULL)
		return 0;
	if (alg_hidden(p, alg))
		return TPM2_RC_SYMMETRIC; /* TPMI_ALG_SYM(_OBJECT): #TPM_RC_SYMMETRIC */
	uint16_t bits = rd16(r);
	if (alg == TPM2_ALG_XOR)
		return check_hash(p, bits); /* XOR's "keyBits" is a hash */
	if (alg == TPM2_ALG_AES && !in_list(p->aes_bits, p->n_aes_bits, bits))
		return TPM2_RC_VALUE; /* TPMI_AES_KEY_BITS: #TPM_RC_VALUE */
	uint16_t mode = rd16(r);
	if (mode != TPM2_ALG_NULL && alg_hidden(p, mode))
		return TPM2_RC_MODE; /* TPMI_ALG_SYM_MODE: #TPM_RC_MODE */
	return 0;
}

/* A scheme (algorithm, then a hash unless NULL or RSAES; ECDAA adds a
 * count): bad_scheme is the scheme type's own error. */
static TPM2_RC
check_scheme(const profile *p, rd *r, TPM2_RC bad_scheme)
{
	uint16_t scheme = rd16(r);
	if (scheme == TPM2_ALG_NULL)
		return 0;
	if (alg_hidden(p, scheme))
		return bad_scheme;
	if (scheme == TPM2_ALG_RSAES)
		return 0;
	TPM2_RC rc = check_hash(p, rd16(r));
	if (rc == 0 && scheme == TPM2_ALG_ECDAA)
		rd16(r);
	if (rc == 0 && scheme == TPM2_ALG_XOR) {
		uint16_t kdf = rd16(r);
		if (kdf != TPM2_ALG_NULL && alg_hidden(p, kdf))
			return TPM2_RC_KDF; /* TPMI_ALG_KDF: #TPM_RC_KDF */
	}
	return rc;
}

/* TPMU_PUBLIC_PARMS for type (Part 2, 12.2.3.7). */
static TPM2_RC
check_parms(const profile *p, rd *r, uint16_t type)
{
	TPM2_RC rc;
	switch (type) {
	case TPM2_ALG_KEYEDHASH:
		/* TPMI_ALG_KEYEDHASH_SCHEME: #TPM_RC_VALUE */
		return check_scheme(p, r, TPM2_RC_VALUE);
	case TPM2_ALG_SYMCIPHER:
		return check_sym_def(p, r);
	case TPM2_ALG_RSA:
		if ((rc = check_sym_def(p, r)) != 0)
			return rc;
		/* TPMI_ALG_RSA_SCHEME: #TPM_RC_VALUE */
		if ((rc = check_scheme(p, r, TPM2_RC_VALUE)) != 0)
			return rc;
		/* TPMI_RSA_KEY_BITS: #TPM_RC_VALUE */
		if (!in_list(p->rsa_bits, p->n_rsa_bits, rd16(r)) && !r->bad)
			return TPM2_RC_VALUE;
		return 0;
	case TPM2_ALG_ECC:
		if ((rc = check_sym_def(p, r)) != 0)
			return rc;
		/* TPMI_ALG_ECC_SCHEME: #TPM_RC_SCHEME */
		if ((rc = check_scheme(p, r, TPM2_RC_SCHEME)) != 0)
			return rc;
		/* TPMI_ECC_CURVE: #TPM_RC_CURVE */
		if (!in_list(p->curves, p->n_curves, rd16(r)) && !r->bad)
			return TPM2_RC_CURVE;
		/* TPMI_ALG_KDF: #TPM_RC_KDF */
		return check_scheme(p, r, TPM2_RC_KDF);
	default:
		return 0;
	}
}

/* TPMT_PUBLIC: type, nameAlg, objectAttributes, authPolicy, parameters
 * (unique is not read). */
static TPM2_RC
check_public(const profile *p, rd *r, enum kind *kind)
{
	uint16_t type = rd16(r);
	*kind = kind_of(type);
	if (alg_hidden(p, type))
		return TPM2_RC_TYPE; /* TPMI_ALG_PUBLIC: #TPM_RC_TYPE */
	TPM2_RC rc = check_hash(p, rd16(r));
	if (rc != 0)
		return rc;
	rd32(r);
	rd_2b(r);
	return check_parms(p, r, type);
}

/* Parameter n's format-one error (Part 1, 39.4; Part 2, table 16). */
static TPM2_RC
param_rc(TPM2_RC rc, unsigned n)
{
	return rc == 0 ? 0 : rc | TPM2_RC_P | (TPM2_RC)n << 8;
}

/* The parameters of cc (r at the first one) against the profile. */
static TPM2_RC
check_params(const profile *p, uint32_t cc, rd *r, enum kind *kind)
{
	TPM2_RC rc;
	if (has_public_area(cc)) {
		/* inSensitive / inPrivate / encryptionKey (maybe encrypted,
		 * its size is not), then the public area, parameter 2 */
		rd_2b(r);
		rd16(r); /* the public area's TPM2B size */
		return param_rc(check_public(p, r, kind), 2);
	}
	switch (cc) {
	case TPM2_CC_TestParms: {
		/* TPMT_PUBLIC_PARMS: type, parameters */
		uint16_t type = rd16(r);
		if (alg_hidden(p, type))
			return param_rc(TPM2_RC_TYPE, 1);
		return param_rc(check_parms(p, r, type), 1);
	}
	case TPM2_CC_StartAuthSession:
		/* nonceCaller, encryptedSalt, sessionType, symmetric (4),
		 * authHash (5) */
		rd_2b(r);
		rd_2b(r);
		rd8(r);
		if ((rc = check_sym_def(p, r)) != 0)
			return param_rc(rc, 4);
		return param_rc(check_hash(p, rd16(r)), 5);
	case TPM2_CC_Hash:
	case TPM2_CC_HMAC:
	case TPM2_CC_HMAC_Start:
	case TPM2_CC_HashSequenceStart:
		/* data / buffer / auth, then hashAlg, parameter 2 */
		rd_2b(r);
		return param_rc(check_hash(p, rd16(r)), 2);
	case TPM2_CC_Sign:
		/* digest, inScheme (2): TPMI_ALG_SIG_SCHEME: #TPM_RC_SCHEME */
		rd_2b(r);
		return param_rc(check_scheme(p, r, TPM2_RC_SCHEME), 2);
	case TPM2_CC_ECC_Parameters:
		if (!in_list(p->curves, p->n_curves, rd16(r)) && !r->bad)
			return param_rc(TPM2_RC_CURVE, 1);
		return 0;
	default:
		return 0;
	}
}

/* --- bookkeeping of loaded objects and sessions --------------------------- */

static int
is_session(uint32_t h)
{
	return h >> 24 == TPM2_HT_HMAC_SESSION || h >> 24 == TPM2_HT_POLICY_SESSION;
}

static int
is_transient(uint32_t h)
{
	return h >> 24 == TPM2_HT_TRANSIENT;
}

static void
track_add(profile_ctx *x, uint32_t h, enum kind k)
{
	if (is_transient(h) && x->n_obj < TRACK_MAX) {
		x->obj[x->n_obj].handle = h;
		x->obj[x->n_obj++].kind = k;
	} else if (is_session(h) && x->n_sess < TRACK_MAX) {
		x->sess[x->n_sess++] = h;
	}
}

static void
track_remove(profile_ctx *x, uint32_t h)
{
	for (size_t i = 0; i < x->n_obj; i++)
		if (x->obj[i].handle == h) {
			x->obj[i] = x->obj[--x->n_obj];
			return;
		}
	for (size_t i = 0; i < x->n_sess; i++)
		if (x->sess[i] == h) {
			x->sess[i] = x->sess[--x->n_sess];
			return;
		}
}

static enum kind
track_kind(const profile_ctx *x, uint32_t h)
{
	return tracked_kind(x->obj, x->n_obj, h);
}

/* Commands that write NV (the NV_* writes, persistent objects, hierarchy
 * and dictionary-attack settings): the ones TPM_RC_NV_RATE is injected in. */
static int
writes_nv(uint32_t cc)
{
	switch (cc) {
	case TPM2_CC_NV_DefineSpace:
	case TPM2_CC_NV_UndefineSpace:
	case TPM2_CC_NV_UndefineSpaceSpecial:
	case TPM2_CC_NV_Write:
	case TPM2_CC_NV_Increment:
	case TPM2_CC_NV_Extend:
	case TPM2_CC_NV_SetBits:
	case TPM2_CC_NV_WriteLock:
	case TPM2_CC_NV_GlobalWriteLock:
	case TPM2_CC_NV_ChangeAuth:
	case TPM2_CC_EvictControl:
	case TPM2_CC_HierarchyChangeAuth:
	case TPM2_CC_HierarchyControl:
	case TPM2_CC_DictionaryAttackParameters:
	case TPM2_CC_DictionaryAttackLockReset:
	case TPM2_CC_Clear:
	case TPM2_CC_ClearControl:
	case TPM2_CC_SetPrimaryPolicy:
	case TPM2_CC_ChangeEPS:
	case TPM2_CC_ChangePPS:
	case TPM2_CC_PCR_Allocate:
	case TPM2_CC_ClockSet:
		return 1;
	default:
		return 0;
	}
}

/* --- time and the log ------------------------------------------------------ */

static void
ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* ms from now until t (<= 0 when t has passed). */
static long
ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ns = (long long)(t->tv_sec - now.tv_sec) * 1000000000LL + (t->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (long)((ns + 999999) / 1000000);
}

static void
sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

static void
sleep_ms(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	ts_add_ms(&t, ms);
	sleep_until(&t);
}

static void
log_cmd(profile_ctx *x, const char *fmt, ...)
{
	if (x->log_path[0] == '\0')
		return;
	char line[256], cc[16];
	const char *name = tcti_cc_name(x->cc);
	if (name == NULL) {
		snprintf(cc, sizeof(cc), "0x%x", x->cc);
		name = cc;
	}
	int n = snprintf(line, sizeof(line), "%llu %s ", (unsigned long long)x->n_cmd, name);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line) - 1)
		return;
	line[n++] = '\n';
	int fd = open(x->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0) {
		/* a lost log line is not the client's problem */
	}
	close(fd);
}

/* --- answers made here ------------------------------------------------------ */

/* A response that is only a header (Part 1, 18.4: tag TPM_ST_NO_SESSIONS,
 * size 10, responseCode), ready at once. */
static void
answer(profile_ctx *x, TPM2_RC rc)
{
	x->rsp[0] = TPM2_ST_NO_SESSIONS >> 8;
	x->rsp[1] = TPM2_ST_NO_SESSIONS & 0xff;
	tcti_put32(x->rsp + 2, 10);
	tcti_put32(x->rsp + 6, rc);
	x->rsp_len = 10;
	clock_gettime(CLOCK_MONOTONIC, &x->ready);
	x->state = S_READY;
}

/* The fault for this command, F_COUNT for none: one draw per command. */
static enum fault
draw_fault(profile_ctx *x)
{
	double u = rng_unit(&x->rng), sum = 0.0;
	for (size_t f = 0; f < F_COUNT; f++) {
		if (f == F_NV_RATE && !writes_nv(x->cc))
			continue;
		sum += x->p.fault[f];
		if (u < sum)
			return (enum fault)f;
	}
	return F_COUNT;
}

/* --- GetCapability answers ---------------------------------------------------- */

static uint16_t
max_digest(const profile *p, uint32_t tpm_value)
{
	uint32_t best = 0;
	for (size_t i = 0; i < sizeof(digest_sizes) / sizeof(digest_sizes[0]); i++) {
		uint16_t alg;
		parse_alg(digest_sizes[i].name, &alg);
		if (!alg_hidden(p, alg) && digest_sizes[i].id > best)
			best = digest_sizes[i].id;
	}
	return (uint16_t)(best < tpm_value ? best : tpm_value);
}

/* Whether a list entry stays, for each capability this TCTI edits; the
 * entry is at e (its size is the caller's). */
static int
cap_keep(profile_ctx *x, uint32_t cap, uint8_t *e)
{
	const profile *p = &x->p;
	switch (cap) {
	case TPM2_CAP_ALGS: /* TPMS_ALG_PROPERTY: alg, attributes */
		return !alg_hidden(p, (uint16_t)(e[0] << 8 | e[1]));
	case TPM2_CAP_ECC_CURVES: /* TPM_ECC_CURVE */
		return in_list(p->curves, p->n_curves, (uint16_t)(e[0] << 8 | e[1]));
	case TPM2_CAP_COMMANDS: { /* TPMA_CC: commandIndex in bits 0..15 */
		uint32_t a = tcti_get32(e);
		uint32_t cc = a & 0xffff;
		if (a & TPMA_CC_V)
			return 1;
		return !(cc >= TCTI_CC_BASE && cc < TCTI_CC_BASE + TCTI_CC_SLOTS &&
			 p->hidden_cc[cc - TCTI_CC_BASE]);
	}
	case TPM2_CAP_PCRS: /* TPMS_PCR_SELECTION: hash, sizeofSelect, bits */
		return !alg_hidden(p, (uint16_t)(e[0] << 8 | e[1]));
	case TPM2_CAP_TPM_PROPERTIES: { /* TPMS_TAGGED_PROPERTY: property, value */
		uint32_t prop = tcti_get32(e), v = tcti_get32(e + 4);
		uint32_t used_o = (uint32_t)x->n_obj, used_s = (uint32_t)x->n_sess;
		if (prop == TPM2_PT_HR_TRANSIENT_MIN && p->max_transient)
			v = p->max_transient;
		else if (prop == TPM2_PT_HR_LOADED_MIN && p->max_sessions)
			v = p->max_sessions;
		else if (prop == TPM2_PT_HR_TRANSIENT_AVAIL && p->max_transient) {
			uint32_t left = used_o < p->max_transient ? p->max_transient - used_o : 0;
			v = left < v ? left : v;
		} else if (prop == TPM2_PT_HR_LOADED_AVAIL && p->max_sessions) {
			uint32_t left = used_s < p->max_sessions ? p->max_sessions - used_s : 0;
			v = left < v ? left : v;
		} else if (prop == TPM2_PT_MAX_DIGEST)
			v = max_digest(p, v);
		tcti_put32(e + 4, v);
		return 1;
	}
	default:
		return 1;
	}
}

/* Edits a GetCapability response in place (Part 3, 30.2: moreData, then
 * TPMS_CAPABILITY_DATA: capability, a count, the entries). */
static void
edit_capability(profile_ctx *x)
{
	uint8_t *b = x->rsp;
	size_t len = x->rsp_len;
	if (len < 19 || tcti_get32(b + 2) != len)
		return;
	uint32_t cap = tcti_get32(b + 11);
	uint8_t *cnt = b + 15, *in = b + 19, *out = b + 19, *end = b + len;
	uint32_t n = tcti_get32(cnt), kept = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t sz;
		switch (cap) {
		case TPM2_CAP_ALGS: sz = 6; break;
		case TPM2_CAP_ECC_CURVES: sz = 2; break;
		case TPM2_CAP_COMMANDS: sz = 4; break;
		case TPM2_CAP_TPM_PROPERTIES: sz = 8; break;
		case TPM2_CAP_PCRS: sz = in + 3 <= end ? 3u + in[2] : 3u; break;
		default: return;
		}
		if (in + sz > end)
			return; /* malformed: leave the rest as it is */
		if (cap_keep(x, cap, in)) {
			memmove(out, in, sz);
			out += sz;
			kept++;
		}
		in += sz;
	}
	memmove(out, in, (size_t)(end - in));
	x->rsp_len = len - (size_t)(in - out);
	tcti_put32(cnt, kept);
	tcti_put32(b + 2, (uint32_t)x->rsp_len);
}

/* --- the wrapped TCTI -------------------------------------------------------- */

/* One command to the wrapped TCTI and its response, for this TCTI's own
 * use (never the client's). */
static TSS2_RC
inner_call(profile_ctx *x, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t *rn)
{
	TSS2_RC rc = Tss2_Tcti_Transmit(x->w.inner, n, cmd);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Tcti_Receive(x->w.inner, rn, rsp, TSS2_TCTI_TIMEOUT_BLOCK);
	return rc;
}

/* What is loaded now, when the connection opens (at start and after a
 * dropped connection): through a resource manager the connection's own
 * objects and sessions, on a TPM used directly everything it holds (the
 * chip's real limit). Part 3, 30.2: GetCapability of TPM_CAP_HANDLES from
 * the first transient and the first loaded-session handle. */
static void
relearn_handles(profile_ctx *x)
{
	static const uint32_t first[2] = { TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST };
	x->n_obj = 0;
	x->n_sess = 0;
	for (size_t i = 0; i < 2; i++) {
		uint8_t cmd[22] = { TPM2_ST_NO_SESSIONS >> 8, TPM2_ST_NO_SESSIONS & 0xff };
		uint8_t rsp[BUF_MAX];
		size_t rn = sizeof(rsp);
		tcti_put32(cmd + 2, sizeof(cmd));
		tcti_put32(cmd + 6, TPM2_CC_GetCapability);
		tcti_put32(cmd + 10, TPM2_CAP_HANDLES);
		tcti_put32(cmd + 14, first[i]);
		tcti_put32(cmd + 18, TRACK_MAX);
		if (inner_call(x, cmd, sizeof(cmd), rsp, &rn) != TSS2_RC_SUCCESS || rn < 19 ||
		    tcti_get32(rsp + 6) != TPM2_RC_SUCCESS) {
			fprintf(stderr, "tpmprofile: after reconnecting, could not list the loaded "
					"handles; counting from 0\n");
			continue;
		}
		rd r = { rsp + 15, rn - 15, 0 };
		uint32_t n = rd32(&r);
		for (uint32_t j = 0; j < n && !r.bad; j++) {
			uint32_t h = rd32(&r);
			if (!r.bad && (i == 0 ? is_transient(h) : is_session(h)))
				track_add(x, h, K_ANY);
		}
	}
}

/* --- the TCTI ---------------------------------------------------------------- */

static profile_ctx *
pctx(TSS2_TCTI_CONTEXT *c)
{
	return (profile_ctx *)tcti_wrap_get(c);
}

/* What the command is: handles, sessions ending with it, FlushContext's
 * handle, GetCapability's request; r is left at the parameters. */
static void
read_command(profile_ctx *x, const uint8_t *cmd, size_t size, rd *r)
{
	const tcti_cc *info = tcti_cc_info(x->cc);
	x->n_handles = 0;
	x->n_ending = 0;
	x->flush_handle = 0;
	x->cap = x->cap_property = 0;
	x->new_kind = K_ANY;
	*r = (rd){ cmd + 10, size - 10, 0 };
	if (info == NULL) {
		r->bad = 1; /* parameters unknown */
		return;
	}
	for (size_t i = 0; i < info->cmd_handles; i++)
		x->handles[x->n_handles++] = rd32(r);
	if (x->cmd_tag == TPM2_ST_SESSIONS) {
		/* authorizationSize, then TPMS_AUTH_COMMAND: sessionHandle,
		 * nonce, sessionAttributes, hmac (Part 1, 18.6) */
		uint32_t asize = rd32(r);
		rd a = { r->p, asize <= r->n ? asize : 0, asize > r->n };
		rd_skip(r, asize);
		while (!a.bad && a.n > 0) {
			uint32_t h = rd32(&a);
			rd_2b(&a);
			uint8_t attrs = rd8(&a);
			rd_2b(&a);
			if (!a.bad && is_session(h) && !(attrs & TPMA_SESSION_CONTINUESESSION) &&
			    x->n_ending < 3)
				x->ending[x->n_ending++] = h;
		}
	}
	if (x->cc == TPM2_CC_FlushContext) {
		rd f = *r;
		x->flush_handle = rd32(&f);
	} else if (x->cc == TPM2_CC_GetCapability) {
		rd f = *r;
		x->cap = rd32(&f);
		x->cap_property = rd32(&f);
	}
}

/* Free slots this command needs: 0 when it fits, else the warning. */
static TPM2_RC
check_limits(profile_ctx *x, const rd *params)
{
	const profile *p = &x->p;
	uint32_t need_obj = 0, need_sess = 0;
	for (size_t i = 0; i < x->n_handles; i++)
		if (x->handles[i] >> 24 == TPM2_HT_PERSISTENT)
			need_obj++;
	if (makes_object(x->cc))
		need_obj++;
	if (x->cc == TPM2_CC_StartAuthSession)
		need_sess++;
	if (x->cc == TPM2_CC_ContextLoad) {
		rd r = *params; /* TPMS_CONTEXT: sequence, savedHandle, ... */
		rd_skip(&r, 8);
		uint32_t saved = rd32(&r);
		if (!r.bad && is_session(saved))
			need_sess++;
		else if (!r.bad)
			need_obj++;
	}
	if (p->max_transient && need_obj && x->n_obj + need_obj > p->max_transient)
		return TPM2_RC_OBJECT_MEMORY;
	if (p->max_sessions && need_sess && x->n_sess + need_sess > p->max_sessions)
		return TPM2_RC_SESSION_MEMORY;
	return 0;
}

static TSS2_RC
profile_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	profile_ctx *x = pctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (cmd == NULL || size < 10 || size > BUF_MAX)
		return TSS2_TCTI_RC_BAD_VALUE;
	if (x->state != S_IDLE)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	if (x->w.inner == NULL) {
		/* the connection was dropped: open it again */
		TSS2_RC rc = tcti_wrap_open(&x->w, x->inner_conf);
		if (rc != TSS2_RC_SUCCESS)
			return rc;
		if (x->p.max_transient || x->p.max_sessions)
			relearn_handles(x);
	}
	x->n_cmd++;
	x->cc = tcti_cmd_code(cmd, size);
	x->cmd_tag = (uint16_t)(cmd[0] << 8 | cmd[1]);
	rd params;
	read_command(x, cmd, size, &params);

	/* 1. commands the chip lacks */
	if (x->cc >= TCTI_CC_BASE && x->cc < TCTI_CC_BASE + TCTI_CC_SLOTS &&
	    x->p.hidden_cc[x->cc - TCTI_CC_BASE]) {
		log_cmd(x, "hidden");
		answer(x, TPM2_RC_COMMAND_CODE);
		return TSS2_RC_SUCCESS;
	}
	/* 2. parameters naming what the chip lacks */
	if (!params.bad) {
		rd r = params;
		TPM2_RC rc = check_params(&x->p, x->cc, &r, &x->new_kind);
		if (rc != 0 && !r.bad) {
			log_cmd(x, "refused 0x%x", rc);
			answer(x, rc);
			return TSS2_RC_SUCCESS;
		}
	}
	/* 3. faults */
	switch (draw_fault(x)) {
	case F_RETRY: log_cmd(x, "retry"); answer(x, TPM2_RC_RETRY); return TSS2_RC_SUCCESS;
	case F_YIELDED: log_cmd(x, "yielded"); answer(x, TPM2_RC_YIELDED); return TSS2_RC_SUCCESS;
	case F_TESTING: log_cmd(x, "testing"); answer(x, TPM2_RC_TESTING); return TSS2_RC_SUCCESS;
	case F_NV_RATE: log_cmd(x, "nv_rate"); answer(x, TPM2_RC_NV_RATE); return TSS2_RC_SUCCESS;
	case F_DROP:
		log_cmd(x, "drop");
		x->state = S_DROPPED;
		return TSS2_RC_SUCCESS;
	case F_CUT:
		/* Part of a success header: tag and size of a response that
		 * never comes, without its responseCode. */
		log_cmd(x, "cut");
		answer(x, TPM2_RC_SUCCESS);
		tcti_put32(x->rsp + 2, 64);
		x->rsp_len = 6;
		return TSS2_RC_SUCCESS;
	default:
		break;
	}
	/* 4. object and session slots */
	if (!params.bad) {
		TPM2_RC rc = check_limits(x, &params);
		if (rc != 0) {
			log_cmd(x, rc == TPM2_RC_OBJECT_MEMORY ? "object_memory" : "session_memory");
			answer(x, rc);
			return TSS2_RC_SUCCESS;
		}
	}
	/* 5. to the TPM */
	TSS2_RC rc = Tss2_Tcti_Transmit(x->w.inner, size, cmd);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	x->state = S_SENT;
	return TSS2_RC_SUCCESS;
}

static int32_t
latency_of(const profile_ctx *x)
{
	if (x->cc < TCTI_CC_BASE || x->cc >= TCTI_CC_BASE + TCTI_CC_SLOTS)
		return x->p.latency_default;
	const int32_t *l = x->p.latency[x->cc - TCTI_CC_BASE];
	enum kind k = x->new_kind;
	if (k == K_ANY && x->n_handles > 0 && kind_by_first_handle(x->cc))
		k = track_kind(x, x->handles[0]);
	if (k != K_ANY && l[k] >= 0)
		return l[k];
	if (l[K_ANY] >= 0)
		return l[K_ANY];
	return x->p.latency_default;
}

/* The TPM's response is in rsp: learn from it, edit it, time it. */
static void
process_response(profile_ctx *x)
{
	const tcti_cc *info = tcti_cc_info(x->cc);
	uint32_t rc = x->rsp_len >= 10 ? tcti_get32(x->rsp + 6) : ~0u;
	if (rc == TPM2_RC_SUCCESS) {
		uint32_t h = 0;
		if (info != NULL && info->rsp_handles == 1 && x->rsp_len >= 14)
			h = tcti_get32(x->rsp + 10);
		if (h != 0 && (makes_object(x->cc) || x->cc == TPM2_CC_ContextLoad ||
			       x->cc == TPM2_CC_StartAuthSession))
			track_add(x, h, x->new_kind);
		if (x->cc == TPM2_CC_FlushContext)
			track_remove(x, x->flush_handle);
		/* a saved session is no longer loaded (Part 3, 28.2) */
		if (x->cc == TPM2_CC_ContextSave && x->n_handles == 1 && is_session(x->handles[0]))
			track_remove(x, x->handles[0]);
		/* a completed sequence object is flushed (Part 3, 17.5, 17.6) */
		if (x->cc == TPM2_CC_SequenceComplete && x->n_handles == 1)
			track_remove(x, x->handles[0]);
		if (x->cc == TPM2_CC_EventSequenceComplete && x->n_handles == 2)
			track_remove(x, x->handles[1]);
		if (x->cc == TPM2_CC_Startup) {
			x->n_obj = 0;
			x->n_sess = 0;
		}
		/* continueSession clear: flushed when the command succeeds
		 * (Part 1, 19.6.3) */
		for (size_t i = 0; i < x->n_ending; i++)
			track_remove(x, x->ending[i]);
		if (x->cc == TPM2_CC_GetCapability && x->cmd_tag == TPM2_ST_NO_SESSIONS)
			edit_capability(x);
	}
	int32_t ms = latency_of(x);
	log_cmd(x, "sent rc=0x%x latency=%d", rc, ms);
	clock_gettime(CLOCK_MONOTONIC, &x->ready);
	ts_add_ms(&x->ready, ms);
}

static TSS2_RC
profile_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *resp, int32_t timeout)
{
	profile_ctx *x = pctx(c);
	if (x == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (size == NULL)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	switch (x->state) {
	case S_IDLE:
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	case S_DROPPED:
		/* the connection is gone: close it (a resource manager then
		 * flushes what it held); the next Transmit reconnects */
		tcti_wrap_close(&x->w);
		x->state = S_IDLE;
		return TSS2_TCTI_RC_IO_ERROR;
	case S_SENT: {
		size_t n = sizeof(x->rsp);
		TSS2_RC rc = Tss2_Tcti_Receive(x->w.inner, &n, x->rsp, timeout);
		if (rc == TSS2_TCTI_RC_TRY_AGAIN)
			return rc;
		if (rc != TSS2_RC_SUCCESS) {
			x->state = S_IDLE;
			return rc;
		}
		x->rsp_len = n;
		process_response(x);
		x->state = S_READY;
		break;
	}
	case S_READY:
		break;
	}
	long wait = ms_until(&x->ready);
	if (wait > 0) {
		if (timeout != TSS2_TCTI_TIMEOUT_BLOCK && timeout < wait) {
			sleep_ms(timeout);
			return TSS2_TCTI_RC_TRY_AGAIN;
		}
		sleep_until(&x->ready);
	}
	if (resp == NULL) {
		*size = x->rsp_len; /* the caller asks for the size first */
		return TSS2_RC_SUCCESS;
	}
	if (*size < x->rsp_len) {
		*size = x->rsp_len;
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	}
	memcpy(resp, x->rsp, x->rsp_len);
	*size = x->rsp_len;
	x->state = S_IDLE;
	return TSS2_RC_SUCCESS;
}

static void
profile_finalize(TSS2_TCTI_CONTEXT *c)
{
	profile_ctx *x = pctx(c);
	if (x == NULL)
		return;
	tcti_wrap_close(&x->w);
	x->w.common.v1.magic = 0;
}

/* "PROFILE:INNER": loads the profile, copies INNER. */
static TSS2_RC
profile_configure(profile_ctx *x, const char *conf)
{
	if (conf == NULL || conf[0] == '\0') {
		fprintf(stderr, "tpmprofile: no configuration: want PROFILE:INNER-TCTI, e.g. "
				"minimal:swtpm:path=/tmp/tpm.sock\n");
		return TSS2_TCTI_RC_BAD_VALUE;
	}
	const char *colon = strchr(conf, ':');
	size_t plen = colon != NULL ? (size_t)(colon - conf) : strlen(conf);
	const char *inner = colon != NULL ? colon + 1 : "";
	char name[512], path[1024];
	if (plen == 0 || plen >= sizeof(name) || strlen(inner) >= sizeof(x->inner_conf)) {
		fprintf(stderr, "tpmprofile: bad configuration '%s': want PROFILE:INNER-TCTI\n", conf);
		return TSS2_TCTI_RC_BAD_VALUE;
	}
	memcpy(name, conf, plen);
	name[plen] = '\0';
	strcpy(x->inner_conf, inner);
	if (strchr(name, '/') != NULL) {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		const char *dir = getenv("TPM11_PROFILE_DIR");
		snprintf(path, sizeof(path), "%s/%s.profile", dir != NULL && dir[0] ? dir : TPMPROFILE_DIR,
			 name);
	}
	profile_defaults(&x->p);
	if (profile_load(&x->p, path) != 0 || profile_env(&x->p) != 0)
		return TSS2_TCTI_RC_BAD_VALUE;
	/* Each connection a process opens draws its own sequence (the seed
	 * and the connection's number): a client that connects again after
	 * a dropped connection must not meet the same faults at the same
	 * places again, as it never would on a real chip. The same program
	 * run twice still meets the same faults. */
	static uint64_t connections;
	uint64_t mix = connections++;
	Dl_info self;

	/* tctildr unloads a TCTI with its last connection: stay loaded, so
	 * that the count above survives a client's reconnection. */
	if (mix == 0 && dladdr((void *)rng_next, &self) != 0 && self.dli_fname)
		(void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	/* (seed + n * the generator's own step would only shift the
	 * sequence by n: mix the number through the generator first.) */
	x->rng = mix == 0 ? x->p.seed : x->p.seed ^ rng_next(&mix);
	const char *log = getenv("TPM11_PROFILE_LOG");
	if (log != NULL && strlen(log) < sizeof(x->log_path))
		strcpy(x->log_path, log);
	return TSS2_RC_SUCCESS;
}

static TSS2_RC
profile_init(TSS2_TCTI_CONTEXT *c, size_t *size, const char *conf)
{
	TSS2_RC rc;
	if (!tcti_wrap_init_begin(c, size, sizeof(profile_ctx), &rc))
		return rc;
	profile_ctx *x = (profile_ctx *)c;
	if ((rc = profile_configure(x, conf)) != TSS2_RC_SUCCESS)
		return rc;
	if ((rc = tcti_wrap_open(&x->w, x->inner_conf)) != TSS2_RC_SUCCESS)
		return rc;
	if (x->p.max_transient || x->p.max_sessions)
		relearn_handles(x);
	tcti_wrap_setup(&x->w, profile_transmit, profile_receive, profile_finalize);
	return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO profile_info = {
	.version = 2,
	.name = "tcti-tpmprofile",
	.description = "Makes the TPM behind another TCTI behave like a given chip: hidden "
		       "algorithms and commands, object and session limits, latency, faults",
	.config_help = "PROFILE:INNER-TCTI, e.g. minimal:swtpm:path=/tmp/tpm.sock; PROFILE is a "
		       "name in tests/tcti/profiles or a path to a profile file",
	.init = profile_init,
};

TCTI_EXPORT const TSS2_TCTI_INFO *
Tss2_Tcti_Info(void)
{
	return &profile_info;
}
