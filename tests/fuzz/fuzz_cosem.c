/* fuzz_cosem.c — libFuzzer entry point for the APDU content layer alone: the input is one plaintext
 * data-notification (its first byte forced to 0x0F) handed straight to sm_cosem_notification() and to the
 * bare-APDU measure, so every mutation reaches the A-XDR parser and the layout walker instead of dying in
 * a link-layer checksum. Seed it with plaintext APDUs (raw-apdu corpus frames, `plaintext_apdu_hex`).
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMARTMETER_FUZZ=ON && build-fuzz/fuzz_cosem */
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
		if (v->type == SM_VALUE_DATETIME)
			sm_datetime_format(&v->u.dt, buf, sizeof(buf));
		if (v->type == SM_VALUE_TEXT || v->type == SM_VALUE_OCTETS)
			for (size_t k = 0; k < v->u.text.len; k++)
				buf[0] ^= v->u.text.str[k];
		if (v->type == SM_VALUE_ROWS)
			for (unsigned k = 0; k < (unsigned)v->u.rows.nrows * v->u.rows.ncols; k++)
				buf[0] ^= (char)t->cells[v->u.rows.first + k].type;
	}
	if (t->meter_id)
		buf[0] ^= t->meter_id[0];
	if (t->header)
		buf[0] ^= t->header[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sm_decoder *dec;
	static uint8_t apdu[SM_MAX_FRAME];
	if (!dec)
		dec = sm_decoder_new(NULL, on_telegram, NULL, NULL, NULL);
	if (!dec || size == 0 || size > sizeof(apdu))
		return 0;
	memcpy(apdu, data, size);
	apdu[0] = 0x0F;
	struct sm_origin org = { SM_FRAMING_RAW, 0, size };
	char detail[160];
	sm_cosem_notification(dec, apdu, size, &org, NULL, detail, sizeof(detail));
	size_t len = 0;
	if (sm_axdr_measure_notification(apdu, size, &len) == SM_SCAN_FRAME && len > size)
		abort();
	return 0;
}
