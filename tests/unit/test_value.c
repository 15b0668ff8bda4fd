/* test_value.c — exact number printing, OBIS codes, ISO 8601 times, checksums, unit spellings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static const char *fmt_num(uint64_t mag, int exp10, bool neg)
{
	static char buf[SM_NUMBER_STRLEN];
	struct sm_number n = { mag, (int8_t)exp10, neg };
	assert_true(sm_number_format(&n, buf, sizeof(buf)) > 0);
	return buf;
}

static void number_printing_has_no_float_artefacts(void **state)
{
	(void)state;
	assert_string_equal(fmt_num(1, -3, false), "0.001");
	assert_string_equal(fmt_num(4426, -3, false), "4.426");
	assert_string_equal(fmt_num(0, -3, false), "0.000");
	assert_string_equal(fmt_num(2500, -1, false), "250.0");
	assert_string_equal(fmt_num(63, 0, true), "-63");
	assert_string_equal(fmt_num(0, 0, true), "0"); /* no negative zero */
	assert_string_equal(fmt_num(8582328, 1, false), "85823280");
	assert_string_equal(fmt_num(94, -3, false), "0.094");
	assert_string_equal(fmt_num(18446744073709551615ull, 0, false), "18446744073709551615");
	assert_string_equal(fmt_num(5, -20, false), "0.00000000000000000005");
	char small[4];
	struct sm_number n = { 123456, -2, false };
	assert_int_equal(sm_number_format(&n, small, sizeof(small)), 0); /* does not fit: nothing, NUL */
	assert_string_equal(small, "");
}

static void number_scale_and_double(void **state)
{
	(void)state;
	struct sm_number n = { 93, 0, false };
	sm_number_scale(&n, -1);
	assert_string_equal(fmt_num(n.mag, n.exp10, n.neg), "9.3");
	assert_true(sm_number_to_double(&n) == 9.3);
	struct sm_number e = { 4426, -3, false };
	assert_true(sm_number_to_double(&e) == 4.426);
}

static void obis_format_and_parse(void **state)
{
	(void)state;
	uint8_t o[6];
	char buf[SM_OBIS_STRLEN];
	assert_true(sm_obis_parse("1-0:1.8.0", 9, o));
	sm_obis_format(o, buf, sizeof(buf));
	assert_string_equal(buf, "1-0:1.8.0");
	assert_true(sm_obis_parse("1-0:1.8.0*255", 13, o));
	assert_int_equal(o[5], 255);
	assert_true(sm_obis_parse("1-1:0.2.129.255", 15, o));
	sm_obis_format(o, buf, sizeof(buf));
	assert_string_equal(buf, "1-1:0.2.129");
	assert_true(sm_obis_parse("0-0:98.1.0.101", 14, o));
	sm_obis_format(o, buf, sizeof(buf));
	assert_string_equal(buf, "0-0:98.1.0.101");
	assert_true(sm_obis_parse("1.0.32.7.0.255", 14, o));
	assert_int_equal(o[2], 32);
	assert_false(sm_obis_parse("1-0:4:24.7.0", 12, o)); /* Kamstrup Omnia's malformed line */
	assert_false(sm_obis_parse("1-0:1.8", 7, o));
	assert_false(sm_obis_parse("1-0:256.8.0", 11, o));
	assert_false(sm_obis_parse("", 0, o));
	assert_false(sm_obis_parse("1-0:1.8.0.", 10, o));
}

static void datetime_iso8601(void **state)
{
	(void)state;
	char buf[SM_DATETIME_STRLEN];
	struct sm_datetime dt = { .year = 2017, .month = 9, .day = 16, .hour = 19, .minute = 11, .second = 8,
	                          .hundredths = 0xFF, .has_date = true, .has_time = true, .has_offset = true,
	                          .offset_min = 120 };
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08+02:00");
	dt.offset_min = -330;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08-05:30");
	/* DLMS hundredths, when sent: kept (0 adds nothing to the instant and is left out). */
	dt.offset_min = 120;
	dt.hundredths = 84;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08.84+02:00");
	dt.hundredths = 5;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08.05+02:00");
	dt.hundredths = 0;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08+02:00");
	dt.hundredths = 0xFF;
	dt.offset_min = -330;
	dt.has_offset = false;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16T19:11:08");
	dt.has_time = false;
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2017-09-16");
}

static void checksums_match_their_check_values(void **state)
{
	(void)state;
	const uint8_t check[] = "123456789";
	assert_int_equal(sm_crc16_arc(check, 9), 0xBB3D);
	assert_int_equal(sm_crc16_x25(check, 9), 0x906E);
	/* Green Book HDLC vector: FCS over 03 3F is 0xEC5B. */
	const uint8_t gb[] = { 0x03, 0x3F };
	assert_int_equal(sm_crc16_x25(gb, 2), 0xEC5B);
	const uint8_t mb[] = { 0x53, 0xFF, 0x10, 0x01, 0x67 };
	assert_int_equal(sm_sum8(mb, sizeof(mb)), (0x53 + 0xFF + 0x10 + 0x01 + 0x67) & 0xFF);
}

static void units_have_one_spelling(void **state)
{
	(void)state;
	assert_string_equal(sm_unit_normalise("kVArh", 5), "kvarh");
	assert_string_equal(sm_unit_normalise("kVAr", 4), "kvar");
	assert_string_equal(sm_unit_normalise("VArh", 4), "varh");
	assert_string_equal(sm_unit_normalise("kWh", 3), "kWh");
	assert_string_equal(sm_unit_normalise("m3", 2), "m3");
	assert_string_equal(sm_unit_normalise("kVA", 3), "kVA");
	assert_null(sm_unit_normalise("furlong", 7));
	assert_string_equal(sm_unit_from_dlms(27), "W");
	assert_string_equal(sm_unit_from_dlms(30), "Wh");
	assert_string_equal(sm_unit_from_dlms(35), "V");
	assert_string_equal(sm_unit_from_dlms(33), "A");
	assert_null(sm_unit_from_dlms(255));
}

static void key_parsing(void **state)
{
	(void)state;
	uint8_t k[SM_KEY_LEN] = { 0 };
	assert_int_equal(sm_key_parse("000102030405060708090A0B0C0D0E0F", k), SM_OK);
	assert_int_equal(k[15], 0x0F);
	assert_int_equal(sm_key_parse("000102030405060708090a0b0c0d0e0", k), SM_E_INVAL);   /* 31 digits */
	assert_int_equal(sm_key_parse("000102030405060708090A0B0C0D0E0G", k), SM_E_INVAL);  /* not hex */
	assert_int_equal(sm_key_parse(NULL, k), SM_E_INVAL);
	assert_string_not_equal(sm_strerror(SM_E_CRC), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(number_printing_has_no_float_artefacts),
		cmocka_unit_test(number_scale_and_double),
		cmocka_unit_test(obis_format_and_parse),
		cmocka_unit_test(datetime_iso8601),
		cmocka_unit_test(checksums_match_their_check_values),
		cmocka_unit_test(units_have_one_spelling),
		cmocka_unit_test(key_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
