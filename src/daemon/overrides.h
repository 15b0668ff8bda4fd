/* overrides.h — what [meter] says about the meter's values beyond the wire: the DSMR time zone and the
 * scale.<obis> / unit.<obis> overrides for values sent without scaler_unit (handed to the decoder), and
 * the one log line per code the decoder publishes raw. Kept apart from main.c so the policy is testable. */
#ifndef SMARTMETERD_OVERRIDES_H
#define SMARTMETERD_OVERRIDES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "smartmeter/decoder.h"

/* Fills dc's time zone and overrides from cfg: [meter] timezone (a POSIX TZ such as EET-2EEST, or a
 * zoneinfo name such as Europe/Helsinki), else the system's zone ($TZ, else /etc/localtime) when it has
 * summer time, else the decoder's CET default; and cfg->overrides (dc points into cfg: keep cfg alive). */
void overrides_decoder_config(const struct config *cfg, struct sm_decoder_config *dc);

/* Standard and summer UTC offsets (minutes) of a zoneinfo zone (e.g. "Europe/Helsinki": 120, 180), or of
 * the system's zone when zone is NULL. False when the name is not in the zoneinfo database. */
bool overrides_zone_offsets(const char *zone, int16_t *ret_winter, int16_t *ret_summer);

/* Codes already named in the log as published raw. */
struct raw_notes {
	uint8_t obis[SM_MAX_OVERRIDES][6];
	size_t n;
};

/* Logs (info) each OBIS code of t the decoder published raw, once per code per raw_notes, with the
 * [meter] setting that scales it. Returns how many codes were named now. */
size_t overrides_note_raw(struct raw_notes *notes, const struct sm_telegram *t);

#endif
