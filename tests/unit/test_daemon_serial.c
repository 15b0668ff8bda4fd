/* test_daemon_serial.c — the serial module's pure pieces: PARMRK unescaping (PROTOCOLS.md §8.3: FF 00 x
 * marks a byte received with a parity/framing error, FF FF is a real FF), split across reads, and the
 * plain-words diagnosis of a line that decodes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "serial.h"

static void unmark_plain_and_escaped(void **state)
{
	struct parmrk st = { 0 };
	uint64_t errs = 0;
	uint8_t b[] = { 0x2f, 0xff, 0xff, 0x41, 0xff, 0x00, 0x99, 0x42 };
	(void)state;
	size_t n = serial_unmark(&st, b, sizeof(b), &errs);
	assert_int_equal(n, 4);
	static const uint8_t want[] = { 0x2f, 0xff, 0x41, 0x42 };
	assert_memory_equal(b, want, 4);
	assert_int_equal(errs, 1);
	assert_int_equal(st.pending, 0);
}

static void unmark_split_across_reads(void **state)
{
	struct parmrk st = { 0 };
	uint64_t errs = 0;
	uint8_t a[] = { 0x10, 0xff }, b[] = { 0x00 }, c[] = { 0x55, 0xff }, d[] = { 0xff, 0x20 };
	(void)state;
	assert_int_equal(serial_unmark(&st, a, sizeof(a), &errs), 1);
	assert_int_equal(serial_unmark(&st, b, sizeof(b), &errs), 0);
	assert_int_equal(serial_unmark(&st, c, sizeof(c), &errs), 0); /* 0x55 was the bad byte */
	assert_int_equal(errs, 1);
	assert_int_equal(serial_unmark(&st, d, sizeof(d), &errs), 2);
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0x20);
	assert_int_equal(errs, 1);
}

static void diagnoses(void **state)
{
	struct line_stats s = { 0 };
	(void)state;
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, true), "no bytes at all: check wiring / data-request pin"));
	s = (struct line_stats){ .bytes = 1000, .error_marks = 300, .frame_starts = 5 };
	/* an 8N1 port has no parity bit: what it sees are framing errors, and it says so */
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, false), "framing errors: wrong speed"));
	assert_null(strstr(serial_diagnose(&s, FORMAT_8N1, false), "parity"));
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8E1, false), "parity or framing errors"));
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, true), "signal probably inverted"));
	s = (struct line_stats){ .bytes = 1000 };
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, true),
	                       "bytes arrive but no frame start: signal probably inverted — use an inverting cable"));
	s = (struct line_stats){ .bytes = 1000, .frame_starts = 10, .frames_bad = 3 };
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, true), "fail their checksums"));
	s = (struct line_stats){ .bytes = 1000, .frame_starts = 10 };
	assert_non_null(strstr(serial_diagnose(&s, FORMAT_8N1, true), "no frame is recognised"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unmark_plain_and_escaped),
		cmocka_unit_test(unmark_split_across_reads),
		cmocka_unit_test(diagnoses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
