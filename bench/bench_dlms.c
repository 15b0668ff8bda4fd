/* bench_dlms.c — how many DLMS push frames per second the decoder frames and decodes.
 * Builds its own frames (an Aidon-style HDLC "list 3" push of ~580 bytes, the same APDU as L+G-style
 * general-block-transfer blocks, and a two-segment Austrian-style M-Bus push with a plain
 * data-notification) and times (1) the HDLC scanner alone and (2) sm_decoder_feed of whole frames.
 * Prints numbers only. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The test-side frame builders, compiled in: the bench target links the library, not the test helpers
 * library, and a second copy of the builders would drift. */
#include "helpers/dlmsbuild.c"

#define BENCH_SECONDS 1.0

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {OBIS, value, scaler_unit} as Aidon sends its registers (PROTOCOLS.md §3.4). */
static size_t put_register(uint8_t *p, uint8_t c, uint8_t d, uint8_t e, uint32_t v, int8_t scaler, uint8_t unit)
{
	const uint8_t head[] = {0x02, 0x03, 0x09, 0x06, 0x01, 0x00, c, d, e, 0xFF, 0x06};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	p[n++] = (uint8_t)(v >> 24);
	p[n++] = (uint8_t)(v >> 16);
	p[n++] = (uint8_t)(v >> 8);
	p[n++] = (uint8_t)v;
	const uint8_t su[] = {0x02, 0x02, 0x0F, (uint8_t)scaler, 0x16, unit};
	memcpy(p + n, su, sizeof(su));
	return n + sizeof(su);
}

/* An Aidon-like list 3: list id, meter id, type, then 24 registers (powers, currents, voltages, energies). */
static size_t list3_notification(uint8_t *p)
{
	static const uint8_t head[] = {0x0F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x1B, 0x02, 0x02, 0x09, 0x06, 0x01,
	                               0x01, 0x00, 0x02, 0x81, 0xFF, 0x0A, 0x0B, 'A',  'I',  'D',  'O',  'N',  '_',
	                               'V',  '0',  '0',  '0',  '1',  0x02, 0x02, 0x09, 0x06, 0x00, 0x00, 0x60, 0x01,
	                               0x00, 0xFF, 0x0A, 0x10, '7',  '3',  '5',  '9',  '9',  '9',  '2',  '8',  '9',
	                               '0',  '9',  '4',  '1',  '7',  '4',  '2',  0x02, 0x02, 0x09, 0x06, 0x00, 0x00,
	                               0x60, 0x01, 0x07, 0xFF, 0x0A, 0x04, '6',  '5',  '3',  '4'};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	for (uint8_t i = 0; i < 24; i++)
		n += put_register(p + n, (uint8_t)(1 + i % 8), (uint8_t)(i < 8 ? 7 : 8), (uint8_t)(i / 8), 1000u + i,
		                  (int8_t)(i % 3 ? 0 : -1), (uint8_t)(i < 8 ? 0x1B : 0x1E));
	return n;
}

struct counter {
	unsigned long telegrams, errors;
};

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)t;
	((struct counter *)ctx)->telegrams++;
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	if (ev->level == SM_EVENT_ERROR)
		((struct counter *)ctx)->errors++;
}

static void bench_feed(const char *name, const uint8_t *wire, size_t n)
{
	struct counter cnt = {0, 0};
	enum sm_err err = SM_OK;
	struct sm_decoder *dec = sm_decoder_new(NULL, on_telegram, on_event, &cnt, &err);
	if (!dec) {
		printf("%s: cannot create decoder: %s\n", name, sm_strerror(err));
		return;
	}
	unsigned long frames = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 100; i++)
			sm_decoder_feed(dec, wire, n);
		frames += 100;
		t = now() - t0;
	} while (t < BENCH_SECONDS);
	printf("%-34s %6zu bytes  %9.0f frames/s  %7.1f MB/s  (%lu telegrams, %lu errors)\n", name, n, frames / t,
	       frames * n / t / 1e6, cnt.telegrams, cnt.errors);
	sm_decoder_free(dec);
}

int main(void)
{
	static uint8_t apdu[4096], wire[16384], info[4096];

	size_t an = list3_notification(apdu);
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, an);
	size_t hn = dlmsbuild_hdlc_frame(wire, sizeof(wire), &dlmsbuild_hdlc_aidon, false, info, an + 3);

	/* (1) The HDLC scanner alone: header, HCS and FCS over the whole frame. */
	unsigned long scans = 0;
	size_t len = 0;
	enum sm_err err = SM_OK;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 1000; i++)
			scans += sm_hdlc_scan(wire, hn, false, &len, &err) == SM_SCAN_FRAME;
		t = now() - t0;
	} while (t < BENCH_SECONDS);
	printf("%-34s %6zu bytes  %9.0f frames/s\n", "sm_hdlc_scan (list 3)", hn, scans / t);

	/* (2) Whole frames through the decoder. */
	bench_feed("HDLC list 3, decode", wire, hn);
	size_t gn = dlmsbuild_hdlc_gbt(wire, sizeof(wire), &dlmsbuild_hdlc_lg, apdu, an, 116, NULL);
	bench_feed("HDLC GBT 5 blocks, decode", wire, gn);
	size_t sn = dlmsbuild_hdlc_segmented(wire, sizeof(wire), &dlmsbuild_hdlc_iskra, true, apdu, an, 154, NULL);
	bench_feed("HDLC segmented, decode", wire, sn);
	size_t mn = dlmsbuild_mbus_segmented(wire, sizeof(wire), true, apdu, an, 245, NULL);
	bench_feed("M-Bus 3 segments, decode", wire, mn);
	return 0;
}
