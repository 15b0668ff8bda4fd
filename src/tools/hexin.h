/* hexin.h — smartmeter-decode's --hex input: hex text (whitespace, commas, colons, semicolons and 0x
 * prefixes ignored) turned into bytes incrementally, whatever the read boundaries. Pure: no I/O, so a
 * fuzzer and the tests can drive it. */
#ifndef SM_TOOLS_HEXIN_H
#define SM_TOOLS_HEXIN_H

#include <stdbool.h>
#include <stddef.h>

struct hexin {
	int hi;                   /* pending high nibble, -1 if none */
	bool zero_start;          /* hi == 0 came from a '0' at a byte boundary: an 'x' next makes it a prefix */
	unsigned long long pos;   /* input characters consumed so far */
	unsigned long long bad_pos; /* on failure: offset of the offending character */
	int bad_char;             /* on failure: the character */
};

void hexin_init(struct hexin *h);
/* Converts buf[0..n) in place (the output is never longer than the input). Returns the number of bytes
 * written, or -1 at a character that is neither hex nor an ignored separator (bad_pos/bad_char say
 * which). An odd digit at the end of one call is kept for the next (hi >= 0). */
long hexin_convert(struct hexin *h, unsigned char *buf, size_t n);

#endif
