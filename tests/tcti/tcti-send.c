/*
 * tcti-send: sends raw TPM commands through one TCTI connection, in one
 * process, and prints what comes back. For tests/tcti/profile.sh: the
 * tpm2-tools run one process per command and ESAPI resubmits some
 * warnings, so sequences within one connection need a client this plain.
 *
 *   tcti-send [-c TCTI] [-v] HEX...
 *
 * TCTI is a tctildr string (default: $TPM2TOOLS_TCTI). Each HEX is one
 * command. For each, one line:
 *   N rc=0xRC [handle=0xH]   the response code (and the response handle,
 *                            for commands that return one)
 *   N tcti=0xRC              the TCTI failed (Transmit or Receive)
 * and with -v the response in hex on the next line. Exit status 0 when
 * every command was sent and answered (whatever the code), else 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>

static int
from_hex(const char *s, uint8_t *out, size_t max, size_t *n)
{
	size_t len = strlen(s);
	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int
main(int argc, char **argv)
{
	const char *conf = getenv("TPM2TOOLS_TCTI");
	int verbose = 0, opt, failed = 0;
	while ((opt = getopt(argc, argv, "c:v")) != -1) {
		if (opt == 'c')
			conf = optarg;
		else if (opt == 'v')
			verbose = 1;
		else {
			fprintf(stderr, "usage: tcti-send [-c TCTI] [-v] HEX...\n");
			return 2;
		}
	}
	TSS2_TCTI_CONTEXT *tcti = NULL;
	TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &tcti);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "tcti-send: cannot open TCTI '%s': 0x%x\n", conf ? conf : "", rc);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		uint8_t cmd[4096], rsp[4096];
		size_t n, rn = sizeof(rsp);
		int num = i - optind + 1;
		if (from_hex(argv[i], cmd, sizeof(cmd), &n) != 0 || n < 10) {
			fprintf(stderr, "tcti-send: argument %d is not a command in hex\n", num);
			failed = 1;
			break;
		}
		rc = Tss2_Tcti_Transmit(tcti, n, cmd);
		if (rc == TSS2_RC_SUCCESS)
			rc = Tss2_Tcti_Receive(tcti, &rn, rsp, TSS2_TCTI_TIMEOUT_BLOCK);
		if (rc != TSS2_RC_SUCCESS) {
			printf("%d tcti=0x%x\n", num, rc);
			failed = 1;
			continue;
		}
		if (rn < 10) {
			printf("%d short=%zu\n", num, rn);
			failed = 1;
			continue;
		}
		printf("%d rc=0x%x", num, get32(rsp + 6));
		if (get32(rsp + 6) == 0 && rn >= 14 && (rsp[10] == 0x80 || rsp[10] == 0x02 || rsp[10] == 0x03))
			printf(" handle=0x%x", get32(rsp + 10));
		printf("\n");
		if (verbose) {
			for (size_t j = 0; j < rn; j++)
				printf("%02x", rsp[j]);
			printf("\n");
		}
	}
	fflush(stdout);
	Tss2_TctiLdr_Finalize(&tcti);
	return failed;
}
