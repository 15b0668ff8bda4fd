/* bench_frames.c — inputs and the library-alone driver for bench/run.
 *
 *   bench_frames gen KIND N        write N frames of KIND (or N bytes for garbage kinds) to stdout
 *   bench_frames feed FILE CHUNK   feed FILE to the decoder CHUNK bytes at a time, callback does nothing
 *   bench_frames key               the made-up AES key the gcm frames use (hex, for smartmeter-decode --key)
 *
 * KIND: dsmr5 (bench_dsmr5.h), kaifa3 (Kaifa KFM_001 list 3, 3-phase, positional, HDLC I-frame),
 * aidon2 (Aidon list 2, 3-phase, OBIS + scaler_unit, HDLC UI), gcm (the Aidon list 2 APDU ciphered with
 * SC 0x30 in HDLC, the invocation counter rising per frame), garbage (random bytes without '/' or 7E),
 * fakehdlc (a plausible HDLC header with a valid HCS every 9 bytes, never a whole frame).
 * Frames are built here from the specs (test-side builders), never read from captures.
 * Not a test and not a benchmark by itself: bench/run times and counts what these programs do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_dsmr5.h"
#include "internal.h"

#include "helpers/dlmsbuild.c"
#include "helpers/gcmbuild.c"

static const uint8_t bench_ek[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                     0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

static size_t put_u32(uint8_t *p, uint32_t v)
{
	p[0] = 0x06;
	p[1] = (uint8_t)(v >> 24);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 8);
	p[4] = (uint8_t)v;
	return 5;
}

static size_t put_str(uint8_t *p, uint8_t tag, const char *s)
{
	size_t n = strlen(s);
	p[0] = tag;
	p[1] = (uint8_t)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

/* PROTOCOLS.md §6.3: structure of 18 plain values, typed date-time 09 0C. */
static size_t kaifa3_apdu(uint8_t *p, unsigned i)
{
	static const uint8_t head[] = {0x0F, 0x40, 0x00, 0x00, 0x00, 0x09, 0x0C, 0x07, 0xE6, 0x01, 0x02,
	                               0x07, 0x0E, 0x00, 0x0A, 0xFF, 0x80, 0x00, 0x00, 0x02, 0x12};
	static const uint8_t clock[] = {0x09, 0x0C, 0x07, 0xE6, 0x01, 0x02, 0x07,
	                                0x0E, 0x00, 0x00, 0xFF, 0x80, 0x00, 0x00};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	n += put_str(p + n, 0x09, "KFM_001");
	n += put_str(p + n, 0x09, "6970631403275928");
	n += put_str(p + n, 0x09, "MA304H3E");
	const uint32_t v[10] = {4097 + i % 100, 0, 195, 0, 12056, 5754, 13412, 2392, 0, 2397};
	for (size_t k = 0; k < 10; k++)
		n += put_u32(p + n, v[k]);
	memcpy(p + n, clock, sizeof(clock));
	n += sizeof(clock);
	const uint32_t e[4] = {123456789u + i, 0, 2345678, 12};
	for (size_t k = 0; k < 4; k++)
		n += put_u32(p + n, e[k]);
	return n;
}

/* {OBIS, value, {scaler, unit}} as in PROTOCOLS.md §3.4. */
static size_t aidon_register(uint8_t *p, uint8_t c, uint8_t tag, uint32_t v, int8_t scaler, uint8_t unit)
{
	const uint8_t head[] = {0x02, 0x03, 0x09, 0x06, 0x01, 0x00, c, 0x07, 0x00, 0xFF};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	p[n++] = tag;
	if (tag == 0x06) {
		p[n++] = (uint8_t)(v >> 24);
		p[n++] = (uint8_t)(v >> 16);
	}
	p[n++] = (uint8_t)(v >> 8);
	p[n++] = (uint8_t)v;
	const uint8_t su[] = {0x02, 0x02, 0x0F, (uint8_t)scaler, 0x16, unit};
	memcpy(p + n, su, sizeof(su));
	return n + sizeof(su);
}

/* Aidon list 2, 3-phase 4-wire: 13 elements (PROTOCOLS.md §6.2). */
static size_t aidon2_apdu(uint8_t *p, unsigned i)
{
	static const uint8_t head[] = {0x0F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0D, 0x02, 0x02, 0x09, 0x06, 0x01,
	                               0x01, 0x00, 0x02, 0x81, 0xFF, 0x0A, 0x0B, 'A',  'I',  'D',  'O',  'N',  '_',
	                               'V',  '0',  '0',  '0',  '1',  0x02, 0x02, 0x09, 0x06, 0x00, 0x00, 0x60, 0x01,
	                               0x00, 0xFF, 0x0A, 0x10, '7',  '3',  '5',  '9',  '9',  '9',  '2',  '8',  '9',
	                               '0',  '9',  '4',  '1',  '7',  '4',  '2',  0x02, 0x02, 0x09, 0x06, 0x00, 0x00,
	                               0x60, 0x01, 0x07, 0xFF, 0x0A, 0x04, '6',  '5',  '3',  '4'};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	n += aidon_register(p + n, 1, 0x06, 1362 + i % 100, 0, 0x1B);
	n += aidon_register(p + n, 2, 0x06, 0, 0, 0x1B);
	n += aidon_register(p + n, 3, 0x06, 996, 0, 0x1D);
	n += aidon_register(p + n, 4, 0x06, 0, 0, 0x1D);
	n += aidon_register(p + n, 31, 0x10, 93, -1, 0x21);
	n += aidon_register(p + n, 51, 0x10, 41, -1, 0x21);
	n += aidon_register(p + n, 71, 0x10, 12, -1, 0x21);
	n += aidon_register(p + n, 32, 0x12, 2500, -1, 0x23);
	n += aidon_register(p + n, 52, 0x12, 2391, -1, 0x23);
	n += aidon_register(p + n, 72, 0x12, 2402, -1, 0x23);
	return n;
}

static size_t hdlc(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, const uint8_t *apdu, size_t n)
{
	uint8_t info[2048];
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, n);
	return dlmsbuild_hdlc_frame(out, cap, h, false, info, n + 3);
}

static int gen(const char *kind, unsigned long n)
{
	static uint8_t buf[8192], apdu[2048], ct[2048];
	static const struct dlmsbuild_hdlc kaifa = {{0x01}, 1, {0x02, 0x01}, 2, 0x10, false, false};
	unsigned long long rnd = 88172645463325252ull;

	if (!strcmp(kind, "garbage") || !strcmp(kind, "fakehdlc")) {
		for (unsigned long i = 0; i < n; i += 9) {
			uint8_t *p = buf;
			if (!strcmp(kind, "fakehdlc")) {
				/* 7E A0 L dst src control HCS: the scanner must check HCS, then wait for bytes that
				 * never make a frame; the next 7E comes 9 bytes later. */
				static const uint8_t h[] = {0x7E, 0xA0, 0x80, 0x41, 0x08, 0x83, 0x13};
				memcpy(p, h, sizeof(h));
				uint16_t hcs = dlmsbuild_crc16_x25(h + 1, 6);
				p[7] = (uint8_t)hcs;
				p[8] = (uint8_t)(hcs >> 8);
			} else {
				for (int k = 0; k < 9; k++) {
					rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
					uint8_t b = (uint8_t)rnd;
					p[k] =
					    (b == '/' || b == 0x7E || b == 0x68 || b == 0xDB || b == 0xE6 || b == 0x0F)
					        ? 0x20
					        : b;
				}
			}
			size_t w = n - i < 9 ? n - i : 9;
			if (fwrite(p, 1, w, stdout) != w)
				return 1;
		}
		return 0;
	}
	gcm_init();
	for (unsigned long i = 0; i < n; i++) {
		size_t len = 0;
		if (!strcmp(kind, "dsmr5")) {
			len = bench_dsmr5((char *)buf, sizeof(buf));
		} else if (!strcmp(kind, "kaifa3")) {
			len = hdlc(buf, sizeof(buf), &kaifa, apdu, kaifa3_apdu(apdu, (unsigned)i));
		} else if (!strcmp(kind, "aidon2")) {
			len = hdlc(buf, sizeof(buf), &dlmsbuild_hdlc_aidon, apdu, aidon2_apdu(apdu, (unsigned)i));
		} else if (!strcmp(kind, "gcm")) {
			struct gcm_params prm = {.tag = 0xDB,
			                         .system_title = {'K', 'F', 'M', 0x10, 0x00, 0x01, 0x02, 0x03},
			                         .sc = 0x30,
			                         .ic = (uint32_t)(1 + i),
			                         .ek = bench_ek,
			                         .ak = bench_ek,
			                         .lenform = GCM_LEN_SHORTEST};
			size_t an = aidon2_apdu(apdu, (unsigned)i);
			size_t cn = gcm_build(&prm, apdu, an, ct, sizeof(ct));
			len = cn ? hdlc(buf, sizeof(buf), &dlmsbuild_hdlc_aidon, ct, cn) : 0;
		} else {
			fprintf(stderr, "bench_frames: unknown kind '%s'\n", kind);
			return 2;
		}
		if (len == 0 || fwrite(buf, 1, len, stdout) != len)
			return 1;
	}
	return 0;
}

struct count {
	unsigned long telegrams, errors;
};

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)t;
	((struct count *)ctx)->telegrams++;
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	if (ev->level == SM_EVENT_ERROR)
		((struct count *)ctx)->errors++;
}

static int feed(const char *path, size_t chunk)
{
	struct sm_decoder_config cfg = {.has_key = true, .has_auth_key = true};
	struct count cnt = {0, 0};
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");

	if (!f || chunk == 0 || chunk > sizeof(buf))
		return 2;
	memcpy(cfg.key, bench_ek, 16);
	memcpy(cfg.auth_key, bench_ek, 16);
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_telegram, on_event, &cnt, NULL);
	if (!dec)
		return 1;
	size_t n;
	while ((n = fread(buf, 1, chunk, f)) > 0)
		sm_decoder_feed(dec, buf, n);
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
	fclose(f);
	fprintf(stderr, "bench_frames: %lu telegrams, %lu errors\n", cnt.telegrams, cnt.errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "feed"))
		return feed(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 2 && !strcmp(argv[1], "key")) {
		for (size_t i = 0; i < 16; i++)
			printf("%02x", bench_ek[i]);
		putchar('\n');
		return 0;
	}
	fputs("usage: bench_frames gen KIND N | feed FILE CHUNK | key\n", stderr);
	return 2;
}
