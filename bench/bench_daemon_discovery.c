/* bench_daemon_discovery.c — the daemon's Home Assistant work per telegram, on the DSMR 5 telegram of
 * bench_dsmr.c: the state object (state.c), the announcer's check for an unchanged layout (what every
 * telegram pays once the configs are out) and a full build of every config (first telegram, HA birth).
 * Not a test: numbers go into notes, nothing is asserted. Usage: bench_daemon_discovery [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discovery.h"
#include "internal.h"
#include "smartmeter/decoder.h"
#include "state.h"

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

static double seconds = 1.0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs inside the decoder's callback: the telegram is only valid there. */
static void on_telegram(void *ctx, const struct sm_telegram *tg)
{
	int *rc = ctx;
	const struct discovery_options o = { .discovery_prefix = "homeassistant", .topic_prefix = "smartmeter",
		                             .instance = "bench", .expire_after = 300, .health = true };
	struct discovery *d = discovery_new(&o);
	struct discovery_batch b = { 0 };
	unsigned long n;
	double t0, t;

	if (!d || discovery_update(d, "E0012345678", tg, &b) < 0 || b.n == 0) {
		*rc = 1;
		discovery_free(d);
		return;
	}
	size_t configs = b.n, bytes = 0;
	for (size_t i = 0; i < b.n; i++)
		bytes += b.msgs[i].len;
	discovery_batch_free(&b);

	for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
		json_object *s = state_build(tg, NULL);
		size_t len;
		json_object_to_json_string_length(s, JSON_C_TO_STRING_PLAIN, &len);
		json_object_put(s);
	}
	printf("state object (%zu readings): %.1f us per telegram\n", tg->nreadings, t / (double)n * 1e6);

	for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
		discovery_update(d, "E0012345678", tg, &b); /* unchanged layout: nothing to send */
		if (b.n)
			*rc = 1;
	}
	printf("discovery, unchanged layout (every telegram): %.2f us per telegram\n", t / (double)n * 1e6);

	for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
		discovery_build(&o, "E0012345678", tg, &b);
		discovery_batch_free(&b);
	}
	printf("discovery, full build (first telegram, HA birth): %zu configs, %zu bytes, %.0f us\n", configs, bytes,
	       t / (double)n * 1e6);
	discovery_free(d);
}

int main(int argc, char **argv)
{
	int rc = 0;
	char tg[2048];
	size_t n = strlen(BODY);

	if (argc > 1)
		seconds = atof(argv[1]);
	memcpy(tg, BODY, n);
	n += (size_t)snprintf(tg + n, sizeof(tg) - n, "%04X\r\n", sm_crc16_arc((const uint8_t *)BODY, strlen(BODY)));
	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, NULL, &rc, NULL);
	if (!dec)
		return 1;
	sm_decoder_feed(dec, (const uint8_t *)tg, n);
	sm_decoder_free(dec);
	if (rc)
		fprintf(stderr, "bench_daemon_discovery: unexpected discovery result\n");
	return rc;
}
