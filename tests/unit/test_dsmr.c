/* test_dsmr.c — DSMR P1 telegrams of every generation, written here with their CRCs computed here:
 * decoding, CRC rejection, truncation, garbage, resynchronisation, byte-at-a-time feeding and 7E1
 * data read as 8N1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "internal.h"

/* DSMR 5.0 (NL) with a gas meter on channel 1 and an empty channel 2 */
static const char V5[] =
	"/ISk5\\2MT382-1000\r\n"
	"\r\n"
	"1-3:0.2.8(50)\r\n"
	"0-0:1.0.0(170916191108S)\r\n"
	"0-0:96.1.1(4530303034303031353934373534343134)\r\n"
	"1-0:1.8.1(000123.456*kWh)\r\n"
	"1-0:1.8.2(000002.399*kWh)\r\n"
	"1-0:2.8.1(000000.001*kWh)\r\n"
	"1-0:2.8.2(000000.000*kWh)\r\n"
	"0-0:96.14.0(0002)\r\n"
	"1-0:1.7.0(00.244*kW)\r\n"
	"1-0:2.7.0(00.000*kW)\r\n"
	"0-0:96.7.21(00013)\r\n"
	"0-0:96.7.9(00000)\r\n"
	"1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)\r\n"
	"0-0:96.13.0()\r\n"
	"1-0:32.7.0(0230.0*V)\r\n"
	"1-0:31.7.0(0.48*A)\r\n"
	"0-1:24.1.0(003)\r\n"
	"0-1:96.1.0(3232323241424344313233343536373839)\r\n"
	"0-1:24.2.1(101209112500W)(12785.123*m3)\r\n"
	"0-2:24.1.0(003)\r\n"
	"0-2:96.1.0()\r\n"
	"!";

/* DSMR 2.2 (no CRC, legacy two-line gas profile, TST12 without S/W) */
static const char V22[] =
	"/ISk5\\2MT382-1004\r\n"
	"\r\n"
	"0-0:96.1.1(00000000000000)\r\n"
	"1-0:1.8.1(00001.001*kWh)\r\n"
	"1-0:2.7.0(0000.00*kW)\r\n"
	"0-0:17.0.0(0999.00*kW)\r\n"
	"0-0:96.3.10(1)\r\n"
	"0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n"
	"(00001.001)\r\n"
	"0-1:24.4.0(1)\r\n"
	"!\r\n";

/* Belgian e-MUCS extras: uncorrected gas 24.2.3, month peak 1.6.0, 13-month history 98.1.0 */
static const char BE[] =
	"/FLU5\\253769484_A\r\n"
	"\r\n"
	"0-0:96.1.4(50217)\r\n"
	"0-0:96.1.1(3153414733313031303231363035)\r\n"
	"1-0:1.6.0(200509134558S)(02.589*kW)\r\n"
	"0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)(200401000000S)(632525252525W)(00.000*kW)\r\n"
	"0-1:24.2.3(200512134558S)(00112.384*m3)\r\n"
	"1-1:31.4.0(100*A)(-063*A)\r\n"
	"!";

/* Swedish H1 / Lithuanian spellings: no version line, kVArh, kV */
static const char SE[] =
	"/LGF5E360\r\n"
	"\r\n"
	"0-0:1.0.0(221215155050W)\r\n"
	"1-0:3.8.0(00001384.336*kVArh)\r\n"
	"1-0:3.7.0(0000.292*kVAr)\r\n"
	"1-0:32.7.0(0000.242*kV)\r\n"
	"1-0:31.7.0(-001.5*A)\r\n"
	"1-0:4:24.7.0(1)\r\n"
	"!";

static void decodes_dsmr5_exactly(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *tg = dsmr_with_crc(V5, &n);
	capture_init(&c, NULL);
	capture_feed(&c, tg, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(c.nevents, 0);
	assert_string_equal(capture_field_text(&c, 0, "protocol"), "\"dsmr\"");
	assert_string_equal(capture_field_text(&c, 0, "encrypted"), "false");
	assert_string_equal(capture_field_text(&c, 0, "meter_id"), "\"E0004001594754414\"");
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.1"), "123.456");
	assert_string_equal(capture_value_text(&c, 0, "1-0:2.8.1"), "0.001");
	assert_string_equal(capture_value_text(&c, 0, "0-0:96.14.0"), "2");
	assert_string_equal(capture_value_text(&c, 0, "0-0:1.0.0"), "\"2017-09-16T19:11:08+02:00\"");
	assert_string_equal(capture_value_text(&c, 0, "0-0:96.13.0"), "\"\"");
	assert_string_equal(capture_value_text(&c, 0, "0-1:96.1.0"), "\"2222ABCD123456789\"");
	assert_string_equal(capture_value_text(&c, 0, "0-2:96.1.0"), "\"\"");
	assert_string_equal(capture_value_text(&c, 0, "1-0:99.97.0"),
	                    "[[\"2010-12-08T15:24:15+01:00\",240],[\"2010-12-08T15:10:04+01:00\",301]]");
	json_object *gas = capture_value(&c, 0, "0-1:24.2.1"), *v;
	assert_non_null(gas);
	assert_true(json_object_object_get_ex(gas, "timestamp", &v));
	assert_string_equal(json_object_get_string(v), "2010-12-09T11:25:00+01:00");
	assert_true(json_object_object_get_ex(gas, "unit", &v));
	assert_string_equal(json_object_get_string(v), "m3");
	assert_string_equal(capture_value_text(&c, 0, "0-1:24.2.1"), "12785.123");
	assert_string_equal(capture_field_text(&c, 0, "dsmr_version"), "\"50\"");
	assert_string_equal(capture_field_text(&c, 0, "header"), "\"ISk5\\\\2MT382-1000\"");
	capture_fini(&c);
	free(tg);
}

static void decodes_dsmr22_without_crc(void **state)
{
	(void)state;
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, V22, strlen(V22), 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_field_text(&c, 0, "crc"), "false");
	assert_string_equal(capture_value_text(&c, 0, "0-0:96.1.1"), "\"00000000000000\"");
	assert_string_equal(capture_value_text(&c, 0, "0-1:24.3.0"), "1.001");
	json_object *gas = capture_value(&c, 0, "0-1:24.3.0"), *v;
	assert_true(json_object_object_get_ex(gas, "timestamp", &v));
	assert_string_equal(json_object_get_string(v), "2016-11-07T19:00:00");
	assert_true(json_object_object_get_ex(gas, "unit", &v));
	assert_string_equal(json_object_get_string(v), "m3");
	assert_string_equal(capture_value_text(&c, 0, "0-1:24.4.0"), "1");
	capture_fini(&c);
}

static void decodes_belgian_profiles(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *tg = dsmr_with_crc(BE, &n);
	capture_init(&c, NULL);
	capture_feed(&c, tg, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_field_text(&c, 0, "meter_id"), "\"1SAG3101021605\"");
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.6.0"), "2.589");
	json_object *peak = capture_value(&c, 0, "1-0:1.6.0"), *v;
	assert_true(json_object_object_get_ex(peak, "timestamp", &v));
	assert_string_equal(json_object_get_string(v), "2020-05-09T13:45:58+02:00");
	/* The placeholder capture time of an empty month is null, not a bogus date. */
	assert_string_equal(capture_value_text(&c, 0, "0-0:98.1.0"),
	                    "[[\"2020-05-01T00:00:00+02:00\",\"2020-04-23T19:25:38+02:00\",3.695],"
	                    "[\"2020-04-01T00:00:00+02:00\",null,0.000]]");
	assert_string_equal(capture_value_text(&c, 0, "0-1:24.2.3"), "112.384");
	assert_string_equal(capture_value_text(&c, 0, "1-1:31.4.0"), "[[100,-63]]");
	capture_fini(&c);
	free(tg);
}

static void normalises_units_and_skips_malformed_lines(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *tg = dsmr_with_crc(SE, &n);
	capture_init(&c, NULL);
	capture_feed(&c, tg, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	json_object *e = capture_value(&c, 0, "1-0:3.8.0"), *u;
	assert_true(json_object_object_get_ex(e, "unit", &u));
	assert_string_equal(json_object_get_string(u), "kvarh");
	e = capture_value(&c, 0, "1-0:32.7.0");
	assert_true(json_object_object_get_ex(e, "unit", &u));
	assert_string_equal(json_object_get_string(u), "kV");
	assert_string_equal(capture_value_text(&c, 0, "1-0:31.7.0"), "-1.5");
	assert_null(capture_value(&c, 0, "1-0:4:24.7.0"));
	assert_string_equal(capture_field_text(&c, 0, "meter_id"), "null");
	assert_int_equal(c.nerrors, 0);
	capture_fini(&c);
	free(tg);
}

static void bad_crc_is_rejected_and_next_decodes(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	char *bad = malloc(2 * n);
	memcpy(bad, good, n);
	bad[200] ^= 0x01; /* one flipped bit inside a value */
	memcpy(bad + n, good, n);
	capture_init(&c, NULL);
	capture_feed(&c, bad, 2 * n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(capture_errors(&c, SM_E_CRC), 1);
	assert_int_equal(c.events[0].offset, 0);
	assert_non_null(strstr(c.events[0].detail, "CRC mismatch"));
	/* The decoded one is the second telegram, at its own offset. */
	char off[32];
	snprintf(off, sizeof(off), "%zu", n);
	assert_string_equal(capture_field_text(&c, 0, "offset"), off);
	capture_fini(&c);

	/* Lenient mode publishes it, with a warning. */
	struct sm_decoder_config cfg = { .dsmr_crc_optional = true };
	capture_init(&c, &cfg);
	capture_feed(&c, bad, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(c.nerrors, 0);
	assert_int_equal(c.events[0].level, SM_EVENT_WARNING);
	capture_fini(&c);
	free(good);
	free(bad);
}

static void truncated_telegram_then_resync(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	char *buf = malloc(2 * n);
	/* Cable pulled after 300 bytes: the next telegram starts at a line start. */
	size_t cut = 300;
	while (good[cut - 1] != '\n')
		cut--;
	memcpy(buf, good, cut);
	memcpy(buf + cut, good, n);
	capture_init(&c, NULL);
	capture_feed(&c, buf, cut + n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1);
	capture_fini(&c);

	/* Input ends inside a telegram. */
	capture_init(&c, NULL);
	capture_feed(&c, good, n - 40, 0, 1);
	assert_int_equal(capture_count(&c), 0);
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1);
	capture_fini(&c);
	free(good);
	free(buf);
}

static void garbage_and_mid_telegram_start(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	static const uint8_t junk[] = { 0x00, 0xFF, 0x7E, 0xA0, 0x10, 0x68, 0x01, 0x2F, 0x2F, 0x21, 0x0F, 0xDB, 0x08, 0xE0 };
	size_t total = (n - 123) + sizeof(junk) + n + sizeof(junk) + n;
	uint8_t *buf = malloc(total), *p = buf;
	memcpy(p, good + 123, n - 123); /* plugged in mid-telegram */
	p += n - 123;
	memcpy(p, junk, sizeof(junk));
	p += sizeof(junk);
	memcpy(p, good, n);
	p += n;
	memcpy(p, junk, sizeof(junk));
	p += sizeof(junk);
	memcpy(p, good, n);
	for (size_t chunk = 0; chunk <= 7; chunk += 7) {
		capture_init(&c, NULL);
		capture_feed(&c, buf, total, chunk, 1);
		assert_int_equal(capture_count(&c), 2);
		assert_int_equal(c.nerrors, 0);
		assert_string_equal(capture_value_text(&c, 1, "1-0:1.8.1"), "123.456");
		capture_fini(&c);
	}
	free(good);
	free(buf);
}

static void byte_at_a_time_equals_whole(void **state)
{
	(void)state;
	struct capture a, b;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	capture_init(&a, NULL);
	capture_init(&b, NULL);
	capture_feed(&a, good, n, 0, 1);
	capture_feed(&b, good, n, 1, 1);
	assert_int_equal(capture_count(&b), 1);
	assert_true(json_object_equal(a.telegrams, b.telegrams));
	/* Without a flush the telegram is complete as soon as its CRC line ends. */
	capture_fini(&b);
	capture_init(&b, NULL);
	capture_feed(&b, good, n, 1, 0);
	assert_int_equal(capture_count(&b), 1);
	capture_fini(&a);
	capture_fini(&b);
	free(good);
}

static uint8_t with_even_parity(uint8_t c)
{
	return (__builtin_popcount(c) & 1) ? (uint8_t)(c | 0x80) : c;
}

static void seven_e_one_read_as_eight_n_one(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	uint8_t *wire = malloc(2 * n);
	for (size_t i = 0; i < n; i++)
		wire[i] = wire[n + i] = with_even_parity((uint8_t)good[i]);
	assert_int_equal(wire[0], 0xAF);
	capture_init(&c, NULL);
	capture_feed(&c, wire, 2 * n, 3, 1);
	assert_int_equal(capture_count(&c), 2);
	assert_int_equal(c.nerrors, 0);
	assert_string_equal(capture_value_text(&c, 1, "1-0:1.8.1"), "123.456");
	struct sm_stats st;
	sm_decoder_stats(c.dec, &st);
	assert_true(st.high_bit_seen);
	capture_fini(&c);
	free(good);
	free(wire);
}

static void no_final_crlf_and_unpadded_crc(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	capture_init(&c, NULL);
	capture_feed(&c, good, n - 2, 0, 0); /* "!XXXX" and nothing after: waits */
	assert_int_equal(capture_count(&c), 0);
	sm_decoder_flush(c.dec);            /* idle line: it is complete */
	assert_int_equal(capture_count(&c), 1);
	capture_fini(&c);

	/* "!B9F": a 3-digit CRC whose leading zero was dropped (Warmtelink). */
	const char *body = "/NWA-WARMTELINK\r\n\r\n1-3:0.2.8(50)\r\n0-1:24.2.1(260215200523W)(240.860*GJ)\r\n!";
	unsigned crc = sm_crc16_arc((const uint8_t *)body, strlen(body));
	char tg[256];
	snprintf(tg, sizeof(tg), "%s%X\r\n", body, crc);
	capture_init(&c, NULL);
	capture_feed(&c, tg, strlen(tg), 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "0-1:24.2.1"), "240.860");
	capture_fini(&c);
	free(good);
}

static void oversized_telegram_is_rejected(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(V5, &n);
	size_t big = SM_MAX_FRAME + 4096;
	char *buf = malloc(big + n);
	memcpy(buf, "/ABC5 endless\r\n\r\n", 17);
	for (size_t i = 17; i < big; i++)
		buf[i] = (i % 40 == 39) ? '\n' : 'x';
	memcpy(buf + big, good, n);
	capture_init(&c, NULL);
	capture_feed(&c, buf, big + n, 1000, 1);
	assert_int_equal(capture_errors(&c, SM_E_TOO_LONG), 1);
	assert_int_equal(capture_count(&c), 1);
	capture_fini(&c);
	free(buf);
	free(good);
}

static void hostile_lines_do_not_break_decoding(void **state)
{
	(void)state;
	/* Unclosed groups, absurd numbers, 200 groups on a line, binary bytes in a value. */
	static const char body[] =
		"/XYZ5 hostile\r\n\r\n"
		"1-0:1.8.0(0000000000000000000000000000001.5*kWh)\r\n"
		"1-0:2.8.0(12.\r\n"
		"0-0:96.13.0(\xff\xfe\x80)\r\n"
		"1-0:99.97.0(99999999999)(0-0:96.7.19)(1)(2)(3)\r\n"
		"0-0:98.1.0(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)"
		"(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)(11)(12)(13)(14)(15)(16)(17)(18)(19)(20)\r\n"
		"1-0:32.7.0(230.1*V)\r\n"
		"!";
	struct capture c;
	size_t n;
	char *tg = dsmr_with_crc(body, &n);
	capture_init(&c, NULL);
	capture_feed(&c, tg, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:32.7.0"), "230.1");
	assert_string_equal(capture_value_text(&c, 0, "0-0:96.13.0"), "\"fffe80\"");
	assert_null(capture_value(&c, 0, "1-0:2.8.0"));
	capture_fini(&c);
	free(tg);
}

static void elgama_ciphered_body_is_reported_unsupported(void **state)
{
	(void)state;
	/* "/EGM5G15" CR LF CR LF, then 00 | 82 0030 | SC 30 | counter | 43 bytes: no system title. */
	uint8_t buf[128];
	size_t n = 0, good_len;
	memcpy(buf, "/EGM5G15\r\n\r\n", 12);
	n = 12;
	static const uint8_t hdr[] = { 0x00, 0x82, 0x00, 0x30, 0x30, 0x00, 0x00, 0x00, 0x01 };
	memcpy(buf + n, hdr, sizeof(hdr));
	n += sizeof(hdr);
	for (size_t i = 0; i < 0x30 - 5; i++)
		buf[n++] = (uint8_t)(0x21 + i * 7); /* ciphertext-like bytes, including '!' and '/' */
	struct capture c;
	char *good = dsmr_with_crc(V5, &good_len);
	capture_init(&c, NULL);
	capture_feed(&c, buf, n, 0, 0);
	capture_feed(&c, good, good_len, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_UNSUPPORTED), 1);
	assert_int_equal(capture_count(&c), 1);
	assert_non_null(strstr(c.events[0].detail, "no system title"));
	capture_fini(&c);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_dsmr5_exactly),
		cmocka_unit_test(decodes_dsmr22_without_crc),
		cmocka_unit_test(decodes_belgian_profiles),
		cmocka_unit_test(normalises_units_and_skips_malformed_lines),
		cmocka_unit_test(bad_crc_is_rejected_and_next_decodes),
		cmocka_unit_test(truncated_telegram_then_resync),
		cmocka_unit_test(garbage_and_mid_telegram_start),
		cmocka_unit_test(byte_at_a_time_equals_whole),
		cmocka_unit_test(seven_e_one_read_as_eight_n_one),
		cmocka_unit_test(no_final_crlf_and_unpadded_crc),
		cmocka_unit_test(oversized_telegram_is_rejected),
		cmocka_unit_test(hostile_lines_do_not_break_decoding),
		cmocka_unit_test(elgama_ciphered_body_is_reported_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
