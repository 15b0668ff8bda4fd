/* fuzz_decoder.c — libFuzzer entry point for the whole stream decoder (every framing, A-XDR, DSMR
 * lines, GCM headers). The first input byte picks a chunk size (bits 0-5) so that the incremental paths
 * are fuzzed too, whether the auth key is configured (bit 6) and the DSMR time zone (bit 7); the keys
 * are those the committed seeds are encrypted with (fuzz_keys.h), so mutations reach decrypted content.
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMARTMETER_FUZZ=ON && build-fuzz/fuzz_decoder -dict=tests/fuzz/decoder.dict */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_keys.h"
#include "smartmeter/decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	/* Touch everything a consumer would read. */
	char buf[64];
	for (size_t i = 0; i < t->nreadings; i++) {
		sm_obis_format(t->readings[i].obis, buf, sizeof(buf));
		if (t->readings[i].value.type == SM_VALUE_NUMBER)
			sm_number_format(&t->readings[i].value.u.num, buf, sizeof(buf));
		if (t->readings[i].value.type == SM_VALUE_DATETIME)
			sm_datetime_format(&t->readings[i].value.u.dt, buf, sizeof(buf));
	}
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	/* Events are read by the consumer too: the detail must be a string, raw within bounds. */
	volatile size_t n = strlen(ev->detail);
	(void)n;
	if (ev->raw && ev->raw_len)
		(void)*(volatile const uint8_t *)(ev->raw + ev->raw_len - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_decoder_config cfg = { .has_key = true };
	memcpy(cfg.key, fuzz_key, 16);
	if (size == 0)
		return 0;
	size_t chunk = 1 + data[0] % 64;
	if (data[0] & 0x40) {
		cfg.has_auth_key = true;
		memcpy(cfg.auth_key, fuzz_auth_key, 16);
	}
	if (data[0] & 0x80) {
		cfg.has_dsmr_tz = true;
		cfg.dsmr_winter_offset_min = 120;
		cfg.dsmr_summer_offset_min = 180;
	}
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_telegram, on_event, NULL, NULL);
	if (!dec)
		return 0;
	for (size_t off = 1; off < size; off += chunk)
		sm_decoder_feed(dec, data + off, size - off < chunk ? size - off : chunk);
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
	return 0;
}
