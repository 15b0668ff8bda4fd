/* decoder.c — the decoder object and its event sink: creation, keys, statistics, and the two places
 * through which every telegram and every event leaves the library (sm_emit_telegram, sm_emit_event).
 * Finding frames in the byte stream is stream.c's job, not this file's. Must never do I/O, log, or
 * allocate after sm_decoder_new(); key material never leaves the cipher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
	sm_stream_init(dec);
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

static void deliver_event(struct sm_decoder *dec, const struct sm_event *ev)
{
	if (ev->level == SM_EVENT_ERROR) {
		dec->stats.errors++;
		if (ev->err == SM_E_CRC || ev->err == SM_E_HCS || ev->err == SM_E_FCS || ev->err == SM_E_CHECKSUM)
			dec->stats.crc_errors++;
		if (ev->err == SM_E_NO_KEY || ev->err == SM_E_DECRYPT || ev->err == SM_E_AUTH)
			dec->stats.decrypt_errors++;
	}
	if (dec->on_event)
		dec->on_event(dec->ctx, ev);
}

void sm_events_hold(struct sm_decoder *dec)
{
	dec->holding = true;
	dec->nheld = 0;
}

void sm_events_release(struct sm_decoder *dec, bool deliver)
{
	size_t n = dec->nheld;
	dec->holding = false;
	dec->nheld = 0;
	if (deliver)
		sm_stream_report_garbage(dec); /* the bytes skipped before this frame, first */
	for (size_t i = 0; deliver && i < n; i++) {
		struct sm_held_event *h = &dec->held[i];
		h->ev.detail = h->detail;
		deliver_event(dec, &h->ev);
	}
}

void sm_emit_telegram(struct sm_decoder *dec, const struct sm_origin *org, const struct sm_secinfo *sec)
{
	struct sm_builder *b = &dec->build;
	struct sm_telegram *t = &b->tg;

	/* A telegram proves its candidate: what it held back about it is now worth saying, first. */
	if (dec->holding)
		sm_events_release(dec, true);
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
	case SM_PROTOCOL_C1218: break; /* polled meters never pass through the stream */
	}
	if (dec->on_telegram)
		dec->on_telegram(dec->ctx, t);
}

void sm_emit_event(struct sm_decoder *dec, enum sm_event_level level, enum sm_err err,
                   const struct sm_origin *org, const uint8_t *raw, size_t raw_len, const char *fmt, ...)
{
	char detail[SM_EVENT_DETAIL];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

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
	if (dec->holding) {
		if (dec->nheld < SM_HELD_EVENTS) {
			struct sm_held_event *h = &dec->held[dec->nheld++];
			h->ev = ev;
			memcpy(h->detail, detail, sizeof(detail));
		}
		return;
	}
	deliver_event(dec, &ev);
}
