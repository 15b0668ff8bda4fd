/* cosem.c — a plaintext data-notification APDU in, one telegram of OBIS-keyed readings out.
 * Parses the notification header (PROTOCOLS.md §4.2), the body into the decoder's A-XDR tree (axdr.c),
 * and maps the body's shape to readings (§6): push-object-list form, positional layouts (table in
 * layouts.c), and OBIS-keyed lists at any nesting (pairs, triples with scaler_unit, attribute
 * descriptors). What it cannot map it still publishes by position, and says so.
 * Must never allocate, never print, and never drop a value silently.
 *
 *   0F | long-invoke-id-and-priority (4) | date-time: 00 | 0C+12 | 09 0C+12 | 19+12 | body (one A-XDR Data)
 */
#include <stdio.h>
#include <string.h>

#include "cosem.h"
#include "cursor.h"

#define SM_APDU_DATA_NOTIFICATION 0x0Fu
/* COSEM interface classes that matter for push lists (Blue Book §4.3-4.5). */
#define SM_CLASS_DATA         1u
#define SM_CLASS_REGISTER     3u
#define SM_CLASS_EXT_REGISTER 4u
#define SM_CLASS_DEMAND_REG   5u
#define SM_CLASS_CLOCK        8u
#define SM_CLASS_PUSH_SETUP   40u
#define SM_ATTR_SCALER_UNIT   3u
#define SM_ATTR_CAPTURE_TIME  5u

/* ---- values ---- */

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7E)
			return false;
	return true;
}

/* Ids padded to a fixed field with NULs (L+G ZMF100 "40799390" + 8 x 00) end at the padding. An empty
 * octet-string stays empty text. */
static size_t text_len(const uint8_t *p, size_t n)
{
	size_t k = n;
	while (k > 0 && p[k - 1] == 0)
		k--;
	return k == 0 ? n : k;
}

/* A scalar node as a value; false when it cannot be represented (NaN, container). */
static bool scalar_value(const struct sm_axdr_tree *t, uint32_t idx, struct sm_value *v)
{
	const struct sm_axdr_node *nd = sm_axdr_node(t, idx);
	const uint8_t *p = sm_axdr_payload(t, idx);

	memset(v, 0, sizeof(*v));
	switch (nd->tag) {
	case SM_AXDR_NULL:
		v->type = SM_VALUE_NONE;
		return true;
	case SM_AXDR_BOOLEAN:
		v->type = SM_VALUE_BOOL;
		v->u.boolean = p[0] != 0;
		return true;
	case SM_AXDR_OCTETS:
		if (nd->len == SM_DLMS_DATETIME_LEN && sm_dlms_datetime(p, true, &v->u.dt)) {
			v->type = SM_VALUE_DATETIME;
			return true;
		}
		v->u.text.str = (const char *)p;
		v->u.text.len = text_len(p, nd->len);
		v->type = v->u.text.len > 0 && printable(p, v->u.text.len) ? SM_VALUE_TEXT : SM_VALUE_OCTETS;
		if (v->type == SM_VALUE_OCTETS)
			v->u.text.len = nd->len;
		return true;
	case SM_AXDR_VISIBLE:
	case SM_AXDR_UTF8:
		v->type = SM_VALUE_TEXT;
		v->u.text.str = (const char *)p;
		v->u.text.len = text_len(p, nd->len);
		return true;
	case SM_AXDR_BITSTRING:
		v->type = SM_VALUE_OCTETS;
		v->u.text.str = (const char *)p;
		v->u.text.len = ((size_t)nd->len + 7) / 8;
		return true;
	case SM_AXDR_DESCRIPTOR:
		v->type = SM_VALUE_OCTETS;
		v->u.text.str = (const char *)p;
		v->u.text.len = nd->len;
		return true;
	case SM_AXDR_DATETIME:
		v->type = SM_VALUE_DATETIME;
		return sm_dlms_datetime(p, false, &v->u.dt);
	case SM_AXDR_DATE:
		v->type = SM_VALUE_DATETIME;
		return sm_dlms_date(p, &v->u.dt);
	case SM_AXDR_TIME:
		v->type = SM_VALUE_DATETIME;
		return sm_dlms_time(p, &v->u.dt);
	default:
		break;
	}
	v->type = SM_VALUE_NUMBER;
	return sm_axdr_number(t, idx, &v->u.num) == SM_OK;
}

static bool is_container(uint8_t tag)
{
	return tag == SM_AXDR_ARRAY || tag == SM_AXDR_STRUCTURE;
}

/* A container of scalars, or an array of equal-length structures of scalars (a profile buffer),
 * becomes rows x cols cells. */
static bool rows_value(struct sm_cosem_ctx *ctx, uint32_t idx, struct sm_value *v)
{
	const struct sm_axdr_tree *t = ctx->t;
	const struct sm_axdr_node *nd = sm_axdr_node(t, idx);
	unsigned nrows, ncols;
	uint32_t first = sm_axdr_child(t, idx, 0);

	if (nd->count == 0) {
		nrows = 0;
		ncols = 0;
	} else if (is_container(sm_axdr_node(t, first)->tag)) {
		if (nd->tag != SM_AXDR_ARRAY)
			return false;
		ncols = sm_axdr_node(t, first)->count;
		for (uint32_t r = first; r < nd->next; r = sm_axdr_node(t, r)->next) {
			const struct sm_axdr_node *row = sm_axdr_node(t, r);
			if (!is_container(row->tag) || row->count != ncols)
				return false;
			for (uint32_t c = r + 1; c < row->next; c = sm_axdr_node(t, c)->next)
				if (is_container(sm_axdr_node(t, c)->tag))
					return false;
		}
		nrows = nd->count;
	} else {
		for (uint32_t c = first; c < nd->next; c = sm_axdr_node(t, c)->next)
			if (is_container(sm_axdr_node(t, c)->tag))
				return false;
		/* an array is a column of values, a structure one row of fields */
		nrows = nd->tag == SM_AXDR_ARRAY ? nd->count : 1;
		ncols = nd->tag == SM_AXDR_ARRAY ? 1 : nd->count;
	}
	int base = sm_builder_cells(ctx->b, (size_t)nrows * ncols);
	if (base < 0)
		return false;
	unsigned k = 0;
	for (uint32_t c = idx + 1; c < nd->next; c++) {
		if (is_container(sm_axdr_node(t, c)->tag))
			continue;
		if (!scalar_value(t, c, &ctx->b->cells[base + (int)k]))
			ctx->b->cells[base + (int)k].type = SM_VALUE_NONE;
		k++;
	}
	memset(v, 0, sizeof(*v));
	v->type = SM_VALUE_ROWS;
	v->u.rows.first = (uint16_t)base;
	v->u.rows.nrows = (uint16_t)nrows;
	v->u.rows.ncols = (uint16_t)ncols;
	return true;
}

int sm_cosem_add(struct sm_cosem_ctx *ctx, const uint8_t *obis, uint16_t position, uint32_t node)
{
	struct sm_value v;
	bool ok =
	    is_container(sm_axdr_node(ctx->t, node)->tag) ? rows_value(ctx, node, &v) : scalar_value(ctx->t, node, &v);
	if (!ok) {
		ctx->skipped++;
		return -1;
	}
	struct sm_reading *r = sm_builder_add(ctx->b);
	if (!r)
		return -1;
	int idx = (int)(r - ctx->b->readings);
	if (obis) {
		memcpy(r->obis, obis, 6);
		r->has_obis = true;
		ctx->with_obis++;
	}
	r->position = position;
	r->value = v;
	ctx->wire_tag[idx] = sm_axdr_node(ctx->t, node)->tag;
	ctx->scaled[idx] = false;
	return idx;
}

void sm_cosem_scale(struct sm_cosem_ctx *ctx, int idx, int scaler, const char *unit)
{
	struct sm_reading *r = &ctx->b->readings[idx];
	if (r->value.type == SM_VALUE_NUMBER) {
		if (scaler)
			sm_number_scale(&r->value.u.num, scaler);
		if (unit)
			r->value.unit = unit;
	}
	ctx->scaled[idx] = true;
}

void sm_cosem_set_family(struct sm_cosem_ctx *ctx, const uint8_t *id, size_t len)
{
	if (ctx->family[0] || len == 0 || len >= sizeof(ctx->family) || !printable(id, len))
		return;
	memcpy(ctx->family, id, len);
	ctx->family[len] = '\0';
}

/* ---- shapes ---- */

/* {int8 scaler, enum unit} (§5.4) */
static bool scaler_unit(const struct sm_axdr_tree *t, uint32_t idx, int8_t *ret_scaler, uint8_t *ret_unit)
{
	const struct sm_axdr_node *nd = sm_axdr_node(t, idx);
	if (nd->tag != SM_AXDR_STRUCTURE || nd->count != 2)
		return false;
	uint32_t s = idx + 1, u = sm_axdr_node(t, s)->next;
	uint8_t st = sm_axdr_node(t, s)->tag, ut = sm_axdr_node(t, u)->tag;
	if ((st != SM_AXDR_INT8 && st != SM_AXDR_UINT8) || (ut != SM_AXDR_ENUM && ut != SM_AXDR_UINT8))
		return false;
	*ret_scaler = (int8_t)sm_axdr_payload(t, s)[0];
	*ret_unit = sm_axdr_payload(t, u)[0];
	return true;
}

/* An attribute descriptor: the untagged 9-byte form, or {long-unsigned class, OBIS, attribute}. */
static bool descriptor(const struct sm_axdr_tree *t, uint32_t idx, uint16_t *ret_class, uint8_t ret_obis[6],
                       uint8_t *ret_attr)
{
	const struct sm_axdr_node *nd = sm_axdr_node(t, idx);
	const uint8_t *p = sm_axdr_payload(t, idx);
	if (nd->tag == SM_AXDR_DESCRIPTOR) {
		*ret_class = (uint16_t)(p[0] << 8 | p[1]);
		memcpy(ret_obis, p + 2, 6);
		*ret_attr = p[8];
		return true;
	}
	if (nd->tag != SM_AXDR_STRUCTURE || (nd->count != 3 && nd->count != 4))
		return false;
	uint32_t c = idx + 1, o = sm_axdr_node(t, c)->next, a = sm_axdr_node(t, o)->next;
	uint8_t at = sm_axdr_node(t, a)->tag;
	if (sm_axdr_node(t, c)->tag != SM_AXDR_UINT16 || !sm_axdr_obis(t, o, ret_obis) ||
	    (at != SM_AXDR_INT8 && at != SM_AXDR_UINT8))
		return false;
	p = sm_axdr_payload(t, c);
	*ret_class = (uint16_t)(p[0] << 8 | p[1]);
	*ret_attr = sm_axdr_payload(t, a)[0];
	return true;
}

static bool contains_obis(const struct sm_axdr_tree *t, uint32_t idx)
{
	for (uint32_t i = idx + 1; i < sm_axdr_node(t, idx)->next; i++) {
		const struct sm_axdr_node *nd = sm_axdr_node(t, i);
		if ((nd->tag == SM_AXDR_OCTETS && nd->len == 6) || nd->tag == SM_AXDR_DESCRIPTOR)
			return true;
	}
	return false;
}

static void family_from_obis(struct sm_cosem_ctx *ctx, const uint8_t obis[6])
{
	char s[SM_OBIS_STRLEN];
	size_t n = sm_obis_format(obis, s, sizeof(s));
	sm_cosem_set_family(ctx, (const uint8_t *)s, n);
}

/* One captured attribute of a push list (§6.5, §6.7): what it is depends on class and attribute. */
static void add_attribute(struct sm_cosem_ctx *ctx, uint16_t cls, const uint8_t obis[6], uint8_t attr, uint16_t pos,
                          uint32_t val)
{
	int8_t scaler;
	uint8_t unit;

	if (cls == SM_CLASS_PUSH_SETUP) {
		/* the push list itself and its name: they say which push this is, they are not readings */
		family_from_obis(ctx, obis);
		return;
	}
	if ((cls == SM_CLASS_REGISTER || cls == SM_CLASS_EXT_REGISTER || cls == SM_CLASS_DEMAND_REG) &&
	    attr == SM_ATTR_SCALER_UNIT && scaler_unit(ctx->t, val, &scaler, &unit)) {
		if (ctx->nside < SM_COSEM_MAX_SIDECARS) {
			struct sm_cosem_sidecar *s = &ctx->side[ctx->nside++];
			memcpy(s->obis, obis, 6);
			s->is_time = false;
			s->scaler = scaler;
			s->unit = unit;
		} else {
			ctx->skipped++;
		}
		return;
	}
	if (cls == SM_CLASS_EXT_REGISTER && attr == SM_ATTR_CAPTURE_TIME) {
		if (ctx->nside < SM_COSEM_MAX_SIDECARS) {
			struct sm_cosem_sidecar *s = &ctx->side[ctx->nside++];
			memcpy(s->obis, obis, 6);
			s->is_time = true;
			s->node = val;
		} else {
			ctx->skipped++;
		}
		return;
	}
	sm_cosem_add(ctx, obis, pos, val);
}

/* Scaler_unit and capture-time objects find their register wherever it is in the list. */
static void apply_sidecars(struct sm_cosem_ctx *ctx)
{
	for (unsigned k = 0; k < ctx->nside; k++) {
		const struct sm_cosem_sidecar *s = &ctx->side[k];
		for (size_t i = 0; i < ctx->b->tg.nreadings; i++) {
			struct sm_reading *r = &ctx->b->readings[i];
			if (!r->has_obis || memcmp(r->obis, s->obis, 6) != 0)
				continue;
			if (s->is_time) {
				struct sm_value v;
				if (scalar_value(ctx->t, s->node, &v) && v.type == SM_VALUE_DATETIME) {
					r->has_timestamp = true;
					r->timestamp = v.u.dt;
				}
			} else if (!ctx->scaled[i]) {
				sm_cosem_scale(ctx, (int)i, s->scaler, sm_unit_from_dlms(s->unit));
			}
		}
	}
}

/* §6.5: structure of N whose element 0 is the array of the N capture descriptors
 * {class, OBIS, attribute, data index}; elements 1..N-1 are the captured values. */
static bool push_object_list(struct sm_cosem_ctx *ctx, uint32_t body)
{
	const struct sm_axdr_tree *t = ctx->t;
	const struct sm_axdr_node *nd = sm_axdr_node(t, body);
	if (nd->tag != SM_AXDR_STRUCTURE || nd->count < 2)
		return false;
	uint32_t list = body + 1;
	const struct sm_axdr_node *ln = sm_axdr_node(t, list);
	if (ln->tag != SM_AXDR_ARRAY || ln->count != nd->count)
		return false;
	for (uint32_t d = list + 1; d < ln->next; d = sm_axdr_node(t, d)->next) {
		uint16_t cls;
		uint8_t obis[6], attr;
		if (sm_axdr_node(t, d)->count != 4 || !descriptor(t, d, &cls, obis, &attr))
			return false;
	}
	uint32_t d = list + 1, v = ln->next;
	for (uint16_t i = 0; i < nd->count; i++) {
		uint16_t cls;
		uint8_t obis[6], attr;
		descriptor(t, d, &cls, obis, &attr);
		if (i > 0)
			add_attribute(ctx, cls, obis, attr, i, v);
		else if (cls == SM_CLASS_PUSH_SETUP)
			family_from_obis(ctx, obis);
		d = sm_axdr_node(t, d)->next;
		if (i > 0)
			v = sm_axdr_node(t, v)->next;
	}
	return true;
}

/* Add an OBIS-keyed value with an optional third element: scaler_unit, or a capture time. */
static void add_keyed(struct sm_cosem_ctx *ctx, const uint8_t obis[6], uint16_t pos, uint32_t val, uint32_t extra)
{
	int8_t scaler;
	uint8_t unit;
	int idx = sm_cosem_add(ctx, obis, pos, val);
	if (idx < 0 || extra == UINT32_MAX)
		return;
	if (scaler_unit(ctx->t, extra, &scaler, &unit)) {
		sm_cosem_scale(ctx, idx, scaler, sm_unit_from_dlms(unit));
		return;
	}
	struct sm_value v;
	if (scalar_value(ctx->t, extra, &v) && v.type == SM_VALUE_DATETIME) {
		ctx->b->readings[idx].has_timestamp = true;
		ctx->b->readings[idx].timestamp = v.u.dt;
	}
}

/* A structure that is one object: {OBIS, value[, scaler_unit]}, {descriptor, value} or
 * {class, OBIS, attribute, value}. */
static bool object_structure(struct sm_cosem_ctx *ctx, uint32_t e, uint16_t pos)
{
	const struct sm_axdr_tree *t = ctx->t;
	const struct sm_axdr_node *nd = sm_axdr_node(t, e);
	uint8_t obis[6], attr;
	uint16_t cls;

	if (nd->tag != SM_AXDR_STRUCTURE)
		return false;
	uint32_t c0 = e + 1;
	if ((nd->count == 2 || nd->count == 3) && sm_axdr_obis(t, c0, obis)) {
		uint32_t val = sm_axdr_node(t, c0)->next;
		add_keyed(ctx, obis, pos, val, nd->count == 3 ? sm_axdr_node(t, val)->next : UINT32_MAX);
		return true;
	}
	if (nd->count == 2 && descriptor(t, c0, &cls, obis, &attr)) {
		add_attribute(ctx, cls, obis, attr, pos, sm_axdr_node(t, c0)->next);
		return true;
	}
	if (nd->count == 4 && descriptor(t, e, &cls, obis, &attr)) {
		add_attribute(ctx, cls, obis, attr, pos, sm_axdr_child(t, e, 3));
		return true;
	}
	return false;
}

/* Walk the elements of container `cont`. Direct children of the body are keyed by their index, values
 * nested deeper by their node index (unique within the body). Recursion is bounded by the tree depth
 * (SM_AXDR_MAX_DEPTH). */
static void walk(struct sm_cosem_ctx *ctx, uint32_t cont, bool top)
{
	const struct sm_axdr_tree *t = ctx->t;
	const struct sm_axdr_node *cn = sm_axdr_node(t, cont);
	uint16_t k = 0;
	uint32_t e = cont + 1;

	while (k < cn->count) {
		const struct sm_axdr_node *nd = sm_axdr_node(t, e);
		uint16_t pos = top ? k : (uint16_t)e;
		uint8_t obis[6];

		if (object_structure(ctx, e, pos)) {
			k++;
			e = nd->next;
			continue;
		}
		/* flat form: OBIS octet-string, value[, scaler_unit] as consecutive elements (Kamstrup, Kaifa SE,
		 * Sagemcom T210-D, Kaifa MA309's clock pair) */
		if (k + 1 < cn->count && sm_axdr_obis(t, e, obis)) {
			uint32_t val = nd->next;
			uint32_t extra = k + 2 < cn->count ? sm_axdr_node(t, val)->next : UINT32_MAX;
			int8_t sc;
			uint8_t un;
			if (extra != UINT32_MAX && !scaler_unit(t, extra, &sc, &un))
				extra = UINT32_MAX;
			add_keyed(ctx, obis, pos, val, extra);
			k += extra != UINT32_MAX ? 3 : 2;
			e = extra != UINT32_MAX ? sm_axdr_node(t, extra)->next : sm_axdr_node(t, val)->next;
			continue;
		}
		if (is_container(nd->tag) && contains_obis(t, e)) {
			walk(ctx, e, false);
			k++;
			e = nd->next;
			continue;
		}
		/* A value without OBIS code. In an OBIS-keyed body some have a known role (§6.1, §6.4):
		 * a leading list id, a leading clock, a trailing meter number, a leading list number. */
		uint32_t next = nd->next;
		bool first = top && k == 0, last = top && k + 1 == cn->count;
		bool next_is_obis = k + 1 < cn->count && sm_axdr_obis(t, next, obis);
		struct sm_value v;
		bool sv = !is_container(nd->tag) && scalar_value(t, e, &v);
		if (first && sv && v.type == SM_VALUE_TEXT && next_is_obis) {
			ctx->list_id = sm_axdr_payload(t, e);
			ctx->list_id_len = v.u.text.len;
			sm_cosem_set_family(ctx, ctx->list_id, ctx->list_id_len);
		} else if (first && sv && v.type == SM_VALUE_DATETIME && next_is_obis) {
			static const uint8_t clock[6] = {0, 0, 1, 0, 0, 255};
			sm_cosem_add(ctx, clock, pos, e);
		} else if (last && k > 0 && sv && v.type == SM_VALUE_TEXT && ctx->with_obis > 0) {
			static const uint8_t serial[6] = {0, 0, 96, 1, 0, 255};
			sm_cosem_add(ctx, serial, pos, e);
		} else if (first && sv && v.type == SM_VALUE_NUMBER && cn->count == 2 && contains_obis(t, next)) {
			/* XT211: {enum, array of objects} — a list number, kept by position */
			sm_cosem_add(ctx, NULL, pos, e);
		} else {
			sm_cosem_add(ctx, NULL, pos, e);
			ctx->unexplained++;
		}
		k++;
		e = next;
	}
}

/* ---- meter id and header ---- */

static const char *reading_text(struct sm_builder *b, const struct sm_reading *r)
{
	const struct sm_value *v = &r->value;
	char buf[2 * 64 + 1];
	switch (v->type) {
	case SM_VALUE_TEXT:
		return sm_builder_strdup(b, v->u.text.str, v->u.text.len);
	case SM_VALUE_OCTETS: {
		static const char hex[] = "0123456789abcdef";
		size_t n = v->u.text.len > 64 ? 64 : v->u.text.len;
		for (size_t i = 0; i < n; i++) {
			buf[2 * i] = hex[(uint8_t)v->u.text.str[i] >> 4];
			buf[2 * i + 1] = hex[(uint8_t)v->u.text.str[i] & 15];
		}
		return sm_builder_strdup(b, buf, 2 * n);
	}
	case SM_VALUE_NUMBER: {
		size_t n = sm_number_format(&v->u.num, buf, sizeof(buf));
		return n ? sm_builder_strdup(b, buf, n) : NULL;
	}
	case SM_VALUE_NONE:
	case SM_VALUE_BOOL:
	case SM_VALUE_DATETIME:
	case SM_VALUE_ROWS:
		break;
	}
	return NULL;
}

/* §7.2 meter identifiers, most specific first. */
static const uint8_t meter_id_codes[][6] = {
    {0, 0, 96, 1, 0, 255}, /* meter serial number */
    {0, 0, 96, 1, 1, 255}, /* manufacturer serial / equipment id */
    {0, 0, 42, 0, 0, 255}, /* COSEM logical device name */
    {1, 1, 0, 0, 5, 255},  /* Kamstrup GS1 number */
    {1, 1, 0, 0, 1, 255},  /* Kamstrup meter number (uint32) */
};

static void settle_ids(struct sm_cosem_ctx *ctx)
{
	struct sm_telegram *tg = &ctx->b->tg;
	for (size_t k = 0; k < sizeof(meter_id_codes) / sizeof(meter_id_codes[0]) && !tg->meter_id; k++) {
		const struct sm_reading *r = sm_telegram_find(tg, meter_id_codes[k]);
		if (r)
			tg->meter_id = reading_text(ctx->b, r);
	}
	if (!ctx->list_id) {
		/* list version id sent as an object: 1-1:0.2.129 (Aidon), 1-0:0.2.129 (Kaifa SE) */
		for (size_t i = 0; i < tg->nreadings; i++) {
			const struct sm_reading *r = &ctx->b->readings[i];
			if (r->has_obis && r->obis[0] == 1 && r->obis[2] == 0 && r->obis[3] == 2 && r->obis[4] == 129 &&
			    r->value.type == SM_VALUE_TEXT) {
				ctx->list_id = (const uint8_t *)r->value.u.text.str;
				ctx->list_id_len = r->value.u.text.len;
				sm_cosem_set_family(ctx, ctx->list_id, ctx->list_id_len);
				break;
			}
		}
	}
	if (ctx->list_id)
		tg->header = sm_builder_strdup(ctx->b, ctx->list_id, ctx->list_id_len);
}

/* ---- the notification ---- */

static const char *container_name(uint8_t tag)
{
	return tag == SM_AXDR_ARRAY ? "array" : "structure";
}

enum sm_err sm_cosem_notification(struct sm_decoder *dec, const uint8_t *apdu, size_t len, const struct sm_origin *org,
                                  const struct sm_secinfo *sec, char *ret_detail, size_t detailsz)
{
	struct sm_cursor c = sm_cursor_init(apdu, len);
	char detail[200];
	struct sm_datetime dt;
	/* A bare notification has no link check: only its own structure can vouch for it (stream.c). */
	bool bare = org->framing == SM_FRAMING_RAW && sec == NULL;
	bool has_dt = false;

	if (sm_cursor_u8(&c) != SM_APDU_DATA_NOTIFICATION) {
		snprintf(ret_detail, detailsz, "APDU tag 0x%02X is not a data-notification", len ? apdu[0] : 0);
		return SM_E_INVAL;
	}
	uint32_t invoke = sm_cursor_be32(&c);
	/* §4.2: the date-time is an octet-string without tag (00 / 0C ...), with an octet-string tag
	 * (Kaifa: 09 0C ...) or typed date-time (19 ...) */
	uint8_t form = sm_cursor_u8(&c);
	if (form == SM_AXDR_OCTETS && sm_cursor_peek(&c) == SM_DLMS_DATETIME_LEN)
		form = sm_cursor_u8(&c);
	if (!c.bad && form != 0x00) {
		if (form != SM_DLMS_DATETIME_LEN && form != SM_AXDR_DATETIME) {
			snprintf(ret_detail, detailsz, "data-notification date-time has unknown form 0x%02X at offset %zu",
			         form, c.pos - 1);
			return SM_E_AXDR;
		}
		const uint8_t *p = sm_cursor_take(&c, SM_DLMS_DATETIME_LEN);
		has_dt = p && sm_dlms_datetime(p, false, &dt);
	}
	if (c.bad) {
		snprintf(ret_detail, detailsz, "data-notification header truncated (%zu bytes)", len);
		return SM_E_TRUNCATED;
	}

	size_t body = c.pos, used = 0;
	struct sm_axdr_tree *t = &dec->axdr;
	enum sm_err err =
	    sm_axdr_parse(t, apdu + body, len - body, SM_AXDR_STRICT, body, &used, detail, sizeof(detail));
	if (err == SM_E_AXDR || (err == SM_OK && used < len - body)) {
		/* Known encoder quirks (XT211 untagged descriptors §6.7, L+G swapped OBIS tag) get a second
		 * reading only when the strict one failed or left bytes over (read strictly, an untagged
		 * descriptor can look like a short complete value), and win only if they explain more. */
		char detail2[sizeof(detail)];
		size_t used2 = 0;
		if (sm_axdr_parse(t, apdu + body, len - body, SM_AXDR_LENIENT, body, &used2, detail2,
		                  sizeof(detail2)) == SM_OK &&
		    (err != SM_OK || used2 > used)) {
			err = SM_OK;
			used = used2;
		} else if (err == SM_OK) {
			/* the strict tree was overwritten by the failed second reading: restore it */
			sm_axdr_parse(t, apdu + body, len - body, SM_AXDR_STRICT, body, &used, detail, sizeof(detail));
		}
	}
	if (err != SM_OK) {
		snprintf(ret_detail, detailsz, "%s", detail);
		return err;
	}
	if (bare && used != len - body) {
		ret_detail[0] = '\0';
		return SM_E_LAYOUT;
	}

	struct sm_builder *b = &dec->build;
	sm_builder_reset(b);
	b->tg.protocol = SM_PROTOCOL_DLMS;
	b->tg.readings = b->readings; /* sm_telegram_find() below looks at them before sm_emit_telegram() */
	b->tg.cells = b->cells;
	b->tg.has_invoke_id = true;
	b->tg.invoke_id = invoke;
	b->tg.has_datetime = has_dt && (dt.has_date || dt.has_time);
	if (b->tg.has_datetime)
		b->tg.datetime = dt;

	struct sm_cosem_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.dec = dec;
	ctx.b = b;
	ctx.t = t;

	const struct sm_axdr_node *root = sm_axdr_node(t, 0);
	char note[160] = "";
	if (!is_container(root->tag)) {
		sm_cosem_add(&ctx, NULL, 0, 0);
		snprintf(note, sizeof(note), "body is a single value without OBIS code: keyed by position");
	} else if (push_object_list(&ctx, 0)) {
		apply_sidecars(&ctx);
	} else if (sm_layout_positional(&ctx, 0)) {
		/* layout table row: ctx.layout_name */
	} else {
		walk(&ctx, 0, true);
		apply_sidecars(&ctx);
		if (ctx.with_obis == 0 && b->tg.nreadings > 0)
			snprintf(note, sizeof(note),
			         "unknown layout (%s of %u without OBIS codes): values keyed by position",
			         container_name(root->tag), root->count);
		else if (ctx.unexplained > 0)
			snprintf(note, sizeof(note), "%u value%s without OBIS code in a %s of %u: keyed by position",
			         ctx.unexplained, ctx.unexplained == 1 ? "" : "s", container_name(root->tag),
			         root->count);
	}
	if (bare && ctx.with_obis == 0 && !ctx.layout_name) {
		/* A lone positional value from noise is not a notification. */
		ret_detail[0] = '\0';
		return SM_E_LAYOUT;
	}
	settle_ids(&ctx);
	sm_layout_scale(&ctx);

	if (ctx.skipped && !note[0])
		snprintf(note, sizeof(note),
		         "%u value%s could not be represented (NaN/infinite float or nested list) and %s left out",
		         ctx.skipped, ctx.skipped == 1 ? "" : "s", ctx.skipped == 1 ? "was" : "were");
	if (b->overflow) /* the more serious remark wins */
		snprintf(note, sizeof(note), "telegram incomplete: more values than the decoder's caps (%u readings)",
		         SM_MAX_READINGS);
	if (used != len - body && !note[0])
		snprintf(note, sizeof(note), "%zu trailing byte%s after the notification body ignored",
		         len - body - used, len - body - used == 1 ? "" : "s");
	if (note[0]) {
		b->tg.note = sm_builder_strdup(b, note, strlen(note));
		enum sm_err why = b->overflow ? SM_E_COUNT : SM_E_LAYOUT;
		sm_emit_event(dec, SM_EVENT_WARNING, why, org, apdu, len, "%s", note);
	}
	sm_emit_telegram(dec, org, sec);
	return SM_OK;
}

/* ---- bare-APDU framing: where does a data-notification end? ---- */

enum sm_scan sm_axdr_measure_notification(const uint8_t *buf, size_t len, size_t *ret_len)
{
	struct sm_cursor c = sm_cursor_init(buf, len);
	if (sm_cursor_u8(&c) != SM_APDU_DATA_NOTIFICATION)
		return c.bad ? SM_SCAN_MORE : SM_SCAN_NO;
	sm_cursor_be32(&c);
	uint8_t form = sm_cursor_u8(&c);
	if (form == SM_AXDR_OCTETS) {
		if (sm_cursor_u8(&c) != SM_DLMS_DATETIME_LEN && !c.bad)
			return SM_SCAN_NO;
		form = SM_DLMS_DATETIME_LEN;
	}
	if (c.bad)
		return SM_SCAN_MORE;
	if (form == SM_DLMS_DATETIME_LEN || form == SM_AXDR_DATETIME) {
		const uint8_t *p = sm_cursor_take(&c, SM_DLMS_DATETIME_LEN);
		struct sm_datetime dt;
		if (!p)
			return SM_SCAN_MORE;
		/* a plausible clock is the best evidence this is a notification and not noise */
		if (!sm_dlms_datetime(p, true, &dt))
			return SM_SCAN_NO;
	} else if (form != 0x00) {
		return SM_SCAN_NO;
	}
	size_t body = c.pos, used = 0;
	enum sm_err err = sm_axdr_parse(NULL, buf + body, len - body, SM_AXDR_STRICT, body, &used, NULL, 0);
	if (err == SM_E_AXDR)
		err = sm_axdr_parse(NULL, buf + body, len - body, SM_AXDR_LENIENT, body, &used, NULL, 0);
	if (err == SM_E_TRUNCATED)
		return len < SM_MAX_FRAME ? SM_SCAN_MORE : SM_SCAN_NO;
	if (err != SM_OK)
		return SM_SCAN_NO;
	*ret_len = body + used;
	return SM_SCAN_FRAME;
}
