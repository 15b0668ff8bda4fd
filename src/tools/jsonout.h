/* jsonout.h — a decoded telegram as the smartmeter-decode JSON object (json-c).
 * This is the fixed contract shared by `smartmeter-decode` and the daemon's `.../obis` topic:
 * {"protocol","encrypted","meter_id","values":{OBIS:{"value",["unit"],["timestamp"],["raw"]}}, ...extras}.
 * Never rename a key; add new ones only. */
#ifndef SMARTMETER_JSONOUT_H
#define SMARTMETER_JSONOUT_H

#include <json-c/json.h>

#include "smartmeter/reading.h"

/* The key a reading is published under: its OBIS code, or "pos_<n>" for a value of an unmapped
 * positional list. out needs SM_OBIS_STRLEN bytes. */
void sm_json_reading_key(const struct sm_reading *r, char *out, size_t outsz);

/* One value as JSON: exact number, string, boolean, ISO date-time, lowercase hex, array of rows, null. */
json_object *sm_json_value(const struct sm_telegram *t, const struct sm_value *v);

/* The whole telegram; caller owns the result (json_object_put). NULL only on allocation failure. */
json_object *sm_json_telegram(const struct sm_telegram *t);

#endif
