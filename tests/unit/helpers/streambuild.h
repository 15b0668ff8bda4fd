/* streambuild.h — test-side builder of noisy meter streams: good messages of every framing (DSMR with
 * CRC, encrypted DSMR, HDLC, HDLC with a ciphered APDU, M-Bus, bare and ciphered bare APDUs, SML files) mixed with
 * damaged ones (truncated, bit-flipped, over-long, wrong key), and a checker that tells which good
 * messages came out of a decoder and whether anything else did. Each message carries a serial number
 * as its energy register (1-0:1.8.0 in DLMS, 1-0:1.8.1 in DSMR) and serial % 1000 as 1-0:1.7.0, so a
 * decoded telegram names the message it came from. Test and bench code only. */
#ifndef SM_TEST_STREAMBUILD_H
#define SM_TEST_STREAMBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/decoder.h"

enum sb_kind {
	SB_DSMR = 0,  /* DSMR 5 telegram with CRC */
	SB_DSMR_GCM,  /* the same, wrapped in a bare general-glo-ciphering APDU (Luxembourg style) */
	SB_HDLC,      /* HDLC frame, LLC + plain data-notification */
	SB_HDLC_GCM,  /* HDLC frame, LLC + ciphered data-notification */
	SB_MBUS,      /* M-Bus long frame, DLMS transport, plain data-notification */
	SB_APDU,      /* bare data-notification */
	SB_APDU_GCM,  /* bare ciphered data-notification */
	SB_SML,       /* SML file (OpenResponse, GetListResponse, CloseResponse) */
	SB_KINDS,
};

enum sb_damage {
	SB_GOOD = 0,
	SB_TRUNCATED, /* cut at a random byte; the next message follows at once */
	SB_BITFLIP,   /* one bit flipped inside the checked span */
	SB_OVERLONG,  /* claims more bytes than it has (length field raised; DSMR: no end line; SML: no end
	               * sequence) */
	SB_WRONGKEY,  /* encrypted with another key (plain framings: bit flip instead) */
	SB_DAMAGES,
};

/* The keys the stream's ciphered messages use (the decoder config for them: sb_config). */
extern const uint8_t sb_key[16];
extern const uint8_t sb_auth_key[16];
void sb_config(struct sm_decoder_config *cfg);

const char *sb_kind_name(enum sb_kind k);

/* A data-notification (0F, invoke id = serial, no date-time) with an array of nregs (2..127) registers
 * {OBIS, double-long-unsigned, scaler_unit}: 1-0:1.8.0 = serial Wh, 1-0:1.7.0 = serial % 1000 W, then
 * filler registers. Returns its length, 0 if it does not fit. */
size_t sb_notification(uint8_t *out, size_t cap, uint32_t serial, unsigned nregs);

/* One message into out (capacity cap); returns its length (0 if it does not fit). rng is a xorshift state. */
size_t sb_message(uint8_t *out, size_t cap, enum sb_kind k, uint32_t serial, enum sb_damage d, uint64_t *rng);

/* A stream of n messages whose kinds come from kinds[0..nkinds), every `damage_every`-th one damaged with
 * a damage chosen at random. good[] (capacity n) gets 1 for each good message. Returns bytes written. */
struct sb_stream {
	uint8_t *buf;
	size_t len;
	size_t n;          /* messages */
	uint8_t *good;     /* good[serial - 1]: 1 = good message */
	uint8_t *kind;     /* kind of each message */
	uint8_t *damage;   /* enum sb_damage of each message */
	size_t ngood;
};
void sb_stream_build(struct sb_stream *s, size_t n, const enum sb_kind *kinds, size_t nkinds, unsigned damage_every,
                     uint64_t seed);
void sb_stream_free(struct sb_stream *s);

/* The checker: install as the decoder's telegram callback with a struct sb_seen as ctx. */
struct sb_seen {
	size_t n;
	unsigned *count;   /* count[serial - 1]: times that message was decoded */
	size_t foreign;    /* telegrams that name no message or have wrong values */
	size_t telegrams;
};
void sb_seen_init(struct sb_seen *s, size_t n);
void sb_seen_free(struct sb_seen *s);
void sb_on_telegram(void *ctx, const struct sm_telegram *t);
/* Good messages never decoded; damaged messages that came out anyway (counted in *ret_damaged). */
size_t sb_lost(const struct sb_stream *st, const struct sb_seen *s, size_t *ret_damaged);

/* Feed the whole stream: chunk 0 = all at once, SIZE_MAX = random chunk sizes 1..4096, else fixed. Then flush. */
void sb_feed(struct sm_decoder *dec, const uint8_t *buf, size_t len, size_t chunk, uint64_t seed);

uint32_t sb_rand(uint64_t *rng);

#endif
