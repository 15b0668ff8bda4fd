/* bench_dsmr.c — throughput of DSMR 5 decoding: one realistic telegram (3-phase, gas sub-meter,
 * power-failure log) fed to the stream decoder in a loop. Reports telegrams/s, MB/s and the decoder's
 * fixed memory footprint. Not a test: numbers go into notes, nothing is asserted.
 * Usage: bench_dsmr [seconds]   (default 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "smartmeter/decoder.h"

static const char BODY[] =
	"/ISk5\\2MT382-1000\r\n\r\n"
	"1-3:0.2.8(50)\r\n0-0:1.0.0(170102192002W)\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n"
	"1-0:1.8.1(000004.426*kWh)\r\n1-0:1.8.2(000002.399*kWh)\r\n1-0:2.8.1(000002.444*kWh)\r\n"
	"1-0:2.8.2(000000.000*kWh)\r\n0-0:96.14.0(0002)\r\n1-0:1.7.0(00.244*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
	"0-0:96.7.21(00013)\r\n0-0:96.7.9(00000)\r\n1-0:99.97.0(1)(0-0:96.7.19)(101208152415W)(0000000240*s)\r\n"
	"1-0:32.32.0(00000)\r\n1-0:52.32.0(00000)\r\n1-0:72.32.0(00000)\r\n1-0:32.36.0(00000)\r\n"
	"1-0:52.36.0(00000)\r\n1-0:72.36.0(00000)\r\n0-0:96.13.0()\r\n1-0:32.7.0(0230.0*V)\r\n"
	"1-0:52.7.0(0230.0*V)\r\n1-0:72.7.0(0229.0*V)\r\n1-0:31.7.0(0.48*A)\r\n1-0:51.7.0(0.44*A)\r\n"
	"1-0:71.7.0(0.86*A)\r\n1-0:21.7.0(00.070*kW)\r\n1-0:41.7.0(00.032*kW)\r\n1-0:61.7.0(00.142*kW)\r\n"
	"1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n"
	"0-1:96.1.0(3232323241424344313233343536373839)\r\n0-1:24.2.1(170102161005W)(00000.107*m3)\r\n"
	"0-2:24.1.0(003)\r\n0-2:96.1.0()\r\n!";

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
	size_t n = strlen(BODY);
	memcpy(tg, BODY, n);
	n += (size_t)snprintf(tg + n, sizeof(tg) - n, "%04X\r\n", sm_crc16_arc((const uint8_t *)BODY, strlen(BODY)));

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
