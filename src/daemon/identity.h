/* identity.h — who the meter on a source is: meter id, manufacturer, model, serial number, firmware.
 * Nordic meters carry it only in some lists (Aidon/Kaifa list 2 and 3, not list 1), so it is learned
 * from whichever telegram carries it, kept, and persisted per source under [daemon] state_dir together
 * with the state keys Home Assistant's entities read: after a restart the device does not change and no
 * entity waits for the hourly list to resolve its template. Pure bookkeeping plus one small file; no
 * MQTT, no logging (the caller logs what changed). */
#ifndef SMARTMETERD_IDENTITY_H
#define SMARTMETERD_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/reading.h"

#define IDENTITY_TEXT_LEN 128
#define IDENTITY_ID_LEN 64
/* State keys remembered per meter: a DLMS list 3 has ~30, DSMR with M-Bus ~40, plus health keys. */
#define IDENTITY_MAX_KEYS 256u

struct identity {
	char meter_id[IDENTITY_ID_LEN];            /* topic-safe slug of the serial; "" = not known yet */
	char serial[IDENTITY_TEXT_LEN];            /* as the meter sent it */
	char manufacturer[IDENTITY_TEXT_LEN];      /* "" = unknown */
	char model[IDENTITY_TEXT_LEN];             /* "" = unknown (discovery then says "DSMR meter" ...) */
	char sw[IDENTITY_TEXT_LEN];                /* firmware (1-0:0.2.0), "" = unknown */
	bool dsmr;                                 /* protocol of the last telegram that carried identity */
};

/* A reading of this telegram as the state topic shows it (hex ids decoded); false when absent/empty. */
bool identity_code_text(const struct sm_telegram *t, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e,
                        char *out, size_t sz);
/* The same for one reading. */
bool identity_reading_text(const struct sm_reading *r, char *out, size_t sz);

/* What this telegram says about its meter, fields it does not carry left "". */
void identity_from_telegram(const struct sm_telegram *t, struct identity *ret);

enum identity_change {
	IDENTITY_SAME = 0,   /* nothing new */
	IDENTITY_MORE,       /* same meter, a field learned or corrected (model, manufacturer, firmware) */
	IDENTITY_NEW_METER,  /* a different meter id (meter replaced, or the first id ever) */
};
/* Fold a telegram's identity into the known one: an id that differs replaces everything; a telegram
 * without an id belongs to the meter already known; fields it carries overwrite, fields it lacks stay. */
enum identity_change identity_learn(struct identity *known, const struct identity *fresh);

/* Persistence: "<dir>/<slug of source>.meter", written atomically (temporary file + rename). load:
 * 0, -1 (errno; ENOENT = never saved). keys: up to max names, *nkeys set. save: 0 or -1 (errno). */
int identity_load(const char *dir, const char *source, struct identity *ret, char (*keys)[64], size_t max,
                  size_t *nkeys);
int identity_save(const char *dir, const char *source, const struct identity *id, const char (*keys)[64],
                  size_t nkeys);

#endif
