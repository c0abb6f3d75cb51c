/* tpm11: the admin tool. Commands and flags follow tpm2_ptool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "tool.h"
#include "util/log.h"
#include "version.h"

const char *tool_store;
const char *tool_tcti;
const char *tool_command;

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
	{"init", cmd_init, "create the store and the TPM primary key (once)"},
	{"addtoken", cmd_addtoken,
	 "create a token with an SO PIN and a user PIN"},
	{"addkey", cmd_addkey, "create a key pair inside the TPM"},
	{"import", cmd_import,
	 "put an existing private key (PEM, OpenSSH) into the TPM"},
	{"listtokens", cmd_listtokens, "list the tokens"},
	{"listobjects", cmd_listobjects, "list a token's keys"},
	{"verify", cmd_verify, "check a token's user and/or SO PIN"},
	{"changepin", cmd_changepin, "change the user or SO PIN"},
	{"initpin", cmd_initpin, "set a new user PIN with the SO PIN"},
	{"rmtoken", cmd_rmtoken, "remove a token and all its keys"},
	{"rmkey", cmd_rmkey, "remove a key (alias: objdel)"},
	{"objdel", cmd_rmkey, NULL},
	{"ssh-pubkey", cmd_ssh_pubkey, "print keys as ssh-keygen -D does"},
	{"pcr-sign", cmd_pcr_sign,
	 "sign PCR values for keys made with "
	 "--pcr-signer"},
	{"ak", cmd_ak, "attestation keys: create, import-cert, export"},
	{"attest", cmd_attest, "prove that a key lives in this TPM"},
	{"verify-attestation", cmd_verify_attestation,
	 "check an attestation (no TPM needed)"},
	{"csr", cmd_csr, "print a certificate request signed by a token key"},
	{"selfsign", cmd_selfsign, "make a self-signed certificate for a key"},
	{"addcert", cmd_addcert, "store a key's certificate (or a CA's)"},
	{"rmcert", cmd_rmcert, "remove certificates (keys stay)"},
	{"migrate", cmd_migrate, "list a key-model-1 store and set it aside"},
	{"doctor", cmd_doctor,
	 "say what is wrong with the set-up and how to "
	 "fix it"},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tpm11 [--store DIR] [--tcti STRING] COMMAND "
		   "[OPTIONS]\n\nKeys that live in the TPM, for every PKCS#11 "
		   "program.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].what)
			fprintf(f, "  %-19s %s\n", commands[i].name,
				commands[i].what);
	fprintf(f,
		"\noptions:\n"
		"  %-19s %s\n  %-19s %s\n  %-19s %s\n  %-19s %s\n",
		"--store DIR",
		"the store (default $TPM11_STORE, else "
		"$XDG_DATA_HOME/tpm11)",
		"--tcti STRING",
		"the TPM (default $TPM11_TCTI, else tctildr's "
		"search)",
		"-h, --help", "this text", "-V, --version", "the version");
	fprintf(f, "\n`tpm11 COMMAND --help` for a command's options; "
		   "`tpm11 doctor` when something\ndoes not work.\n"
		   "Environment: TPM11_STORE, TPM11_TCTI, TPM11_LOG=debug.\n");
}

/* Takes the global options out of argv, wherever they stand. */
static int
take_globals(int *argc, char **argv)
{
	int i, j = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		size_t n = 0;

		if (strncmp(a, "--store", 7) == 0 &&
		    (a[7] == '\0' || a[7] == '='))
			dst = &tool_store, n = 7;
		else if (strncmp(a, "--path", 6) == 0 &&
			 (a[6] == '\0' || a[6] == '='))
			dst = &tool_store, n = 6;
		else if (strncmp(a, "--tcti", 6) == 0 &&
			 (a[6] == '\0' || a[6] == '='))
			dst = &tool_tcti, n = 6;
		if (dst == NULL) {
			argv[j++] = argv[i];
			continue;
		}
		if (a[n] == '=') {
			*dst = a + n + 1;
		} else if (i + 1 < *argc) {
			*dst = argv[++i];
		} else {
			fprintf(stderr, "tpm11: %s needs a value\n", a);
			return -1;
		}
	}
	*argc = j;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i;

	/* PINs, authValues and unwrapped secrets pass through this
	 * process: no core dump of it, and no ptrace or /proc/PID/mem by
	 * the user's other processes (PR_SET_DUMPABLE 0). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr,
			"tpm11: warning: cannot turn core dumps off "
			"(prctl PR_SET_DUMPABLE): %s\n",
			strerror(errno));
	log_init();
	argc--;
	argv++;
	if (take_globals(&argc, argv) != 0)
		return 2;
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "--version") == 0 || strcmp(argv[0], "-V") == 0 ||
	    strcmp(argv[0], "version") == 0) {
		printf("tpm11 %s\n", TPM11_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0) {
			tool_command = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "tpm11: unknown command \"%s\"\n\n", argv[0]);
	usage(stderr);
	return 2;
}
