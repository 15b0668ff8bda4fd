/* dlmsbuild.h — test-side builders of DLMS link-layer frames: HDLC type 3 (with correct HCS/FCS,
 * segmented or not), wired M-Bus long frames (with checksum, segmented), general-block-transfer blocks
 * and plain data-notifications (PROTOCOLS.md §3, §4). Written from the spec, independently of the
 * library's parsers, so tests can build any vector (and any defect) instead of copying captures.
 * Test/bench code only. Every builder returns the bytes written, 0 when out is too small. */
#ifndef SM_TEST_DLMSBUILD_H
#define SM_TEST_DLMSBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HDLC frame parameters. Addresses are given encoded (bit 0 = 1 on the last byte), 1, 2 or 4 bytes. */
struct dlmsbuild_hdlc {
	uint8_t dst[4];
	size_t dst_len;
	uint8_t src[4];
	size_t src_len;
	uint8_t control;    /* e.g. 0x13 UI, 0x10 I-frame (Kaifa); non-final segments use control & ~0x10 */
	bool no_open_flag;  /* leave out the opening 7E (to build shared-flag streams) */
	bool no_close_flag; /* leave out the closing 7E */
};

/* Aidon-like addressing: dst 41, src 08 83, control 13. */
extern const struct dlmsbuild_hdlc dlmsbuild_hdlc_aidon;
/* Iskra-like addressing: dst CF, src 02 23, control 13 (03 on non-final segments). */
extern const struct dlmsbuild_hdlc dlmsbuild_hdlc_iskra;
/* Landis+Gyr-like: dst CE FF (2 bytes), src 03, control 13. */
extern const struct dlmsbuild_hdlc dlmsbuild_hdlc_lg;

/* LLC header E6 E7 00. */
extern const uint8_t dlmsbuild_llc[3];

/* CRC-16/X.25 (HDLC HCS/FCS), written here from the spec so tests do not trust the library's copy. */
uint16_t dlmsbuild_crc16_x25(const uint8_t *p, size_t n);

/* One frame: [7E] format(S, length) dst src control HCS info FCS [7E]. info may be empty (no HCS then). */
size_t dlmsbuild_hdlc_frame(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, bool segmented,
                            const uint8_t *info, size_t n);

/* An APDU cut into HDLC segments of at most seg_info information bytes each (LLC prepended to the first
 * when llc is set): S=1 + control & ~0x10 on all but the last. Each frame has both flags.
 * *ret_frames (may be NULL) gets the number of frames. */
size_t dlmsbuild_hdlc_segmented(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, bool llc, const uint8_t *apdu,
                                size_t n, size_t seg_info, size_t *ret_frames);

/* A-XDR / BER length (short form below 0x80, else 81 / 82 / 84). Returns bytes written (out >= 5). */
size_t dlmsbuild_length(uint8_t *out, size_t v);

/* general-block-transfer block: E0 | control (0x40 streaming, | 0x80 last) | number | ack 0 | length | data. */
size_t dlmsbuild_gbt_block(uint8_t *out, size_t cap, unsigned number, bool last, const uint8_t *data, size_t n);

/* An APDU as L+G sends it: GBT blocks of at most block_data bytes, one per HDLC frame, LLC only in the
 * first frame. Returns total bytes; *ret_frames (may be NULL) the number of frames. */
size_t dlmsbuild_hdlc_gbt(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, const uint8_t *apdu, size_t n,
                          size_t block_data, size_t *ret_frames);

/* M-Bus long frame 68 L L 68 C A CI [01 67] data sum 16 with C = 53, A = FF. L above 255 is sent modulo
 * 256 (the Sagemcom T210-D quirk) — callers decide whether that is what they want. */
size_t dlmsbuild_mbus_frame(uint8_t *out, size_t cap, uint8_t ci, bool tsap, const uint8_t *data, size_t n);

/* An APDU cut into M-Bus segments of at most seg_data DLMS bytes: CI = number, | 0x10 on the last. */
size_t dlmsbuild_mbus_segmented(uint8_t *out, size_t cap, bool tsap, const uint8_t *apdu, size_t n, size_t seg_data,
                                size_t *ret_frames);

/* data-notification: 0F | invoke id | date-time 00 (absent) | body. */
size_t dlmsbuild_notification(uint8_t *out, size_t cap, uint32_t invoke_id, const uint8_t *body, size_t n);

/* A valid data-notification whose body is one octet-string of `payload` bytes, filled with a pattern that
 * holds the traps of §3.1: 7E flags, "7E A0" frame starts, 68 and E6 E7 00 sequences. */
size_t dlmsbuild_sample_notification(uint8_t *out, size_t cap, uint32_t invoke_id, size_t payload);

/* A ciphered-APDU header without real cryptography (for framing tests): tag | 08 | st | length | SC |
 * IC | payload (payload stands for ciphertext [+ tag]). */
size_t dlmsbuild_fake_cipher(uint8_t *out, size_t cap, uint8_t tag, const uint8_t st[8], uint8_t sc, uint32_t ic,
                             const uint8_t *payload, size_t n);

#endif
