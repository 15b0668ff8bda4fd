/* test_gbt.c — general-block-transfer reassembly (PROTOCOLS.md §4.4): blocks in HDLC frames as
 * Landis+Gyr sends them (LLC only in the first frame), the restart at block 1, duplicated / orphan /
 * missing blocks, unfinished transfers at flush, and bare block chains without a link layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apdutap.h"
#include "capture.h"
#include "dlmsbuild.h"
#include "streambuild.h"

static struct apdutap tap;
static uint8_t wire[16384];
static uint8_t apdu[8192];
static size_t pos;

static void start(struct capture *c)
{
	capture_init(c, NULL);
	apdutap_attach(c->dec, &tap);
}

/* Appends one HDLC frame carrying GBT block `number` with apdu[from .. from+n). */
static void add_block(unsigned number, bool last, size_t from, size_t n, bool llc)
{
	uint8_t info[1024];
	size_t k = 0;
	if (llc) {
		memcpy(info, dlmsbuild_llc, 3);
		k = 3;
	}
	k += dlmsbuild_gbt_block(info + k, sizeof(info) - k, number, last, apdu + from, n);
	size_t w = dlmsbuild_hdlc_frame(wire + pos, sizeof(wire) - pos, &dlmsbuild_hdlc_lg, false, info, k);
	assert_int_not_equal(w, 0);
	pos += w;
}

static void test_blocks_reassembled(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x24, 500);
	size_t frames = 0;
	size_t n = dlmsbuild_hdlc_gbt(wire, sizeof(wire), &dlmsbuild_hdlc_lg, apdu, an, 116, &frames);
	assert_int_equal(frames, 5);

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct capture c;
		start(&c);
		capture_feed(&c, wire, n, chunk, 1);
		assert_int_equal(capture_errors(&c, SM_E_SEQUENCE) + capture_errors(&c, SM_E_INCOMPLETE), 0);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, an);
		assert_memory_equal(tap.rec[0].apdu, apdu, an);
		/* Origin: the first frame's offset, every byte of all five frames. */
		assert_int_equal(tap.rec[0].org.offset, 0);
		assert_int_equal(tap.rec[0].org.length, n);
		assert_int_equal(tap.rec[0].org.framing, SM_FRAMING_HDLC);
		capture_fini(&c);
	}
}

/* The L+G E450 capture: blocks 1, 2, then the transfer starts again at block 1 and completes. */
static void test_restart_at_block_one(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x25, 300);
	pos = 0;
	add_block(1, false, 0, 120, true);
	add_block(2, false, 120, 120, false);
	size_t restart = pos;
	add_block(1, false, 0, 120, true);
	add_block(2, false, 120, 120, false);
	add_block(3, true, 240, an - 240, false);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	assert_int_equal(c.nerrors - capture_errors(&c, SM_E_UNSUPPORTED) - capture_errors(&c, SM_E_AXDR) -
	                     capture_errors(&c, SM_E_LAYOUT),
	                 0);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	assert_int_equal(tap.rec[0].org.offset, restart);
	assert_int_equal(tap.rec[0].org.length, pos - restart);
	bool warned = false;
	for (size_t i = 0; i < c.nevents; i++)
		warned |= c.events[i].level == SM_EVENT_WARNING && c.events[i].err == SM_E_SEQUENCE;
	assert_true(warned);
	capture_fini(&c);
}

/* Blocks 1, 2, 2, 4 (last), 3: nothing may be published; the next good transfer still is. */
static void test_duplicated_block(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x26, 400);
	pos = 0;
	add_block(1, false, 0, 100, true);
	add_block(2, false, 100, 100, false);
	add_block(2, false, 100, 100, false);
	add_block(4, true, 300, an - 300, false);
	add_block(3, false, 200, 100, false);
	size_t good = pos;
	pos += dlmsbuild_hdlc_gbt(wire + pos, sizeof(wire) - pos, &dlmsbuild_hdlc_lg, apdu, an, 100, NULL);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	assert_true(capture_errors(&c, SM_E_SEQUENCE) >= 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].org.offset, good);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

static void test_orphan_last_block(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x27, 100);
	pos = 0;
	add_block(4, true, 0, an, false);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

static void test_missing_block_drops_message(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x28, 400);
	pos = 0;
	add_block(1, false, 0, 100, true);
	add_block(3, false, 200, 100, false); /* block 2 lost */
	add_block(4, true, 300, an - 300, false);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	/* One error for the broken transfer, not one per following block. */
	assert_int_equal(capture_errors(&c, SM_E_SEQUENCE), 1);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 0);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

static void test_unfinished_transfer_at_flush(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x29, 300);
	(void)an;
	pos = 0;
	add_block(1, false, 0, 100, true);
	add_block(2, false, 100, 100, false);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 0);
	assert_int_equal(c.nerrors, 0);
	sm_decoder_flush(c.dec);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 0);
	/* After the flush a new transfer starts clean. */
	size_t n = dlmsbuild_hdlc_gbt(wire, sizeof(wire), &dlmsbuild_hdlc_lg, apdu, an, 100, NULL);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

/* A ciphered APDU travels in blocks; reassembly comes first, decryption after (§4.4 E570 example). */
static void test_ciphered_apdu_in_blocks(void **state)
{
	(void)state;
	static const uint8_t st[8] = {0x4C, 0x47, 0x5A, 0x67, 0x74, 0x20, 0x62, 0x95};
	uint8_t ct[600];
	for (size_t i = 0; i < sizeof(ct); i++)
		ct[i] = (uint8_t)(i ^ 0x5A);
	size_t an = dlmsbuild_fake_cipher(apdu, sizeof(apdu), 0xDB, st, 0x20, 0x2476, ct, 506);
	assert_int_equal(an, 524);
	size_t n = dlmsbuild_hdlc_gbt(wire, sizeof(wire), &dlmsbuild_hdlc_lg, apdu, an, 116, NULL);
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, 524);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

/* Bare blocks without a link layer: taken only as a whole chain starting at block 1. */
static void test_bare_block_chain(void **state)
{
	(void)state;
	/* A bare chain has no link check: its APDU must be a notification with OBIS-keyed values. */
	size_t an = sb_notification(apdu, sizeof(apdu), 0x2A, 14);
	assert_true(an > 300);
	size_t n = 0, len = 0;
	enum sm_err err = SM_OK;
	n += dlmsbuild_gbt_block(wire + n, sizeof(wire) - n, 1, false, apdu, 150);
	n += dlmsbuild_gbt_block(wire + n, sizeof(wire) - n, 2, true, apdu + 150, an - 150);
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n);
	assert_int_equal(sm_rawapdu_scan(wire, n - 1, false, &len, &err), SM_SCAN_MORE);
	/* Input ends inside block 2: block 1 is dropped as an unfinished transfer. */
	assert_int_equal(sm_rawapdu_scan(wire, n - 1, true, &len, &err), SM_SCAN_BAD);
	assert_int_equal(err, SM_E_INCOMPLETE);
	assert_int_equal(len, 6 + 2 + 150);
	/* Input ends inside block 1: too little proof to call it a transfer at all. */
	assert_int_equal(sm_rawapdu_scan(wire, 100, true, &len, &err), SM_SCAN_NO);
	/* A chain that does not start at block 1 is no frame start. */
	size_t b2 = dlmsbuild_gbt_block(apdu + 4096, 4096, 2, true, apdu, 40);
	assert_int_equal(sm_rawapdu_scan(apdu + 4096, b2, false, &len, &err), SM_SCAN_NO);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 1, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, an);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	assert_int_equal(tap.rec[0].org.framing, SM_FRAMING_RAW);
	assert_int_equal(tap.rec[0].org.length, n);
	capture_fini(&c);

	/* Block 2 missing from a bare chain: an error, nothing published. */
	size_t m = 0;
	m += dlmsbuild_gbt_block(wire + m, sizeof(wire) - m, 1, false, apdu, 100);
	m += dlmsbuild_gbt_block(wire + m, sizeof(wire) - m, 3, true, apdu + 200, an - 200);
	start(&c);
	capture_feed(&c, wire, m, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_SEQUENCE), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks_reassembled),
	    cmocka_unit_test(test_restart_at_block_one),
	    cmocka_unit_test(test_duplicated_block),
	    cmocka_unit_test(test_orphan_last_block),
	    cmocka_unit_test(test_missing_block_drops_message),
	    cmocka_unit_test(test_unfinished_transfer_at_flush),
	    cmocka_unit_test(test_ciphered_apdu_in_blocks),
	    cmocka_unit_test(test_bare_block_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
