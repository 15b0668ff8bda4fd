/* bench_cipher.c — how many encrypted M-Bus push frames per second the decoder unwraps and decodes.
 * Builds its own frame (Austrian shape, PROTOCOLS.md §3.5/§6.4: 68 L L 68 53 FF 10 01 67 DB ... SC 0x30)
 * by encrypting with libgcrypt through the test-side builder, then times (1) sm_cipher_unwrap alone and
 * (2) sm_decoder_feed of the whole frame. Prints numbers only; never prints the (made-up) key. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The test-side encryptor, compiled in: the bench target links the library and libgcrypt, not the test
 * helpers library, and a second copy of the builder would drift. */
#include "helpers/gcmbuild.c"

#define BENCH_SECONDS 1.5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_obis_u32(uint8_t *p, uint8_t c, uint8_t d, uint32_t v, int8_t scaler, uint8_t unit)
{
	const uint8_t obis[] = {0x09, 0x06, 0x01, 0x00, c, d, 0x00, 0xFF};
	size_t n = 0;
	memcpy(p, obis, sizeof(obis));
	n += sizeof(obis);
	p[n++] = 0x06;
	p[n++] = (uint8_t)(v >> 24);
	p[n++] = (uint8_t)(v >> 16);
	p[n++] = (uint8_t)(v >> 8);
	p[n++] = (uint8_t)v;
	p[n++] = 0x02;
	p[n++] = 0x02;
	p[n++] = 0x0F;
	p[n++] = (uint8_t)scaler;
	p[n++] = 0x16;
	p[n++] = unit;
	return n;
}

/* A flat T210-D-style data-notification: date-time, then 8 OBIS / value / scaler_unit triples. */
static size_t notification(uint8_t *p)
{
	static const uint8_t head[] = {0x0F, 0x80, 0x70, 0xDD, 0x27, 0x0C, 0x07, 0xE8, 0x0B, 0x0F, 0x05, 0x0E,
	                               0x2D, 0x2D, 0x00, 0xFF, 0xC4, 0x02, 0x02, 0x19, 0x09, 0x0C, 0x07, 0xE8,
	                               0x0B, 0x0F, 0x05, 0x0E, 0x2D, 0x2D, 0x00, 0xFF, 0xC4, 0x02};
	size_t n = 0;
	memcpy(p, head, sizeof(head));
	n += sizeof(head);
	n += put_obis_u32(p + n, 1, 8, 4752026, 0, 0x1E);
	n += put_obis_u32(p + n, 2, 8, 5157273, 0, 0x1E);
	n += put_obis_u32(p + n, 1, 7, 1234, 0, 0x1B);
	n += put_obis_u32(p + n, 2, 7, 9, 0, 0x1B);
	n += put_obis_u32(p + n, 32, 7, 2334, -1, 0x23);
	n += put_obis_u32(p + n, 52, 7, 2331, -1, 0x23);
	n += put_obis_u32(p + n, 72, 7, 2329, -1, 0x23);
	n += put_obis_u32(p + n, 31, 7, 512, -2, 0x21);
	return n;
}

static size_t mbus_frame(const uint8_t *apdu, size_t n, uint8_t *out)
{
	size_t l = 5 + n; /* C A CI STSAP DTSAP + DLMS bytes (PROTOCOLS.md §3.5) */
	size_t k = 0;
	out[k++] = 0x68;
	out[k++] = (uint8_t)l;
	out[k++] = (uint8_t)l;
	out[k++] = 0x68;
	out[k++] = 0x53;
	out[k++] = 0xFF;
	out[k++] = 0x10; /* segment 0, FIN */
	out[k++] = 0x01;
	out[k++] = 0x67;
	memcpy(out + k, apdu, n);
	k += n;
	uint8_t sum = 0;
	for (size_t i = 4; i < k; i++)
		sum = (uint8_t)(sum + out[i]);
	out[k++] = sum;
	out[k++] = 0x16;
	return k;
}

static void count_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)t;
	(*(unsigned long *)ctx)++;
}

static unsigned long first_errors;
static char first_error[256];

static void count_event(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	if (ev->level == SM_EVENT_ERROR && first_errors++ == 0)
		snprintf(first_error, sizeof(first_error), "%s", ev->detail);
}

int main(void)
{
	uint8_t ek[16], ak[16], pt[512], apdu[BUFSIZ], frame[BUFSIZ], out[SM_MAX_FRAME];
	for (size_t i = 0; i < 16; i++) {
		ek[i] = (uint8_t)(0x30 + i);
		ak[i] = (uint8_t)(0xA0 + i);
	}
	struct sm_cipher *c = NULL;
	if (sm_cipher_new(&c) != SM_OK || sm_cipher_set_keys(c, ek, ak) != SM_OK) {
		fprintf(stderr, "bench_cipher: cannot set up the cipher\n");
		return 1;
	}
	gcm_init();
	size_t pn = notification(pt);
	struct gcm_params prm = {.tag = 0xDB,
	                         .system_title = {'S', 'A', 'G', 'Y', 0, 1, 2, 3},
	                         .sc = 0x30,
	                         .ek = ek,
	                         .ak = ak,
	                         .lenform = GCM_LEN_SHORTEST};

	/* (1) unwrap alone. The publish-replays policy keeps one prebuilt frame valid on every round. */
	prm.ic = 1;
	size_t an = gcm_build(&prm, pt, pn, apdu, sizeof(apdu));
	if (an == 0 || an > 250) {
		fprintf(stderr, "bench_cipher: cannot build the frame\n");
		return 1;
	}
	sm_cipher_set_replay_policy(c, true);
	unsigned long rounds = 0;
	double t0 = now(), t1;
	do {
		for (int i = 0; i < 1000; i++) {
			struct sm_secinfo sec;
			size_t len;
			char detail[256];
			if (sm_cipher_unwrap(c, apdu, an, out, sizeof(out), &len, &sec, detail, sizeof(detail)) !=
			    SM_OK) {
				fprintf(stderr, "bench_cipher: unwrap failed: %s\n", detail);
				return 1;
			}
		}
		rounds += 1000;
		t1 = now();
	} while (t1 - t0 < BENCH_SECONDS);
	printf("sm_cipher_unwrap (SC 0x30, %zu-byte APDU, tag checked): %.0f frames/s\n", an, rounds / (t1 - t0));
	sm_cipher_free(c);

	/* (2) the whole stream: M-Bus framing, decryption, A-XDR/COSEM decode, telegram callback. Counters
	 * increase through the stream; each round gets a fresh decoder so none is a replay (the decoder's
	 * creation is inside the timing, ~1 per NFRAMES frames). */
	enum { NFRAMES = 1024 };
	static uint8_t stream[NFRAMES * 300];
	size_t sn = 0, fn = 0;
	for (unsigned i = 0; i < NFRAMES; i++) {
		prm.ic = 100 + i;
		an = gcm_build(&prm, pt, pn, apdu, sizeof(apdu));
		fn = mbus_frame(apdu, an, frame);
		memcpy(stream + sn, frame, fn);
		sn += fn;
	}
	struct sm_decoder_config cfg = {.has_key = true, .has_auth_key = true};
	memcpy(cfg.key, ek, 16);
	memcpy(cfg.auth_key, ak, 16);
	unsigned long telegrams = 0, frames = 0;
	t0 = now();
	do {
		enum sm_err err;
		struct sm_decoder *dec = sm_decoder_new(&cfg, count_telegram, count_event, &telegrams, &err);
		if (!dec) {
			fprintf(stderr, "bench_cipher: sm_decoder_new: %s\n", sm_strerror(err));
			return 1;
		}
		sm_decoder_feed(dec, stream, sn);
		sm_decoder_flush(dec);
		sm_decoder_free(dec);
		frames += NFRAMES;
		t1 = now();
	} while (t1 - t0 < BENCH_SECONDS);
	memset(&cfg, 0, sizeof(cfg));
	printf("sm_decoder_feed (M-Bus %zu-byte frame, decrypt + decode): %.0f frames/s, %lu of %lu frames became "
	       "telegrams\n",
	       fn, frames / (t1 - t0), telegrams, frames);
	if (first_errors)
		printf("  %lu errors, first: %s\n", first_errors, first_error);
	return 0;
}
