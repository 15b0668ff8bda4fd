/* bench_resync.c — what the stream decoder makes of a noisy line: good frames lost next to damaged
 * ones, false frames out of noise, and (under callgrind) the cost per byte of garbage.
 *
 *   bench_resync                 report: streams of every framing with a quarter of the messages damaged,
 *                                fed in 4 KiB reads (as smartmeter-decode reads a file) and in random
 *                                chunks; then 4 MB of random bytes and 4 MB of frame-start bytes
 *   bench_resync garbage N [R]   feed N bytes of random garbage (reads of R bytes, default 4096)
 *   bench_resync fakehdlc N      feed N bytes of fake HDLC headers with a valid HCS claiming 2,047 bytes,
 *                                one every 9 bytes
 *   bench_resync garbage-gen N / fakehdlc-gen N   build the input only (its cost, to subtract)
 * Instructions per byte: run the last two under `valgrind --tool=callgrind` with two sizes and divide
 * the difference of the totals by the difference of the sizes (scripts: see README "Benchmarks").
 * Prints numbers only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The test-side builders, compiled in (the bench links the library, not the test helpers library). */
#include "helpers/dlmsbuild.c"
#include "helpers/gcmbuild.c"
#include "helpers/smlbuild.c"
#include "helpers/streambuild.c"

static size_t telegrams;

static void count_cb(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	(void)t;
	telegrams++;
}

static size_t events;

/* A consumer that listens to events, as the daemon does (so their formatting is paid for). */
static void event_cb(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	(void)ev;
	events++;
}

static size_t read_size = 4096;

static void feed_chunks(struct sm_decoder *dec, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n; off += read_size)
		sm_decoder_feed(dec, p + off, n - off < read_size ? n - off : read_size);
	sm_decoder_flush(dec);
}

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
	uint8_t *b = malloc(n);
	uint64_t rng = seed;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)sb_rand(&rng);
	return b;
}

/* Frame-start bytes of every framing, each followed by a random tail of 0..15 bytes. */
static uint8_t *start_bytes(size_t n, uint64_t seed)
{
	static const uint8_t starts[][4] = {{'/', 'K', 'F', 'M'}, {0x7E, 0xA0}, {0x7E, 0xA8}, {0x68, 0x20, 0x20, 0x68},
	                                    {0x0F}, {0xDB, 0x08}, {0xE6, 0xE7, 0x00}, {0xE0, 0xC0, 0x00, 0x01},
	                                    {'!'}, {0xDC, 0x08}};
	static const size_t slen[] = {4, 2, 2, 4, 1, 2, 3, 4, 1, 2};
	uint8_t *b = malloc(n);
	uint64_t rng = seed;
	size_t i = 0;
	while (i < n) {
		size_t k = sb_rand(&rng) % 10;
		for (size_t j = 0; j < slen[k] && i < n; j++)
			b[i++] = starts[k][j];
		size_t tail = sb_rand(&rng) % 16;
		for (size_t j = 0; j < tail && i < n; j++)
			b[i++] = (uint8_t)sb_rand(&rng);
	}
	return b;
}

/* 7E A0|len ... with a correct HCS every 9 bytes: a header that passes the HCS and claims 2,047 bytes. */
static uint8_t *fake_hdlc(size_t n)
{
	uint8_t *b = malloc(n + 9);
	for (size_t i = 0; i < n; i += 9) {
		uint8_t *f = b + i;
		f[0] = 0x7E;
		f[1] = 0xA7;
		f[2] = 0xFF;
		f[3] = 0x41;
		f[4] = 0x08;
		f[5] = 0x83;
		f[6] = 0x13;
		uint16_t hcs = dlmsbuild_crc16_x25(f + 1, 6);
		f[7] = (uint8_t)hcs;
		f[8] = (uint8_t)(hcs >> 8);
	}
	return b;
}

/* Good frames that have a damaged neighbour. */
static size_t next_to_damage(const struct sb_stream *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->good[i] && ((i > 0 && !s->good[i - 1]) || (i + 1 < s->n && !s->good[i + 1])))
			k++;
	return k;
}

static void report_stream(const char *what, const enum sb_kind *kinds, size_t nk, size_t chunk)
{
	struct sb_stream s;
	struct sb_seen seen;
	struct sm_decoder_config cfg;
	sb_stream_build(&s, 1000, kinds, nk, 4, 0x5EED0001u);
	sb_seen_init(&seen, s.n);
	sb_config(&cfg);
	struct sm_decoder *dec = sm_decoder_new(&cfg, sb_on_telegram, NULL, &seen, NULL);
	sb_feed(dec, s.buf, s.len, chunk, 7);
	sm_decoder_free(dec);
	size_t damaged = 0, lost = sb_lost(&s, &seen, &damaged), near = next_to_damage(&s);
	size_t dup = 0;
	for (size_t i = 0; i < s.n; i++) {
		dup += seen.count[i] > 1 ? seen.count[i] - 1 : 0;
		if (getenv("BENCH_VERBOSE") && !s.good[i] && seen.count[i])
			printf("  damaged #%zu (damage %u) decoded\n", i + 1, s.damage[i]);
	}
	printf("%-16s %-7s good %4zu (next to damage %4zu): lost %3zu; damaged decoded %3zu; false %zu; dup %zu\n",
	       what, chunk == 4096 ? "4KiB" : "random", s.ngood, near, lost, damaged, seen.foreign, dup);
	sb_seen_free(&seen);
	sb_stream_free(&s);
}

static void report_noise(const char *what, uint8_t *b, size_t n)
{
	struct sm_decoder_config cfg;
	sb_config(&cfg);
	telegrams = 0;
	struct sm_decoder *dec = sm_decoder_new(&cfg, count_cb, NULL, NULL, NULL);
	feed_chunks(dec, b, n);
	sm_decoder_free(dec);
	printf("%-24s %zu MB: %zu frames decoded (%.2f per MB)\n", what, n >> 20, telegrams,
	       (double)telegrams / (double)(n >> 20));
	free(b);
}

int main(int argc, char **argv)
{
	gcm_init();
	if (argc >= 3) {
		size_t n = strtoul(argv[2], NULL, 10);
		if (argc >= 4)
			read_size = strtoul(argv[3], NULL, 10) ? strtoul(argv[3], NULL, 10) : 1;
		uint8_t *b = !strncmp(argv[1], "fakehdlc", 8) ? fake_hdlc(n) : random_bytes(n, 42);
		if (strstr(argv[1], "-gen")) { /* the input alone: subtract its cost */
			free(b);
			return 0;
		}
		struct sm_decoder *dec = sm_decoder_new(NULL, count_cb, event_cb, NULL, NULL);
		feed_chunks(dec, b, n);
		sm_decoder_free(dec);
		free(b);
		printf("%zu frames, %zu events\n", telegrams, events);
		return 0;
	}
	for (size_t c = 0; c < 2; c++) {
		size_t chunk = c ? SIZE_MAX : 4096;
		for (int k = 0; k < SB_KINDS; k++) {
			enum sb_kind kk = (enum sb_kind)k;
			report_stream(sb_kind_name(kk), &kk, 1, chunk);
		}
		static const enum sb_kind all[] = {SB_DSMR, SB_DSMR_GCM, SB_HDLC, SB_HDLC_GCM, SB_MBUS, SB_APDU, SB_APDU_GCM,
	                                    SB_SML};
		report_stream("mixed", all, SB_KINDS, chunk);
	}
	report_noise("random bytes", random_bytes(4u << 20, 1), 4u << 20);
	report_noise("frame starts + tails", start_bytes(4u << 20, 2), 4u << 20);
	return 0;
}
