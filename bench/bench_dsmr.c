/* bench_dsmr.c — throughput of DSMR 5 decoding: one realistic telegram (3-phase, gas sub-meter,
 * power-failure log) fed to the stream decoder in a loop. Reports telegrams/s, MB/s and the decoder's
 * fixed memory footprint. Not a test: numbers go into notes, nothing is asserted.
 * Usage: bench_dsmr [seconds]   (default 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_dsmr5.h"
#include "internal.h"
#include "smartmeter/decoder.h"

static unsigned long decoded;

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	if (t->nreadings > 30)
		decoded++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	char tg[2048];
	size_t n = bench_dsmr5(tg, sizeof(tg));

	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, NULL, NULL, NULL);
	if (!dec)
		return 1;
	unsigned long fed = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 1000; i++)
			sm_decoder_feed(dec, (const uint8_t *)tg, n);
		fed += 1000;
		t = now() - t0;
	} while (t < seconds);
	if (decoded != fed) {
		fprintf(stderr, "bench_dsmr: decoded %lu of %lu telegrams\n", decoded, fed);
		return 1;
	}
	printf("DSMR 5 telegram (%zu bytes, 36 lines): %.0f telegrams/s, %.1f MB/s, %.2f us/telegram\n", n,
	       (double)fed / t, (double)fed * (double)n / t / 1e6, t / (double)fed * 1e6);
	printf("decoder object: %zu bytes, allocated once (no allocation per telegram)\n", sizeof(struct sm_decoder));
	sm_decoder_free(dec);
	return 0;
}
