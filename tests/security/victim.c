/* victim: a PKCS#11 client that logs in, signs once with every private key
 * that needs the PIN (CKA_PRIVATE true), so those keys are loaded in the
 * TPM, and then stays logged in or leaves without C_Finalize. The security
 * scripts attack what it leaves in the TPM (attacker.c).
 *
 *   victim --token LABEL --pin PIN [--prefix P] [--probe-fds [--control PATH]]
 *          [--hold]
 *   victim --probe [--expect FD]        (run by the victim itself)
 *
 * --probe-fds: after signing, fork and exec ourselves as a probe that
 * sends a raw TPM2_GetRandom on every inherited socket or character device
 * (fds 3..1023) and reports those that answer; the module's TPM connection
 * must not be among them (close-on-exec). --control PATH first runs the
 * probe with a connection of our own to the TPM at PATH (a Unix socket or
 * a device) left open across exec (no O_CLOEXEC): the probe must find
 * that one (it proves the probe can see an answering fd).
 * --hold: print "victim: ready" and wait for a line or end of file on
 * stdin, then exit(0) without C_Logout, C_CloseSession or C_Finalize.
 * Without --hold it exits so right after signing (a client that never
 * finalizes). The module comes from $TPM11_MODULE.
 *
 * Output: "victim: ..." lines on stdout. Exit status: 0 signed with at
 * least one PIN key and every probe as expected; 1 a failure; 2 usage;
 * 3 C_Login failed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rel.h"

/* TPM2_GetRandom(8): tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom,
 * bytesRequested 8 (TPM 2.0 Part 3, 16.1). */
static const unsigned char get_random[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x08
};

/* True when fd answers get_random with something shaped like a TPM
 * response (tag 0x8001/0x8002, size field = bytes read) within a second.
 * Only per-call flags (MSG_DONTWAIT): the file status flags are shared
 * with the parent, which must not find its connection changed. */
static bool
probe_fd(int fd, bool sock)
{
	unsigned char rsp[4096];
	struct pollfd p = { fd, POLLOUT, 0 };
	ssize_t n;
	unsigned long size;

	if (sock)
		n = send(fd, get_random, sizeof(get_random),
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	else if (poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT))
		n = write(fd, get_random, sizeof(get_random));
	else
		return false;
	if (n != (ssize_t)sizeof(get_random))
		return false;
	p.events = POLLIN;
	if (poll(&p, 1, 1000) != 1 || !(p.revents & POLLIN))
		return false;
	n = sock ? recv(fd, rsp, sizeof(rsp), MSG_DONTWAIT) :
		   read(fd, rsp, sizeof(rsp));
	if (n < 10 || rsp[0] != 0x80 || (rsp[1] != 0x01 && rsp[1] != 0x02))
		return false;
	size = (unsigned long)rsp[2] << 24 | (unsigned long)rsp[3] << 16 |
	       (unsigned long)rsp[4] << 8 | rsp[5];
	return size == (unsigned long)n;
}

/* The probe, in the exec'd child: exit 0 no fd answered, 1 some did (and
 * expect, if not -1, is among them), 2 expect did not answer. */
static int
probe_main(int expect)
{
	bool seen_expect = false;
	int fd, answered = 0, tried = 0;
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	for (fd = 3; fd < 1024; fd++) {
		bool sock;

		if (fstat(fd, &st) != 0)
			continue;
		sock = S_ISSOCK(st.st_mode);
		if (!sock && !S_ISCHR(st.st_mode))
			continue;
		tried++;
		if (probe_fd(fd, sock)) {
			printf("victim: probe: fd %d (%s) answers TPM2_GetRandom\n",
			       fd, sock ? "socket" : "character device");
			answered++;
			if (fd == expect)
				seen_expect = true;
		}
	}
	printf("victim: probe: %d inherited sockets/devices tried, %d answer\n",
	       tried, answered);
	fflush(stdout);
	if (expect >= 0 && !seen_expect)
		return 2;
	return answered ? 1 : 0;
}

/* Forks and execs the probe; returns its exit status (-1 on error). */
static int
run_probe(const char *self, int expect)
{
	char buf[16];
	pid_t pid;
	int st;

	fflush(stdout);
	snprintf(buf, sizeof(buf), "%d", expect);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execl(self, self, "--probe", "--expect", buf, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A connection to the TPM at path (a Unix socket or a device), inherited
 * across exec. */
static int
open_control(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode))
		return open(path, O_RDWR | O_NOCTTY);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
probes(const char *self, const char *control)
{
	bool good = true;
	int fd, r;

	if (control != NULL) {
		if ((fd = open_control(control)) < 0) {
			printf("victim: FAILED: control connection to %s: %s\n",
			       control, strerror(errno));
			return false;
		}
		r = run_probe(self, fd);
		if (r == 1) {
			printf("victim: probe control: our own open connection "
			       "(fd %d) was found answering\n", fd);
		} else {
			printf("victim: FAILED: probe control: our own open "
			       "connection (fd %d) was not found (status %d)\n",
			       fd, r);
			good = false;
		}
		close(fd);
	}
	r = run_probe(self, -1);
	if (r == 0) {
		printf("victim: probe: no inherited fd answers a TPM command\n");
	} else {
		printf("victim: FAILED: probe: an exec'd child can talk to the "
		       "TPM through an inherited fd (status %d)\n", r);
		good = false;
	}
	return good;
}

static bool
is_private(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { CKA_PRIVATE, &b, sizeof(b) };

	return p11->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && b;
}

int
main(int argc, char **argv)
{
	const char *token = NULL, *pin = NULL, *prefix = NULL, *control = NULL;
	bool probe = false, hold = false, good = true, verified;
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot;
	rel_key *keys = NULL;
	size_t nkeys = 0, i;
	unsigned nsig = 0;
	char line[64], self[4096];
	int a;
	CK_RV rv;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--probe") == 0)
			return probe_main(a + 2 < argc &&
					  strcmp(argv[a + 1], "--expect") == 0 ?
					  atoi(argv[a + 2]) : -1);
		if (strcmp(argv[a], "--probe-fds") == 0)
			probe = true;
		else if (strcmp(argv[a], "--hold") == 0)
			hold = true;
		else if (a + 1 == argc)
			goto usage;
		else if (strcmp(argv[a], "--token") == 0)
			token = argv[++a];
		else if (strcmp(argv[a], "--pin") == 0)
			pin = argv[++a];
		else if (strcmp(argv[a], "--prefix") == 0)
			prefix = argv[++a];
		else if (strcmp(argv[a], "--control") == 0)
			control = argv[++a];
		else
			goto usage;
	}
	if (token == NULL || pin == NULL)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((p11 = t11_load_module(NULL)) == NULL)
		return 1;
	if ((rv = p11->C_Initialize(NULL)) != CKR_OK) {
		printf("victim: FAILED: C_Initialize -> %s\n", t11_rv_name(rv));
		return 1;
	}
	if (!rel_find_slot(p11, token, &slot))
		return 1;
	rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				NULL, NULL, &s);
	if (rv != CKR_OK) {
		printf("victim: FAILED: C_OpenSession -> %s\n", t11_rv_name(rv));
		return 1;
	}
	rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK) {
		printf("victim: FAILED: C_Login -> %s\n", t11_rv_name(rv));
		return 3;
	}
	printf("victim: logged in (pid %ld)\n", (long)getpid());
	if ((rv = rel_load_keys(p11, s, prefix, &keys, &nkeys)) != CKR_OK) {
		printf("victim: FAILED: reading the keys -> %s\n",
		       t11_rv_name(rv));
		return 1;
	}
	for (i = 0; i < nkeys; i++) {
		if (!is_private(p11, s, keys[i].priv))
			continue;
		rv = rel_sign_verify(p11, s, &keys[i], 0, &verified);
		if (rv == CKR_OK && verified) {
			printf("victim: signed with %s\n", keys[i].label);
			nsig++;
		} else {
			printf("victim: FAILED: signing with %s -> %s\n",
			       keys[i].label, rv != CKR_OK ? t11_rv_name(rv) :
			       "signature does not verify");
			good = false;
		}
	}
	rel_free_keys(keys, nkeys);
	if (nsig == 0) {
		printf("victim: FAILED: no PIN key signed\n");
		good = false;
	}
	if (probe) {
		/* The path, not /proc/self/exe: under valgrind that would
		 * exec valgrind's tool; readlink is answered for the client. */
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0) {
			printf("victim: FAILED: readlink /proc/self/exe\n");
			good = false;
		} else {
			self[n] = '\0';
			if (!probes(self, control))
				good = false;
		}
	}
	if (hold) {
		printf("victim: ready\n");
		/* Idle and logged in until told to go (or killed). */
		if (fgets(line, sizeof(line), stdin) == NULL)
			line[0] = '\0';
	}
	printf("victim: exit(%d) without C_Finalize\n", good ? 0 : 1);
	exit(good ? 0 : 1);
usage:
	fprintf(stderr, "usage: victim --token LABEL --pin PIN [--prefix P] "
		"[--probe-fds [--control PATH]] [--hold]\n");
	return 2;
}
