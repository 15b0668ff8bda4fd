/* stream.c — the framer: finds frames of every supported kind in one arbitrary byte stream.
 *
 * Bytes are appended to a bounded buffer and read through an index (no memmove per skipped byte).
 * At the read index, the framer table (below) says which framing may start with that byte; its scanner
 * judges the candidate (need more / complete / broken / not mine) and its handler checks and decodes a
 * complete one. A candidate that fails — at any stage, for any reason — is reported once and the
 * stream is rescanned from the candidate's NEXT byte for every framing, so a good frame that began
 * inside the failed candidate's span still decodes. What keeps that rescan from turning payload
 * bytes into false frames are the integrity rules each framing enforces (README "Integrity rules"):
 *
 *   framing          start byte(s)          accepted only when
 *   DSMR telegram    '/' + 3 letters        CRC-16 matches; from DSMR 4.0 on (1-3:0.2.8 >= 40) a CRC is
 *                                           required (dsmr_crc_optional relaxes both); a CRC-less telegram
 *                                           is plausible throughout: printable text and CR LF only, every
 *                                           line header / end / OBIS line of the grammar, >= 1 OBIS line
 *   HDLC type 3      7E A?                  HCS and FCS hold (a bad FCS can be relaxed: crc_check off)
 *   M-Bus long       68 L L 68              checksum and stop byte hold (same relaxation)
 *   bare APDU        0F E0 DB DC, E6 (LLC)  no link check: a plain data-notification must parse exactly
 *                                           and yield an OBIS-keyed reading or a layout row; a ciphered
 *                                           one must decrypt (GCM tag when the auth key is known) and
 *                                           its plaintext pass the same rules; followed by the end of
 *                                           the input (idle line) or another frame's start; never the
 *                                           payload of a checked frame that failed its check
 *   SML file         1B1B1B1B 01010101      file CRC (X.25 or Kermit) and every message crc16 hold (same
 *                                           relaxation), end sequence before the next file's start
 *
 * Must never block, log, or allocate after sm_decoder_new().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlms.h"

/* Report skipped bytes in runs, so a wrong baud rate gives one line per few KiB, not one per byte. */
#define SM_GARBAGE_REPORT_RUN 4096u
/* 7E1-read-as-8N1 detection: this many consecutive even-parity bytes after a 0xAF ('/' | 0x80). */
#define SM_SEVEN_BIT_PROBE 12u
/* Bytes of the next frame's header judged after an unchecked frame: enough for every scanner's first
 * plausibility checks (M-Bus 68 L L 68 C A CI, a notification's invoke id and date-time form). */
#define SM_BOUNDARY_PROBE 8u

/* ---- the framer table ---- */

static bool starts_dsmr(uint8_t b)
{
	return b == '/';
}

static bool starts_hdlc(uint8_t b)
{
	return b == 0x7E;
}

static bool starts_mbus(uint8_t b)
{
	return b == 0x68;
}

static bool starts_apdu(uint8_t b)
{
	return b == 0x0F || b == 0xE6 || b == 0xE0 || b == 0xDB || b == 0xDC;
}

static bool starts_sml(uint8_t b)
{
	return b == 0x1B;
}

static bool handle_dsmr(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err)
{
	(void)scan_err;
	struct sm_origin org = {SM_FRAMING_DSMR, offset, len};
	return sm_dsmr_telegram(dec, frame, len, &org, NULL) == SM_OK;
}

/* Rows in the order a start byte is tried; see internal.h "Adding a framing". */
static const struct sm_framer framers[] = {
	{starts_dsmr, "DSMR telegram", SM_FRAMING_DSMR, true, sm_dsmr_scan, handle_dsmr, NULL},
	{starts_hdlc, "HDLC frame", SM_FRAMING_HDLC, true, sm_hdlc_scan, sm_hdlc_frame, NULL},
	{starts_mbus, "M-Bus frame", SM_FRAMING_MBUS, true, sm_mbus_scan, sm_mbus_frame, NULL},
	{starts_apdu, "APDU", SM_FRAMING_RAW, false, sm_rawapdu_scan, sm_rawapdu_frame, sm_rawapdu_unsealed},
	{starts_sml, "SML file", SM_FRAMING_SML, true, sm_sml_scan, sm_sml_frame, NULL},
};
#define SM_NFRAMERS (sizeof(framers) / sizeof(framers[0]))

const char *sm_framer_name(enum sm_framing f)
{
	for (size_t i = 0; i < SM_NFRAMERS; i++)
		if (framers[i].framing == f)
			return framers[i].name;
	return "frame";
}

/* ---- X.25 CRC of any span of the buffer in O(log n) ----
 * The CRC register update r' = (r >> 8) ^ T[(r ^ b) & 0xFF] is linear over GF(2), so with P[i] the
 * register after buf[0..i) from 0, the register over buf[a..b) from init I is
 *   P[b] ^ Z^(b-a)(I ^ P[a]),  Z^m = m zero bytes,
 * and Z^(2^k) is a 16x16 bit matrix (crc_zero[k]). One prefix step per buffered byte, then a frame's FCS
 * costs at most 15 matrix products however long it is: fake headers in noise do not cost their claim. */

static uint16_t crc_step(uint16_t r, uint8_t b)
{
	for (int i = 0; i < 8; i++) {
		bool lsb = ((r ^ b) & 1) != 0;
		r = (uint16_t)(r >> 1);
		b = (uint8_t)(b >> 1);
		if (lsb)
			r ^= 0x8408;
	}
	return r;
}

static uint16_t mat_apply(const uint16_t m[16], uint16_t v)
{
	uint16_t r = 0;
	for (int i = 0; v; i++, v >>= 1)
		if (v & 1)
			r ^= m[i];
	return r;
}

/* The matrices as byte tables (zero[k][0] for the low byte, [1] for the high byte): one power costs
 * two loads instead of sixteen conditional XORs. */
static uint16_t zero_apply(const struct sm_decoder *dec, int k, uint16_t v)
{
	return (uint16_t)(dec->crc_zero[k][0][v & 0xFF] ^ dec->crc_zero[k][1][v >> 8]);
}

static void stream_crc_init(struct sm_decoder *dec)
{
	uint16_t m[16], sq[16];
	/* Z^1: column i is one zero byte applied to the unit vector 1 << i. */
	for (int i = 0; i < 16; i++)
		m[i] = crc_step((uint16_t)(1u << i), 0);
	for (int k = 0; k < SM_CRC_POWERS; k++) {
		for (unsigned b = 0; b < 256; b++) {
			dec->crc_zero[k][0][b] = mat_apply(m, (uint16_t)b);
			dec->crc_zero[k][1][b] = mat_apply(m, (uint16_t)(b << 8));
		}
		for (int i = 0; i < 16; i++)
			sq[i] = mat_apply(m, m[i]);
		memcpy(m, sq, sizeof(m));
	}
}

uint16_t sm_stream_crc16_x25(struct sm_decoder *dec, const uint8_t *p, size_t n)
{
	if (p < dec->buf || p + n > dec->buf + dec->len)
		return sm_crc16_x25(p, n);
	size_t a = (size_t)(p - dec->buf), b = a + n;
	while (dec->crc_valid < b) {
		size_t i = dec->crc_valid;
		dec->crc_pre[i + 1] = sm_crc16_x25_step(dec->crc_pre[i], dec->buf[i]);
		dec->crc_valid++;
	}
	uint16_t v = (uint16_t)(0xFFFF ^ dec->crc_pre[a]);
	for (int k = 0; n; k++, n >>= 1)
		if (n & 1)
			v = zero_apply(dec, k, v);
	return (uint16_t)~(dec->crc_pre[b] ^ v);
}

void sm_stream_init(struct sm_decoder *dec)
{
	memset(dec->framer_of, 0, sizeof(dec->framer_of));
	for (unsigned b = 0; b < 256; b++)
		for (size_t i = 0; i < SM_NFRAMERS; i++)
			if (framers[i].starts((uint8_t)b)) {
				dec->framer_of[b] = (uint8_t)(i + 1);
				break;
			}
	stream_crc_init(dec);
}

/* ---- buffer ---- */

void sm_stream_report_garbage(struct sm_decoder *dec)
{
	if (dec->garbage_run == 0)
		return;
	struct sm_origin org = {SM_FRAMING_RAW, dec->garbage_offset, dec->garbage_run};
	sm_emit_event(dec, SM_EVENT_NOTE, SM_OK, &org, NULL, 0, "skipped %zu byte%s with no frame start",
	              dec->garbage_run, dec->garbage_run == 1 ? "" : "s");
	dec->garbage_run = 0;
}

static uint64_t head_offset(const struct sm_decoder *dec)
{
	return dec->buf_offset + dec->head;
}

static void skip_garbage(struct sm_decoder *dec, size_t n)
{
	if (dec->garbage_run == 0)
		dec->garbage_offset = head_offset(dec);
	dec->garbage_run += n;
	dec->stats.garbage_bytes += n;
	dec->head += n;
	if (dec->garbage_run >= SM_GARBAGE_REPORT_RUN)
		sm_stream_report_garbage(dec);
}

/* Moves the unread bytes to the start of the buffer (and the CRC prefix with them: any base will do). */
static void compact(struct sm_decoder *dec)
{
	size_t h = dec->head, n = dec->len - h;
	if (h == 0)
		return;
	memmove(dec->buf, dec->buf + h, n);
	if (dec->crc_valid >= h) {
		memmove(dec->crc_pre, dec->crc_pre + h, (dec->crc_valid - h + 1) * sizeof(dec->crc_pre[0]));
		dec->crc_valid -= h;
	} else {
		dec->crc_pre[0] = 0;
		dec->crc_valid = 0;
	}
	dec->len = n;
	dec->head = 0;
	dec->buf_offset += h;
}

static bool even_parity(uint8_t b)
{
	return (__builtin_popcount(b) & 1) == 0;
}

/* A DSMR meter at 7E1 read through an 8N1 port delivers every character with its parity bit in
 * bit 7 (PROTOCOLS.md §8.3). Recognise it from a 0xAF ('/' | 0x80) followed by even-parity bytes,
 * then strip bit 7 from everything until a byte with odd parity shows the line changed. */
static void detect_seven_bit(struct sm_decoder *dec)
{
	uint8_t *p = dec->buf + dec->head;
	size_t avail = dec->len - dec->head;
	if (dec->mask_high_bit || avail < SM_SEVEN_BIT_PROBE || p[0] != 0xAF)
		return;
	for (size_t i = 0; i < SM_SEVEN_BIT_PROBE; i++)
		if (!even_parity(p[i]))
			return;
	dec->mask_high_bit = true;
	dec->stats.high_bit_seen = true;
	for (size_t i = 0; i < avail; i++) {
		if (!even_parity(p[i])) {
			dec->mask_high_bit = false;
			break;
		}
		p[i] &= 0x7F;
	}
	if (dec->crc_valid > dec->head)
		dec->crc_valid = dec->head; /* the bytes under the prefix changed */
}

/* ---- the loop ---- */

/* Unchecked framings may not take the payload of a checked frame that failed: it is exactly what an
 * unchecked frame looks like, and may hold the flipped bit. */
void sm_stream_shadow(struct sm_decoder *dec, uint64_t from, uint64_t to)
{
	dec->shadow_lo = from;
	dec->shadow_hi = to;
}

static bool in_shadow(const struct sm_decoder *dec, uint64_t off)
{
	return off >= dec->shadow_lo && off < dec->shadow_hi;
}

/* Does a frame header its scanner does not refuse start at p[0]? Only the first bytes are judged (as if
 * no more had arrived): that frame may itself be damaged. 1 = yes, 0 = no. */
static int header_at(const struct sm_decoder *dec, const uint8_t *p, size_t avail, bool eof)
{
	uint8_t row = dec->framer_of[p[0]];
	if (!row)
		return 0;
	size_t n2 = 0, k = avail < SM_BOUNDARY_PROBE ? avail : SM_BOUNDARY_PROBE;
	enum sm_err e2 = SM_OK;
	return framers[row - 1].scan(p, k, eof && k == avail, &n2, &e2) != SM_SCAN_NO;
}

/* What follows an unchecked frame must be the end of the input (the line went idle) or the start of
 * another frame: a bare APDU measured by its A-XDR structure alone could otherwise end anywhere, e.g. in
 * the payload of the next frame. The next frame may be cut within its first bytes and followed by a
 * good one: a start byte with a plausible header a few bytes on counts too. 1 = yes, 0 = no, -1 = need
 * more. */
static int followed_by_boundary(const struct sm_decoder *dec, const uint8_t *p, size_t n, size_t avail, bool eof)
{
	if (n == avail)
		return eof ? 1 : -1;
	if (!dec->framer_of[p[n]])
		return 0;
	for (size_t j = n; j < avail && j <= n + SM_BOUNDARY_PROBE; j++)
		if (header_at(dec, p + j, avail - j, eof))
			return 1;
	if (avail - n <= 2 * SM_BOUNDARY_PROBE && !eof)
		return -1;
	return 0;
}

/* The candidate at the read index failed: its span [head, end) is rescanned from its next byte. */
static void failed(struct sm_decoder *dec, uint64_t end)
{
	if (end > dec->quiet_until)
		dec->quiet_until = end;
	skip_garbage(dec, 1);
}

static void process(struct sm_decoder *dec, bool eof)
{
	while (dec->head < dec->len) {
		/* Fast path: bytes that start no framing. */
		size_t h = dec->head;
		while (h < dec->len && !dec->framer_of[dec->buf[h]] && dec->buf[h] != 0xAF)
			h++;
		if (h > dec->head)
			skip_garbage(dec, h - dec->head);
		if (dec->head >= dec->len)
			return;

		const uint8_t *p = dec->buf + dec->head;
		size_t avail = dec->len - dec->head;
		if (p[0] == 0xAF) {
			detect_seven_bit(dec);
			if (p[0] == 0xAF) {
				/* Still unconfirmed 7E1 start: wait for the probe bytes unless the input ended. */
				if (avail < SM_SEVEN_BIT_PROBE && !eof)
					return;
				skip_garbage(dec, 1);
				continue;
			}
		}
		const struct sm_framer *f = &framers[dec->framer_of[p[0]] - 1];
		uint64_t off = head_offset(dec);
		size_t n = 0;
		enum sm_err err = SM_OK;
		enum sm_scan r = f->scan(p, avail, eof, &n, &err);
		/* Inside the span of a candidate that already failed (and was reported), a failure is
		 * frame-like payload, not a frame: it is not reported. */
		bool quiet = off < dec->quiet_until;
		switch (r) {
		case SM_SCAN_NO:
			skip_garbage(dec, 1);
			break;
		case SM_SCAN_MORE:
			if (eof) {
				/* A scanner broke its contract; do not spin. */
				skip_garbage(dec, 1);
				break;
			}
			return;
		case SM_SCAN_FRAME:
			if (n == 0 || n > avail) {
				skip_garbage(dec, 1);
				break;
			}
			if (!f->checked && in_shadow(dec, off)) {
				skip_garbage(dec, 1);
				break;
			}
			if (f->needs_boundary && f->needs_boundary(dec, p, n)) {
				int b = followed_by_boundary(dec, p, n, avail, eof);
				if (b < 0)
					return;
				if (b == 0) {
					skip_garbage(dec, 1);
					break;
				}
			}
			if (quiet)
				sm_events_hold(dec); /* the skipped-bytes note too, until the candidate proves itself */
			else
				sm_stream_report_garbage(dec);
			bool proven = f->handle(dec, p, n, off, err);
			if (quiet)
				sm_events_release(dec, proven);
			if (proven) {
				dec->head += n;
			} else {
				/* Not a frame after all: rescan from the next byte. */
				failed(dec, off + n);
			}
			break;
		case SM_SCAN_BAD: {
			if (n == 0 || n > avail)
				n = avail;
			if (!quiet)
				sm_stream_report_garbage(dec);
			struct sm_origin org = {f->framing, off, n};
			if (f->framing == SM_FRAMING_DSMR && err == SM_E_UNSUPPORTED) {
				sm_emit_event(dec, SM_EVENT_ERROR, err, &org, p, n,
				              "DSMR telegram with an encrypted body but no system title (Elgama-style): "
				              "not supported, no public IV construction is known");
				dec->head += n; /* the whole burst is known to be that body: nothing to rescan */
				break;
			}
			if (!quiet)
				sm_emit_event(dec, SM_EVENT_ERROR, err, &org, p, n, "%s rejected: %s", f->name,
				              sm_strerror(err));
			failed(dec, off + n);
			break;
		}
		}
	}
}

void sm_decoder_feed(struct sm_decoder *dec, const uint8_t *buf, size_t len)
{
	dec->stats.bytes += len;
	while (len > 0) {
		if (dec->head == dec->len) {
			dec->buf_offset += dec->head;
			dec->head = dec->len = 0;
			dec->crc_pre[0] = 0;
			dec->crc_valid = 0;
		} else if (dec->len == sizeof(dec->buf)) {
			compact(dec);
		}
		size_t space = sizeof(dec->buf) - dec->len;
		size_t n = len < space ? len : space;
		uint8_t *dst = dec->buf + dec->len;
		if (dec->mask_high_bit) {
			for (size_t i = 0; i < n; i++) {
				uint8_t c = buf[i];
				if (even_parity(c))
					c &= 0x7F;
				else
					dec->mask_high_bit = false;
				dst[i] = c;
			}
		} else {
			memcpy(dst, buf, n);
		}
		dec->len += n;
		buf += n;
		len -= n;
		uint64_t before = head_offset(dec);
		process(dec, false);
		/* Full buffer and no progress: the head candidate overran every cap. Drop one byte. */
		if (dec->len == sizeof(dec->buf) && dec->head == 0 && head_offset(dec) == before)
			skip_garbage(dec, 1);
	}
}

void sm_decoder_flush(struct sm_decoder *dec)
{
	process(dec, true);
	sm_stream_report_garbage(dec);
	sm_dlms_flush(dec);
	dec->mask_high_bit = false;
}
