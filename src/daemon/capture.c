/* capture.c — the capped hex capture file of undecodable frames (see capture.h).
 * Must never write anything but frame bytes (the decoder's sm_event raw, which never holds keys),
 * and never grow without bound. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"

struct capture {
	char *path;
	int fd;
	uint64_t size;
	uint64_t max_bytes;
};

static int open_fd(struct capture *c)
{
	/* 0640: frames can contain meter ids and consumption, not for everyone. */
	c->fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (c->fd < 0)
		return -1;
	struct stat st;
	c->size = fstat(c->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

struct capture *capture_open(const char *path, uint64_t max_bytes)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->path = strdup(path);
	c->max_bytes = max_bytes;
	if (!c->path || open_fd(c) < 0) {
		int e = errno;
		free(c->path);
		free(c);
		errno = e;
		return NULL;
	}
	return c;
}

static int rotate(struct capture *c)
{
	char old[4096];
	snprintf(old, sizeof(old), "%s.1", c->path);
	close(c->fd);
	c->fd = -1;
	if (rename(c->path, old) < 0)
		unlink(c->path);
	return open_fd(c);
}

int capture_write(struct capture *c, const uint8_t *frame, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t need = len * 2 + 1;

	if (!c || c->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (need > c->max_bytes) {
		/* Keep the cap even for a monster frame: store its start only. */
		len = (size_t)((c->max_bytes - 1) / 2);
		need = len * 2 + 1;
	}
	if (c->size + need > c->max_bytes && rotate(c) < 0)
		return -1;
	char *line = malloc(need);
	if (!line)
		return -1;
	for (size_t i = 0; i < len; i++) {
		line[2 * i] = digits[frame[i] >> 4];
		line[2 * i + 1] = digits[frame[i] & 15];
	}
	line[need - 1] = '\n';
	size_t off = 0;
	int rc = 0;
	while (off < need) {
		ssize_t w = write(c->fd, line + off, need - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	c->size += off;
	free(line);
	return rc;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c);
}
