/* test_cosem.c — data-notifications to readings (PROTOCOLS.md §4.2, §6): header date-time forms, every
 * body layout family built here in test code, the positional fallback with its warning, malformed
 * bodies, and bare-APDU measuring. Calls sm_cosem_notification() directly (no link layer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define MAXR 128

struct got {
	int telegrams;
	char key[MAXR][SM_OBIS_STRLEN];
	char val[MAXR][128];
	char unit[MAXR][16];
	size_t n;
	char meter_id[64];
	char header[64];
	char note[200];
	char datetime[SM_DATETIME_STRLEN];
	bool has_datetime;
	uint32_t invoke_id;
	int events;
	enum sm_event_level ev_level;
	enum sm_err ev_err;
	char ev_detail[256];
};

static struct got got;

static void value_text(const struct sm_telegram *t, const struct sm_value *v, char *out, size_t outsz)
{
	switch (v->type) {
	case SM_VALUE_NONE:
		snprintf(out, outsz, "null");
		break;
	case SM_VALUE_NUMBER:
		sm_number_format(&v->u.num, out, outsz);
		break;
	case SM_VALUE_TEXT:
		snprintf(out, outsz, "'%.*s'", (int)v->u.text.len, v->u.text.str);
		break;
	case SM_VALUE_OCTETS: {
		size_t o = 0;
		out[o++] = 'x';
		for (size_t i = 0; i < v->u.text.len && o + 3 < outsz; i++)
			o += (size_t)snprintf(out + o, outsz - o, "%02x", (uint8_t)v->u.text.str[i]);
		out[o] = '\0';
		break;
	}
	case SM_VALUE_BOOL:
		snprintf(out, outsz, v->u.boolean ? "true" : "false");
		break;
	case SM_VALUE_DATETIME:
		sm_datetime_format(&v->u.dt, out, outsz);
		break;
	case SM_VALUE_ROWS: {
		size_t o = (size_t)snprintf(out, outsz, "%ux%u:", v->u.rows.nrows, v->u.rows.ncols);
		for (unsigned i = 0; i < (unsigned)v->u.rows.nrows * v->u.rows.ncols && o + 24 < outsz; i++) {
			char cell[64];
			value_text(t, &t->cells[v->u.rows.first + i], cell, sizeof(cell));
			o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? "," : "", cell);
		}
		break;
	}
	}
}

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	got.telegrams++;
	assert_int_equal(t->protocol, SM_PROTOCOL_DLMS);
	got.n = t->nreadings < MAXR ? t->nreadings : MAXR;
	for (size_t i = 0; i < got.n; i++) {
		const struct sm_reading *r = &t->readings[i];
		if (r->has_obis)
			sm_obis_format(r->obis, got.key[i], sizeof(got.key[i]));
		else
			snprintf(got.key[i], sizeof(got.key[i]), "pos_%u", r->position);
		value_text(t, &r->value, got.val[i], sizeof(got.val[i]));
		snprintf(got.unit[i], sizeof(got.unit[i]), "%s", r->value.unit ? r->value.unit : "");
		if (r->has_timestamp) {
			size_t l = strlen(got.val[i]);
			got.val[i][l++] = '@';
			sm_datetime_format(&r->timestamp, got.val[i] + l, sizeof(got.val[i]) - l);
		}
	}
	snprintf(got.meter_id, sizeof(got.meter_id), "%s", t->meter_id ? t->meter_id : "(null)");
	snprintf(got.header, sizeof(got.header), "%s", t->header ? t->header : "(null)");
	snprintf(got.note, sizeof(got.note), "%s", t->note ? t->note : "(null)");
	got.has_datetime = t->has_datetime;
	if (t->has_datetime)
		sm_datetime_format(&t->datetime, got.datetime, sizeof(got.datetime));
	got.invoke_id = t->has_invoke_id ? t->invoke_id : 0xDEADBEEF;
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	got.events++;
	got.ev_level = ev->level;
	got.ev_err = ev->err;
	snprintf(got.ev_detail, sizeof(got.ev_detail), "%s", ev->detail);
}

static struct sm_decoder *dec;

static int setup(void **state)
{
	(void)state;
	enum sm_err err;
	dec = sm_decoder_new(NULL, on_telegram, on_event, NULL, &err);
	return dec ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sm_decoder_free(dec);
	return 0;
}

/* ---- building APDUs ---- */

struct apdu {
	uint8_t b[4096];
	size_t n;
};

static void put(struct apdu *a, const void *p, size_t n)
{
	assert_true(a->n + n <= sizeof(a->b));
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void u8(struct apdu *a, uint8_t v)
{
	put(a, &v, 1);
}

static void be(struct apdu *a, uint64_t v, unsigned bytes)
{
	while (bytes--)
		u8(a, (uint8_t)(v >> (8 * bytes)));
}

static void hdr(struct apdu *a, uint32_t invoke, const uint8_t *dt12)
{
	a->n = 0;
	u8(a, 0x0F);
	be(a, invoke, 4);
	if (dt12) {
		u8(a, 0x0C);
		put(a, dt12, 12);
	} else {
		u8(a, 0x00);
	}
}

static void obis(struct apdu *a, uint8_t A, uint8_t B, uint8_t C, uint8_t D, uint8_t E)
{
	const uint8_t o[] = {0x09, 0x06, A, B, C, D, E, 0xFF};
	put(a, o, sizeof(o));
}

static void str(struct apdu *a, uint8_t tag, const char *s)
{
	u8(a, tag);
	u8(a, (uint8_t)strlen(s));
	put(a, s, strlen(s));
}

static void uint32v(struct apdu *a, uint32_t v)
{
	u8(a, 0x06);
	be(a, v, 4);
}

static void uint16v(struct apdu *a, uint16_t v)
{
	u8(a, 0x12);
	be(a, v, 2);
}

static void scal(struct apdu *a, int8_t scaler, uint8_t unit)
{
	const uint8_t s[] = {0x02, 0x02, 0x0F, (uint8_t)scaler, 0x16, unit};
	put(a, s, sizeof(s));
}

static void cont(struct apdu *a, uint8_t tag, uint8_t count)
{
	u8(a, tag);
	u8(a, count);
}

static void decode(const struct apdu *a)
{
	memset(&got, 0, sizeof(got));
	/* As from a checked link layer: the bare-APDU rules (stream.c) are tested in test_resync. */
	struct sm_origin org = {SM_FRAMING_HDLC, 100, a->n};
	char detail[200] = "";
	enum sm_err err = sm_cosem_notification(dec, a->b, a->n, &org, NULL, detail, sizeof(detail));
	if (err != SM_OK) {
		/* The layer returns its error; the caller (apdu.c) would emit it: record it the same way. */
		got.events++;
		got.ev_level = SM_EVENT_ERROR;
		got.ev_err = err;
		snprintf(got.ev_detail, sizeof(got.ev_detail), "%s", detail);
	}
}

/* Value and unit of a key ("" = no unit); fails when absent. */
static void want(const char *key, const char *val, const char *unit)
{
	for (size_t i = 0; i < got.n; i++)
		if (strcmp(got.key[i], key) == 0) {
			if (strcmp(got.val[i], val) != 0 || strcmp(got.unit[i], unit) != 0)
				fail_msg("%s: got %s %s, want %s %s", key, got.val[i], got.unit[i], val, unit);
			return;
		}
	fail_msg("%s missing", key);
}

static void absent(const char *key)
{
	for (size_t i = 0; i < got.n; i++)
		if (strcmp(got.key[i], key) == 0)
			fail_msg("%s present: %s", key, got.val[i]);
}

static const uint8_t dt_kaifa[12] = {0x07, 0xE6, 0x01, 0x02, 0x07, 0x0E, 0x25, 0x14, 0xFF, 0x80, 0x00, 0x00};
static const uint8_t dt_summer[12] = {0x07, 0xE5, 0x09, 0x1B, 0x01, 0x14, 0x38, 0x00, 0x00, 0xFF, 0x88, 0x80};

/* ---- header ---- */

static void test_header_datetime_forms(void **state)
{
	(void)state;
	struct apdu a;
	/* 00: none */
	hdr(&a, 0x40000000, NULL);
	cont(&a, 0x02, 1);
	uint32v(&a, 4117);
	decode(&a);
	assert_int_equal(got.telegrams, 1);
	assert_false(got.has_datetime);
	assert_int_equal(got.invoke_id, 0x40000000);
	/* 0C + 12 */
	hdr(&a, 0x000018CF, dt_summer);
	cont(&a, 0x02, 1);
	uint32v(&a, 1);
	decode(&a);
	assert_true(got.has_datetime);
	assert_string_equal(got.datetime, "2021-09-27T20:56:00+02:00");
	assert_int_equal(got.invoke_id, 0x18CF);
	/* 09 0C + 12 (Kaifa) and 19 + 12 (typed) */
	static const uint8_t forms[2][2] = {{0x09, 0x0C}, {0x19, 0}};
	for (int f = 0; f < 2; f++) {
		a.n = 0;
		u8(&a, 0x0F);
		be(&a, 0x40000000, 4);
		put(&a, forms[f], f == 0 ? 2 : 1);
		put(&a, dt_kaifa, 12);
		cont(&a, 0x02, 1);
		uint32v(&a, 4117);
		decode(&a);
		assert_int_equal(got.telegrams, 1);
		assert_string_equal(got.datetime, "2022-01-02T14:37:20");
		want("1-0:1.7.0", "4117", "W");
	}
	/* unknown form byte */
	a.n = 0;
	u8(&a, 0x0F);
	be(&a, 1, 4);
	u8(&a, 0x05);
	cont(&a, 0x02, 0);
	decode(&a);
	assert_int_equal(got.telegrams, 0);
	assert_int_equal(got.ev_level, SM_EVENT_ERROR);
	assert_int_equal(got.ev_err, SM_E_AXDR);
	assert_non_null(strstr(got.ev_detail, "unknown form 0x05"));
	/* truncated inside the date-time */
	hdr(&a, 1, dt_kaifa);
	a.n = 10;
	decode(&a);
	assert_int_equal(got.telegrams, 0);
	assert_int_equal(got.ev_err, SM_E_TRUNCATED);
}

/* ---- layout 1: lists of {OBIS, value[, scaler_unit]} ---- */

static void test_aidon_array_of_structures(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 0x40000000, NULL);
	cont(&a, 0x01, 6);
	cont(&a, 0x02, 2);
	obis(&a, 1, 1, 0, 2, 129);
	str(&a, 0x0A, "AIDON_V0001");
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 1, 0);
	str(&a, 0x0A, "7359992890941742");
	cont(&a, 0x02, 3);
	obis(&a, 1, 0, 1, 7, 0);
	uint32v(&a, 1362);
	scal(&a, 0, 27);
	cont(&a, 0x02, 3);
	obis(&a, 1, 0, 31, 7, 0);
	u8(&a, 0x10); /* long, signed */
	be(&a, 0xFFA3, 2);
	scal(&a, -1, 33);
	cont(&a, 0x02, 3);
	obis(&a, 1, 0, 1, 8, 0);
	uint32v(&a, 427244);
	scal(&a, 1, 30);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 1, 0, 0);
	u8(&a, 0x09);
	u8(&a, 12);
	put(&a, dt_kaifa, 12);
	decode(&a);
	assert_int_equal(got.telegrams, 1);
	assert_int_equal(got.events, 0);
	want("1-1:0.2.129", "'AIDON_V0001'", "");
	want("1-0:1.7.0", "1362", "W");
	want("1-0:31.7.0", "-9.3", "A");
	want("1-0:1.8.0", "4272440", "Wh");
	want("0-0:1.0.0", "2022-01-02T14:37:20", "");
	assert_string_equal(got.meter_id, "7359992890941742");
	assert_string_equal(got.header, "AIDON_V0001");
	assert_string_equal(got.note, "(null)");
}

static void test_kaifa_ma309_flattened_clock_pair(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 0x18CF, dt_summer);
	cont(&a, 0x02, 4);
	obis(&a, 0, 0, 1, 0, 0);
	u8(&a, 0x09);
	u8(&a, 12);
	put(&a, dt_summer, 12);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 1, 0);
	str(&a, 0x09, "1KFM0200182517");
	cont(&a, 0x02, 3);
	obis(&a, 1, 0, 32, 7, 0);
	uint16v(&a, 2330);
	scal(&a, -1, 35);
	decode(&a);
	assert_int_equal(got.events, 0);
	want("0-0:1.0.0", "2021-09-27T20:56:00+02:00", "");
	want("0-0:96.1.0", "'1KFM0200182517'", "");
	want("1-0:32.7.0", "233.0", "V");
	assert_string_equal(got.meter_id, "1KFM0200182517");
}

/* ---- layout 2: flat OBIS/value sequences ---- */

static void test_kamstrup_flat_pairs(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 0, dt_kaifa);
	cont(&a, 0x02, 11);
	str(&a, 0x0A, "Kamstrup_V0001");
	obis(&a, 1, 1, 0, 0, 5);
	str(&a, 0x0A, "5706567274389702");
	obis(&a, 1, 1, 31, 7, 0);
	uint32v(&a, 996);
	obis(&a, 1, 1, 32, 7, 0);
	uint16v(&a, 231);
	obis(&a, 1, 1, 1, 8, 0);
	uint32v(&a, 427244);
	obis(&a, 1, 1, 13, 7, 0);
	uint16v(&a, 94);
	decode(&a);
	assert_int_equal(got.events, 0);
	assert_string_equal(got.header, "Kamstrup_V0001");
	assert_string_equal(got.meter_id, "5706567274389702");
	want("1-1:31.7.0", "9.96", "A");
	want("1-1:32.7.0", "231", "V");
	want("1-1:1.8.0", "4272440", "Wh");
	want("1-1:13.7.0", "0.94", "");
	assert_int_equal(got.n, 5);
}

static void test_sagemcom_t210d_triples(void **state)
{
	(void)state;
	struct apdu a;
	static const uint8_t dt[12] = {0x07, 0xE8, 0x0B, 0x0F, 0x05, 0x0E, 0x2D, 0x2D, 0x00, 0xFF, 0xC4, 0x02};
	hdr(&a, 0x8070DD27, dt);
	cont(&a, 0x02, 8);
	u8(&a, 0x09);
	u8(&a, 12);
	put(&a, dt, 12);
	obis(&a, 1, 0, 1, 8, 0);
	uint32v(&a, 4752026);
	scal(&a, 0, 30);
	obis(&a, 1, 0, 13, 7, 0);
	uint16v(&a, 94);
	scal(&a, -3, 255);
	str(&a, 0x09, "178210128502");
	decode(&a);
	assert_int_equal(got.events, 0);
	want("0-0:1.0.0", "2024-11-15T14:45:45+01:00", "");
	want("1-0:1.8.0", "4752026", "Wh");
	want("1-0:13.7.0", "0.094", "");
	want("0-0:96.1.0", "'178210128502'", "");
	assert_string_equal(got.meter_id, "178210128502");
	assert_string_equal(got.datetime, "2024-11-15T14:45:45+01:00");
}

/* XT211 (§6.7): {enum, array of {descriptor, value}}, descriptor untagged or tagged */
static void test_xt211_descriptor_forms(void **state)
{
	(void)state;
	struct apdu a;
	for (int form = 0; form < 3; form++) {
		hdr(&a, 0x8000F1D5, NULL);
		cont(&a, 0x02, 2);
		u8(&a, 0x16);
		u8(&a, 0x01);
		cont(&a, 0x01, 3);
		static const struct {
			uint16_t cls;
			uint8_t ln[6];
			uint8_t attr;
		} objs[3] = {
		    {1, {0, 0, 96, 1, 1, 255}, 2},
		    {70, {0, 0, 96, 3, 10, 255}, 3},
		    {3, {1, 0, 1, 8, 0, 255}, 2},
		};
		for (int k = 0; k < 3; k++) {
			if (form == 0) { /* untagged class(2) LN(6) attr(1) */
				cont(&a, 0x02, 2);
				be(&a, objs[k].cls, 2);
				put(&a, objs[k].ln, 6);
				u8(&a, objs[k].attr);
			} else if (form == 1) { /* {{class, LN, attr}, value} */
				cont(&a, 0x02, 2);
				cont(&a, 0x02, 3);
				u8(&a, 0x12);
				be(&a, objs[k].cls, 2);
				u8(&a, 0x09);
				u8(&a, 6);
				put(&a, objs[k].ln, 6);
				u8(&a, 0x0F);
				u8(&a, objs[k].attr);
			} else { /* {class, LN, attr, value} */
				cont(&a, 0x02, 4);
				u8(&a, 0x12);
				be(&a, objs[k].cls, 2);
				u8(&a, 0x09);
				u8(&a, 6);
				put(&a, objs[k].ln, 6);
				u8(&a, 0x0F);
				u8(&a, objs[k].attr);
			}
			if (k == 0)
				str(&a, 0x09, "5100005149");
			else if (k == 1) {
				u8(&a, 0x16);
				u8(&a, 1);
			} else
				uint32v(&a, 4913794);
		}
		decode(&a);
		assert_int_equal(got.telegrams, 1);
		assert_int_equal(got.events, 0);
		want("0-0:96.1.1", "'5100005149'", "");
		want("0-0:96.3.10", "1", "");
		want("1-0:1.8.0", "4913794", "Wh");
		want("pos_0", "1", "");
		assert_string_equal(got.meter_id, "5100005149");
	}
}

/* ---- layout 3: push-object-list (§6.5) ---- */

static void descr(struct apdu *a, uint16_t cls, uint8_t A, uint8_t B, uint8_t C, uint8_t D, uint8_t E, int8_t attr)
{
	cont(a, 0x02, 4);
	u8(a, 0x12);
	be(a, cls, 2);
	obis(a, A, B, C, D, E);
	u8(a, 0x0F);
	u8(a, (uint8_t)attr);
	u8(a, 0x12);
	be(a, 0, 2);
}

static void test_push_object_list(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 0xCBC6, dt_kaifa);
	cont(&a, 0x02, 9);
	cont(&a, 0x01, 9);
	descr(&a, 40, 0, 8, 25, 9, 0, 2);
	descr(&a, 40, 0, 8, 25, 9, 0, 1);
	descr(&a, 1, 0, 0, 42, 0, 0, 2);
	descr(&a, 3, 1, 0, 31, 7, 0, 2);
	descr(&a, 3, 1, 0, 13, 7, 0, 2);
	descr(&a, 3, 1, 0, 71, 7, 0, 2);
	descr(&a, 4, 0, 1, 24, 2, 1, 2);
	descr(&a, 4, 0, 1, 24, 2, 1, 3);
	descr(&a, 4, 0, 1, 24, 2, 1, 5);
	obis(&a, 0, 8, 25, 9, 0);
	str(&a, 0x09, "LGZ1030655933512");
	uint16v(&a, 51);
	uint16v(&a, 941);
	u8(&a, 0x14);
	be(&a, 601, 8); /* long64 current: the E570 sends whole amperes */
	u8(&a, 0x05);
	be(&a, 30545, 4);
	scal(&a, -3, 13);
	u8(&a, 0x09);
	u8(&a, 12);
	put(&a, dt_summer, 12);
	decode(&a);
	assert_int_equal(got.events, 0);
	want("0-0:42.0.0", "'LGZ1030655933512'", "");
	want("1-0:31.7.0", "0.51", "A");
	want("1-0:13.7.0", "0.941", "");
	want("1-0:71.7.0", "601", "A");
	want("0-1:24.2.1", "30.545@2021-09-27T20:56:00+02:00", "m3");
	absent("0-8:25.9.0");
	assert_int_equal(got.n, 5);
	assert_string_equal(got.meter_id, "LGZ1030655933512");
}

/* ---- layout 4: positional lists (table in layouts.c) ---- */

static void test_kaifa_positional(void **state)
{
	(void)state;
	struct apdu a;
	static const uint32_t v[10] = {4097, 0, 195, 0, 12056, 5754, 13412, 2392, 0, 2397};
	a.n = 0;
	u8(&a, 0x0F);
	be(&a, 0x40000000, 4);
	u8(&a, 0x09);
	u8(&a, 0x0C);
	put(&a, dt_kaifa, 12);
	cont(&a, 0x02, 13);
	str(&a, 0x09, "KFM_001");
	str(&a, 0x09, "6970631403275928");
	str(&a, 0x09, "MA304H3E");
	for (int i = 0; i < 10; i++)
		uint32v(&a, v[i]);
	decode(&a);
	assert_int_equal(got.events, 0);
	assert_string_equal(got.header, "KFM_001");
	assert_string_equal(got.meter_id, "6970631403275928");
	want("0-0:96.1.7", "'MA304H3E'", "");
	want("1-0:1.7.0", "4097", "W");
	want("1-0:3.7.0", "195", "var");
	want("1-0:31.7.0", "12.056", "A");
	want("1-0:71.7.0", "13.412", "A");
	want("1-0:32.7.0", "239.2", "V");
	want("1-0:72.7.0", "239.7", "V");
	assert_int_equal(got.n, 12);
}

/* ---- layout 5: unknown bodies are published by position, with a warning ---- */

static void test_unknown_layout_keyed_by_position(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 7, dt_kaifa);
	cont(&a, 0x02, 7);
	for (int i = 0; i < 6; i++)
		uint16v(&a, (uint16_t)(100 + i));
	str(&a, 0x09, "\x01\x02");
	decode(&a);
	assert_int_equal(got.telegrams, 1);
	assert_int_equal(got.n, 7);
	want("pos_0", "100", "");
	want("pos_5", "105", "");
	want("pos_6", "x0102", "");
	assert_string_equal(got.note, "unknown layout (structure of 7 without OBIS codes): values keyed by position");
	assert_int_equal(got.events, 1);
	assert_int_equal(got.ev_level, SM_EVENT_WARNING);
	assert_int_equal(got.ev_err, SM_E_LAYOUT);

	/* OBIS-keyed body with a stray value in the middle: published, and said so */
	hdr(&a, 8, NULL);
	cont(&a, 0x02, 5);
	obis(&a, 1, 0, 1, 7, 0);
	uint32v(&a, 5);
	u8(&a, 0x03);
	u8(&a, 0x01);
	obis(&a, 1, 0, 2, 7, 0);
	uint32v(&a, 6);
	decode(&a);
	want("1-0:1.7.0", "5", "W");
	want("1-0:2.7.0", "6", "W");
	want("pos_2", "true", "");
	assert_non_null(strstr(got.note, "1 value without OBIS code"));
	assert_int_equal(got.ev_err, SM_E_LAYOUT);
}

static void test_values_rows_and_floats(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 9, NULL);
	cont(&a, 0x01, 3);
	/* a float register with scaler_unit */
	cont(&a, 0x02, 3);
	obis(&a, 1, 0, 14, 7, 0);
	u8(&a, 0x17);
	be(&a, 0x42480000, 4); /* 50.0f */
	scal(&a, 0, 44);
	/* NaN: skipped, with a note */
	cont(&a, 0x02, 2);
	obis(&a, 1, 0, 13, 7, 0);
	u8(&a, 0x18);
	be(&a, 0x7FF8000000000000ULL, 8);
	/* a profile: array of 2 rows {date-time, value} */
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 98, 1, 0);
	cont(&a, 0x01, 2);
	for (int r = 0; r < 2; r++) {
		cont(&a, 0x02, 2);
		u8(&a, 0x09);
		u8(&a, 12);
		put(&a, dt_kaifa, 12);
		uint32v(&a, (uint32_t)(10 + r));
	}
	decode(&a);
	assert_int_equal(got.telegrams, 1);
	want("1-0:14.7.0", "50", "Hz");
	absent("1-0:13.7.0");
	want("0-0:98.1.0", "2x2:2022-01-02T14:37:20,10,2022-01-02T14:37:20,11", "");
	assert_non_null(strstr(got.note, "could not be represented"));
	assert_int_equal(got.ev_level, SM_EVENT_WARNING);
}

static void test_text_octets_and_bools(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 10, NULL);
	cont(&a, 0x01, 5);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 14, 0);
	str(&a, 0x09, "0002");
	cont(&a, 0x02, 2);
	obis(&a, 0, 1, 96, 1, 0);
	u8(&a, 0x09);
	u8(&a, 1);
	u8(&a, 0x00);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 3, 10);
	u8(&a, 0x03);
	u8(&a, 0x00);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 1, 0);
	u8(&a, 0x0A);
	u8(&a, 16);
	put(&a, "40799390\0\0\0\0\0\0\0\0", 16);
	cont(&a, 0x02, 2);
	obis(&a, 0, 0, 96, 13, 0);
	u8(&a, 0x00);
	decode(&a);
	want("0-0:96.14.0", "'0002'", "");
	want("0-1:96.1.0", "x00", "");
	want("0-0:96.3.10", "false", "");
	want("0-0:96.1.0", "'40799390'", "");
	want("0-0:96.13.0", "null", "");
	assert_string_equal(got.meter_id, "40799390");
}

static void test_malformed_body(void **state)
{
	(void)state;
	struct apdu a;
	hdr(&a, 11, NULL);
	cont(&a, 0x02, 2);
	u8(&a, 0x09);
	u8(&a, 0x82);
	be(&a, 300, 2);
	put(&a, "abcdefghijkl", 12);
	decode(&a);
	assert_int_equal(got.telegrams, 0);
	assert_int_equal(got.ev_level, SM_EVENT_ERROR);
	assert_int_equal(got.ev_err, SM_E_TRUNCATED);
	assert_string_equal(got.ev_detail, "A-XDR octet-string length 300 exceeds remaining 12 bytes at offset 8");

	hdr(&a, 12, NULL);
	cont(&a, 0x13, 1);
	decode(&a);
	assert_int_equal(got.ev_err, SM_E_UNSUPPORTED);

	hdr(&a, 13, NULL);
	for (int i = 0; i < 50; i++)
		cont(&a, 0x01, 1);
	u8(&a, 0x00);
	decode(&a);
	assert_int_equal(got.telegrams, 0);
	assert_int_equal(got.ev_err, SM_E_DEPTH);
}

static void test_measure_bare_notification(void **state)
{
	(void)state;
	struct apdu a;
	size_t len = 0;
	hdr(&a, 0x40000000, dt_kaifa);
	cont(&a, 0x02, 2);
	obis(&a, 1, 0, 1, 7, 0);
	uint32v(&a, 5);
	size_t full = a.n;
	u8(&a, 0x7E); /* whatever follows */
	assert_int_equal(sm_axdr_measure_notification(a.b, a.n, &len), SM_SCAN_FRAME);
	assert_int_equal(len, full);
	for (size_t cut = 1; cut < full; cut++)
		assert_int_equal(sm_axdr_measure_notification(a.b, cut, &len), SM_SCAN_MORE);
	/* not a notification / implausible header */
	a.b[0] = 0x0E;
	assert_int_equal(sm_axdr_measure_notification(a.b, full, &len), SM_SCAN_NO);
	a.b[0] = 0x0F;
	a.b[5] = 0x33;
	assert_int_equal(sm_axdr_measure_notification(a.b, full, &len), SM_SCAN_NO);
	a.b[5] = 0x0C;
	a.b[8] = 0x0D; /* month 13 */
	assert_int_equal(sm_axdr_measure_notification(a.b, full, &len), SM_SCAN_NO);
	a.b[8] = 0x01;
	a.b[20] = 0x07; /* invalid tag where the OBIS octet-string starts */
	assert_int_equal(sm_axdr_measure_notification(a.b, full, &len), SM_SCAN_NO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_datetime_forms),
	    cmocka_unit_test(test_aidon_array_of_structures),
	    cmocka_unit_test(test_kaifa_ma309_flattened_clock_pair),
	    cmocka_unit_test(test_kamstrup_flat_pairs),
	    cmocka_unit_test(test_sagemcom_t210d_triples),
	    cmocka_unit_test(test_xt211_descriptor_forms),
	    cmocka_unit_test(test_push_object_list),
	    cmocka_unit_test(test_kaifa_positional),
	    cmocka_unit_test(test_unknown_layout_keyed_by_position),
	    cmocka_unit_test(test_values_rows_and_floats),
	    cmocka_unit_test(test_text_octets_and_bools),
	    cmocka_unit_test(test_malformed_body),
	    cmocka_unit_test(test_measure_bare_notification),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
