/* builder.c — the fixed-size arena a telegram is decoded into.
 * Reset per telegram, never allocates: when a cap is hit it says so (overflow) instead of growing. */
#include <string.h>

#include "internal.h"

void sm_builder_reset(struct sm_builder *b)
{
	memset(&b->tg, 0, sizeof(b->tg));
	b->tg.nreadings = 0;
	b->tg.ncells = 0;
	b->pool_used = 0;
	b->overflow = false;
}

struct sm_reading *sm_builder_add(struct sm_builder *b)
{
	if (b->tg.nreadings >= SM_MAX_READINGS) {
		b->overflow = true;
		return NULL;
	}
	struct sm_reading *r = &b->readings[b->tg.nreadings++];
	memset(r, 0, sizeof(*r));
	r->obis[5] = 255;
	return r;
}

const char *sm_builder_strdup(struct sm_builder *b, const void *s, size_t len)
{
	if (len >= SM_TEXT_POOL - b->pool_used) {
		b->overflow = true;
		return NULL;
	}
	char *d = b->pool + b->pool_used;
	if (len)
		memcpy(d, s, len);
	d[len] = '\0';
	b->pool_used += len + 1;
	return d;
}

int sm_builder_cells(struct sm_builder *b, size_t n)
{
	if (n > SM_MAX_CELLS - b->tg.ncells) {
		b->overflow = true;
		return -1;
	}
	int first = (int)b->tg.ncells;
	memset(&b->cells[first], 0, n * sizeof(b->cells[0]));
	b->tg.ncells += n;
	return first;
}
