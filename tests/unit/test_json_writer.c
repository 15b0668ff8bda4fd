/* test_json_writer.c — the streaming JSON writer (src/json) against json-c as the oracle:
 *  - every telegram of every corpus case, DLMS/DSMR and SML (each skipped when absent), and of frames built here
 *    prints byte for byte what the json-c document (helpers/jsonref.c, the code smartmeter-decode used
 *    before) prints, and parses back to an equal document;
 *  - random byte strings escape to exactly json-c's escaping and parse back to the same bytes;
 *  - commas, nesting, integers, hex, failure on too deep nesting, no allocation once the buffer fits;
 *  - the library's digit emitters print what printf printed. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"
#include "internal.h"
#include "jsonref.h"
#include "telegram_json.h"

static const int FLAGS = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

struct cmp {
	struct jw w;
	size_t telegrams;
	char first_diff[512];
	size_t diffs;
};

static void compare_telegram(void *ctx, const struct sm_telegram *t)
{
	struct cmp *c = ctx;
	json_object *ref = jsonref_telegram(t);
	assert_non_null(ref);
	const char *want = json_object_to_json_string_ext(ref, FLAGS);
	jw_reset(&c->w);
	assert_true(sm_json_telegram(&c->w, t));
	size_t len;
	const char *got = jw_text(&c->w, &len);
	assert_int_equal(len, strlen(got));
	json_object *back = json_tokener_parse(got), *wantdoc = json_tokener_parse(want);
	if (strcmp(want, got) != 0 || !back || !wantdoc || !json_object_equal(back, wantdoc)) {
		if (c->diffs++ == 0) {
			size_t i = 0;
			while (want[i] && want[i] == got[i])
				i++;
			snprintf(c->first_diff, sizeof(c->first_diff), "at byte %zu: json-c '%.60s' writer '%.60s'", i,
			         want + i, got + i);
		}
	}
	json_object_put(back);
	json_object_put(wantdoc);
	json_object_put(ref);
	c->telegrams++;
}

static bool every_case(const char *name, json_object *cj)
{
	(void)name, (void)cj;
	return true;
}

static void compare_corpus(void)
{
	if (!corpus_dir())
		skip();
	struct corpus_case *cases;
	size_t n = corpus_load(every_case, &cases);
	struct cmp c = {0};
	size_t mismatched_cases = 0;
	char first[1024] = "";
	for (size_t i = 0; i < n; i++) {
		size_t before = c.diffs;
		corpus_each_telegram(&cases[i], compare_telegram, &c);
		if (c.diffs > before && mismatched_cases++ == 0)
			snprintf(first, sizeof(first), "%s: %s", cases[i].name, c.first_diff);
	}
	corpus_free(cases, n);
	jw_free(&c.w);
	print_message("%zu corpus cases, %zu telegrams compared\n", n, c.telegrams);
	if (mismatched_cases)
		fail_msg("%zu cases print differently from json-c; first: %s", mismatched_cases, first);
	assert_true(c.telegrams > n / 2); /* most cases decode: the comparison ran */
}

static void corpus_frames_print_as_json_c_did(void **state)
{
	(void)state;
	corpus_use("SMARTMETER_CORPUS", "corpus");
	compare_corpus();
}

static void sml_corpus_frames_print_as_json_c_did(void **state)
{
	(void)state;
	corpus_use("SMARTMETER_CORPUS_SML", "corpus-sml");
	compare_corpus();
	corpus_use("SMARTMETER_CORPUS", "corpus");
}

/* A DSMR telegram with text that needs escaping, a repeated key and an empty value. */
static size_t tricky_dsmr(char *out, size_t cap)
{
	static const char body[] = "/XMX5\\LGBBFG\"1012345678\r\n\r\n"
	                           "1-3:0.2.8(50)\r\n0-0:96.1.1(4530303334)\r\n"
	                           "0-0:96.13.0(48656c6c6f0a09225c2f7f)\r\n"
	                           "1-0:1.8.1(000123.456*kWh)\r\n1-0:1.8.1(000123.457*kWh)\r\n"
	                           "1-0:2.8.1(000000.001*kWh)\r\n0-0:96.13.1()\r\n!";
	size_t n = strlen(body);
	assert_true(n + 8 < cap);
	memcpy(out, body, n);
	n += (size_t)snprintf(out + n, cap - n, "%04X\r\n", sm_crc16_arc((const uint8_t *)body, strlen(body)));
	return n;
}

static void built_frames_print_as_json_c_did(void **state)
{
	(void)state;
	char buf[1024];
	size_t n = tricky_dsmr(buf, sizeof(buf));
	struct cmp c = {0};
	struct sm_decoder *dec = sm_decoder_new(NULL, compare_telegram, NULL, &c, NULL);
	assert_non_null(dec);
	sm_decoder_feed(dec, (const uint8_t *)buf, n);
	sm_decoder_free(dec);
	jw_free(&c.w);
	assert_int_equal(c.telegrams, 1);
	if (c.diffs)
		fail_msg("%s", c.first_diff);
}

/* The later of two equal keys wins, at the first one's place: what json-c's object did. */
static void repeated_key_keeps_first_place_later_value(void **state)
{
	(void)state;
	struct sm_reading r[3] = {0};
	for (int i = 0; i < 3; i++) {
		r[i].value.type = SM_VALUE_NUMBER;
		r[i].value.u.num = (struct sm_number){(uint64_t)i + 1, 0, false};
	}
	r[0].has_obis = sm_obis_parse("1-0:1.8.0", 9, r[0].obis);
	r[1].has_obis = false;
	r[1].position = 7;
	r[2].has_obis = sm_obis_parse("1-0:1.8.0", 9, r[2].obis);
	struct sm_telegram t = {.protocol = SM_PROTOCOL_DLMS, .readings = r, .nreadings = 3};
	struct jw w;
	jw_init(&w);
	assert_true(sm_json_telegram(&w, &t));
	assert_non_null(strstr(jw_text(&w, NULL), "\"values\":{\"1-0:1.8.0\":{\"value\":3},\"pos_7\":{\"value\":2}}}"));
	jw_free(&w);
}

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fuzzed_strings_round_trip(void **state)
{
	(void)state;
	char s[300];
	struct jw w;
	jw_init(&w);
	for (int round = 0; round < 20000; round++) {
		size_t n = next() % sizeof(s);
		int mode = round % 3; /* any byte / mostly controls and quotes / UTF-8-ish text */
		for (size_t i = 0; i < n; i++) {
			uint64_t r = next();
			s[i] = mode == 0   ? (char)r
			       : mode == 1 ? "\"\\/\b\f\n\r\t\x01\x1f\x7f a"[r % 13]
			                   : (char)(0x20 + r % 0xE0);
		}
		jw_reset(&w);
		jw_string(&w, s, n);
		size_t len;
		const char *got = jw_text(&w, &len);
		json_object *ref = json_object_new_string_len(s, (int)n);
		assert_string_equal(got, json_object_to_json_string_ext(ref, FLAGS));
		json_object *back = json_tokener_parse(got);
		assert_non_null(back);
		assert_int_equal(json_object_get_string_len(back), n);
		assert_memory_equal(json_object_get_string(back), s, n);
		json_object_put(back);
		json_object_put(ref);
	}
	jw_free(&w);
}

static void structure_and_scalars(void **state)
{
	(void)state;
	struct jw w;
	jw_init(&w);
	jw_object_begin(&w);
	jw_key_c(&w, "a");
	jw_array_begin(&w);
	jw_int(&w, INT64_MIN);
	jw_uint(&w, UINT64_MAX);
	jw_int(&w, -1);
	jw_uint(&w, 0);
	jw_array_begin(&w);
	jw_array_end(&w);
	jw_object_begin(&w);
	jw_object_end(&w);
	jw_bool(&w, false);
	jw_null(&w);
	jw_hex(&w, "\x00\xAB\xff", 3);
	jw_string_c(&w, NULL);
	jw_array_end(&w);
	jw_key_c(&w, "k\"");
	jw_raw(&w, "1.230", 5);
	jw_object_end(&w);
	assert_true(jw_ok(&w));
	assert_string_equal(jw_text(&w, NULL),
	                    "{\"a\":[-9223372036854775808,18446744073709551615,-1,0,[],{},false,null,"
	                    "\"00abff\",null],\"k\\\"\":1.230}");
	json_object *o = json_tokener_parse(jw_text(&w, NULL));
	assert_non_null(o);
	json_object_put(o);

	/* Reused buffer: the same document again allocates nothing. */
	char *buf = w.buf;
	size_t cap = w.cap;
	jw_reset(&w);
	for (int i = 0; i < 100; i++)
		jw_uint(&w, (uint64_t)i);
	assert_ptr_equal(w.buf, buf);
	assert_int_equal(w.cap, cap);

	jw_reset(&w);
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		jw_array_begin(&w);
	assert_false(jw_ok(&w));
	assert_string_equal(jw_text(&w, NULL), "");
	jw_reset(&w);
	jw_array_end(&w);
	assert_false(jw_ok(&w));
	jw_free(&w);
}

/* The old printf-based sm_datetime_format, as the oracle for the digit emitter that replaced it. */
static size_t datetime_printf(const struct sm_datetime *dt, char *tmp, size_t sz)
{
	int n = 0;
	if (dt->has_date && dt->has_time)
		n = snprintf(tmp, sz, "%04u-%02u-%02uT%02u:%02u:%02u", dt->year, dt->month, dt->day, dt->hour,
		             dt->minute, dt->second);
	else if (dt->has_date)
		n = snprintf(tmp, sz, "%04u-%02u-%02u", dt->year, dt->month, dt->day);
	else if (dt->has_time)
		n = snprintf(tmp, sz, "%02u:%02u:%02u", dt->hour, dt->minute, dt->second);
	if (n > 0 && dt->has_time && dt->has_offset) {
		int off = dt->offset_min;
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		n += snprintf(tmp + n, sz - (size_t)n, "%c%02d:%02d", sign, off / 60, off % 60);
	}
	return n > 0 ? (size_t)n : 0;
}

static void digit_emitters_print_what_printf_did(void **state)
{
	(void)state;
	char a[64], b[64];
	for (int i = 0; i < 100000; i++) {
		uint64_t r = next();
		uint8_t obis[6];
		for (int k = 0; k < 6; k++)
			obis[k] = (uint8_t)(r >> (8 * k));
		if (i % 4 == 0)
			obis[5] = 255;
		sm_obis_format(obis, a, sizeof(a));
		if (obis[5] == 255)
			snprintf(b, sizeof(b), "%u-%u:%u.%u.%u", obis[0], obis[1], obis[2], obis[3], obis[4]);
		else
			snprintf(b, sizeof(b), "%u-%u:%u.%u.%u.%u", obis[0], obis[1], obis[2], obis[3], obis[4],
			         obis[5]);
		assert_string_equal(a, b);

		uint64_t v = next() >> (next() % 64);
		assert_int_equal(sm_u64_format(v, a, sizeof(a)), (size_t)snprintf(b, sizeof(b), "%" PRIu64, v));
		assert_string_equal(a, b);

		struct sm_datetime dt = {.year = (uint16_t)(r % 3 ? 2000 + r % 50 : r >> 48),
		                         .month = (uint8_t)(r >> 8),
		                         .day = (uint8_t)(r >> 16) % 40,
		                         .hour = (uint8_t)(r >> 24) % 30,
		                         .minute = (uint8_t)(r >> 32),
		                         .second = (uint8_t)(r >> 40) % 70,
		                         .has_date = (r >> 56) & 1,
		                         .has_time = (r >> 57) & 1,
		                         .has_offset = (r >> 58) & 1,
		                         .offset_min = (int16_t)(r % 5 ? (int)(next() % 1500) - 750 : (int16_t)next())};
		size_t n = sm_datetime_format(&dt, a, sizeof(a));
		assert_int_equal(n, datetime_printf(&dt, b, sizeof(b)));
		if (n)
			assert_string_equal(a, b);
	}
	/* Does not fit: empty string, 0. */
	uint8_t obis[6] = {255, 255, 255, 255, 255, 254};
	assert_int_equal(sm_obis_format(obis, a, 23), 0);
	assert_string_equal(a, "");
	assert_int_equal(sm_obis_format(obis, a, 24), 23);
	assert_int_equal(sm_u64_format(UINT64_MAX, a, 20), 0);
	assert_int_equal(sm_u64_format(UINT64_MAX, a, 21), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(corpus_frames_print_as_json_c_did),
	    cmocka_unit_test(sml_corpus_frames_print_as_json_c_did),
	    cmocka_unit_test(built_frames_print_as_json_c_did),
	    cmocka_unit_test(repeated_key_keeps_first_place_later_value),
	    cmocka_unit_test(fuzzed_strings_round_trip),
	    cmocka_unit_test(structure_and_scalars),
	    cmocka_unit_test(digit_emitters_print_what_printf_did),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
