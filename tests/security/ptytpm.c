/* ptytpm: a character device in front of a swtpm, for the TCTI that
 * real TPMs use (device:/dev/tpm0). This machine has no TPM device, no
 * CUSE and no vtpm proxy, and the swtpm TCTI opens a new connection for
 * every command, so without this nothing shows whether a process's TPM
 * file descriptor outlives an exec. The device is a pseudo-terminal slave
 * in raw mode; we relay each command read from the master to the swtpm's
 * Unix socket (raw TPM 2.0 commands) and write the response back.
 *
 *   ptytpm SWTPM-SOCKET LINK
 *
 * LINK becomes a symlink to the slave; use TCTI "device:LINK". Prints
 * "ptytpm: ready" on stdout, then relays until killed. Like /dev/tpm0 it
 * is one TPM for every process that opens it: one command at a time,
 * the response to whoever reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define TPM_MAX 8192

/* Reads (out false) or writes (out true) exactly n bytes; false on end
 * of file or an error. */
static bool
io_full(int fd, unsigned char *b, size_t n, bool out)
{
	ssize_t r;

	while (n > 0) {
		r = out ? write(fd, b, n) : read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

/* One TPM command or response from fd: the 10-byte header (tag, size,
 * command or response code; size big-endian, header included), then the
 * rest. */
static bool
read_message(int fd, unsigned char *b, size_t *len)
{
	size_t size;

	if (!io_full(fd, b, 10, false))
		return false;
	size = (size_t)b[2] << 24 | (size_t)b[3] << 16 | (size_t)b[4] << 8 |
	       b[5];
	if (size < 10 || size > TPM_MAX)
		return false;
	*len = size;
	return io_full(fd, b + 10, size - 10, false);
}

int
main(int argc, char **argv)
{
	static unsigned char buf[TPM_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct termios tio;
	int master, slave, tpm;
	size_t len;
	char *name;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: ptytpm SWTPM-SOCKET LINK\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	if ((tpm = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(tpm, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("ptytpm: connecting to the swtpm");
		return 1;
	}
	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    grantpt(master) != 0 || unlockpt(master) != 0 ||
	    (name = ptsname(master)) == NULL) {
		perror("ptytpm: pseudo-terminal");
		return 1;
	}
	/* Our own slave descriptor keeps the master readable when no client
	 * has the device open; raw mode passes bytes as they are. */
	if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    tcgetattr(slave, &tio) != 0) {
		perror("ptytpm: slave");
		return 1;
	}
	cfmakeraw(&tio);
	if (tcsetattr(slave, TCSANOW, &tio) != 0) {
		perror("ptytpm: raw mode");
		return 1;
	}
	unlink(argv[2]);
	if (symlink(name, argv[2]) != 0) {
		perror("ptytpm: symlink");
		return 1;
	}
	printf("ptytpm: ready (%s)\n", name);
	fflush(stdout);
	for (;;) {
		if (!read_message(master, buf, &len)) {
			fprintf(stderr, "ptytpm: bad command from the device\n");
			tcflush(slave, TCIOFLUSH);
			continue;
		}
		if (!io_full(tpm, buf, len, true) ||
		    !read_message(tpm, buf, &len) ||
		    !io_full(master, buf, len, true)) {
			fprintf(stderr, "ptytpm: the swtpm went away\n");
			return 1;
		}
	}
}
