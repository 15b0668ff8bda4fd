/* stream.c — the decoder object: finds frames of every supported kind in one arbitrary byte stream.
 *
 * Bytes are appended to a bounded buffer; at its head each framing's scanner judges whether a frame
 * starts there (need more / complete / broken / not mine). Nothing is consumed until a frame is
 * complete or rejected, so a false start (a stray 0x7E or '/') costs a rescan from the next byte,
 * never a lost frame. Must never block, log, or allocate after sm_decoder_new().
 *
 *   candidate start byte   framing             scanner
 *   '/' (0x2F, or 0xAF)    DSMR telegram       sm_dsmr_scan
 *   0x7E                   HDLC type 3         sm_hdlc_scan
 *   0x68                   M-Bus long frame    sm_mbus_scan
 *   0x0F 0xE6 0xE0 0xDB 0xDC  bare APDU        sm_rawapdu_scan
 *   0x1B (1B1B1B1B 01010101)  SML file         sm_sml_scan
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Report skipped bytes in runs, so a wrong baud rate gives one line per few KiB, not one per byte. */
#define SM_GARBAGE_REPORT_RUN 4096u
/* 7E1-read-as-8N1 detection: this many consecutive even-parity bytes after a 0xAF ('/' | 0x80). */
#define SM_SEVEN_BIT_PROBE 12u

const char *sm_version(void)
{
	return SMARTMETER_VERSION;
}

int sm_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum sm_err sm_key_parse(const char *hex, uint8_t ret_key[SM_KEY_LEN])
{
	uint8_t k[SM_KEY_LEN];
	if (!hex || strlen(hex) != 2 * SM_KEY_LEN)
		return SM_E_INVAL;
	for (size_t i = 0; i < SM_KEY_LEN; i++) {
		int hi = sm_hex_digit((unsigned char)hex[2 * i]), lo = sm_hex_digit((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return SM_E_INVAL;
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret_key, k, sizeof(k));
	memset(k, 0, sizeof(k));
	return SM_OK;
}

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

enum sm_err sm_decoder_set_keys(struct sm_decoder *dec, const struct sm_decoder_config *cfg)
{
	if (!dec || !cfg)
		return SM_E_INVAL;
	enum sm_err err = sm_cipher_set_keys(dec->cipher, cfg->has_key ? cfg->key : NULL,
	                                     cfg->has_auth_key ? cfg->auth_key : NULL);
	sm_cipher_set_replay_policy(dec->cipher, cfg->publish_replayed);
	dec->cfg.has_key = cfg->has_key;
	dec->cfg.has_auth_key = cfg->has_auth_key;
	dec->cfg.publish_replayed = cfg->publish_replayed;
	return err;
}

struct sm_decoder *sm_decoder_new(const struct sm_decoder_config *cfg, sm_telegram_cb on_telegram,
                                  sm_event_cb on_event, void *ctx, enum sm_err *ret_err)
{
	enum sm_err err = SM_E_NOMEM;
	struct sm_decoder *dec = calloc(1, sizeof(*dec));
	if (!dec)
		goto fail;
	if (cfg)
		dec->cfg = *cfg;
	dec->on_telegram = on_telegram;
	dec->on_event = on_event;
	dec->ctx = ctx;
	err = sm_dlms_new(&dec->dlms);
	if (err != SM_OK)
		goto fail;
	err = sm_cipher_new(&dec->cipher);
	if (err != SM_OK)
		goto fail;
	if (cfg) {
		err = sm_decoder_set_keys(dec, cfg);
		if (err != SM_OK)
			goto fail;
	}
	/* The cipher holds the keys now (in secure memory); keep no second copy. */
	wipe(dec->cfg.key, sizeof(dec->cfg.key));
	wipe(dec->cfg.auth_key, sizeof(dec->cfg.auth_key));
	return dec;
fail:
	sm_decoder_free(dec);
	if (ret_err)
		*ret_err = err;
	return NULL;
}

void sm_decoder_free(struct sm_decoder *dec)
{
	if (!dec)
		return;
	sm_cipher_free(dec->cipher);
	sm_dlms_free(dec->dlms);
	wipe(dec, sizeof(*dec));
	free(dec);
}

void sm_decoder_stats(const struct sm_decoder *dec, struct sm_stats *ret_stats)
{
	*ret_stats = dec->stats;
}

void sm_emit_telegram(struct sm_decoder *dec, const struct sm_origin *org, const struct sm_secinfo *sec)
{
	struct sm_builder *b = &dec->build;
	struct sm_telegram *t = &b->tg;

	t->framing = org->framing;
	t->offset = org->offset;
	t->length = org->length;
	if (sec && sec->encrypted) {
		t->encrypted = true;
		t->authenticated = sec->authenticated;
		t->security_control = sec->security_control;
		memcpy(t->system_title, sec->system_title, 8);
		t->invocation_counter = sec->invocation_counter;
		t->counter_backwards = sec->counter_backwards;
	}
	t->readings = b->readings;
	t->cells = b->cells;
	dec->stats.telegrams++;
	switch (t->protocol) {
	case SM_PROTOCOL_DSMR: dec->stats.dsmr++; break;
	case SM_PROTOCOL_DLMS: dec->stats.dlms++; break;
	case SM_PROTOCOL_SML: dec->stats.sml++; break;
	}
	if (dec->on_telegram)
		dec->on_telegram(dec->ctx, t);
}

void sm_emit_event(struct sm_decoder *dec, enum sm_event_level level, enum sm_err err,
                   const struct sm_origin *org, const uint8_t *raw, size_t raw_len, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

	if (level == SM_EVENT_ERROR) {
		dec->stats.errors++;
		if (err == SM_E_CRC || err == SM_E_HCS || err == SM_E_FCS || err == SM_E_CHECKSUM)
			dec->stats.crc_errors++;
		if (err == SM_E_NO_KEY || err == SM_E_DECRYPT || err == SM_E_AUTH)
			dec->stats.decrypt_errors++;
	}
	if (!dec->on_event)
		return;
	struct sm_event ev = {
		.level = level,
		.err = err,
		.framing = org ? org->framing : SM_FRAMING_RAW,
		.offset = org ? org->offset : 0,
		.length = org ? org->length : 0,
		.detail = detail,
		.raw = raw,
		.raw_len = raw_len,
	};
	dec->on_event(dec->ctx, &ev);
}

static void report_garbage(struct sm_decoder *dec)
{
	if (dec->garbage_run == 0)
		return;
	struct sm_origin org = { SM_FRAMING_RAW, dec->garbage_offset, dec->garbage_run };
	sm_emit_event(dec, SM_EVENT_NOTE, SM_OK, &org, NULL, 0,
	              "skipped %zu byte%s with no frame start", dec->garbage_run, dec->garbage_run == 1 ? "" : "s");
	dec->garbage_run = 0;
}

static void consume(struct sm_decoder *dec, size_t n)
{
	if (n > dec->len)
		n = dec->len;
	memmove(dec->buf, dec->buf + n, dec->len - n);
	dec->len -= n;
	dec->buf_offset += n;
}

static void skip_garbage(struct sm_decoder *dec, size_t n)
{
	if (dec->garbage_run == 0)
		dec->garbage_offset = dec->buf_offset;
	dec->garbage_run += n;
	dec->stats.garbage_bytes += n;
	consume(dec, n);
	if (dec->garbage_run >= SM_GARBAGE_REPORT_RUN)
		report_garbage(dec);
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
	if (dec->mask_high_bit || dec->len < SM_SEVEN_BIT_PROBE || dec->buf[0] != 0xAF)
		return;
	for (size_t i = 0; i < SM_SEVEN_BIT_PROBE; i++)
		if (!even_parity(dec->buf[i]))
			return;
	dec->mask_high_bit = true;
	dec->stats.high_bit_seen = true;
	for (size_t i = 0; i < dec->len; i++) {
		if (!even_parity(dec->buf[i])) {
			dec->mask_high_bit = false;
			break;
		}
		dec->buf[i] &= 0x7F;
	}
}

static void handle_dsmr(struct sm_decoder *dec, size_t n)
{
	struct sm_origin org = { SM_FRAMING_DSMR, dec->buf_offset, n };
	sm_dsmr_telegram(dec, dec->buf, n, &org, NULL);
}

static void process(struct sm_decoder *dec, bool eof)
{
	while (dec->len > 0) {
		uint8_t b = dec->buf[0];
		enum sm_scan r = SM_SCAN_NO;
		enum sm_framing f = SM_FRAMING_RAW;
		size_t n = 0;
		enum sm_err err = SM_OK;

		if (b == 0xAF)
			detect_seven_bit(dec);
		b = dec->buf[0];
		switch (b) {
		case '/':
			f = SM_FRAMING_DSMR;
			r = sm_dsmr_scan(dec->buf, dec->len, eof, &n, &err);
			break;
		case 0x7E:
			f = SM_FRAMING_HDLC;
			r = sm_hdlc_scan(dec->buf, dec->len, eof, &n, &err);
			break;
		case 0x68:
			f = SM_FRAMING_MBUS;
			r = sm_mbus_scan(dec->buf, dec->len, eof, &n, &err);
			break;
		case 0x0F: case 0xE6: case 0xE0: case 0xDB: case 0xDC:
			f = SM_FRAMING_RAW;
			r = sm_rawapdu_scan(dec->buf, dec->len, eof, &n, &err);
			break;
		case 0x1B:
			f = SM_FRAMING_SML;
			r = sm_sml_scan(dec->buf, dec->len, eof, &n, &err);
			break;
		case 0xAF:
			/* Still unconfirmed 7E1 start: wait for the probe bytes unless the input ended. */
			r = (dec->len < SM_SEVEN_BIT_PROBE && !eof) ? SM_SCAN_MORE : SM_SCAN_NO;
			break;
		default:
			r = SM_SCAN_NO;
			break;
		}

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
			if (n == 0 || n > dec->len) {
				skip_garbage(dec, 1);
				break;
			}
			report_garbage(dec);
			if (f == SM_FRAMING_DSMR) {
				handle_dsmr(dec, n);
			} else if (f == SM_FRAMING_SML) {
				sm_sml_frame(dec, dec->buf, n, dec->buf_offset, err);
				/* A file that failed its CRC is reported, then rescanned after its start sequence:
				 * it may have been overtaken by another frame (integrity rules, DESIGN.md). */
				if (err != SM_OK && !dec->cfg.dsmr_crc_optional)
					n = SM_SML_START_LEN;
			} else
				sm_dlms_frame(dec, f, dec->buf, n, dec->buf_offset, err == SM_OK);
			consume(dec, n);
			break;
		case SM_SCAN_BAD: {
			if (n == 0 || n > dec->len)
				n = 1;
			report_garbage(dec);
			struct sm_origin org = { f, dec->buf_offset, n };
			const char *what = f == SM_FRAMING_DSMR ? "DSMR telegram" : f == SM_FRAMING_HDLC ? "HDLC frame"
			                 : f == SM_FRAMING_MBUS ? "M-Bus frame" : f == SM_FRAMING_SML ? "SML file" : "APDU";
			if (f == SM_FRAMING_SML && (err == SM_E_TRUNCATED || err == SM_E_TOO_LONG))
				sm_emit_event(dec, SM_EVENT_ERROR, err, &org, dec->buf, n,
				              "SML file cut short: %s", err == SM_E_TRUNCATED
				              ? "no end sequence before the next file's start or the end of input"
				              : "no end sequence within the longest file size");
			else if (f == SM_FRAMING_DSMR && err == SM_E_UNSUPPORTED)
				sm_emit_event(dec, SM_EVENT_ERROR, err, &org, dec->buf, n,
				              "DSMR telegram with an encrypted body but no system title (Elgama-style): "
				              "not supported, no public IV construction is known");
			else
				sm_emit_event(dec, SM_EVENT_ERROR, err, &org, dec->buf, n, "%s rejected: %s", what,
				              sm_strerror(err));
			consume(dec, n);
			break;
		}
		}
	}
}

void sm_decoder_feed(struct sm_decoder *dec, const uint8_t *buf, size_t len)
{
	dec->stats.bytes += len;
	while (len > 0) {
		size_t space = sizeof(dec->buf) - dec->len;
		size_t n = len < space ? len : space;
		/* Strip bit 7 while a 7E1-read-as-8N1 line lasts; the rest is copied as it came. */
		size_t i = 0;
		for (; i < n && dec->mask_high_bit; i++) {
			uint8_t c = buf[i];
			if (even_parity(c))
				c &= 0x7F;
			else
				dec->mask_high_bit = false;
			dec->buf[dec->len + i] = c;
		}
		memcpy(dec->buf + dec->len + i, buf + i, n - i);
		dec->len += n;
		buf += n;
		len -= n;
		size_t before = dec->len;
		uint64_t off_before = dec->buf_offset;
		process(dec, false);
		/* Full buffer and no progress: the head candidate overran every cap. Drop one byte. */
		if (dec->len == sizeof(dec->buf) && dec->len == before && dec->buf_offset == off_before)
			skip_garbage(dec, 1);
	}
}

void sm_decoder_flush(struct sm_decoder *dec)
{
	process(dec, true);
	report_garbage(dec);
	sm_dlms_flush(dec);
	dec->mask_high_bit = false;
}
