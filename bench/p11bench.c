/*
 * p11bench: measures a PKCS#11 module (any module, loaded with dlopen) on
 * the paths an SSH client and a TLS stack use, and the TPM's own ceiling
 * (raw ESAPI TPM2_Sign) through the same TCTI.
 *
 * Output: one result per line, "name value [unit]", comments start with '#'.
 * bench/run collects these lines over several rounds and prints medians.
 * docs/performance.md explains every name.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

/* The raw ceiling (ESAPI) is compiled only into p11bench-raw: a module
 * measured by p11bench must load tpm2-tss itself, as it does in ssh, so
 * that its cold start counts that. */
#ifdef P11BENCH_RAW
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>
#endif

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* ------------------------------------------------------------------------ */
/* Options                                                                  */

#define MAX_THREADS 256
#define MAX_TLIST 16

enum { ALG_P256, ALG_P384, ALG_RSA_PKCS, ALG_RSA_PSS, N_ALGS };
enum { KEY_EC256, KEY_EC384, KEY_RSA2048, N_KEYS };

static const struct {
	const char *name;  /* measurement name */
	int key;	   /* which key label it uses */
	size_t hash_len;   /* bytes of the message digest */
} algs[N_ALGS] = {
	[ALG_P256] = {"ecdsa-p256", KEY_EC256, 32},
	[ALG_P384] = {"ecdsa-p384", KEY_EC384, 48},
	[ALG_RSA_PKCS] = {"rsa2048-pkcs", KEY_RSA2048, 32},
	[ALG_RSA_PSS] = {"rsa2048-pss", KEY_RSA2048, 32},
};
static const char *const key_names[N_KEYS] = {"ecc256", "ecc384", "rsa2048"};

static struct {
	const char *module;
	const char *token;
	const char *pin;
	const char *key_label[N_KEYS];
	double seconds;
	long count;
	int threads[MAX_TLIST];
	int n_threads;
	int thread_alg;
	int cold_alg;
	int find_reps;
	const char *count_lib;
	long populate;
	long genkeys;
	bool raw;
	const char *tcti;
	bool raw_alg[N_ALGS];
	bool only_alg[N_ALGS]; /* --algs: module mode measures only these */
	bool only_algs_given;
	bool raw_password, raw_hmac;
	uint32_t raw_parent;
	const char *raw_cache; /* directory for the raw keys' blobs */
	bool do_sign, do_threads, do_find;
	bool verbose;
} opt = {
	.seconds = 2.0,
	.threads = {1, 2, 4, 8, 16},
	.n_threads = 5,
	.thread_alg = ALG_P256,
	.cold_alg = -1,
	.find_reps = 20,
	.raw_password = true,
	.do_sign = true,
	.do_threads = true,
	.do_find = true,
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("p11bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

static void
emit(const char *name, const char *unit, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s ", name);
	vprintf(fmt, ap);
	if (unit != NULL && unit[0])
		printf(" %s", unit);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Resident set size now, in KiB (from /proc/self/statm). */
static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The anonymous part of it (heap, stacks, private data: RssAnon in
 * /proc/self/status); the rest is file-backed, mostly library code. */
static long
rss_anon_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Resident KiB per mapping (a file's base name, or [heap], [stack],
 * [anon] ...), from /proc/self/smaps: to tell the memory the module adds
 * to the process (heap) from the pages of shared libraries it maps, which
 * other processes using those libraries share. */
#define MAP_MAX 64
typedef struct {
	char name[48];
	long kb;
} map_rss;

static int
maps_read(map_rss *m, int max)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], cur[48] = "[anon]";
	int n = 0, i;
	long v;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long a, b;
		char path[400] = "";

		/* A mapping's header: "start-end perms offset dev inode [path]";
		 * field lines ("Rss:   12 kB") do not parse as start-end. */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399s", &a, &b, path) >= 2) {
			const char *slash = strrchr(path, '/');

			snprintf(cur, sizeof(cur), "%s",
				 path[0] ? (slash ? slash + 1 : path) : "[anon]");
			continue;
		}
		if (sscanf(line, "Rss: %ld", &v) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(m[i].name, cur) == 0)
				break;
		if (i == n) {
			if (n == max)
				continue;
			snprintf(m[n].name, sizeof(m[n].name), "%s", cur);
			m[n++].kb = 0;
		}
		m[i].kb += v;
	}
	fclose(f);
	return n;
}

static map_rss maps_base[MAP_MAX];
static int nmaps_base;

/* Emits rss.map.NAME_added_kb for the mappings that grew since
 * maps_base, largest first (at most 8). */
static void
maps_emit(void)
{
	map_rss now[MAP_MAX], grow[MAP_MAX];
	int n = maps_read(now, MAP_MAX), ng = 0, i, j;

	for (i = 0; i < n; i++) {
		long base = 0;

		for (j = 0; j < nmaps_base; j++)
			if (strcmp(maps_base[j].name, now[i].name) == 0)
				base = maps_base[j].kb;
		if (now[i].kb - base > 0) {
			grow[ng] = now[i];
			grow[ng++].kb = now[i].kb - base;
		}
	}
	for (i = 0; i < ng && i < 8; i++) {
		char nm[96];
		int best = i;

		for (j = i + 1; j < ng; j++)
			if (grow[j].kb > grow[best].kb)
				best = j;
		map_rss t = grow[i];
		grow[i] = grow[best];
		grow[best] = t;
		snprintf(nm, sizeof(nm), "rss.map.%.47s_added_kb", grow[i].name);
		emit(nm, "KiB", "%ld", grow[i].kb);
	}
}

static long
maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* A growing array of latencies. */
typedef struct {
	double *v;
	size_t n, cap;
} lat_t;

static void
lat_add(lat_t *l, double x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = realloc(l->v, l->cap * sizeof(double));
		if (l->v == NULL)
			die("out of memory");
	}
	l->v[l->n++] = x;
}

static const char *
ckr_name(CK_RV rv)
{
	switch (rv) {
#define R(x) case x: return #x;
	R(CKR_OK) R(CKR_CANCEL) R(CKR_HOST_MEMORY) R(CKR_SLOT_ID_INVALID)
	R(CKR_GENERAL_ERROR) R(CKR_FUNCTION_FAILED) R(CKR_ARGUMENTS_BAD)
	R(CKR_NO_EVENT) R(CKR_NEED_TO_CREATE_THREADS) R(CKR_CANT_LOCK)
	R(CKR_ATTRIBUTE_READ_ONLY) R(CKR_ATTRIBUTE_SENSITIVE)
	R(CKR_ATTRIBUTE_TYPE_INVALID) R(CKR_ATTRIBUTE_VALUE_INVALID)
	R(CKR_DATA_INVALID) R(CKR_DATA_LEN_RANGE) R(CKR_DEVICE_ERROR)
	R(CKR_DEVICE_MEMORY) R(CKR_DEVICE_REMOVED) R(CKR_FUNCTION_CANCELED)
	R(CKR_FUNCTION_NOT_PARALLEL) R(CKR_FUNCTION_NOT_SUPPORTED)
	R(CKR_KEY_HANDLE_INVALID) R(CKR_KEY_SIZE_RANGE)
	R(CKR_KEY_TYPE_INCONSISTENT) R(CKR_KEY_FUNCTION_NOT_PERMITTED)
	R(CKR_MECHANISM_INVALID) R(CKR_MECHANISM_PARAM_INVALID)
	R(CKR_OBJECT_HANDLE_INVALID) R(CKR_OPERATION_ACTIVE)
	R(CKR_OPERATION_NOT_INITIALIZED) R(CKR_PIN_INCORRECT)
	R(CKR_PIN_INVALID) R(CKR_PIN_LEN_RANGE) R(CKR_PIN_EXPIRED)
	R(CKR_PIN_LOCKED) R(CKR_SESSION_CLOSED) R(CKR_SESSION_COUNT)
	R(CKR_SESSION_HANDLE_INVALID) R(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	R(CKR_SESSION_READ_ONLY) R(CKR_SESSION_EXISTS)
	R(CKR_SIGNATURE_INVALID) R(CKR_SIGNATURE_LEN_RANGE)
	R(CKR_TEMPLATE_INCOMPLETE) R(CKR_TEMPLATE_INCONSISTENT)
	R(CKR_TOKEN_NOT_PRESENT) R(CKR_TOKEN_NOT_RECOGNIZED)
	R(CKR_TOKEN_WRITE_PROTECTED) R(CKR_USER_ALREADY_LOGGED_IN)
	R(CKR_USER_NOT_LOGGED_IN) R(CKR_USER_PIN_NOT_INITIALIZED)
	R(CKR_USER_TYPE_INVALID) R(CKR_BUFFER_TOO_SMALL)
	R(CKR_CRYPTOKI_NOT_INITIALIZED) R(CKR_CRYPTOKI_ALREADY_INITIALIZED)
	R(CKR_DOMAIN_PARAMS_INVALID) R(CKR_CURVE_NOT_SUPPORTED)
#undef R
	default: {
		static __thread char buf[32];
		snprintf(buf, sizeof(buf), "CKR_0x%lx", (unsigned long)rv);
		return buf;
	}
	}
}

/* ------------------------------------------------------------------------ */
/* TPM command counting through libtss2-tcti-count.so (optional)            */

#define CC_SLOTS 256
static uint64_t (*cnt_total)(void);
static uint64_t (*cnt_get)(uint64_t *, size_t);
static const char *(*cnt_name)(uint32_t);

typedef struct {
	uint64_t total, other;
	uint64_t cc[CC_SLOTS];
} cnt_snap;

static void
count_open(void)
{
	if (opt.count_lib == NULL)
		return;
	/* Loaded first and globally: when tctildr later dlopens the same path
	 * for the module (or for our raw mode) it gets this very instance. */
	void *h = dlopen(opt.count_lib, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL)
		die("cannot load %s: %s", opt.count_lib, dlerror());
	cnt_total = (uint64_t(*)(void))dlsym(h, "tcti_count_total");
	cnt_get = (uint64_t(*)(uint64_t *, size_t))dlsym(h, "tcti_count_get");
	cnt_name = (const char *(*)(uint32_t))dlsym(h, "tcti_count_cc_name");
	if (cnt_total == NULL || cnt_get == NULL)
		die("%s is not the counting TCTI", opt.count_lib);
}

static void
snap(cnt_snap *s)
{
	if (cnt_get == NULL)
		return;
	s->other = cnt_get(s->cc, CC_SLOTS);
	s->total = cnt_total();
}

/* Emits "<name>.cmds N" (N = commands between a and b, divided by per) and,
 * for small whole counts, "<name>.cc Sign=1,Load=1". */
static void
emit_cmds(const char *name, const cnt_snap *a, const cnt_snap *b, double per)
{
	char nm[128];
	if (cnt_get == NULL)
		return;
	uint64_t d = b->total - a->total;
	snprintf(nm, sizeof(nm), "%s.cmds", name);
	if (per <= 1.0)
		emit(nm, "", "%" PRIu64, d);
	else
		emit(nm, "", "%.3f", (double)d / per);
	if (per > 1.0 && d > (uint64_t)(per * 4))
		return;
	char buf[1024];
	size_t o = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < CC_SLOTS; i++) {
		uint64_t c = b->cc[i] - a->cc[i];
		if (c == 0)
			continue;
		const char *n = cnt_name ? cnt_name(0x100 + i) : NULL;
		char tmp[64];
		if (n != NULL)
			snprintf(tmp, sizeof(tmp), "%s", n);
		else
			snprintf(tmp, sizeof(tmp), "0x%x", 0x100 + i);
		if (per > 1.0)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%.2f",
					      o ? "," : "", tmp, (double)c / per);
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%" PRIu64,
					      o ? "," : "", tmp, c);
		if (o >= sizeof(buf) - 64)
			break;
	}
	if (b->other - a->other)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sother=%" PRIu64,
				      o ? "," : "", b->other - a->other);
	snprintf(nm, sizeof(nm), "%s.cc", name);
	emit(nm, "", "%s", o ? buf : "-");
}

/* ------------------------------------------------------------------------ */
/* PKCS#11 plumbing                                                         */

static CK_FUNCTION_LIST_PTR F;
static void *module_handle;
static CK_SLOT_ID slot;

static const CK_BYTE digestinfo_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

/* What one signature needs: the mechanism and the data to sign. */
typedef struct {
	CK_MECHANISM mech;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_BYTE data[128];
	CK_ULONG data_len;
	CK_BYTE hash[64]; /* the digest inside data */
	CK_ULONG hash_len;
} sign_in;

static void
sign_in_make(sign_in *in, int alg)
{
	memset(in, 0, sizeof(*in));
	in->hash_len = algs[alg].hash_len;
	RAND_bytes(in->hash, (int)in->hash_len);
	switch (alg) {
	case ALG_P256:
	case ALG_P384:
		in->mech.mechanism = CKM_ECDSA;
		memcpy(in->data, in->hash, in->hash_len);
		in->data_len = in->hash_len;
		break;
	case ALG_RSA_PKCS:
		in->mech.mechanism = CKM_RSA_PKCS;
		memcpy(in->data, digestinfo_sha256, sizeof(digestinfo_sha256));
		memcpy(in->data + sizeof(digestinfo_sha256), in->hash, in->hash_len);
		in->data_len = sizeof(digestinfo_sha256) + in->hash_len;
		break;
	case ALG_RSA_PSS:
		in->mech.mechanism = CKM_RSA_PKCS_PSS;
		in->pss.hashAlg = CKM_SHA256;
		in->pss.mgf = CKG_MGF1_SHA256;
		in->pss.sLen = 32;
		in->mech.pParameter = &in->pss;
		in->mech.ulParameterLen = sizeof(in->pss);
		memcpy(in->data, in->hash, in->hash_len);
		in->data_len = in->hash_len;
		break;
	}
}

/* One C_SignInit + C_Sign. */
static CK_RV
sign_once(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, sign_in *in, CK_BYTE *sig,
	  CK_ULONG *sig_len)
{
	CK_RV rv = F->C_SignInit(s, &in->mech, key);
	if (rv != CKR_OK)
		return rv;
	*sig_len = 1024;
	return F->C_Sign(s, in->data, in->data_len, sig, sig_len);
}

static CK_RV
find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE by,
	 const void *val, CK_ULONG len, CK_OBJECT_HANDLE *out)
{
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{by, (void *)val, len},
	};
	CK_ULONG n = 0;
	CK_RV rv = F->C_FindObjectsInit(s, t, 2);
	if (rv != CKR_OK)
		return rv;
	rv = F->C_FindObjects(s, out, 1, &n);
	CK_RV rv2 = F->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv == CKR_OK && n == 0)
		rv = CKR_OBJECT_HANDLE_INVALID;
	return rv;
}

static CK_RV
find_key(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *out)
{
	return find_one(s, CKO_PRIVATE_KEY, CKA_LABEL, label, strlen(label), out);
}

/* Reads one attribute into a malloc'd buffer. */
static CK_RV
get_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	 CK_BYTE **val, CK_ULONG *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = F->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == (CK_ULONG)-1)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = F->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

/* The public key that belongs to a private key, as an OpenSSL key, so that
 * signatures can be checked: a fast module must also be a correct one. */
static EVP_PKEY *
public_key_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, int alg)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	CK_BYTE *a = NULL, *b = NULL;
	CK_ULONG al = 0, bl = 0;
	BIGNUM *n = NULL, *e = NULL;

	if (bld == NULL)
		return NULL;
	if (alg == ALG_RSA_PKCS || alg == ALG_RSA_PSS) {
		if (get_attr(s, priv, CKA_MODULUS, &a, &al) != CKR_OK ||
		    get_attr(s, priv, CKA_PUBLIC_EXPONENT, &b, &bl) != CKR_OK)
			goto out;
		n = BN_bin2bn(a, (int)al, NULL);
		e = BN_bin2bn(b, (int)bl, NULL);
		if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		/* CKA_EC_POINT lives on the public key object; find it by CKA_ID. */
		CK_BYTE *id = NULL;
		CK_ULONG idl = 0;
		CK_OBJECT_HANDLE pub;
		if (get_attr(s, priv, CKA_ID, &id, &idl) != CKR_OK)
			goto out;
		CK_RV rv = find_one(s, CKO_PUBLIC_KEY, CKA_ID, id, idl, &pub);
		free(id);
		if (rv != CKR_OK || get_attr(s, pub, CKA_EC_POINT, &a, &al) != CKR_OK)
			goto out;
		size_t field = alg == ALG_P256 ? 32 : 48;
		const CK_BYTE *pt = a;
		size_t ptl = al;
		if (!(al == 2 * field + 1 && a[0] == 0x04)) {
			/* DER OCTET STRING around the point */
			if (al < 3 || a[0] != 0x04)
				goto out;
			size_t hl = 2, l = a[1];
			if (a[1] == 0x81) {
				hl = 3;
				l = a[2];
			}
			if (hl + l != al)
				goto out;
			pt = a + hl;
			ptl = l;
		}
		if (!OSSL_PARAM_BLD_push_utf8_string(
			    bld, OSSL_PKEY_PARAM_GROUP_NAME,
			    alg == ALG_P256 ? "prime256v1" : "secp384r1", 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptl))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (ctx == NULL || params == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(a);
	free(b);
	return pkey;
}

/* 1 = valid, 0 = invalid, -1 = could not check. */
static int
verify_sig(EVP_PKEY *pkey, int alg, const sign_in *in, const CK_BYTE *sig,
	   CK_ULONG sig_len)
{
	if (pkey == NULL)
		return -1;
	int ok = -1;
	unsigned char *der = NULL;
	int der_len = 0;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
		goto out;
	if (alg == ALG_P256 || alg == ALG_P384) {
		/* PKCS#11 ECDSA signatures are r || s; OpenSSL wants DER. */
		size_t half = sig_len / 2;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
		BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
		if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
			ECDSA_SIG_free(es);
			BN_free(r);
			BN_free(s);
			goto out;
		}
		der_len = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (der_len <= 0)
			goto out;
		ok = EVP_PKEY_verify(ctx, der, (size_t)der_len, in->hash, in->hash_len) == 1;
	} else if (alg == ALG_RSA_PKCS) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
			goto out;
		ok = EVP_PKEY_verify(ctx, sig, sig_len, in->data, in->data_len) == 1;
	} else {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) <= 0)
			goto out;
		ok = EVP_PKEY_verify(ctx, sig, sig_len, in->hash, in->hash_len) == 1;
	}
out:
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
label_trim(char *dst, const CK_UTF8CHAR *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		dst[--n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Cold start                                                               */

static long rss_base, rss_anon_base;

static void
rss_point(const char *name)
{
	char nm[64];
	snprintf(nm, sizeof(nm), "rss.%s_added_kb", name);
	emit(nm, "KiB", "%ld", rss_kb() - rss_base);
	snprintf(nm, sizeof(nm), "rss.%s_anon_added_kb", name);
	emit(nm, "KiB", "%ld", rss_anon_kb() - rss_anon_base);
}

/* Each step is timed and counted on its own (BEGIN/END), so the RSS
 * readings between steps are not part of any step. */
#define N_STEPS 8
static cnt_snap cold_c0[N_STEPS], cold_c1[N_STEPS];
static double cold_t0[N_STEPS], cold_t1[N_STEPS], cold_cpu0[N_STEPS], cold_cpu1[N_STEPS];
#define BEGIN(i) (snap(&cold_c0[i]), cold_cpu0[i] = cpu_s(), cold_t0[i] = now_s())
#define END(i) (cold_t1[i] = now_s(), cold_cpu1[i] = cpu_s(), snap(&cold_c1[i]))

static void
cold_report(int steps)
{
	static const char *const step[N_STEPS] = {"dlopen", "init", "slots", "tokeninfo",
						  "open", "login", "find", "sign"};
	char nm[64];
	double total = 0, cpu = 0;
	for (int i = 0; i < steps; i++) {
		snprintf(nm, sizeof(nm), "cold.%s_ms", step[i]);
		emit(nm, "ms", "%.3f", (cold_t1[i] - cold_t0[i]) * 1e3);
		snprintf(nm, sizeof(nm), "cold.%s_cpu_ms", step[i]);
		emit(nm, "ms", "%.3f", (cold_cpu1[i] - cold_cpu0[i]) * 1e3);
		cpu += cold_cpu1[i] - cold_cpu0[i];
		snprintf(nm, sizeof(nm), "cold.%s", step[i]);
		emit_cmds(nm, &cold_c0[i], &cold_c1[i], 1);
		total += cold_t1[i] - cold_t0[i];
	}
	emit("cold.total_ms", "ms", "%.3f", total * 1e3);
	emit("cold.total_cpu_ms", "ms", "%.3f", cpu * 1e3);
}

static CK_SESSION_HANDLE
cold_start(void)
{
	CK_RV rv;

	BEGIN(0);
	module_handle = dlopen(opt.module, RTLD_NOW | RTLD_LOCAL);
	if (module_handle == NULL)
		die("dlopen %s: %s", opt.module, dlerror());
	CK_C_GetFunctionList gfl =
		(CK_C_GetFunctionList)dlsym(module_handle, "C_GetFunctionList");
	if (gfl == NULL)
		die("%s has no C_GetFunctionList", opt.module);
	rv = gfl(&F);
	if (rv != CKR_OK)
		die("C_GetFunctionList: %s", ckr_name(rv));
	END(0);

	CK_C_INITIALIZE_ARGS ia;
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	BEGIN(1);
	rv = F->C_Initialize(&ia);
	END(1);
	if (rv != CKR_OK)
		die("C_Initialize: %s", ckr_name(rv));
	rss_point("init");

	CK_ULONG n = 0;
	CK_SLOT_ID slots[64];
	BEGIN(2);
	rv = F->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK) {
		if (n > 64)
			n = 64;
		rv = F->C_GetSlotList(CK_TRUE, slots, &n);
	}
	END(2);
	if (rv != CKR_OK)
		die("C_GetSlotList: %s", ckr_name(rv));

	bool found = false;
	char label[33] = "";
	BEGIN(3);
	for (CK_ULONG i = 0; i < n && !found; i++) {
		CK_TOKEN_INFO ti;
		rv = F->C_GetTokenInfo(slots[i], &ti);
		if (rv != CKR_OK)
			continue;
		label_trim(label, ti.label, 32);
		if (opt.token == NULL || strcmp(label, opt.token) == 0) {
			slot = slots[i];
			found = true;
		}
	}
	END(3);
	if (!found)
		die("no token %s among %lu slots with a token", opt.token ? opt.token : "(any)",
		    (unsigned long)n);

	CK_SESSION_HANDLE s;
	BEGIN(4);
	rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	END(4);
	if (rv != CKR_OK)
		die("C_OpenSession: %s", ckr_name(rv));

	BEGIN(5);
	rv = F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)opt.pin, strlen(opt.pin));
	END(5);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login(CKU_USER): %s", ckr_name(rv));
	rss_point("login");

	int alg = opt.cold_alg;
	if (alg < 0)
		for (int a = 0; a < N_ALGS && alg < 0; a++)
			if (opt.key_label[algs[a].key] && (!opt.only_algs_given || opt.only_alg[a]))
				alg = a;
	if (alg < 0)
		for (int a = 0; a < N_ALGS && alg < 0; a++)
			if (opt.key_label[algs[a].key])
				alg = a;
	if (alg < 0) {
		note("no key label given: the cold start stops at C_Login");
		cold_report(6);
		return s;
	}
	CK_OBJECT_HANDLE key;
	BEGIN(6);
	rv = find_key(s, opt.key_label[algs[alg].key], &key);
	END(6);
	if (rv != CKR_OK)
		die("C_FindObjects(CKO_PRIVATE_KEY, CKA_LABEL=%s): %s",
		    opt.key_label[algs[alg].key], ckr_name(rv));

	sign_in in;
	CK_BYTE sig[1024];
	CK_ULONG sl;
	sign_in_make(&in, alg);
	BEGIN(7);
	rv = sign_once(s, key, &in, sig, &sl);
	END(7);
	if (rv != CKR_OK)
		die("first C_SignInit/C_Sign (%s): %s", algs[alg].name, ckr_name(rv));
	rss_point("firstsign");
	cold_report(8);
	emit("cold.alg", "", "%s", algs[alg].name);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Steady single-thread signing                                             */

static bool
sign_done(double t0, long ops)
{
	if (opt.count > 0)
		return ops >= opt.count;
	return now_s() - t0 >= opt.seconds;
}

static void
steady(CK_SESSION_HANDLE s, int alg)
{
	const char *an = algs[alg].name;
	const char *label = opt.key_label[algs[alg].key];
	char nm[96];
	CK_OBJECT_HANDLE key;
	CK_RV rv = find_key(s, label, &key);
	if (rv != CKR_OK) {
		note("%s: key %s not found: %s", an, label, ckr_name(rv));
		snprintf(nm, sizeof(nm), "sign.%s.rate", an);
		emit(nm, "", "error");
		return;
	}
	sign_in in;
	CK_BYTE sig[1024];
	CK_ULONG sl = 0;
	cnt_snap c0, c1;
	memset(&c0, 0, sizeof(c0));
	memset(&c1, 0, sizeof(c1));
	sign_in_make(&in, alg);

	snap(&c0);
	double t0 = now_s();
	rv = sign_once(s, key, &in, sig, &sl);
	double t1 = now_s();
	snap(&c1);
	if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID) {
		note("%s: the module says %s", an, ckr_name(rv));
		snprintf(nm, sizeof(nm), "sign.%s.rate", an);
		emit(nm, "", "unsupported");
		return;
	}
	if (rv != CKR_OK) {
		note("%s: first C_SignInit/C_Sign: %s", an, ckr_name(rv));
		snprintf(nm, sizeof(nm), "sign.%s.rate", an);
		emit(nm, "", "error");
		return;
	}
	snprintf(nm, sizeof(nm), "sign.%s.first_ms", an);
	emit(nm, "ms", "%.3f", (t1 - t0) * 1e3);
	snprintf(nm, sizeof(nm), "sign.%s.first", an);
	emit_cmds(nm, &c0, &c1, 1);
	snprintf(nm, sizeof(nm), "sign.%s.siglen", an);
	emit(nm, "bytes", "%lu", (unsigned long)sl);

	EVP_PKEY *pk = public_key_of(s, key, alg);
	int v = verify_sig(pk, alg, &in, sig, sl);
	if (v == 1) {
		/* the check itself must be able to fail */
		sig[sl / 3] ^= 0x01;
		if (verify_sig(pk, alg, &in, sig, sl) != 0)
			v = -1;
		sig[sl / 3] ^= 0x01;
	}
	snprintf(nm, sizeof(nm), "sign.%s.verify", an);
	emit(nm, "", "%s", v == 1 ? "ok" : v == 0 ? "BAD" : "unchecked");

	/* warm up */
	for (int i = 0; i < 3; i++)
		sign_once(s, key, &in, sig, &sl);

	lat_t lat = {0};
	long ops = 0, errs = 0;
	CK_RV first_err = CKR_OK;
	snap(&c0);
	double cpu0 = cpu_s();
	t0 = now_s();
	double prev = t0;
	while (!sign_done(t0, ops + errs)) {
		rv = sign_once(s, key, &in, sig, &sl);
		double t = now_s();
		if (rv == CKR_OK) {
			ops++;
			lat_add(&lat, t - prev);
		} else {
			if (errs++ == 0)
				first_err = rv;
			if (errs > 1000)
				break;
		}
		prev = t;
	}
	t1 = now_s();
	double cpu1 = cpu_s();
	snap(&c1);

	snprintf(nm, sizeof(nm), "sign.%s.rate", an);
	emit(nm, "ops/s", "%.1f", ops / (t1 - t0));
	snprintf(nm, sizeof(nm), "sign.%s.ops", an);
	emit(nm, "", "%ld", ops);
	snprintf(nm, sizeof(nm), "sign.%s.errors", an);
	emit(nm, "", "%ld", errs);
	if (errs)
		note("%s: %ld errors, first %s", an, errs, ckr_name(first_err));
	if (ops > 0) {
		snprintf(nm, sizeof(nm), "sign.%s.cpu_us", an);
		emit(nm, "us/op", "%.1f", (cpu1 - cpu0) * 1e6 / (double)ops);
		snprintf(nm, sizeof(nm), "sign.%s.p50_us", an);
		emit(nm, "us", "%.1f", percentile(lat.v, lat.n, 0.5) * 1e6);
		snprintf(nm, sizeof(nm), "sign.%s.p99_us", an);
		emit(nm, "us", "%.1f", percentile(lat.v, lat.n, 0.99) * 1e6);
		snprintf(nm, sizeof(nm), "sign.%s", an);
		emit_cmds(nm, &c0, &c1, (double)ops);
		/* the last signature must verify too */
		if (rv == CKR_OK && pk != NULL) {
			v = verify_sig(pk, alg, &in, sig, sl);
			snprintf(nm, sizeof(nm), "sign.%s.verify_last", an);
			emit(nm, "", "%s", v == 1 ? "ok" : v == 0 ? "BAD" : "unchecked");
		}
	}
	EVP_PKEY_free(pk);
	free(lat.v);
}

/* ------------------------------------------------------------------------ */
/* Threads: N sessions, one per thread                                      */

typedef struct {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	int alg;
	long ops, errs;
	CK_RV first_err;
	double t_end;
} worker_t;

static pthread_barrier_t start_barrier;
static volatile int stop_flag;
static long ticket; /* --count: total ops shared by all threads */
static double t_start;

static void *
worker(void *arg)
{
	worker_t *w = arg;
	sign_in in;
	CK_BYTE sig[1024];
	CK_ULONG sl;
	sign_in_make(&in, w->alg);
	pthread_barrier_wait(&start_barrier);
	for (;;) {
		if (opt.count > 0) {
			if (__atomic_fetch_add(&ticket, 1, __ATOMIC_RELAXED) >= opt.count)
				break;
		} else if (__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
			break;
		}
		CK_RV rv = sign_once(w->s, w->key, &in, sig, &sl);
		if (rv == CKR_OK) {
			w->ops++;
		} else {
			if (w->errs++ == 0)
				w->first_err = rv;
			if (w->errs > 1000)
				break;
		}
	}
	w->t_end = now_s();
	return NULL;
}

static void
threads_run(int nthreads, int alg)
{
	worker_t *w = calloc((size_t)nthreads, sizeof(*w));
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	char nm[64];
	CK_RV rv;
	int opened = 0;
	for (int i = 0; i < nthreads; i++) {
		rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
				      NULL, &w[i].s);
		if (rv != CKR_OK) {
			note("threads %d: C_OpenSession #%d: %s", nthreads, i + 1,
			     ckr_name(rv));
			break;
		}
		opened++;
		rv = find_key(w[i].s, opt.key_label[algs[alg].key], &w[i].key);
		if (rv != CKR_OK) {
			note("threads %d: find key: %s", nthreads, ckr_name(rv));
			break;
		}
		w[i].alg = alg;
	}
	if (opened < nthreads || rv != CKR_OK) {
		snprintf(nm, sizeof(nm), "threads.%d.rate", nthreads);
		emit(nm, "", "error");
		for (int i = 0; i < opened; i++)
			F->C_CloseSession(w[i].s);
		free(w);
		free(th);
		return;
	}
	cnt_snap c0, c1;
	memset(&c0, 0, sizeof(c0));
	memset(&c1, 0, sizeof(c1));
	pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads + 1);
	stop_flag = 0;
	ticket = 0;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, &w[i]) != 0)
			die("pthread_create failed");
	snap(&c0);
	double cpu0 = cpu_s();
	t_start = now_s();
	pthread_barrier_wait(&start_barrier);
	if (opt.count <= 0) {
		struct timespec ts = {(time_t)opt.seconds,
				      (long)((opt.seconds - (double)(time_t)opt.seconds) * 1e9)};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	}
	long ops = 0, errs = 0;
	double t_end = t_start;
	CK_RV first_err = CKR_OK;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ops += w[i].ops;
		errs += w[i].errs;
		if (w[i].errs && first_err == CKR_OK)
			first_err = w[i].first_err;
		if (w[i].t_end > t_end)
			t_end = w[i].t_end;
	}
	double cpu1 = cpu_s();
	snap(&c1);
	pthread_barrier_destroy(&start_barrier);
	for (int i = 0; i < nthreads; i++)
		F->C_CloseSession(w[i].s);

	snprintf(nm, sizeof(nm), "threads.%d.rate", nthreads);
	emit(nm, "ops/s", "%.1f", ops / (t_end - t_start));
	snprintf(nm, sizeof(nm), "threads.%d.errors", nthreads);
	emit(nm, "", "%ld", errs);
	if (errs)
		note("threads %d: %ld errors, first %s", nthreads, errs, ckr_name(first_err));
	if (ops > 0) {
		snprintf(nm, sizeof(nm), "threads.%d.cpu_us", nthreads);
		emit(nm, "us/op", "%.1f", (cpu1 - cpu0) * 1e6 / (double)ops);
		snprintf(nm, sizeof(nm), "threads.%d", nthreads);
		emit_cmds(nm, &c0, &c1, (double)ops);
	}
	free(w);
	free(th);
}

/* ------------------------------------------------------------------------ */
/* C_FindObjects over every object of the token                             */

static void
find_all(CK_SESSION_HANDLE s)
{
	double *v = calloc((size_t)opt.find_reps, sizeof(double));
	CK_OBJECT_HANDLE h[64];
	long objs = 0;
	cnt_snap c0, c1;
	memset(&c0, 0, sizeof(c0));
	memset(&c1, 0, sizeof(c1));
	snap(&c0);
	for (int r = 0; r < opt.find_reps; r++) {
		double t0 = now_s();
		CK_RV rv = F->C_FindObjectsInit(s, NULL, 0);
		if (rv != CKR_OK) {
			note("C_FindObjectsInit(empty template): %s", ckr_name(rv));
			emit("find.all_ms", "", "error");
			free(v);
			return;
		}
		long n = 0;
		for (;;) {
			CK_ULONG got = 0;
			rv = F->C_FindObjects(s, h, 64, &got);
			if (rv != CKR_OK || got == 0)
				break;
			n += (long)got;
		}
		F->C_FindObjectsFinal(s);
		v[r] = now_s() - t0;
		if (rv != CKR_OK) {
			note("C_FindObjects: %s", ckr_name(rv));
			emit("find.all_ms", "", "error");
			free(v);
			return;
		}
		objs = n;
	}
	snap(&c1);
	emit("find.objects", "", "%ld", objs);
	emit("find.all_ms", "ms", "%.3f", percentile(v, (size_t)opt.find_reps, 0.5) * 1e3);
	emit("find.all_min_ms", "ms", "%.3f", v[0] * 1e3);
	emit_cmds("find", &c0, &c1, (double)opt.find_reps);
	free(v);
}

/* ------------------------------------------------------------------------ */
/* Setup helpers: fill a token with objects or keys                         */

static long
count_objects(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE h[64];
	CK_ULONG got;
	long n = 0;
	if (F->C_FindObjectsInit(s, NULL, 0) != CKR_OK)
		return -1;
	while (F->C_FindObjects(s, h, 64, &got) == CKR_OK && got > 0)
		n += (long)got;
	F->C_FindObjectsFinal(s);
	return n;
}

static int
populate(CK_SESSION_HANDLE s)
{
	long have = count_objects(s);
	long made = 0;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	char label[64];
	CK_BYTE value[32];
	const char app[] = "p11bench";
	double t0 = now_s();
	while (have + made < opt.populate) {
		snprintf(label, sizeof(label), "p11bench-data-%ld-%05ld", (long)getpid(),
			 made);
		RAND_bytes(value, sizeof(value));
		CK_ATTRIBUTE t[] = {
			{CKA_CLASS, &cls, sizeof(cls)},
			{CKA_TOKEN, &yes, sizeof(yes)},
			/* private: tpm2-pkcs11 refuses public data objects */
			{CKA_PRIVATE, &yes, sizeof(yes)},
			{CKA_LABEL, label, strlen(label)},
			{CKA_APPLICATION, (void *)app, strlen(app)},
			{CKA_VALUE, value, sizeof(value)},
		};
		CK_OBJECT_HANDLE o;
		CK_RV rv = F->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &o);
		if (rv != CKR_OK) {
			note("C_CreateObject(CKO_DATA): %s", ckr_name(rv));
			emit("populate.created", "", "%ld", made);
			emit("populate.objects", "", "%ld", have + made);
			emit("populate.status", "", "unsupported:%s", ckr_name(rv));
			return made ? 0 : 3;
		}
		made++;
	}
	emit("populate.created", "", "%ld", made);
	emit("populate.objects", "", "%ld", count_objects(s));
	if (made)
		emit("populate.per_object_ms", "ms", "%.3f", (now_s() - t0) * 1e3 / (double)made);
	emit("populate.status", "", "ok");
	return 0;
}

static int
genkeys(CK_SESSION_HANDLE s)
{
	static const CK_BYTE p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
					   0x3d, 0x03, 0x01, 0x07};
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE;
	double t0 = now_s();
	for (long i = 0; i < opt.genkeys; i++) {
		char label[64];
		CK_BYTE id[8];
		snprintf(label, sizeof(label), "p11bench-key-%ld-%04ld", (long)getpid(), i);
		RAND_bytes(id, sizeof(id));
		CK_ATTRIBUTE pub[] = {
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_VERIFY, &yes, sizeof(yes)},
			{CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid)},
			{CKA_LABEL, label, strlen(label)},
			{CKA_ID, id, sizeof(id)},
		};
		CK_ATTRIBUTE priv[] = {
			{CKA_TOKEN, &yes, sizeof(yes)},
			{CKA_PRIVATE, &yes, sizeof(yes)},
			{CKA_SENSITIVE, &yes, sizeof(yes)},
			{CKA_SIGN, &yes, sizeof(yes)},
			{CKA_LABEL, label, strlen(label)},
			{CKA_ID, id, sizeof(id)},
		};
		CK_OBJECT_HANDLE hp, hk;
		CK_RV rv = F->C_GenerateKeyPair(s, &m, pub, 5, priv, 6, &hp, &hk);
		if (rv != CKR_OK) {
			note("C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN, P-256): %s", ckr_name(rv));
			emit("genkeys.created", "", "%ld", i);
			emit("genkeys.status", "", "unsupported:%s", ckr_name(rv));
			return i ? 0 : 3;
		}
		if (i == 0)
			emit("genkeys.label", "", "%s", label);
	}
	emit("genkeys.created", "", "%ld", opt.genkeys);
	if (opt.genkeys)
		emit("genkeys.per_key_ms", "ms", "%.3f",
		     (now_s() - t0) * 1e3 / (double)opt.genkeys);
	emit("genkeys.objects", "", "%ld", count_objects(s));
	emit("genkeys.status", "", "ok");
	return 0;
}

#ifdef P11BENCH_RAW
/* ------------------------------------------------------------------------ */
/* Raw ceiling: ESAPI TPM2_Sign on a loaded key, same TCTI                  */

static const char *
tss_rc(TSS2_RC rc)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "0x%x", rc);
	return buf;
}

static TPM2B_PUBLIC
raw_template(int alg)
{
	TPM2B_PUBLIC p;
	memset(&p, 0, sizeof(p));
	TPMT_PUBLIC *a = &p.publicArea;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
			      TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			      TPMA_OBJECT_USERWITHAUTH;
	if (alg == ALG_P256 || alg == ALG_P384) {
		a->type = TPM2_ALG_ECC;
		a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		a->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
			alg == ALG_P256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
		a->parameters.eccDetail.curveID =
			alg == ALG_P256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
		a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	} else {
		a->type = TPM2_ALG_RSA;
		a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		a->parameters.rsaDetail.keyBits = 2048;
		a->parameters.rsaDetail.exponent = 0;
	}
	return p;
}

/* --raw-cache DIR: keep each raw key's blobs (TPM2B_PRIVATE, TPM2B_PUBLIC,
 * marshalled) so that later runs load the key instead of creating it (an
 * RSA key takes seconds on some TPMs). The primary is made from the same
 * template each time, so it is the same key and the blobs load under it. */
static bool
raw_cache_load(int k, TPM2B_PRIVATE *priv, TPM2B_PUBLIC *pub)
{
	char path[4096];
	uint8_t buf[4096];
	size_t off = 0, n;
	if (opt.raw_cache == NULL || opt.raw_parent)
		return false;
	snprintf(path, sizeof(path), "%s/raw2-%s.blob", opt.raw_cache, key_names[k]);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	memset(priv, 0, sizeof(*priv));
	memset(pub, 0, sizeof(*pub));
	return Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, n, &off, priv) == TSS2_RC_SUCCESS &&
	       Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, n, &off, pub) == TSS2_RC_SUCCESS;
}

static void
raw_cache_save(int k, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub)
{
	char path[4096], tmp[4200];
	uint8_t buf[4096];
	size_t off = 0;
	if (opt.raw_cache == NULL || opt.raw_parent)
		return;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return;
	snprintf(path, sizeof(path), "%s/raw2-%s.blob", opt.raw_cache, key_names[k]);
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (f == NULL)
		return;
	bool ok = fwrite(buf, 1, off, f) == off;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
		unlink(tmp);
}

static int
raw_sign_loop(ESYS_CONTEXT *esys, ESYS_TR key, ESYS_TR auth, int alg, const char *prefix)
{
	char nm[96];
	TSS2_RC rc;
	TPM2B_DIGEST dg;
	memset(&dg, 0, sizeof(dg));
	dg.size = (UINT16)algs[alg].hash_len;
	RAND_bytes(dg.buffer, dg.size);
	TPMT_SIG_SCHEME sch;
	memset(&sch, 0, sizeof(sch));
	switch (alg) {
	case ALG_P256:
	case ALG_P384:
		sch.scheme = TPM2_ALG_ECDSA;
		sch.details.ecdsa.hashAlg = alg == ALG_P256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
		break;
	case ALG_RSA_PKCS:
		sch.scheme = TPM2_ALG_RSASSA;
		sch.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		break;
	case ALG_RSA_PSS:
		sch.scheme = TPM2_ALG_RSAPSS;
		sch.details.rsapss.hashAlg = TPM2_ALG_SHA256;
		break;
	}
	TPMT_TK_HASHCHECK val = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
	TPMT_SIGNATURE *sig = NULL;
	/* warm up */
	for (int i = 0; i < 3; i++) {
		rc = Esys_Sign(esys, key, auth, ESYS_TR_NONE, ESYS_TR_NONE, &dg, &sch, &val, &sig);
		Esys_Free(sig);
		sig = NULL;
	}
	if (rc != TSS2_RC_SUCCESS) {
		note("%s Esys_Sign(%s): %s", prefix, algs[alg].name, tss_rc(rc));
		snprintf(nm, sizeof(nm), "%s.%s.rate", prefix, algs[alg].name);
		emit(nm, "", "error");
		return -1;
	}
	lat_t lat = {0};
	long ops = 0, errs = 0;
	cnt_snap c0, c1;
	memset(&c0, 0, sizeof(c0));
	memset(&c1, 0, sizeof(c1));
	snap(&c0);
	double cpu0 = cpu_s();
	double s0 = now_s(), prev = s0;
	while (!sign_done(s0, ops + errs)) {
		rc = Esys_Sign(esys, key, auth, ESYS_TR_NONE, ESYS_TR_NONE, &dg, &sch, &val, &sig);
		Esys_Free(sig);
		sig = NULL;
		double t = now_s();
		if (rc == TSS2_RC_SUCCESS) {
			ops++;
			lat_add(&lat, t - prev);
		} else if (++errs > 1000) {
			break;
		}
		prev = t;
	}
	double s1 = now_s();
	double cpu1 = cpu_s();
	snap(&c1);
	snprintf(nm, sizeof(nm), "%s.%s.rate", prefix, algs[alg].name);
	emit(nm, "ops/s", "%.1f", ops / (s1 - s0));
	snprintf(nm, sizeof(nm), "%s.%s.errors", prefix, algs[alg].name);
	emit(nm, "", "%ld", errs);
	if (ops > 0) {
		snprintf(nm, sizeof(nm), "%s.%s.cpu_us", prefix, algs[alg].name);
		emit(nm, "us/op", "%.1f", (cpu1 - cpu0) * 1e6 / (double)ops);
		snprintf(nm, sizeof(nm), "%s.%s.p50_us", prefix, algs[alg].name);
		emit(nm, "us", "%.1f", percentile(lat.v, lat.n, 0.5) * 1e6);
		snprintf(nm, sizeof(nm), "%s.%s", prefix, algs[alg].name);
		emit_cmds(nm, &c0, &c1, (double)ops);
	}
	free(lat.v);
	return 0;
}

/* One key at a time (create, load, sign, flush): without a resource manager
 * the TPM holds only ~3 transient objects (the primary is one of them). */
static int
raw_mode(void)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	ESYS_TR primary = ESYS_TR_NONE, session = ESYS_TR_NONE, key = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret = 1;
	char nm[96];

	double t0 = now_s();
	rc = Tss2_TctiLdr_Initialize(opt.tcti, &tcti);
	if (rc != TSS2_RC_SUCCESS) {
		note("Tss2_TctiLdr_Initialize(%s): %s", opt.tcti ? opt.tcti : "(default)",
		     tss_rc(rc));
		return 1;
	}
	rc = Esys_Initialize(&esys, tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		note("Esys_Initialize: %s", tss_rc(rc));
		goto out;
	}
	double t1 = now_s();
	emit("raw.init_ms", "ms", "%.3f", (t1 - t0) * 1e3);

	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	/* The same kind of authorisation as tpm11's keys (key model 2): a
	 * 32-byte authValue, given in a password session (or an HMAC one
	 * with --raw-session hmac). A fixed value: the bench proves speed,
	 * not secrecy. */
	TPM2B_AUTH key_auth = {.size = 32};
	memset(key_auth.buffer, 0x5a, 32);
	sens.sensitive.userAuth = key_auth;

	if (opt.raw_parent) {
		rc = Esys_TR_FromTPMPublic(esys, opt.raw_parent, ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE, &primary);
		if (rc != TSS2_RC_SUCCESS) {
			note("Esys_TR_FromTPMPublic(0x%x): %s", opt.raw_parent, tss_rc(rc));
			primary = ESYS_TR_NONE;
			goto out;
		}
	} else {
		/* An SRK-like primary: ECC P-256, restricted decrypt, AES-128-CFB. */
		TPM2B_PUBLIC tp;
		memset(&tp, 0, sizeof(tp));
		TPMT_PUBLIC *a = &tp.publicArea;
		a->type = TPM2_ALG_ECC;
		a->nameAlg = TPM2_ALG_SHA256;
		a->objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
				      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				      TPMA_OBJECT_SENSITIVEDATAORIGIN |
				      TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
		a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		a->parameters.eccDetail.symmetric.keyBits.aes = 128;
		a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		a->unique.ecc.x.size = 32;
		a->unique.ecc.y.size = 32;
		rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tp, &outside,
					&pcrs, &primary, NULL, NULL, NULL, NULL);
		if (rc != TSS2_RC_SUCCESS) {
			note("Esys_CreatePrimary(owner, ECC P-256): %s "
			     "(an owner password? use --raw-parent)", tss_rc(rc));
			primary = ESYS_TR_NONE;
			goto out;
		}
	}
	double t2 = now_s();
	emit("raw.primary_ms", "ms", "%.3f", (t2 - t1) * 1e3);

	if (opt.raw_hmac) {
		TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
		rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC,
					   &sym, TPM2_ALG_SHA256, &session);
		if (rc != TSS2_RC_SUCCESS) {
			note("Esys_StartAuthSession(HMAC): %s", tss_rc(rc));
			session = ESYS_TR_NONE;
		} else {
			Esys_TRSess_SetAttributes(esys, session, TPMA_SESSION_CONTINUESESSION,
						  0xff);
		}
	}

	for (int k = 0; k < N_KEYS; k++) {
		bool want = false;
		int first_alg = -1;
		for (int a = 0; a < N_ALGS; a++)
			if (algs[a].key == k && opt.raw_alg[a]) {
				want = true;
				if (first_alg < 0)
					first_alg = a;
			}
		if (!want)
			continue;
		TPM2B_PUBLIC tmpl = raw_template(first_alg);
		TPM2B_PRIVATE *priv = NULL, cpriv;
		TPM2B_PUBLIC *pub = NULL, cpub;
		bool cached = raw_cache_load(k, &cpriv, &cpub);
		double k0 = now_s();
		if (!cached) {
			rc = Esys_Create(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &priv,
					 &pub, NULL, NULL, NULL);
			if (rc != TSS2_RC_SUCCESS) {
				note("Esys_Create(%s key): %s", key_names[k], tss_rc(rc));
				continue;
			}
			raw_cache_save(k, priv, pub);
		}
		double k1 = now_s();
		rc = Esys_Load(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       cached ? &cpriv : priv, cached ? &cpub : pub, &key);
		Esys_Free(priv);
		Esys_Free(pub);
		if (rc != TSS2_RC_SUCCESS && cached) {
			/* a stale cache (another TPM?): make a new key */
			note("Esys_Load(cached %s key): %s; creating one", key_names[k], tss_rc(rc));
			priv = NULL;
			pub = NULL;
			rc = Esys_Create(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &priv,
					 &pub, NULL, NULL, NULL);
			if (rc == TSS2_RC_SUCCESS) {
				raw_cache_save(k, priv, pub);
				rc = Esys_Load(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					       ESYS_TR_NONE, priv, pub, &key);
			}
			Esys_Free(priv);
			Esys_Free(pub);
		}
		if (rc != TSS2_RC_SUCCESS) {
			note("Esys_Load(%s key): %s", key_names[k], tss_rc(rc));
			key = ESYS_TR_NONE;
			continue;
		}
		double k2 = now_s();
		if (!cached) {
			snprintf(nm, sizeof(nm), "raw.%s.create_ms", key_names[k]);
			emit(nm, "ms", "%.3f", (k1 - k0) * 1e3);
		}
		snprintf(nm, sizeof(nm), "raw.%s.load_ms", key_names[k]);
		emit(nm, "ms", "%.3f", (k2 - k1) * 1e3);
		Esys_TR_SetAuth(esys, key, &key_auth);

		for (int a = 0; a < N_ALGS; a++) {
			if (algs[a].key != k || !opt.raw_alg[a])
				continue;
			if (opt.raw_password)
				raw_sign_loop(esys, key, ESYS_TR_PASSWORD, a, "raw");
			if (opt.raw_hmac && session != ESYS_TR_NONE)
				raw_sign_loop(esys, key, session, a, "rawhmac");
		}
		rc = Esys_FlushContext(esys, key);
		if (rc != TSS2_RC_SUCCESS)
			note("Esys_FlushContext(key): %s", tss_rc(rc));
		key = ESYS_TR_NONE;
	}
	ret = 0;
out:
	/* Leave nothing behind in the TPM. */
	if (esys != NULL) {
		if (key != ESYS_TR_NONE)
			Esys_FlushContext(esys, key);
		if (session != ESYS_TR_NONE)
			Esys_FlushContext(esys, session);
		if (primary != ESYS_TR_NONE && !opt.raw_parent)
			Esys_FlushContext(esys, primary);
		else if (primary != ESYS_TR_NONE)
			Esys_TR_Close(esys, &primary);
		Esys_Finalize(&esys);
	}
	if (tcti != NULL)
		Tss2_TctiLdr_Finalize(&tcti);
	return ret;
}
#else
/* p11bench --raw: the same arguments to p11bench-raw, next to this
 * program. */
static int
raw_exec(char **argv)
{
	char self[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);

	if (n <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		die("odd path %s", self);
	strcpy(slash + 1, "p11bench-raw");
	fflush(stdout);
	execv(self, argv);
	die("exec %s: %s", self, strerror(errno));
	return 1;
}
#endif

/* ------------------------------------------------------------------------ */
/* main                                                                     */

static int
alg_by_name(const char *n)
{
	for (int i = 0; i < N_ALGS; i++)
		if (strcmp(n, algs[i].name) == 0)
			return i;
	/* short forms */
	if (!strcmp(n, "ecc256") || !strcmp(n, "p256"))
		return ALG_P256;
	if (!strcmp(n, "ecc384") || !strcmp(n, "p384"))
		return ALG_P384;
	if (!strcmp(n, "rsa2048") || !strcmp(n, "rsa-pkcs"))
		return ALG_RSA_PKCS;
	if (!strcmp(n, "rsa-pss"))
		return ALG_RSA_PSS;
	return -1;
}

static void
usage(FILE *f)
{
	fputs(
"usage: p11bench --module PATH --pin PIN [--token LABEL] --key ALG=LABEL... [options]\n"
"       p11bench --raw [--tcti STRING] [--raw-algs LIST] [options]\n"
"\n"
"Module mode (dlopens any PKCS#11 module):\n"
"  --module PATH       the PKCS#11 module\n"
"  --token LABEL       token label (default: the first token)\n"
"  --pin PIN           user PIN (default: $P11BENCH_PIN)\n"
"  --key ALG=LABEL     CKA_LABEL of the private key for ALG: ecc256, ecc384,\n"
"                      rsa2048 (used for RSA PKCS#1 v1.5 and PSS); repeatable\n"
"  --cold-alg ALG      key used for the cold-start signature (default: first given)\n"
"  --threads LIST      thread counts, e.g. 1,2,4,8,16 (default); 0 = skip\n"
"  --thread-alg ALG    algorithm of the thread test (default ecdsa-p256)\n"
"  --find-reps N       repetitions of the find-all-objects test (default 20)\n"
"  --only LIST         phases to run after the cold start: sign,threads,find\n"
"  --algs LIST         sign only these: ecdsa-p256, ecdsa-p384, rsa2048-pkcs,\n"
"                      rsa2048-pss (default: every one with a key)\n"
"  --populate N        setup: add CKO_DATA objects until the token has N, exit\n"
"  --genkeys N         setup: C_GenerateKeyPair N EC P-256 key pairs, exit\n"
"\n"
"Raw mode (ESAPI directly, the ceiling):\n"
"  --raw               TPM2_Sign on a loaded key, no PKCS#11 module\n"
"  --tcti STRING       tctildr string (default: $TPM11_TCTI, else tctildr's default)\n"
"  --raw-algs LIST     ecdsa-p256 (default), ecdsa-p384, rsa2048-pkcs, rsa2048-pss\n"
"  --raw-session S     password (default), hmac, or both\n"
"  --raw-parent H      use persistent parent H instead of a new primary\n"
"  --raw-cache DIR     keep the raw keys' blobs in DIR and load them next time\n"
"\n"
"Both:\n"
"  --seconds S         duration of each rate measurement (default 2)\n"
"  --count N           a fixed number of signatures instead of --seconds\n"
"  --count-lib PATH    libtss2-tcti-count.so, to report TPM commands per step;\n"
"                      the TCTI string must then name the same path\n"
"  --verbose\n", f);
}

static void
parse_list(const char *s, void (*cb)(const char *))
{
	char *d = strdup(s), *save = NULL;
	for (char *t = strtok_r(d, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cb(t);
	free(d);
}

static void
cb_thread(const char *t)
{
	int n = atoi(t);
	if (n <= 0)
		return;
	if (n > MAX_THREADS)
		die("at most %d threads", MAX_THREADS);
	if (opt.n_threads < MAX_TLIST)
		opt.threads[opt.n_threads++] = n;
}

static void
cb_raw_alg(const char *t)
{
	int a = alg_by_name(t);
	if (a < 0)
		die("unknown algorithm %s", t);
	opt.raw_alg[a] = true;
}

static void
cb_alg(const char *t)
{
	int a = alg_by_name(t);
	if (a < 0)
		die("unknown algorithm %s", t);
	opt.only_alg[a] = true;
	opt.only_algs_given = true;
}

static void
cb_only(const char *t)
{
	if (!strcmp(t, "sign"))
		opt.do_sign = true;
	else if (!strcmp(t, "threads"))
		opt.do_threads = true;
	else if (!strcmp(t, "find"))
		opt.do_find = true;
	else if (strcmp(t, "cold") != 0)
		die("unknown phase %s", t);
}

int
main(int argc, char **argv)
{
	enum {
		O_MODULE = 256, O_TOKEN, O_PIN, O_KEY, O_SECONDS, O_COUNT, O_THREADS,
		O_THREAD_ALG, O_COLD_ALG, O_FIND_REPS, O_COUNT_LIB, O_POPULATE,
		O_GENKEYS, O_RAW, O_TCTI, O_RAW_ALGS, O_RAW_SESSION, O_RAW_PARENT,
		O_ONLY, O_ALGS, O_RAW_CACHE, O_VERBOSE, O_HELP
	};
	static const struct option lo[] = {
		{"module", required_argument, 0, O_MODULE},
		{"token", required_argument, 0, O_TOKEN},
		{"pin", required_argument, 0, O_PIN},
		{"key", required_argument, 0, O_KEY},
		{"seconds", required_argument, 0, O_SECONDS},
		{"count", required_argument, 0, O_COUNT},
		{"threads", required_argument, 0, O_THREADS},
		{"thread-alg", required_argument, 0, O_THREAD_ALG},
		{"cold-alg", required_argument, 0, O_COLD_ALG},
		{"find-reps", required_argument, 0, O_FIND_REPS},
		{"count-lib", required_argument, 0, O_COUNT_LIB},
		{"populate", required_argument, 0, O_POPULATE},
		{"genkeys", required_argument, 0, O_GENKEYS},
		{"raw", no_argument, 0, O_RAW},
		{"tcti", required_argument, 0, O_TCTI},
		{"raw-algs", required_argument, 0, O_RAW_ALGS},
		{"raw-session", required_argument, 0, O_RAW_SESSION},
		{"raw-parent", required_argument, 0, O_RAW_PARENT},
		{"only", required_argument, 0, O_ONLY},
		{"algs", required_argument, 0, O_ALGS},
		{"raw-cache", required_argument, 0, O_RAW_CACHE},
		{"verbose", no_argument, 0, O_VERBOSE},
		{"help", no_argument, 0, O_HELP},
		{0, 0, 0, 0},
	};
	bool raw_algs_given = false;
	int c;
	rss_base = rss_kb();
	rss_anon_base = rss_anon_kb();
	nmaps_base = maps_read(maps_base, MAP_MAX);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_MODULE: opt.module = optarg; break;
		case O_TOKEN: opt.token = optarg; break;
		case O_PIN: opt.pin = optarg; break;
		case O_KEY: {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL)
				die("--key wants ALG=LABEL");
			char an[32];
			snprintf(an, sizeof(an), "%.*s", (int)(eq - optarg), optarg);
			int k = -1;
			for (int i = 0; i < N_KEYS; i++)
				if (!strcmp(an, key_names[i]))
					k = i;
			if (k < 0) {
				int a = alg_by_name(an);
				if (a >= 0)
					k = algs[a].key;
			}
			if (k < 0)
				die("--key: unknown algorithm %s (ecc256, ecc384, rsa2048)", an);
			opt.key_label[k] = eq + 1;
			break;
		}
		case O_SECONDS: opt.seconds = atof(optarg); break;
		case O_COUNT: opt.count = atol(optarg); break;
		case O_THREADS:
			opt.n_threads = 0;
			parse_list(optarg, cb_thread);
			break;
		case O_THREAD_ALG:
			if ((opt.thread_alg = alg_by_name(optarg)) < 0)
				die("unknown algorithm %s", optarg);
			break;
		case O_COLD_ALG:
			if ((opt.cold_alg = alg_by_name(optarg)) < 0)
				die("unknown algorithm %s", optarg);
			break;
		case O_FIND_REPS: opt.find_reps = atoi(optarg); break;
		case O_COUNT_LIB: opt.count_lib = optarg; break;
		case O_POPULATE: opt.populate = atol(optarg); break;
		case O_GENKEYS: opt.genkeys = atol(optarg); break;
		case O_RAW: opt.raw = true; break;
		case O_TCTI: opt.tcti = optarg; break;
		case O_RAW_ALGS:
			raw_algs_given = true;
			parse_list(optarg, cb_raw_alg);
			break;
		case O_RAW_SESSION:
			opt.raw_password = !strcmp(optarg, "password") || !strcmp(optarg, "both");
			opt.raw_hmac = !strcmp(optarg, "hmac") || !strcmp(optarg, "both");
			if (!opt.raw_password && !opt.raw_hmac)
				die("--raw-session: password, hmac or both");
			break;
		case O_RAW_PARENT: opt.raw_parent = (uint32_t)strtoul(optarg, NULL, 0); break;
		case O_ONLY:
			opt.do_sign = opt.do_threads = opt.do_find = false;
			parse_list(optarg, cb_only);
			break;
		case O_ALGS: parse_list(optarg, cb_alg); break;
		case O_RAW_CACHE: opt.raw_cache = optarg; break;
		case O_VERBOSE: opt.verbose = true; break;
		case O_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.find_reps < 1)
		opt.find_reps = 1;
	if (opt.seconds <= 0 && opt.count <= 0)
		opt.seconds = 2.0;
	count_open();

	if (opt.raw) {
#ifdef P11BENCH_RAW
		if (opt.tcti == NULL)
			opt.tcti = getenv("TPM11_TCTI");
		if (!raw_algs_given)
			opt.raw_alg[ALG_P256] = true;
		int r = raw_mode();
		emit("rss.peak_kb", "KiB", "%ld", maxrss_kb());
		return r;
#else
		(void)raw_algs_given;
		return raw_exec(argv);
#endif
	}

	if (opt.module == NULL) {
		usage(stderr);
		return 2;
	}
	if (opt.pin == NULL)
		opt.pin = getenv("P11BENCH_PIN");
	if (opt.pin == NULL)
		die("no PIN: give --pin or set P11BENCH_PIN");

	emit("rss.base_kb", "KiB", "%ld", rss_base);
	emit("rss.base_anon_kb", "KiB", "%ld", rss_anon_base);
	CK_SESSION_HANDLE s = cold_start();

	if (opt.populate > 0 || opt.genkeys > 0) {
		int r = 0;
		if (opt.genkeys > 0)
			r = genkeys(s);
		if (r == 0 && opt.populate > 0)
			r = populate(s);
		F->C_CloseSession(s);
		F->C_Finalize(NULL);
		return r;
	}

	if (opt.do_sign)
		for (int a = 0; a < N_ALGS; a++)
			if (opt.key_label[algs[a].key] && (!opt.only_algs_given || opt.only_alg[a]))
				steady(s, a);
	rss_point("steady");

	if (opt.do_find)
		find_all(s);

	if (opt.do_threads && opt.n_threads > 0) {
		if (opt.key_label[algs[opt.thread_alg].key] == NULL)
			note("no key for the thread test (%s)", algs[opt.thread_alg].name);
		else
			for (int i = 0; i < opt.n_threads; i++)
				threads_run(opt.threads[i], opt.thread_alg);
	}
	rss_point("end");
	maps_emit();
	emit("rss.peak_kb", "KiB", "%ld", maxrss_kb());

	cnt_snap c0, c1;
	memset(&c0, 0, sizeof(c0));
	memset(&c1, 0, sizeof(c1));
	snap(&c0);
	double t0 = now_s();
	F->C_Logout(s);
	F->C_CloseSession(s);
	CK_RV rv = F->C_Finalize(NULL);
	double t1 = now_s();
	snap(&c1);
	if (rv != CKR_OK)
		note("C_Finalize: %s", ckr_name(rv));
	emit("finalize_ms", "ms", "%.3f", (t1 - t0) * 1e3);
	emit_cmds("finalize", &c0, &c1, 1);
	return 0;
}
