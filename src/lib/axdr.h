/* axdr.h — A-XDR "Data" parsing into a bounded, flat, typed tree (PROTOCOLS.md §5).
 * The parser never recurses, never allocates and never reads past the buffer: every length and count the
 * wire states is checked against the bytes that are left before it is believed. The tree refers into the
 * parsed buffer (offsets), so it is only valid while that buffer is.
 * Must never know any meter: what the values mean is cosem.c / layouts.c business. */
#ifndef SMARTMETER_AXDR_H
#define SMARTMETER_AXDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/decoder.h"
#include "smartmeter/error.h"
#include "smartmeter/reading.h"

/* Nodes of one parsed body. The largest real pushes (Kamstrup 33-item lists, L+G push lists with 28
 * capture descriptors, Aidon 27 structures with scaler_unit) need about 200; 2048 leaves room for
 * profile buffers while the tree stays a fixed 32 KiB. */
#define SM_AXDR_MAX_NODES 2048u

/* Wire type tags (Blue Book Ed. 13, Table 2) plus one pseudo tag. */
enum sm_axdr_tag {
	SM_AXDR_NULL = 0x00,
	SM_AXDR_ARRAY = 0x01,
	SM_AXDR_STRUCTURE = 0x02,
	SM_AXDR_BOOLEAN = 0x03,
	SM_AXDR_BITSTRING = 0x04,
	SM_AXDR_INT32 = 0x05,
	SM_AXDR_UINT32 = 0x06,
	SM_AXDR_OCTETS = 0x09,
	SM_AXDR_VISIBLE = 0x0A,
	SM_AXDR_UTF8 = 0x0C,
	SM_AXDR_BCD = 0x0D,
	SM_AXDR_INT8 = 0x0F,
	SM_AXDR_INT16 = 0x10,
	SM_AXDR_UINT8 = 0x11,
	SM_AXDR_UINT16 = 0x12,
	SM_AXDR_COMPACT_ARRAY = 0x13,
	SM_AXDR_INT64 = 0x14,
	SM_AXDR_UINT64 = 0x15,
	SM_AXDR_ENUM = 0x16,
	SM_AXDR_FLOAT32 = 0x17,
	SM_AXDR_FLOAT64 = 0x18,
	SM_AXDR_DATETIME = 0x19,
	SM_AXDR_DATE = 0x1A,
	SM_AXDR_TIME = 0x1B,
	/* Not on the wire as a tag: an untagged COSEM attribute descriptor class-id(2) LN(6) attribute(1),
	 * as the Sagemcom XT211 sends before each value (PROTOCOLS.md §6.7). */
	SM_AXDR_DESCRIPTOR = 0xF0,
};

/* One Data value. Nodes are stored in pre-order: the children of a container start at its index + 1
 * and `next` is the index just past its whole subtree (the next sibling). */
struct sm_axdr_node {
	uint8_t tag;    /* enum sm_axdr_tag */
	uint8_t depth;  /* 0 = the body itself */
	uint16_t count; /* array/structure: number of children */
	uint32_t next;  /* index of the next sibling */
	uint32_t off;   /* offset of the payload (after tag and length) in the parsed buffer */
	uint32_t len;   /* payload bytes; bit-string: bits */
};

struct sm_axdr_tree {
	const uint8_t *buf; /* the parsed buffer (not owned) */
	size_t len;
	uint32_t n; /* nodes used */
	struct sm_axdr_node nodes[SM_AXDR_MAX_NODES];
};

enum sm_axdr_flags {
	SM_AXDR_STRICT = 0,
	/* A structure of two whose first byte is 0x00 starts with an untagged attribute descriptor
	 * (XT211, §6.7). Only tried after a strict parse failed. */
	SM_AXDR_UNTAGGED_DESCRIPTORS = 1u << 0,
	/* The first element of a structure written "06 09 A B C D E F" is an OBIS octet-string whose tag
	 * and length were swapped (L+G ZMF100 EMBRIQ list, corpus neg-hdlc-lg-zmf100-bad-fcs-no). */
	SM_AXDR_SWAPPED_OBIS_TAG = 1u << 1,
	/* What a second reading after a failed strict parse allows. */
	SM_AXDR_LENIENT = SM_AXDR_UNTAGGED_DESCRIPTORS | SM_AXDR_SWAPPED_OBIS_TAG,
};

/* Parse one Data value at buf[0]. tree may be NULL (just measure). On success returns SM_OK and sets
 * *ret_used to the bytes the value occupies (the caller decides about trailing bytes).
 * Errors: SM_E_TRUNCATED (the value runs past len — for streams: "need more"), SM_E_AXDR (malformed:
 * unknown tag, bad length form, length beyond the buffer), SM_E_DEPTH (nesting > SM_AXDR_MAX_DEPTH),
 * SM_E_COUNT (more than SM_AXDR_MAX_NODES values), SM_E_UNSUPPORTED (compact-array). On error a reason
 * with its offset (counted from buf[0] + base_off) is written to detail when detail is not NULL. */
enum sm_err sm_axdr_parse(struct sm_axdr_tree *tree, const uint8_t *buf, size_t len, unsigned flags, size_t base_off,
                          size_t *ret_used, char *detail, size_t detailsz);

/* ---- reading nodes (the caller guarantees idx < tree->n) ---- */
static inline const struct sm_axdr_node *sm_axdr_node(const struct sm_axdr_tree *t, uint32_t idx)
{
	return &t->nodes[idx];
}

static inline const uint8_t *sm_axdr_payload(const struct sm_axdr_tree *t, uint32_t idx)
{
	return t->buf + t->nodes[idx].off;
}

/* Index of the k-th child of container idx, or UINT32_MAX when there is no such child. */
uint32_t sm_axdr_child(const struct sm_axdr_tree *t, uint32_t idx, unsigned k);

bool sm_axdr_is_integer(uint8_t tag); /* int8..uint64, enum, bcd */
bool sm_axdr_is_string(uint8_t tag);  /* octet-, visible-, utf8-string */

/* Integer, enum, bcd, boolean or float value as an exact decimal number. Floats are converted through
 * their shortest round-trip decimal text. Returns SM_OK, SM_E_INVAL (not a number type) or
 * SM_E_UNSUPPORTED (NaN / infinity). */
enum sm_err sm_axdr_number(const struct sm_axdr_tree *t, uint32_t idx, struct sm_number *ret);

/* Octet-string of exactly 6 bytes: an OBIS code (§5.1 "OBIS codes are 09 06 A B C D E F"). */
bool sm_axdr_obis(const struct sm_axdr_tree *t, uint32_t idx, uint8_t ret_obis[6]);

/* ---- DLMS date-time (dlmstime.c, §5.3) ---- */
#define SM_DLMS_DATETIME_LEN 12u
/* Decode 12 bytes. strict = true: only accept when every field is in range or "not specified" and the
 * year is plausible — this is how a date-time octet-string is told from 12 bytes of text (T210-D meter id
 * "178210128502"). strict = false: out-of-range fields just become "not specified". */
bool sm_dlms_datetime(const uint8_t p[SM_DLMS_DATETIME_LEN], bool strict, struct sm_datetime *ret);
/* date (5 bytes: year, month, day, weekday) and time (4 bytes: hour, minute, second, hundredths). */
bool sm_dlms_date(const uint8_t p[5], struct sm_datetime *ret);
bool sm_dlms_time(const uint8_t p[4], struct sm_datetime *ret);

#endif
