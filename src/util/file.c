#include "util/file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_read(const char *path, uint8_t **out, size_t *len, char *err,
	  size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *b = NULL;
	size_t n = 0, r;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if ((b = malloc(FILE_READ_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while ((r = fread(b + n, 1, FILE_READ_MAX + 1 - n, f)) > 0)
		n += r;
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		goto fail;
	}
	if (n > FILE_READ_MAX) {
		snprintf(err, errlen, "%s is larger than 1 MiB", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	b[n] = '\0';
	*out = b;
	*len = n;
	return 0;
fail:
	free(b);
	if (f != stdin)
		fclose(f);
	return -1;
}

/* All of data to fd; 0, or -1 with errno. */
static int
file_write_all(int fd, const void *data, size_t len)
{
	size_t done = 0;
	ssize_t w;

	while (done < len) {
		if ((w = write(fd, (const char *)data + done, len - done)) <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

int
file_write(const char *path, const void *data, size_t len, mode_t mode,
	   char *err, size_t errlen)
{
	char tmp[4096];
	struct stat sb;
	bool bad;
	int fd;

	if (path == NULL || strcmp(path, "-") == 0) {
		/* As the tool always did: no message for its own output. */
		if (fwrite(data, 1, len, stdout) != len ||
		    fflush(stdout) != 0) {
			snprintf(err, errlen, "%s", "");
			return -1;
		}
		return 0;
	}
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		if ((fd = open(path, O_WRONLY)) < 0) {
			snprintf(err, errlen, "cannot write %s: %s", path,
				 strerror(errno));
			return -1;
		}
		bad = file_write_all(fd, data, len) != 0;
		if (close(fd) != 0 || bad) {
			snprintf(err, errlen, "cannot write %s", path);
			return -1;
		}
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "cannot write %s: the name is too long",
			 path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode)) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		return -1;
	}
	/* close(fd) whatever came before */
	bad = file_write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0;
	if (close(fd) != 0 || bad || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
