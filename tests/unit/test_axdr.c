/* test_axdr.c — the A-XDR parser and DLMS date-time decoding (PROTOCOLS.md §5): every type tag, the
 * BER length forms, malformed lengths, depth and count bombs, encoder quirks, date-time special values.
 * Vectors are built here byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "axdr.h"

static struct sm_axdr_tree tree;

static enum sm_err parse(const uint8_t *p, size_t n, unsigned flags, size_t *used, char *detail)
{
	static char scratch[200];
	enum sm_err e = sm_axdr_parse(&tree, p, n, flags, 0, used, detail ? detail : scratch, 200);
	/* measuring without a tree must agree */
	size_t used2 = 0;
	enum sm_err e2 = sm_axdr_parse(NULL, p, n, flags, 0, &used2, NULL, 0);
	assert_int_equal(e, e2);
	if (e == SM_OK)
		assert_int_equal(*used, used2);
	return e;
}

static void number_is(uint32_t idx, const char *want)
{
	struct sm_number num;
	char buf[SM_NUMBER_STRLEN];
	assert_int_equal(sm_axdr_number(&tree, idx, &num), SM_OK);
	sm_number_format(&num, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_every_type(void **state)
{
	(void)state;
	static const uint8_t body[] = {
	    0x02, 0x17,                                           /* structure of 23 */
	    0x00,                                                 /* null */
	    0x03, 0x01,                                           /* boolean true */
	    0x04, 0x0A, 0xC0, 0x40,                               /* bit-string of 10 bits: 2 bytes */
	    0x05, 0xFF, 0xFF, 0xFF, 0xFE,                         /* int32 -2 */
	    0x06, 0x00, 0x01, 0x00, 0x00,                         /* uint32 65536 */
	    0x09, 0x03, 'a',  0x00, 'b',                          /* octet-string */
	    0x0A, 0x02, 'h',  'i',                                /* visible-string */
	    0x0C, 0x02, 0xC3, 0xA9,                               /* utf8 "é" */
	    0x0D, 0x42,                                           /* bcd 42 */
	    0x0F, 0x80,                                           /* int8 -128 */
	    0x10, 0xFF, 0xFF,                                     /* int16 -1 */
	    0x11, 0xFF,                                           /* uint8 255 */
	    0x12, 0x09, 0xC4,                                     /* uint16 2500 */
	    0x14, 0x80, 0,    0,    0,    0,    0,    0,    0,    /* int64 min */
	    0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* uint64 max */
	    0x16, 0x1B,                                           /* enum 27 */
	    0x17, 0x43, 0x66, 0x19, 0x9A,                         /* float32 230.1 */
	    0x18, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A, /* float64 0.1 */
	    0x19, 0x07, 0xE6, 0x01, 0x02, 0x07, 0x0E, 0x25, 0x14, 0xFF, 0x80, 0x00, 0x00, /* date-time */
	    0x1A, 0x07, 0xE6, 0x01, 0x02, 0x07,                                           /* date */
	    0x1B, 0x0E, 0x25, 0x14, 0xFF,                                                 /* time */
	    0x01, 0x00,                                                                   /* empty array */
	    0x02, 0x01, 0x11, 0x07,                                                       /* structure{uint8 7} */
	};
	static const uint8_t tags[] = {0x00, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0A, 0x0C, 0x0D, 0x0F, 0x10, 0x11,
	                               0x12, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x01, 0x02};
	size_t used = 0;
	assert_int_equal(parse(body, sizeof(body), SM_AXDR_STRICT, &used, NULL), SM_OK);
	assert_int_equal(used, sizeof(body));
	assert_int_equal(tree.nodes[0].tag, SM_AXDR_STRUCTURE);
	assert_int_equal(tree.nodes[0].count, 23);
	assert_int_equal(tree.n, 25);
	for (unsigned k = 0; k < sizeof(tags); k++)
		assert_int_equal(tree.nodes[sm_axdr_child(&tree, 0, k)].tag, tags[k]);
	assert_int_equal(sm_axdr_child(&tree, 0, 23), UINT32_MAX);

	uint32_t bits = sm_axdr_child(&tree, 0, 2);
	assert_int_equal(tree.nodes[bits].len, 10);
	uint32_t os = sm_axdr_child(&tree, 0, 5);
	assert_int_equal(tree.nodes[os].len, 3);
	assert_memory_equal(sm_axdr_payload(&tree, os), "a\0b", 3);

	number_is(sm_axdr_child(&tree, 0, 1), "1");
	number_is(sm_axdr_child(&tree, 0, 3), "-2");
	number_is(sm_axdr_child(&tree, 0, 4), "65536");
	number_is(sm_axdr_child(&tree, 0, 8), "42");
	number_is(sm_axdr_child(&tree, 0, 9), "-128");
	number_is(sm_axdr_child(&tree, 0, 10), "-1");
	number_is(sm_axdr_child(&tree, 0, 11), "255");
	number_is(sm_axdr_child(&tree, 0, 12), "2500");
	number_is(sm_axdr_child(&tree, 0, 13), "-9223372036854775808");
	number_is(sm_axdr_child(&tree, 0, 14), "18446744073709551615");
	number_is(sm_axdr_child(&tree, 0, 15), "27");
	number_is(sm_axdr_child(&tree, 0, 16), "230.1");
	number_is(sm_axdr_child(&tree, 0, 17), "0.1");

	struct sm_number num;
	assert_int_equal(sm_axdr_number(&tree, os, &num), SM_E_INVAL);

	uint32_t inner = sm_axdr_child(&tree, 0, 22);
	assert_int_equal(tree.nodes[inner].next, tree.n);
	assert_int_equal(tree.nodes[inner + 1].depth, 2);
	number_is(inner + 1, "7");
}

static void test_float_special(void **state)
{
	(void)state;
	static const uint8_t nan32[] = {0x17, 0x7F, 0xC0, 0x00, 0x00};
	static const uint8_t inf64[] = {0x18, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0};
	static const uint8_t neg[] = {0x17, 0xC0, 0x20, 0x00, 0x00};             /* -2.5 */
	static const uint8_t big[] = {0x18, 0x41, 0x2E, 0x84, 0x80, 0, 0, 0, 0}; /* 1000000 */
	struct sm_number num;
	size_t used;
	assert_int_equal(parse(nan32, sizeof(nan32), 0, &used, NULL), SM_OK);
	assert_int_equal(sm_axdr_number(&tree, 0, &num), SM_E_UNSUPPORTED);
	assert_int_equal(parse(inf64, sizeof(inf64), 0, &used, NULL), SM_OK);
	assert_int_equal(sm_axdr_number(&tree, 0, &num), SM_E_UNSUPPORTED);
	assert_int_equal(parse(neg, sizeof(neg), 0, &used, NULL), SM_OK);
	number_is(0, "-2.5");
	assert_int_equal(parse(big, sizeof(big), 0, &used, NULL), SM_OK);
	number_is(0, "1000000");
}

static void test_ber_lengths(void **state)
{
	(void)state;
	static uint8_t buf[300];
	size_t used;
	char detail[200];

	/* 81 F8 = 248 */
	memset(buf, 'x', sizeof(buf));
	buf[0] = 0x0A;
	buf[1] = 0x81;
	buf[2] = 0xF8;
	assert_int_equal(parse(buf, 3 + 248, 0, &used, NULL), SM_OK);
	assert_int_equal(used, 251);
	assert_int_equal(tree.nodes[0].len, 248);
	/* 82 01 0C = 268 */
	buf[1] = 0x82;
	buf[2] = 0x01;
	buf[3] = 0x0C;
	assert_int_equal(parse(buf, 4 + 268, 0, &used, NULL), SM_OK);
	assert_int_equal(tree.nodes[0].len, 268);
	/* 84 00 00 01 00 = 256 */
	buf[1] = 0x84;
	buf[2] = 0;
	buf[3] = 0;
	buf[4] = 1;
	buf[5] = 0;
	assert_int_equal(parse(buf, 6 + 256, 0, &used, NULL), SM_OK);
	assert_int_equal(tree.nodes[0].len, 256);
	/* long form for a count: array of 2 written 81 02 */
	static const uint8_t arr[] = {0x01, 0x81, 0x02, 0x11, 0x01, 0x11, 0x02};
	assert_int_equal(parse(arr, sizeof(arr), 0, &used, NULL), SM_OK);
	assert_int_equal(tree.nodes[0].count, 2);
	/* 80 (indefinite) and 85 (5 length bytes) are not A-XDR */
	static const uint8_t indef[] = {0x09, 0x80, 0x00};
	assert_int_equal(parse(indef, sizeof(indef), 0, &used, detail), SM_E_AXDR);
	assert_non_null(strstr(detail, "bad length form"));
	static const uint8_t five[] = {0x09, 0x85, 0, 0, 0, 0, 1, 'a'};
	assert_int_equal(parse(five, sizeof(five), 0, &used, NULL), SM_E_AXDR);
	/* length bytes missing */
	static const uint8_t cut[] = {0x09, 0x82, 0x01};
	assert_int_equal(parse(cut, sizeof(cut), 0, &used, NULL), SM_E_TRUNCATED);
}

static void test_malformed_lengths(void **state)
{
	(void)state;
	char detail[200];
	size_t used;
	/* octet-string declaring 300 bytes with 12 left */
	uint8_t p[16] = {0x09, 0x82, 0x01, 0x2C};
	memset(p + 4, 'a', 12);
	assert_int_equal(sm_axdr_parse(&tree, p, sizeof(p), 0, 57, &used, detail, sizeof(detail)), SM_E_TRUNCATED);
	assert_string_equal(detail, "A-XDR octet-string length 300 exceeds remaining 12 bytes at offset 57");
	/* a length beyond any frame is malformed, not merely incomplete */
	static const uint8_t huge[] = {0x09, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 'a'};
	assert_int_equal(parse(huge, sizeof(huge), 0, &used, NULL), SM_E_AXDR);
	/* unknown tags: legacy 07 and 0B, garbage 60 */
	static const uint8_t t07[] = {0x07, 0x00};
	assert_int_equal(parse(t07, sizeof(t07), 0, &used, detail), SM_E_AXDR);
	assert_string_equal(detail, "unknown A-XDR type tag 0x07 at offset 0");
	static const uint8_t t60[] = {0x02, 0x02, 0x11, 0x01, 0x60};
	assert_int_equal(parse(t60, sizeof(t60), 0, &used, NULL), SM_E_AXDR);
	/* compact-array is refused clearly */
	static const uint8_t compact[] = {0x13, 0x01, 0x11, 0x01, 0x05};
	assert_int_equal(parse(compact, sizeof(compact), 0, &used, detail), SM_E_UNSUPPORTED);
	assert_non_null(strstr(detail, "compact-array"));
	/* fixed-size value cut short, structure missing elements, nothing at all */
	static const uint8_t u32cut[] = {0x06, 0x00, 0x01};
	assert_int_equal(parse(u32cut, sizeof(u32cut), 0, &used, NULL), SM_E_TRUNCATED);
	static const uint8_t missing[] = {0x02, 0x03, 0x11, 0x01, 0x11};
	assert_int_equal(parse(missing, sizeof(missing), 0, &used, NULL), SM_E_TRUNCATED);
	assert_int_equal(parse(missing, 0, 0, &used, NULL), SM_E_TRUNCATED);
	/* trailing bytes are the caller's business: used says where the value ended */
	static const uint8_t trailing[] = {0x11, 0x05, 0xAA, 0xBB};
	assert_int_equal(parse(trailing, sizeof(trailing), 0, &used, NULL), SM_OK);
	assert_int_equal(used, 2);
}

static void test_depth_bomb(void **state)
{
	(void)state;
	static uint8_t bomb[2 * 100000];
	size_t used;
	char detail[200];
	for (size_t i = 0; i < sizeof(bomb); i += 2) {
		bomb[i] = 0x01;
		bomb[i + 1] = 0x01;
	}
	clock_t t0 = clock();
	assert_int_equal(parse(bomb, sizeof(bomb), 0, &used, detail), SM_E_DEPTH);
	assert_true((clock() - t0) < CLOCKS_PER_SEC / 10);
	assert_non_null(strstr(detail, "nesting"));

	/* exactly SM_AXDR_MAX_DEPTH containers deep is fine */
	uint8_t ok[2 * SM_AXDR_MAX_DEPTH + 2];
	for (unsigned i = 0; i < SM_AXDR_MAX_DEPTH; i++) {
		ok[2 * i] = 0x02;
		ok[2 * i + 1] = 0x01;
	}
	ok[2 * SM_AXDR_MAX_DEPTH] = 0x11;
	ok[2 * SM_AXDR_MAX_DEPTH + 1] = 0x2A;
	assert_int_equal(parse(ok, sizeof(ok), 0, &used, NULL), SM_OK);
	assert_int_equal(tree.n, SM_AXDR_MAX_DEPTH + 1);
	for (unsigned i = 0; i < SM_AXDR_MAX_DEPTH; i++)
		assert_int_equal(tree.nodes[i].next, SM_AXDR_MAX_DEPTH + 1);
	/* one more level is refused */
	uint8_t deep[2 * (SM_AXDR_MAX_DEPTH + 1) + 2];
	for (unsigned i = 0; i <= SM_AXDR_MAX_DEPTH; i++) {
		deep[2 * i] = 0x01;
		deep[2 * i + 1] = 0x01;
	}
	deep[sizeof(deep) - 2] = 0x11;
	deep[sizeof(deep) - 1] = 0x2A;
	assert_int_equal(parse(deep, sizeof(deep), 0, &used, NULL), SM_E_DEPTH);
}

static void test_count_bomb(void **state)
{
	(void)state;
	size_t used;
	char detail[200];
	/* array of 4 294 967 295 elements */
	static const uint8_t huge[] = {0x01, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00};
	assert_int_equal(parse(huge, sizeof(huge), 0, &used, detail), SM_E_COUNT);
	assert_non_null(strstr(detail, "exceeds the cap"));
	/* a count larger than the bytes left: cannot be complete */
	static const uint8_t more[] = {0x02, 0x64, 0x00, 0x00, 0x00};
	assert_int_equal(parse(more, sizeof(more), 0, &used, NULL), SM_E_TRUNCATED);
	/* many small values: the node cap holds */
	static uint8_t flat[3 + 2 * SM_AXDR_MAX_NODES];
	flat[0] = 0x01;
	flat[1] = 0x82;
	flat[2] = (uint8_t)(SM_AXDR_MAX_NODES >> 8);
	flat[3] = (uint8_t)SM_AXDR_MAX_NODES;
	for (size_t i = 4; i < sizeof(flat); i++)
		flat[i] = 0x00; /* nulls */
	assert_int_equal(parse(flat, sizeof(flat), 0, &used, NULL), SM_E_COUNT);
	/* a container of SM_AXDR_MAX_NODES - 1 elements fits exactly */
	flat[2] = (uint8_t)((SM_AXDR_MAX_NODES - 1) >> 8);
	flat[3] = (uint8_t)(SM_AXDR_MAX_NODES - 1);
	assert_int_equal(parse(flat, sizeof(flat), 0, &used, NULL), SM_OK);
	assert_int_equal(tree.n, SM_AXDR_MAX_NODES);
}

static void test_quirks_only_when_lenient(void **state)
{
	(void)state;
	size_t used;
	/* XT211: {untagged class 3, 1-0:1.8.0, attr 2; uint32} */
	static const uint8_t xt[] = {0x01, 0x01, 0x02, 0x02, 0x00, 0x03, 0x01, 0x00, 0x01,
	                             0x08, 0x00, 0xFF, 0x02, 0x06, 0x00, 0x00, 0x00, 0x34};
	/* read strictly, 00 03 01 is {null, boolean}: a shorter value that leaves bytes over */
	assert_int_equal(parse(xt, sizeof(xt), SM_AXDR_STRICT, &used, NULL), SM_OK);
	assert_int_equal(used, 7);
	assert_int_equal(parse(xt, sizeof(xt), SM_AXDR_LENIENT, &used, NULL), SM_OK);
	assert_int_equal(used, sizeof(xt));
	assert_int_equal(tree.nodes[2].tag, SM_AXDR_DESCRIPTOR);
	assert_int_equal(tree.nodes[2].len, 9);
	assert_int_equal(tree.nodes[3].tag, SM_AXDR_UINT32);
	/* L+G ZMF100: 06 09 instead of 09 06 before an OBIS code */
	static const uint8_t sw[] = {0x02, 0x02, 0x06, 0x09, 0x01, 0x00, 0x1F, 0x07, 0x00, 0xFF, 0x12, 0x00, 0xF4};
	assert_int_equal(parse(sw, sizeof(sw), SM_AXDR_STRICT, &used, NULL), SM_E_AXDR);
	assert_int_equal(parse(sw, sizeof(sw), SM_AXDR_LENIENT, &used, NULL), SM_OK);
	uint8_t obis[6];
	assert_true(sm_axdr_obis(&tree, 1, obis));
	assert_memory_equal(obis, "\x01\x00\x1F\x07\x00\xFF", 6);
	/* a well-formed uint32 that happens to start with 09 is untouched when it is not first */
	static const uint8_t fine[] = {0x02, 0x02, 0x11, 0x01, 0x06, 0x09, 0x00, 0x00, 0x01};
	assert_int_equal(parse(fine, sizeof(fine), SM_AXDR_LENIENT, &used, NULL), SM_OK);
	assert_int_equal(tree.nodes[2].tag, SM_AXDR_UINT32);
}

static void test_datetime_special_values(void **state)
{
	(void)state;
	struct sm_datetime dt;
	char buf[SM_DATETIME_STRLEN];

	/* 2022-01-02 Sun 14:37:20, no hundredths, deviation unspecified, status 0 */
	static const uint8_t a[] = {0x07, 0xE6, 0x01, 0x02, 0x07, 0x0E, 0x25, 0x14, 0xFF, 0x80, 0x00, 0x00};
	assert_true(sm_dlms_datetime(a, true, &dt));
	assert_true(dt.has_date && dt.has_time);
	assert_false(dt.has_offset);
	assert_false(dt.dst);
	assert_int_equal(dt.hundredths, 0xFF);
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2022-01-02T14:37:20");
	/* deviation -120 (0xFF88), DST status bit */
	static const uint8_t b[] = {0x07, 0xE5, 0x09, 0x1B, 0x01, 0x14, 0x38, 0x00, 0x00, 0xFF, 0x88, 0x80};
	assert_true(sm_dlms_datetime(b, true, &dt));
	assert_true(dt.has_offset && dt.dst);
	assert_int_equal(dt.offset_min, 120);
	assert_int_equal(dt.hundredths, 0);
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2021-09-27T20:56:00+02:00");
	/* deviation -60 (0xFFC4) -> +01:00; status 0xFF is "not specified", not DST */
	static const uint8_t c[] = {0x07, 0xE5, 0x09, 0x16, 0x03, 0x11, 0x23, 0x1E, 0xFF, 0xFF, 0xC4, 0xFF};
	assert_true(sm_dlms_datetime(c, true, &dt));
	assert_false(dt.dst);
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2021-09-22T17:35:30+01:00");
	/* year not specified: time only */
	static const uint8_t d[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0E, 0x25, 0x14, 0xFF, 0x80, 0x00, 0xFF};
	assert_true(sm_dlms_datetime(d, true, &dt));
	assert_false(dt.has_date);
	assert_true(dt.has_time);
	/* recurring date (month 0xFE = DST begin) is a valid date-time but not a calendar date */
	static const uint8_t e[] = {0xFF, 0xFF, 0xFE, 0xFE, 0x07, 0x02, 0x00, 0x00, 0x00, 0x80, 0x00, 0xFF};
	assert_true(sm_dlms_datetime(e, true, &dt));
	assert_false(dt.has_date);
	/* everything unspecified: strict says "not a date-time" */
	static const uint8_t f[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF};
	assert_false(sm_dlms_datetime(f, true, &dt));
	/* 12 ASCII digits (Sagemcom T210-D meter id) are text */
	assert_false(sm_dlms_datetime((const uint8_t *)"178210128502", true, &dt));
	/* out-of-range fields: strict refuses, lenient keeps what is sane */
	static const uint8_t g[] = {0x07, 0xE6, 0x0D, 0x02, 0x07, 0x19, 0x25, 0x14, 0xFF, 0x80, 0x00, 0x00};
	assert_false(sm_dlms_datetime(g, true, &dt));
	assert_true(sm_dlms_datetime(g, false, &dt));
	assert_false(dt.has_date);
	assert_false(dt.has_time);
	/* deviation beyond +-720 */
	static const uint8_t h[] = {0x07, 0xE6, 0x01, 0x02, 0x07, 0x0E, 0x25, 0x14, 0xFF, 0x10, 0x00, 0x00};
	assert_false(sm_dlms_datetime(h, true, &dt));
	assert_true(sm_dlms_datetime(h, false, &dt));
	assert_false(dt.has_offset);
	/* weekday 0 as sent by Aidon 6534, deviation 0 -> +00:00 */
	static const uint8_t k[] = {0x07, 0xE9, 0x0C, 0x0E, 0x00, 0x10, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00};
	assert_true(sm_dlms_datetime(k, true, &dt));
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2025-12-14T16:00:00+00:00");
	/* date (5) and time (4) */
	static const uint8_t date[] = {0x07, 0xE5, 0x03, 0x07, 0x07};
	assert_true(sm_dlms_date(date, &dt));
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "2021-03-07");
	static const uint8_t tim[] = {0x0E, 0x37, 0x21, 0x00};
	assert_true(sm_dlms_time(tim, &dt));
	sm_datetime_format(&dt, buf, sizeof(buf));
	assert_string_equal(buf, "14:55:33");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type),
	    cmocka_unit_test(test_float_special),
	    cmocka_unit_test(test_ber_lengths),
	    cmocka_unit_test(test_malformed_lengths),
	    cmocka_unit_test(test_depth_bomb),
	    cmocka_unit_test(test_count_bomb),
	    cmocka_unit_test(test_quirks_only_when_lenient),
	    cmocka_unit_test(test_datetime_special_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
