/* axdr.c — A-XDR Data parser (PROTOCOLS.md §5.1, §5.2): bytes in, a flat typed tree out.
 * Iterative with an explicit stack bounded by SM_AXDR_MAX_DEPTH, every wire length checked against the
 * bytes that are left (cursor.h) before it is used; a count or length the buffer cannot possibly hold is
 * rejected at once, so depth bombs and "array of 4 billion" headers cost a few bytes of work.
 * Must never allocate, recurse, or interpret what a value means. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axdr.h"
#include "cursor.h"

/* Longest length form we accept: 0x84 + 4 bytes (§5.2). 0x80 (indefinite) is not A-XDR. */
#define SM_AXDR_MAX_LENGTH_BYTES 4u

static enum sm_err fail(char *detail, size_t detailsz, enum sm_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum sm_err fail(char *detail, size_t detailsz, enum sm_err err, const char *fmt, ...)
{
	if (detail && detailsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, detailsz, fmt, ap);
		va_end(ap);
	}
	return err;
}

static const char *tag_name(uint8_t tag)
{
	switch (tag) {
	case SM_AXDR_ARRAY:
		return "array";
	case SM_AXDR_STRUCTURE:
		return "structure";
	case SM_AXDR_BITSTRING:
		return "bit-string";
	case SM_AXDR_OCTETS:
		return "octet-string";
	case SM_AXDR_VISIBLE:
		return "visible-string";
	case SM_AXDR_UTF8:
		return "utf8-string";
	default:
		return "value";
	}
}

/* Payload size of fixed-length types, 0 for null, -1 for types with a length/count or unknown tags. */
static int fixed_size(uint8_t tag)
{
	switch (tag) {
	case SM_AXDR_NULL:
		return 0;
	case SM_AXDR_BOOLEAN:
	case SM_AXDR_BCD:
	case SM_AXDR_INT8:
	case SM_AXDR_UINT8:
	case SM_AXDR_ENUM:
		return 1;
	case SM_AXDR_INT16:
	case SM_AXDR_UINT16:
		return 2;
	case SM_AXDR_INT32:
	case SM_AXDR_UINT32:
	case SM_AXDR_FLOAT32:
	case SM_AXDR_TIME:
		return 4;
	case SM_AXDR_DATE:
		return 5;
	case SM_AXDR_INT64:
	case SM_AXDR_UINT64:
	case SM_AXDR_FLOAT64:
		return 8;
	case SM_AXDR_DATETIME:
		return 12;
	default:
		return -1;
	}
}

/* §5.2: one byte below 0x80, else 0x80|n followed by n big-endian bytes (n = 1..4). */
static enum sm_err ber_length(struct sm_cursor *c, uint32_t *ret)
{
	if (!sm_cursor_need(c, 1))
		return SM_E_TRUNCATED;
	uint8_t first = sm_cursor_u8(c);
	if (first < 0x80) {
		*ret = first;
		return SM_OK;
	}
	unsigned n = first & 0x7Fu;
	if (n == 0 || n > SM_AXDR_MAX_LENGTH_BYTES)
		return SM_E_AXDR;
	if (!sm_cursor_need(c, n))
		return SM_E_TRUNCATED;
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | sm_cursor_u8(c);
	*ret = v;
	return SM_OK;
}

struct open_container {
	uint32_t node;
	uint32_t left;        /* children still to parse */
	bool want_descriptor; /* next child is an untagged attribute descriptor (XT211) */
	bool structure;       /* a structure (not an array) */
	bool first;           /* next child is the first one */
};

enum sm_err sm_axdr_parse(struct sm_axdr_tree *tree, const uint8_t *buf, size_t len, unsigned flags, size_t base_off,
                          size_t *ret_used, char *detail, size_t detailsz)
{
	struct sm_cursor c = sm_cursor_init(buf, len);
	struct open_container stack[SM_AXDR_MAX_DEPTH];
	unsigned depth = 0;
	uint32_t n = 0;

	if (tree) {
		tree->buf = buf;
		tree->len = len;
		tree->n = 0;
	}
	for (;;) {
		size_t at = c.pos;
		uint8_t tag;
		uint32_t count = 0, plen = 0;
		size_t off;

		if (n >= SM_AXDR_MAX_NODES)
			return fail(detail, detailsz, SM_E_COUNT, "more than %u A-XDR values at offset %zu",
			            SM_AXDR_MAX_NODES, base_off + at);
		if (depth && stack[depth - 1].want_descriptor) {
			/* class-id(2) logical-name(6) attribute(1), no tags (§6.7) */
			stack[depth - 1].want_descriptor = false;
			if (!sm_cursor_take(&c, 9))
				return fail(detail, detailsz, SM_E_TRUNCATED,
				            "attribute descriptor needs 9 bytes, %zu left at offset %zu", len - at,
				            base_off + at);
			tag = SM_AXDR_DESCRIPTOR;
			off = at;
			plen = 9;
		} else {
			if (!sm_cursor_need(&c, 1) && depth == 0)
				return fail(detail, detailsz, SM_E_TRUNCATED, "A-XDR data missing at offset %zu",
				            base_off + at);
			if (!sm_cursor_need(&c, 1))
				return fail(detail, detailsz, SM_E_TRUNCATED,
				            "A-XDR data ends at offset %zu with %u element%s of a container missing",
				            base_off + at, stack[depth - 1].left,
				            stack[depth - 1].left == 1 ? "" : "s");
			tag = sm_cursor_u8(&c);
			int fixed = fixed_size(tag);
			if ((flags & SM_AXDR_SWAPPED_OBIS_TAG) && depth && stack[depth - 1].structure &&
			    stack[depth - 1].first && tag == SM_AXDR_UINT32 && sm_cursor_peek(&c) == SM_AXDR_OCTETS) {
				sm_cursor_u8(&c);
				tag = SM_AXDR_OCTETS;
				off = c.pos;
				plen = 6;
				if (!sm_cursor_take(&c, 6))
					return fail(detail, detailsz, SM_E_TRUNCATED,
					            "OBIS code truncated at offset %zu", base_off + at);
			} else if (fixed >= 0) {
				off = c.pos;
				plen = (uint32_t)fixed;
				if (!sm_cursor_take(&c, (size_t)fixed))
					return fail(detail, detailsz, SM_E_TRUNCATED,
					            "A-XDR value of type 0x%02X needs %d bytes, %zu left at offset %zu",
					            tag, fixed, len - off, base_off + at);
			} else if (tag == SM_AXDR_ARRAY || tag == SM_AXDR_STRUCTURE) {
				enum sm_err e = ber_length(&c, &count);
				if (e == SM_E_AXDR)
					return fail(detail, detailsz, e,
					            "A-XDR %s count has a bad length form at offset %zu", tag_name(tag),
					            base_off + at);
				if (e != SM_OK)
					return fail(detail, detailsz, e, "A-XDR %s count truncated at offset %zu",
					            tag_name(tag), base_off + at);
				off = c.pos;
				/* Every element takes at least one byte: a count the node cap cannot hold is garbage,
				 * one the buffer cannot hold is (for a stream) not complete yet. */
				if (count > SM_AXDR_MAX_NODES)
					return fail(detail, detailsz, SM_E_COUNT,
					            "A-XDR %s of %u elements exceeds the cap of %u at offset %zu",
					            tag_name(tag), count, SM_AXDR_MAX_NODES, base_off + at);
				if (count > len - c.pos)
					return fail(detail, detailsz, SM_E_TRUNCATED,
					            "A-XDR %s of %u elements cannot fit in the remaining %zu bytes at "
					            "offset %zu",
					            tag_name(tag), count, len - c.pos, base_off + at);
				if (count > 0 && depth >= SM_AXDR_MAX_DEPTH)
					return fail(detail, detailsz, SM_E_DEPTH,
					            "A-XDR nesting deeper than %u at offset %zu", SM_AXDR_MAX_DEPTH,
					            base_off + at);
			} else if (tag == SM_AXDR_OCTETS || tag == SM_AXDR_VISIBLE || tag == SM_AXDR_UTF8 ||
			           tag == SM_AXDR_BITSTRING) {
				uint32_t l = 0;
				enum sm_err e = ber_length(&c, &l);
				if (e == SM_E_AXDR)
					return fail(detail, detailsz, e, "A-XDR %s has a bad length form at offset %zu",
					            tag_name(tag), base_off + at);
				if (e != SM_OK)
					return fail(detail, detailsz, e, "A-XDR %s length truncated at offset %zu",
					            tag_name(tag), base_off + at);
				off = c.pos;
				plen = l;
				size_t bytes = tag == SM_AXDR_BITSTRING ? ((size_t)l + 7) / 8 : l;
				if (bytes > SM_MAX_FRAME)
					return fail(detail, detailsz, SM_E_AXDR,
					            "A-XDR %s length %zu exceeds the frame cap at offset %zu",
					            tag_name(tag), bytes, base_off + at);
				if (!sm_cursor_take(&c, bytes))
					return fail(detail, detailsz, SM_E_TRUNCATED,
					            "A-XDR %s length %zu exceeds remaining %zu bytes at offset %zu",
					            tag_name(tag), bytes, len - off, base_off + at);
			} else if (tag == SM_AXDR_COMPACT_ARRAY) {
				return fail(detail, detailsz, SM_E_UNSUPPORTED,
				            "A-XDR compact-array (0x13) is not supported, at offset %zu",
				            base_off + at);
			} else {
				return fail(detail, detailsz, SM_E_AXDR, "unknown A-XDR type tag 0x%02X at offset %zu",
				            tag, base_off + at);
			}
		}

		if (depth)
			stack[depth - 1].first = false;
		uint32_t me = n++;
		if (tree) {
			struct sm_axdr_node *nd = &tree->nodes[me];
			nd->tag = tag;
			nd->depth = (uint8_t)depth;
			nd->count = (uint16_t)count;
			nd->next = me + 1;
			nd->off = (uint32_t)off;
			nd->len = plen;
			tree->n = n;
		}
		if ((tag == SM_AXDR_ARRAY || tag == SM_AXDR_STRUCTURE) && count > 0) {
			stack[depth].node = me;
			stack[depth].left = count;
			stack[depth].structure = tag == SM_AXDR_STRUCTURE;
			stack[depth].first = true;
			stack[depth].want_descriptor = (flags & SM_AXDR_UNTAGGED_DESCRIPTORS) &&
			                               tag == SM_AXDR_STRUCTURE && count == 2 &&
			                               sm_cursor_peek(&c) == 0x00 && sm_cursor_left(&c) > 0;
			depth++;
			continue;
		}
		/* A value is complete: close every container it completes. */
		while (depth > 0) {
			if (--stack[depth - 1].left > 0)
				break;
			if (tree)
				tree->nodes[stack[depth - 1].node].next = n;
			depth--;
		}
		if (depth == 0)
			break;
	}
	*ret_used = c.pos;
	return SM_OK;
}

uint32_t sm_axdr_child(const struct sm_axdr_tree *t, uint32_t idx, unsigned k)
{
	const struct sm_axdr_node *nd = &t->nodes[idx];
	if ((nd->tag != SM_AXDR_ARRAY && nd->tag != SM_AXDR_STRUCTURE) || k >= nd->count)
		return UINT32_MAX;
	uint32_t i = idx + 1;
	while (k-- > 0)
		i = t->nodes[i].next;
	return i;
}

bool sm_axdr_is_integer(uint8_t tag)
{
	switch (tag) {
	case SM_AXDR_INT8:
	case SM_AXDR_INT16:
	case SM_AXDR_INT32:
	case SM_AXDR_INT64:
	case SM_AXDR_UINT8:
	case SM_AXDR_UINT16:
	case SM_AXDR_UINT32:
	case SM_AXDR_UINT64:
	case SM_AXDR_ENUM:
	case SM_AXDR_BCD:
		return true;
	default:
		return false;
	}
}

bool sm_axdr_is_string(uint8_t tag)
{
	return tag == SM_AXDR_OCTETS || tag == SM_AXDR_VISIBLE || tag == SM_AXDR_UTF8;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void set_signed(struct sm_number *r, int64_t v)
{
	r->exp10 = 0;
	r->neg = v < 0;
	/* -(v + 1) + 1 avoids overflowing on INT64_MIN */
	r->mag = v < 0 ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
}

/* Shortest decimal that reads back as the same float/double, parsed from "%.*e" text without trusting
 * the locale's decimal point. */
static enum sm_err float_to_number(double v, bool single, struct sm_number *ret)
{
	char s[40];
	if (!isfinite(v))
		return SM_E_UNSUPPORTED;
	int maxp = single ? 9 : 17;
	for (int p = 1; p <= maxp; p++) {
		snprintf(s, sizeof(s), "%.*e", p - 1, v);
		double back = strtod(s, NULL);
		if (p == maxp || (single ? (float)back == (float)v : back == v))
			break;
	}
	uint64_t mag = 0;
	int frac = 0, e = 0;
	bool neg = false, in_frac = false, exp_neg = false;
	const char *q = s;
	if (*q == '-') {
		neg = true;
		q++;
	}
	for (; *q && *q != 'e' && *q != 'E'; q++) {
		if (*q >= '0' && *q <= '9') {
			mag = mag * 10 + (uint64_t)(*q - '0');
			if (in_frac)
				frac++;
		} else {
			in_frac = true; /* '.' or the locale's separator */
		}
	}
	if (*q) {
		q++;
		if (*q == '-' || *q == '+')
			exp_neg = *q++ == '-';
		for (; *q >= '0' && *q <= '9'; q++)
			e = e * 10 + (*q - '0');
	}
	int exp10 = (exp_neg ? -e : e) - frac;
	while (exp10 < 0 && mag != 0 && mag % 10 == 0) {
		mag /= 10;
		exp10++;
	}
	if (mag == 0)
		exp10 = 0;
	if (exp10 > 100 || exp10 < -100)
		return SM_E_UNSUPPORTED;
	ret->mag = mag;
	ret->exp10 = (int8_t)exp10;
	ret->neg = neg && mag != 0;
	return SM_OK;
}

enum sm_err sm_axdr_number(const struct sm_axdr_tree *t, uint32_t idx, struct sm_number *ret)
{
	const struct sm_axdr_node *nd = &t->nodes[idx];
	const uint8_t *p = t->buf + nd->off;
	struct sm_number r = {0, 0, false};

	switch (nd->tag) {
	case SM_AXDR_BOOLEAN:
		r.mag = p[0] != 0;
		break;
	case SM_AXDR_UINT8:
	case SM_AXDR_ENUM:
		r.mag = p[0];
		break;
	case SM_AXDR_UINT16:
		r.mag = be(p, 2);
		break;
	case SM_AXDR_UINT32:
		r.mag = be(p, 4);
		break;
	case SM_AXDR_UINT64:
		r.mag = be(p, 8);
		break;
	case SM_AXDR_INT8:
		set_signed(&r, (int8_t)p[0]);
		break;
	case SM_AXDR_INT16:
		set_signed(&r, (int16_t)be(p, 2));
		break;
	case SM_AXDR_INT32:
		set_signed(&r, (int32_t)be(p, 4));
		break;
	case SM_AXDR_INT64:
		set_signed(&r, (int64_t)be(p, 8));
		break;
	case SM_AXDR_BCD:
		/* two BCD digits; a nibble above 9 is not BCD, keep the byte as it is */
		r.mag = ((p[0] >> 4) < 10 && (p[0] & 15) < 10) ? (uint64_t)((p[0] >> 4) * 10 + (p[0] & 15)) : p[0];
		break;
	case SM_AXDR_FLOAT32: {
		uint32_t bits = (uint32_t)be(p, 4);
		float f;
		memcpy(&f, &bits, sizeof(f));
		enum sm_err e = float_to_number(f, true, &r);
		if (e != SM_OK)
			return e;
		break;
	}
	case SM_AXDR_FLOAT64: {
		uint64_t bits = be(p, 8);
		double d;
		memcpy(&d, &bits, sizeof(d));
		enum sm_err e = float_to_number(d, false, &r);
		if (e != SM_OK)
			return e;
		break;
	}
	default:
		return SM_E_INVAL;
	}
	*ret = r;
	return SM_OK;
}

bool sm_axdr_obis(const struct sm_axdr_tree *t, uint32_t idx, uint8_t ret_obis[6])
{
	const struct sm_axdr_node *nd = &t->nodes[idx];
	if (nd->tag != SM_AXDR_OCTETS || nd->len != 6)
		return false;
	memcpy(ret_obis, t->buf + nd->off, 6);
	return true;
}
