/* test_mbus.c — wired M-Bus long frames with the DLMS transport header (PROTOCOLS.md §3.5): checksum and
 * stop byte, segment numbering and the FIN bit, the Sagemcom L-modulo-256 quirk, frames without
 * STSAP/DTSAP, and resynchronisation after a damaged frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apdutap.h"
#include "capture.h"
#include "dlmsbuild.h"

static struct apdutap tap;
static uint8_t wire[16384];
static uint8_t apdu[8192];
static const uint8_t st[8] = {0x4B, 0x46, 0x4D, 0x10, 0x20, 0x02, 0x98, 0x02}; /* "KFM..." */

static void start(struct capture *c)
{
	capture_init(c, NULL);
	apdutap_attach(c->dec, &tap);
}

static bool event_mentions(const struct capture *c, const char *text)
{
	for (size_t i = 0; i < c->nevents; i++)
		if (strstr(c->events[i].detail, text))
			return true;
	return false;
}

/* A ciphered APDU like the Kaifa MA309's (SC 21, no tag), with a fake ciphertext of n bytes. */
static size_t kaifa_apdu(size_t n)
{
	uint8_t ct[4096];
	for (size_t i = 0; i < n; i++)
		ct[i] = (uint8_t)(i * 7 + 0x16); /* includes 16 and 68 bytes */
	return dlmsbuild_fake_cipher(apdu, sizeof(apdu), 0xDB, st, 0x21, 0x0A28, ct, n);
}

static void test_scan_single_frame(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(40);
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x10, true, apdu, an);
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_mbus_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n);
	for (size_t k = 1; k < n; k++)
		assert_int_equal(sm_mbus_scan(wire, k, false, &len, &err), SM_SCAN_MORE);
	/* L bytes that differ, a missing second start byte, an M-Bus application CI: not ours. */
	wire[2] ^= 1;
	assert_int_equal(sm_mbus_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	wire[2] ^= 1;
	wire[3] = 0x69;
	assert_int_equal(sm_mbus_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	wire[3] = 0x68;
	wire[6] = 0x72;
	assert_int_equal(sm_mbus_scan(wire, n, false, &len, &err), SM_SCAN_NO);
}

static void test_two_segments_reassembled(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(341);
	size_t frames = 0;
	size_t n = dlmsbuild_mbus_segmented(wire, sizeof(wire), true, apdu, an, 245, &frames);
	assert_int_equal(frames, 2);
	assert_int_equal(wire[1], 0xFA); /* 68 FA FA 68 as the MA309 sends */
	assert_int_equal(wire[6], 0x00);

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct capture c;
		start(&c);
		capture_feed(&c, wire, n, chunk, 1);
		assert_int_equal(capture_errors(&c, SM_E_CHECKSUM) + capture_errors(&c, SM_E_SEQUENCE), 0);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, an);
		assert_memory_equal(tap.rec[0].apdu, apdu, an);
		assert_int_equal(tap.rec[0].org.framing, SM_FRAMING_MBUS);
		assert_int_equal(tap.rec[0].org.offset, 0);
		assert_int_equal(tap.rec[0].org.length, n);
		capture_fini(&c);
	}
}

/* Sagemcom T210-D: a 257-byte frame body announced as L = 01. */
static void test_length_modulo_256_quirk(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(248 + 2); /* 3 + 2 + 252 = 257 */
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x00, true, apdu, 252);
	assert_int_equal(wire[1], 0x01);
	assert_int_equal(n, 257 + 6);
	n += dlmsbuild_mbus_frame(wire + n, sizeof(wire) - n, 0x11, true, apdu + 252, an - 252);
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_mbus_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, 263);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 1, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, an);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

static void test_without_transport_header(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(300);
	size_t n = dlmsbuild_mbus_segmented(wire, sizeof(wire), false, apdu, an, 200, NULL);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, an);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

static void test_skipped_segment_number_rejected(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(400);
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x00, true, apdu, 150);
	n += dlmsbuild_mbus_frame(wire + n, sizeof(wire) - n, 0x12, true, apdu + 150, an - 150); /* 0, then 2 */
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_SEQUENCE), 1);
	assert_true(event_mentions(&c, "segment 2 where 1 was expected"));
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

static void test_lost_last_segment_never_glues(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(400);
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x00, true, apdu, 200); /* FIN never comes */
	size_t second = n;
	n += dlmsbuild_mbus_segmented(wire + n, sizeof(wire) - n, true, apdu, an, 245, NULL);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].org.offset, second);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

static void test_checksum_mismatch_then_resync(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(60);
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x10, true, apdu, an);
	size_t n2 = dlmsbuild_mbus_frame(wire + n, sizeof(wire) - n, 0x10, true, apdu, an);
	wire[20] ^= 0x04;
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n + n2, 3, 1);
	assert_int_equal(capture_errors(&c, SM_E_CHECKSUM), 1);
	assert_true(event_mentions(&c, "M-Bus checksum mismatch: frame says"));
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].org.offset, n);
	capture_fini(&c);
}

static void test_bad_stop_byte(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(60);
	size_t n = dlmsbuild_mbus_frame(wire, sizeof(wire), 0x10, true, apdu, an);
	wire[n - 1] = 0x17;
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_CHECKSUM), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

static void test_truncated_and_incomplete_at_end(void **state)
{
	(void)state;
	size_t an = kaifa_apdu(400);
	size_t n = dlmsbuild_mbus_segmented(wire, sizeof(wire), true, apdu, an, 245, NULL);
	size_t first = wire[1] + 6u;
	struct capture c;

	/* Only the first of two segments: waits, then an unfinished message at flush. */
	start(&c);
	capture_feed(&c, wire, first, 0, 0);
	assert_int_equal(c.nerrors, 0);
	sm_decoder_flush(c.dec);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);

	/* The second frame cut short. */
	start(&c);
	capture_feed(&c, wire, n - 10, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_single_frame),
	    cmocka_unit_test(test_two_segments_reassembled),
	    cmocka_unit_test(test_length_modulo_256_quirk),
	    cmocka_unit_test(test_without_transport_header),
	    cmocka_unit_test(test_skipped_segment_number_rejected),
	    cmocka_unit_test(test_lost_last_segment_never_glues),
	    cmocka_unit_test(test_checksum_mismatch_then_resync),
	    cmocka_unit_test(test_bad_stop_byte),
	    cmocka_unit_test(test_truncated_and_incomplete_at_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
