/* fuzz_hexin.c — libFuzzer entry point for smartmeter-decode's --hex parser (src/tools/hexin.c): the
 * input is cut at a point its first byte chooses and converted in two calls, which must give the same
 * bytes as one call and never write past what they read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hexin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 65536)
		return 0;
	size_t cut = data[0] % size;
	unsigned char *a = malloc(size), *b = malloc(size);
	if (!a || !b)
		abort();
	memcpy(a, data + 1, size - 1);
	memcpy(b, data + 1, size - 1);
	struct hexin h1, h2;
	hexin_init(&h1);
	hexin_init(&h2);
	long whole = hexin_convert(&h1, a, size - 1);
	long first = hexin_convert(&h2, b, cut);
	long second = first < 0 ? -1 : hexin_convert(&h2, b + cut, size - 1 - cut);
	if (whole > (long)(size - 1) || first > (long)cut || second > (long)(size - 1 - cut))
		abort();
	if (whole >= 0 && second >= 0) {
		/* same bytes in one call or two: the parser keeps its state across reads */
		unsigned char *joined = malloc(size);
		if (!joined)
			abort();
		memcpy(joined, b, (size_t)first);
		memmove(joined + first, b + cut, (size_t)second);
		if (first + second != whole || memcmp(joined, a, (size_t)whole) != 0)
			abort();
		free(joined);
	}
	if ((whole < 0) != (first < 0 || second < 0))
		abort();
	free(a);
	free(b);
	return 0;
}
