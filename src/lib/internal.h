/* internal.h — how the library's layers talk to each other (not installed).
 * The stream (stream.c) owns the byte buffer and the decoder object; each framing layer offers a
 * scan function that judges a candidate frame at the head of the buffer, and a handler that takes a
 * checked frame. Layers build readings through the telegram builder and report through sm_emit_*.
 * Nothing here may do I/O, log, or allocate after sm_decoder_new(). */
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
struct sm_dlms;    /* hdlc/mbus/gbt reassembly + A-XDR scratch: dlms.c */
struct sm_cipher;  /* libgcrypt handle, keys in secure memory, counters: cipher.c */

struct sm_decoder {
	struct sm_decoder_config cfg;       /* keys wiped from here after handing them to the cipher */
	sm_telegram_cb on_telegram;
	sm_event_cb on_event;
	void *ctx;

	uint8_t buf[SM_MAX_FRAME + 64];     /* unconsumed stream bytes */
	size_t len;
	uint64_t buf_offset;                /* stream offset of buf[0] */
	size_t garbage_run;                 /* skipped bytes not yet reported */
	uint64_t garbage_offset;
	bool mask_high_bit;                 /* current DSMR telegram arrived as 7E1-read-as-8N1 */

	struct sm_builder build;
	struct sm_stats stats;
	struct sm_dlms *dlms;
	struct sm_cipher *cipher;
	uint8_t scratch[SM_MAX_FRAME];      /* decrypted plaintext etc. */
	struct sm_axdr_tree axdr;           /* A-XDR tree of the notification being decoded (axdr.c, cosem.c) */
};

/* Deliver the builder's telegram (fills origin/security fields, counts it). */
void sm_emit_telegram(struct sm_decoder *dec, const struct sm_origin *org, const struct sm_secinfo *sec);
/* Report an event; fmt is printf-style for the detail text. */
void sm_emit_event(struct sm_decoder *dec, enum sm_event_level level, enum sm_err err,
                   const struct sm_origin *org, const uint8_t *raw, size_t raw_len,
                   const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- DSMR (dsmr.c) ---- */
/* buf[0] is '/' (already bit-7-masked by the stream when needed). eof: no more bytes will come. */
enum sm_scan sm_dsmr_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err);
/* Check CRC and decode one complete telegram (from '/' through the CRC line); emits the telegram
 * or an error event. Also used for decrypted DSMR (sec != NULL). */
void sm_dsmr_telegram(struct sm_decoder *dec, const uint8_t *tg, size_t len,
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
/* A frame of the given framing: reassemble, unwrap, decode, emit. checked: the scanner verified its FCS /
 * checksum (a damaged frame is handed on with *ret_err set, so that the handler reports the values). */
void sm_dlms_frame(struct sm_decoder *dec, enum sm_framing framing, const uint8_t *frame, size_t len, uint64_t offset,
                   bool checked);
/* Idle / end of input: drop unfinished multi-frame messages with an SM_E_INCOMPLETE error. */
void sm_dlms_flush(struct sm_decoder *dec);

/* ---- APDU content (axdr.c, cosem.c) ---- */
/* apdu[0] == 0x0F: decode a data-notification and emit one telegram (or an error event). */
void sm_cosem_notification(struct sm_decoder *dec, const uint8_t *apdu, size_t len,
                           const struct sm_origin *org, const struct sm_secinfo *sec);
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
uint16_t sm_crc16_x25(const uint8_t *p, size_t n);   /* HDLC HCS/FCS: init 0xFFFF, xorout 0xFFFF */
uint8_t sm_sum8(const uint8_t *p, size_t n);          /* M-Bus checksum */

/* ---- units (units.c) ---- */
/* Normalise a DSMR unit text ("kVArh" -> "kvarh"); returns a static string or NULL if unknown. */
const char *sm_unit_normalise(const char *s, size_t len);
/* DLMS unit enumeration (Blue Book table 4) to our spelling; NULL for none/unknown. */
const char *sm_unit_from_dlms(uint8_t code);

#endif
