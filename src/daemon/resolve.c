/* resolve.c — getaddrinfo in a detached thread, the answer handed to the loop through a pipe (see
 * resolve.h). The request is shared by exactly two owners (the thread and the loop side) and freed by the
 * one that lets go last, so cancelling a lookup that is still running neither blocks nor leaks. Must never
 * touch daemon state from the thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"

struct resolver {
	pthread_mutex_t lock;
	int refs;                   /* thread + loop side */
	int rfd, wfd;
	char host[256];
	char port[16];
	struct resolve_result result;
	struct loop_watch *watch;   /* loop side only */
	resolve_cb cb;
	void *ctx;
};

static void release(struct resolver *r)
{
	pthread_mutex_lock(&r->lock);
	int left = --r->refs;
	pthread_mutex_unlock(&r->lock);
	if (left)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void *lookup(void *arg)
{
	struct resolver *r = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC, .ai_flags = AI_ADDRCONFIG }, *res = NULL;
	int rc = getaddrinfo(r->host, r->port, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		/* AI_ADDRCONFIG hides loopback-only names on hosts without a configured address: ask again. */
		hints.ai_flags = 0;
		rc = getaddrinfo(r->host, r->port, &hints, &res);
	}
	r->result.gai_err = rc;
	for (struct addrinfo *a = rc == 0 ? res : NULL; a && r->result.n < RESOLVE_MAX_ADDRS; a = a->ai_next) {
		struct resolve_addr *o = &r->result.addr[r->result.n];
		const void *in;
		if (a->ai_family == AF_INET)
			in = &((const struct sockaddr_in *)a->ai_addr)->sin_addr;
		else if (a->ai_family == AF_INET6)
			in = &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
		else
			continue;
		if (a->ai_addrlen > sizeof(o->sa) || !inet_ntop(a->ai_family, in, o->text, sizeof(o->text)))
			continue;
		memcpy(&o->sa, a->ai_addr, a->ai_addrlen);
		o->len = (socklen_t)a->ai_addrlen;
		o->family = a->ai_family;
		bool dup = false;
		for (size_t i = 0; i < r->result.n; i++)
			dup |= !strcmp(r->result.addr[i].text, o->text);
		if (!dup)
			r->result.n++;
	}
	if (res)
		freeaddrinfo(res);
	char one = 1;
	ssize_t w = write(r->wfd, &one, 1); /* EPIPE when cancelled: nobody waits any more */
	(void)w;
	close(r->wfd);
	release(r);
	return NULL;
}

static void ready(void *ctx, uint32_t events)
{
	struct resolver *r = ctx;
	char b;
	(void)events;
	if (read(r->rfd, &b, 1) != 1) {
		memset(&r->result, 0, sizeof(r->result));
		r->result.gai_err = EAI_SYSTEM;
	}
	resolve_cb cb = r->cb;
	void *cbctx = r->ctx;
	struct resolve_result res = r->result;
	resolve_cancel(r); /* before the callback: it may start the next lookup */
	cb(cbctx, &res);
}

struct resolver *resolve_start(struct loop *loop, const char *host, const char *port, resolve_cb cb, void *ctx)
{
	struct resolver *r = calloc(1, sizeof(*r));
	int fds[2];
	pthread_attr_t attr;
	pthread_t t;

	if (!r)
		return NULL;
	if (strlen(host) >= sizeof(r->host) || strlen(port) >= sizeof(r->port)) {
		free(r);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(r->host, host);
	strcpy(r->port, port);
	r->cb = cb;
	r->ctx = ctx;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(r);
		return NULL;
	}
	r->rfd = fds[0];
	r->wfd = fds[1];
	pthread_mutex_init(&r->lock, NULL);
	r->refs = 2;
	r->watch = loop_watch_add(loop, r->rfd, EPOLLIN, ready, r);
	if (!r->watch || pthread_attr_init(&attr) != 0) {
		int e = errno;
		loop_watch_remove(r->watch);
		close(r->rfd);
		close(r->wfd);
		pthread_mutex_destroy(&r->lock);
		free(r);
		errno = e ? e : ENOMEM;
		return NULL;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, lookup, r);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		loop_watch_remove(r->watch);
		close(r->rfd);
		close(r->wfd);
		pthread_mutex_destroy(&r->lock);
		free(r);
		errno = rc;
		return NULL;
	}
	return r;
}

void resolve_cancel(struct resolver *r)
{
	if (!r)
		return;
	loop_watch_remove(r->watch);
	r->watch = NULL;
	close(r->rfd);
	release(r);
}
