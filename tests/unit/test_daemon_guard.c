/* test_daemon_guard.c — the Energy-dashboard guard: decreases and implausible jumps of total_increasing
 * counters are held back until following frames confirm them (guard.c, HOME_ASSISTANT.md §3.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"

/* The guard's clock: the existing cases leave it at 0 (no time passes, only the fixed limit counts). */
static uint64_t now_ms;

static struct sm_number kwh(double v)
{
	/* three decimals, as DSMR prints kWh */
	struct sm_number n = { (uint64_t)(v * 1000 + 0.5), -3, false };
	return n;
}

static double published(struct guard *g, const char *key, const char *unit, double v, enum guard_verdict want)
{
	struct guard_result r;
	struct sm_number n = kwh(v);
	enum guard_verdict got = guard_check(g, now_ms, "E0012345678", key, unit, &n, &r);
	if (got != want)
		fail_msg("%s %.3f: verdict %s, expected %s", key, v, guard_verdict_name(got), guard_verdict_name(want));
	assert_int_equal(r.verdict, got);
	return sm_number_to_double(&r.publish);
}

static void normal_increments_pass(void **state)
{
	(void)state;
	struct guard_config cfg = { .max_jump_kwh = 100 };
	struct guard *g = guard_new(&cfg);
	assert_non_null(g);
	assert_true(published(g, "energy_import_total", "kWh", 12345.678, GUARD_FIRST) == 12345.678);
	assert_true(published(g, "energy_import_total", "kWh", 12345.679, GUARD_PASS) == 12345.679);
	assert_true(published(g, "energy_import_total", "kWh", 12345.679, GUARD_PASS) == 12345.679); /* equal */
	assert_true(published(g, "energy_import_total", "kWh", 12445.679, GUARD_PASS) == 12445.679); /* = limit */
	guard_free(g);
}

static void a_bogus_zero_is_held_and_dropped_when_the_register_comes_back(void **state)
{
	(void)state;
	struct guard *g = guard_new(NULL);
	published(g, "energy_import_total", "kWh", 12345.678, GUARD_FIRST);
	/* The classic: one frame with 0 would add 12 345 kWh to HA's statistics. */
	assert_true(published(g, "energy_import_total", "kWh", 0, GUARD_HELD) == 12345.678);
	assert_true(published(g, "energy_import_total", "kWh", 12345.680, GUARD_PASS) == 12345.680);
	/* The glitch is forgotten: a later single 0 starts counting from scratch. */
	assert_true(published(g, "energy_import_total", "kWh", 0, GUARD_HELD) == 12345.680);
	assert_true(published(g, "energy_import_total", "kWh", 0, GUARD_HELD) == 12345.680);
	assert_true(published(g, "energy_import_total", "kWh", 12345.681, GUARD_PASS) == 12345.681);
	guard_free(g);
}

static void a_small_regression_is_held_too(void **state)
{
	(void)state;
	struct guard *g = guard_new(NULL);
	published(g, "energy_export_total", "kWh", 12345.010, GUARD_FIRST);
	/* < 10 %: HA would ignore the dip but count the recovery twice. */
	assert_true(published(g, "energy_export_total", "kWh", 12344.990, GUARD_HELD) == 12345.010);
	assert_true(published(g, "energy_export_total", "kWh", 12345.020, GUARD_PASS) == 12345.020);
	guard_free(g);
}

static void a_real_reset_is_accepted_after_confirmation(void **state)
{
	(void)state;
	struct guard_config cfg = { .max_jump_kwh = 50, .confirm_frames = 3 };
	struct guard *g = guard_new(&cfg);
	published(g, "energy_import_t1", "kWh", 5000, GUARD_FIRST);
	assert_true(published(g, "energy_import_t1", "kWh", 0.001, GUARD_HELD) == 5000);
	assert_true(published(g, "energy_import_t1", "kWh", 0.002, GUARD_HELD) == 5000);
	assert_true(published(g, "energy_import_t1", "kWh", 0.002, GUARD_HELD) == 5000);
	struct guard_result r;
	struct sm_number n = kwh(0.003);
	assert_int_equal(guard_check(g, now_ms, "E0012345678", "energy_import_t1", "kWh", &n, &r), GUARD_CONFIRMED);
	assert_true(sm_number_to_double(&r.publish) == 0.003);
	assert_true(sm_number_to_double(&r.last) == 5000);
	assert_false(r.jump);
	/* New baseline: further increments pass, the old level is now a jump. */
	assert_true(published(g, "energy_import_t1", "kWh", 0.004, GUARD_PASS) == 0.004);
	assert_true(published(g, "energy_import_t1", "kWh", 5000, GUARD_HELD) == 0.004);
	guard_free(g);
}

static void an_implausible_jump_is_held(void **state)
{
	(void)state;
	struct guard_config cfg = { .max_jump_kwh = 100 };
	struct guard *g = guard_new(&cfg);
	published(g, "energy_import_total", "kWh", 1000, GUARD_FIRST);
	/* A corrupted digit: 1000 -> 9000 kWh between two frames. */
	struct guard_result r;
	struct sm_number n = kwh(9000);
	assert_int_equal(guard_check(g, now_ms, "E0012345678", "energy_import_total", "kWh", &n, &r), GUARD_HELD);
	assert_true(r.jump);
	assert_int_equal(r.pending, 1);
	assert_true(sm_number_to_double(&r.publish) == 1000);
	assert_true(published(g, "energy_import_total", "kWh", 1000.5, GUARD_PASS) == 1000.5);
	/* A different, non-agreeing suspicious value restarts the count. */
	assert_true(published(g, "energy_import_total", "kWh", 9000, GUARD_HELD) == 1000.5);
	assert_true(published(g, "energy_import_total", "kWh", 500, GUARD_HELD) == 1000.5);
	assert_true(published(g, "energy_import_total", "kWh", 9000, GUARD_HELD) == 1000.5);
	assert_true(published(g, "energy_import_total", "kWh", 9000.1, GUARD_HELD) == 1000.5);
	assert_true(published(g, "energy_import_total", "kWh", 9000.2, GUARD_HELD) == 1000.5);
	assert_true(published(g, "energy_import_total", "kWh", 9000.3, GUARD_CONFIRMED) == 9000.3);
	guard_free(g);
}

static void the_limit_follows_the_unit(void **state)
{
	(void)state;
	struct guard_config cfg = { .max_jump_kwh = 10 };
	struct guard *g = guard_new(&cfg);
	/* Wh: 10 kWh = 10000 Wh */
	published(g, "energy_wh", "Wh", 100000, GUARD_FIRST);
	published(g, "energy_wh", "Wh", 109000, GUARD_PASS);
	published(g, "energy_wh", "Wh", 120000, GUARD_HELD);
	/* GJ: 10 kWh = 0.036 GJ */
	published(g, "heat", "GJ", 240.860, GUARD_FIRST);
	published(g, "heat", "GJ", 240.890, GUARD_PASS);
	published(g, "heat", "GJ", 241.000, GUARD_HELD);
	/* Event counters have no jump limit, but never go down. */
	published(g, "power_failures", NULL, 5, GUARD_FIRST);
	published(g, "power_failures", NULL, 500, GUARD_PASS);
	published(g, "power_failures", NULL, 4, GUARD_HELD);
	guard_free(g);
}

static void no_limit_means_only_decreases_are_held(void **state)
{
	(void)state;
	struct guard *g = guard_new(NULL);
	published(g, "energy_import_total", "kWh", 1, GUARD_FIRST);
	published(g, "energy_import_total", "kWh", 1e6, GUARD_PASS);
	published(g, "energy_import_total", "kWh", 999999, GUARD_HELD);
	guard_free(g);
}

static void counters_are_per_meter_and_key(void **state)
{
	(void)state;
	struct guard *g = guard_new(NULL);
	struct guard_result r;
	struct sm_number a = kwh(100), b = kwh(5);
	assert_int_equal(guard_check(g, now_ms, "A", "energy_import_total", "kWh", &a, &r), GUARD_FIRST);
	assert_int_equal(guard_check(g, now_ms, "B", "energy_import_total", "kWh", &b, &r), GUARD_FIRST);
	assert_int_equal(guard_check(g, now_ms, "A", "energy_export_total", "kWh", &b, &r), GUARD_FIRST);
	/* "A\nx" must not collide with meter "A" + key prefix games */
	assert_int_equal(guard_check(g, now_ms, "A", "energy_import_total", "kWh", &b, &r), GUARD_HELD);
	assert_int_equal(guard_check(g, now_ms, "B", "energy_import_total", "kWh", &a, &r), GUARD_PASS);
	guard_reset(g);
	assert_int_equal(guard_check(g, now_ms, "A", "energy_import_total", "kWh", &b, &r), GUARD_FIRST);
	guard_free(g);
	guard_free(NULL);
}

static void the_counter_table_is_capped(void **state)
{
	(void)state;
	struct guard *g = guard_new(NULL);
	struct guard_result r;
	struct sm_number n = kwh(1);
	char key[32];
	for (unsigned i = 0; i < GUARD_MAX_COUNTERS; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		assert_int_equal(guard_check(g, now_ms, "m", key, "kWh", &n, &r), GUARD_FIRST);
	}
	assert_int_equal(guard_check(g, now_ms, "m", "one_too_many", "kWh", &n, &r), GUARD_UNTRACKED);
	assert_true(sm_number_to_double(&r.publish) == 1);
	guard_free(g);
}

/* max_power_kw x elapsed time widens the limit: an hourly register list (Aidon/Kaifa list 3) moves by more
 * than the fixed limit every hour and must not be held each time; the same step one second after the last
 * frame is still a jump. */
static void the_limit_grows_with_the_time_since_the_last_value(void **state)
{
	(void)state;
	struct guard_config cfg = { .max_jump_kwh = 10, .max_power_kw = 200 };
	struct guard *g = guard_new(&cfg);
	now_ms = 1000;
	published(g, "energy_import_total", "kWh", 1000, GUARD_FIRST);
	now_ms += 3600u * 1000u; /* one hour: up to 200 kWh is plausible */
	assert_true(published(g, "energy_import_total", "kWh", 1150, GUARD_PASS) == 1150);
	now_ms += 1000; /* one second: max(10, 0.06) kWh */
	assert_true(published(g, "energy_import_total", "kWh", 1165, GUARD_HELD) == 1150);
	now_ms += 1000;
	assert_true(published(g, "energy_import_total", "kWh", 1159, GUARD_PASS) == 1159); /* within 10 of 1150 */
	/* a cable out for a day: the catch-up passes at once */
	now_ms += 24u * 3600u * 1000u;
	assert_true(published(g, "energy_import_total", "kWh", 2500, GUARD_PASS) == 2500);
	/* rate only: without time passing any increase is a jump */
	struct guard_config rate = { .max_power_kw = 200 };
	struct guard *r = guard_new(&rate);
	published(r, "energy_import_total", "kWh", 5, GUARD_FIRST);
	published(r, "energy_import_total", "kWh", 6, GUARD_HELD);
	now_ms += 60u * 1000u; /* 3.3 kWh in a minute */
	published(r, "energy_import_total", "kWh", 8, GUARD_PASS);
	guard_free(r);
	guard_free(g);
	now_ms = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normal_increments_pass),
		cmocka_unit_test(a_bogus_zero_is_held_and_dropped_when_the_register_comes_back),
		cmocka_unit_test(a_small_regression_is_held_too),
		cmocka_unit_test(a_real_reset_is_accepted_after_confirmation),
		cmocka_unit_test(an_implausible_jump_is_held),
		cmocka_unit_test(the_limit_follows_the_unit),
		cmocka_unit_test(no_limit_means_only_decreases_are_held),
		cmocka_unit_test(counters_are_per_meter_and_key),
		cmocka_unit_test(the_counter_table_is_capped),
		cmocka_unit_test(the_limit_grows_with_the_time_since_the_last_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
