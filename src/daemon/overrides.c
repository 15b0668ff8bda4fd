/* overrides.c — the daemon's part of "values the wire does not scale" and of the meter's time zone
 * (see overrides.h). Parsing of the settings is the library's (sm_tz_parse, sm_override_set), applying
 * them too; this file only decides where they come from and what the log says. Never logs a value. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "overrides.h"

void overrides_decoder_config(const struct config *cfg, struct sm_decoder_config *dc)
{
	const char *tz = cfg->timezone;
	const char *env = getenv("TZ");
	if (!tz && env && *env && env[0] != ':')
		tz = env; /* the system's zone when TZ names one; a zoneinfo path (":Europe/...") cannot be read here */
	if (tz && sm_tz_parse(tz, &dc->dsmr_winter_offset_min, &dc->dsmr_summer_offset_min) == SM_OK)
		dc->has_dsmr_tz = true;
	dc->overrides = cfg->noverrides ? cfg->overrides : NULL;
	dc->noverrides = cfg->noverrides;
}

size_t overrides_note_raw(struct raw_notes *notes, const struct sm_telegram *t)
{
	size_t named = 0;
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		if (!r->unscaled || !r->has_obis)
			continue;
		size_t k = 0;
		while (k < notes->n && memcmp(notes->obis[k], r->obis, 6) != 0)
			k++;
		if (k < notes->n || notes->n == SM_MAX_OVERRIDES)
			continue;
		memcpy(notes->obis[notes->n++], r->obis, 6);
		char code[SM_OBIS_STRLEN];
		sm_obis_format(r->obis, code, sizeof(code));
		log_info("meter %s: %s has no scaler or unit on the wire and no rule for this meter: published raw "
		         "(if you know them, set scale.%s = N and unit.%s = UNIT in [meter])",
		         t->meter_id ? t->meter_id : "(no id)", code, code, code);
		named++;
	}
	return named;
}
