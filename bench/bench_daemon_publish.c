/* bench_daemon_publish.c — the daemon's whole per-telegram path after decoding: publisher_telegram()
 * with Home Assistant discovery on and a connected sink (…/obis JSON, …/state JSON, the guard, the
 * discovery check on an unchanged layout, the rate limit and the hand-over to the transport), N times
 * on the DSMR 5 telegram of bench_dsmr5.h. The sink only counts (and takes no subscriptions, so the
 * configs go out on the first telegram, not after a collection window): the MQTT library's own cost is not
 * in here. bench/run runs this under callgrind and memcheck with N and 2N and takes the difference.
 * Usage: bench_daemon_publish N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_dsmr5.h"
#include "config.h"
#include "internal.h"
#include "loop.h"
#include "publish.h"
#include "smartmeter/decoder.h"

struct sink_count {
	unsigned long msgs;
	size_t bytes;
};

static bool sink_connected(void *ctx)
{
	(void)ctx;
	return true;
}

static int sink_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct sink_count *c = ctx;
	(void)topic, (void)payload, (void)qos, (void)retain;
	c->msgs++;
	c->bytes += len;
	return 0;
}

struct run {
	struct publisher *pub;
	unsigned long n;
};

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	struct run *r = ctx;
	for (unsigned long i = 0; i < r->n; i++)
		publisher_telegram(r->pub, t);
}

int main(int argc, char **argv)
{
	char conf[512], dir[] = "/tmp/bench_daemon_publish.XXXXXX";
	struct sink_count cnt = {0, 0};
	struct publish_sink sink = {.connected = sink_connected, .publish = sink_publish, .ctx = &cnt};
	struct config cfg;
	struct config_diag diag;
	char tg[2048];

	if (argc != 2) {
		fputs("usage: bench_daemon_publish N\n", stderr);
		return 2;
	}
	struct run r = {NULL, strtoul(argv[1], NULL, 10)};
	if (!mkdtemp(dir))
		return 1;
	snprintf(conf, sizeof(conf),
	         "[mqtt]\ntopic_prefix = smartmeter\n[homeassistant]\ndiscovery = true\n[daemon]\nstate_dir = %s\n", dir);
	struct loop *loop = loop_new();
	if (!loop || config_init(&cfg) < 0 || config_parse_buffer(&cfg, "bench", conf, strlen(conf), &diag) < 0)
		return 1;
	r.pub = publisher_new(loop, &cfg, &sink);
	if (!r.pub)
		return 1;
	publisher_connected(r.pub);
	size_t n = bench_dsmr5(tg, sizeof(tg));
	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, NULL, &r, NULL);
	if (!dec)
		return 1;
	sm_decoder_feed(dec, (const uint8_t *)tg, n);
	sm_decoder_free(dec);
	fprintf(stderr, "bench_daemon_publish: %lu telegrams, %lu messages, %zu bytes\n", r.n, cnt.msgs, cnt.bytes);
	publisher_free(r.pub);
	config_free(&cfg);
	loop_free(loop);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
