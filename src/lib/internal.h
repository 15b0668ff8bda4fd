/* internal.h — how the library's layers talk to each other (not installed).
 * The decoder object and its event sink live in decoder.c; the framer (stream.c) owns the byte buffer
 * and a table of framings, each a scan function that judges a candidate frame at the read index and a
 * handler that checks and decodes a complete one. Layers build readings through the telegram builder
 * and report through sm_emit_*. Nothing here may do I/O, log, or allocate after sm_decoder_new(). */
#ifndef SMARTMETER_INTERNAL_H
#define SMARTMETER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/decoder.h"
#include "smartmeter/reading.h"

#include "axdr.h" /* struct sm_axdr_tree: the A-XDR parse scratch inside the decoder */

/* ---- scanning: is there a frame of this kind at buf[0]? ---- */
enum sm_scan {
	SM_SCAN_NO = 0,  /* not a frame start of this kind: the stream skips one byte */
	SM_SCAN_MORE,    /* plausible so far, need more bytes */
	SM_SCAN_FRAME,   /* a complete, checked frame of *ret_len bytes */
	SM_SCAN_BAD,     /* certainly this framing but broken: drop *ret_len bytes, report *ret_err */
};

/* ---- the framer table (stream.c) ----
 * Adding a framing is one row in stream.c's framers[] and two functions:
 *   scan:   judges buf[0..len) (buf[0] passed the row's start test). Pure: no decoder, no state. Contract:
 *           never read past len; with eof set never return SM_SCAN_MORE; SM_SCAN_FRAME with *ret_len =
 *           the frame's bytes (its check may be left to the handler); SM_SCAN_BAD with *ret_err when it is
 *           certainly this framing but broken (reported once by the framer); SM_SCAN_NO when not a start.
 *   handle: takes the complete candidate, checks what the scanner left unchecked, decodes, emits the
 *           telegram or the error. Returns true when the bytes were a frame (the framer moves past
 *           them), false when the candidate failed its check or rules: the framer then rescans from the
 *           candidate's next byte for every framing, so a failure never costs a good frame. A handler
 *           that cannot fail returns true.
 * A framing whose frames carry their own check sets `checked`; unchecked framings (bare APDUs) are not
 * tried inside the payload of a checked frame that failed. The integrity rules are listed at the top
 * of stream.c and in README "Integrity rules": a new framing adds its line there. */
typedef enum sm_scan (*sm_scan_fn)(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
typedef bool (*sm_handle_fn)(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset,
                             enum sm_err scan_err);
struct sm_framer {
	bool (*starts)(uint8_t b); /* may a frame of this kind start with this byte? */
	const char *name;          /* "HDLC frame": for messages */
	enum sm_framing framing;
	bool checked;
	sm_scan_fn scan;
	sm_handle_fn handle;
	/* NULL, or: must this complete candidate be followed by the end of input or another frame's start
	 * (its own bytes cannot vouch for where it ends)? */
	bool (*needs_boundary)(const struct sm_decoder *dec, const uint8_t *frame, size_t len);
};

/* Security facts of a decrypted frame, carried to the telegram. */
struct sm_secinfo {
	bool encrypted;
	bool authenticated;
	bool counter_backwards;
	uint8_t security_control;
	uint8_t system_title[8];
	uint32_t invocation_counter;
};

/* Where a frame came from, for error messages and the telegram. */
struct sm_origin {
	enum sm_framing framing;
	uint64_t offset;   /* stream offset of the first frame's first byte */
	size_t length;     /* bytes on the wire (all frames of a reassembled message) */
};

/* ---- telegram builder: fixed arrays inside the decoder, reset per telegram ---- */
struct sm_builder {
	struct sm_telegram tg;
	struct sm_reading readings[SM_MAX_READINGS];
	struct sm_value cells[SM_MAX_CELLS];
	char pool[SM_TEXT_POOL];
	size_t pool_used;
	bool overflow;     /* a cap was hit: the telegram is incomplete */
};

void sm_builder_reset(struct sm_builder *b);
/* Returns a zeroed reading appended to the telegram, or NULL (and overflow set) when full. */
struct sm_reading *sm_builder_add(struct sm_builder *b);
/* Copies len bytes into the pool and NUL-terminates; NULL (overflow set) when full. */
const char *sm_builder_strdup(struct sm_builder *b, const void *s, size_t len);
/* Reserves n consecutive cells; returns the first index or -1 (overflow set). */
int sm_builder_cells(struct sm_builder *b, size_t n);

/* ---- the decoder object ---- */
#define SM_CRC_POWERS 15 /* 2^15 > the buffer: every span length is a sum of these powers */
struct sm_dlms;    /* hdlc/mbus/gbt reassembly + A-XDR scratch: dlms.c */
struct sm_cipher;  /* libgcrypt handle, keys in secure memory, counters: cipher.c */

/* An event held back while a candidate inside a failed candidate's span is judged (decoder.c). */
#define SM_EVENT_DETAIL 256u
#define SM_HELD_EVENTS  8u
struct sm_held_event {
	struct sm_event ev;
	char detail[SM_EVENT_DETAIL];
};

struct sm_decoder {
	struct sm_decoder_config cfg;       /* keys wiped from here after handing them to the cipher */
	sm_telegram_cb on_telegram;
	sm_event_cb on_event;
	void *ctx;

	uint8_t buf[SM_MAX_FRAME + 64];     /* stream bytes; buf[head..len) not yet framed */
	size_t head;
	size_t len;
	uint64_t buf_offset;                /* stream offset of buf[0] */
	uint8_t framer_of[256];             /* start byte -> framers[] row + 1, 0 = starts nothing */
	uint64_t shadow_lo, shadow_hi;      /* payload start of the last failed checked frame (offsets) */
	uint64_t quiet_until;               /* end of the failed candidates' spans being rescanned */
	bool holding;                       /* events held until the candidate proves itself */
	size_t nheld;
	struct sm_held_event held[SM_HELD_EVENTS];
	uint16_t crc_pre[SM_MAX_FRAME + 64 + 1]; /* X.25 register over buf[0..i) from 0, valid up to crc_valid */
	size_t crc_valid;
	uint16_t crc_zero[SM_CRC_POWERS][4][16]; /* 2^k zero bytes as a linear map: sm_stream_crc16_x25 */
	size_t garbage_run;                 /* skipped bytes not yet reported */
	uint64_t garbage_offset;
	bool mask_high_bit;                 /* current DSMR telegram arrived as 7E1-read-as-8N1 */

	struct sm_override overrides[SM_MAX_OVERRIDES]; /* copied from the config */
	size_t noverrides;
	struct sm_builder build;
	struct sm_stats stats;
	struct sm_dlms *dlms;
	struct sm_cipher *cipher;
	uint8_t scratch[SM_MAX_FRAME];      /* decrypted plaintext etc. */
	struct sm_axdr_tree axdr;           /* A-XDR tree of the notification being decoded (axdr.c, cosem.c) */
};

/* stream.c: set up the start-byte index and CRC tables (from sm_decoder_new). */
void sm_stream_init(struct sm_decoder *dec);
/* CRC-16/X.25 of p[0..n): O(log n) when p lies in the stream buffer (running prefix), else direct. */
uint16_t sm_stream_crc16_x25(struct sm_decoder *dec, const uint8_t *p, size_t n);
/* An unchecked frame starting in [from, to) (stream offsets) is refused: it would be the payload of a
 * frame that failed its check (and may hold the damage). Only where the payload begins, so that a frame
 * that merely starts inside a truncated one still decodes. */
void sm_stream_shadow(struct sm_decoder *dec, uint64_t from, uint64_t to);
/* Emit the "skipped n bytes" note for the garbage run so far, if any. */
void sm_stream_report_garbage(struct sm_decoder *dec);

/* Deliver the builder's telegram (fills origin/security fields, counts it). */
void sm_emit_telegram(struct sm_decoder *dec, const struct sm_origin *org, const struct sm_secinfo *sec);
/* Rescanning a failed candidate's span finds frame-like bytes in its payload: their failures are
 * noise, not news. hold() keeps events back; release(deliver) delivers or forgets them. A telegram
 * releases them (delivering) before it is emitted. */
void sm_events_hold(struct sm_decoder *dec);
void sm_events_release(struct sm_decoder *dec, bool deliver);
/* Report an event; fmt is printf-style for the detail text. */
void sm_emit_event(struct sm_decoder *dec, enum sm_event_level level, enum sm_err err,
                   const struct sm_origin *org, const uint8_t *raw, size_t raw_len,
                   const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- DSMR (dsmr.c) ---- */
/* buf[0] is '/' (already bit-7-masked by the stream when needed). eof: no more bytes will come. */
enum sm_scan sm_dsmr_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
/* Check CRC and the integrity rules and decode one complete telegram (from '/' through the CRC line);
 * emits the telegram (SM_OK) or an error event (the error's code). Also used for decrypted DSMR
 * (sec != NULL). */
enum sm_err sm_dsmr_telegram(struct sm_decoder *dec, const uint8_t *tg, size_t len,
                      const struct sm_origin *org, const struct sm_secinfo *sec);

/* ---- DLMS (hdlc.c, mbus.c, apdu.c, axdr.c, cosem.c; state in dlms.c) ---- */
enum sm_err sm_dlms_new(struct sm_dlms **ret);
void sm_dlms_free(struct sm_dlms *d);
/* Scanners for candidate starts: 0x7E (HDLC), 0x68 (M-Bus long frame), bare APDU tags
 * (0x0F, 0xE6, 0xE0, 0xDB, 0xDC). Contract for every scanner: never read past len; with eof set,
 * never return SM_SCAN_MORE (a candidate that passed its header check becomes SM_SCAN_BAD with
 * SM_E_TRUNCATED and *ret_len = len; one that did not becomes SM_SCAN_NO). */
enum sm_scan sm_hdlc_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
enum sm_scan sm_mbus_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
enum sm_scan sm_rawapdu_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
/* Framer handlers (see "the framer table"): check, reassemble, unwrap, decode, emit. */
bool sm_hdlc_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err);
bool sm_mbus_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err);
bool sm_rawapdu_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err);
/* A bare APDU nothing but its own structure vouches for: plain (its end comes from its A-XDR alone), or
 * ciphered while no key is configured (its length cannot be checked). */
bool sm_rawapdu_unsealed(const struct sm_decoder *dec, const uint8_t *frame, size_t len);
/* Idle / end of input: drop unfinished multi-frame messages with an SM_E_INCOMPLETE error. */
void sm_dlms_flush(struct sm_decoder *dec);

/* ---- SML (sml.c) ---- */
/* Framer row for start byte 0x1B (1B1B1B1B 01010101). The scanner follows the framer contract; a file
 * cut short (a new start sequence, the end of input, or SM_SML_MAX_FILE bytes without an end
 * sequence) is SM_SCAN_BAD / SM_E_TRUNCATED over the bytes up to the next file's start; a file whose
 * end sequence is there but whose CRC (X.25, or the Kermit variant of Holley DTZ541) fails is
 * SM_SCAN_FRAME with scan_err = SM_E_CRC, left to the handler to report with both values. */
enum sm_scan sm_sml_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
/* Handler: un-escapes into dec->scratch, checks every message's crc16, decodes the value lists and
 * emits one telegram or one error event. false (rescan) only when a CRC failed and checking is on; a
 * file whose CRCs hold is a frame even when its content cannot be decoded. */
bool sm_sml_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err);

/* ---- APDU content (axdr.c, cosem.c) ---- */
/* apdu[0] == 0x0F: decode a data-notification and emit one telegram (SM_OK). On failure returns the
 * error with a reason in detail and emits nothing: the caller reports it (it knows whether a wrong key
 * is the likelier cause). A bare unciphered notification (org->framing == SM_FRAMING_RAW, sec == NULL)
 * must also parse exactly and yield an OBIS-keyed reading or a layout row, else SM_E_LAYOUT with
 * detail "" (noise, not worth an event). */
enum sm_err sm_cosem_notification(struct sm_decoder *dec, const uint8_t *apdu, size_t len,
                           const struct sm_origin *org, const struct sm_secinfo *sec, char *detail,
                           size_t detailsz);
/* Length of the complete A-XDR encoded data-notification starting at buf[0] == 0x0F, for bare-APDU
 * framing: SM_SCAN_FRAME with *ret_len, SM_SCAN_MORE, or SM_SCAN_NO when it cannot be one. */
enum sm_scan sm_axdr_measure_notification(const uint8_t *buf, size_t len, size_t *ret_len);

/* ---- cipher (cipher.c: the only file that includes <gcrypt.h>) ---- */
enum sm_err sm_cipher_new(struct sm_cipher **ret);
void sm_cipher_free(struct sm_cipher *c);
/* ek/ak may be NULL (= no such key). Keys live in gcrypt secure memory; libgcrypt is initialised with the
 * first key (SM_E_CRYPTO when it cannot be), so a decoder without keys never touches it. */
enum sm_err sm_cipher_set_keys(struct sm_cipher *c, const uint8_t *ek, const uint8_t *ak);
/* apdu starts with 0xDB or 0xDC. Writes the plaintext APDU to out (capacity outsz), fills *ret_len
 * and *sec. On failure returns SM_E_NO_KEY / SM_E_DECRYPT / SM_E_AUTH / SM_E_TRUNCATED /
 * SM_E_UNSUPPORTED and writes a reason (never key material) to detail. */
enum sm_err sm_cipher_unwrap(struct sm_cipher *c, const uint8_t *apdu, size_t len,
                             uint8_t *out, size_t outsz, size_t *ret_len,
                             struct sm_secinfo *sec, char *detail, size_t detailsz);
/* (Also SM_E_REPLAY: counter went backwards and replays are not published; SM_E_SYNTAX: bad length
 * form; SM_E_TOO_LONG: plaintext larger than outsz; SM_E_INVAL: not DB/DC; SM_E_CRYPTO: libgcrypt failed.)
 * sec is filled as far as the header was parsed, also on failure. On SM_OK detail may still hold a
 * remark (counter backwards but published, or a counter restart accepted). */
/* Whether frames whose invocation counter went backwards are returned (flagged) or refused with
 * SM_E_REPLAY; from sm_decoder_config.publish_replayed. Default false. Policy: top of cipher.c. */
void sm_cipher_set_replay_policy(struct sm_cipher *c, bool publish_replayed);
/* Polish Elgama encrypted P1 (PROTOCOLS.md §2.5, unsupported): p follows a DSMR identification line and
 * its blank line. Returns the burst length (00 | BER length | SC ... tag) when p starts like that body
 * (needs the first 3-5 bytes), else 0. For the DSMR layer to drop it as SM_E_UNSUPPORTED, never to decrypt. */
size_t sm_cipher_headerless_len(const uint8_t *p, size_t len);

/* ---- checksums (crc.c) ---- */
uint16_t sm_crc16_arc(const uint8_t *p, size_t n);   /* DSMR: poly 0xA001 reflected, init 0 */
uint16_t sm_crc16_x25(const uint8_t *p, size_t n);   /* HDLC HCS/FCS, SML: init 0xFFFF, xorout 0xFFFF */
uint16_t sm_crc16_x25_step(uint16_t reg, uint8_t b);  /* one byte into the raw X.25 register (no init/xorout) */
uint16_t sm_crc16_kermit(const uint8_t *p, size_t n); /* SML of Holley DTZ541: same polynomial, init 0, no xorout */
uint8_t sm_sum8(const uint8_t *p, size_t n);          /* M-Bus checksum */

/* ---- units (units.c) ---- */
/* Normalise a DSMR unit text ("kVArh" -> "kvarh"); returns a static string or NULL if unknown. */
const char *sm_unit_normalise(const char *s, size_t len);
/* DLMS unit enumeration (Blue Book table 4) to our spelling; NULL for none/unknown. */
const char *sm_unit_from_dlms(uint8_t code);

#endif
