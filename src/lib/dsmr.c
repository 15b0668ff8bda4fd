/* dsmr.c — PLACEHOLDER (being written). */
#include "internal.h"
enum sm_scan sm_dsmr_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	(void)buf; (void)len; (void)eof; (void)ret_len; (void)ret_err;
	return SM_SCAN_NO;
}
void sm_dsmr_telegram(struct sm_decoder *dec, const uint8_t *tg, size_t len,
                      const struct sm_origin *org, const struct sm_secinfo *sec)
{
	(void)dec; (void)tg; (void)len; (void)org; (void)sec;
}
