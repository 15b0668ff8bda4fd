/* dlms.c — the DLMS side of the decoder: owns the reassembly state of the three multi-part forms (HDLC
 * segments, M-Bus segments, general-block-transfer blocks; the one reassembler is reasm.c) and drops
 * what is unfinished at flush. Routing frames to their layer is the framer table's (stream.c).
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
