/* envcheck: does the module change a multi-threaded host's environment?
 * (issue 13 item 8: setenv("TSS2_LOG") inside the library raced the host's
 * threads.)
 *
 *   envcheck TOKEN-LABEL PIN [--threads]
 *
 * Loads $TPM11_MODULE, logs in to the token once with a wrong PIN (tpm2-tss
 * has an error to report) and once with PIN, and prints on stdout
 * "TSS2_LOG=<value>" or "TSS2_LOG unset" as the environment holds it
 * afterwards, and "threads: N" as the process had them. --threads: a
 * second thread runs the whole time, reading the environment as a
 * browser's threads do. Exit status 0 when every call did what it should
 * (wrong PIN CKR_PIN_INCORRECT, right PIN CKR_OK), else 1. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static atomic_int stop;
static atomic_long reads;

static void *
reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		/* What a host's thread does: read its environment. */
		if (getenv("HOME") != NULL)
			atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	CK_FUNCTION_LIST_PTR p11;
	CK_C_GetFunctionList get;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	CK_SESSION_HANDLE s;
	pthread_t th;
	bool threads = argc > 3 && strcmp(argv[3], "--threads") == 0;
	const char *mod = getenv("TPM11_MODULE"), *v;
	void *h;
	int ret = 1;
	CK_RV rv;

	if (argc < 3 || mod == NULL) {
		fprintf(stderr, "usage: TPM11_MODULE=M envcheck LABEL PIN [--threads]\n");
		return 2;
	}
	if (threads && pthread_create(&th, NULL, reader, NULL) != 0)
		return 1;
	if ((h = dlopen(mod, RTLD_NOW)) == NULL ||
	    (get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) == NULL ||
	    get(&p11) != CKR_OK || p11->C_Initialize(NULL) != CKR_OK ||
	    p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		goto out;
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    strncmp((char *)ti.label, argv[1], strlen(argv[1])) == 0)
			break;
	}
	if (i == n || p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL,
					 NULL, &s) != CKR_OK)
		goto out;
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "wrong-pin-0000", 14);
	printf("wrong PIN: 0x%lx\n", (unsigned long)rv);
	if (rv != CKR_PIN_INCORRECT)
		goto out;
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[2], strlen(argv[2]));
	printf("right PIN: 0x%lx\n", (unsigned long)rv);
	if (rv != CKR_OK)
		goto out;
	p11->C_Finalize(NULL);
	ret = 0;
out:
	if (threads) {
		atomic_store(&stop, 1);
		pthread_join(th, NULL);
		printf("threads: 2 (the reader read the environment %ld times)\n",
		       (long)atomic_load(&reads));
	} else {
		printf("threads: 1\n");
	}
	v = getenv("TSS2_LOG");
	if (v != NULL)
		printf("TSS2_LOG=%s\n", v);
	else
		printf("TSS2_LOG unset\n");
	return ret;
}
