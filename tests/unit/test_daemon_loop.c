/* test_daemon_loop.c — the pieces the daemon's timing rests on: reconnect backoff (1 s doubling to 30 s,
 * reset after success), the per-frame log rate limiter, and the epoll loop's timers (one-shot, periodic,
 * disarm, removal from inside a callback) without any sleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"

static void backoff_doubles_to_the_cap(void **state)
{
	struct backoff b = BACKOFF_INIT(1000, 30000);
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(backoff_next(&b), want[i]);
	assert_int_equal(b.attempts, 8);
	backoff_reset(&b);
	assert_int_equal(backoff_next(&b), 1000);
	assert_int_equal(backoff_next(&b), 2000);
}

static void backoff_odd_bounds(void **state)
{
	struct backoff b = BACKOFF_INIT(700, 1000);
	(void)state;
	assert_int_equal(backoff_next(&b), 700);
	assert_int_equal(backoff_next(&b), 1000);
	assert_int_equal(backoff_next(&b), 1000);
}

static void ratelimit_burst_then_count(void **state)
{
	struct ratelimit rl = RATELIMIT_INIT(60000, 3);
	unsigned long sup = 99;
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_allow(&rl, 1000 + (uint64_t)i, &sup));
	assert_int_equal(sup, 0);
	for (int i = 0; i < 10; i++)
		assert_false(ratelimit_allow(&rl, 2000, &sup));
	assert_true(ratelimit_allow(&rl, 61000, &sup)); /* a new window says what was swallowed */
	assert_int_equal(sup, 10);
	assert_true(ratelimit_allow(&rl, 61001, &sup));
	assert_int_equal(sup, 0);
}

static void hex_is_truncated_visibly(void **state)
{
	static const uint8_t b[] = { 0x7e, 0xa0, 0x2a, 0xff, 0x00 };
	char out[8];
	char big[32];
	(void)state;
	log_hex(b, sizeof(b), big, sizeof(big));
	assert_string_equal(big, "7ea02aff00");
	log_hex(b, sizeof(b), out, sizeof(out));
	assert_string_equal(out, "7ea0...");
}

struct counts {
	struct loop *loop;
	int oneshot, periodic;
	struct loop_timer *periodic_timer, *victim;
};

static void on_oneshot(void *ctx)
{
	struct counts *c = ctx;
	c->oneshot++;
}

static void on_periodic(void *ctx)
{
	struct counts *c = ctx;
	if (++c->periodic == 3) {
		loop_timer_disarm(c->periodic_timer);
		loop_timer_free(c->victim); /* freeing another timer from inside a callback is safe */
		c->victim = NULL;
		loop_quit(c->loop, 42);
	}
}

static void on_never(void *ctx)
{
	(void)ctx;
	fail_msg("a disarmed/freed timer fired");
}

static void timers(void **state)
{
	struct counts c = { 0 };
	(void)state;
	c.loop = loop_new();
	assert_non_null(c.loop);
	struct loop_timer *one = loop_timer_new(c.loop, on_oneshot, &c);
	struct loop_timer *never = loop_timer_new(c.loop, on_never, &c);
	c.periodic_timer = loop_timer_new(c.loop, on_periodic, &c);
	c.victim = loop_timer_new(c.loop, on_never, &c);
	loop_timer_arm(one, 1, 0);
	loop_timer_arm(never, 5, 0);
	loop_timer_disarm(never);
	assert_false(loop_timer_armed(never));
	/* Far beyond the periodic timer's third tick (~30 ms) even on a loaded CI machine: a stall of
	 * 200 ms under ASan once let the victim fire first. */
	loop_timer_arm(c.victim, 5000, 0);
	loop_timer_arm(c.periodic_timer, 10, 10);
	assert_true(loop_timer_armed(c.periodic_timer));
	uint64_t t0 = loop_now_ms();
	assert_int_equal(loop_run(c.loop), 42);
	assert_true(loop_now_ms() - t0 >= 25);
	assert_int_equal(c.oneshot, 1);
	assert_int_equal(c.periodic, 3);
	assert_false(loop_timer_armed(one));
	loop_timer_free(one);
	loop_timer_free(never);
	loop_timer_free(c.periodic_timer);
	loop_free(c.loop);
}

struct pipe_ctx {
	struct loop *loop;
	struct loop_watch *w;
	int fd;
	int reads;
};

static void on_readable(void *ctx, uint32_t events)
{
	struct pipe_ctx *p = ctx;
	char buf[8];
	assert_true(events & EPOLLIN);
	assert_int_equal(read(p->fd, buf, sizeof(buf)), 2);
	p->reads++;
	loop_watch_remove(p->w); /* removal during dispatch is deferred */
	loop_quit(p->loop, 0);
}

static void watches(void **state)
{
	int fds[2];
	struct pipe_ctx p = { 0 };
	(void)state;
	assert_int_equal(pipe(fds), 0);
	p.loop = loop_new();
	p.fd = fds[0];
	p.w = loop_watch_add(p.loop, fds[0], EPOLLIN, on_readable, &p);
	assert_non_null(p.w);
	assert_int_equal(write(fds[1], "hi", 2), 2);
	assert_int_equal(loop_run(p.loop), 0);
	assert_int_equal(p.reads, 1);
	close(fds[0]);
	close(fds[1]);
	loop_free(p.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_to_the_cap), cmocka_unit_test(backoff_odd_bounds),
		cmocka_unit_test(ratelimit_burst_then_count), cmocka_unit_test(hex_is_truncated_visibly),
		cmocka_unit_test(timers),                     cmocka_unit_test(watches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
