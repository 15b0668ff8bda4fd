/* dlms.c — the DLMS side of the decoder: owns the reassembly state (HDLC segments, M-Bus segments,
 * general-block-transfer blocks). Routing frames to their layer is the framer table's (stream.c).
 * It must never allocate after sm_dlms_new(), keep a message past sm_dlms_flush(), or glue parts of
 * two messages together: a part that does not continue the message drops it, with an event. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlms.h"

enum sm_err sm_dlms_new(struct sm_dlms **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? SM_OK : SM_E_NOMEM;
}

void sm_dlms_free(struct sm_dlms *d)
{
	free(d);
}

void sm_dlms_set_tap(struct sm_dlms *d, sm_apdu_tap tap, void *ctx)
{
	d->tap = tap;
	d->tap_ctx = ctx;
}

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

static void flush_one(struct sm_decoder *dec, struct sm_reasm *r, const char *what)
{
	if (r->active)
		sm_reasm_drop(dec, r, SM_E_INCOMPLETE,
		              "%s message never completed: %u part%s (%zu bytes) received, "
		              "the last one missing",
		              what, r->parts, r->parts == 1 ? "" : "s", r->len);
	r->skipping = false;
}

void sm_dlms_flush(struct sm_decoder *dec)
{
	struct sm_dlms *d = dec->dlms;
	flush_one(dec, &d->hdlc, "HDLC segmented");
	flush_one(dec, &d->mbus, "M-Bus segmented");
	flush_one(dec, &d->gbt, "general-block-transfer");
}
