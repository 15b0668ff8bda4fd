/* test_c1218.c — the ANSI C12.18 link layer, services and C12.19 table decoding (c1218.c, c1219.c) and the
 * session state machine (c1218_session.c): the published Identify/Negotiate exchange of a real meter, the
 * BT23/BT28 bytes of a real NES 83334, CRC-16/X-25, toggle bit and duplicates, multi-packet reassembly,
 * every malformed length; then whole sessions against a small meter written here (wrong password, isc,
 * bsy, lost ACK, damaged packets, silence, BT28 in several reads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "smartmeter/c1218.h"

#define HEX(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void assert_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn)
{
	if (n != wn || memcmp(got, want, n)) {
		char a[512] = "", b[512] = "";
		for (size_t i = 0; i < n && i < 160; i++)
			snprintf(a + strlen(a), sizeof(a) - strlen(a), "%02X ", got[i]);
		for (size_t i = 0; i < wn && i < 160; i++)
			snprintf(b + strlen(b), sizeof(b) - strlen(b), "%02X ", want[i]);
		fail_msg("bytes differ\n got  %s\n want %s", a, b);
	}
}

/* ---- golden vectors ---- */

static const uint8_t bt23_answer[] = { 0xEE, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x08, 0x74,
	                               0x40, 0x05, 0x00, 0x9F, 0x1D, 0x00, 0x00, 0x8B, 0xFD, 0x4C };
/* 40 bytes of BT28 from a real NES 83334 (little-endian INT32). */
static const uint8_t bt28_nes[40] = { 0x96, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x39, 0x02,
	                              0x00, 0x00, 0xf8, 0x0c, 0x00, 0x00, 0xdc, 0x0c, 0x00, 0x00, 0x90, 0x19, 0x00, 0x00,
	                              0x27, 0x70, 0x03, 0x00, 0xef, 0x6f, 0x03, 0x00, 0x76, 0x70, 0x03, 0x00 };

static void test_crc_check_value(void **state)
{
	(void)state;
	assert_int_equal(sm_crc16_x25((const uint8_t *)"123456789", 9), 0x906E);
}

static void test_identify_golden(void **state)
{
	(void)state;
	uint8_t req[SM_C1218_MAX_REQUEST], pkt[64];
	size_t n = sm_c1218_packet_build(0, 0, req, sm_c1218_req_identify(req), pkt, sizeof(pkt));
	assert_bytes(pkt, n, HEX(0xEE, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x13, 0x10));

	static const uint8_t ans[] = { 0xEE, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0xC6, 0xB5 };
	struct sm_c1218_packet p;
	assert_int_equal(sm_c1218_scan(ans, sizeof(ans), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	assert_int_equal(p.size, sizeof(ans));
	struct sm_c1218_identity id;
	assert_int_equal(sm_c1218_parse_identify(p.data, p.len, &id), SM_OK);
	assert_int_equal(id.standard, 0);
	assert_int_equal(id.version, 1);
	assert_int_equal(id.revision, 0);
}

static void test_negotiate_golden(void **state)
{
	(void)state;
	uint8_t req[SM_C1218_MAX_REQUEST], pkt[64];
	size_t n = sm_c1218_packet_build(SM_C1218_CTRL_TOGGLE, 0, req, sm_c1218_req_negotiate(req, 1024, 128, 6), pkt,
	                                 sizeof(pkt));
	assert_bytes(pkt, n, HEX(0xEE, 0x00, 0x20, 0x00, 0x00, 0x05, 0x61, 0x04, 0x00, 0x80, 0x06, 0xC2, 0x29));

	static const uint8_t ans[] = { 0xEE, 0x00, 0x20, 0x00, 0x00, 0x05, 0x00, 0x04, 0x00, 0x80, 0x06, 0x35, 0x83 };
	struct sm_c1218_packet p;
	assert_int_equal(sm_c1218_scan(ans, sizeof(ans), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	assert_int_equal(p.ctrl & SM_C1218_CTRL_TOGGLE, SM_C1218_CTRL_TOGGLE);
	uint16_t ps;
	uint8_t np;
	assert_int_equal(sm_c1218_parse_negotiate(p.data, p.len, &ps, &np), SM_OK);
	assert_int_equal(ps, 1024);
	assert_int_equal(np, 128);
}

/* The session sends exactly the published bytes and answers the meter's with ACK + the next request. */
static void test_session_golden_exchange(void **state)
{
	(void)state;
	static struct sm_c1218_session s;
	struct sm_c1218_session_config cfg = { .packet_size = 1024, .npackets = 128 };
	struct sm_c1218_step st;
	sm_c1218_session_init(&s, &cfg);
	sm_c1218_session_start(&s, 1000, &st);
	assert_bytes(st.tx, st.tx_len, HEX(0xEE, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x13, 0x10));
	assert_int_equal(st.wake_ms, 1000 + SM_C1218_ACK_TIMEOUT_MS);
	sm_c1218_session_input(&s, 1100, HEX(0x06, 0xEE, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0xC6, 0xB5), &st);
	assert_bytes(st.tx, st.tx_len, HEX(0x06, 0xEE, 0x00, 0x20, 0x00, 0x00, 0x05, 0x61, 0x04, 0x00, 0x80, 0x06, 0xC2, 0x29));
	assert_int_equal(st.outcome, SM_C1218_RUNNING);
	sm_c1218_session_input(&s, 1200, HEX(0x06, 0xEE, 0x00, 0x20, 0x00, 0x00, 0x05, 0x00, 0x04, 0x00, 0x80, 0x06, 0x35, 0x83), &st);
	assert_int_equal(s.packet_size, 1024);
	assert_int_equal(s.npackets, 128);
	assert_int_equal(s.phase, SM_C1218_PH_LOGON);
	assert_true(st.tx_len > 1 && st.tx[0] == SM_C1218_ACK && st.tx[1] == SM_C1218_STP);
	assert_int_equal(st.tx[3] & SM_C1218_CTRL_TOGGLE, 0); /* third packet: toggle back to 0 */
	assert_int_equal(st.tx[7], SM_C1218_SVC_LOGON);
}

static const struct sm_c1219_config nes_cfg = {
	.ni_format1 = 8, .ni_format2 = 8, .serial = "5700123456", .manufacturer = "EE", .model = "83334",
	.nbr_summations = 2, .nbr_present_values = 10,
};

static const struct sm_reading *find(const struct sm_telegram *t, uint8_t c, uint8_t d)
{
	const uint8_t o[6] = { 1, 0, c, d, 0, 255 };
	return sm_telegram_find(t, o);
}

static void assert_value(const struct sm_telegram *t, uint8_t c, uint8_t d, const char *text, const char *unit)
{
	const struct sm_reading *r = find(t, c, d);
	char buf[SM_NUMBER_STRLEN];
	if (!r)
		fail_msg("1-0:%u.%u.0 missing", c, d);
	assert_int_equal(r->value.type, SM_VALUE_NUMBER);
	sm_number_format(&r->value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, text);
	assert_string_equal(r->value.unit, unit);
}

static void test_bt23_answer_golden(void **state)
{
	(void)state;
	struct sm_c1218_packet p;
	const uint8_t *data;
	size_t count;
	static struct sm_c1219_telegram t;
	assert_int_equal(sm_c1218_scan(bt23_answer, sizeof(bt23_answer), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	assert_int_equal(sm_c1218_parse_read(p.data, p.len, &data, &count), SM_OK);
	assert_int_equal(count, 8);
	uint32_t off;
	size_t want;
	assert_int_equal(sm_c1219_bt23_span(&nes_cfg, &off, &want), SM_OK);
	assert_int_equal(off, 0);
	assert_int_equal(want, 8);
	/* BT28 not read in this exchange: the config says 10 present values, so they must be there. */
	assert_int_equal(sm_c1219_telegram_build(&t, &nes_cfg, data, count, NULL, 0), SM_E_TRUNCATED);
	struct sm_c1219_config only23 = nes_cfg;
	only23.nbr_present_values = 0;
	assert_int_equal(sm_c1219_telegram_build(&t, &only23, data, count, NULL, 0), SM_OK);
	assert_value(&t.tg, 1, 8, "344180", "Wh");
	assert_value(&t.tg, 2, 8, "7583", "Wh");
	assert_int_equal(t.tg.protocol, SM_PROTOCOL_C1218);
	assert_string_equal(t.tg.meter_id, "5700123456");
	assert_string_equal(t.tg.header, "EE 83334");
}

static void test_bt28_nes_golden(void **state)
{
	(void)state;
	static struct sm_c1219_telegram t;
	static const uint8_t bt23[8] = { 0x74, 0x40, 0x05, 0x00, 0x9F, 0x1D, 0x00, 0x00 };
	assert_int_equal(sm_c1219_telegram_build(&t, &nes_cfg, bt23, 8, bt28_nes, sizeof(bt28_nes)), SM_OK);
	assert_value(&t.tg, 1, 7, "2710", "W");
	assert_value(&t.tg, 2, 7, "0", "W");
	assert_value(&t.tg, 3, 7, "0", "var");
	assert_value(&t.tg, 4, 7, "569", "var");
	assert_value(&t.tg, 31, 7, "3.320", "A");
	assert_value(&t.tg, 51, 7, "3.292", "A");
	assert_value(&t.tg, 71, 7, "6.544", "A");
	assert_value(&t.tg, 32, 7, "225.319", "V");
	assert_value(&t.tg, 52, 7, "225.263", "V");
	assert_value(&t.tg, 72, 7, "225.398", "V");
	assert_int_equal(t.tg.nreadings, 12);
}

/* Indices past 9: 11 frequency (mHz), 12 apparent power; 10 (a power factor, scale unknown) by position. */
static void test_bt28_frequency_apparent_and_raw(void **state)
{
	(void)state;
	static struct sm_c1219_telegram t;
	struct sm_c1219_config c = nes_cfg;
	uint8_t b[13 * 4] = { 0 };
	memcpy(b, bt28_nes, 40);
	b[40] = 0xE7, b[41] = 0x03;                /* 10: 999 */
	b[44] = 0x4E, b[45] = 0xC3;                /* 11: 49998 mHz */
	b[48] = 0xA4, b[49] = 0x0B;                /* 12: 2980 VA */
	c.nbr_summations = 0;
	c.nbr_present_values = 13;
	assert_int_equal(sm_c1219_telegram_build(&t, &c, NULL, 0, b, sizeof(b)), SM_OK);
	assert_value(&t.tg, 14, 7, "49.998", "Hz");
	assert_value(&t.tg, 9, 7, "2980", "VA");
	bool raw10 = false;
	for (size_t i = 0; i < t.tg.nreadings; i++)
		if (!t.tg.readings[i].has_obis && t.tg.readings[i].position == 10) {
			raw10 = t.tg.readings[i].value.u.num.mag == 999 && t.tg.readings[i].value.unit == NULL;
		}
	assert_true(raw10);
}

static void test_ni_formats(void **state)
{
	(void)state;
	struct sm_number n;
	assert_int_equal(sm_c1219_ni_decode(8, false, HEX(0xFF, 0xFF, 0xFF, 0xFF), &n), SM_OK);
	assert_true(n.neg && n.mag == 1);
	assert_int_equal(sm_c1219_ni_decode(8, true, HEX(0x00, 0x05, 0x40, 0x74), &n), SM_OK);
	assert_true(!n.neg && n.mag == 344180);
	assert_int_equal(sm_c1219_ni_decode(7, false, HEX(0x00, 0x00, 0x80), &n), SM_OK);
	assert_true(n.neg && n.mag == 0x800000);
	assert_int_equal(sm_c1219_ni_decode(11, false, HEX(0, 0, 0, 0, 0, 0, 0, 0x80), &n), SM_OK);
	assert_true(n.neg && n.mag == UINT64_C(1) << 63);
	assert_int_equal(sm_c1219_ni_decode(6, true, HEX(0x00, 0x12, 0x34, 0x56), &n), SM_OK);
	assert_true(n.mag == 123456);
	assert_int_equal(sm_c1219_ni_decode(6, true, HEX(0x00, 0x12, 0x3A, 0x56), &n), SM_E_SYNTAX);
	assert_int_equal(sm_c1219_ni_decode(1, false, HEX(0, 0, 0, 0), &n), SM_E_UNSUPPORTED); /* FLOAT32 */
	assert_int_equal(sm_c1219_ni_decode(8, false, HEX(1, 2, 3), &n), SM_E_TRUNCATED);
}

static void test_config_tables(void **state)
{
	(void)state;
	struct sm_c1219_config c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sm_c1219_decode_st0(HEX(0x02, 0x00, 0x88, 'E', 'E', ' ', ' '), &c), SM_OK);
	assert_false(c.big_endian);
	assert_int_equal(c.char_format, 1);
	assert_int_equal(c.ni_format1, 8);
	assert_int_equal(c.ni_format2, 8);
	assert_string_equal(c.device_class, "EE");
	assert_int_equal(sm_c1219_decode_st0(HEX(0x02, 0x00), &c), SM_E_TRUNCATED);

	uint8_t st1[32];
	memcpy(st1, "EE  83334-3I", 12);
	st1[12] = 1, st1[13] = 2, st1[14] = 3, st1[15] = 4;
	memcpy(st1 + 16, "      5712345678", 16);
	assert_int_equal(sm_c1219_decode_st1(st1, sizeof(st1), &c), SM_OK);
	assert_string_equal(c.manufacturer, "EE");
	assert_string_equal(c.model, "83334-3I");
	assert_string_equal(c.serial, "5712345678");
	assert_int_equal(c.fw_version, 3);
	assert_int_equal(sm_c1219_decode_st1(st1, 31, &c), SM_E_TRUNCATED);
	/* ID_FORM set in ST0: the serial number is BCD */
	struct sm_c1219_config b = c;
	assert_int_equal(sm_c1219_decode_st0(HEX(0x00, 0x20, 0x88), &b), SM_OK);
	assert_true(b.id_bcd);
	uint8_t st1b[32];
	memcpy(st1b, st1, 16);
	memcpy(st1b + 16, "\x00\x00\x00\x57\x06\x56\x70\x01", 8);
	assert_int_equal(sm_c1219_decode_st1(st1b, sizeof(st1b), &b), SM_OK);
	assert_string_equal(b.serial, "0000005706567001");
	st1b[20] = 0x5A;
	assert_int_equal(sm_c1219_decode_st1(st1b, sizeof(st1b), &b), SM_E_SYNTAX);
	st1[20] = 0x1B; /* a control byte never reaches a topic */
	assert_int_equal(sm_c1219_decode_st1(st1, sizeof(st1), &c), SM_OK);
	assert_null(strchr(c.serial, 0x1B));

	assert_int_equal(sm_c1219_decode_st21(HEX(0x44, 0, 0, 4, 1, 0, 0, 0, 2, 20), &c), SM_OK);
	assert_int_equal(c.nbr_summations, 4);
	assert_int_equal(c.nbr_present_demands, 2);
	assert_int_equal(c.nbr_present_values, 20);
	assert_int_equal(sm_c1219_decode_st21(HEX(0x44, 0, 0, 4, 1, 0, 0, 0, 2), &c), SM_E_TRUNCATED);
	uint32_t off;
	size_t n;
	assert_int_equal(sm_c1219_bt23_span(&c, &off, &n), SM_OK);
	assert_int_equal(n, 1 + 4 * 4); /* demand-reset counter flagged (bit 2) */
	assert_int_equal(sm_c1219_bt28_span(&c, &off, &n), SM_OK);
	assert_int_equal(off, 2 * (3 + 4)); /* time remaining flagged (bit 6) */
	assert_int_equal(n, 20 * 4);
	c.ni_format1 = 0; /* FLOAT64 */
	assert_int_equal(sm_c1219_bt23_span(&c, &off, &n), SM_E_UNSUPPORTED);
}

/* ---- link layer ---- */

static void test_toggle_and_duplicate(void **state)
{
	(void)state;
	static struct sm_c1218_rx rx;
	uint8_t a[32], b[32];
	struct sm_c1218_packet p, q;
	size_t na = sm_c1218_packet_build(0, 0, HEX(0x00, 0x01), a, sizeof(a));
	size_t nb = sm_c1218_packet_build(SM_C1218_CTRL_TOGGLE, 0, HEX(0x00, 0x01), b, sizeof(b));
	sm_c1218_rx_reset(&rx);
	assert_int_equal(sm_c1218_scan(a, na, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	assert_int_equal(sm_c1218_rx_add(&rx, &p), SM_C1218_RX_MESSAGE);
	assert_int_equal(sm_c1218_rx_add(&rx, &p), SM_C1218_RX_DUPLICATE); /* resent: same toggle, same CRC */
	/* Same data, toggle flipped: a new packet (the meter answered the same thing twice). */
	assert_int_equal(sm_c1218_scan(b, nb, SM_C1218_MAX_DATA, &q), SM_C1218_SCAN_PACKET);
	assert_int_equal(sm_c1218_rx_add(&rx, &q), SM_C1218_RX_MESSAGE);
	assert_int_equal(sm_c1218_rx_add(&rx, &p), SM_C1218_RX_MESSAGE);
}

static void test_multi_packet_reassembly(void **state)
{
	(void)state;
	static struct sm_c1218_rx rx;
	uint8_t w[3][64];
	size_t n[3];
	struct sm_c1218_packet p[3];
	n[0] = sm_c1218_packet_build(0xC0, 2, HEX(0x00, 0x00, 0x05, 0x11), w[0], 64);
	n[1] = sm_c1218_packet_build(0xA0, 1, HEX(0x22, 0x33), w[1], 64);
	n[2] = sm_c1218_packet_build(0x80, 0, HEX(0x44, 0x55, 0x01), w[2], 64);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sm_c1218_scan(w[i], n[i], SM_C1218_MAX_DATA, &p[i]), SM_C1218_SCAN_PACKET);
	sm_c1218_rx_reset(&rx);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[0]), SM_C1218_RX_PART);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[1]), SM_C1218_RX_PART);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[1]), SM_C1218_RX_DUPLICATE);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[2]), SM_C1218_RX_MESSAGE);
	assert_bytes(rx.msg, rx.len, HEX(0x00, 0x00, 0x05, 0x11, 0x22, 0x33, 0x44, 0x55, 0x01));
	const uint8_t *d;
	size_t c;
	assert_int_equal(sm_c1218_parse_read(rx.msg, rx.len, &d, &c), SM_OK);
	assert_int_equal(c, 5);

	/* Part lost mid-message: what was gathered is dropped, never glued. */
	sm_c1218_rx_reset(&rx);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[0]), SM_C1218_RX_PART);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[2]), SM_C1218_RX_SEQUENCE);
	assert_int_equal(rx.len, 0);
	/* A continuation without its first packet. */
	sm_c1218_rx_reset(&rx);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[1]), SM_C1218_RX_SEQUENCE);
	/* A new single packet while a multi-packet answer was open: the sender started over. */
	sm_c1218_rx_reset(&rx);
	assert_int_equal(sm_c1218_rx_add(&rx, &p[0]), SM_C1218_RX_PART);
	uint8_t one[32];
	struct sm_c1218_packet o;
	size_t no = sm_c1218_packet_build(0x20, 0, HEX(0x06), one, sizeof(one));
	assert_int_equal(sm_c1218_scan(one, no, SM_C1218_MAX_DATA, &o), SM_C1218_SCAN_PACKET);
	assert_int_equal(sm_c1218_rx_add(&rx, &o), SM_C1218_RX_MESSAGE);
	assert_bytes(rx.msg, rx.len, HEX(0x06));
}

static void test_message_longer_than_cap(void **state)
{
	(void)state;
	static struct sm_c1218_rx rx;
	static uint8_t data[SM_C1218_MAX_DATA], w[SM_C1218_MAX_PACKET];
	struct sm_c1218_packet p;
	sm_c1218_rx_reset(&rx);
	enum sm_c1218_rx_result r = SM_C1218_RX_PART;
	for (unsigned i = 0; i < 3 && r == SM_C1218_RX_PART; i++) {
		data[0] = (uint8_t)i; /* distinct CRCs */
		size_t n = sm_c1218_packet_build((uint8_t)(0x80 | (i == 0 ? 0x40 : 0) | (i & 1 ? 0x20 : 0)), (uint8_t)(2 - i), data,
		                                 sizeof(data), w, sizeof(w));
		assert_int_equal(sm_c1218_scan(w, n, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
		r = sm_c1218_rx_add(&rx, &p);
	}
	assert_int_equal(r, SM_C1218_RX_SEQUENCE);
	assert_int_equal(rx.len, 0);
}

static void test_malformed_lengths(void **state)
{
	(void)state;
	struct sm_c1218_packet p;
	uint8_t w[64];
	size_t n = sm_c1218_packet_build(0, 0, HEX(0x00, 0x01, 0x02), w, sizeof(w));
	/* truncated at every length: need more, never a packet */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sm_c1218_scan(w, i, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_MORE);
	assert_int_equal(sm_c1218_scan(w, n, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	/* length above what we accept: the EE was a false start */
	assert_int_equal(sm_c1218_scan(HEX(0xEE, 0x00, 0x00, 0x00, 0x04, 0x00), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_NOT_START);
	assert_int_equal(sm_c1218_scan(w, n, 2, &p), SM_C1218_SCAN_NOT_START);
	assert_int_equal(sm_c1218_scan(HEX(0xEE, 0xFF), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_NOT_START);
	assert_int_equal(sm_c1218_scan(HEX(0x06), SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_NOT_START);
	/* damaged: a NAK and the whole packet dropped */
	w[7] ^= 1;
	assert_int_equal(sm_c1218_scan(w, n, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_BAD_CRC);
	assert_int_equal(p.size, n);
	w[7] ^= 1;
	w[n - 1] ^= 0x80; /* CRC high byte */
	assert_int_equal(sm_c1218_scan(w, n, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_BAD_CRC);
	/* zero-length packet is legal framing */
	n = sm_c1218_packet_build(0, 0, NULL, 0, w, sizeof(w));
	assert_int_equal(n, 8);
	assert_int_equal(sm_c1218_scan(w, n, SM_C1218_MAX_DATA, &p), SM_C1218_SCAN_PACKET);
	assert_int_equal(p.len, 0);
	/* building: data over the cap, or a buffer too small */
	static uint8_t big[SM_C1218_MAX_DATA + 1], out[SM_C1218_MAX_PACKET + 16];
	assert_int_equal(sm_c1218_packet_build(0, 0, big, sizeof(big), out, sizeof(out)), 0);
	assert_int_equal(sm_c1218_packet_build(0, 0, big, 10, out, 17), 0);

	/* read answers: ok count(2) data checksum */
	const uint8_t *d;
	size_t c;
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x02, 0x01, 0x02, 0xFD), &d, &c), SM_OK);
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x03, 0x01, 0x02, 0xFD), &d, &c), SM_E_TRUNCATED);
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x01, 0x01, 0x02, 0xFD), &d, &c), SM_E_SYNTAX);
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x02, 0x01, 0x02, 0xFC), &d, &c), SM_E_CHECKSUM);
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x00), &d, &c), SM_E_TRUNCATED);
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x00, 0x00), &d, &c), SM_OK); /* empty table, checksum 0 */
	assert_int_equal(sm_c1218_parse_read(HEX(0x03), &d, &c), SM_E_TRUNCATED);
	assert_int_equal(sm_c1218_parse_read(HEX(0x03, 0x00, 0x00, 0x00), &d, &c), SM_E_SYNTAX);
	/* one's complement (an ESP-IDF library's mistake) is rejected */
	assert_int_equal(sm_c1218_parse_read(HEX(0x00, 0x00, 0x02, 0x01, 0x02, 0xFC), &d, &c), SM_E_CHECKSUM);
	struct sm_c1218_identity id;
	assert_int_equal(sm_c1218_parse_identify(HEX(0x00, 0x00, 0x01), &id), SM_E_TRUNCATED);
	uint16_t ps;
	uint8_t np;
	assert_int_equal(sm_c1218_parse_negotiate(HEX(0x00, 0x00, 0x40), &ps, &np), SM_E_TRUNCATED);
	assert_int_equal(sm_c1218_parse_negotiate(HEX(0x02, 0x00, 0x40, 0x02), &ps, &np), SM_E_SYNTAX);
}

static void test_requests(void **state)
{
	(void)state;
	uint8_t r[SM_C1218_MAX_REQUEST];
	size_t n = sm_c1218_req_logon(r, 1, "0000");
	assert_bytes(r, n, HEX(0x50, 0x00, 0x01, '0', '0', '0', '0', ' ', ' ', ' ', ' ', ' ', ' '));
	n = sm_c1218_req_logon(r, 2, "a-much-longer-name");
	assert_int_equal(n, 13);
	assert_memory_equal(r + 3, "a-much-lon", 10);
	n = sm_c1218_req_read_partial(r, 28, 0x010203, 40);
	assert_bytes(r, n, HEX(0x3F, 0x00, 0x1C, 0x01, 0x02, 0x03, 0x00, 0x28));
	n = sm_c1218_req_read_full(r, 1);
	assert_bytes(r, n, HEX(0x30, 0x00, 0x01));
	uint8_t pw[20];
	memset(pw, 0xAB, sizeof(pw));
	n = sm_c1218_req_security(r, pw);
	assert_int_equal(n, 21);
	assert_int_equal(r[0], 0x51);
	assert_int_equal(sm_c1218_req_logoff(r), 1);
	assert_int_equal(r[0], 0x52);
	assert_int_equal(sm_c1218_req_terminate(r), 1);
	assert_int_equal(r[0], 0x21);
	assert_string_equal(sm_c1218_code_name(0x03), "isc");
	assert_string_equal(sm_c1218_code_name(0x0A), "isss");
	assert_string_equal(sm_c1218_code_name(0x0B), "unknown");
}

static void test_password_formats(void **state)
{
	(void)state;
	uint8_t pw[20];
	size_t given;
	assert_int_equal(sm_c1218_password("00112233445566778899aabbccddeeff", SM_C1218_PW_HEX, SM_C1218_PAD_NUL, pw, &given),
	                 SM_OK);
	assert_int_equal(given, 16);
	assert_bytes(pw, 20, HEX(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0,
	                         0, 0, 0));
	assert_int_equal(sm_c1218_password("ABCD", SM_C1218_PW_ASCII, SM_C1218_PAD_SPACE, pw, &given), SM_OK);
	assert_bytes(pw, 20, HEX('A', 'B', 'C', 'D', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '));
	memset(pw, 0x5A, sizeof(pw));
	assert_int_equal(sm_c1218_password("0011g2", SM_C1218_PW_HEX, SM_C1218_PAD_NUL, pw, NULL), SM_E_INVAL);
	assert_int_equal(pw[0], 0x5A); /* untouched on failure */
	assert_int_equal(sm_c1218_password("001", SM_C1218_PW_HEX, SM_C1218_PAD_NUL, pw, NULL), SM_E_INVAL);
	assert_int_equal(sm_c1218_password("", SM_C1218_PW_ASCII, SM_C1218_PAD_NUL, pw, NULL), SM_E_INVAL);
	assert_int_equal(sm_c1218_password("123456789012345678901", SM_C1218_PW_ASCII, SM_C1218_PAD_NUL, pw, NULL), SM_E_INVAL);
	assert_int_equal(sm_c1218_password("00112233445566778899aabbccddeeff0011223344", SM_C1218_PW_HEX, SM_C1218_PAD_NUL, pw,
	                                   NULL),
	                 SM_E_INVAL);
}

/* ---- whole sessions against a meter written here ---- */

struct meter {
	uint8_t password[20];
	bool require_security;
	uint8_t toggle;
	bool secured;
	uint16_t psize;
	uint8_t npk;
	uint8_t table[32][128];
	size_t tlen[32];
	int busy;       /* answer bsy to this many BT23 reads */
	int refuse_table; /* answer sns to reads of this table (-1: none) */
	int lose_ack;   /* answer the next N requests without ACKing them */
	int corrupt;    /* damage the CRC of the next N answers */
	bool dup;       /* send every answer twice (as if our ACK was lost) */
	bool dead;      /* never a byte */
	unsigned die_after; /* fall silent after this many requests (0: never) */
	bool noise;     /* only noise */
	unsigned reads, securities, terminates, requests, naks;
	bool have_last;
	uint8_t last_toggle;
	uint16_t last_crc;
	uint8_t last_ans[1024];
	size_t last_ans_n;
	uint8_t out[4096];
	size_t outn;
};

static void put(struct meter *m, const uint8_t *p, size_t n)
{
	assert_true(m->outn + n <= sizeof(m->out));
	memcpy(m->out + m->outn, p, n);
	m->outn += n;
}

static void answer_data(struct meter *m, const uint8_t *d, size_t n)
{
	size_t per = (size_t)m->psize - 8, npk = n ? (n + per - 1) / per : 1;
	m->last_ans_n = 0;
	for (size_t i = 0; i < npk; i++) {
		size_t len = n - i * per < per ? n - i * per : per;
		uint8_t ctrl = (uint8_t)((npk > 1 ? 0x80 : 0) | (npk > 1 && i == 0 ? 0x40 : 0) | (m->toggle ? 0x20 : 0));
		m->toggle ^= 1;
		m->last_ans_n += sm_c1218_packet_build(ctrl, (uint8_t)(npk - 1 - i), d + i * per, len, m->last_ans + m->last_ans_n,
		                                       sizeof(m->last_ans) - m->last_ans_n);
	}
	size_t at = m->outn;
	put(m, m->last_ans, m->last_ans_n);
	if (m->corrupt > 0) {
		m->corrupt--;
		m->out[at + 7] ^= 0x40;
	}
	if (m->dup)
		put(m, m->last_ans, m->last_ans_n);
}

static void answer_code(struct meter *m, uint8_t code)
{
	answer_data(m, &code, 1);
}

static void serve(struct meter *m, const uint8_t *d, size_t n)
{
	uint8_t a[300];
	m->requests++;
	switch (d[0]) {
	case 0x20:
		m->secured = false;
		m->psize = 64, m->npk = 1;
		answer_data(m, HEX(0x00, 0x00, 0x01, 0x00, 0x00));
		return;
	case 0x61:
		m->psize = (uint16_t)(d[1] << 8 | d[2]);
		m->npk = d[3];
		a[0] = 0, a[1] = d[1], a[2] = d[2], a[3] = d[3], a[4] = d[4];
		answer_data(m, a, 5);
		return;
	case 0x50:
		answer_code(m, 0);
		return;
	case 0x51:
		m->securities++;
		m->secured = n == 21 && !memcmp(d + 1, m->password, 20);
		answer_code(m, m->secured ? 0x00 : 0x01);
		return;
	case 0x30: /* full reads: not offered by this meter */
		m->reads++;
		answer_code(m, 0x02);
		return;
	case 0x3F: {
		m->reads++;
		unsigned t = (unsigned)(d[1] << 8 | d[2]), off = (unsigned)(d[3] << 16 | d[4] << 8 | d[5]),
		         cnt = (unsigned)(d[6] << 8 | d[7]);
		if (m->require_security && !m->secured) {
			answer_code(m, 0x03);
			return;
		}
		if ((int)t == m->refuse_table) {
			answer_code(m, 0x02);
			return;
		}
		if (t == 23 && m->busy > 0) {
			m->busy--;
			answer_code(m, 0x06);
			return;
		}
		if (t >= 32 || off + cnt > m->tlen[t]) {
			answer_code(m, 0x04);
			return;
		}
		a[0] = 0, a[1] = (uint8_t)(cnt >> 8), a[2] = (uint8_t)cnt;
		memcpy(a + 3, m->table[t] + off, cnt);
		a[3 + cnt] = sm_c1218_table_checksum(a + 3, cnt);
		answer_data(m, a, cnt + 4);
		return;
	}
	case 0x21:
		m->terminates++;
		/* fall through */
	case 0x52:
		answer_code(m, 0);
		return;
	default:
		answer_code(m, 0x02);
	}
}

static void meter_feed(struct meter *m, const uint8_t *b, size_t n)
{
	if (m->dead || (m->die_after && m->requests >= m->die_after))
		return;
	if (m->noise) {
		put(m, HEX(0x55, 0xEE, 0x01, 0x55));
		return;
	}
	size_t i = 0;
	while (i < n) {
		struct sm_c1218_packet p;
		if (b[i] == SM_C1218_NAK) {
			m->naks++;
			put(m, m->last_ans, m->last_ans_n);
			i++;
			continue;
		}
		enum sm_c1218_scan r = sm_c1218_scan(b + i, n - i, SM_C1218_MAX_DATA, &p);
		if (r != SM_C1218_SCAN_PACKET) {
			assert_true(r == SM_C1218_SCAN_NOT_START); /* the session never sends half packets */
			i++;
			continue;
		}
		i += p.size;
		bool dup = m->have_last && m->last_toggle == (p.ctrl & 0x20) && m->last_crc == p.crc;
		if (m->lose_ack > 0)
			m->lose_ack--;
		else
			put(m, HEX(SM_C1218_ACK));
		if (dup)
			continue;
		m->have_last = true;
		m->last_toggle = p.ctrl & 0x20;
		m->last_crc = p.crc;
		serve(m, p.data, p.len);
	}
}

static const uint8_t test_pw[20] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
	                             0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF };

static void meter_init(struct meter *m, unsigned npv)
{
	memset(m, 0, sizeof(*m));
	m->refuse_table = -1;
	memcpy(m->password, test_pw, 20);
	m->require_security = true;
	memcpy(m->table[0], "\x02\x00\x88" "EE  ", 7), m->tlen[0] = 7;
	memcpy(m->table[1], "EE  83334   \x01\x02\x03\x04" "      5706567001", 32), m->tlen[1] = 32;
	memcpy(m->table[21], "\x00\x00\x00\x02\x00\x00\x00\x00\x00", 9);
	m->table[21][9] = (uint8_t)npv, m->tlen[21] = 10;
	memcpy(m->table[23], "\x74\x40\x05\x00\x9F\x1D\x00\x00", 8), m->tlen[23] = 8;
	memcpy(m->table[28], bt28_nes, 40);
	for (unsigned i = 10; i < npv; i++)
		m->table[28][4 * i] = (uint8_t)i;
	m->tlen[28] = 4 * npv;
}

struct run {
	struct sm_c1218_session s;
	struct meter m;
	uint64_t now;
	unsigned telegrams;
	char a_plus[SM_NUMBER_STRLEN], v_l3[SM_NUMBER_STRLEN];
	size_t nreadings;
	struct sm_c1218_step last;
	char detail[192];
};

static void run_init(struct run *r, unsigned npv, uint8_t npackets, bool security)
{
	struct sm_c1218_session_config cfg = { .user_id = 1, .user = "0000", .packet_size = 64, .npackets = npackets,
		                               .use_security = security };
	memcpy(cfg.password, test_pw, 20);
	memset(r, 0, sizeof(*r));
	sm_c1218_session_init(&r->s, &cfg);
	meter_init(&r->m, npv);
	r->now = 10000;
}

static void snapshot(struct run *r, const struct sm_telegram *t)
{
	const struct sm_reading *a = find(t, 1, 8), *v = find(t, 72, 7);
	r->telegrams++;
	r->nreadings = t->nreadings;
	r->a_plus[0] = r->v_l3[0] = '\0';
	if (a)
		sm_number_format(&a->value.u.num, r->a_plus, sizeof(r->a_plus));
	if (v)
		sm_number_format(&v->value.u.num, r->v_l3, sizeof(r->v_l3));
}

static enum sm_c1218_outcome run_session(struct run *r)
{
	struct sm_c1218_step st;
	sm_c1218_session_start(&r->s, r->now, &st);
	for (int i = 0; i < 5000; i++) {
		if (st.telegram)
			snapshot(r, st.telegram);
		r->m.outn = 0;
		if (st.tx_len)
			meter_feed(&r->m, st.tx, st.tx_len);
		if (st.outcome != SM_C1218_RUNNING) {
			r->last = st;
			snprintf(r->detail, sizeof(r->detail), "%s", st.detail);
			return st.outcome;
		}
		if (r->m.outn) {
			r->now += 20;
			sm_c1218_session_input(&r->s, r->now, r->m.out, r->m.outn, &st);
		} else if (st.wake_ms) {
			assert_true(st.wake_ms >= r->now);
			r->now = st.wake_ms;
			sm_c1218_session_timer(&r->s, r->now, &st);
		} else {
			fail_msg("session stalled in phase %d", r->s.phase);
		}
	}
	fail_msg("session never ended");
	return SM_C1218_FAILED;
}

static void test_session_reads_nes_meter(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.telegrams, 1);
	assert_string_equal(r.a_plus, "344180");
	assert_string_equal(r.v_l3, "225.398");
	assert_int_equal(r.nreadings, 13); /* 2 summations, 10 present values, firmware */
	assert_int_equal(r.m.reads, 5);    /* ST0 ST1 ST21 BT23 BT28 */
	assert_int_equal(r.m.terminates, 1);
	assert_string_equal(r.s.tables.serial, "5706567001");
	assert_int_equal(r.s.packet_size, 64);
	assert_int_equal(r.s.npackets, 2);
	/* The next poll reads only BT23 and BT28: the configuration is kept per connection. */
	r.m.reads = 0;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.m.reads, 2);
	assert_int_equal(r.telegrams, 2);
	/* The port reopened: read them again. */
	sm_c1218_session_reset(&r.s);
	r.m.reads = 0;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.m.reads, 5);
}

/* 30 present values = 120 bytes: more than one answer of 64 x 1 (52 bytes) carries; multi-packet with 64 x 2. */
static void test_session_bt28_in_parts(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 30, 1, true);
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.m.reads, 3 + 1 + 3); /* BT28 as 52 + 52 + 16 */
	assert_string_equal(r.v_l3, "225.398");
	assert_int_equal(r.nreadings, 2 + 30 + 1);
	run_init(&r, 30, 2, true);
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.m.reads, 3 + 1 + 2); /* 108 + 12, each answer in two packets */
	assert_int_equal(r.nreadings, 2 + 30 + 1);
}

static void test_session_wrong_password(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.password[3] ^= 1;
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.failure, SM_C1218_FAIL_REFUSED);
	assert_int_equal(r.last.code, SM_C1218_ERR);
	assert_int_equal(r.telegrams, 0);
	assert_int_equal(r.m.reads, 0);
	assert_int_equal(r.m.terminates, 1); /* the session is ended, not left to time out */
	assert_non_null(strstr(r.detail, "err"));
	assert_false(sm_c1218_session_busy(&r.s));
}

static void test_session_read_before_security(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, false);
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.failure, SM_C1218_FAIL_SERVICE);
	assert_int_equal(r.last.code, SM_C1218_ISC);
	assert_non_null(strstr(r.detail, "isc"));
	assert_non_null(strstr(r.detail, "ST0"));
}

/* A meter that will not give ST21 (nor ST1) to this user: the NES layout is assumed, and said so. */
static void test_session_config_table_refused(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 13, 2, true);
	r.m.refuse_table = 21;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.s.config_defaults, SM_C1218_DEFAULT_ST21);
	assert_int_equal(r.nreadings, 2 + 10 + 1);
	assert_string_equal(r.v_l3, "225.398");
	assert_int_equal(r.m.reads, 3 + 1 + 1 + 1); /* ST0 ST1, ST21 partial + full, BT23 BT28 */
	run_init(&r, 10, 2, true);
	r.m.refuse_table = 1;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.s.config_defaults, SM_C1218_DEFAULT_ST1);
	assert_int_equal(r.s.tables.serial[0], '\0');
	assert_string_equal(r.a_plus, "344180");
}

static void test_session_busy_retried(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.busy = 2;
	uint64_t t0 = r.now;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.telegrams, 1);
	assert_true(r.now - t0 >= 2 * SM_C1218_BUSY_DELAY_MS);
	/* bsy for ever: given up after the retries, with the code named */
	run_init(&r, 10, 2, true);
	r.m.busy = 1000;
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.code, SM_C1218_BSY);
	assert_non_null(strstr(r.detail, "bsy"));
}

static void test_session_lost_acks_and_duplicates(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.lose_ack = 4;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_string_equal(r.a_plus, "344180");
	run_init(&r, 10, 2, true);
	r.m.dup = true;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.telegrams, 1);
	assert_string_equal(r.v_l3, "225.398");
}

static void test_session_damaged_packets_naked(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.corrupt = 3;
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.m.naks, 3);
	assert_string_equal(r.a_plus, "344180");
}

/* Silent after the readings (no answer to Logoff): the readings count, the session is done. */
static void test_session_meter_gone_while_closing(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.die_after = 9; /* Identify Negotiate Logon Security ST0 ST1 ST21 BT23 BT28 */
	assert_int_equal(run_session(&r), SM_C1218_DONE);
	assert_int_equal(r.telegrams, 1);
	assert_non_null(strstr(r.detail, "Logoff not acknowledged"));
	assert_false(sm_c1218_session_busy(&r.s));
	/* silent in the middle: a failure */
	run_init(&r, 10, 2, true);
	r.m.die_after = 8;
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.failure, SM_C1218_FAIL_LINK);
	assert_non_null(strstr(r.detail, "BT28"));
	assert_int_equal(r.telegrams, 0);
}

static void test_session_silent_and_garbled(void **state)
{
	(void)state;
	static struct run r;
	run_init(&r, 10, 2, true);
	r.m.dead = true;
	uint64_t t0 = r.now;
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.failure, SM_C1218_FAIL_SILENT);
	assert_int_equal(r.now - t0, (SM_C1218_RESENDS + 1) * SM_C1218_ACK_TIMEOUT_MS);
	assert_int_equal(r.last.tx_len, 0); /* no session was opened: no Terminate */
	run_init(&r, 10, 2, true);
	r.m.noise = true;
	assert_int_equal(run_session(&r), SM_C1218_FAILED);
	assert_int_equal(r.last.failure, SM_C1218_FAIL_GARBLED);
}

/* A half packet followed by silence: dropped after 500 ms, the meter's resend is taken. */
static void test_session_inter_character_timeout(void **state)
{
	(void)state;
	static struct sm_c1218_session s;
	struct sm_c1218_session_config cfg = { .packet_size = 64, .npackets = 2 };
	struct sm_c1218_step st;
	static const uint8_t ans[] = { 0xEE, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0xC6, 0xB5 };
	sm_c1218_session_init(&s, &cfg);
	sm_c1218_session_start(&s, 0, &st);
	sm_c1218_session_input(&s, 100, HEX(0x06), &st);
	sm_c1218_session_input(&s, 200, ans, 6, &st);
	assert_int_equal(st.wake_ms, 200 + SM_C1218_CHAR_TIMEOUT_MS);
	sm_c1218_session_timer(&s, 700, &st);
	assert_int_equal(s.in_len, 0);
	assert_int_equal(st.tx_len, 0);
	sm_c1218_session_input(&s, 2000, ans, sizeof(ans), &st);
	assert_int_equal(s.phase, SM_C1218_PH_NEGOTIATE);
	/* A slow packet is fine as long as no gap reaches 500 ms: the deadline follows the latest byte. */
	static const uint8_t neg[] = { 0xEE, 0x00, 0x20, 0x00, 0x00, 0x05, 0x00, 0x00, 0x40, 0x02, 0x06 };
	uint8_t full[sizeof(neg) + 2];
	memcpy(full, neg, sizeof(neg));
	uint16_t crc = sm_crc16_x25(neg, sizeof(neg));
	full[sizeof(neg)] = (uint8_t)crc, full[sizeof(neg) + 1] = (uint8_t)(crc >> 8);
	sm_c1218_session_input(&s, 2100, HEX(0x06), &st);
	for (size_t i = 0; i < sizeof(full); i++) {
		sm_c1218_session_input(&s, 2200 + 400 * i, full + i, 1, &st);
		if (i + 1 < sizeof(full)) {
			assert_int_equal(st.wake_ms, 2200 + 400 * i + SM_C1218_CHAR_TIMEOUT_MS);
			sm_c1218_session_timer(&s, 2200 + 400 * i + 399, &st);
		}
	}
	assert_int_equal(s.phase, SM_C1218_PH_LOGON);
	/* abort: Terminate goes out */
	sm_c1218_session_abort(&s, &st);
	assert_int_equal(st.outcome, SM_C1218_FAILED);
	assert_true(st.tx_len == 9 && st.tx[6] == SM_C1218_SVC_TERMINATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_check_value),
		cmocka_unit_test(test_identify_golden),
		cmocka_unit_test(test_negotiate_golden),
		cmocka_unit_test(test_session_golden_exchange),
		cmocka_unit_test(test_bt23_answer_golden),
		cmocka_unit_test(test_bt28_nes_golden),
		cmocka_unit_test(test_bt28_frequency_apparent_and_raw),
		cmocka_unit_test(test_ni_formats),
		cmocka_unit_test(test_config_tables),
		cmocka_unit_test(test_toggle_and_duplicate),
		cmocka_unit_test(test_multi_packet_reassembly),
		cmocka_unit_test(test_message_longer_than_cap),
		cmocka_unit_test(test_malformed_lengths),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_password_formats),
		cmocka_unit_test(test_session_reads_nes_meter),
		cmocka_unit_test(test_session_bt28_in_parts),
		cmocka_unit_test(test_session_wrong_password),
		cmocka_unit_test(test_session_read_before_security),
		cmocka_unit_test(test_session_config_table_refused),
		cmocka_unit_test(test_session_busy_retried),
		cmocka_unit_test(test_session_lost_acks_and_duplicates),
		cmocka_unit_test(test_session_damaged_packets_naked),
		cmocka_unit_test(test_session_meter_gone_while_closing),
		cmocka_unit_test(test_session_silent_and_garbled),
		cmocka_unit_test(test_session_inter_character_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
