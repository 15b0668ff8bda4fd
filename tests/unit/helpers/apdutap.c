/* apdutap.c — records delivered APDUs for tests (see apdutap.h). */
#include <string.h>

#include "apdutap.h"

static void on_apdu(void *ctx, const uint8_t *apdu, size_t len, const struct sm_origin *org)
{
	struct apdutap *t = ctx;
	if (t->n < APDUTAP_MAX && len <= sizeof(t->rec[0].apdu)) {
		struct apdutap_rec *r = &t->rec[t->n];
		memcpy(r->apdu, apdu, len);
		r->len = len;
		r->org = *org;
	}
	t->n++;
}

void apdutap_attach(struct sm_decoder *dec, struct apdutap *t)
{
	memset(t, 0, sizeof(*t));
	sm_dlms_set_tap(dec->dlms, on_apdu, t);
}
