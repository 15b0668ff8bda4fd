/* test_sml.c — the SML layer on files the test builds itself (helpers/smlbuild.c): transport escapes,
 * fill bytes, multi-byte TL fields, every integer width and sign, file and message CRCs (X.25 and the
 * Holley Kermit variant), cut files, false starts inside binary data, the DZG power-sign rule, optional
 * parts left out, unknown messages; and a mixed stream of SML files between DSMR telegrams and HDLC
 * frames, with damaged files and noise holding start sequences, in which every good frame comes out
 * exactly once. */
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
#include "internal.h"
#include "smlbuild.h"

static const uint8_t SERVER_ID[10] = { 0x0A, 0x01, 'E', 'M', 'H', 0x00, 0x00, 0xA1, 0xBD, 0x34 };
static const uint8_t E180[6] = { 1, 0, 1, 8, 0, 255 }, E280[6] = { 1, 0, 2, 8, 0, 255 };
static const uint8_t P1670[6] = { 1, 0, 16, 7, 0, 255 }, V3270[6] = { 1, 0, 32, 7, 0, 255 };
static const uint8_t KEY[6] = { 129, 129, 199, 130, 5, 255 }, ID9610[6] = { 1, 0, 96, 1, 0, 255 };

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Open + GetList(head) ... the caller's entries ... GetList(end) + Close, as one file. */
static void begin(struct smlbuild *b, const uint8_t *sid, size_t sid_len, size_t entries)
{
	smlbuild_init(b);
	smlbuild_open(b, 0x100, sid, sid_len, SMLBUILD_X25);
	smlbuild_getlist_begin(b, 0x101, sid, sid_len, entries);
}

static size_t finish(struct smlbuild *b, uint8_t *out, size_t cap, enum smlbuild_crc crc)
{
	smlbuild_getlist_end(b, crc == SMLBUILD_KERMIT ? SMLBUILD_KERMIT : SMLBUILD_X25);
	smlbuild_close(b, 0x102, crc == SMLBUILD_KERMIT ? SMLBUILD_KERMIT : SMLBUILD_X25);
	size_t n = smlbuild_file(b, out, cap, crc);
	assert_true(n > 0);
	return n;
}

static void decode(struct capture *c, const uint8_t *p, size_t n, const struct sm_decoder_config *cfg)
{
	capture_init(c, cfg);
	capture_feed(c, p, n, 0, 1);
}

/* ---- checksums ---- */

static void crc_variants_check_values(void **state)
{
	(void)state;
	const uint8_t check[] = "123456789";
	assert_int_equal(sm_crc16_x25(check, 9), 0x906E);
	assert_int_equal(sm_crc16_kermit(check, 9), 0x2189);
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)next();
	for (size_t n = 0; n <= sizeof(buf); n += 1 + n / 8) { /* every tail length of the 4-byte loop */
		assert_int_equal(sm_crc16_kermit(buf, n), smlbuild_crc16_kermit(buf, n));
		assert_int_equal(sm_crc16_x25(buf, n), smlbuild_crc16_x25(buf, n));
	}
}

/* ---- a typical file ---- */

static void typical_file_decodes(void **state)
{
	(void)state;
	uint8_t f[1024];
	struct capture c;
	size_t n = smlbuild_sample(f, sizeof(f), 0x1000, 12345678, -1234);
	assert_true(n > 300 && n < 500);
	decode(&c, f, n, NULL);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(c.nerrors, 0);
	assert_string_equal(capture_field_text(&c, 0, "protocol"), "\"sml\"");
	assert_string_equal(capture_field_text(&c, 0, "framing"), "\"sml\"");
	assert_string_equal(capture_field_text(&c, 0, "meter_id"), "\"0a01454d480000a1bd34\"");
	assert_string_equal(capture_field_text(&c, 0, "header"), "\"EMH\"");
	char len_text[16];
	snprintf(len_text, sizeof(len_text), "%zu", n);
	assert_string_equal(capture_field_text(&c, 0, "length"), len_text);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "1234567.8");
	assert_string_equal(capture_value_text(&c, 0, "1-0:16.7.0"), "-123.4");
	assert_string_equal(capture_value_text(&c, 0, "1-0:96.50.1.1"), "\"454d48\"");
	json_object *e = capture_value(&c, 0, "1-0:1.8.0"), *u;
	assert_true(json_object_object_get_ex(e, "unit", &u));
	assert_string_equal(json_object_get_string(u), "Wh");
	e = capture_value(&c, 0, "1-0:16.7.0");
	assert_true(json_object_object_get_ex(e, "unit", &u));
	assert_string_equal(json_object_get_string(u), "W");

	/* any chunking gives the same telegram */
	json_object *whole = json_object_get(c.telegrams);
	capture_fini(&c);
	for (size_t chunk = 1; chunk <= 13; chunk += 4) {
		capture_init(&c, NULL);
		capture_feed(&c, f, n, chunk, 1);
		assert_true(json_object_equal(whole, c.telegrams));
		capture_fini(&c);
	}
	json_object_put(whole);
}

/* ---- transport ---- */

static void escaped_sequence_in_data_is_undone(void **state)
{
	(void)state;
	uint8_t run[13], f[1024];
	struct smlbuild b;
	struct capture c;
	memset(run, 0x1B, sizeof(run));
	begin(&b, SERVER_ID, sizeof(SERVER_ID), 2);
	smlbuild_entry_octets(&b, KEY, run, sizeof(run)); /* 13 x 1B: holds at least two aligned 1B1B1B1B */
	smlbuild_entry_uint(&b, E180, 30, 0, 0x1B1B1B1B1B1B1B1Bull, 8);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
	assert_true(n >= b.len + 16 + 8); /* at least one escape on the wire */
	decode(&c, f, n, NULL);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "129-129:199.130.5"), "\"1b1b1b1b1b1b1b1b1b1b1b1b1b\"");
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "1953184666628070171");
	capture_fini(&c);
}

static void fill_bytes_zero_to_three(void **state)
{
	(void)state;
	bool seen[4] = { false, false, false, false };
	for (size_t extra = 0; extra < 8; extra++) {
		uint8_t f[1024], pad[8] = { 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' };
		struct smlbuild b;
		struct capture c;
		begin(&b, SERVER_ID, sizeof(SERVER_ID), 2);
		smlbuild_entry_octets(&b, KEY, pad, extra);
		smlbuild_entry_uint(&b, E180, 30, -1, 42, 4);
		size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
		assert_int_equal(n % 4, 0);
		seen[f[n - 3]] = true;
		decode(&c, f, n, NULL);
		assert_int_equal(capture_count(&c), 1);
		assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "4.2");
		capture_fini(&c);
	}
	assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
}

static void multi_byte_tl(void **state)
{
	(void)state;
	uint8_t f[4096], key[200];
	struct smlbuild b;
	struct capture c;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	begin(&b, SERVER_ID, sizeof(SERVER_ID), 20); /* list of 20: TL F1 04 */
	smlbuild_entry_octets(&b, KEY, key, sizeof(key)); /* 200 + 2 TL bytes: 8C 0A */
	for (uint8_t k = 1; k < 19; k++) {
		uint8_t o[6] = { 1, 0, 1, 8, k, 255 };
		smlbuild_entry_uint(&b, o, 30, 0, k, 2);
	}
	/* an integer with a needlessly long two-byte TL (E0 05 = Integer32 in 2 TL bytes) */
	smlbuild_list(&b, 7);
	smlbuild_octets(&b, V3270, 6);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_uint(&b, 35, 1);
	smlbuild_int(&b, -1, 1);
	smlbuild_tl(&b, 5, 3, 2);
	smlbuild_raw(&b, "\x00\x09\x24", 3);
	smlbuild_absent(&b);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
	decode(&c, f, n, NULL);
	assert_int_equal(c.nerrors, 0);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(json_object_object_length(json_object_object_get(
	                         json_object_array_get_idx(c.telegrams, 0), "values")), 20);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.18"), "18");
	assert_string_equal(capture_value_text(&c, 0, "1-0:32.7.0"), "234.0");
	const char *hex = capture_value_text(&c, 0, "129-129:199.130.5");
	assert_int_equal(strlen(hex), 2 + 400);
	assert_memory_equal(hex + 1, "000102", 6);
	capture_fini(&c);
}

static void negative_and_wide_integers(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		size_t width;
		int8_t scaler;
		bool is_signed;
		const char *want;
	} cases[] = {
		{ -1, 1, 0, true, "-1" },
		{ -32768, 2, -2, true, "-327.68" },
		{ -78851, 3, -2, true, "-788.51" },        /* DZG DWSB20 Integer24 */
		{ 147967771, 5, -1, true, "14796777.1" },  /* EMH 5-byte Integer */
		{ -549755813888, 5, 0, true, "-549755813888" },
		{ INT64_MIN, 8, 0, true, "-9223372036854775808" },
		{ INT64_MAX, 8, 0, true, "9223372036854775807" },
		{ -1, 8, 0, false, "18446744073709551615" }, /* Unsigned64 all ones */
		{ 29416461614, 8, -4, false, "2941646.1614" }, /* EasyMeter Q3A 64-bit, scaler -4 */
		{ 0x8b28, 2, -2, false, "356.24" },
		{ 2324, 2, 3, false, "2324000" },            /* PIN-locked Holley: kWh as Wh with scaler +3 */
		{ 0xFFFFFF, 3, 0, false, "16777215" },
		{ 0x7FFFFFFFFFFFFF, 7, 0, false, "36028797018963967" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t f[1024];
		struct smlbuild b;
		struct capture c;
		begin(&b, SERVER_ID, sizeof(SERVER_ID), 1);
		if (cases[i].is_signed)
			smlbuild_entry_int(&b, E280, 30, cases[i].scaler, cases[i].v, cases[i].width);
		else
			smlbuild_entry_uint(&b, E280, 30, cases[i].scaler, (uint64_t)cases[i].v, cases[i].width);
		size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
		decode(&c, f, n, NULL);
		assert_int_equal(capture_count(&c), 1);
		if (strcmp(capture_value_text(&c, 0, "1-0:2.8.0"), cases[i].want) != 0)
			fail_msg("case %zu: got %s want %s", i, capture_value_text(&c, 0, "1-0:2.8.0"), cases[i].want);
		capture_fini(&c);
	}
}

/* ---- checks ---- */

static void bad_file_crc_rejected_next_decodes(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct capture c;
	size_t n = smlbuild_sample(f, sizeof(f), 0x10, 100, 5);
	f[n - 1] ^= 0x40;
	size_t m = smlbuild_sample(f + n, sizeof(f) - n, 0x20, 200, 6);
	decode(&c, f, n + m, NULL);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "20.0");
	assert_int_equal(capture_errors(&c, SM_E_CRC), 1);
	assert_int_equal(c.nerrors, 1);
	assert_non_null(strstr(c.events[0].detail, "SML file CRC mismatch"));
	assert_null(strchr(c.events[0].detail, '\n'));
	assert_int_equal(c.events[0].framing, SM_FRAMING_SML);
	capture_fini(&c);

	/* CRC checking off: the same file is published, with a warning */
	struct sm_decoder_config cfg = { .dsmr_crc_optional = true };
	decode(&c, f, n, &cfg);
	assert_int_equal(capture_count(&c), 1);
	assert_int_equal(c.nerrors, 0);
	capture_fini(&c);
}

static void bad_message_crc_rejected(void **state)
{
	(void)state;
	uint8_t f[1024];
	struct smlbuild b;
	struct capture c;
	begin(&b, SERVER_ID, sizeof(SERVER_ID), 1);
	smlbuild_entry_uint(&b, E180, 30, 0, 7, 4);
	smlbuild_getlist_end(&b, SMLBUILD_BAD); /* the file CRC is right, the GetListResponse crc16 is not */
	smlbuild_close(&b, 0x102, SMLBUILD_X25);
	size_t n = smlbuild_file(&b, f, sizeof(f), SMLBUILD_X25);
	decode(&c, f, n, NULL);
	assert_int_equal(capture_count(&c), 0);
	assert_int_equal(capture_errors(&c, SM_E_CRC), 1);
	assert_non_null(strstr(c.events[0].detail, "GetListResponse crc16 mismatch"));
	capture_fini(&c);
}

static void kermit_variant_accepted(void **state)
{
	(void)state;
	uint8_t f[1024];
	struct smlbuild b;
	struct capture c;
	begin(&b, SERVER_ID, sizeof(SERVER_ID), 1);
	smlbuild_entry_uint(&b, E180, 30, -1, 107938987, 4);
	/* begin() sealed the OpenResponse with X.25; a Holley file is Kermit throughout */
	smlbuild_init(&b);
	smlbuild_msg_begin(&b, 1, 0x0101);
	smlbuild_list(&b, 6);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_octets(&b, "\x00\x00\x0a\x57", 4);
	smlbuild_octets(&b, SERVER_ID, sizeof(SERVER_ID));
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_msg_end(&b, SMLBUILD_KERMIT);
	smlbuild_getlist_begin(&b, 2, SERVER_ID, sizeof(SERVER_ID), 1);
	smlbuild_entry_uint(&b, E180, 30, -1, 107938987, 4);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_KERMIT);
	decode(&c, f, n, NULL);
	assert_int_equal(c.nerrors, 0);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "10793898.7");
	capture_fini(&c);
}

static void short_crc16_field_accepted(void **state)
{
	(void)state;
	for (uint32_t t = 0;; t++) {
		uint8_t f[1024];
		struct smlbuild b;
		struct capture c;
		assert_true(t < 5000);
		smlbuild_init(&b);
		b.short_crc = true;
		smlbuild_getlist_begin(&b, t, SERVER_ID, sizeof(SERVER_ID), 1);
		smlbuild_entry_uint(&b, E180, 30, 0, 5, 1);
		smlbuild_getlist_end(&b, SMLBUILD_X25);
		if (!b.used_short)
			continue;
		smlbuild_close(&b, t + 1, SMLBUILD_X25);
		size_t n = smlbuild_file(&b, f, sizeof(f), SMLBUILD_X25);
		decode(&c, f, n, NULL);
		assert_int_equal(c.nerrors, 0);
		assert_int_equal(capture_count(&c), 1);
		assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "5");
		capture_fini(&c);
		return;
	}
}

/* ---- cut files and false starts ---- */

static void cut_file_at_every_length(void **state)
{
	(void)state;
	uint8_t f[2048];
	size_t n = smlbuild_sample(f, sizeof(f), 0x30, 1, 2);
	for (size_t cut = 1; cut < n; cut++) {
		struct capture c;
		decode(&c, f, cut, NULL);
		assert_int_equal(capture_count(&c), 0);
		assert_true(c.nerrors <= 1);
		if (cut >= 24 && capture_errors(&c, SM_E_TRUNCATED) != 1)
			fail_msg("cut at %zu of %zu: %zu errors (%s)", cut, n, c.nerrors,
			         c.nevents ? c.events[0].detail : "-");
		capture_fini(&c);
	}
	/* a cut file followed by the next file: the next one is not lost */
	for (size_t cut = 9; cut < n; cut += 37) {
		uint8_t s[4096];
		struct capture c;
		memcpy(s, f, cut);
		size_t m = smlbuild_sample(s + cut, sizeof(s) - cut, 0x40, 77, 3);
		decode(&c, s, cut + m, NULL);
		assert_int_equal(capture_count(&c), 1);
		assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "7.7");
		assert_true(c.nerrors <= 1);
		capture_fini(&c);
	}
}

static void false_start_inside_binary_data(void **state)
{
	(void)state;
	/* (1) an unaligned start sequence inside an octet string is data */
	uint8_t f[4096];
	struct smlbuild b;
	struct capture c;
	uint8_t trap[15] = { 0x55, 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01, 0x76, 0x05, 0x1B, 0x1B, 0x1B, 0x1B };
	for (size_t shift = 0; shift < 4; shift++) {
		begin(&b, SERVER_ID, sizeof(SERVER_ID), 2);
		smlbuild_entry_octets(&b, KEY, "\x00\x00\x00", shift);
		smlbuild_entry_octets(&b, ID9610, trap, sizeof(trap));
		size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
		decode(&c, f, n, NULL);
		assert_int_equal(c.nerrors, 0);
		assert_int_equal(capture_count(&c), 1);
		assert_string_equal(capture_value_text(&c, 0, "1-0:96.1.0"), "\"551b1b1b1b01010101760" "51b1b1b1b\"");
		capture_fini(&c);
	}
	/* (2) start sequences in noise, one with a plausible message head, before a good file */
	size_t o = 0;
	static const uint8_t noise[] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01, 0x42, 0x1B, 0x1B, 0x1B, 0x1B,
		                         0x01, 0x01, 0x01, 0x01, 0x76, 0x05, 0x01, 0x02, 0x03, 0x04, 0x62, 0x00,
		                         0x62, 0x00, 0x72, 0x63, 0x07, 0x01, 0x99, 0x1B, 0x1B, 0x1B };
	memcpy(f, noise, sizeof(noise));
	o = sizeof(noise);
	o += smlbuild_sample(f + o, sizeof(f) - o, 0x50, 99, 4);
	decode(&c, f, o, NULL);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "9.9");
	assert_int_equal(capture_errors(&c, SM_E_TRUNCATED), 1); /* the plausible one */
	capture_fini(&c);
}

/* ---- dialects ---- */

static void dzg_power_sign_rule_by_serial(void **state)
{
	(void)state;
	static const struct {
		uint32_t serial;
		int64_t raw;
		size_t width;
		const char *want;
	} cases[] = {
		{ 42082910, -29912, 2, "356.24" },  /* DVS-7412 with the bug: 0x8b28 is unsigned */
		{ 55000000, -29912, 2, "356.24" },
		{ 60694611, -29912, 2, "-299.12" }, /* DVS-7420: genuine negative */
		{ 41999999, -29912, 2, "-299.12" },
		{ 42082910, -29912, 4, "-299.12" }, /* the buggy meters' negatives use 4 bytes */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t sid[10] = { 0x0A, 0x01, 'D', 'Z', 'G', 0x00, (uint8_t)(cases[i].serial >> 24),
			            (uint8_t)(cases[i].serial >> 16), (uint8_t)(cases[i].serial >> 8), (uint8_t)cases[i].serial };
		uint8_t f[1024];
		struct smlbuild b;
		struct capture c;
		begin(&b, sid, sizeof(sid), 2);
		smlbuild_entry_int(&b, P1670, 27, -2, cases[i].raw, cases[i].width);
		smlbuild_entry_int(&b, V3270, 35, -2, cases[i].raw, cases[i].width); /* never another code */
		size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
		decode(&c, f, n, NULL);
		assert_int_equal(capture_count(&c), 1);
		if (strcmp(capture_value_text(&c, 0, "1-0:16.7.0"), cases[i].want) != 0)
			fail_msg("serial %u: got %s want %s", cases[i].serial, capture_value_text(&c, 0, "1-0:16.7.0"),
			         cases[i].want);
		assert_string_equal(capture_value_text(&c, 0, "1-0:32.7.0"), "-299.12");
		capture_fini(&c);
	}
	/* the serial read from the 1-0:96.1.0 entry (as libsml does) when the messages' serverId says nothing */
	static const uint8_t zeros[10] = { 0 };
	static const uint8_t buggy[10] = { 0x0A, 0x01, 'D', 'Z', 'G', 0x00, 0x02, 0x82, 0x22, 0x5E };
	uint8_t f[1024];
	struct smlbuild b;
	struct capture c;
	begin(&b, zeros, sizeof(zeros), 2);
	smlbuild_entry_octets(&b, ID9610, buggy, sizeof(buggy));
	smlbuild_entry_int(&b, P1670, 27, -2, -29912, 2);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
	decode(&c, f, n, NULL);
	assert_string_equal(capture_value_text(&c, 0, "1-0:16.7.0"), "356.24");
	capture_fini(&c);
}

static void optional_parts_absent_and_unknown_messages(void **state)
{
	(void)state;
	uint8_t f[1024];
	struct smlbuild b;
	struct capture c;
	smlbuild_init(&b);
	/* an unknown message first (AttentionResponse-like tag FF01), then a GetListResponse without OpenResponse */
	smlbuild_msg_begin(&b, 7, 0xFF01);
	smlbuild_list(&b, 3);
	smlbuild_octets(&b, "\x01\x02", 2);
	smlbuild_list(&b, 1);
	smlbuild_bool(&b, true);
	smlbuild_absent(&b);
	smlbuild_msg_end(&b, SMLBUILD_X25);
	smlbuild_getlist_begin(&b, 8, SERVER_ID, sizeof(SERVER_ID), 2);
	/* entry with status, unit and scaler all absent: a bare number */
	smlbuild_list(&b, 7);
	smlbuild_octets(&b, E180, 6);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_uint(&b, 12, 1);
	smlbuild_absent(&b);
	/* entry with a status word (Unsigned24), a valTime list and a boolean value */
	smlbuild_list(&b, 7);
	smlbuild_octets(&b, "\x01\x00\x60\x05\x00\xff", 6);
	smlbuild_uint(&b, 0x1c0104, 3);
	smlbuild_list(&b, 2);
	smlbuild_uint(&b, 1, 1);
	smlbuild_uint(&b, 123456, 4);
	smlbuild_absent(&b);
	smlbuild_absent(&b);
	smlbuild_bool(&b, true);
	smlbuild_absent(&b);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
	decode(&c, f, n, NULL);
	assert_int_equal(c.nerrors, 0);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "12");
	json_object *u;
	assert_false(json_object_object_get_ex(capture_value(&c, 0, "1-0:1.8.0"), "unit", &u));
	assert_string_equal(capture_value_text(&c, 0, "1-0:96.5.0"), "true");
	/* no server id entry: the meter id is the GetListResponse serverId */
	assert_string_equal(capture_field_text(&c, 0, "meter_id"), "\"0a01454d480000a1bd34\"");
	capture_fini(&c);
}

static void malformed_list_rejected_next_decodes(void **state)
{
	(void)state;
	uint8_t f[2048];
	struct smlbuild b;
	struct capture c;
	begin(&b, SERVER_ID, sizeof(SERVER_ID), 3); /* says 3 entries, holds 1 */
	smlbuild_entry_uint(&b, E180, 30, 0, 1, 1);
	size_t n = finish(&b, f, sizeof(f), SMLBUILD_X25);
	size_t m = smlbuild_sample(f + n, sizeof(f) - n, 0x60, 55, 1);
	decode(&c, f, n + m, NULL);
	assert_int_equal(capture_count(&c), 1);
	assert_string_equal(capture_value_text(&c, 0, "1-0:1.8.0"), "5.5");
	assert_int_equal(capture_errors(&c, SM_E_SYNTAX), 1);
	assert_non_null(strstr(c.events[0].detail, "SML file malformed"));
	capture_fini(&c);
}

/* ---- hostile input ---- */

/* Mutated files (bytes replaced, deleted, flipped, start/end/escape sequences inserted, cut) in random
 * chunks: none crashes or is published with made-up values, and the good file after each is decoded. */
static void mutated_files_never_poison_the_next(void **state)
{
	(void)state;
	static const uint8_t seqs[][8] = { { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01 },
		                           { 0x1B, 0x1B, 0x1B, 0x1B, 0x1A, 0x01, 0x00, 0x00 },
		                           { 0x1B, 0x1B, 0x1B, 0x1B, 0x1B, 0x1B, 0x1B, 0x1B } };
	uint8_t good[1024], mut[1100];
	size_t gn = smlbuild_sample(good, sizeof(good), 0x7000, 4242, 17);
	struct capture c;
	capture_init(&c, NULL);
	for (int round = 0; round < 2000; round++) {
		memcpy(mut, good, gn);
		size_t m = gn;
		int edits = 1 + (int)(next() % 3);
		for (int e = 0; e < edits && m > 8; e++) {
			size_t pos = next() % m;
			switch (next() % 5) {
			case 0: mut[pos] = (uint8_t)next(); break;
			case 1: memmove(mut + pos, mut + pos + 1, m - pos - 1); m--; break;
			case 2: mut[pos] ^= (uint8_t)(1u << (next() % 8)); break;
			case 3: m = pos + 1; break;
			case 4:
				if (m + 8 <= sizeof(mut)) {
					memmove(mut + pos + 8, mut + pos, m - pos);
					memcpy(mut + pos, seqs[next() % 3], 8);
					m += 8;
				}
				break;
			}
		}
		capture_feed(&c, mut, m, 1 + next() % 64, (next() % 4) == 0);
		size_t before = capture_count(&c);
		capture_feed(&c, good, gn, 1 + next() % 64, 0);
		if (capture_count(&c) <= before)
			fail_msg("round %d: the good file after a mutated one was not decoded", round);
		assert_string_equal(capture_value_text(&c, capture_count(&c) - 1, "1-0:1.8.0"), "424.2");
		/* a published mutation passed every CRC: it still has to look like the good file */
		for (size_t i = before > 0 ? before - 1 : 0; i < capture_count(&c); i++)
			assert_string_equal(capture_field_text(&c, i, "protocol"), "\"sml\"");
		json_object_put(c.telegrams); /* keep memory flat over the rounds */
		c.telegrams = json_object_new_array();
		c.nevents = 0;
	}
	capture_fini(&c);
}

/* ---- the mixed stream ---- */

static const char DSMR_BODY[] = "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.1.1(4530303334303036)\r\n"
                                "1-0:1.8.1(000123.456*kWh)\r\n1-0:1.7.0(01.193*kW)\r\n!";

struct expect {
	const char *protocol;
	const char *key;
	const char *value;
};

static size_t add(uint8_t *s, size_t o, const void *p, size_t n)
{
	memcpy(s + o, p, n);
	return o + n;
}

static size_t hdlc_with(uint8_t *out, size_t cap, uint32_t invoke, const uint8_t *payload, size_t n)
{
	uint8_t body[512], apdu[600], info[700];
	body[0] = 0x09;
	body[1] = (uint8_t)n;
	memcpy(body + 2, payload, n);
	size_t an = dlmsbuild_notification(apdu, sizeof(apdu), invoke, body, n + 2);
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	return dlmsbuild_hdlc_frame(out, cap, &dlmsbuild_hdlc_aidon, false, info, an + 3);
}

static void mixed_stream_every_good_frame_once(void **state)
{
	(void)state;
	static uint8_t s[32768];
	struct expect want[32];
	size_t nw = 0, o = 0, dn;
	char *dsmr = dsmr_with_crc(DSMR_BODY, &dn);
	uint8_t tmp[4096];
	static const uint8_t starts[] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01, 0x76, 0x05, 0, 0, 0, 1, 0x62,
		                          0x00, 0x62, 0x00, 0x72, 0x63, 0x01, 0x01, 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01,
		                          0x01 };
	uint8_t payload[64];

	o = add(s, o, dsmr, dn);
	want[nw++] = (struct expect){ "\"dsmr\"", "1-0:1.8.1", "123.456" };
	o += smlbuild_sample(s + o, sizeof(s) - o, 0x100, 10, 1);
	want[nw++] = (struct expect){ "\"sml\"", "1-0:1.8.0", "1.0" };
	/* an HDLC frame whose payload holds an SML start sequence and a whole file's head */
	memcpy(payload, starts, sizeof(starts));
	memset(payload + sizeof(starts), 0x1B, sizeof(payload) - sizeof(starts));
	o += hdlc_with(s + o, sizeof(s) - o, 1, payload, sizeof(payload));
	want[nw++] = (struct expect){ "\"dlms\"", NULL, NULL };
	/* noise holding start sequences */
	for (int k = 0; k < 300; k++)
		s[o++] = (uint8_t)(k % 7 == 0 ? 0x1B : next());
	o = add(s, o, starts, sizeof(starts));
	o = add(s, o, starts, 8);
	/* a damaged file (one byte flipped in the middle) */
	size_t m = smlbuild_sample(tmp, sizeof(tmp), 0x200, 20, 2);
	tmp[m / 2] ^= 0x10;
	o = add(s, o, tmp, m);
	o = add(s, o, dsmr, dn);
	want[nw++] = (struct expect){ "\"dsmr\"", "1-0:1.8.1", "123.456" };
	/* a file with a lost byte (its end unaligned) */
	m = smlbuild_sample(tmp, sizeof(tmp), 0x300, 30, 3);
	memmove(tmp + 100, tmp + 101, m - 101);
	o = add(s, o, tmp, m - 1);
	o += smlbuild_sample(s + o, sizeof(s) - o, 0x400, 40, 4);
	want[nw++] = (struct expect){ "\"sml\"", "1-0:1.8.0", "4.0" };
	/* a cut file directly followed by a DSMR telegram */
	m = smlbuild_sample(tmp, sizeof(tmp), 0x500, 50, 5);
	o = add(s, o, tmp, m / 2);
	o = add(s, o, dsmr, dn);
	want[nw++] = (struct expect){ "\"dsmr\"", "1-0:1.8.1", "123.456" };
	/* a cut file directly followed by a file at another alignment */
	o = add(s, o, tmp, m / 3 + 1);
	o += smlbuild_sample(s + o, sizeof(s) - o, 0x600, 60, 6);
	want[nw++] = (struct expect){ "\"sml\"", "1-0:1.8.0", "6.0" };
	o += hdlc_with(s + o, sizeof(s) - o, 2, payload, 20);
	want[nw++] = (struct expect){ "\"dlms\"", NULL, NULL };
	o += smlbuild_sample(s + o, sizeof(s) - o, 0x700, 70, 7);
	want[nw++] = (struct expect){ "\"sml\"", "1-0:1.8.0", "7.0" };
	free(dsmr);

	static const size_t chunks[] = { 0, 1, 7, 64, 333 };
	for (size_t ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++) {
		struct capture c;
		capture_init(&c, NULL);
		capture_feed(&c, s, o, chunks[ci], 1);
		if (capture_count(&c) != nw) {
			for (size_t i = 0; i < c.nevents; i++)
				print_message("event %d %s @%llu: %s\n", c.events[i].level, sm_framing_name(c.events[i].framing),
				              c.events[i].offset, c.events[i].detail);
			fail_msg("chunk %zu: %zu telegrams, want %zu", chunks[ci], capture_count(&c), nw);
		}
		for (size_t i = 0; i < nw; i++) {
			assert_string_equal(capture_field_text(&c, i, "protocol"), want[i].protocol);
			if (want[i].key)
				assert_string_equal(capture_value_text(&c, i, want[i].key), want[i].value);
		}
		assert_true(capture_errors(&c, SM_E_CRC) >= 2);
		assert_true(capture_errors(&c, SM_E_TRUNCATED) >= 2);
		capture_fini(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_variants_check_values),
		cmocka_unit_test(typical_file_decodes),
		cmocka_unit_test(escaped_sequence_in_data_is_undone),
		cmocka_unit_test(fill_bytes_zero_to_three),
		cmocka_unit_test(multi_byte_tl),
		cmocka_unit_test(negative_and_wide_integers),
		cmocka_unit_test(bad_file_crc_rejected_next_decodes),
		cmocka_unit_test(bad_message_crc_rejected),
		cmocka_unit_test(kermit_variant_accepted),
		cmocka_unit_test(short_crc16_field_accepted),
		cmocka_unit_test(cut_file_at_every_length),
		cmocka_unit_test(false_start_inside_binary_data),
		cmocka_unit_test(dzg_power_sign_rule_by_serial),
		cmocka_unit_test(optional_parts_absent_and_unknown_messages),
		cmocka_unit_test(malformed_list_rejected_next_decodes),
		cmocka_unit_test(mutated_files_never_poison_the_next),
		cmocka_unit_test(mixed_stream_every_good_frame_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
