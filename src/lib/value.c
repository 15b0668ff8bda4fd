/* value.c — exact printing and parsing of the reading model (OBIS codes, decimal numbers, times).
 * Numbers are printed from their decimal mantissa and exponent, never through a double, so that
 * 0.001 stays "0.001". Must never depend on the C locale. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "smartmeter/reading.h"

size_t sm_obis_format(const uint8_t obis[6], char *out, size_t outsz)
{
	int n;
	if (obis[5] == 255)
		n = snprintf(out, outsz, "%u-%u:%u.%u.%u", obis[0], obis[1], obis[2], obis[3], obis[4]);
	else
		n = snprintf(out, outsz, "%u-%u:%u.%u.%u.%u", obis[0], obis[1], obis[2], obis[3], obis[4], obis[5]);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* Accepts "A-B:C.D.E", "A-B:C.D.E.F", "A-B:C.D.E*F" and "A.B.C.D.E.F"; each group 0..255. */
bool sm_obis_parse(const char *s, size_t len, uint8_t ret_obis[6])
{
	static const char seps_dsmr[] = { '-', ':', '.', '.', 0 };
	unsigned v[6] = { 0, 0, 0, 0, 0, 255 };
	size_t i = 0;
	int g = 0;
	bool dotted = false;

	for (g = 0; g < 6; g++) {
		size_t digits = 0;
		unsigned x = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			x = x * 10 + (unsigned)(s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || x > 255)
			return false;
		v[g] = x;
		if (i == len)
			break;
		if (g == 5)
			return false;
		char c = s[i];
		if (g == 0 && c == '.')
			dotted = true;
		if (dotted) {
			if (c != '.')
				return false;
		} else if (g < 4) {
			if (c != seps_dsmr[g])
				return false;
		} else if (c != '.' && c != '*') {
			return false;
		}
		i++;
		if (i == len)
			return false;
	}
	if (i != len || g < 4 || (dotted && g != 5))
		return false;
	for (int k = 0; k < 6; k++)
		ret_obis[k] = (uint8_t)v[k];
	return true;
}

size_t sm_number_format(const struct sm_number *n, char *out, size_t outsz)
{
	char digits[24];
	int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n->mag);
	char tmp[SM_NUMBER_STRLEN];
	size_t o = 0;
	bool neg = n->neg && n->mag != 0;

	if (neg)
		tmp[o++] = '-';
	if (n->exp10 >= 0) {
		/* Whole number: append the zeros the exponent asks for (10 Wh registers). */
		if (nd + n->exp10 + 2 > (int)sizeof(tmp))
			goto toolong;
		memcpy(tmp + o, digits, (size_t)nd);
		o += (size_t)nd;
		if (n->mag != 0)
			for (int z = 0; z < n->exp10; z++)
				tmp[o++] = '0';
	} else {
		int frac = -n->exp10;
		if (frac + 4 > (int)sizeof(tmp) - 2)
			goto toolong;
		if (nd <= frac) {
			tmp[o++] = '0';
			tmp[o++] = '.';
			for (int z = 0; z < frac - nd; z++)
				tmp[o++] = '0';
			memcpy(tmp + o, digits, (size_t)nd);
			o += (size_t)nd;
		} else {
			memcpy(tmp + o, digits, (size_t)(nd - frac));
			o += (size_t)(nd - frac);
			tmp[o++] = '.';
			memcpy(tmp + o, digits + nd - frac, (size_t)frac);
			o += (size_t)frac;
		}
	}
	if (o + 1 > outsz)
		goto toolong;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return o;
toolong:
	if (outsz)
		out[0] = '\0';
	return 0;
}

double sm_number_to_double(const struct sm_number *n)
{
	/* Divide by an exact power of ten rather than multiply by an inexact 10^-k: 4426/1000 rounds
	 * to the double nearest 4.426, which is what a consumer expects. */
	double v = (double)n->mag;
	if (n->exp10 < 0)
		v /= pow(10.0, -n->exp10);
	else if (n->exp10 > 0)
		v *= pow(10.0, n->exp10);
	return n->neg ? -v : v;
}

void sm_number_scale(struct sm_number *n, int shift)
{
	int e = n->exp10 + shift;
	/* Keep the exponent in int8 range: a scaler outside +-60 is wire garbage; fold into mag when possible. */
	while (e > 60 && n->mag <= UINT64_MAX / 10) {
		n->mag *= 10;
		e--;
	}
	if (e > 127)
		e = 127;
	if (e < -127)
		e = -127;
	n->exp10 = (int8_t)e;
}

size_t sm_datetime_format(const struct sm_datetime *dt, char *out, size_t outsz)
{
	char tmp[SM_DATETIME_STRLEN];
	int n = 0;

	if (dt->has_date && dt->has_time)
		n = snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02u", dt->year, dt->month, dt->day,
		             dt->hour, dt->minute, dt->second);
	else if (dt->has_date)
		n = snprintf(tmp, sizeof(tmp), "%04u-%02u-%02u", dt->year, dt->month, dt->day);
	else if (dt->has_time)
		n = snprintf(tmp, sizeof(tmp), "%02u:%02u:%02u", dt->hour, dt->minute, dt->second);
	if (n > 0 && dt->has_time && dt->has_offset) {
		int off = dt->offset_min;
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "%c%02d:%02d", sign, off / 60, off % 60);
	}
	if (n <= 0 || (size_t)n >= outsz || (size_t)n >= sizeof(tmp)) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, tmp, (size_t)n + 1);
	return (size_t)n;
}

const char *sm_protocol_name(enum sm_protocol p)
{
	switch (p) {
	case SM_PROTOCOL_DSMR: return "dsmr";
	case SM_PROTOCOL_DLMS: return "dlms";
	case SM_PROTOCOL_SML: return "sml";
	case SM_PROTOCOL_C1218: return "c1218";
	}
	return "?";
}

const char *sm_framing_name(enum sm_framing f)
{
	switch (f) {
	case SM_FRAMING_DSMR: return "DSMR";
	case SM_FRAMING_HDLC: return "HDLC";
	case SM_FRAMING_MBUS: return "M-Bus";
	case SM_FRAMING_RAW: return "APDU";
	case SM_FRAMING_SML: return "SML";
	case SM_FRAMING_C1218: return "C12.18";
	}
	return "?";
}

const struct sm_reading *sm_telegram_find(const struct sm_telegram *t, const uint8_t obis[6])
{
	for (size_t i = 0; i < t->nreadings; i++)
		if (t->readings[i].has_obis && memcmp(t->readings[i].obis, obis, 6) == 0)
			return &t->readings[i];
	return NULL;
}
