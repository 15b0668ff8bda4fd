/* test_resync.c — the stream decoder under line noise: every good frame decodes with its values next to
 * truncated, bit-flipped, over-long and wrong-key ones, in any chunking; noise decodes to nothing; and
 * each integrity rule of stream.c holds (a fixture per rule that fails without it).
 * Streams are built by tests/unit/helpers/streambuild.c from dlmsbuild/gcmbuild, never copied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "dlmsbuild.h"
#include "gcmbuild.h"
#include "streambuild.h"

/* ---- streams of good and damaged messages ---- */

struct result {
	size_t lost, foreign, dup, damaged_unauth, telegrams;
};

static struct sb_seen *cur_seen;
static uint8_t *authed; /* authed[serial - 1]: decoded with a verified GCM tag */

static void on_tg(void *ctx, const struct sm_telegram *t)
{
	struct sb_seen *s = ctx;
	size_t before = s->foreign;
	sb_on_telegram(ctx, t);
	static const uint8_t e_dlms[6] = {1, 0, 1, 8, 0, 255}, e_dsmr[6] = {1, 0, 1, 8, 1, 255};
	const struct sm_reading *r = sm_telegram_find(t, t->protocol == SM_PROTOCOL_DSMR ? e_dsmr : e_dlms);
	if (s->foreign == before && r && t->authenticated && r->value.u.num.mag >= 1 && r->value.u.num.mag <= s->n)
		authed[r->value.u.num.mag - 1] = 1;
}

static struct result run_stream(const enum sb_kind *kinds, size_t nk, size_t n, size_t chunk, uint64_t seed)
{
	struct sb_stream st;
	struct sb_seen seen;
	struct sm_decoder_config cfg;
	struct result res = {0};

	sb_stream_build(&st, n, kinds, nk, 4, seed);
	sb_seen_init(&seen, st.n);
	cur_seen = &seen;
	authed = calloc(st.n, 1);
	sb_config(&cfg);
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_tg, NULL, &seen, NULL);
	assert_non_null(dec);
	sb_feed(dec, st.buf, st.len, chunk, seed + 1);
	sm_decoder_free(dec);
	res.lost = sb_lost(&st, &seen, NULL);
	for (size_t i = 0; i < st.n; i++) {
		if (seen.count[i] > 1)
			res.dup += seen.count[i] - 1;
		/* A damaged message may come out only when its APDU proved itself by its GCM tag (a bit flip in
		 * the HDLC header leaves an intact, authenticated APDU behind). */
		if (!st.good[i] && seen.count[i] && !authed[i])
			res.damaged_unauth++;
	}
	res.foreign = seen.foreign;
	res.telegrams = seen.telegrams;
	if (res.lost || res.foreign || res.dup || res.damaged_unauth)
		print_message("%s x%zu chunk %zu: lost %zu of %zu, foreign %zu, dup %zu, damaged %zu\n",
		              nk == 1 ? sb_kind_name(kinds[0]) : "mixed", n, chunk, res.lost, st.ngood, res.foreign,
		              res.dup, res.damaged_unauth);
	free(authed);
	sb_seen_free(&seen);
	sb_stream_free(&st);
	return res;
}

static void assert_clean(struct result r)
{
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.foreign, 0);
	assert_int_equal(r.dup, 0);
	assert_int_equal(r.damaged_unauth, 0);
}

/* Each framing alone, as a meter sends it, in the chunkings a serial port produces. */
static void every_good_frame_of_each_framing_survives_damage(void **state)
{
	(void)state;
	static const size_t chunks[] = {0, 1, 7, SIZE_MAX};
	for (int k = 0; k < SB_KINDS; k++) {
		enum sb_kind kind = (enum sb_kind)k;
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			/* one byte at a time costs a rescan of the head candidate per byte: fewer messages */
			size_t n = chunks[c] == 1 ? 150 : 600;
			assert_clean(run_stream(&kind, 1, n, chunks[c], 0xA11CE + (uint64_t)k));
		}
	}
}

/* All framings back to back in one stream. */
static void every_good_frame_survives_in_a_mixed_stream(void **state)
{
	(void)state;
	static const enum sb_kind all[] = {SB_DSMR, SB_DSMR_GCM, SB_HDLC, SB_HDLC_GCM, SB_MBUS, SB_APDU, SB_APDU_GCM,
	                                    SB_SML};
	assert_clean(run_stream(all, SB_KINDS, 1000, 0, 0xB0B));
	assert_clean(run_stream(all, SB_KINDS, 1000, SIZE_MAX, 0xB0B));
	assert_clean(run_stream(all, SB_KINDS, 200, 7, 0xC0C));
}

/* ---- noise ---- */

static size_t noise_telegrams(const uint8_t *b, size_t n)
{
	struct sb_seen seen;
	struct sm_decoder_config cfg;
	sb_seen_init(&seen, 1);
	sb_config(&cfg);
	struct sm_decoder *dec = sm_decoder_new(&cfg, sb_on_telegram, NULL, &seen, NULL);
	sb_feed(dec, b, n, 4096, 3);
	sm_decoder_free(dec);
	size_t t = seen.telegrams;
	sb_seen_free(&seen);
	return t;
}

static void megabytes_of_noise_decode_to_nothing(void **state)
{
	(void)state;
	size_t n = 3u << 20;
	uint8_t *b = malloc(n);
	uint64_t rng = 0xDEADBEEF;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)sb_rand(&rng);
	assert_int_equal(noise_telegrams(b, n), 0);

	/* Frame-start bytes of every framing, each with a random tail: the worst case for a rescanner. */
	static const uint8_t starts[][4] = {{'/', 'K', 'F', 'M'}, {0x7E, 0xA0}, {0x7E, 0xA8}, {0x68, 0x20, 0x20, 0x68},
	                                    {0x0F, 0, 0, 0},      {0xDB, 0x08}, {0xE6, 0xE7, 0x00}, {0xE0, 0xC0, 0x00, 0x01}};
	static const size_t slen[] = {4, 2, 2, 4, 4, 2, 3, 4};
	size_t i = 0;
	while (i < n) {
		size_t k = sb_rand(&rng) % 8;
		for (size_t j = 0; j < slen[k] && i < n; j++)
			b[i++] = starts[k][j];
		size_t tail = sb_rand(&rng) % 24;
		for (size_t j = 0; j < tail && i < n; j++)
			b[i++] = (uint8_t)sb_rand(&rng);
	}
	assert_int_equal(noise_telegrams(b, n), 0);
	free(b);
}

/* ---- one fixture per rule ---- */

static const char DSMR5[] = "/KFM5KAIFA-METER\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(201113205757W)\r\n"
                            "1-0:1.8.1(001581.123*kWh)\r\n!";

static void dsmr5_without_crc_is_rejected(void **state)
{
	(void)state;
	const char *tails[] = {"\r\n", "x\r\n"};
	for (size_t i = 0; i < 2; i++) {
		char tg[512];
		snprintf(tg, sizeof(tg), "%s%s", DSMR5, tails[i]);
		struct capture c;
		capture_init(&c, NULL);
		capture_feed(&c, tg, strlen(tg), 0, 1);
		assert_int_equal(capture_count(&c), 0);
		assert_int_equal(capture_errors(&c, SM_E_CRC), 1);
		capture_fini(&c);

		/* crc_check off keeps the old lenient behaviour for meters that leave the CRC out. */
		struct sm_decoder_config cfg = {.dsmr_crc_optional = true};
		capture_init(&c, &cfg);
		capture_feed(&c, tg, strlen(tg), 0, 1);
		assert_int_equal(capture_count(&c), 1);
		assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.1"), "1581.123");
		capture_fini(&c);
	}
}

static void crcless_telegram_must_be_plausible(void **state)
{
	(void)state;
	/* DSMR 3 style (no version line, no CRC): decodes. */
	const char ok[] = "/ISk5\\2MT382-1000\r\n\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n"
	                  "1-0:1.8.1(12345.678*kWh)\r\n0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n"
	                  "(00001.001)\r\n!\r\n";
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, ok, strlen(ok), 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.1"), "12345.678");
	capture_fini(&c);

	/* A line that is not in the grammar: nothing vouches for the rest. */
	const char badline[] = "/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(12345.678*kWh)\r\nxx garbage\r\n!\r\n";
	capture_init(&c, NULL);
	capture_feed(&c, badline, strlen(badline), 0, 1);
	assert_int_equal(capture_count(&c), 0);
	assert_int_equal(capture_errors(&c, SM_E_SYNTAX), 1);
	capture_fini(&c);

	/* No OBIS line at all (what noise makes of "/ABC" ... "!"). */
	const char empty[] = "/ABC5\r\n\r\n!\r\n";
	capture_init(&c, NULL);
	capture_feed(&c, empty, strlen(empty), 0, 1);
	assert_int_equal(capture_count(&c), 0);
	capture_fini(&c);

	/* A byte above 0x7E: fine under a CRC (Hungarian 0xFF message), not without one. */
	const char high[] = "/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(12345.678*kWh)\r\n0-0:96.13.0(\xff\xff)\r\n!\r\n";
	capture_init(&c, NULL);
	capture_feed(&c, high, strlen(high), 0, 1);
	assert_int_equal(capture_count(&c), 0);
	capture_fini(&c);
}

/* "/ABC5 x" + CR LF in binary data, then HDLC frames: the false DSMR start ends at the first byte no
 * DSMR meter sends, and every frame after it decodes. */
static void dsmr_false_start_costs_no_frame(void **state)
{
	(void)state;
	uint8_t buf[8192];
	size_t n = 0;
	memcpy(buf, "/ABC5 x\r\n", 9);
	n = 9;
	for (uint32_t i = 1; i <= 20; i++)
		n += sb_message(buf + n, sizeof(buf) - n, SB_HDLC, i, SB_GOOD, NULL);
	struct sb_seen seen;
	sb_seen_init(&seen, 20);
	struct sm_decoder *dec = sm_decoder_new(NULL, sb_on_telegram, NULL, &seen, NULL);
	/* As they arrive, not only when the line goes idle: the false start ends at the first binary byte. */
	sm_decoder_feed(dec, buf, n);
	assert_int_equal(seen.telegrams, 20);
	sm_decoder_flush(dec);
	for (size_t chunk = 0; chunk < 2; chunk++) {
		memset(seen.count, 0, 20 * sizeof(unsigned));
		sb_feed(dec, buf, n, chunk ? 64 : 0, 1);
		for (size_t i = 0; i < 20; i++)
			assert_int_equal(seen.count[i], 1);
	}
	assert_int_equal(seen.foreign, 0);
	sm_decoder_free(dec);
	sb_seen_free(&seen);
}

/* A frame cut short is reported once; the frame-like bytes of its payload (7E A0, 68 L L 68, E6 E7 00 0F
 * in the test pattern) are rescanned without a report each, and the next frame decodes. */
static void rescanned_payload_is_not_reported(void **state)
{
	(void)state;
	uint8_t apdu[1024], info[1100], buf[3000];
	size_t an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 1, 600);
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(buf, sizeof(buf), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	n = n * 2 / 3; /* cut */
	n += sb_message(buf + n, sizeof(buf) - n, SB_HDLC, 1, SB_GOOD, NULL);
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, buf, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(c.nerrors, 1);
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1); /* its claim runs past the end of input */
	capture_fini(&c);
}

/* A bare notification whose body is one value without OBIS code is what noise makes: not a frame. */
static void lone_positional_value_is_not_a_notification(void **state)
{
	(void)state;
	const uint8_t body[] = {0x06, 0x00, 0x00, 0x13, 0xA8}; /* double-long-unsigned 5032 */
	uint8_t apdu[64];
	size_t n = dlmsbuild_notification(apdu, sizeof(apdu), 7, body, sizeof(body));
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, apdu, n, 0, 1);
	assert_int_equal(capture_count(&c), 0);
	assert_int_equal(c.nerrors, 0); /* noise is skipped, not reported */
	capture_fini(&c);

	/* The same value inside an HDLC frame: the FCS vouches for it, it is published keyed by position. */
	uint8_t info[80], frame[128];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, n);
	size_t fn = dlmsbuild_hdlc_frame(frame, sizeof(frame), &dlmsbuild_hdlc_aidon, false, info, n + 3);
	capture_init(&c, NULL);
	capture_feed(&c, frame, fn, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	capture_fini(&c);
}

/* A bare notification must be followed by the end of the input or another frame's start. */
static void bare_notification_needs_a_boundary(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = sb_notification(buf, sizeof(buf), 5, 2);
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, buf, n, 0, 0);
	assert_int_equal(capture_count(&c), 0); /* not yet: the next byte decides */
	sm_decoder_flush(c.dec);
	assert_int_equal(capture_count(&c), 1); /* idle line: a boundary */
	capture_fini(&c);

	buf[n] = 0x55; /* a byte no frame starts with */
	buf[n + 1] = 0x55;
	capture_init(&c, NULL);
	capture_feed(&c, buf, n + 2, 0, 1);
	assert_int_equal(capture_count(&c), 0);
	capture_fini(&c);
}

/* The payload of an HDLC frame whose FCS failed must not pass for a bare APDU (it may hold the flip). */
static void failed_frame_payload_is_not_a_bare_apdu(void **state)
{
	(void)state;
	uint8_t apdu[256], info[300], buf[1024];
	size_t an = sb_notification(apdu, sizeof(apdu), 9, 2);
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t n = dlmsbuild_hdlc_frame(buf, sizeof(buf), &dlmsbuild_hdlc_aidon, false, info, an + 3);
	buf[n - 3] ^= 0x01; /* FCS damaged, payload intact */
	struct capture c;
	capture_init(&c, NULL);
	capture_feed(&c, buf, n, 0, 1);
	assert_int_equal(capture_count(&c), 0);
	assert_int_equal(capture_errors(&c, SM_E_FCS), 1);
	assert_int_equal(c.nerrors, 1);
	capture_fini(&c);
}

/* Fake HDLC headers with a valid HCS claiming 2,047 bytes, every 9 bytes, then a good frame. */
static void fake_headers_cost_no_frame(void **state)
{
	(void)state;
	size_t fake = 9 * 600;
	uint8_t *buf = malloc(fake + 1024);
	for (size_t i = 0; i < fake; i += 9) {
		uint8_t *f = buf + i;
		const uint8_t h[] = {0x7E, 0xA7, 0xFF, 0x41, 0x08, 0x83, 0x13};
		memcpy(f, h, sizeof(h));
		uint16_t hcs = dlmsbuild_crc16_x25(f + 1, 6);
		f[7] = (uint8_t)hcs;
		f[8] = (uint8_t)(hcs >> 8);
	}
	size_t n = fake + sb_message(buf + fake, 1024, SB_HDLC, 1, SB_GOOD, NULL);
	struct sb_seen seen;
	sb_seen_init(&seen, 1);
	struct sm_decoder *dec = sm_decoder_new(NULL, sb_on_telegram, NULL, &seen, NULL);
	sb_feed(dec, buf, n, 4096, 1);
	assert_int_equal(seen.count[0], 1);
	assert_int_equal(seen.telegrams, 1);
	sm_decoder_free(dec);
	sb_seen_free(&seen);
	free(buf);
}

/* Running CRC of the buffer = the direct CRC, for any span (the FCS shortcut is exact). */
static void running_crc_matches_direct_crc(void **state)
{
	(void)state;
	uint8_t buf[5000];
	uint64_t rng = 77;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)sb_rand(&rng);
	/* a frame at an odd offset after garbage, in odd chunks: its FCS comes from the running CRC */
	uint8_t info[2000];
	size_t an = sb_notification(info + 3, sizeof(info) - 3, 3, 90);
	memcpy(info, dlmsbuild_llc, 3);
	size_t n = dlmsbuild_hdlc_frame(buf + 1234, sizeof(buf) - 1234, &dlmsbuild_hdlc_aidon, false, info, an + 3);
	assert_true(n > 1800);
	struct sb_seen seen;
	sb_seen_init(&seen, 3);
	struct sm_decoder *dec = sm_decoder_new(NULL, sb_on_telegram, NULL, &seen, NULL);
	sb_feed(dec, buf, 1234 + n + 100, 13, 1);
	assert_int_equal(seen.telegrams, 1);
	sm_decoder_free(dec);
	sb_seen_free(&seen);
}

/* ---- decryption that goes wrong ---- */

/* An encryption-only (SC 0x20) APDU built with key `ek` whose plaintext under key `other` is `want`:
 * GCM is a stream cipher, so P = want ^ keystream(ek) ^ keystream(other). */
static size_t wrong_key_apdu(const uint8_t *want, size_t n, const uint8_t *ek, const uint8_t *other, uint8_t *out,
                             size_t cap)
{
	uint8_t zero[512] = {0}, ks1[600], ks2[600], p[512];
	struct gcm_params prm = {.tag = 0xDB, .sc = 0x20, .ic = 9, .lenform = GCM_LEN_82};
	memcpy(prm.system_title, "KFM\x01\x02\x03\x04\x05", 8);
	prm.ek = ek;
	assert_true(gcm_build(&prm, zero, n, ks1, sizeof(ks1)) > 0);
	prm.ek = other;
	assert_true(gcm_build(&prm, zero, n, ks2, sizeof(ks2)) > 0);
	for (size_t i = 0; i < n; i++)
		p[i] = want[i] ^ ks1[18 + i] ^ ks2[18 + i]; /* header: DB 08 st(8) 82 LL SC IC(4) */
	prm.ek = ek;
	return gcm_build(&prm, p, n, out, cap);
}

/* The decoder's key is wrong and no tag can be checked: what the ciphertext decrypts to may still begin
 * like an APDU. That is a wrong key, not an unsupported APDU nor a malformed notification. */
static void wrong_key_without_tag_check_says_so(void **state)
{
	(void)state;
	uint8_t other[16];
	memset(other, 0x42, 16);
	const uint8_t event_notification[] = {0xC2, 0x00, 0x09, 0x0C, 0x07, 0xE6, 0x08, 0x0A, 0x03, 0x0B, 0x18,
	                                      0x22, 0x54, 0x00, 0x00, 0x00, 0x01, 0x00};
	const uint8_t bad_notification[] = {0x0F, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x05, 0xFF, 0xFF, 0xFF, 0xFF};
	const uint8_t *wants[] = {event_notification, bad_notification};
	const size_t lens[] = {sizeof(event_notification), sizeof(bad_notification)};
	for (size_t k = 0; k < 2; k++) {
		uint8_t apdu[512];
		size_t n = wrong_key_apdu(wants[k], lens[k], other, sb_key, apdu, sizeof(apdu));
		assert_true(n > 0);
		/* In an HDLC frame, so the framing is proven and only the key is in doubt. */
		uint8_t info[600], frame[700];
		memcpy(info, dlmsbuild_llc, 3);
		memcpy(info + 3, apdu, n);
		size_t fn = dlmsbuild_hdlc_frame(frame, sizeof(frame), &dlmsbuild_hdlc_aidon, false, info, n + 3);
		struct sm_decoder_config cfg = {.has_key = true};
		memcpy(cfg.key, sb_key, 16);
		struct capture c;
		capture_init(&c, &cfg);
		capture_feed(&c, frame, fn, 0, 1);
		assert_int_equal(capture_count(&c), 0);
		assert_int_equal(capture_errors(&c, SM_E_DECRYPT), 1);
		assert_int_equal(c.nerrors, 1);
		assert_non_null(strstr(c.events[c.nevents - 1].detail, "decryption failed (wrong key?)"));
		capture_fini(&c);
	}
}

static void smarty_warning_names_the_published_auth_key(void **state)
{
	(void)state;
	uint8_t pt[600], apdu[800];
	size_t bang;
	(void)bang;
	uint64_t rng = 1;
	size_t pn = sb_message(pt, sizeof(pt), SB_DSMR, 1, SB_GOOD, &rng);
	struct gcm_params prm = {.tag = 0xDB, .sc = 0x30, .ic = 1, .ek = sb_key, .ak = sb_auth_key, .lenform = GCM_LEN_82};
	memcpy(prm.system_title, "SAGY\x01\x02\x03\x04", 8);
	size_t n = gcm_build(&prm, pt, pn, apdu, sizeof(apdu));
	struct sm_decoder_config cfg = {.has_key = true};
	memcpy(cfg.key, sb_key, 16);
	struct capture c;
	capture_init(&c, &cfg);
	capture_feed(&c, apdu, n, 0, 1);
	assert_int_equal(capture_count(&c), 1);
	bool named = false;
	for (size_t i = 0; i < c.nevents; i++)
		if (c.events[i].level == SM_EVENT_WARNING && strstr(c.events[i].detail, "00112233445566778899AABBCCDDEEFF"))
			named = true;
	assert_true(named);
	capture_fini(&c);
}

int main(void)
{
	gcm_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_good_frame_of_each_framing_survives_damage),
		cmocka_unit_test(every_good_frame_survives_in_a_mixed_stream),
		cmocka_unit_test(megabytes_of_noise_decode_to_nothing),
		cmocka_unit_test(dsmr5_without_crc_is_rejected),
		cmocka_unit_test(crcless_telegram_must_be_plausible),
		cmocka_unit_test(dsmr_false_start_costs_no_frame),
		cmocka_unit_test(rescanned_payload_is_not_reported),
		cmocka_unit_test(lone_positional_value_is_not_a_notification),
		cmocka_unit_test(bare_notification_needs_a_boundary),
		cmocka_unit_test(failed_frame_payload_is_not_a_bare_apdu),
		cmocka_unit_test(fake_headers_cost_no_frame),
		cmocka_unit_test(running_crc_matches_direct_crc),
		cmocka_unit_test(wrong_key_without_tag_check_says_so),
		cmocka_unit_test(smarty_warning_names_the_published_auth_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
