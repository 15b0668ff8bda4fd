/* sml.c — SML 1.04 push files, as German meters send them on their optical INFO interface (SML.md):
 * finds a file by its escape sequences, checks its CRC, undoes the escaping, walks the messages' TL
 * fields and turns each GetListResponse value list into readings.
 * Must never read past the bytes it was given, trust a wire length before checking it against what is
 * there, or guess a value's sign from its width: the one sign rule below (DZG DVS-7412) is tied to the
 * serial numbers the manufacturer's bug is documented for.
 *
 *   file     = 1B1B1B1B 01010101 | message ... | 00 x pad | 1B1B1B1B 1A pad crc crc
 *   message  = 76 | transactionId | groupNo | abortOnError | 72 (63 tag | body) | crc16 | 00
 *   TL byte  = m ttt llll   m: another TL byte (m 000 llll) follows, lengths are the nibbles in order
 *              t: 0 octet string, 4 boolean, 5 signed, 6 unsigned (1-8 bytes, big-endian), 7 list
 *              octet strings and integers count the TL bytes in their length, lists count elements;
 *              01 = an absent optional field, 00 = end of message
 *
 * Escaping: a 1B1B1B1B that falls on a 4-byte boundary of the file is sent twice (the padding keeps the
 * end sequence on a boundary too). As libsml does, only aligned escapes are undone. The end sequence and
 * the start of a new file are recognised at any offset, so that a byte lost on the line costs this file
 * (its CRC fails) and never the next one: an aligned start sequence inside a file ends it at once; an
 * unaligned one may be data, so it only counts when the file's CRC then fails. A failed file is
 * rescanned from its next byte by the framer (stream.c) like every failed candidate.
 * CRC: CRC-16/X.25 over the file through "1A pad", low byte first; each message's crc16 is the X.25 of
 * the message through its body, as an Unsigned16 (or Unsigned8 when it is below 256). Some Holley
 * DTZ541 firmware uses CRC-16/KERMIT for both, high byte first; both are accepted (as libsml does),
 * which leaves a corrupted file a 2 in 65536 chance instead of 1 in 65536. */
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define SM_SML_START_LEN 8u /* 1B1B1B1B 01010101 */
#define SM_SML_END_LEN 8u
/* Longest file waited for. Real files are 200-700 bytes (Holley DTZ541 with 30 entries: 684); a false
 * start in noise holds back what follows it for at most this many bytes. */
#define SM_SML_MAX_FILE 4096u
/* List nesting: message > body > GetListResponse > valList > entry > value or time = 6. */
#define SM_SML_MAX_DEPTH 8u
/* TL bytes of one field: four nibbles say up to 65535, more than a file holds. */
#define SM_SML_MAX_TL 4u
/* Ids longer than this are not turned into a meter id (real server ids: 8-10 bytes). */
#define SM_SML_MAX_ID 32u

enum sml_type {
	SML_OCTETS = 0,
	SML_BOOL = 4,
	SML_INT = 5,
	SML_UINT = 6,
	SML_LIST = 7,
};

/* Message body tags (SML 1.04 §6.x). */
#define SML_OPEN_RES    0x0101u
#define SML_CLOSE_RES   0x0201u
#define SML_GETLIST_RES 0x0701u

static const uint8_t sml_start[SM_SML_START_LEN] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01 };

static bool is_esc(const uint8_t *p)
{
	return p[0] == 0x1B && p[1] == 0x1B && p[2] == 0x1B && p[3] == 0x1B;
}

static bool is_start(const uint8_t *p)
{
	return p[0] == 0x01 && p[1] == 0x01 && p[2] == 0x01 && p[3] == 0x01;
}

/* ---- scanning ---- */

/* The head of the first message: 76, a transactionId in one TL byte, groupNo, abortOnError (Unsigned8
 * or absent), 72 and a body tag 63/65. Random bytes after a start sequence fail here within a few
 * bytes, so that a false start does not hold the stream. */
static enum sm_scan first_message(const uint8_t *p, size_t n)
{
	if (n < 2)
		return n == 1 && p[0] != 0x76 ? SM_SCAN_NO : SM_SCAN_MORE;
	if (p[0] != 0x76 || (p[1] & 0xF0) != 0x00 || (p[1] & 0x0F) == 0)
		return SM_SCAN_NO;
	size_t i = 1 + (p[1] & 0x0F);
	for (int k = 0; k < 2; k++) {
		if (n <= i)
			return SM_SCAN_MORE;
		if (p[i] == 0x01) {
			i++;
			continue;
		}
		if (p[i] != 0x62)
			return SM_SCAN_NO;
		i += 2;
	}
	if (n <= i)
		return SM_SCAN_MORE;
	if (p[i] != 0x72)
		return SM_SCAN_NO;
	if (n <= i + 1)
		return SM_SCAN_MORE;
	return p[i + 1] == 0x63 || p[i + 1] == 0x65 ? SM_SCAN_FRAME : SM_SCAN_NO;
}

/* The file's own CRC over buf[0 .. crc_at), X.25 low byte first or Kermit high byte first. */
static bool file_crc_ok(const uint8_t *buf, size_t crc_at)
{
	uint16_t le = (uint16_t)(buf[crc_at] | buf[crc_at + 1] << 8), be = (uint16_t)(buf[crc_at] << 8 | buf[crc_at + 1]);
	return sm_crc16_x25(buf, crc_at) == le || sm_crc16_kermit(buf, crc_at) == be;
}

enum sm_scan sm_sml_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	size_t have = len < SM_SML_START_LEN ? len : SM_SML_START_LEN;
	if (memcmp(buf, sml_start, have) != 0)
		return SM_SCAN_NO;
	if (len < SM_SML_START_LEN)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;
	enum sm_scan r = first_message(buf + SM_SML_START_LEN, len - SM_SML_START_LEN);
	if (r == SM_SCAN_NO)
		return SM_SCAN_NO;
	if (r == SM_SCAN_MORE)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;

	/* From here on this is certainly the start of an SML file. */
	size_t lim = len < SM_SML_MAX_FILE ? len : SM_SML_MAX_FILE;
	size_t i = SM_SML_START_LEN;
	size_t restart = 0; /* an unaligned start sequence inside: data, unless this file's CRC fails */
	while (i + 4 <= lim) {
		const uint8_t *hit = memchr(buf + i, 0x1B, lim - i);
		if (!hit)
			break;
		i = (size_t)(hit - buf);
		if (i + 4 > lim)
			break;
		if (!is_esc(buf + i)) {
			i++;
			continue;
		}
		if (i + SM_SML_END_LEN > lim)
			break;
		const uint8_t *q = buf + i + 4;
		if (i % 4 == 0 && is_esc(q)) { /* escaped 1B1B1B1B in the data */
			i += 8;
			continue;
		}
		if (q[0] == 0x1A && q[1] <= 3) { /* end sequence: 1A, fill count, CRC */
			*ret_len = i + SM_SML_END_LEN;
			if (file_crc_ok(buf, i + 6))
				return SM_SCAN_FRAME;
			if (restart) { /* this file was cut and a new one began at `restart` */
				*ret_len = restart;
				*ret_err = SM_E_TRUNCATED;
				return SM_SCAN_BAD;
			}
			*ret_err = SM_E_CRC;
			return SM_SCAN_FRAME;
		}
		if (is_start(q)) {
			/* An aligned one cannot be data (the sender would have doubled its 1B1B1B1B): a new file
			 * began before this one ended. An unaligned one can be either; the CRC will tell. */
			if (i % 4 == 0) {
				*ret_len = i;
				*ret_err = SM_E_TRUNCATED;
				return SM_SCAN_BAD;
			}
			if (!restart)
				restart = i;
		}
		i++; /* unaligned 1B1B1B1B in the data, or an escape this version does not know: data */
	}
	/* The span reported (and rescanned by the framer) ends where a new file began, if one did. */
	if (len >= SM_SML_MAX_FILE) {
		*ret_len = restart ? restart : lim;
		*ret_err = restart ? SM_E_TRUNCATED : SM_E_TOO_LONG;
		return SM_SCAN_BAD;
	}
	if (eof) {
		*ret_len = restart ? restart : len;
		*ret_err = SM_E_TRUNCATED;
		return SM_SCAN_BAD;
	}
	return SM_SCAN_MORE;
}

/* ---- the file's content ---- */

struct sml_tl {
	enum sml_type type;
	size_t len;  /* scalars: data bytes after the TL; lists: number of elements */
};

struct sml_ctx {
	struct sm_decoder *dec;
	struct sm_builder *b;
	const uint8_t *base;        /* un-escaped data (dec->scratch) */
	const uint8_t *server_id;   /* from the OpenResponse or GetListResponse, into base */
	size_t server_id_len;
	bool dzg_bug;
	bool lenient;               /* CRC checking off */
	unsigned lists;             /* GetListResponses seen */
	unsigned crc_ignored;       /* message crc16 mismatches let through (lenient) */
	uint16_t entry;             /* position of the next value-list entry */
	enum sm_err err;            /* why the file was rejected */
	char detail[200];
};

static bool fail(struct sml_ctx *x, const struct sm_cursor *c, const char *what)
{
	if (!x->detail[0]) {
		x->err = SM_E_SYNTAX;
		snprintf(x->detail, sizeof(x->detail), "SML file malformed: %s at byte %zu of the un-escaped data", what,
		         c->pos);
	}
	return false;
}

/* Which one-byte TL fields are well-formed (the common case, decided by one look-up): lists of any
 * count, octet strings (01 = absent), booleans of one byte, integers of 1-8 bytes. 00 (end of
 * message) and the unused types 1-3 are not fields. */
static const uint8_t tl_ok[128] = {
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* A TL of more than one byte (long octet strings, lists of 16 or more). */
static bool read_long_tl(struct sm_cursor *c, struct sml_tl *tl)
{
	uint8_t b = c->p[c->pos++];
	size_t v = b & 0x0Fu, hdr = 1;
	unsigned t = (b >> 4) & 7u;

	while (b & 0x80) { /* further TL bytes: m 000 llll */
		if (hdr == SM_SML_MAX_TL || c->pos >= c->len)
			return false;
		b = c->p[c->pos++];
		if (b & 0x70)
			return false;
		v = v << 4 | (b & 0x0Fu);
		hdr++;
	}
	tl->type = (enum sml_type)t;
	if (t == SML_LIST) {
		tl->len = v;
		return true;
	}
	tl->len = v - hdr;
	if (v < hdr || tl->len > c->len - c->pos)
		return false;
	/* a long TL for a boolean or an integer is legal if its length still fits the type */
	return t == SML_OCTETS || (t == SML_BOOL && tl->len == 1) ||
	       ((t == SML_INT || t == SML_UINT) && tl->len >= 1 && tl->len <= 8);
}

/* A TL field. false when it is malformed or says more bytes than are left. */
static inline bool read_tl(struct sm_cursor *c, struct sml_tl *tl)
{
	if (c->bad || c->pos >= c->len) {
		c->bad = true;
		return false;
	}
	uint8_t b = c->p[c->pos];
	if (b & 0x80)
		return read_long_tl(c, tl);
	c->pos++;
	tl->type = (enum sml_type)(b >> 4);
	size_t v = b & 0x0Fu;
	if (!tl_ok[b])
		return false;
	if (tl->type == SML_LIST) {
		tl->len = v;
		return true;
	}
	tl->len = v - 1; /* scalars count their TL byte */
	return tl->len <= c->len - c->pos;
}

static bool skip_element(struct sm_cursor *c, unsigned depth)
{
	struct sml_tl tl;
	if (depth > SM_SML_MAX_DEPTH || !read_tl(c, &tl))
		return false;
	if (tl.type != SML_LIST)
		return sm_cursor_take(c, tl.len) != NULL;
	for (size_t k = 0; k < tl.len; k++)
		if (!skip_element(c, depth + 1))
			return false;
	return true;
}

static bool skip_n(struct sm_cursor *c, size_t n, unsigned depth)
{
	for (size_t k = 0; k < n; k++) {
		if (!c->bad && c->pos < c->len && c->p[c->pos] == 0x01) { /* absent: most skipped fields are */
			c->pos++;
			continue;
		}
		if (!skip_element(c, depth))
			return false;
	}
	return true;
}

static uint64_t be_bytes(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* An unsigned field (tags, crc16, unit): false when it is something else. */
static bool read_uint(struct sm_cursor *c, uint64_t *ret)
{
	struct sml_tl tl;
	if (!read_tl(c, &tl) || tl.type != SML_UINT)
		return false;
	*ret = be_bytes(sm_cursor_take(c, tl.len), tl.len);
	return true;
}

/* An octet string (absent = empty). */
static bool read_octets(struct sm_cursor *c, const uint8_t **ret, size_t *ret_len)
{
	struct sml_tl tl;
	if (!read_tl(c, &tl) || tl.type != SML_OCTETS)
		return false;
	*ret = sm_cursor_take(c, tl.len);
	*ret_len = tl.len;
	return true;
}

/* Two's complement of 1-8 big-endian bytes (SML allows the odd widths 3, 5, 6, 7 too). */
static void int_number(const uint8_t *p, size_t n, bool is_signed, struct sm_number *ret)
{
	uint64_t v = be_bytes(p, n);
	ret->neg = false;
	if (is_signed && (p[0] & 0x80)) {
		if (n < 8)
			v |= ~UINT64_C(0) << (8 * n);
		ret->neg = true;
		v = UINT64_C(0) - v; /* magnitude; 2^63 for the most negative Integer64 */
	}
	ret->mag = v;
}

/* DZG DVS-7412 firmware sends 1-0:16.7.0 as Integer16 although the value is unsigned (0x8b28 = 356.24 W
 * read as -299.12 W); its negative values always take 4 bytes. libsml (sml_list.c,
 * detect_buggy_dzg_dvs74) identifies the affected meters by their 1-0:96.1.0 server id 0A 01 "DZG" + a
 * big-endian serial in 42000000-48999999 or 55000000-58999999 and re-reads a 16.7.0 Integer of at most
 * 2 bytes as unsigned; the same rule here (from that entry or the messages' serverId), nowhere else. */
static bool dzg_power_sign_bug(const uint8_t *id, size_t n)
{
	if (n != 10 || id[0] != 0x0A || id[1] != 0x01 || memcmp(id + 2, "DZG", 3) != 0 || id[5] != 0x00)
		return false;
	uint32_t serial = (uint32_t)be_bytes(id + 6, 4);
	return (serial >= 42000000u && serial <= 48999999u) || (serial >= 55000000u && serial <= 58999999u);
}

static void set_server_id(struct sml_ctx *x, const uint8_t *p, size_t n)
{
	if (!p || n == 0)
		return;
	x->server_id = p;
	x->server_id_len = n;
	x->dzg_bug = dzg_power_sign_bug(p, n);
}

/* valList entry: list of 7 = objName, status, valTime, unit, scaler, value, valueSignature. */
static bool parse_entry(struct sml_ctx *x, struct sm_cursor *c)
{
	static const uint8_t net_power[6] = { 1, 0, 16, 7, 0, 255 }, server_id_code[6] = { 1, 0, 96, 1, 0, 255 };
	struct sml_tl tl;
	const uint8_t *name;
	size_t name_len;
	uint64_t unit = 0;
	int scaler = 0;

	if (!read_tl(c, &tl) || tl.type != SML_LIST || tl.len < 6)
		return fail(x, c, "value-list entry is not a list of 7");
	size_t fields = tl.len;
	if (!read_octets(c, &name, &name_len))
		return fail(x, c, "entry objName is not an octet string");
	if (!skip_n(c, 2, 5)) /* status (a status word of any width, or absent), valTime (any form) */
		return fail(x, c, "entry status or valTime malformed");
	if (!read_tl(c, &tl))
		return fail(x, c, "entry unit malformed");
	if (tl.type == SML_UINT)
		unit = be_bytes(sm_cursor_take(c, tl.len), tl.len);
	else if (tl.type != SML_OCTETS || !sm_cursor_take(c, tl.len))
		return fail(x, c, "entry unit is not an Unsigned8");
	if (!read_tl(c, &tl))
		return fail(x, c, "entry scaler malformed");
	if (tl.type == SML_INT || tl.type == SML_UINT) {
		const uint8_t *p = sm_cursor_take(c, tl.len);
		struct sm_number s;
		int_number(p, tl.len, tl.type == SML_INT, &s);
		if (s.mag > 100) /* 10^±100 is no meter value; also keeps exp10 within int8 */
			return fail(x, c, "entry scaler out of range");
		scaler = s.neg ? -(int)s.mag : (int)s.mag;
	} else if (tl.type != SML_OCTETS || !sm_cursor_take(c, tl.len)) {
		return fail(x, c, "entry scaler is not an Integer8");
	}

	struct sm_reading *r = sm_builder_add(x->b);
	struct sm_reading dummy;
	if (!r) { /* cap reached: keep walking to check the rest of the file, note the overflow */
		memset(&dummy, 0, sizeof(dummy));
		r = &dummy;
	}
	r->position = x->entry++;
	if (name && name_len == 6) {
		memcpy(r->obis, name, 6);
		r->has_obis = true;
	}
	if (!read_tl(c, &tl))
		return fail(x, c, "entry value malformed");
	switch (tl.type) {
	case SML_OCTETS:
		r->value.type = SM_VALUE_OCTETS;
		r->value.u.text.str = (const char *)sm_cursor_take(c, tl.len);
		r->value.u.text.len = tl.len;
		/* libsml reads the serial from this entry; the messages' serverId (set_server_id) is the same */
		if (r->has_obis && memcmp(r->obis, server_id_code, 6) == 0 &&
		    dzg_power_sign_bug((const uint8_t *)r->value.u.text.str, tl.len))
			x->dzg_bug = true;
		break;
	case SML_BOOL:
		r->value.type = SM_VALUE_BOOL;
		r->value.u.boolean = sm_cursor_u8(c) != 0;
		break;
	case SML_INT:
	case SML_UINT: {
		const uint8_t *p = sm_cursor_take(c, tl.len);
		bool is_signed = tl.type == SML_INT;
		if (is_signed && tl.len <= 2 && x->dzg_bug && r->has_obis && memcmp(r->obis, net_power, 6) == 0)
			is_signed = false;
		r->value.type = SM_VALUE_NUMBER;
		int_number(p, tl.len, is_signed, &r->value.u.num);
		r->value.u.num.exp10 = (int8_t)scaler;
		r->value.unit = unit <= 255 ? sm_unit_from_dlms((uint8_t)unit) : NULL;
		break;
	}
	case SML_LIST: /* a structured value (time, list type): not a reading we can show */
		r->value.type = SM_VALUE_NONE;
		if (!skip_n(c, tl.len, 6))
			return fail(x, c, "entry value list malformed");
		break;
	}
	if (!skip_n(c, fields - 6, 5)) /* valueSignature and anything a later version adds */
		return fail(x, c, "entry valueSignature malformed");
	return !c->bad || fail(x, c, "entry cut short");
}

/* GetListResponse: clientId, serverId, listName, actSensorTime, valList, listSignature, actGatewayTime. */
static bool parse_getlist(struct sml_ctx *x, struct sm_cursor *c)
{
	struct sml_tl tl;
	const uint8_t *id;
	size_t id_len;

	if (!read_tl(c, &tl) || tl.type != SML_LIST || tl.len < 5)
		return fail(x, c, "GetListResponse is not a list of 7");
	size_t fields = tl.len;
	if (!skip_element(c, 3) || !read_octets(c, &id, &id_len))
		return fail(x, c, "GetListResponse serverId malformed");
	set_server_id(x, id, id_len);
	if (!skip_n(c, 2, 3)) /* listName, actSensorTime (secIndex list, or a bare Unsigned32 on Holley) */
		return fail(x, c, "GetListResponse listName or actSensorTime malformed");
	if (!read_tl(c, &tl) || tl.type != SML_LIST)
		return fail(x, c, "GetListResponse valList is not a list");
	for (size_t k = 0; k < tl.len; k++)
		if (!parse_entry(x, c))
			return false;
	x->lists++;
	if (!skip_n(c, fields - 5, 3))
		return fail(x, c, "GetListResponse listSignature or actGatewayTime malformed");
	return true;
}

/* OpenResponse: codepage, clientId, reqFileId, serverId, refTime, smlVersion. */
static bool parse_open(struct sml_ctx *x, struct sm_cursor *c)
{
	struct sml_tl tl;
	const uint8_t *id;
	size_t id_len;

	if (!read_tl(c, &tl) || tl.type != SML_LIST || tl.len < 4)
		return fail(x, c, "OpenResponse is not a list of 6");
	if (!skip_n(c, 3, 3) || !read_octets(c, &id, &id_len) || !skip_n(c, tl.len - 4, 3))
		return fail(x, c, "OpenResponse malformed");
	if (!x->server_id)
		set_server_id(x, id, id_len);
	return true;
}

static const char *body_name(uint64_t tag)
{
	switch (tag) {
	case SML_OPEN_RES: return "OpenResponse";
	case SML_CLOSE_RES: return "CloseResponse";
	case SML_GETLIST_RES: return "GetListResponse";
	default: return "message";
	}
}

static bool parse_message(struct sml_ctx *x, struct sm_cursor *c)
{
	struct sml_tl tl;
	uint64_t tag, said;
	size_t start = c->pos;

	if (!read_tl(c, &tl) || tl.type != SML_LIST || tl.len != 6)
		return fail(x, c, "message is not a list of 6");
	if (!skip_n(c, 3, 1)) /* transactionId, groupNo, abortOnError */
		return fail(x, c, "message header malformed");
	if (!read_tl(c, &tl) || tl.type != SML_LIST || tl.len != 2 || !read_uint(c, &tag))
		return fail(x, c, "message body is not a (tag, body) pair");
	bool ok;
	switch (tag) {
	case SML_OPEN_RES: ok = parse_open(x, c); break;
	case SML_GETLIST_RES: ok = parse_getlist(x, c); break;
	default: ok = skip_element(c, 2) || fail(x, c, "message body malformed"); break; /* CloseResponse, others */
	}
	if (!ok)
		return false;
	size_t body_end = c->pos;
	if (!read_uint(c, &said) || said > 0xFFFF)
		return fail(x, c, "message crc16 is not an Unsigned16");
	uint16_t x25 = sm_crc16_x25(x->base + start, body_end - start);
	/* The Unsigned16 holds the low CRC byte first, i.e. the byte-swapped value (Unsigned8 when < 256). */
	if (said != (uint16_t)(x25 << 8 | x25 >> 8) && said != sm_crc16_kermit(x->base + start, body_end - start)) {
		if (!x->lenient) {
			x->err = SM_E_CRC;
			snprintf(x->detail, sizeof(x->detail), "SML %s crc16 mismatch: message says %04X, computed %04X",
			         body_name(tag), (unsigned)said, (unsigned)(uint16_t)(x25 << 8 | x25 >> 8));
			return false;
		}
		x->crc_ignored++;
	}
	if (sm_cursor_u8(c) != 0x00 || c->bad)
		return fail(x, c, "message without its end-of-message byte");
	return true;
}

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return false;
	return n > 0;
}

static const char *hex_id(struct sm_builder *b, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * SM_SML_MAX_ID];
	if (!p || n == 0 || n > SM_SML_MAX_ID)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 15];
	}
	return sm_builder_strdup(b, buf, 2 * n);
}

static const struct sm_reading *find_octets(const struct sm_telegram *t, const uint8_t obis[6])
{
	const struct sm_reading *r = sm_telegram_find(t, obis);
	return r && r->value.type == SM_VALUE_OCTETS && r->value.u.text.len > 0 ? r : NULL;
}

/* meter_id: the server id entry 1-0:0.0.9 (older meters) or 1-0:96.1.0 (newer), else the messages'
 * serverId (EasyMeter Q3B, old EMH); header: the FLAG manufacturer id 1-0:96.50.1.1 or 129-129:199.130.3. */
static void settle_ids(struct sml_ctx *x)
{
	static const uint8_t id_codes[][6] = { { 1, 0, 0, 0, 9, 255 }, { 1, 0, 96, 1, 0, 255 } };
	static const uint8_t maker_codes[][6] = { { 1, 0, 96, 50, 1, 1 }, { 129, 129, 199, 130, 3, 255 } };
	struct sm_telegram *t = &x->b->tg;

	for (size_t k = 0; k < 2 && !t->meter_id; k++) {
		const struct sm_reading *r = find_octets(t, id_codes[k]);
		if (r)
			t->meter_id = hex_id(x->b, (const uint8_t *)r->value.u.text.str, r->value.u.text.len);
	}
	if (!t->meter_id)
		t->meter_id = hex_id(x->b, x->server_id, x->server_id_len);
	for (size_t k = 0; k < 2 && !t->header; k++) {
		const struct sm_reading *r = find_octets(t, maker_codes[k]);
		if (r && r->value.u.text.len <= 16 && printable((const uint8_t *)r->value.u.text.str, r->value.u.text.len))
			t->header = sm_builder_strdup(x->b, r->value.u.text.str, r->value.u.text.len);
	}
}

/* Undo the escaping of the data between start and end sequence: an aligned 1B1B1B1B 1B1B1B1B is one
 * 1B1B1B1B. Returns the data length (never more than len). */
static size_t unescape(const uint8_t *f, size_t len, uint8_t *out)
{
	size_t o = 0, i = SM_SML_START_LEN, end = len - SM_SML_END_LEN;
	while (i < end) {
		const uint8_t *hit = memchr(f + i, 0x1B, end - i);
		size_t j = hit ? (size_t)(hit - f) : end;
		memcpy(out + o, f + i, j - i);
		o += j - i;
		i = j;
		if (i >= end)
			break;
		if (i % 4 == 0 && i + 8 <= end && is_esc(f + i) && is_esc(f + i + 4)) {
			memcpy(out + o, f + i, 4);
			o += 4;
			i += 8;
		} else {
			out[o++] = f[i++];
		}
	}
	return o;
}

bool sm_sml_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err)
{
	struct sm_origin org = { SM_FRAMING_SML, offset, len };
	struct sml_ctx x;

	if (len < SM_SML_START_LEN + SM_SML_END_LEN || len - SM_SML_START_LEN - SM_SML_END_LEN > sizeof(dec->scratch)) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TOO_LONG, &org, frame, len, "SML file of %zu bytes: too short or too long", len);
		return false;
	}
	memset(&x, 0, sizeof(x));
	x.dec = dec;
	x.b = &dec->build;
	x.lenient = dec->cfg.dsmr_crc_optional;
	if (scan_err == SM_E_CRC) {
		size_t at = len - 2;
		unsigned said = (unsigned)(frame[at] | frame[at + 1] << 8);
		unsigned x25 = sm_crc16_x25(frame, at), kermit = sm_crc16_kermit(frame, at);
		if (!x.lenient) {
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_CRC, &org, frame, len,
			              "SML file CRC mismatch: file says %04X, computed %04X (X.25; Kermit %04X)", said, x25,
			              (unsigned)(uint16_t)(kermit << 8 | kermit >> 8));
			return false;
		}
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_CRC, &org, frame, len,
		              "SML file CRC mismatch: file says %04X, computed %04X; decoded anyway (CRC check off)", said,
		              x25);
	}

	size_t n = unescape(frame, len, dec->scratch);
	x.base = dec->scratch;
	struct sm_cursor c = sm_cursor_init(dec->scratch, n);

	sm_builder_reset(x.b);
	x.b->tg.protocol = SM_PROTOCOL_SML;
	x.b->tg.readings = x.b->readings; /* sm_telegram_find() in settle_ids looks at them before emitting */
	x.b->tg.cells = x.b->cells;

	bool ok = true;
	unsigned messages = 0;
	while (ok && c.pos < n && dec->scratch[c.pos] != 0x00) {
		ok = parse_message(&x, &c);
		messages++;
	}
	/* What is left must be the fill bytes. */
	for (size_t i = c.pos; ok && i < n; i++)
		if (dec->scratch[i] != 0x00)
			ok = fail(&x, &c, "bytes after the end-of-message where only fill bytes belong");
	if (!ok) {
		sm_emit_event(dec, SM_EVENT_ERROR, x.err, &org, frame, len, "%s", x.detail);
		/* A message crc16 that fails (with the file CRC right) is a damaged frame; malformed content
		 * under good CRCs is still this file, nothing to rescan. */
		return x.err != SM_E_CRC;
	}
	if (x.lists == 0) {
		sm_emit_event(dec, SM_EVENT_NOTE, SM_OK, &org, NULL, 0,
		              "SML file with %u message%s but no GetListResponse: no values", messages,
		              messages == 1 ? "" : "s");
		return true;
	}
	settle_ids(&x);
	if (x.b->overflow) {
		x.b->tg.note = "telegram incomplete: more values than the decoder's caps";
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_COUNT, &org, NULL, 0, "SML file with more than %u values: the rest dropped",
		              SM_MAX_READINGS);
	}
	if (x.crc_ignored)
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_CRC, &org, NULL, 0,
		              "%u SML message crc16 mismatch%s ignored (CRC check off)", x.crc_ignored,
		              x.crc_ignored == 1 ? "" : "es");
	sm_emit_telegram(dec, &org, NULL);
	return true;
}
