/* decoder.h — the push-driven stream decoder: bytes in, telegrams out.
 * One decoder per byte stream. It finds DSMR telegrams, HDLC frames, M-Bus long frames, bare
 * APDUs and SML files in any chunking, checks, reassembles, decrypts and decodes them, and calls back once per
 * complete telegram/notification. It does no I/O, no logging, keeps no globals and allocates
 * nothing after sm_decoder_new(). */
#ifndef SMARTMETER_DECODER_H
#define SMARTMETER_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "reading.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Named caps (see DESIGN.md "every length the wire controls has a cap"). */
#define SM_MAX_FRAME      16384u /* one DSMR telegram (1024-char messages hex-encoded fit twice) or one reassembled APDU */
#define SM_MAX_READINGS   512u   /* readings per telegram: DSMR 5 sends ~40, the largest DLMS lists ~80 */
#define SM_MAX_CELLS      1024u  /* cells of buffer values (BE 13-month peaks = 39, power-failure log = 20) */
#define SM_TEXT_POOL      32768u /* bytes of decoded text per telegram */
#define SM_AXDR_MAX_DEPTH 8u     /* nesting of A-XDR arrays/structures; real pushes use <= 4 */
#define SM_KEY_LEN        16u    /* AES-128 */
#define SM_MAX_SYSTEM_TITLES 8u  /* invocation counters remembered per decoder */

struct sm_decoder;

/* Something went wrong with one frame, or a remark about one (severity note).
 * detail is a short NUL-terminated English phrase without the offset, e.g.
 * "CRC mismatch: telegram says 6EEE, computed A309". Never contains key material. */
enum sm_event_level {
	SM_EVENT_ERROR = 0, /* a frame was rejected and not published */
	SM_EVENT_WARNING,   /* frame published, but something is off (not authenticated, counter backwards, partial layout) */
	SM_EVENT_NOTE,      /* skipped garbage, resynchronised */
};

struct sm_event {
	enum sm_event_level level;
	enum sm_err err;
	enum sm_framing framing;
	uint64_t offset;      /* stream offset of the frame (or of the skipped bytes) */
	size_t length;        /* bytes concerned */
	const char *detail;   /* NUL-terminated; valid during the callback only */
	const uint8_t *raw;   /* the rejected frame's bytes when available (for hex capture), else NULL */
	size_t raw_len;
};

typedef void (*sm_telegram_cb)(void *ctx, const struct sm_telegram *t);
typedef void (*sm_event_cb)(void *ctx, const struct sm_event *ev);

struct sm_decoder_config {
	bool dsmr_crc_optional;        /* accept a CRC mismatch (logged as a warning); default false = reject.
	                                * Applies to every framing's check (DSMR CRC, HDLC FCS, M-Bus sum, SML CRCs). */
	bool has_key;
	uint8_t key[SM_KEY_LEN];       /* GUEK; copied into secure memory by sm_decoder_new(); caller should wipe its copy */
	bool has_auth_key;
	uint8_t auth_key[SM_KEY_LEN];  /* GAK */
	bool publish_replayed;         /* publish frames whose invocation counter went backwards (default false) */
};

/* Create a decoder. cfg may be NULL (defaults). Callbacks may be NULL.
 * Returns NULL with *ret_err set on failure (SM_E_NOMEM, SM_E_CRYPTO). */
struct sm_decoder *sm_decoder_new(const struct sm_decoder_config *cfg,
                                  sm_telegram_cb on_telegram, sm_event_cb on_event, void *ctx,
                                  enum sm_err *ret_err);

/* Feed bytes exactly as the serial port delivered them, in any chunking.
 * Calls the callbacks synchronously, zero or more times. */
void sm_decoder_feed(struct sm_decoder *dec, const uint8_t *buf, size_t len);

/* The line went idle (or the input ended): complete what can be completed (a DSMR telegram whose
 * CRC line had no CR LF, a bare APDU delimited by timing) and report what cannot (truncated frame,
 * unfinished multi-frame message) as an error. The stream offset keeps counting. */
void sm_decoder_flush(struct sm_decoder *dec);

/* Replace keys (SIGHUP). Same ownership rule as in sm_decoder_new. */
enum sm_err sm_decoder_set_keys(struct sm_decoder *dec, const struct sm_decoder_config *cfg);

struct sm_stats {
	uint64_t bytes;           /* fed in total */
	uint64_t garbage_bytes;   /* skipped outside any frame */
	uint64_t telegrams;       /* delivered to on_telegram */
	uint64_t dsmr;            /* of which DSMR */
	uint64_t dlms;            /* of which DLMS */
	uint64_t sml;             /* of which SML */
	uint64_t errors;          /* SM_EVENT_ERROR events */
	uint64_t crc_errors;      /* CRC / HCS / FCS / checksum errors */
	uint64_t decrypt_errors;  /* no key, wrong key, auth failures */
	bool high_bit_seen;       /* 7E1 data read as 8N1 was detected and masked */
};

void sm_decoder_stats(const struct sm_decoder *dec, struct sm_stats *ret_stats);

/* NULL is accepted. Wipes key material. */
void sm_decoder_free(struct sm_decoder *dec);

/* Value of one hex digit (0-9, a-f, A-F), or -1. */
int sm_hex_digit(int c);

/* Parse 32 hex digits (whitespace/colons not allowed) into a key. Returns SM_OK or SM_E_INVAL. */
enum sm_err sm_key_parse(const char *hex, uint8_t ret_key[SM_KEY_LEN]);

/* Library version string, e.g. "0.1.0". */
const char *sm_version(void);

#ifdef __cplusplus
}
#endif
#endif
