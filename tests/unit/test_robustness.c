/* test_robustness.c — hostile input never crashes, hangs or poisons the stream: random bytes in random
 * chunks, mutated telegrams, and frame-start bytes of every framing sprinkled in; after each storm a
 * good telegram must still decode. Deterministic (fixed seeds), run under ASan+UBSan in CI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static const char GOOD[] = "/KFM5KAIFA-METER\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(161113205757W)\r\n"
                           "1-0:1.8.1(001581.123*kWh)\r\n1-0:1.7.0(02.027*kW)\r\n"
                           "1-0:99.97.0(1)(0-0:96.7.19)(000101000006W)(2147583646*s)\r\n"
                           "0-1:24.2.1(161129200000W)(00981.443*m3)\r\n!";

/* The last telegram delivered must be the good one. */
static void assert_recovers(struct capture *c, const char *good, size_t n)
{
	size_t before = capture_count(c);
	capture_feed(c, good, n, 0, 1);
	assert_true(capture_count(c) > before);
	assert_string_equal(capture_value_text(c, capture_count(c) - 1, "1-0:1.8.1"), "1581.123");
}

static void random_bytes_in_random_chunks(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(GOOD, &n);
	uint8_t *buf = malloc(1 << 20);
	for (size_t i = 0; i < (1u << 20); i++)
		buf[i] = (uint8_t)next();
	capture_init(&c, NULL);
	for (size_t off = 0; off < (1u << 20);) {
		size_t chunk = 1 + next() % 3000;
		if (chunk > (1u << 20) - off)
			chunk = (1u << 20) - off;
		sm_decoder_feed(c.dec, buf + off, chunk);
		off += chunk;
	}
	assert_recovers(&c, good, n);
	struct sm_stats st;
	sm_decoder_stats(c.dec, &st);
	assert_true(st.garbage_bytes > 0);
	capture_fini(&c);
	free(buf);
	free(good);
}

static void frame_start_bytes_everywhere(void **state)
{
	(void)state;
	/* Noise made only of plausible frame starts: the worst case for a rescanning framer. */
	static const uint8_t starts[] = { '/', 0x7E, 0xA0, 0xA8, 0x68, 0x0F, 0xDB, 0xDC, 0xE0, 0xE6, 0xE7, 0x00, 0x08,
	                                  0x82, 0x01, 0xFF, '!', '\n', '(', 'K', 'F', 'M' };
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(GOOD, &n);
	uint8_t *buf = malloc(200000);
	for (size_t i = 0; i < 200000; i++)
		buf[i] = starts[next() % sizeof(starts)];
	capture_init(&c, NULL);
	capture_feed(&c, buf, 200000, 97, 0);
	sm_decoder_flush(c.dec);
	assert_recovers(&c, good, n);
	capture_fini(&c);
	free(buf);
	free(good);
}

static void mutated_telegrams_never_poison_the_next(void **state)
{
	(void)state;
	struct capture c;
	size_t n;
	char *good = dsmr_with_crc(GOOD, &n);
	char *mut = malloc(n + 64);
	capture_init(&c, NULL);
	for (int round = 0; round < 3000; round++) {
		memcpy(mut, good, n);
		size_t m = n;
		int edits = 1 + (int)(next() % 4);
		for (int e = 0; e < edits; e++) {
			if (m < 2)
				break;
			size_t pos = next() % m;
			switch (next() % 4) {
			case 0: mut[pos] = (char)next(); break;                            /* replace */
			case 1: memmove(mut + pos, mut + pos + 1, m - pos - 1); m--; break; /* delete */
			case 2: mut[pos] ^= (char)(1u << (next() % 8)); break;              /* bit flip */
			case 3: m = pos + 1; break;                                         /* truncate */
			}
		}
		capture_feed(&c, mut, m, 1 + next() % 64, (next() % 8) == 0);
		assert_recovers(&c, good, n);
	}
	/* Every delivered telegram is either the good one or a mutated one whose CRC still matched:
	 * with a 16-bit CRC over ~200 bytes a handful of collisions is possible but every one must
	 * still carry the fields of a well-formed telegram. */
	assert_true(capture_count(&c) >= 3000);
	capture_fini(&c);
	free(mut);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_bytes_in_random_chunks),
		cmocka_unit_test(frame_start_bytes_everywhere),
		cmocka_unit_test(mutated_telegrams_never_poison_the_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
