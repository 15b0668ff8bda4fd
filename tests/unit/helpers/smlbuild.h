/* smlbuild.h — test-side builder of SML 1.04 push files (SML.md): TL fields of any width, the three
 * messages of a push (OpenResponse, GetListResponse with its value list, CloseResponse) with their
 * crc16, and the transport v1 wrapping (aligned escaping, fill bytes, end sequence, file CRC).
 * Written from the spec, independently of the library's sml.c, so that tests build any vector and any
 * defect instead of copying captures. Test/bench code only; no allocation. */
#ifndef SM_TEST_SMLBUILD_H
#define SM_TEST_SMLBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMLBUILD_CAP 8192u

enum smlbuild_crc {
	SMLBUILD_X25 = 0, /* CRC-16/X.25, file CRC low byte first (the standard) */
	SMLBUILD_KERMIT,  /* CRC-16/KERMIT, high byte first (Holley DTZ541) */
	SMLBUILD_BAD,     /* X.25 with one bit flipped */
};

/* The un-escaped message bytes of one file. */
struct smlbuild {
	uint8_t data[SMLBUILD_CAP];
	size_t len;
	size_t msg_start;
	bool short_crc;     /* msg_end: send a crc16 below 256 as Unsigned8 (62 xx), as ISK MT691 does */
	bool used_short;    /* the last msg_end did */
	bool overflow;
};

uint16_t smlbuild_crc16_x25(const uint8_t *p, size_t n);
uint16_t smlbuild_crc16_kermit(const uint8_t *p, size_t n);

void smlbuild_init(struct smlbuild *b);
/* TL field: len = data bytes (scalars) or elements (lists); uses as many TL bytes as the value needs,
 * or at least min_bytes (to build needlessly long TLs). */
void smlbuild_tl(struct smlbuild *b, unsigned type, size_t len, unsigned min_bytes);
void smlbuild_raw(struct smlbuild *b, const void *p, size_t n);
void smlbuild_octets(struct smlbuild *b, const void *p, size_t n);
void smlbuild_absent(struct smlbuild *b); /* 01 */
void smlbuild_uint(struct smlbuild *b, uint64_t v, size_t nbytes);
void smlbuild_int(struct smlbuild *b, int64_t v, size_t nbytes);
void smlbuild_bool(struct smlbuild *b, bool v);
void smlbuild_list(struct smlbuild *b, size_t n);

/* 76 | transactionId (4 bytes) | 62 00 | 62 00 | 72 | 63 tag — the caller writes the body next. */
void smlbuild_msg_begin(struct smlbuild *b, uint32_t transaction, unsigned tag);
/* crc16 over the message so far (crc = X25 / KERMIT / BAD) and the end-of-message 00. */
void smlbuild_msg_end(struct smlbuild *b, enum smlbuild_crc crc);

void smlbuild_open(struct smlbuild *b, uint32_t transaction, const uint8_t *server_id, size_t n, enum smlbuild_crc crc);
void smlbuild_close(struct smlbuild *b, uint32_t transaction, enum smlbuild_crc crc);
/* GetListResponse head up to the valList TL of `entries` entries; then the entries; then _end. */
void smlbuild_getlist_begin(struct smlbuild *b, uint32_t transaction, const uint8_t *server_id, size_t n,
                            size_t entries);
void smlbuild_getlist_end(struct smlbuild *b, enum smlbuild_crc crc);
/* One valList entry: objName, status (absent), valTime (absent), unit (0 = absent), scaler, value,
 * valueSignature (absent). nbytes: the integer's width on the wire (1-8). */
void smlbuild_entry_int(struct smlbuild *b, const uint8_t obis[6], uint8_t unit, int8_t scaler, int64_t v,
                        size_t nbytes);
void smlbuild_entry_uint(struct smlbuild *b, const uint8_t obis[6], uint8_t unit, int8_t scaler, uint64_t v,
                         size_t nbytes);
void smlbuild_entry_octets(struct smlbuild *b, const uint8_t obis[6], const void *p, size_t n);

/* The file: start, data with every aligned 1B1B1B1B doubled, 0-3 fill bytes, end, file CRC.
 * Returns its length, 0 if out is too small. */
size_t smlbuild_file(const struct smlbuild *b, uint8_t *out, size_t cap, enum smlbuild_crc crc);

/* A typical push file as an EMH/ISK meter sends it (~330 bytes): manufacturer, server id
 * 0A 01 "EMH" 00 + serial, 1.8.0 / 1.8.1 / 1.8.2 in Wh (scaler -1, Unsigned64), 16.7.0 in W (scaler -1,
 * Integer32 power_dw tenths of a watt), a 48-byte public key. */
size_t smlbuild_sample(uint8_t *out, size_t cap, uint32_t transaction, uint64_t energy_dwh, int32_t power_dw);

#endif
