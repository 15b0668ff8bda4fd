/* test_hdlc.c — HDLC frame format type 3 (PROTOCOLS.md §3.1–3.3): scanner verdicts, HCS/FCS, flags
 * inside the information field, shared flags, stray bytes, truncation and segment reassembly.
 * Frames are built by tests/unit/helpers/dlmsbuild.c; reassembled APDUs are watched through the tap. */
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

/* Errors only the link layers produce (the COSEM layer adds its own for our synthetic bodies). */
static size_t framing_errors(const struct capture *c)
{
	static const enum sm_err codes[] = {SM_E_HCS,        SM_E_FCS,      SM_E_TRUNCATED, SM_E_SEQUENCE,
	                                    SM_E_INCOMPLETE, SM_E_TOO_LONG, SM_E_SYNTAX,    SM_E_CHECKSUM};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		n += capture_errors(c, codes[i]);
	return n;
}

static bool event_mentions(const struct capture *c, const char *text)
{
	for (size_t i = 0; i < c->nevents; i++)
		if (strstr(c->events[i].detail, text))
			return true;
	return false;
}

static void start(struct capture *c)
{
	capture_init(c, NULL);
	apdutap_attach(c->dec, &tap);
}

static void test_crc16_x25_vectors(void **state)
{
	(void)state;
	/* PROTOCOLS.md §3.1: check value and the Green Book frame 7E 03 3F 5B EC 7E. */
	assert_int_equal(sm_crc16_x25((const uint8_t *)"123456789", 9), 0x906E);
	assert_int_equal(dlmsbuild_crc16_x25((const uint8_t *)"123456789", 9), 0x906E);
	const uint8_t gb[] = {0x03, 0x3F};
	assert_int_equal(sm_crc16_x25(gb, 2), 0xEC5B);
}

static void test_scan_complete_frame_leaves_closing_flag(void **state)
{
	(void)state;
	const uint8_t info[] = {0xE6, 0xE7, 0x00, 0x0F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x11, 0x05};
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, sizeof(info));
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_hdlc_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n - 1);
	/* Every shorter prefix asks for more; the frame is complete at its FCS, closing flag or not (a good
	 * FCS proves the length, so waiting for the flag would only add latency). */
	for (size_t k = 1; k < n - 1; k++)
		assert_int_equal(sm_hdlc_scan(wire, k, false, &len, &err), SM_SCAN_MORE);
	assert_int_equal(sm_hdlc_scan(wire, n - 1, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n - 1);
	assert_int_equal(sm_hdlc_scan(wire, n - 1, true, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n - 1);
}

static void test_scan_rejects_bad_header(void **state)
{
	(void)state;
	const uint8_t info[] = {0xE6, 0xE7, 0x00, 0x0F, 0, 0, 0, 1, 0x00, 0x11, 0x05};
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, sizeof(info));
	size_t len = 0;
	enum sm_err err = SM_OK;

	wire[6] ^= 0x01; /* HCS damaged: could be a false 7E, so "not mine" */
	assert_int_equal(sm_hdlc_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	wire[6] ^= 0x01;
	wire[1] = 0x90; /* not frame format type 3 */
	assert_int_equal(sm_hdlc_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	/* Five address bytes without an end bit. */
	const uint8_t bad_addr[] = {0x7E, 0xA0, 0x20, 0x02, 0x02, 0x02, 0x02, 0x02, 0x13};
	assert_int_equal(sm_hdlc_scan(bad_addr, sizeof(bad_addr), false, &len, &err), SM_SCAN_NO);
	/* A 3-byte address is not one IEC 62056-46 allows. */
	const uint8_t addr3[] = {0x7E, 0xA0, 0x20, 0x02, 0x02, 0x03, 0x03, 0x13};
	assert_int_equal(sm_hdlc_scan(addr3, sizeof(addr3), false, &len, &err), SM_SCAN_NO);
	/* Length shorter than the smallest frame. */
	const uint8_t tiny[] = {0x7E, 0xA0, 0x04, 0x03, 0x03, 0x13, 0x00, 0x00, 0x7E};
	assert_int_equal(sm_hdlc_scan(tiny, sizeof(tiny), false, &len, &err), SM_SCAN_NO);
}

static void test_truncated_at_eof(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 1, 300);
	uint8_t info[1024];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	size_t cut = n / 2, len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_hdlc_scan(wire, cut, false, &len, &err), SM_SCAN_MORE);
	assert_int_equal(sm_hdlc_scan(wire, cut, true, &len, &err), SM_SCAN_BAD);
	assert_int_equal(err, SM_E_TRUNCATED);
	assert_int_equal(len, cut);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, cut, 0, 0);
	assert_int_equal(c.nerrors, 0); /* waiting, not judging */
	sm_decoder_flush(c.dec);
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

static void test_fcs_mismatch_reported_with_numbers(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 2, 100);
	uint8_t info[512];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	/* A second, good frame right behind the damaged one must survive. */
	size_t n2 = dlmsbuild_hdlc_frame(wire + n, sizeof(wire) - n, &dlmsbuild_hdlc_aidon, false, info, an + 3);
	wire[40] ^= 0x10;

	/* The scanner checks the header only and hands the frame on whole: the FCS is the handler's, computed
	 * once from the stream's running CRC. */
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_hdlc_scan(wire, n + n2, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n - 1);
	assert_int_equal(err, SM_OK);
	err = SM_OK;
	assert_int_equal(sm_hdlc_scan(wire + n, n2, true, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n2 - 1);
	assert_int_equal(err, SM_OK);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, n + n2, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_FCS), 1);
	assert_true(event_mentions(&c, "HDLC FCS mismatch: frame says"));
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].org.offset, n);
	assert_int_equal(tap.rec[0].len, an);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

/* crc_check = no (dsmr_crc_optional): a frame whose header holds but whose FCS does not is decoded,
 * with a warning instead of an error. */
static void test_fcs_mismatch_accepted_when_crc_check_off(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 2, 100);
	uint8_t info[512];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	wire[n - 3] ^= 0xFF; /* the FCS itself */
	struct sm_decoder_config cfg = {.dsmr_crc_optional = true};
	struct capture c;
	capture_init(&c, &cfg);
	apdutap_attach(c.dec, &tap);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_FCS), 0);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	bool warned = false;
	for (size_t i = 0; i < c.nevents; i++)
		warned |= c.events[i].level == SM_EVENT_WARNING && c.events[i].err == SM_E_FCS;
	assert_true(warned);
	capture_fini(&c);
}

static void test_flag_bytes_inside_information(void **state)
{
	(void)state;
	/* The sample body is full of 7E, "7E A0" and 7E 7E: only the length field may decide. */
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 3, 200);
	uint8_t info[512];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct capture c;
		start(&c);
		capture_feed(&c, wire, n, chunk, 1);
		assert_int_equal(framing_errors(&c), 0);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, an); /* LLC stripped */
		assert_memory_equal(tap.rec[0].apdu, apdu, an);
		assert_int_equal(tap.rec[0].org.framing, SM_FRAMING_HDLC);
		assert_int_equal(tap.rec[0].org.offset, 0);
		assert_int_equal(tap.rec[0].org.length, n);
		struct sm_stats st;
		sm_decoder_stats(c.dec, &st);
		assert_int_equal(st.garbage_bytes, 0);
		capture_fini(&c);
	}
}

/* Three frames: own flags, then a shared flag, then stray bytes before the last one. */
static void test_shared_flags_and_stray_bytes(void **state)
{
	(void)state;
	uint8_t a[3][256];
	size_t an[3];
	uint8_t info[300];
	size_t pos = 0, starts[3];
	const uint8_t stray[] = {0x00, 0x55, 0xFF};
	struct dlmsbuild_hdlc h = dlmsbuild_hdlc_iskra;

	for (int i = 0; i < 3; i++) {
		an[i] = dlmsbuild_sample_notification(a[i], sizeof(a[i]), (uint32_t)(10 + i), (size_t)(40 + 20 * i));
		memcpy(info, dlmsbuild_llc, 3);
		memcpy(info + 3, a[i], an[i]);
		if (i == 2) {
			memcpy(wire + pos, stray, sizeof(stray));
			pos += sizeof(stray);
		}
		/* Frame 0 has no closing flag of its own: frame 1's opening flag closes it (shared flag). */
		h.no_close_flag = (i == 0);
		starts[i] = pos;
		pos += dlmsbuild_hdlc_frame(wire + pos, sizeof(wire) - pos, &h, false, info, an[i] + 3);
	}
	assert_int_equal(wire[starts[1]], 0x7E);
	assert_int_not_equal(wire[starts[1] - 1], 0x7E);

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct capture c;
		start(&c);
		capture_feed(&c, wire, pos, chunk, 1);
		assert_int_equal(framing_errors(&c), 0);
		assert_int_equal(tap.n, 3);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(tap.rec[i].len, an[i]);
			assert_memory_equal(tap.rec[i].apdu, a[i], an[i]);
		}
		assert_int_equal(tap.rec[1].org.offset, starts[1]);
		struct sm_stats st;
		sm_decoder_stats(c.dec, &st);
		/* The stray bytes, and at most the closing flag in front of them. */
		assert_in_range(st.garbage_bytes, sizeof(stray), sizeof(stray) + 1);
		capture_fini(&c);
	}
}

/* A frame cut short (bytes lost on the line) is overtaken by the next one: its claimed span fails the FCS,
 * is rescanned from its next byte, and every following frame decodes. */
static void test_truncated_frame_overtaken_by_next(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 4, 150);
	uint8_t info[512];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	size_t cut = 60;
	size_t pos = cut;
	for (int i = 0; i < 3; i++)
		pos += dlmsbuild_hdlc_frame(wire + pos, sizeof(wire) - pos, &dlmsbuild_hdlc_aidon, false, info, an + 3);
	(void)n;

	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 7, 1);
	assert_int_equal(capture_errors(&c, SM_E_FCS), 1);
	assert_int_equal(c.nerrors, 1);
	assert_int_equal(tap.n, 3);
	assert_int_equal(tap.rec[0].org.offset, cut);
	assert_memory_equal(tap.rec[2].apdu, apdu, an);
	capture_fini(&c);
}

static void test_segmented_reassembly(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 5, 600);
	size_t frames = 0;
	size_t n = dlmsbuild_hdlc_segmented(wire, sizeof(wire), &dlmsbuild_hdlc_iskra, true, apdu, an, 154, &frames);
	assert_true(frames >= 4);
	assert_int_equal(wire[1] & 0x08, 0x08); /* first frame: S=1, control 03 as Iskra sends */

	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct capture c;
		start(&c);
		capture_feed(&c, wire, n, chunk, 1);
		assert_int_equal(framing_errors(&c), 0);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, an);
		assert_memory_equal(tap.rec[0].apdu, apdu, an);
		assert_int_equal(tap.rec[0].org.offset, 0);
		assert_int_equal(tap.rec[0].org.length, n);
		capture_fini(&c);
	}
}

static void test_first_segment_only_is_incomplete(void **state)
{
	(void)state;
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 6, 300);
	size_t first = dlmsbuild_hdlc_segmented(wire, sizeof(wire), &dlmsbuild_hdlc_iskra, true, apdu, an, 154, NULL);
	/* Keep only the first frame. */
	size_t flen = ((size_t)(wire[1] & 7) << 8 | wire[2]) + 2;
	assert_true(flen < first);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, flen, 0, 0);
	assert_int_equal(c.nerrors, 0);
	assert_int_equal(tap.n, 0);
	sm_decoder_flush(c.dec);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 0);
	capture_fini(&c);
}

/* The last segment of message A is lost; message B must come out alone, never glued to A. */
static void test_lost_last_segment_never_glues(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 7, 400);
	size_t bn = dlmsbuild_sample_notification(b, sizeof(b), 8, 300);
	size_t n = dlmsbuild_hdlc_segmented(wire, sizeof(wire), &dlmsbuild_hdlc_iskra, true, apdu, an, 154, NULL);
	/* Drop A's final frame: walk the frames by their length fields (each has both flags) to the last. */
	size_t last = 0;
	while (last + (((size_t)(wire[last + 1] & 0x07) << 8) | wire[last + 2]) + 2 < n)
		last += (((size_t)(wire[last + 1] & 0x07) << 8) | wire[last + 2]) + 2;
	size_t pos = last;
	pos += dlmsbuild_hdlc_segmented(wire + pos, sizeof(wire) - pos, &dlmsbuild_hdlc_iskra, true, b, bn, 154, NULL);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, bn);
	assert_memory_equal(tap.rec[0].apdu, b, bn);
	assert_int_equal(tap.rec[0].org.offset, last);
	capture_fini(&c);
}

/* A middle segment fails its FCS: the message is dropped, its later segments are not taken for a new one. */
static void test_damaged_segment_drops_message(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 9, 600);
	size_t bn = dlmsbuild_sample_notification(b, sizeof(b), 10, 100);
	size_t n = dlmsbuild_hdlc_segmented(wire, sizeof(wire), &dlmsbuild_hdlc_iskra, true, apdu, an, 154, NULL);
	size_t second = ((size_t)(wire[1] & 7) << 8 | wire[2]) + 2;
	wire[second + 30] ^= 0x01;
	size_t pos = n;
	pos += dlmsbuild_hdlc_segmented(wire + pos, sizeof(wire) - pos, &dlmsbuild_hdlc_iskra, true, b, bn, 154, NULL);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, pos, 0, 1);
	assert_int_equal(capture_errors(&c, SM_E_FCS), 1);
	assert_int_equal(capture_errors(&c, SM_E_INCOMPLETE), 0);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, b, bn);
	capture_fini(&c);
}

static void test_two_and_four_byte_addresses(void **state)
{
	(void)state;
	struct dlmsbuild_hdlc h = {{0x02, 0x02, 0x02, 0x03}, 4, {0x02, 0x21}, 2, 0x10, false, false};
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 11, 20);
	uint8_t info[64];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &h, false, info, an + 3);
	/* An unusual control value must not be rejected either. */
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc16_x25_vectors),
	    cmocka_unit_test(test_scan_complete_frame_leaves_closing_flag),
	    cmocka_unit_test(test_scan_rejects_bad_header),
	    cmocka_unit_test(test_truncated_at_eof),
	    cmocka_unit_test(test_fcs_mismatch_reported_with_numbers),
	    cmocka_unit_test(test_fcs_mismatch_accepted_when_crc_check_off),
	    cmocka_unit_test(test_flag_bytes_inside_information),
	    cmocka_unit_test(test_shared_flags_and_stray_bytes),
	    cmocka_unit_test(test_truncated_frame_overtaken_by_next),
	    cmocka_unit_test(test_segmented_reassembly),
	    cmocka_unit_test(test_first_segment_only_is_incomplete),
	    cmocka_unit_test(test_lost_last_segment_never_glues),
	    cmocka_unit_test(test_damaged_segment_drops_message),
	    cmocka_unit_test(test_two_and_four_byte_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
