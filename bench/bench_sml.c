/* bench_sml.c — how fast the decoder frames and decodes SML push files.
 * Builds its own files (helpers/smlbuild.c): a typical EMH/ISK-style file of ~320 bytes (ids, three
 * energy registers, net power, a 48-byte public key) and a Holley-style one of ~680 bytes (30 entries).
 * Without arguments: times sm_sml_scan alone and sm_decoder_feed of whole files for about a second
 * each and prints files/s. With "N" [large | FILE]: decodes the typical file (or the 30-entry one, or the
 * SML file FILE) N times and exits, for
 * bench/sml_instructions.sh, which runs it under callgrind for two N and divides the difference
 * (instructions per file, start-up cost cancelled out). Prints numbers only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The test-side builders, compiled in (the bench links the library, not the test helpers). */
#include "helpers/smlbuild.c"

#define BENCH_SECONDS 1.0

static unsigned long telegrams, errors;

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	telegrams += t->nreadings > 0;
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	errors += ev->level == SM_EVENT_ERROR;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t holley_like(uint8_t *out, size_t cap)
{
	static const uint8_t sid[10] = { 0x0A, 0x01, 'H', 'L', 'Y', 0x02, 0x00, 0x01, 0x59, 0xBB };
	struct smlbuild b;
	smlbuild_init(&b);
	smlbuild_open(&b, 1, sid, sizeof(sid), SMLBUILD_X25);
	smlbuild_getlist_begin(&b, 2, sid, sizeof(sid), 30);
	smlbuild_entry_octets(&b, (const uint8_t[6]){ 1, 0, 96, 50, 1, 1 }, "HLY", 3);
	smlbuild_entry_octets(&b, (const uint8_t[6]){ 1, 0, 96, 1, 0, 255 }, sid, sizeof(sid));
	for (uint8_t k = 0; k < 28; k++)
		smlbuild_entry_uint(&b, (const uint8_t[6]){ 1, 0, (uint8_t)(1 + k % 3), 8, k, 255 }, 30, -1,
		                    100000u + k * 7919u, 4);
	smlbuild_getlist_end(&b, SMLBUILD_X25);
	smlbuild_close(&b, 3, SMLBUILD_X25);
	return smlbuild_file(&b, out, cap, SMLBUILD_X25);
}

static void time_feed(const char *name, const uint8_t *f, size_t n)
{
	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, on_event, NULL, NULL);
	if (!dec) {
		printf("%s: cannot create decoder\n", name);
		exit(1);
	}
	unsigned long files = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 1000; i++)
			sm_decoder_feed(dec, f, n);
		files += 1000;
		t = now() - t0;
	} while (t < BENCH_SECONDS);
	printf("%-34s %6zu bytes  %9.0f files/s  %7.1f MB/s  (%lu telegrams, %lu errors)\n", name, n, files / t,
	       files * n / t / 1e6, telegrams, errors);
	sm_decoder_free(dec);
}

int main(int argc, char **argv)
{
	static uint8_t typical[2048], large[4096];
	size_t tn = smlbuild_sample(typical, sizeof(typical), 0x00360001, 147967771, 1120);
	size_t ln = holley_like(large, sizeof(large));

	if (argc > 1) { /* callgrind mode: N files, nothing else */
		long count = strtol(argv[1], NULL, 10);
		if (argc > 2 && strcmp(argv[2], "large") == 0) {
			memcpy(typical, large, ln);
			tn = ln;
		} else if (argc > 2 && strcmp(argv[2], "typical") != 0) { /* a file of the user's own meter, to measure it */
			FILE *fp = fopen(argv[2], "rb");
			if (!fp)
				return 1;
			tn = fread(typical, 1, sizeof(typical), fp);
			fclose(fp);
		}
		struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, on_event, NULL, NULL);
		if (!dec)
			return 1;
		for (long i = 0; i < count; i++)
			sm_decoder_feed(dec, typical, tn);
		sm_decoder_free(dec);
		printf("%ld files of %zu bytes, %lu telegrams, %lu errors\n", count, tn, telegrams, errors);
		return telegrams == (unsigned long)count && errors == 0 ? 0 : 1;
	}

	unsigned long scans = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 1000; i++) {
			size_t n = 0;
			enum sm_err err = SM_OK;
			scans += sm_sml_scan(typical, tn, false, &n, &err) == SM_SCAN_FRAME && n == tn;
		}
		t = now() - t0;
	} while (t < BENCH_SECONDS);
	printf("%-34s %6zu bytes  %9.0f files/s\n", "sm_sml_scan (typical)", tn, scans / t);
	time_feed("sm_decoder_feed (typical SML)", typical, tn);
	time_feed("sm_decoder_feed (30 entries)", large, ln);
	return 0;
}
