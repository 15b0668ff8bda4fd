/* dsmr.c — DSMR / IEC 62056-21 P1 telegrams (PROTOCOLS.md §1, §2).
 *
 *   '/' XXXZ identification CR LF          header (opaque text)
 *   CR LF
 *   A-B:C.D.E[*F](value[*unit])(...)... CR LF   data lines, any order, any number of groups
 *   '!' [0-4 hex digits of CRC-16/ARC over '/'..'!'] CR LF
 *
 * A generic line grammar, not a list of known lines: the meaning of a line comes from the shape of its
 * groups (one value; capture time + value; profile "(count)(obis)...(rows)"), so a line no one listed
 * still decodes. Values are kept as exact decimals. Must never trust the telegram's text: every group
 * is bounded, every number checked for overflow, and an unparseable line is skipped, not fatal.
 */
#include <string.h>

#include "internal.h"

#define SM_DSMR_MAX_GROUPS 128u /* BE 13-month history: 2 + 13*3 = 41; HU billing line ~20; room for more */
#define SM_DSMR_MAX_HEADER 128u /* "/ISk5\2MT382-1000" is 17; anything near 128 is not a header */
#define SM_DSMR_MAX_DIGITS 19u  /* digits that fit a uint64 mantissa without overflow */

static bool is_hex(uint8_t c)
{
	return sm_hex_digit(c) >= 0;
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The three FLAG letters after '/' ("ISk", "KFM", "NWA"): cheap proof that a '/' opens a telegram. */
static enum sm_scan header_check(const uint8_t *buf, size_t len)
{
	for (size_t i = 1; i < 4; i++) {
		if (i >= len)
			return SM_SCAN_MORE;
		if (!is_alpha(buf[i]))
			return SM_SCAN_NO;
	}
	return SM_SCAN_FRAME;
}

/* The first index from i (below end) whose byte may end, break or restart a telegram body: '/', '!'
 * or NUL. Eight bytes per step (the exact SWAR "has a zero byte" test on x, x ^ '/', x ^ '!'): data
 * lines are ~99 % of a telegram and need none of the per-byte checks below. */
static size_t skip_plain(const uint8_t *b, size_t i, size_t end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	while (i + 8 <= end) {
		uint64_t x, s, e;
		memcpy(&x, b + i, 8);
		s = x ^ ('/' * ones);
		e = x ^ ('!' * ones);
		if ((((x - ones) & ~x) | ((s - ones) & ~s) | ((e - ones) & ~e)) & highs)
			break;
		i += 8;
	}
	while (i < end && b[i] != '/' && b[i] != '!' && b[i] != 0)
		i++;
	return i;
}

enum sm_scan sm_dsmr_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	enum sm_scan h = header_check(buf, len);
	if (h == SM_SCAN_NO || (h == SM_SCAN_MORE && eof))
		return SM_SCAN_NO;
	if (h == SM_SCAN_MORE)
		return SM_SCAN_MORE;

	bool in_header = true;
	for (size_t i = 1; i < len; i++) {
		if (!in_header && (i = skip_plain(buf, i, len < SM_MAX_FRAME ? len : SM_MAX_FRAME)) == len)
			break;
		uint8_t c = buf[i];
		if (i >= SM_MAX_FRAME) {
			*ret_len = i;
			*ret_err = SM_E_TOO_LONG;
			return SM_SCAN_BAD;
		}
		/* A new telegram starting means this one lost its end (cable pulled, buffer overrun in the
		 * adapter): reject what we have, resynchronise on the new '/'. A header is "/XXX" at a line
		 * start, or "/XXXd" (FLAG id + baud digit) anywhere: '/' never occurs in data lines. */
		if (c == '/' && header_check(buf + i, len - i) != SM_SCAN_NO &&
		    (buf[i - 1] == '\n' || (i + 4 < len && buf[i + 4] >= '0' && buf[i + 4] <= '9'))) {
			*ret_len = i;
			*ret_err = SM_E_TRUNCATED;
			return SM_SCAN_BAD;
		}
		if (in_header) {
			/* The identification line must end within SM_DSMR_MAX_HEADER bytes, in 7-bit text
			 * (control characters occur: Iskra's "/ISk5<STX>MIE5T-200"). */
			if (c == '\r' || c == '\n')
				in_header = false;
			else if (i >= SM_DSMR_MAX_HEADER || c == 0x00 || c >= 0x7F)
				return SM_SCAN_NO;
			continue;
		}
		/* Polish Elgama: clear header, blank line, then a ciphered body with no system title
		 * (PROTOCOLS.md §2.5; no public IV construction). Drop the whole burst as unsupported
		 * instead of reading binary as lines. */
		if (c == 0x00 && i >= 3 && buf[i - 1] == '\n' && (buf[i - 2] == '\n' || buf[i - 3] == '\n')) {
			size_t body = sm_cipher_headerless_len(buf + i, len - i);
			if (body == 0 && len - i < 4 && !eof)
				return SM_SCAN_MORE;
			if (body > 0) {
				if (i + body > len && !eof)
					return SM_SCAN_MORE;
				*ret_len = i + body <= len ? i + body : len;
				*ret_err = SM_E_UNSUPPORTED;
				return SM_SCAN_BAD;
			}
		}
		/* Bytes no DSMR meter sends end the candidate at once, so that a telegram cut short does not
		 * run on over the binary frames that follow. Bytes 0x80..0xFF stay: a Hungarian meter sends
		 * 0xFF inside a message, under its CRC (and a CRC-less telegram must be clean text anyway). */
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7F) {
			*ret_len = i;
			*ret_err = SM_E_SYNTAX;
			return SM_SCAN_BAD;
		}
		if (c != '!' || (buf[i - 1] != '\n' && buf[i - 1] != '\r'))
			continue;
		/* '!' then 0-4 hex digits, then optional CR LF. */
		size_t j = i + 1;
		while (j < len && j - i - 1 < 4 && is_hex(buf[j]))
			j++;
		if (j == len) {
			if (!eof)
				return SM_SCAN_MORE;
			*ret_len = j;
			return SM_SCAN_FRAME;
		}
		if (buf[j] == '\r') {
			if (j + 1 == len && !eof)
				return SM_SCAN_MORE;
			j++;
			if (j < len && buf[j] == '\n')
				j++;
		} else if (buf[j] == '\n') {
			j++;
		}
		*ret_len = j;
		return SM_SCAN_FRAME;
	}
	if (eof) {
		if (in_header)
			return SM_SCAN_NO;
		*ret_len = len;
		*ret_err = SM_E_TRUNCATED;
		return SM_SCAN_BAD;
	}
	return SM_SCAN_MORE;
}

/* ---- values ---- */

struct span {
	const uint8_t *p;
	size_t n;
};

static struct span trim(struct span s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.n--;
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* "[-+]digits[.digits]" -> exact decimal. */
static bool parse_number(struct span s, struct sm_number *ret)
{
	struct sm_number n = { 0, 0, false };
	size_t i = 0, digits = 0;
	bool dot = false;
	int frac = 0;

	if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
		n.neg = s.p[0] == '-';
		i++;
	}
	if (i == s.n)
		return false;
	for (; i < s.n; i++) {
		uint8_t c = s.p[i];
		if (c == '.' && !dot) {
			dot = true;
			continue;
		}
		if (c < '0' || c > '9')
			return false;
		if (n.mag == 0 && c == '0') {
			/* Leading zeros carry no digit of the mantissa (but do count as decimals). */
		} else if (++digits > SM_DSMR_MAX_DIGITS) {
			return false;
		}
		n.mag = n.mag * 10 + (uint64_t)(c - '0');
		if (dot)
			frac++;
	}
	if (dot && frac == 0)
		return false;
	n.exp10 = (int8_t)-frac;
	*ret = n;
	return true;
}

static unsigned two(const uint8_t *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

/* TST "YYMMDDhhmmssX" (X = S summer / W winter, DSMR >= 4) or TST12 without the flag (DSMR 3).
 * The offset follows the flag (S = +02:00, W = +01:00, or the configured zone's pair: apply_time_zone):
 * it is what the meter states, even where it contradicts the calendar (Danish, Swedish meters). Returns false if it is not a TST at all;
 * *ret_valid is false for the placeholders meters send on empty channels (632525252525W,
 * 700101010000W) and for impossible fields. */
static bool parse_tst(struct span s, struct sm_datetime *ret, bool *ret_valid)
{
	if (s.n != 12 && s.n != 13)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	struct sm_datetime dt = { 0 };
	if (s.n == 13) {
		uint8_t x = s.p[12];
		if (x != 'S' && x != 'W' && x != 's' && x != 'w')
			return false;
		dt.has_offset = true;
		dt.dst = x == 'S' || x == 's';
		dt.offset_min = dt.dst ? 120 : 60;
	}
	dt.year = (uint16_t)(2000 + two(s.p));
	dt.month = (uint8_t)two(s.p + 2);
	dt.day = (uint8_t)two(s.p + 4);
	dt.hour = (uint8_t)two(s.p + 6);
	dt.minute = (uint8_t)two(s.p + 8);
	dt.second = (uint8_t)two(s.p + 10);
	dt.hundredths = 0xFF;
	dt.has_date = dt.has_time = true;
	*ret_valid = dt.month >= 1 && dt.month <= 12 && dt.day >= 1 && dt.day <= 31 && dt.hour < 24 &&
	             dt.minute < 60 && dt.second < 61 && !(two(s.p) == 70 && dt.month == 1 && dt.day == 1);
	*ret = dt;
	return true;
}

/* Objects whose text is an identifier (hex-encoded in DSMR 4/5, PROTOCOLS.md §1.4): never turned into
 * numbers, so that leading zeros survive. C.D = 96.1 (equipment ids), 42.0 (logical device name),
 * 96.13 (messages), 0.0 (device address). */
static bool is_identifier(const uint8_t o[6])
{
	return (o[2] == 96 && (o[3] == 1 || o[3] == 13)) || (o[2] == 42 && o[3] == 0) || (o[2] == 0 && o[3] == 0);
}

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return false;
	return true;
}

/* Text value: hex-encoded ids become their text when every byte is printable; the exact telegram
 * text is kept in raw. Non-printable bytes (a Hungarian meter sends 1024 x 0xFF as a message) are
 * octets, printed as hex. */
static void set_text(struct sm_builder *b, struct sm_reading *r, struct span s, bool ident)
{
	struct sm_value *v = &r->value;
	v->type = SM_VALUE_TEXT;
	if (ident && s.n >= 2 && s.n % 2 == 0 && s.n / 2 < 1024) {
		uint8_t tmp[1024];
		bool hex = true;
		for (size_t i = 0; i < s.n && hex; i++)
			hex = is_hex(s.p[i]);
		if (hex) {
			for (size_t i = 0; i < s.n / 2; i++)
				tmp[i] = (uint8_t)(sm_hex_digit(s.p[2 * i]) << 4 | sm_hex_digit(s.p[2 * i + 1]));
			if (printable(tmp, s.n / 2)) {
				v->u.text.str = sm_builder_strdup(b, tmp, s.n / 2);
				v->u.text.len = v->u.text.str ? s.n / 2 : 0;
				r->raw = sm_builder_strdup(b, s.p, s.n);
				r->raw_len = r->raw ? s.n : 0;
				return;
			}
		}
	}
	if (!printable(s.p, s.n))
		v->type = SM_VALUE_OCTETS;
	v->u.text.str = sm_builder_strdup(b, s.p, s.n);
	v->u.text.len = v->u.text.str ? s.n : 0;
}

/* One "(value[*unit])" group into a value. Timestamps, numbers, text. */
static void set_value(struct sm_builder *b, struct sm_reading *r, struct span g, bool ident, bool is_time)
{
	struct span val = g, unit = { NULL, 0 };
	const uint8_t *star = memchr(g.p, '*', g.n);
	if (star) {
		val.n = (size_t)(star - g.p);
		unit.p = star + 1;
		unit.n = g.n - val.n - 1;
	}
	val = trim(val);
	unit = trim(unit);

	struct sm_value *v = &r->value;
	bool valid;
	if (!star && !ident && parse_tst(val, &v->u.dt, &valid) && (val.n == 13 || is_time)) {
		v->type = valid ? SM_VALUE_DATETIME : SM_VALUE_NONE;
		return;
	}
	if (!ident && parse_number(val, &v->u.num)) {
		v->type = SM_VALUE_NUMBER;
		if (unit.n) {
			v->unit = sm_unit_normalise((const char *)unit.p, unit.n);
			if (!v->unit)
				v->unit = sm_builder_strdup(b, unit.p, unit.n);
		}
		return;
	}
	set_text(b, r, val, ident);
	if (unit.n && v->type == SM_VALUE_TEXT) {
		v->unit = sm_unit_normalise((const char *)unit.p, unit.n);
		if (!v->unit)
			v->unit = sm_builder_strdup(b, unit.p, unit.n);
	}
}

/* A profile cell: like set_value but into a cell, units dropped (the row format). */
static void set_cell(struct sm_builder *b, struct sm_value *cell, struct span g)
{
	struct sm_reading tmp;
	memset(&tmp, 0, sizeof(tmp));
	set_value(b, &tmp, g, false, false);
	*cell = tmp.value;
	cell->unit = NULL;
}

/* ---- lines ---- */

struct line_groups {
	struct span g[SM_DSMR_MAX_GROUPS];
	size_t n;
	bool overflow;
};

/* Splits "(a)(b*u)(c)" into groups; false on a syntax error (unclosed parenthesis, text between). */
static bool split_groups(struct span s, struct line_groups *lg)
{
	size_t i = 0;
	lg->n = 0;
	lg->overflow = false;
	while (i < s.n) {
		if (s.p[i] == ' ' || s.p[i] == '\t') {
			i++;
			continue;
		}
		if (s.p[i] != '(')
			return false;
		const uint8_t *close = memchr(s.p + i + 1, ')', s.n - i - 1);
		if (!close)
			return false;
		if (lg->n < SM_DSMR_MAX_GROUPS) {
			lg->g[lg->n].p = s.p + i + 1;
			lg->g[lg->n].n = (size_t)(close - s.p) - i - 1;
			lg->n++;
		} else {
			lg->overflow = true;
		}
		i = (size_t)(close - s.p) + 1;
	}
	return true;
}

static bool group_is_obis(struct span g, uint8_t o[6])
{
	return g.n >= 7 && sm_obis_parse((const char *)g.p, g.n, o);
}

static bool group_is_tst(struct span g)
{
	struct sm_datetime dt;
	bool valid;
	return parse_tst(trim(g), &dt, &valid);
}

/* "(count)(id)(id)...(cells...)": a profile (power-failure log 99.97.0, BE 98.1.0). Each row is the
 * capture time plus one cell per listed object, so columns = ids + 1 (99.97.0: time, duration;
 * 98.1.0: month start, time of peak, peak). */
static bool decode_profile(struct sm_builder *b, struct sm_reading *r, const struct line_groups *lg)
{
	struct sm_number count;
	uint8_t o[6];
	size_t ids = 0;

	if (lg->n < 2 || !parse_number(trim(lg->g[0]), &count) || count.exp10 != 0 || count.neg)
		return false;
	while (1 + ids < lg->n && group_is_obis(lg->g[1 + ids], o))
		ids++;
	if (ids == 0)
		return false;
	size_t cells = lg->n - 1 - ids;
	size_t cols = ids + 1;
	size_t rows = count.mag <= SM_MAX_CELLS ? (size_t)count.mag : 0;
	if (rows * cols != cells) {
		/* Count and cells disagree (a meter that counts differently): keep the cells, one row each
		 * group of `cols`, rather than drop the line. */
		rows = cells / cols;
		if (rows * cols != cells) {
			cols = cells;
			rows = cells ? 1 : 0;
		}
	}
	int first = sm_builder_cells(b, rows * cols);
	if (first < 0)
		return false;
	for (size_t k = 0; k < rows * cols; k++)
		set_cell(b, &b->cells[first + (int)k], lg->g[1 + ids + k]);
	r->value.type = SM_VALUE_ROWS;
	r->value.u.rows.first = (uint16_t)first;
	r->value.u.rows.nrows = (uint16_t)rows;
	r->value.u.rows.ncols = (uint16_t)cols;
	return true;
}

/* Several values without a profile header ("1-1:31.4.0(100*A)(-063*A)", HU "0-0:98.1.0(TST)(v*u)..."):
 * one row of cells in telegram order; the unit is kept when all cells share it. */
static bool decode_row(struct sm_builder *b, struct sm_reading *r, const struct line_groups *lg)
{
	int first = sm_builder_cells(b, lg->n);
	if (first < 0)
		return false;
	const char *unit = NULL;
	bool same = true;
	for (size_t k = 0; k < lg->n; k++) {
		struct sm_reading tmp;
		memset(&tmp, 0, sizeof(tmp));
		set_value(b, &tmp, lg->g[k], false, false);
		if (tmp.value.type == SM_VALUE_NUMBER) {
			if (!unit)
				unit = tmp.value.unit;
			else if (!tmp.value.unit || strcmp(unit, tmp.value.unit) != 0)
				same = false;
		}
		b->cells[first + (int)k] = tmp.value;
		b->cells[first + (int)k].unit = NULL;
	}
	r->value.type = SM_VALUE_ROWS;
	r->value.unit = same ? unit : NULL;
	r->value.u.rows.first = (uint16_t)first;
	r->value.u.rows.nrows = 1;
	r->value.u.rows.ncols = (uint16_t)lg->n;
	return true;
}

static void set_timestamp(struct sm_reading *r, struct span g)
{
	bool valid;
	if (parse_tst(trim(g), &r->timestamp, &valid))
		r->has_timestamp = valid;
}

struct dsmr_ctx {
	struct sm_builder *b;
	struct line_groups lg;
	struct sm_reading *pending_profile; /* DSMR 2.2/3 "0-n:24.3.0(...)(unit)" whose value is on the next line */
	const char *pending_unit;
	size_t skipped;                     /* lines that were not OBIS lines */
	size_t lineno;
};

/* DSMR 2.2/3.0 hourly gas profile: "0-1:24.3.0(TST12)(00)(60)(1)(0-1:24.2.1)(m3)" then "(00001.001)". */
static bool legacy_gas_header(struct dsmr_ctx *x, struct sm_reading *r)
{
	uint8_t o[6];
	const struct line_groups *lg = &x->lg;
	if (r->obis[2] != 24 || r->obis[3] != 3 || lg->n != 6 || !group_is_obis(lg->g[4], o))
		return false;
	set_timestamp(r, lg->g[0]);
	struct span u = trim(lg->g[5]);
	x->pending_unit = sm_unit_normalise((const char *)u.p, u.n);
	if (!x->pending_unit && u.n)
		x->pending_unit = sm_builder_strdup(x->b, u.p, u.n);
	r->value.type = SM_VALUE_NONE;
	x->pending_profile = r;
	return true;
}

static void decode_line(struct dsmr_ctx *x, struct span line)
{
	struct sm_builder *b = x->b;
	line = trim(line);
	if (line.n == 0)
		return;

	if (line.p[0] == '(') {
		/* Continuation of a legacy gas profile: the last group is the newest value. */
		if (x->pending_profile && split_groups(line, &x->lg) && x->lg.n > 0) {
			struct sm_reading *r = x->pending_profile;
			set_value(b, r, x->lg.g[x->lg.n - 1], false, false);
			if (r->value.type == SM_VALUE_NUMBER && !r->value.unit)
				r->value.unit = x->pending_unit;
		} else {
			x->skipped++;
		}
		x->pending_profile = NULL;
		return;
	}
	x->pending_profile = NULL;

	const uint8_t *open = memchr(line.p, '(', line.n);
	if (!open) {
		x->skipped++;
		return;
	}
	struct span code = trim((struct span){ line.p, (size_t)(open - line.p) });
	struct span rest = { open, line.n - (size_t)(open - line.p) };
	uint8_t obis[6];
	/* A malformed OBIS ("1-0:4:24.7.0" from a Kamstrup Omnia) costs the line, not the telegram. */
	if (!sm_obis_parse((const char *)code.p, code.n, obis) || !split_groups(rest, &x->lg)) {
		x->skipped++;
		return;
	}
	struct sm_reading *r = sm_builder_add(b);
	if (!r)
		return;
	memcpy(r->obis, obis, 6);
	r->has_obis = true;
	r->position = (uint16_t)(x->lineno > UINT16_MAX ? UINT16_MAX : x->lineno);

	const struct line_groups *lg = &x->lg;
	bool ident = is_identifier(obis);
	bool is_time = obis[0] == 0 && obis[2] == 1 && obis[3] == 0; /* 0-0:1.0.0 clock, TST12 in DSMR 3 */

	if (lg->n == 0) {
		r->value.type = SM_VALUE_NONE;
	} else if (lg->n == 1) {
		set_value(b, r, lg->g[0], ident, is_time);
	} else if (legacy_gas_header(x, r)) {
		/* value follows on the next line */
	} else if (decode_profile(b, r, lg)) {
		/* rows */
	} else if (lg->n == 2 && group_is_tst(lg->g[0])) {
		/* "(capture time)(value*unit)": M-Bus sub-meters 24.2.1 / BE 24.2.3, BE peak 1.6.0 */
		set_timestamp(r, lg->g[0]);
		set_value(b, r, lg->g[1], ident, false);
	} else {
		decode_row(b, r, lg);
	}
}

/* TSTs were read with CET offsets (W +01:00, S +02:00); a meter in another zone gets its own. */
static void fix_offset(const struct sm_decoder *dec, struct sm_datetime *dt)
{
	if (dt->has_offset)
		dt->offset_min = dt->dst ? dec->cfg.dsmr_summer_offset_min : dec->cfg.dsmr_winter_offset_min;
}

static void apply_time_zone(const struct sm_decoder *dec, struct sm_builder *b)
{
	if (!dec->cfg.has_dsmr_tz)
		return;
	for (size_t i = 0; i < b->tg.nreadings; i++) {
		struct sm_reading *r = &b->readings[i];
		if (r->has_timestamp)
			fix_offset(dec, &r->timestamp);
		if (r->value.type == SM_VALUE_DATETIME)
			fix_offset(dec, &r->value.u.dt);
		if (r->value.type == SM_VALUE_ROWS)
			for (size_t k = 0; k < (size_t)r->value.u.rows.nrows * r->value.u.rows.ncols; k++) {
				struct sm_value *c = &b->cells[r->value.u.rows.first + k];
				if (c->type == SM_VALUE_DATETIME)
					fix_offset(dec, &c->u.dt);
			}
	}
}

/* The meter's identity: equipment id 0-0:96.1.1, else 0-0:96.1.0, else logical device name 0-0:42.0.0. */
static const char *find_meter_id(const struct sm_telegram *t)
{
	static const uint8_t prefs[][6] = {
		{ 0, 0, 96, 1, 1, 255 },
		{ 0, 0, 96, 1, 0, 255 },
		{ 0, 0, 42, 0, 0, 255 },
		{ 1, 0, 0, 0, 0, 255 },
	};
	for (size_t k = 0; k < sizeof(prefs) / sizeof(prefs[0]); k++) {
		const struct sm_reading *r = sm_telegram_find(t, prefs[k]);
		if (r && r->value.type == SM_VALUE_TEXT && r->value.u.text.len > 0)
			return r->value.u.text.str;
	}
	return NULL;
}

static const char *find_version(const struct sm_telegram *t, struct sm_builder *b)
{
	static const uint8_t prefs[][6] = {
		{ 1, 3, 0, 2, 8, 255 },
		{ 0, 0, 96, 1, 4, 255 },
	};
	char buf[SM_NUMBER_STRLEN];
	for (size_t k = 0; k < sizeof(prefs) / sizeof(prefs[0]); k++) {
		const struct sm_reading *r = sm_telegram_find(t, prefs[k]);
		if (!r)
			continue;
		if (r->value.type == SM_VALUE_TEXT)
			return r->value.u.text.str;
		if (r->value.type == SM_VALUE_NUMBER && sm_number_format(&r->value.u.num, buf, sizeof(buf)))
			return sm_builder_strdup(b, buf, strlen(buf));
	}
	return NULL;
}

/* The version a telegram declares in 1-3:0.2.8 ("(50)" = 5.0), or 0 when it declares none. */
static unsigned declared_version(const uint8_t *tg, size_t len)
{
	static const char key[] = "1-3:0.2.8(";
	const uint8_t *p = memmem(tg, len, key, sizeof(key) - 1);
	if (!p)
		return 0;
	p += sizeof(key) - 1;
	unsigned v = 0;
	for (size_t k = 0; k < 3 && p < tg + len && *p >= '0' && *p <= '9'; k++, p++)
		v = v * 10 + (unsigned)(*p - '0');
	return v;
}

/* First byte of a CRC-less telegram that is neither printable nor CR / LF, or len. */
static size_t first_unclean(const uint8_t *tg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((tg[i] < 0x20 || tg[i] > 0x7E) && tg[i] != '\r' && tg[i] != '\n')
			return i;
	return len;
}

enum sm_err sm_dsmr_telegram(struct sm_decoder *dec, const uint8_t *tg, size_t len, const struct sm_origin *org,
                             const struct sm_secinfo *sec)
{
	struct sm_builder *b = &dec->build;

	/* Find the end line: the first '!' at a line start. */
	size_t bang = 0;
	for (size_t i = 1; i < len; i++)
		if (tg[i] == '!' && (tg[i - 1] == '\n' || tg[i - 1] == '\r')) {
			bang = i;
			break;
		}
	if (len < 2 || tg[0] != '/' || bang == 0) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SYNTAX, org, tg, len, "DSMR telegram without '!' end line");
		return SM_E_SYNTAX;
	}

	/* CRC: 0 digits = none (DSMR 2.2/3, some Iskra/EasyMeter), 1-3 = unpadded (Warmtelink "!B9F"). */
	size_t nd = 0;
	unsigned sent = 0;
	while (bang + 1 + nd < len && nd < 4 && is_hex(tg[bang + 1 + nd])) {
		sent = sent << 4 | (unsigned)sm_hex_digit(tg[bang + 1 + nd]);
		nd++;
	}
	bool crc_ok = true;
	if (nd > 0) {
		unsigned calc = sm_crc16_arc(tg, bang + 1);
		if (calc != sent) {
			crc_ok = false;
			if (!dec->cfg.dsmr_crc_optional) {
				sm_emit_event(dec, SM_EVENT_ERROR, SM_E_CRC, org, tg, len,
				              "DSMR CRC mismatch: telegram says %04X, computed %04X", sent, calc);
				return SM_E_CRC;
			}
		}
	}
	/* DSMR 4.0 and later always send a CRC (PROTOCOLS.md §1.3): one that is missing was lost. */
	unsigned version = nd == 0 ? declared_version(tg, bang) : 0;
	if (version >= 40 && !dec->cfg.dsmr_crc_optional) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_CRC, org, tg, len,
		              "DSMR %u.%u telegram (1-3:0.2.8(%u)) without CRC: rejected (a CRC is required from DSMR "
		              "4.0 on; crc_check off accepts it)",
		              version / 10, version % 10, version);
		return SM_E_CRC;
	}
	if (nd == 0) {
		size_t u = first_unclean(tg, bang + 1);
		if (u <= bang) {
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SYNTAX, org, tg, len,
			              "DSMR telegram without CRC rejected: byte %02X at offset %zu is not text", tg[u], u);
			return SM_E_SYNTAX;
		}
	}

	sm_builder_reset(b);
	b->tg.protocol = SM_PROTOCOL_DSMR;
	b->tg.crc_present = nd > 0 && crc_ok;

	/* Header: printable copy ("ISk5\2MT382-1000"); control characters some meters put there become '?'. */
	size_t h = 1;
	while (h < bang && tg[h] != '\r' && tg[h] != '\n')
		h++;
	{
		char hdr[SM_DSMR_MAX_HEADER];
		size_t hn = h - 1 < sizeof(hdr) ? h - 1 : sizeof(hdr) - 1;
		for (size_t i = 0; i < hn; i++)
			hdr[i] = printable(tg + 1 + i, 1) ? (char)tg[1 + i] : '?';
		b->tg.header = sm_builder_strdup(b, hdr, hn);
	}

	/* On the stack (~2 KiB), not in dec->scratch: decrypted DSMR arrives in dec->scratch. */
	struct dsmr_ctx ctx;
	struct dsmr_ctx *x = &ctx;
	memset(x, 0, sizeof(*x));
	x->b = b;
	size_t p = h;
	while (p < bang) {
		size_t e = p;
		while (e < bang && tg[e] != '\n' && tg[e] != '\r')
			e++;
		if (e > p) {
			x->lineno++;
			decode_line(x, (struct span){ tg + p, e - p });
		}
		p = e + 1;
	}

	struct sm_telegram *t = &b->tg;
	t->readings = b->readings;
	t->cells = b->cells;
	apply_time_zone(dec, b);
	t->meter_id = find_meter_id(t);
	t->dsmr_version = find_version(t, b);
	static const uint8_t clock[6] = { 0, 0, 1, 0, 0, 255 };
	const struct sm_reading *c = sm_telegram_find(t, clock);
	if (c && c->value.type == SM_VALUE_DATETIME) {
		t->has_datetime = true;
		t->datetime = c->value.u.dt;
	}
	if (b->overflow)
		t->note = "telegram larger than the decoder's caps: some lines were dropped";
	if (nd == 0 && (x->skipped > 0 || t->nreadings == 0)) {
		/* Nothing vouches for a CRC-less telegram but its grammar: every line must be one. */
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SYNTAX, org, tg, len,
		              "DSMR telegram without CRC rejected: %s", t->nreadings == 0 ? "no OBIS line" :
		              "a line is neither header, end nor OBIS(value)");
		return SM_E_SYNTAX;
	}
	if (!crc_ok)
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_CRC, org, tg, len,
		              "DSMR CRC mismatch ignored (telegram says %04X)", sent);
	if (x->skipped)
		sm_emit_event(dec, SM_EVENT_NOTE, SM_E_SYNTAX, org, NULL, 0, "%zu line%s not in OBIS(value) form skipped",
		              x->skipped, x->skipped == 1 ? "" : "s");
	sm_emit_telegram(dec, org, sec);
	return SM_OK;
}
