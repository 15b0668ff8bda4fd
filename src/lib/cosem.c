/* cosem.c — PLACEHOLDER until the A-XDR / layout layer lands. */
#include "internal.h"

void sm_cosem_notification(struct sm_decoder *dec, const uint8_t *apdu, size_t len,
                           const struct sm_origin *org, const struct sm_secinfo *sec)
{
	(void)sec;
	sm_emit_event(dec, SM_EVENT_ERROR, SM_E_UNSUPPORTED, org, apdu, len, "data-notification decoding not available");
}

enum sm_scan sm_axdr_measure_notification(const uint8_t *buf, size_t len, size_t *ret_len)
{
	(void)buf; (void)len; (void)ret_len;
	return SM_SCAN_NO;
}
