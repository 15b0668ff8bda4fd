/* cosem.h — how the notification-body walker (cosem.c) and the meter layout tables (layouts.c) share
 * one decoding pass. Internal; not installed. Nothing here may allocate or know a meter by code: meters
 * are rows in layouts.c. */
#ifndef SMARTMETER_COSEM_H
#define SMARTMETER_COSEM_H

#include <stdbool.h>
#include <stdint.h>

#include "axdr.h"
#include "internal.h"

/* Scaler_unit attributes (class 3/4 attribute 3) and capture times (class 4 attribute 5) travelling as
 * separate push objects; a push list names at most a few dozen registers. */
#define SM_COSEM_MAX_SIDECARS 64u
/* Family key: a list id ("Kamstrup_V0001") or a push-setup logical name ("0-8:25.9.0"). */
#define SM_COSEM_FAMILY_LEN 32u

struct sm_cosem_sidecar {
	uint8_t obis[6];
	bool is_time; /* capture time, else scaler_unit */
	int8_t scaler;
	uint8_t unit;
	uint32_t node; /* capture time value */
};

/* State of decoding one body into dec->build. */
struct sm_cosem_ctx {
	struct sm_decoder *dec;
	struct sm_builder *b;
	const struct sm_axdr_tree *t;
	char family[SM_COSEM_FAMILY_LEN]; /* "" = unknown */
	const uint8_t *list_id;           /* list id text on the wire (header), or NULL */
	size_t list_id_len;
	uint8_t wire_tag[SM_MAX_READINGS]; /* A-XDR tag each reading's value came from */
	bool scaled[SM_MAX_READINGS];      /* scaler/unit settled (wire scaler_unit or layout table) */
	unsigned with_obis;                /* readings keyed by OBIS */
	unsigned unexplained;              /* values keyed by position where the layout expected an OBIS code */
	unsigned skipped;                  /* values that could not be represented (NaN, deep nesting) */
	struct sm_cosem_sidecar side[SM_COSEM_MAX_SIDECARS];
	unsigned nside;
	const char *layout_name; /* table row that matched, or NULL */
};

/* Append a reading for tree node `node` (obis NULL = keyed by position). Converts the value (numbers
 * exactly, 12-byte octet-strings that are valid date-times to date-times, printable octets to text,
 * containers of scalars to rows). Returns the reading's index, or -1 when the value cannot be
 * represented (counted in ctx->skipped) or the builder is full. */
int sm_cosem_add(struct sm_cosem_ctx *ctx, const uint8_t *obis, uint16_t position, uint32_t node);
/* Multiply reading idx by 10^scaler and set its unit (NULL = keep); marks it scaled. */
void sm_cosem_scale(struct sm_cosem_ctx *ctx, int idx, int scaler, const char *unit);
/* Remember the family key from raw list-id bytes (only when not yet known). */
void sm_cosem_set_family(struct sm_cosem_ctx *ctx, const uint8_t *id, size_t len);

/* ---- layouts.c ---- */
/* If the body (container node `body`) matches a positional layout row, append its readings and return
 * true; else false and nothing was added. */
bool sm_layout_positional(struct sm_cosem_ctx *ctx, uint32_t body);
/* Settle scaler and unit of every reading that has none from the wire: meter-family rules keyed by
 * ctx->family and OBIS (Kamstrup currents x0.01 A ...), else the quantity's conventional unit. */
void sm_layout_scale(struct sm_cosem_ctx *ctx);
/* Conventional unit of an electricity OBIS code without scaler_unit (1-0:1.7.0 -> "W"), or NULL. */
const char *sm_layout_default_unit(const uint8_t obis[6]);

/* For tests: the layout table. */
struct sm_layout_info {
	const char *name;
	const char *shape;
	unsigned nfields;
	unsigned id_pos;
	const char *id; /* bytes element id_pos starts with, or NULL */
	size_t id_len;
};
size_t sm_layout_count(void);
bool sm_layout_get(size_t i, struct sm_layout_info *ret);

#endif
