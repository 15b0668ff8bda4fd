/* telegram_json.h — a decoded telegram as the smartmeter-decode JSON document, written with the
 * streaming writer (json_writer.h). This is the fixed contract shared by `smartmeter-decode` and the
 * daemon's `.../obis` topic:
 * {"protocol","encrypted","meter_id","framing","offset","length",...extras,"values":{OBIS:{"value",
 *  ["unit"],["timestamp"],["raw"]}}}. Never rename a key; add new ones only. */
#ifndef SMARTMETER_TELEGRAM_JSON_H
#define SMARTMETER_TELEGRAM_JSON_H

#include <stdbool.h>

#include "json_writer.h"
#include "smartmeter/reading.h"

/* The key a reading is published under: its OBIS code, or "pos_<n>" for a value of an unmapped
 * positional list. out needs SM_OBIS_STRLEN bytes. Returns the length. */
size_t sm_json_reading_key(const struct sm_reading *r, char *out, size_t outsz);

/* One value: exact number, string, boolean, ISO date-time, lowercase hex, array of rows, null. */
void sm_json_value(struct jw *w, const struct sm_telegram *t, const struct sm_value *v);

/* The whole telegram appended to w (call jw_reset first for a new document). A key sent twice in one
 * telegram keeps its first place and the later value (what json-c did, and what the meter display
 * shows). False only when memory ran out. */
bool sm_json_telegram(struct jw *w, const struct sm_telegram *t);

#endif
