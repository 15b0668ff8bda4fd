/* test_layouts.c — the meter layout tables (src/lib/layouts.c): every positional row is well formed and
 * reachable (a body of its shape selects it, not an earlier row), family scalers apply only where the wire
 * has no scaler_unit, and conventional units follow the OBIS quantity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cosem.h"

static struct sm_decoder *dec;

static int setup(void **state)
{
	(void)state;
	enum sm_err err;
	dec = sm_decoder_new(NULL, NULL, NULL, NULL, &err);
	return dec ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sm_decoder_free(dec);
	return 0;
}

static const uint8_t dt12[12] = {0x07, 0xE6, 0x01, 0x02, 0x07, 0x0E, 0x25, 0x14, 0xFF, 0x80, 0x00, 0x00};

/* A body of the given shape: strings are "x" (or the row's id), numbers count up. */
static size_t body_for(const struct sm_layout_info *l, uint8_t *b, size_t cap)
{
	size_t n = 0, count = strlen(l->shape);
	b[n++] = 0x02;
	b[n++] = (uint8_t)count;
	for (size_t k = 0; k < count; k++) {
		assert_true(n + 32 < cap);
		switch (l->shape[k]) {
		case 's':
			b[n++] = 0x09;
			if (l->id && k == l->id_pos) {
				b[n++] = (uint8_t)l->id_len;
				memcpy(b + n, l->id, l->id_len);
				n += l->id_len;
			} else {
				b[n++] = 1;
				b[n++] = 'x';
			}
			break;
		case 'd':
			b[n++] = 0x09;
			b[n++] = 12;
			memcpy(b + n, dt12, 12);
			n += 12;
			break;
		case 'n':
		case 'U':
			b[n++] = 0x06;
			b[n++] = 0;
			b[n++] = 0;
			b[n++] = 0;
			b[n++] = (uint8_t)(k + 1);
			break;
		case 'w':
			b[n++] = 0x12;
			b[n++] = 0;
			b[n++] = (uint8_t)(k + 1);
			break;
		case 'e':
			b[n++] = 0x16;
			b[n++] = 1;
			break;
		case 'b':
			b[n++] = 0x03;
			b[n++] = 1;
			break;
		case 'a':
			b[n++] = 0x01;
			b[n++] = 1;
			b[n++] = 0x12;
			b[n++] = 0x24;
			b[n++] = 0xB8;
			break;
		default:
			fail_msg("row %s: shape character '%c' not understood by the test", l->name, l->shape[k]);
		}
	}
	return n;
}

static void ctx_init(struct sm_cosem_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->dec = dec;
	ctx->b = &dec->build;
	ctx->t = &dec->axdr;
	sm_builder_reset(&dec->build);
	dec->build.tg.readings = dec->build.readings;
}

static void test_rows_well_formed_and_reachable(void **state)
{
	(void)state;
	assert_true(sm_layout_count() > 10);
	for (size_t i = 0; i < sm_layout_count(); i++) {
		struct sm_layout_info l;
		assert_true(sm_layout_get(i, &l));
		if (l.nfields != strlen(l.shape))
			fail_msg("row %s: %u fields for a shape of %zu", l.name, l.nfields, strlen(l.shape));
		uint8_t body[1024];
		size_t n = body_for(&l, body, sizeof(body)), used;
		char detail[200];
		assert_int_equal(sm_axdr_parse(&dec->axdr, body, n, SM_AXDR_STRICT, 0, &used, detail, sizeof(detail)),
		                 SM_OK);
		struct sm_cosem_ctx ctx;
		ctx_init(&ctx);
		assert_true(sm_layout_positional(&ctx, 0));
		if (strcmp(ctx.layout_name, l.name) != 0)
			fail_msg("a body shaped for \"%s\" is taken by \"%s\"", l.name, ctx.layout_name);
		assert_true(dec->build.tg.nreadings > 0);
	}
	assert_false(sm_layout_get(sm_layout_count(), &(struct sm_layout_info){0}));
}

static void test_no_row_for_other_shapes(void **state)
{
	(void)state;
	/* a structure of 7 unsigned values matches nothing: cosem.c publishes it by position */
	uint8_t body[2 + 7 * 3] = {0x02, 7};
	for (int k = 0; k < 7; k++) {
		body[2 + 3 * k] = 0x12;
		body[3 + 3 * k] = 0;
		body[4 + 3 * k] = (uint8_t)k;
	}
	size_t used;
	assert_int_equal(sm_axdr_parse(&dec->axdr, body, sizeof(body), 0, 0, &used, NULL, 0), SM_OK);
	struct sm_cosem_ctx ctx;
	ctx_init(&ctx);
	assert_false(sm_layout_positional(&ctx, 0));
	assert_int_equal(dec->build.tg.nreadings, 0);
	/* an "ISK" list of the right length but the wrong types is not an Iskra list */
	static const uint8_t isk[] = {0x02, 0x02, 0x09, 0x03, 'I', 'S', 'K', 0x09, 0x01, 'x'};
	assert_int_equal(sm_axdr_parse(&dec->axdr, isk, sizeof(isk), 0, 0, &used, NULL, 0), SM_OK);
	ctx_init(&ctx);
	assert_false(sm_layout_positional(&ctx, 0));
}

static void test_kfm001_list2_values(void **state)
{
	(void)state;
	struct sm_layout_info l = {"KFM", "sssnnnnnnnnnn", 13, 0, "KFM_001", 7};
	uint8_t body[512];
	size_t n = body_for(&l, body, sizeof(body)), used;
	assert_int_equal(sm_axdr_parse(&dec->axdr, body, n, 0, 0, &used, NULL, 0), SM_OK);
	struct sm_cosem_ctx ctx;
	ctx_init(&ctx);
	assert_true(sm_layout_positional(&ctx, 0));
	assert_string_equal(ctx.family, "KFM_001");
	assert_int_equal(ctx.list_id_len, 7);
	const struct sm_reading *r = sm_telegram_find(&dec->build.tg, (const uint8_t[6]){1, 0, 31, 7, 0, 255});
	assert_non_null(r);
	char buf[SM_NUMBER_STRLEN];
	sm_number_format(&r->value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, "0.008"); /* element 7 holds 8 mA */
	assert_string_equal(r->value.unit, "A");
	r = sm_telegram_find(&dec->build.tg, (const uint8_t[6]){1, 0, 72, 7, 0, 255});
	assert_non_null(r);
	sm_number_format(&r->value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, "1.3");
	assert_string_equal(r->value.unit, "V");
}

static void test_family_scalers_only_without_wire_scaler(void **state)
{
	(void)state;
	/* Kamstrup current: x0.01 from the family table unless the wire says otherwise */
	static const uint8_t body[] = {
	    0x02, 0x03, 0x02, 0x02, 0x09, 0x06, 1, 1, 31,  7,    0, 255, 0x06, 0,    0,    0x03, 0xE3, 0x02,
	    0x03, 0x09, 0x06, 1,    1,    51,   7, 0, 255, 0x06, 0, 0,   0x03, 0xE3, 0x02, 0x02, 0x0F, 0xFF,
	    0x16, 33,   0x02, 0x02, 0x09, 0x06, 1, 1, 99,  7,    0, 255, 0x06, 0,    0,    0x03, 0xE3,
	};
	size_t used;
	assert_int_equal(sm_axdr_parse(&dec->axdr, body, sizeof(body), 0, 0, &used, NULL, 0), SM_OK);
	struct sm_cosem_ctx ctx;
	ctx_init(&ctx);
	strcpy(ctx.family, "Kamstrup_V0001");
	const struct sm_axdr_tree *t = &dec->axdr;
	int a =
	    sm_cosem_add(&ctx, (const uint8_t[6]){1, 1, 31, 7, 0, 255}, 0, sm_axdr_child(t, sm_axdr_child(t, 0, 0), 1));
	int b =
	    sm_cosem_add(&ctx, (const uint8_t[6]){1, 1, 51, 7, 0, 255}, 1, sm_axdr_child(t, sm_axdr_child(t, 0, 1), 1));
	sm_cosem_scale(&ctx, b, -1, "A"); /* as if from the wire scaler_unit */
	int c =
	    sm_cosem_add(&ctx, (const uint8_t[6]){1, 1, 99, 7, 0, 255}, 2, sm_axdr_child(t, sm_axdr_child(t, 0, 2), 1));
	assert_true(a >= 0 && b >= 0 && c >= 0);
	sm_layout_scale(&ctx);
	char buf[SM_NUMBER_STRLEN];
	sm_number_format(&dec->build.readings[a].value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, "9.95");
	assert_string_equal(dec->build.readings[a].value.unit, "A");
	sm_number_format(&dec->build.readings[b].value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, "99.5");
	sm_number_format(&dec->build.readings[c].value.u.num, buf, sizeof(buf));
	assert_string_equal(buf, "995");
	assert_null(dec->build.readings[c].value.unit);
}

static void test_default_units(void **state)
{
	(void)state;
	static const struct {
		uint8_t obis[6];
		const char *unit;
	} cases[] = {
	    {{1, 0, 1, 7, 0, 255}, "W"},    {{1, 1, 2, 8, 0, 255}, "Wh"},   {{1, 0, 3, 7, 0, 255}, "var"},
	    {{1, 1, 8, 8, 0, 255}, "varh"}, {{1, 0, 62, 7, 0, 255}, "W"},   {{1, 0, 21, 8, 0, 255}, "Wh"},
	    {{1, 0, 9, 7, 0, 255}, "VA"},   {{1, 0, 10, 8, 0, 255}, "VAh"}, {{1, 0, 71, 7, 0, 255}, "A"},
	    {{1, 0, 52, 7, 0, 255}, "V"},   {{1, 0, 14, 7, 0, 255}, "Hz"},  {{1, 0, 1, 8, 2, 255}, "Wh"},
	    {{1, 0, 13, 7, 0, 255}, NULL},  {{0, 0, 17, 0, 0, 255}, NULL},  {{0, 1, 24, 2, 1, 255}, NULL},
	    {{1, 0, 32, 32, 0, 255}, NULL}, {{0, 0, 1, 8, 0, 255}, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *u = sm_layout_default_unit(cases[i].obis);
		if (cases[i].unit ? !u || strcmp(u, cases[i].unit) != 0 : u != NULL)
			fail_msg("case %zu: got %s want %s", i, u ? u : "NULL", cases[i].unit ? cases[i].unit : "NULL");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows_well_formed_and_reachable),
	    cmocka_unit_test(test_no_row_for_other_shapes),
	    cmocka_unit_test(test_kfm001_list2_values),
	    cmocka_unit_test(test_family_scalers_only_without_wire_scaler),
	    cmocka_unit_test(test_default_units),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
