/* overrides.c — the daemon's part of "values the wire does not scale" and of the meter's time zone
 * (see overrides.h). Parsing of the settings is the library's (sm_tz_parse, sm_override_set), applying
 * them too; this file only decides where they come from and what the log says. Never logs a value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "overrides.h"

/* The UTC offsets (minutes) of a zone in mid-January and mid-July of this year, read through libc's own
 * zoneinfo reader with TZ set for the moment (the daemon has no thread that reads the local time then).
 * zone NULL: the system's zone ($TZ, else /etc/localtime). */
static bool zone_probe(const char *zone, long ret_off[2])
{
	char *saved = NULL;
	const char *old = getenv("TZ");
	bool ok = true;
	if (zone) {
		if (old && !(saved = strdup(old)))
			return false;
		setenv("TZ", zone, 1);
	}
	tzset();
	time_t now = time(NULL);
	struct tm utc;
	gmtime_r(&now, &utc);
	for (int i = 0; i < 2; i++) {
		struct tm t = { .tm_year = utc.tm_year, .tm_mon = i ? 6 : 0, .tm_mday = 15, .tm_hour = 12 };
		time_t when = timegm(&t);
		struct tm lt;
		if (!localtime_r(&when, &lt)) {
			ok = false;
			break;
		}
		ret_off[i] = lt.tm_gmtoff / 60;
	}
	if (zone) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		free(saved);
		tzset();
	}
	return ok;
}

bool overrides_zone_offsets(const char *zone, int16_t *ret_winter, int16_t *ret_summer)
{
	long off[2];
	if (zone) {
		/* Only a name of the zoneinfo database: libc takes anything else as a POSIX TZ meaning UTC. */
		char path[256];
		struct stat st;
		if (!*zone || zone[0] == '/' || strstr(zone, "..") ||
		    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			return false;
	}
	if (!zone_probe(zone, off))
		return false;
	*ret_winter = (int16_t)(off[0] < off[1] ? off[0] : off[1]);
	*ret_summer = (int16_t)(off[0] < off[1] ? off[1] : off[0]);
	return true;
}

void overrides_decoder_config(const struct config *cfg, struct sm_decoder_config *dc)
{
	int16_t w, su;
	if (cfg->timezone) {
		/* config_check has accepted it: a POSIX TZ or a zone name. */
		if (sm_tz_parse(cfg->timezone, &w, &su) == SM_OK || overrides_zone_offsets(cfg->timezone, &w, &su)) {
			dc->dsmr_winter_offset_min = w;
			dc->dsmr_summer_offset_min = su;
			dc->has_dsmr_tz = true;
		}
	} else if (overrides_zone_offsets(NULL, &w, &su) && w != su) {
		/* The system's zone, when it has summer time: a DSMR meter's S/W flags need one. A zone without
		 * (a server left on UTC) says nothing about the meter, so the decoder keeps its CET default. */
		dc->dsmr_winter_offset_min = w;
		dc->dsmr_summer_offset_min = su;
		dc->has_dsmr_tz = true;
	}
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
