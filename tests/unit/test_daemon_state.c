/* test_daemon_state.c — the .../state object: registry keys (or "obis_..." slugs), units converted to
 * the registry's (kW -> W exactly, Wh -> kWh), CT/VT multipliers per quantity, texts, timestamps,
 * positional readings left out; plus the unit helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smartmeter/obis.h"
#include "state.h"

static struct sm_reading num(const char *code, uint64_t mag, int8_t exp10, const char *unit)
{
	struct sm_reading r = { 0 };
	r.has_obis = sm_obis_parse(code, strlen(code), r.obis);
	r.value.type = SM_VALUE_NUMBER;
	r.value.unit = unit;
	r.value.u.num = (struct sm_number){ mag, exp10, false };
	return r;
}

static struct sm_telegram telegram(const struct sm_reading *r, size_t n)
{
	struct sm_telegram t = { 0 };
	t.readings = r;
	t.nreadings = n;
	return t;
}

/* The key the daemon must use: whatever the registry says (slug for unknown codes). */
static const char *key_for(const char *code, char *buf)
{
	uint8_t o[6];
	assert_true(sm_obis_parse(code, strlen(code), o));
	assert_true(sm_obis_state_key(o, buf, STATE_KEY_LEN) > 0);
	return buf;
}

static const char *text_of(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("key %s missing in %s", key, json_object_to_json_string(o));
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void registry_keys_and_units(void **state)
{
	char k[STATE_KEY_LEN];
	struct sm_reading r[] = {
		num("1-0:1.7.0", 244, -3, "kW"),      /* 0.244 kW */
		num("1-0:1.8.1", 4426, -3, "kWh"),    /* 4.426 kWh */
		num("1-0:2.8.1", 12345, 0, "Wh"),     /* 12345 Wh */
		num("1-0:32.7.0", 2300, -1, "V"),
		num("1-0:31.7.0", 48, -2, "A"),
	};
	struct sm_telegram t = telegram(r, 5);
	(void)state;
	json_object *o = state_build(&t, NULL);
	assert_non_null(o);
	assert_string_equal(key_for("1-0:1.7.0", k), "power_import");
	assert_string_equal(text_of(o, k), "244");
	assert_string_equal(text_of(o, key_for("1-0:1.8.1", k)), "4.426");
	assert_string_equal(text_of(o, key_for("1-0:2.8.1", k)), "12.345");
	assert_string_equal(text_of(o, key_for("1-0:32.7.0", k)), "230.0");
	assert_string_equal(text_of(o, key_for("1-0:31.7.0", k)), "0.48");
	json_object_put(o);
}

static void unknown_codes_get_a_slug(void **state)
{
	char k[STATE_KEY_LEN];
	struct sm_reading r[] = { num("1-0:99.1.0", 5, 0, NULL), num("1-0:128.7.0", 7, 0, "kW") };
	struct sm_telegram t = telegram(r, 2);
	(void)state;
	json_object *o = state_build(&t, NULL);
	assert_string_equal(key_for("1-0:99.1.0", k), "obis_1_0_99_1_0");
	assert_string_equal(text_of(o, "obis_1_0_99_1_0"), "5");
	assert_string_equal(text_of(o, "obis_1_0_128_7_0"), "7"); /* unknown: as the meter sent it */
	assert_int_equal(json_object_object_length(o), 2);
	json_object_put(o);
}

static void multipliers_per_quantity(void **state)
{
	char k[STATE_KEY_LEN];
	struct sm_reading r[] = {
		num("1-0:1.7.0", 1500, -3, "kW"), /* 1500 W x 40 */
		num("1-0:1.8.0", 1000, -3, "kWh"),
		num("1-0:32.7.0", 2300, -1, "V"),
		num("1-0:31.7.0", 125, -2, "A"),
	};
	struct sm_telegram t = telegram(r, 4);
	struct state_multipliers m = { .power = 40, .voltage = 1, .current = 40, .energy = 0.5 };
	(void)state;
	json_object *o = state_build(&t, &m);
	assert_string_equal(text_of(o, key_for("1-0:1.7.0", k)), "60000");
	assert_string_equal(text_of(o, key_for("1-0:1.8.0", k)), "0.5");
	assert_string_equal(text_of(o, key_for("1-0:32.7.0", k)), "230.0");
	assert_string_equal(text_of(o, key_for("1-0:31.7.0", k)), "50.00");
	json_object_put(o);
	assert_true(state_multiplier(&m, "kvar") == 40);
	assert_true(state_multiplier(&m, "kvarh") == 0.5);
	assert_true(state_multiplier(&m, "Hz") == 1);
	assert_true(state_multiplier(NULL, "W") == 1);
}

static void texts_timestamps_and_positions(void **state)
{
	char k[STATE_KEY_LEN];
	struct sm_reading r[3] = { 0 };
	static const char id[] = "E0034001540777816";
	r[0].has_obis = sm_obis_parse("0-0:96.1.1", 10, r[0].obis);
	r[0].value.type = SM_VALUE_TEXT;
	r[0].value.u.text.str = id;
	r[0].value.u.text.len = strlen(id);
	r[1] = num("0-1:24.2.1", 1234567, -3, "m3");
	r[1].has_timestamp = true;
	r[1].timestamp = (struct sm_datetime){ .year = 2026, .month = 11, .day = 21, .hour = 14, .minute = 30,
		                               .hundredths = 0xFF, .has_date = true, .has_time = true,
		                               .has_offset = true, .offset_min = 60 };
	r[2] = num("1-0:1.7.0", 1, 0, "W");
	r[2].has_obis = false; /* positional value of an unknown layout */
	r[2].position = 3;
	struct sm_telegram t = telegram(r, 3);
	t.has_datetime = true;
	t.datetime = r[1].timestamp;
	(void)state;
	json_object *o = state_build(&t, NULL);
	assert_string_equal(text_of(o, key_for("0-0:96.1.1", k)), "\"E0034001540777816\"");
	key_for("0-1:24.2.1", k);
	assert_string_equal(text_of(o, k), "1234.567");
	char ts[STATE_KEY_LEN + 16];
	snprintf(ts, sizeof(ts), "%s_timestamp", k);
	assert_string_equal(text_of(o, ts), "\"2026-11-21T14:30:00+01:00\"");
	assert_string_equal(text_of(o, "timestamp"), "\"2026-11-21T14:30:00+01:00\"");
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		assert_null(strstr(key, "pos_"));
	}
	json_object_put(o);
}

static void unit_helpers(void **state)
{
	struct sm_number n = { 244, -3, false };
	(void)state;
	assert_string_equal(state_canonical_unit("kW"), "W");
	assert_string_equal(state_canonical_unit("Wh"), "kWh");
	assert_string_equal(state_canonical_unit("varh"), "kvarh");
	assert_string_equal(state_canonical_unit("kV"), "V");
	assert_string_equal(state_canonical_unit("mA"), "A");
	assert_string_equal(state_canonical_unit("°C"), "°C");
	assert_null(state_canonical_unit(NULL));
	assert_true(state_convert(&n, "kW", "W"));
	assert_int_equal(n.mag, 244);
	assert_int_equal(n.exp10, 0);
	assert_true(state_convert(&n, "Wh", "kWh"));
	assert_int_equal(n.exp10, -3);
	assert_false(state_convert(&n, "kWh", "W"));
	assert_true(state_convert(&n, NULL, "W"));
	assert_false(state_convert(&n, "kW", NULL));
}

/* The meter's whole state: keys of another list stay with their last value until they are older than
 * three of their own push periods; wanted keys are carried as null until they have a value. */
static void cache_keeps_other_lists_and_expires_stale_keys(void **state)
{
	struct sm_reading list3[] = { num("1-0:1.7.0", 700, 0, "W"), num("1-0:1.8.0", 10955, 0, "kWh") };
	struct sm_reading list1[] = { num("1-0:1.7.0", 710, 0, "W") };
	struct state_list l = { 0 };
	struct state_cache *c = state_cache_new();
	char k[STATE_KEY_LEN], e[STATE_KEY_LEN];
	(void)state;

	assert_non_null(c);
	key_for("1-0:1.8.0", e);
	assert_int_equal(state_cache_want(c, "decoder_serial"), 0);
	struct sm_telegram t = telegram(list3, 2);
	assert_int_equal(state_list_build(&l, &t, NULL), 0);
	assert_int_equal(state_cache_update(c, &l, 1000), 0);
	t = telegram(list1, 1);
	assert_int_equal(state_list_build(&l, &t, NULL), 0);
	assert_int_equal(state_cache_update(c, &l, 3500), 0);
	json_object *o = state_cache_json(c, 3500);
	assert_string_equal(text_of(o, key_for("1-0:1.7.0", k)), "710");
	assert_string_equal(text_of(o, e), "10955");      /* list 3's energy in a list-1 state */
	assert_string_equal(text_of(o, "decoder_serial"), "null"); /* wanted, never seen */
	json_object_put(o);
	/* the energy comes again an hour later: its own period is learned (1 h) */
	t = telegram(list3, 2);
	assert_int_equal(state_list_build(&l, &t, NULL), 0);
	assert_int_equal(state_cache_update(c, &l, 3601000), 0);
	o = state_cache_json(c, 3601000 + 2 * 3600000);
	assert_string_equal(text_of(o, e), "10955");      /* two periods late: still shown */
	json_object_put(o);
	o = state_cache_json(c, 3601000 + 3 * 3600000 + 1);
	assert_string_equal(text_of(o, e), "null");       /* three periods late: unknown, not stale */
	json_object_put(o);
	state_cache_reset(c);
	assert_int_equal(state_cache_size(c), 0);
	state_cache_free(c);
	state_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cache_keeps_other_lists_and_expires_stale_keys),
		cmocka_unit_test(registry_keys_and_units),
		cmocka_unit_test(unknown_codes_get_a_slug),
		cmocka_unit_test(multipliers_per_quantity),
		cmocka_unit_test(texts_timestamps_and_positions),
		cmocka_unit_test(unit_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
