/* c1219.c — the few ANSI C12.19 tables a consumer needs, decoded exactly into a struct sm_telegram.
 * ST0/ST1/ST21 say how to read; BT23 (summations) and BT28 (present values) are what we publish, with
 * the meaning Echelon/NES meters give their positions. Pure: bounds-checked reads of the caller's bytes,
 * values as decimal mantissa + exponent (no floating point), text copied into the telegram struct.
 *
 *   ST0  FORMAT_CONTROL_1 (bit 0 DATA_ORDER, bits 1-3 CHAR_FORMAT) | FORMAT_CONTROL_2 (bit 5 ID_FORM) |
 *        FORMAT_CONTROL_3 (bits 0-3 NI_FORMAT1, 4-7 NI_FORMAT2) | DEVICE_CLASS (4) | ...
 *   ST1  MANUFACTURER (4) | ED_MODEL (8) | HW_VERSION | HW_REVISION | FW_VERSION | FW_REVISION |
 *        MFG_SERIAL_NUMBER (16 characters, or 8 bytes of BCD when ID_FORM is set)
 *   ST21 REG_FUNC1_FLAGS | REG_FUNC2_FLAGS | NBR_SELF_READS | NBR_SUMMATIONS | NBR_DEMANDS |
 *        NBR_COIN_VALUES | NBR_OCCUR | NBR_TIERS | NBR_PRESENT_DEMANDS | NBR_PRESENT_VALUES
 *   BT23 [NBR_DEMAND_RESETS (1) if REG_FUNC1 bit 2] | SUMMATIONS (NI_FORMAT1 each) | demands ... tiers
 *   BT28 PRESENT_DEMANDS ([TIME_REMAINING (3) if REG_FUNC1 bit 6] + NI_FORMAT2 each) |
 *        PRESENT_VALUES (NI_FORMAT1 each) */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "smartmeter/c1218.h"

#define REG_FUNC1_DEMAND_RESET_CTR 0x04u
#define REG_FUNC1_TIME_REMAINING 0x40u
#define TIME_REMAINING_SIZE 3u

/* C12.19 NI_FORMAT codes we decode exactly; the float formats (0-3, 13) and 4 are not. */
enum {
	NI_FIXED_BCD6 = 5,
	NI_FIXED_BCD4 = 6,
	NI_INT24 = 7,
	NI_INT32 = 8,
	NI_INT40 = 9,
	NI_INT48 = 10,
	NI_INT64 = 11,
	NI_FIXED_BCD8 = 12,
};

size_t sm_c1219_ni_size(uint8_t f)
{
	switch (f) {
	case NI_FIXED_BCD6: return 6;
	case NI_FIXED_BCD4: return 4;
	case NI_INT24: return 3;
	case NI_INT32: return 4;
	case NI_INT40: return 5;
	case NI_INT48: return 6;
	case NI_INT64: return 8;
	case NI_FIXED_BCD8: return 8;
	default: return 0;
	}
}

static enum sm_err bcd(const uint8_t *p, size_t n, bool big_endian, struct sm_number *ret)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = big_endian ? p[i] : p[n - 1 - i];
		uint8_t hi = b >> 4, lo = b & 15;
		if (hi > 9 || lo > 9)
			return SM_E_SYNTAX;
		v = v * 100 + hi * 10u + lo;
	}
	ret->mag = v;
	ret->neg = false;
	ret->exp10 = 0;
	return SM_OK;
}

enum sm_err sm_c1219_ni_decode(uint8_t f, bool big_endian, const uint8_t *p, size_t n, struct sm_number *ret)
{
	size_t size = sm_c1219_ni_size(f);
	if (size == 0)
		return SM_E_UNSUPPORTED;
	if (n < size)
		return SM_E_TRUNCATED;
	if (f == NI_FIXED_BCD4 || f == NI_FIXED_BCD6 || f == NI_FIXED_BCD8)
		return bcd(p, size, big_endian, ret);
	uint64_t u = 0;
	for (size_t i = 0; i < size; i++)
		u = u << 8 | (big_endian ? p[i] : p[size - 1 - i]);
	/* Two's complement of size*8 bits. */
	bool neg = size < 8 ? (u >> (size * 8 - 1)) & 1 : (u >> 63) & 1;
	if (neg) {
		uint64_t mask = size < 8 ? (UINT64_C(1) << (size * 8)) - 1 : UINT64_MAX;
		u = (~u + 1) & mask;
	}
	ret->mag = u;
	ret->neg = neg && u != 0;
	ret->exp10 = 0;
	return SM_OK;
}

/* Fixed-width text: stop at NUL, cut trailing spaces, keep printable ASCII only (ids go into topics
 * and logs: a meter sending control bytes must not put them there). */
static void text_field(char *out, size_t outsz, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < outsz && p[i]; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

enum sm_err sm_c1219_decode_st0(const uint8_t *p, size_t n, struct sm_c1219_config *cfg)
{
	if (n < 3)
		return SM_E_TRUNCATED;
	cfg->big_endian = (p[0] & 1) != 0;
	cfg->char_format = (p[0] >> 1) & 7;
	cfg->id_bcd = (p[1] & 0x20) != 0;
	cfg->ni_format1 = p[2] & 15;
	cfg->ni_format2 = p[2] >> 4;
	cfg->device_class[0] = '\0';
	if (n >= 7)
		text_field(cfg->device_class, sizeof(cfg->device_class), p + 3, 4);
	return SM_OK;
}

enum sm_err sm_c1219_decode_st1(const uint8_t *p, size_t n, struct sm_c1219_config *cfg)
{
	if (n < SM_C1219_ST1_READ)
		return SM_E_TRUNCATED;
	text_field(cfg->manufacturer, sizeof(cfg->manufacturer), p, 4);
	text_field(cfg->model, sizeof(cfg->model), p + 4, 8);
	cfg->hw_version = p[12];
	cfg->hw_revision = p[13];
	cfg->fw_version = p[14];
	cfg->fw_revision = p[15];
	if (cfg->id_bcd) {
		/* 16 BCD digits, printed as the meter holds them (termineter reads the same 8 bytes). */
		static const char digits[] = "0123456789";
		for (size_t i = 0; i < 8; i++) {
			uint8_t hi = p[16 + i] >> 4, lo = p[16 + i] & 15;
			if (hi > 9 || lo > 9)
				return SM_E_SYNTAX;
			cfg->serial[2 * i] = digits[hi];
			cfg->serial[2 * i + 1] = digits[lo];
		}
		cfg->serial[16] = '\0';
		return SM_OK;
	}
	/* Serial numbers are often right-aligned behind spaces or zeros: cut leading spaces only. */
	size_t lead = 0;
	while (lead < 16 && p[16 + lead] == ' ')
		lead++;
	text_field(cfg->serial, sizeof(cfg->serial), p + 16 + lead, 16 - lead);
	return SM_OK;
}

enum sm_err sm_c1219_decode_st21(const uint8_t *p, size_t n, struct sm_c1219_config *cfg)
{
	if (n < SM_C1219_ST21_READ)
		return SM_E_TRUNCATED;
	cfg->reg_func1 = p[0];
	cfg->reg_func2 = p[1];
	cfg->nbr_summations = p[3];
	cfg->nbr_demands = p[4];
	cfg->nbr_tiers = p[7];
	cfg->nbr_present_demands = p[8];
	cfg->nbr_present_values = p[9];
	return SM_OK;
}

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

enum sm_err sm_c1219_bt23_span(const struct sm_c1219_config *cfg, uint32_t *ret_offset, size_t *ret_count)
{
	size_t ni = sm_c1219_ni_size(cfg->ni_format1);
	unsigned nsum = min_u(cfg->nbr_summations, SM_C1219_MAX_SUMMATIONS);
	if (nsum && ni == 0)
		return SM_E_UNSUPPORTED;
	*ret_offset = 0;
	*ret_count = nsum ? ((cfg->reg_func1 & REG_FUNC1_DEMAND_RESET_CTR) ? 1u : 0u) + nsum * ni : 0;
	return SM_OK;
}

enum sm_err sm_c1219_bt28_span(const struct sm_c1219_config *cfg, uint32_t *ret_offset, size_t *ret_count)
{
	size_t ni1 = sm_c1219_ni_size(cfg->ni_format1), ni2 = sm_c1219_ni_size(cfg->ni_format2);
	unsigned npv = min_u(cfg->nbr_present_values, SM_C1219_MAX_PRESENT_VALUES);
	if ((npv && ni1 == 0) || (cfg->nbr_present_demands && ni2 == 0))
		return SM_E_UNSUPPORTED;
	size_t demand = ((cfg->reg_func1 & REG_FUNC1_TIME_REMAINING) ? TIME_REMAINING_SIZE : 0u) + ni2;
	*ret_offset = (uint32_t)(cfg->nbr_present_demands * demand);
	*ret_count = npv * ni1;
	return SM_OK;
}

/* NES present-value positions (DabblerDK NES-MEP.cpp, from the manufacturer's guide). */
struct pv_meaning {
	uint8_t obis_c;
	const char *unit;
	int8_t exp10;
};

static const struct pv_meaning nes_present[] = {
	[0] = { 1, "W", 0 },    [1] = { 2, "W", 0 },    [2] = { 3, "var", 0 },  [3] = { 4, "var", 0 },
	[4] = { 31, "A", -3 },  [5] = { 51, "A", -3 },  [6] = { 71, "A", -3 },  [7] = { 32, "V", -3 },
	[8] = { 52, "V", -3 },  [9] = { 72, "V", -3 },  [11] = { 14, "Hz", -3 }, [12] = { 9, "VA", 0 },
};

static struct sm_reading *add(struct sm_c1219_telegram *out)
{
	if (out->tg.nreadings >= SM_C1219_MAX_READINGS)
		return NULL;
	struct sm_reading *r = &out->readings[out->tg.nreadings++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void set_obis(struct sm_reading *r, uint8_t c, uint8_t d)
{
	const uint8_t o[6] = { 1, 0, c, d, 0, 255 };
	memcpy(r->obis, o, 6);
	r->has_obis = true;
}

enum sm_err sm_c1219_telegram_build(struct sm_c1219_telegram *out, const struct sm_c1219_config *cfg,
                                    const uint8_t *bt23, size_t n23, const uint8_t *bt28, size_t n28)
{
	uint32_t off;
	size_t want23, want28;
	enum sm_err e;

	memset(&out->tg, 0, sizeof(out->tg));
	out->tg.protocol = SM_PROTOCOL_C1218;
	out->tg.framing = SM_FRAMING_C1218;
	out->tg.readings = out->readings;
	if ((e = sm_c1219_bt23_span(cfg, &off, &want23)) != SM_OK || (e = sm_c1219_bt28_span(cfg, &off, &want28)) != SM_OK)
		return e;
	if (n23 < want23 || n28 < want28)
		return SM_E_TRUNCATED;

	snprintf(out->meter_id, sizeof(out->meter_id), "%s", cfg->serial);
	out->tg.meter_id = out->meter_id[0] ? out->meter_id : NULL;
	snprintf(out->header, sizeof(out->header), "%s%s%s", cfg->manufacturer, cfg->manufacturer[0] && cfg->model[0] ? " " : "",
	         cfg->model);
	out->tg.header = out->header[0] ? out->header : NULL;
	out->tg.length = n23 + n28;

	size_t ni = sm_c1219_ni_size(cfg->ni_format1);
	const uint8_t *p = bt23 + ((want23 && (cfg->reg_func1 & REG_FUNC1_DEMAND_RESET_CTR)) ? 1 : 0);
	unsigned nsum = want23 ? min_u(cfg->nbr_summations, SM_C1219_MAX_SUMMATIONS) : 0;
	for (unsigned i = 0; i < nsum; i++, p += ni) {
		struct sm_reading *r = add(out);
		if (!r)
			return SM_E_COUNT;
		r->value.type = SM_VALUE_NUMBER;
		if ((e = sm_c1219_ni_decode(cfg->ni_format1, cfg->big_endian, p, ni, &r->value.u.num)) != SM_OK)
			return e;
		r->position = (uint16_t)(100 + i);
		if (i < 2) {
			set_obis(r, i == 0 ? 1 : 2, 8);
			r->value.unit = "Wh";
		}
	}
	unsigned npv = want28 ? min_u(cfg->nbr_present_values, SM_C1219_MAX_PRESENT_VALUES) : 0;
	p = bt28;
	for (unsigned i = 0; i < npv; i++, p += ni) {
		struct sm_reading *r = add(out);
		if (!r)
			return SM_E_COUNT;
		r->value.type = SM_VALUE_NUMBER;
		if ((e = sm_c1219_ni_decode(cfg->ni_format1, cfg->big_endian, p, ni, &r->value.u.num)) != SM_OK)
			return e;
		r->position = (uint16_t)i;
		if (i < sizeof(nes_present) / sizeof(nes_present[0]) && nes_present[i].unit) {
			set_obis(r, nes_present[i].obis_c, 7);
			r->value.unit = nes_present[i].unit;
			r->value.u.num.exp10 = nes_present[i].exp10;
		}
	}
	if (cfg->fw_version || cfg->fw_revision) {
		snprintf(out->firmware, sizeof(out->firmware), "%u.%u", cfg->fw_version, cfg->fw_revision);
		struct sm_reading *r = add(out);
		if (!r)
			return SM_E_COUNT;
		set_obis(r, 0, 2); /* 1-0:0.2.0 firmware version, as DLMS meters name it */
		r->value.type = SM_VALUE_TEXT;
		r->value.u.text.str = out->firmware;
		r->value.u.text.len = strlen(out->firmware);
		r->position = 200;
	}
	return SM_OK;
}
