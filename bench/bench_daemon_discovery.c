/* bench_daemon_discovery.c — the daemon's Home Assistant work per telegram, on the DSMR 5 telegram of
 * bench_dsmr5.h: the state object (state.c), the state list folded into the cached whole state (what the
 * publisher does per telegram), the announcer's check for an unchanged layout (what every
 * telegram pays once the configs are out) and a full build of every config (first telegram, HA birth).
 * Not a test: numbers go into notes, nothing is asserted. Usage: bench_daemon_discovery [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discovery.h"
#include "bench_dsmr5.h"
#include "internal.h"
#include "smartmeter/decoder.h"
#include "state.h"

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
	double t0, t = 0;

	if (!d || discovery_update(d, "E0012345678", NULL, tg, NULL, &b) < 0 || b.n == 0) {
		*rc = 1;
		discovery_free(d);
		return;
	}
	size_t configs = b.n, bytes = 0;
	for (size_t i = 0; i < b.n; i++)
		bytes += b.msgs[i].len;
	discovery_batch_free(&b);

	/* What the publisher does per telegram: the list once, folded into the meter's cached state, which
	 * is what the state topic carries. */
	struct state_list l = { 0 };
	struct state_cache *c = state_cache_new();
	struct jw w; /* the text goes into one buffer reused for every telegram, as in the publisher */
	jw_init(&w);
	for (n = 0, t0 = now(); c && (t = now() - t0) < seconds; n++) {
		jw_reset(&w);
		state_list_build(&l, tg, NULL);
		state_cache_update(c, &l, (uint64_t)n * 1000u + 1u);
		if (!state_cache_write(&w, c, (uint64_t)n * 1000u + 1u))
			*rc = 1;
	}
	jw_free(&w);
	printf("state list + cached whole state as JSON (%zu keys): %.1f us per telegram\n", c ? state_cache_size(c) : 0,
	       t / (double)n * 1e6);
	state_cache_free(c);
	state_list_free(&l);

	for (n = 0, t0 = now(); (t = now() - t0) < seconds; n++) {
		discovery_update(d, "E0012345678", NULL, tg, NULL, &b); /* unchanged layout: nothing to send */
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

	if (argc > 1)
		seconds = atof(argv[1]);
	size_t n = bench_dsmr5(tg, sizeof(tg));
	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, NULL, &rc, NULL);
	if (!dec)
		return 1;
	sm_decoder_feed(dec, (const uint8_t *)tg, n);
	sm_decoder_free(dec);
	if (rc)
		fprintf(stderr, "bench_daemon_discovery: unexpected discovery result\n");
	return rc;
}
