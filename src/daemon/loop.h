/* loop.h — the daemon's single event loop: epoll over every fd, timerfd timers, signalfd signals.
 * Nothing in the daemon blocks or sleeps; everything that waits is a watch, a timer or a signal here.
 * Removing a watch or timer from inside a callback is safe (freeing is deferred to the end of the
 * dispatch round). Never call loop_run() recursively. */
#ifndef SMARTMETERD_LOOP_H
#define SMARTMETERD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_watch;
struct loop_timer;

typedef void (*loop_io_cb)(void *ctx, uint32_t events);
typedef void (*loop_timer_cb)(void *ctx);
typedef void (*loop_signal_cb)(void *ctx, int signo);

/* NULL on failure (errno set). */
struct loop *loop_new(void);
/* Frees remaining watches/timers (timers close their timerfd; watched fds stay the caller's). NULL ok. */
void loop_free(struct loop *loop);

/* Watch fd for EPOLLIN/EPOLLOUT/...; EPOLLHUP/EPOLLERR are always reported. The fd stays the caller's:
 * remove the watch before closing it. NULL on failure (errno set). */
struct loop_watch *loop_watch_add(struct loop *loop, int fd, uint32_t events, loop_io_cb cb, void *ctx);
int loop_watch_modify(struct loop_watch *w, uint32_t events);
/* NULL ok. The callback will not be called again, even for events already fetched this round. */
void loop_watch_remove(struct loop_watch *w);

/* A one-shot or periodic timer on CLOCK_MONOTONIC, created disarmed. NULL on failure. */
struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_cb cb, void *ctx);
/* First expiry after delay_ms (0 is bumped to 1 ms), then every interval_ms (0 = one-shot). */
void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms, uint64_t interval_ms);
void loop_timer_disarm(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t); /* NULL ok */

/* Block these signals and deliver them through a signalfd. Call once. 0 or -1 (errno). */
int loop_signals(struct loop *loop, const int *signals, size_t n, loop_signal_cb cb, void *ctx);

/* Dispatch until loop_quit(); returns the code given to it, or -1 on an epoll failure. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop, int code);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);

/* Reconnect pacing: first delay min_ms, doubling up to max_ms; reset after a success. */
struct backoff {
	uint64_t min_ms;
	uint64_t max_ms;
	uint64_t next_ms; /* 0 = next call returns min_ms */
	unsigned attempts;
};

#define BACKOFF_INIT(min, max) { .min_ms = (min), .max_ms = (max) }

/* The delay to wait before the next attempt; advances the sequence. */
uint64_t backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
