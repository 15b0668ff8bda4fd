/* test_apdu.c — bare APDUs and APDU dispatch (PROTOCOLS.md §3.7, §4, §8.1): the strict scanner for
 * LLC / ciphered / notification starts, dispatch of unknown tags, garbage robustness, and, over the
 * shared corpus, that every DLMS capture reaches the APDU layer as exactly one complete APDU
 * (independently of the COSEM and cipher layers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apdutap.h"
#include "capture.h"
#include "corpus.h"
#include "dlmsbuild.h"

static struct apdutap tap;
static uint8_t wire[16384];
static uint8_t apdu[8192];
static const uint8_t st[8] = {0x53, 0x41, 0x47, 0x35, 0x00, 0x00, 0x40, 0x59};

static void start(struct capture *c)
{
	capture_init(c, NULL);
	apdutap_attach(c->dec, &tap);
}

/* Until the A-XDR layer lands, sm_axdr_measure_notification is a placeholder that measures nothing. */
static bool can_measure(void)
{
	const uint8_t n[] = {0x0F, 0, 0, 0, 1, 0x00, 0x11, 0x05};
	size_t len = 0;
	return sm_axdr_measure_notification(n, sizeof(n), &len) == SM_SCAN_FRAME && len == sizeof(n);
}

static void test_ciphered_scanner_is_strict(void **state)
{
	(void)state;
	uint8_t ct[300];
	memset(ct, 0xA5, sizeof(ct));
	size_t len = 0;
	enum sm_err err = SM_OK;
	size_t n = dlmsbuild_fake_cipher(wire, sizeof(wire), 0xDB, st, 0x30, 73, ct, 17 + 150);
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n);
	assert_int_equal(sm_rawapdu_scan(wire, n - 1, false, &len, &err), SM_SCAN_MORE);
	assert_int_equal(sm_rawapdu_scan(wire, n - 1, true, &len, &err), SM_SCAN_BAD);
	assert_int_equal(err, SM_E_TRUNCATED);
	assert_int_equal(len, n - 1);
	/* Too little of the header to judge at the end of input: not a frame start. */
	assert_int_equal(sm_rawapdu_scan(wire, 5, true, &len, &err), SM_SCAN_NO);

	size_t sc_at = 10 + 2; /* 81 xx length */
	assert_int_equal(wire[10], 0x81);
	wire[1] = 7; /* system title length must be 8 */
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	wire[1] = 8;
	const uint8_t bad_sc[] = {0x00, 0xB0, 0x35, 0x0F};
	for (size_t i = 0; i < sizeof(bad_sc); i++) {
		uint8_t keep = wire[sc_at];
		wire[sc_at] = bad_sc[i];
		assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_NO);
		wire[sc_at] = keep;
	}
	wire[10] = 0x80; /* indefinite length has no place here */
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	wire[10] = 0x85;
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	/* An authenticated APDU too short for its tag. */
	n = dlmsbuild_fake_cipher(wire, sizeof(wire), 0xDB, st, 0x30, 1, ct, 10);
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_NO);
	/* Encryption only (no tag), general-ded-ciphering, 2-byte length. */
	n = dlmsbuild_fake_cipher(wire, sizeof(wire), 0xDC, st, 0x20, 1, ct, 280);
	assert_int_equal(wire[10], 0x82);
	assert_int_equal(sm_rawapdu_scan(wire, n, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, n);
}

static void test_llc_prefix(void **state)
{
	(void)state;
	uint8_t ct[64];
	memset(ct, 0x3C, sizeof(ct));
	memcpy(wire, dlmsbuild_llc, 3);
	size_t an = dlmsbuild_fake_cipher(wire + 3, sizeof(wire) - 3, 0xDB, st, 0x20, 5, ct, sizeof(ct));
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_rawapdu_scan(wire, an + 3, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, an + 3);
	const uint8_t not_llc[][4] = {{0xE6, 0xE7, 0x01, 0xDB}, {0xE6, 0xE8, 0x00, 0xDB}, {0xE6, 0xE7, 0x00, 0x42}};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(sm_rawapdu_scan(not_llc[i], 4, false, &len, &err), SM_SCAN_NO);

	struct capture c;
	start(&c);
	capture_feed(&c, wire, an + 3, 1, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(tap.rec[0].len, an);
	assert_memory_equal(tap.rec[0].apdu, wire + 3, an);
	assert_int_equal(tap.rec[0].org.framing, SM_FRAMING_RAW);
	assert_int_equal(tap.rec[0].org.length, an + 3);
	capture_fini(&c);
}

static void test_bare_notification(void **state)
{
	(void)state;
	if (!can_measure())
		skip(); /* needs the A-XDR layer */
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 0x42, 100);
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_rawapdu_scan(apdu, an, false, &len, &err), SM_SCAN_FRAME);
	assert_int_equal(len, an);
	struct capture c;
	start(&c);
	capture_feed(&c, apdu, an, 1, 1);
	assert_int_equal(tap.n, 1);
	assert_memory_equal(tap.rec[0].apdu, apdu, an);
	capture_fini(&c);
}

static void test_notification_with_bad_datetime_form(void **state)
{
	(void)state;
	/* §4.2: date-time is 00, 0C+12, 09 0C+12 or 19+12; anything else cannot start a notification. */
	const uint8_t bad[] = {0x0F, 0, 0, 0, 1, 0x05, 0x11, 0x05};
	const uint8_t bad09[] = {0x0F, 0, 0, 0, 1, 0x09, 0x06, 0x05};
	size_t len = 0;
	enum sm_err err = SM_OK;
	assert_int_equal(sm_rawapdu_scan(bad, sizeof(bad), false, &len, &err), SM_SCAN_NO);
	assert_int_equal(sm_rawapdu_scan(bad09, sizeof(bad09), false, &len, &err), SM_SCAN_NO);
}

static void test_unknown_tag_reported(void **state)
{
	(void)state;
	/* An event-notification-request (C2) inside a good HDLC frame: understood framing, unsupported APDU. */
	uint8_t info[] = {0xE6, 0xE7, 0x00, 0xC2, 0x00, 0x00, 0x01, 0x00,
	                  0x00, 0x01, 0x00, 0x00, 0xFF, 0x02, 0x11, 0x01};
	size_t n = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, sizeof(info));
	struct capture c;
	start(&c);
	capture_feed(&c, wire, n, 0, 1);
	assert_int_equal(tap.n, 1);
	assert_int_equal(capture_errors(&c, SM_E_UNSUPPORTED), 1);
	bool named = false;
	for (size_t i = 0; i < c.nevents; i++)
		named |= strstr(c.events[i].detail, "event-notification-request") != NULL;
	assert_true(named);
	capture_fini(&c);
}

static void test_garbage_does_not_hang_or_overrun(void **state)
{
	(void)state;
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(wire); i++) {
		x = x * 1103515245u + 12345u;
		wire[i] = (uint8_t)(x >> 16);
	}
	/* Seed every kind of frame start into the noise. */
	for (size_t i = 0; i + 16 < sizeof(wire); i += 997) {
		static const uint8_t starts[][3] = {{0x7E, 0xA0, 0x40}, {0x68, 0x20, 0x20}, {0xDB, 0x08, 0x00},
		                                    {0xE6, 0xE7, 0x00}, {0xE0, 0x40, 0x00}, {0x0F, 0x00, 0x00}};
		memcpy(wire + i, starts[(i / 997) % 6], 3);
	}
	struct capture c;
	start(&c);
	capture_feed(&c, wire, sizeof(wire), 61, 1);
	struct sm_stats st1;
	sm_decoder_stats(c.dec, &st1);
	assert_int_equal(st1.bytes, sizeof(wire));
	assert_true(tap.n <= 2);
	capture_fini(&c);
}

/* ---- the corpus: every DLMS capture reaches the APDU layer as one complete APDU ---- */

static bool want_dlms(const char *name, json_object *cj)
{
	(void)cj;
	return !strncmp(name, "hdlc-", 5) || !strncmp(name, "mbus-", 5) || !strncmp(name, "raw-apdu-", 9) ||
	       !strncmp(name, "neg-hdlc-", 9);
}

static void check_case(const struct corpus_case *k, bool measure)
{
	json_object *e;
	const char *expect_error = NULL;
	if (json_object_object_get_ex(k->cj, "expect_error", &e))
		expect_error = json_object_get_string(e);
	bool raw = !strncmp(k->name, "raw-apdu-", 9);
	size_t llc = k->len >= 3 && k->frame[0] == 0xE6 ? 3 : 0;
	bool needs_measure = raw && k->frame[llc] == 0x0F;
	if (needs_measure && !measure) {
		print_message("%s: skipped (bare notification needs the A-XDR layer)\n", k->name);
		return;
	}
	struct capture c;
	start(&c);
	capture_feed(&c, k->frame, k->len, 0, 1);
	if (expect_error && strcmp(expect_error, "auth") != 0 && strcmp(expect_error, "no-key") != 0) {
		/* crc / truncated / incomplete: nothing may reach the APDU layer. */
		if (tap.n != 0)
			fail_msg("%s: a rejected frame reached the APDU layer", k->name);
	} else {
		if (tap.n != 1)
			fail_msg("%s: %zu APDUs delivered, expected 1", k->name, tap.n);
		uint8_t tag = tap.rec[0].apdu[0];
		if (tag != 0x0F && tag != 0xDB && tag != 0xDC)
			fail_msg("%s: delivered APDU starts with %02X", k->name, tag);
		if (raw && tap.rec[0].len != k->len - llc)
			fail_msg("%s: bare APDU of %zu bytes delivered as %zu", k->name, k->len - llc, tap.rec[0].len);
		if (!raw && !strstr(k->name, "restart") && tap.rec[0].org.length != k->len)
			fail_msg("%s: origin length %zu, file has %zu", k->name, tap.rec[0].org.length, k->len);
	}
	capture_fini(&c);
}

static void test_corpus_reaches_apdu_layer(void **state)
{
	(void)state;
	if (!corpus_dir())
		skip();
	struct corpus_case *cases = NULL;
	size_t n = corpus_load(want_dlms, &cases);
	assert_true(n > 0);
	bool measure = can_measure();
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i], measure);
	corpus_free(cases, n);
}

static const struct corpus_case *find(const struct corpus_case *cases, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

/* The worked examples of PROTOCOLS.md §3.5 and §4.4, byte for byte. */
static void test_corpus_worked_examples(void **state)
{
	(void)state;
	if (!corpus_dir())
		skip();
	struct corpus_case *cases = NULL;
	size_t n = corpus_load(want_dlms, &cases);
	const struct corpus_case *k;
	struct capture c;

	k = find(cases, n, "hdlc-gcm-lg-e570-gbt-ch");
	if (k) {
		/* 5 blocks of 116 x 4 + 60 = 524 bytes: DB, "LGZgt ..", 82 01FF, SC 20, IC 00002476. */
		const uint8_t head[] = {0xDB, 0x08, 0x4C, 0x47, 0x5A, 0x67, 0x74, 0x20, 0x62,
		                        0x95, 0x82, 0x01, 0xFF, 0x20, 0x00, 0x00, 0x24, 0x76};
		start(&c);
		capture_feed(&c, k->frame, k->len, 0, 1);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, 524);
		assert_memory_equal(tap.rec[0].apdu, head, sizeof(head));
		capture_fini(&c);
	}
	k = find(cases, n, "mbus-gcm-kaifa-ma309-pl");
	if (k) {
		/* Two M-Bus frames, 376 bytes -> 354-byte APDU: DB, "KFM..", 82 0155, SC 21, IC 00000A28. */
		const uint8_t head[] = {0xDB, 0x08, 0x4B, 0x46, 0x4D, 0x10, 0x20, 0x02, 0x98,
		                        0x02, 0x82, 0x01, 0x55, 0x21, 0x00, 0x00, 0x0A, 0x28};
		start(&c);
		capture_feed(&c, k->frame, k->len, 1, 1);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].len, 354);
		assert_memory_equal(tap.rec[0].apdu, head, sizeof(head));
		assert_int_equal(tap.rec[0].org.length, 376);
		capture_fini(&c);
	}
	k = find(cases, n, "hdlc-lg-e450-gbt-restart-ch");
	if (k) {
		/* Blocks 1, 2, then 1..4: the message is the second transfer, starting at its first frame. */
		start(&c);
		capture_feed(&c, k->frame, k->len, 0, 1);
		assert_int_equal(tap.n, 1);
		assert_int_equal(tap.rec[0].org.offset, 261);
		assert_int_equal(tap.rec[0].org.length, k->len - 261);
		assert_int_equal(tap.rec[0].apdu[0], 0x0F);
		capture_fini(&c);
	}
	corpus_free(cases, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ciphered_scanner_is_strict),
	    cmocka_unit_test(test_llc_prefix),
	    cmocka_unit_test(test_bare_notification),
	    cmocka_unit_test(test_notification_with_bad_datetime_form),
	    cmocka_unit_test(test_unknown_tag_reported),
	    cmocka_unit_test(test_garbage_does_not_hang_or_overrun),
	    cmocka_unit_test(test_corpus_reaches_apdu_layer),
	    cmocka_unit_test(test_corpus_worked_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
