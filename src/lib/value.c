/* value.c — exact printing and parsing of the reading model (OBIS codes, decimal numbers, times).
 * Numbers are printed from their decimal mantissa and exponent, never through a double, so that
 * 0.001 stays "0.001". Must never depend on the C locale. */
#include <string.h>

#include "smartmeter/reading.h"

/* Digit emitters: printf costs ~2 k instructions per OBIS key, and every reading prints one. */

/* v in decimal, at least min digits (zero-padded), at p; returns the end. */
static char *put_uint(char *p, uint64_t v, int min)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < min)
		tmp[n++] = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* A byte in decimal: the OBIS groups. */
static char *put_u8(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

size_t sm_u64_format(uint64_t v, char *out, size_t outsz)
{
	char tmp[SM_U64_STRLEN];
	size_t n = (size_t)(put_uint(tmp, v, 1) - tmp);
	if (n + 1 > outsz) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, tmp, n);
	out[n] = '\0';
	return n;
}

size_t sm_obis_format(const uint8_t obis[6], char *out, size_t outsz)
{
	char tmp[SM_OBIS_STRLEN], *p = outsz >= SM_OBIS_STRLEN ? out : tmp;
	char *start = p;
	p = put_u8(p, obis[0]);
	*p++ = '-';
	p = put_u8(p, obis[1]);
	*p++ = ':';
	p = put_u8(p, obis[2]);
	*p++ = '.';
	p = put_u8(p, obis[3]);
	*p++ = '.';
	p = put_u8(p, obis[4]);
	if (obis[5] != 255) {
		*p++ = '.';
		p = put_u8(p, obis[5]);
	}
	size_t n = (size_t)(p - start);
	if (n + 1 > outsz) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	if (start != out)
		memcpy(out, tmp, n);
	out[n] = '\0';
	return n;
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
	int nd = (int)(put_uint(digits, n->mag, 1) - digits);
	char buf[SM_NUMBER_STRLEN], *tmp = outsz >= SM_NUMBER_STRLEN ? out : buf;
	size_t o = 0;
	bool neg = n->neg && n->mag != 0;

	if (neg)
		tmp[o++] = '-';
	if (n->exp10 >= 0) {
		/* Whole number: append the zeros the exponent asks for (10 Wh registers). */
		if (nd + n->exp10 + 2 > (int)SM_NUMBER_STRLEN)
			goto toolong;
		memcpy(tmp + o, digits, (size_t)nd);
		o += (size_t)nd;
		if (n->mag != 0)
			for (int z = 0; z < n->exp10; z++)
				tmp[o++] = '0';
	} else {
		int frac = -n->exp10;
		if (frac + 4 > (int)SM_NUMBER_STRLEN - 2)
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
	if (tmp != out)
		memcpy(out, tmp, o);
	out[o] = '\0';
	return o;
toolong:
	if (outsz)
		out[0] = '\0';
	return 0;
}

/* 10^k as a double: exact up to 10^22 (what every real register needs), the product of exact factors
 * (rounded once up to 10^44) beyond. Not pow(): the daemon then needs no libm, whose loading alone
 * costs ~350 kB of resident memory. */
static double pow10_of(int k)
{
	static const double exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
		                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	double p = 1.0;
	while (k > 22) {
		p *= 1e22;
		k -= 22;
	}
	return p * exact[k];
}

double sm_number_to_double(const struct sm_number *n)
{
	/* Divide by an exact power of ten rather than multiply by an inexact 10^-k: 4426/1000 rounds
	 * to the double nearest 4.426, which is what a consumer expects. */
	double v = (double)n->mag;
	if (n->exp10 < 0)
		v /= pow10_of(-n->exp10);
	else if (n->exp10 > 0)
		v *= pow10_of(n->exp10);
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
	char buf[SM_DATETIME_STRLEN], *tmp = outsz >= SM_DATETIME_STRLEN ? out : buf, *p = tmp;

	if (dt->has_date) {
		p = put_uint(p, dt->year, 4);
		*p++ = '-';
		p = put_uint(p, dt->month, 2);
		*p++ = '-';
		p = put_uint(p, dt->day, 2);
		if (dt->has_time)
			*p++ = 'T';
	}
	if (dt->has_time) {
		p = put_uint(p, dt->hour, 2);
		*p++ = ':';
		p = put_uint(p, dt->minute, 2);
		*p++ = ':';
		p = put_uint(p, dt->second, 2);
		/* Hundredths when the meter sent some (DLMS; 0xFF = not specified): 11:24:34.84. A zero adds
		 * nothing to the instant and is left out, as every capture's reference decoding writes it. */
		if (dt->hundredths >= 1 && dt->hundredths <= 99) {
			*p++ = '.';
			p = put_uint(p, dt->hundredths, 2);
		}
		if (dt->has_offset) {
			int off = dt->offset_min;
			*p++ = off < 0 ? '-' : '+';
			if (off < 0)
				off = -off;
			p = put_uint(p, (unsigned)(off / 60), 2);
			*p++ = ':';
			p = put_uint(p, (unsigned)(off % 60), 2);
		}
	}
	size_t n = (size_t)(p - tmp);
	if (n == 0 || n + 1 > outsz) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	if (tmp != out)
		memcpy(out, tmp, n);
	out[n] = '\0';
	return n;
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
