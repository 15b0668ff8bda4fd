/* reasm.c — the one reassembler of multi-part DLMS messages: HDLC segments (hdlc.c), M-Bus transport
 * segments (mbus.c) and general-block-transfer blocks (apdu.c) all collect into a struct sm_reasm.
 * The callers decide what continues a message (sequence numbers, S bit, block numbers); this file only
 * collects, bounds and reports. It must never allocate (the buffer is fixed, SM_DLMS_MAX_APDU) nor
 * glue parts of two messages: start() forgets a partial message, drop() reports it first. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dlms.h"

void sm_reasm_reset(struct sm_reasm *r)
{
	r->len = 0;
	r->active = false;
	r->parts = 0;
	r->next = 0;
	r->tsap = false;
}

void sm_reasm_start(struct sm_reasm *r, enum sm_framing framing, uint64_t offset)
{
	sm_reasm_reset(r);
	r->active = true;
	r->skipping = false;
	r->framing = framing;
	r->first_offset = offset;
	r->end_offset = offset;
}

bool sm_reasm_append(struct sm_reasm *r, const uint8_t *p, size_t n)
{
	if (n > sizeof(r->buf) - r->len)
		return false;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->parts++;
	return true;
}

struct sm_origin sm_reasm_origin(const struct sm_reasm *r)
{
	struct sm_origin org = {r->framing, r->first_offset, (size_t)(r->end_offset - r->first_offset)};
	return org;
}

void sm_reasm_drop(struct sm_decoder *dec, struct sm_reasm *r, enum sm_err err, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	struct sm_origin org = sm_reasm_origin(r);
	sm_emit_event(dec, SM_EVENT_ERROR, err, &org, NULL, 0, "%s", why);
	sm_reasm_reset(r);
}

