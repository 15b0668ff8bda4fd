/* dlms.c — PLACEHOLDER until the DLMS layers land: recognises no DLMS frame. */
#include <stdlib.h>

#include "internal.h"

struct sm_dlms {
	int unused;
};

enum sm_err sm_dlms_new(struct sm_dlms **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? SM_OK : SM_E_NOMEM;
}

void sm_dlms_free(struct sm_dlms *d)
{
	free(d);
}

enum sm_scan sm_hdlc_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	(void)buf; (void)len; (void)eof; (void)ret_len; (void)ret_err;
	return SM_SCAN_NO;
}

enum sm_scan sm_mbus_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	(void)buf; (void)len; (void)eof; (void)ret_len; (void)ret_err;
	return SM_SCAN_NO;
}

enum sm_scan sm_rawapdu_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	(void)buf; (void)len; (void)eof; (void)ret_len; (void)ret_err;
	return SM_SCAN_NO;
}

void sm_dlms_frame(struct sm_decoder *dec, enum sm_framing framing, const uint8_t *frame, size_t len, uint64_t offset)
{
	(void)dec; (void)framing; (void)frame; (void)len; (void)offset;
}

void sm_dlms_flush(struct sm_decoder *dec)
{
	(void)dec;
}
