/* hexin.c — hex text to bytes for smartmeter-decode --hex (see hexin.h). Hand-rolled: a dozen lines
 * that keep state across reads, which no library call does. Must never print or read. */
#include "hexin.h"

#include "smartmeter/decoder.h"

void hexin_init(struct hexin *h)
{
	h->hi = -1;
	h->zero_start = false;
	h->pos = 0;
	h->bad_pos = 0;
	h->bad_char = 0;
}

long hexin_convert(struct hexin *h, unsigned char *buf, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++, h->pos++) {
		int c = buf[i];
		int v = sm_hex_digit(c);
		if ((c == 'x' || c == 'X') && h->hi == 0 && h->zero_start) {
			h->hi = -1;
			h->zero_start = false;
			continue;
		}
		if (v < 0) {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ';' || c == ':')
				continue;
			h->bad_pos = h->pos;
			h->bad_char = c;
			return -1;
		}
		if (h->hi < 0) {
			h->hi = v;
			h->zero_start = (c == '0');
		} else {
			buf[o++] = (unsigned char)(h->hi << 4 | v);
			h->hi = -1;
			h->zero_start = false;
		}
	}
	return (long)o;
}
