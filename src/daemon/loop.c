/* loop.c — epoll + timerfd + signalfd; one thread, every fd in one place.
 * Must never sleep or poll: a callback that has nothing to do returns, and the kernel wakes us.
 * Watches removed during dispatch are only marked dead and freed after the round (the epoll_event
 * array of this round may still point at them). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* Events fetched per epoll_wait: the daemon has a handful of fds, so one round drains them all. */
#define LOOP_MAX_EVENTS 16

struct loop_watch {
	struct loop *loop;
	int fd;
	bool dead;
	loop_io_cb cb;
	void *ctx;
	struct loop_watch *next;
};

struct loop_timer {
	struct loop *loop;
	int fd;
	bool armed;
	loop_timer_cb cb;
	void *ctx;
	struct loop_watch *watch;
};

struct loop {
	int epfd;
	bool quit;
	int code;
	struct loop_watch *watches;
	bool dispatching;
	int sigfd;
	struct loop_watch *sigwatch;
	loop_signal_cb sigcb;
	void *sigctx;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->sigfd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;
		free(loop);
		errno = e;
		return NULL;
	}
	return loop;
}

static void reap(struct loop *loop)
{
	struct loop_watch **pp = &loop->watches;
	while (*pp) {
		struct loop_watch *w = *pp;
		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	if (loop->sigfd >= 0) {
		loop_watch_remove(loop->sigwatch);
		close(loop->sigfd);
	}
	for (struct loop_watch *w = loop->watches; w; w = w->next)
		w->dead = true;
	reap(loop);
	close(loop->epfd);
	free(loop);
}

struct loop_watch *loop_watch_add(struct loop *loop, int fd, uint32_t events, loop_io_cb cb, void *ctx)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->ctx = ctx;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	w->next = loop->watches;
	loop->watches = w;
	return w;
}

int loop_watch_modify(struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_watch_remove(struct loop_watch *w)
{
	if (!w || w->dead)
		return;
	/* EBADF/ENOENT are fine: libmosquitto may already have closed the socket behind our back. */
	epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	if (!w->loop->dispatching)
		reap(w->loop);
}

static void timer_fired(void *ctx, uint32_t events)
{
	struct loop_timer *t = ctx;
	uint64_t expirations;
	(void)events;
	if (read(t->fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations))
		return; /* EAGAIN: re-armed or disarmed since the wakeup */
	struct itimerspec its;
	if (timerfd_gettime(t->fd, &its) == 0 && its.it_interval.tv_sec == 0 && its.it_interval.tv_nsec == 0)
		t->armed = false;
	t->cb(t->ctx);
}

struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_cb cb, void *ctx)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = loop;
	t->cb = cb;
	t->ctx = ctx;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0) {
		free(t);
		return NULL;
	}
	t->watch = loop_watch_add(loop, t->fd, EPOLLIN, timer_fired, t);
	if (!t->watch) {
		close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

static struct timespec ms_to_ts(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000u), .tv_nsec = (long)(ms % 1000u) * 1000000L };
	return ts;
}

void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms, uint64_t interval_ms)
{
	struct itimerspec its = { .it_value = ms_to_ts(delay_ms ? delay_ms : 1), .it_interval = ms_to_ts(interval_ms) };
	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = true;
}

void loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its = { 0 };
	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = false;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_watch_remove(t->watch);
	close(t->fd);
	free(t);
}

static void signal_ready(void *ctx, uint32_t events)
{
	struct loop *loop = ctx;
	struct signalfd_siginfo si;
	(void)events;
	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		loop->sigcb(loop->sigctx, (int)si.ssi_signo);
}

int loop_signals(struct loop *loop, const int *signals, size_t n, loop_signal_cb cb, void *ctx)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		return -1;
	loop->sigcb = cb;
	loop->sigctx = ctx;
	loop->sigwatch = loop_watch_add(loop, loop->sigfd, EPOLLIN, signal_ready, loop);
	return loop->sigwatch ? 0 : -1;
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	loop->quit = false;
	while (!loop->quit) {
		int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("event loop: epoll_wait failed: %s", strerror(errno));
			return -1;
		}
		loop->dispatching = true;
		for (int i = 0; i < n && !loop->quit; i++) {
			struct loop_watch *w = evs[i].data.ptr;
			if (!w->dead)
				w->cb(w->ctx, evs[i].events);
		}
		loop->dispatching = false;
		reap(loop);
	}
	return loop->code;
}

void loop_quit(struct loop *loop, int code)
{
	loop->quit = true;
	loop->code = code;
}

uint64_t backoff_next(struct backoff *b)
{
	uint64_t d = b->next_ms ? b->next_ms : b->min_ms;
	b->next_ms = d >= b->max_ms / 2 ? b->max_ms : d * 2;
	if (d > b->max_ms)
		d = b->max_ms;
	b->attempts++;
	return d;
}

void backoff_reset(struct backoff *b)
{
	b->next_ms = 0;
	b->attempts = 0;
}
