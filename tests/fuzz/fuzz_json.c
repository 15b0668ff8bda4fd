/* fuzz_json.c — libFuzzer entry point for the streaming JSON writer (src/json): the input as one string
 * must escape to text json-c parses back to the same bytes, and the input fed to the decoder must give
 * telegram documents json-c accepts. Aborts on any difference.
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMARTMETER_FUZZ=ON && build-fuzz/fuzz_json */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smartmeter/decoder.h"
#include "telegram_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jw w;

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	jw_reset(&w);
	if (!sm_json_telegram(&w, t))
		abort();
	json_object *o = json_tokener_parse(jw_text(&w, NULL));
	if (!o)
		abort();
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	jw_reset(&w);
	jw_string(&w, (const char *)data, size);
	json_object *o = json_tokener_parse(jw_text(&w, NULL));
	if (!o || !json_object_is_type(o, json_type_string) || (size_t)json_object_get_string_len(o) != size ||
	    memcmp(json_object_get_string(o), data, size) != 0)
		abort();
	json_object_put(o);

	struct sm_decoder_config cfg = {.dsmr_crc_optional = true};
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_telegram, NULL, NULL, NULL);
	if (!dec)
		return 0;
	sm_decoder_feed(dec, data, size);
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
	return 0;
}
