/* resolve.h — host name lookups that never stall the event loop. getaddrinfo() has no non-blocking form
 * (glibc's getaddrinfo_a is missing in musl, which OpenWrt uses), so each lookup runs in a short-lived
 * detached thread that only calls getaddrinfo and then wakes the loop through a pipe; the callback runs
 * in the loop. The thread touches nothing but its own request. */
#ifndef SMARTMETERD_RESOLVE_H
#define SMARTMETERD_RESOLVE_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "loop.h"

/* Addresses kept per lookup, in getaddrinfo's order (RFC 6724 / gai.conf): a dual-stack name has two, a
 * round-robin broker a few. */
#define RESOLVE_MAX_ADDRS 8u

struct resolve_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int family;                     /* AF_INET or AF_INET6 */
	char text[INET6_ADDRSTRLEN];    /* numeric form, for logs and libmosquitto */
};

struct resolve_result {
	int gai_err;                    /* 0, or the getaddrinfo error (gai_strerror) */
	size_t n;
	struct resolve_addr addr[RESOLVE_MAX_ADDRS];
};

struct resolver;

typedef void (*resolve_cb)(void *ctx, const struct resolve_result *r);

/* Look host up for a TCP connection to port (numeric string). cb is called once, from the loop, never from
 * inside this call. NULL on failure (errno: no thread or pipe). */
struct resolver *resolve_start(struct loop *loop, const char *host, const char *port, resolve_cb cb, void *ctx);
/* Forget a lookup: cb will not be called. NULL ok. Safe while the thread still runs. */
void resolve_cancel(struct resolver *r);

#endif
