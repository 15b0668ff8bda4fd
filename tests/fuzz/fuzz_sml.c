/* fuzz_sml.c — libFuzzer entry point for the SML layer alone: the input is (1) wrapped as the data of
 * an SML file (start sequence + input + end sequence) and handed to sm_sml_frame() as if its CRC had
 * held, so every mutation reaches the TL walker and the value-list decoder instead of dying in the file
 * CRC; and (2) given to the scanner behind a start sequence, with and without end of input, whose
 * verdict must respect its contract (never longer than the input, never "more" at end of input).
 * Seed it with the SML corpus frames (their bytes 8 .. len-8 are the messages).
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMARTMETER_FUZZ=ON && build-fuzz/fuzz_sml */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	(void)ctx;
	char buf[64];
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_value *v = &t->readings[i].value;
		sm_obis_format(t->readings[i].obis, buf, sizeof(buf));
		if (v->type == SM_VALUE_NUMBER)
			sm_number_format(&v->u.num, buf, sizeof(buf));
		if (v->type == SM_VALUE_OCTETS)
			for (size_t k = 0; k < v->u.text.len; k++)
				buf[0] ^= v->u.text.str[k];
	}
	if (t->meter_id)
		buf[0] ^= t->meter_id[strlen(t->meter_id) / 2];
	if (t->header)
		buf[0] ^= t->header[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t start[8] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01 };
	static const uint8_t end[8] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x1A, 0x00, 0x00, 0x00 };
	static struct sm_decoder *dec;
	static uint8_t file[SM_MAX_FRAME];
	if (!dec)
		dec = sm_decoder_new(NULL, on_telegram, NULL, NULL, NULL);
	if (!dec || size + 16 > sizeof(file))
		return 0;
	memcpy(file, start, 8);
	memcpy(file + 8, data, size);
	memcpy(file + 8 + size, end, 8);
	sm_sml_frame(dec, file, size + 16, 0, SM_OK);

	for (int eof = 0; eof < 2; eof++) {
		size_t n = 0;
		enum sm_err err = SM_OK;
		enum sm_scan r = sm_sml_scan(file, size + 8, eof, &n, &err);
		if ((r == SM_SCAN_FRAME || r == SM_SCAN_BAD) && (n == 0 || n > size + 8))
			abort();
		if (eof && r == SM_SCAN_MORE)
			abort();
	}
	return 0;
}
