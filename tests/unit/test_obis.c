/* test_obis.c — the OBIS registry: matching rules (PROTOCOLS.md §7.1), unique snake_case keys, Home
 * Assistant validity of every entry (HOME_ASSISTANT.md §3.1, the test table in helpers/harules.c), coverage of
 * the national push lists, and the state-value conversions (units, DSMR text numbers, relays, tariff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"
#include "harules.h"
#include "smartmeter/obis.h"

static bool snake_case(const char *s)
{
	if (!*s || s[0] == '_' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static const struct sm_obis_info *look(const char *code)
{
	uint8_t o[6];
	if (!sm_obis_parse(code, strlen(code), o))
		fail_msg("bad OBIS in test: %s", code);
	return sm_obis_lookup(o);
}

static void every_entry_is_valid_for_home_assistant(void **state)
{
	(void)state;
	uint8_t o[6];
	const struct sm_obis_info *e;
	size_t n = 0;

	for (size_t i = 0; (e = sm_obis_registry(i, o)) != NULL; i++, n++) {
		char code[SM_OBIS_STRLEN];
		sm_obis_format(o, code, sizeof(code));
		assert_non_null(e->key);
		assert_non_null(e->name);
		if (!snake_case(e->key))
			fail_msg("%s: key '%s' is not snake_case", code, e->key);
		if (e->name[0] < 'A' || e->name[0] > 'Z')
			fail_msg("%s: name '%s' must start with a capital (HA naming)", code, e->name);
		/* The table entry must be found again by its own code (no entry shadowed by an earlier one). */
		if (sm_obis_lookup(o) != e)
			fail_msg("%s: entry '%s' is shadowed by '%s'", code, e->key, sm_obis_lookup(o)->key);
		for (size_t j = 0; j < i; j++) {
			uint8_t o2[6];
			if (strcmp(sm_obis_registry(j, o2)->key, e->key) == 0)
				fail_msg("key '%s' used twice", e->key);
		}
		if (e->component == SM_HA_SENSOR)
			ha_assert_valid(code, e->device_class, e->unit, e->state_class);
		else if (e->device_class && !ha_listed(ha_binary_classes, 3, e->device_class))
			fail_msg("%s: %s is not a binary_sensor device class", code, e->device_class);
		if (e->icon && strncmp(e->icon, "mdi:", 4) != 0)
			fail_msg("%s: icon without prefix", code);
		if (e->component == SM_HA_BINARY_SENSOR) {
			/* binary_sensor has no unit, state class or precision (§2.1). */
			assert_null(e->unit);
			assert_null(e->state_class);
			assert_int_equal(e->display_precision, -1);
			assert_int_equal(e->kind, SM_OBIS_KIND_SWITCH);
		}
		if (e->kind != SM_OBIS_KIND_NUMBER) {
			/* Non-numeric states must not look numeric to HA (§3.5). */
			assert_null(e->unit);
			assert_null(e->state_class);
			assert_int_equal(e->display_precision, -1);
		}
		if (e->kind == SM_OBIS_KIND_TIMESTAMP)
			assert_string_equal(e->device_class, "timestamp");
		if (e->device_class && strcmp(e->device_class, "timestamp") == 0)
			assert_int_equal(e->kind, SM_OBIS_KIND_TIMESTAMP);
		/* Energy registers must be usable in the Energy dashboard (§3.3): never measurement. */
		if (e->device_class && strcmp(e->device_class, "energy") == 0)
			assert_non_null(e->state_class);
		/* Serial numbers and versions are diagnostics (§5.2). */
		if (e->icon && strcmp(e->icon, "mdi:identifier") == 0)
			assert_true(e->diagnostic);
	}
	assert_true(n > 100);
}

static void electricity_channel_zero_and_one_are_the_same_meter(void **state)
{
	(void)state;
	assert_string_equal(look("1-0:1.8.0")->key, "energy_import_total");
	assert_ptr_equal(look("1-0:1.8.0"), look("1-1:1.8.0")); /* Kamstrup / L+G write 1-1: */
	assert_ptr_equal(look("1-0:1.8.0"), look("1-0:1.8.0.255"));
	assert_null(look("1-2:1.8.0"));
	assert_null(look("1-0:1.8.0.101")); /* billing-period value: not the current register */
	assert_string_equal(look("1-3:0.2.8")->key, "dsmr_version");
	assert_string_equal(look("1-0:0.2.8")->key, "firmware_signature");
	assert_string_equal(look("1-1:0.2.129")->key, "list_version");
	/* The LU spec's table prints sag counters with A = 0 (PROTOCOLS.md §1.8). */
	assert_ptr_equal(look("0-0:32.32.0"), look("1-0:32.32.0"));
	assert_null(look("0-1:32.32.0"));
}

static void mbus_channels_have_their_own_keys(void **state)
{
	(void)state;
	assert_string_equal(look("0-1:24.2.1")->key, "mbus1_total");
	assert_string_equal(look("0-4:24.2.1")->key, "mbus4_total");
	assert_true(look("0-2:24.2.1")->sub_device);
	assert_true(look("0-2:24.2.1")->medium_class);
	assert_null(look("0-2:24.2.1")->device_class);
	assert_string_equal(look("0-2:96.1.0")->key, "mbus2_serial_number");
	assert_string_equal(look("0-0:96.1.0")->key, "serial_number");
	assert_false(look("0-0:96.1.0")->sub_device);
	assert_string_equal(look("0-0:96.3.10")->key, "breaker");
	assert_string_equal(look("0-3:96.3.10")->key, "relay_3");
	assert_false(look("0-3:96.3.10")->sub_device);
	assert_int_equal(look("0-3:96.3.10")->component, SM_HA_BINARY_SENSOR);
	assert_null(look("0-5:24.2.1")); /* beyond DSMR's four channels: published by slug */
}

static void state_keys_and_slugs(void **state)
{
	(void)state;
	uint8_t o[6];
	char buf[SM_OBIS_KEY_STRLEN];

	assert_true(sm_obis_parse("1-0:1.8.0", 9, o));
	assert_int_equal(sm_obis_slug(o, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "1_0_1_8_0");
	assert_true(sm_obis_state_key(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "energy_import_total");
	assert_true(sm_obis_name(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "Energy import");

	assert_true(sm_obis_parse("1-0:99.1.0", 10, o));
	assert_true(sm_obis_state_key(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "obis_1_0_99_1_0");
	assert_true(sm_obis_name(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "1-0:99.1.0");

	assert_true(sm_obis_parse("1-0:1.8.0.101", 13, o));
	assert_true(sm_obis_state_key(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "obis_1_0_1_8_0_101");
	assert_true(sm_obis_slug(o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "1_0_1_8_0_101");

	/* Too small a buffer: nothing, but NUL-terminated. */
	char tiny[6];
	assert_int_equal(sm_obis_state_key(o, tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "");
}

/* The list: DSMR 5, BE/LU extras, Nordic/AT/CH/CZ push lists. */
static void registry_covers_the_national_lists(void **state)
{
	(void)state;
	static const char *const known[] = {
		/* DSMR 5.0.2 */
		"1-3:0.2.8", "0-0:1.0.0", "0-0:96.1.1", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2",
		"0-0:96.14.0", "1-0:1.7.0", "1-0:2.7.0", "0-0:96.7.21", "0-0:96.7.9", "1-0:32.32.0", "1-0:52.32.0",
		"1-0:72.32.0", "1-0:32.36.0", "1-0:52.36.0", "1-0:72.36.0", "0-0:96.13.0", "1-0:32.7.0", "1-0:52.7.0",
		"1-0:72.7.0", "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0",
		"1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0", "0-1:24.1.0", "0-1:96.1.0", "0-1:24.2.1",
		/* BE / LU */
		"0-0:96.1.4", "1-0:1.4.0", "1-0:1.6.0", "0-0:17.0.0", "1-0:31.4.0", "0-0:96.3.10", "0-1:24.2.3",
		"0-1:24.4.0", "0-2:96.1.1", "0-0:42.0.0", "1-0:3.8.0", "1-0:4.8.0", "1-0:3.7.0", "1-0:4.7.0",
		"1-0:9.7.0", "1-0:10.7.0", "0-1:96.3.10", "0-0:96.13.2", "1-1:31.4.0",
		/* NO / SE / DK (Aidon, Kaifa, Kamstrup), AT, CH, CZ, HU */
		"1-1:0.2.129", "0-0:96.1.0", "0-0:96.1.7", "1-1:0.0.5", "1-1:96.1.1", "1-1:1.7.0", "1-0:23.7.0",
		"1-0:24.7.0", "1-0:43.7.0", "1-0:44.7.0", "1-0:63.7.0", "1-0:64.7.0", "1-0:1.8.0", "1-0:2.8.0",
		"1-1:1.8.1", "1-0:5.8.0", "1-0:6.8.0", "1-0:7.8.0", "1-0:8.8.0", "1-1:5.8.1", "1-0:13.7.0",
		"1-0:33.7.0", "1-0:14.7.0", "1-0:15.8.0", "1-0:16.7.0", "1-0:21.8.0", "1-0:22.8.0", "0-4:96.3.10",
		"1-0:5.7.0", "1-0:8.7.0", "1-0:1.8.4", "1-0:2.8.4", "1-0:91.7.0", "1-0:90.7.0", "1-0:32.24.0",
		"1-0:29.7.0", "1-0:30.7.0", "1-0:0.2.0", "0-0:97.97.0", "1-0:0.9.1",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!look(known[i]))
			fail_msg("%s is not in the registry", known[i]);
	/* The quantities the issue names get the classes the Energy dashboard needs. */
	assert_string_equal(look("1-0:1.8.1")->device_class, "energy");
	assert_string_equal(look("1-0:1.8.1")->unit, "kWh");
	assert_string_equal(look("1-0:2.8.0")->state_class, "total_increasing");
	assert_string_equal(look("1-0:16.8.0")->state_class, "total"); /* net: may go down */
	assert_string_equal(look("1-0:21.7.0")->unit, "W");
	assert_string_equal(look("1-0:3.7.0")->unit, "var");
	assert_string_equal(look("1-0:3.8.0")->device_class, "reactive_energy");
	assert_null(look("1-0:13.7.0")->unit); /* PF 0..1: no unit */
	assert_true(look("0-0:96.1.1")->diagnostic);
	assert_true(look("1-3:0.2.8")->diagnostic);
	assert_string_equal(look("0-0:1.0.0")->device_class, "timestamp");
}

/* Every OBIS code the conformance corpus expects is in the registry, except a short list of vendor
 * codes that are deliberately published by slug. */
static void registry_covers_the_corpus(void **state)
{
	(void)state;
	static const char *const unknown_ok[] = { "0-0:96.50.68", "1-0:96.5.5" };
	const char *dir = corpus_dir();
	if (!dir)
		skip();
	struct corpus_case *cases = NULL;
	size_t n = corpus_load(NULL, &cases), checked = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *expect;
		if (!json_object_object_get_ex(cases[i].cj, "expect", &expect))
			continue;
		json_object_object_foreach(expect, code, v)
		{
			(void)v;
			uint8_t o[6];
			if (!sm_obis_parse(code, strlen(code), o))
				continue; /* pos_<n> */
			checked++;
			if (!sm_obis_lookup(o) && !ha_listed(unknown_ok, 2, code))
				fail_msg("%s (case %s) is not in the registry", code, cases[i].name);
		}
	}
	corpus_free(cases, n);
	assert_true(checked > 100);
}

/* ---- state values ---- */

static struct sm_value num(uint64_t mag, int exp10, bool neg, const char *unit)
{
	struct sm_value v = { .type = SM_VALUE_NUMBER, .unit = unit };
	v.u.num.mag = mag;
	v.u.num.exp10 = (int8_t)exp10;
	v.u.num.neg = neg;
	return v;
}

static struct sm_value text(const char *s)
{
	struct sm_value v = { .type = SM_VALUE_TEXT };
	v.u.text.str = s;
	v.u.text.len = strlen(s);
	return v;
}

static const char *state_str(const char *code, struct sm_value v)
{
	static struct sm_obis_state st;
	static char buf[SM_NUMBER_STRLEN];
	sm_obis_state_value(code ? look(code) : NULL, &v, &st);
	switch (st.type) {
	case SM_OBIS_STATE_NULL:
		return "null";
	case SM_OBIS_STATE_NUMBER:
		assert_true(sm_number_format(&st.num, buf, sizeof(buf)) > 0);
		return buf;
	case SM_OBIS_STATE_TEXT:
		return st.text;
	}
	return "?";
}

static void numbers_are_converted_exactly_to_the_registry_unit(void **state)
{
	(void)state;
	assert_string_equal(state_str("1-0:1.7.0", num(1234, -3, false, "kW")), "1234");  /* 1.234 kW */
	assert_string_equal(state_str("1-0:1.7.0", num(244, 0, false, "W")), "244");
	assert_string_equal(state_str("1-0:1.8.0", num(6545766, 0, false, "Wh")), "6545.766");
	assert_string_equal(state_str("1-0:1.8.0", num(12345678, -3, false, "kWh")), "12345.678");
	assert_string_equal(state_str("1-0:3.8.0", num(5, 0, false, "varh")), "0.005");
	assert_string_equal(state_str("1-0:3.7.0", num(12, -3, false, "kvar")), "12");
	assert_string_equal(state_str("1-0:9.7.0", num(69, 0, false, "kVA")), "69000");
	assert_string_equal(state_str("1-0:32.7.0", num(2301, -4, false, "kV")), "230.1");
	assert_string_equal(state_str("1-0:31.7.0", num(52, -1, true, "A")), "-5.2"); /* Aidon signed */
	/* A value in a unit of another quantity is never mislabelled. */
	assert_string_equal(state_str("1-0:1.8.0", num(5, 0, false, "kvarh")), "null");
	assert_string_equal(state_str("1-0:1.7.0", num(5, 0, false, "kWh")), "null");
	/* Passthrough entries keep the meter's unit. */
	assert_string_equal(state_str("0-0:17.0.0", num(999, -1, false, "kW")), "99.9");
	assert_string_equal(state_str("0-1:24.2.1", num(981443, -3, false, "m3")), "981.443");
	/* Unknown codes: numbers as sent. */
	assert_string_equal(state_str("1-0:99.1.0", num(7, 0, false, "s")), "7");
}

static void dsmr_text_numbers_become_numbers(void **state)
{
	(void)state;
	assert_string_equal(state_str("0-0:96.7.21", text("00013")), "13");
	assert_string_equal(state_str("1-0:32.32.0", text("00000")), "0");
	assert_string_equal(state_str("1-0:13.7.0", text("0.998")), "0.998");
	assert_string_equal(state_str("0-0:96.7.21", text("abc")), "null");
	assert_string_equal(state_str("0-0:96.7.21", text("")), "null");

	struct sm_number n;
	assert_true(sm_number_parse("-1.50", 5, &n));
	assert_true(n.neg);
	assert_int_equal(n.mag, 150);
	assert_int_equal(n.exp10, -2);
	assert_true(sm_number_parse("+7", 2, &n));
	assert_false(n.neg);
	assert_false(sm_number_parse("1.2.3", 5, &n));
	assert_false(sm_number_parse("-", 1, &n));
	assert_false(sm_number_parse("1e3", 3, &n));
	assert_false(sm_number_parse("99999999999999999999999", 23, &n)); /* overflow, not wrap */
}

static void relays_tariffs_and_texts(void **state)
{
	(void)state;
	struct sm_value b = { .type = SM_VALUE_BOOL };
	b.u.boolean = true;
	assert_string_equal(state_str("0-0:96.3.10", text("1")), "ON");
	assert_string_equal(state_str("0-0:96.3.10", text("0")), "OFF");
	assert_string_equal(state_str("0-0:96.3.10", text("2")), "OFF"); /* ready for reconnection: still open */
	assert_string_equal(state_str("0-1:96.3.10", num(1, 0, false, NULL)), "ON");
	assert_string_equal(state_str("0-1:96.3.10", b), "ON");
	assert_string_equal(state_str("0-1:96.3.10", text("off")), "OFF");
	assert_string_equal(state_str("0-0:96.3.10", text("7")), "null");

	assert_string_equal(state_str("0-0:96.14.0", text("0002")), "T2");
	assert_string_equal(state_str("0-0:96.14.0", text("T2")), "T2");
	assert_string_equal(state_str("0-0:96.14.0", num(1, 0, false, NULL)), "T1");
	assert_string_equal(state_str("0-0:96.14.0", text("peak")), "peak");

	/* DSMR hex ids decode; DLMS digit strings that are not hex of printable text stay. */
	assert_string_equal(state_str("0-0:96.1.1", text("4530303132333435363738")), "E0012345678");
	assert_string_equal(state_str("0-0:96.1.0", text("7359992890941742")), "7359992890941742");
	assert_string_equal(state_str("0-0:96.13.0", text("")), "");
	assert_string_equal(state_str("0-0:42.0.0", text("53414733303832323030303032313630")), "SAG3082200002160");

	struct sm_value oct = { .type = SM_VALUE_OCTETS };
	oct.u.text.str = "\x01\xab";
	oct.u.text.len = 2;
	assert_string_equal(state_str("1-1:0.2.129", oct), "01ab");
	assert_string_equal(state_str(NULL, oct), "01ab");
}

static void timestamps_need_an_offset(void **state)
{
	(void)state;
	struct sm_value v = { .type = SM_VALUE_DATETIME };
	v.u.dt = (struct sm_datetime){ .year = 2026, .month = 9, .day = 14, .hour = 10, .minute = 15, .second = 3,
	                               .hundredths = 0xFF, .has_date = true, .has_time = true, .has_offset = true,
	                               .offset_min = 120 };
	assert_string_equal(state_str("0-0:1.0.0", v), "2026-09-14T10:15:03+02:00");
	v.u.dt.has_offset = false; /* HA would fail the state write */
	assert_string_equal(state_str("0-0:1.0.0", v), "null");
	assert_string_equal(state_str("0-0:1.0.0", text("2026")), "null");
}

static void long_text_is_cut_at_255_bytes_on_a_utf8_boundary(void **state)
{
	(void)state;
	char s[400];
	memset(s, 'a', sizeof(s));
	/* a 2-byte "é" straddling the cut at 255 */
	s[254] = '\xc3';
	s[255] = '\xa9';
	s[399] = '\0';
	struct sm_obis_state st;
	struct sm_value v = text(s);
	sm_obis_state_value(look("0-0:96.13.0"), &v, &st);
	assert_int_equal(st.type, SM_OBIS_STATE_TEXT);
	assert_int_equal(strlen(st.text), 254);
	v.type = SM_VALUE_ROWS;
	sm_obis_state_value(NULL, &v, &st);
	assert_int_equal(st.type, SM_OBIS_STATE_NULL);
}

static void units_in_home_assistant_spelling(void **state)
{
	(void)state;
	assert_string_equal(sm_obis_ha_unit("m3"), "m\xc2\xb3");
	assert_string_equal(sm_obis_ha_unit("l"), "L");
	assert_string_equal(sm_obis_ha_unit("kWh"), "kWh");
	assert_null(sm_obis_ha_unit(NULL));
}

static void mbus_media(void **state)
{
	(void)state;
	assert_string_equal(sm_obis_mbus_medium(3)->device_class, "gas");
	assert_string_equal(sm_obis_mbus_medium(3)->device_name, "Gas meter");
	assert_string_equal(sm_obis_mbus_medium(7)->device_class, "water");
	assert_string_equal(sm_obis_mbus_medium(4)->device_class, "energy");
	assert_string_equal(sm_obis_mbus_medium(0x0C)->device_class, "energy");
	assert_null(sm_obis_mbus_medium(99)->device_class);
	assert_non_null(sm_obis_mbus_medium(99)->device_name);
	/* Each medium's device class accepts the unit its meters send (PROTOCOLS.md §1.6). */
	ha_assert_valid("gas", sm_obis_mbus_medium(3)->device_class, sm_obis_ha_unit("m3"), "total_increasing");
	ha_assert_valid("water", sm_obis_mbus_medium(7)->device_class, sm_obis_ha_unit("m3"), "total_increasing");
	ha_assert_valid("heat", sm_obis_mbus_medium(4)->device_class, "GJ", "total_increasing");
	ha_assert_valid("e-meter", sm_obis_mbus_medium(2)->device_class, "kWh", "total_increasing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_entry_is_valid_for_home_assistant),
		cmocka_unit_test(electricity_channel_zero_and_one_are_the_same_meter),
		cmocka_unit_test(mbus_channels_have_their_own_keys),
		cmocka_unit_test(state_keys_and_slugs),
		cmocka_unit_test(registry_covers_the_national_lists),
		cmocka_unit_test(registry_covers_the_corpus),
		cmocka_unit_test(numbers_are_converted_exactly_to_the_registry_unit),
		cmocka_unit_test(dsmr_text_numbers_become_numbers),
		cmocka_unit_test(relays_tariffs_and_texts),
		cmocka_unit_test(timestamps_need_an_offset),
		cmocka_unit_test(long_text_is_cut_at_255_bytes_on_a_utf8_boundary),
		cmocka_unit_test(units_in_home_assistant_spelling),
		cmocka_unit_test(mbus_media),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
