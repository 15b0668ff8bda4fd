/* notify.c — sd_notify(3) protocol, hand-written: one AF_UNIX datagram to $NOTIFY_SOCKET
 * (an abstract socket when it starts with '@'). Must not depend on libsystemd and must not block. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static struct loop_timer *watchdog_timer;

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;

	if (!path || !*path)
		return 1;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
	                   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	int e = errno;
	close(fd);
	errno = e;
	return w < 0 ? -1 : 0;
}

static void watchdog_tick(void *ctx)
{
	(void)ctx;
	notify_send("WATCHDOG=1");
}

uint64_t notify_watchdog_start(struct loop *loop)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	if (!usec)
		return 0;
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	unsigned long long us = strtoull(usec, NULL, 10);
	if (us < 2000)
		return 0;
	uint64_t half = us / 2000u;
	watchdog_timer = loop_timer_new(loop, watchdog_tick, NULL);
	if (!watchdog_timer)
		return 0;
	loop_timer_arm(watchdog_timer, half, half);
	log_debug("systemd watchdog: pinging every %llu ms", (unsigned long long)half);
	return half;
}

void notify_watchdog_stop(void)
{
	loop_timer_free(watchdog_timer);
	watchdog_timer = NULL;
}
