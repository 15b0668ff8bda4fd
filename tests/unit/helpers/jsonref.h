/* jsonref.h — the reference for the streaming writer (src/json/telegram_json.c): the telegram JSON
 * object built with json-c exactly as smartmeter-decode printed it before the writer existed.
 * Tests only (test_json_writer.c compares the two on every corpus frame and on built frames). */
#ifndef SM_TEST_JSONREF_H
#define SM_TEST_JSONREF_H

#include <json-c/json.h>

#include "smartmeter/reading.h"
#include "telegram_json.h"

/* The key a reading is published under: its OBIS code, or "pos_<n>" for a value of an unmapped
 * positional list. out needs SM_OBIS_STRLEN bytes. */
void jsonref_reading_key(const struct sm_reading *r, char *out, size_t outsz);

/* One value as JSON: exact number, string, boolean, ISO date-time, lowercase hex, array of rows, null. */
json_object *jsonref_value(const struct sm_telegram *t, const struct sm_value *v);

/* The whole telegram; caller owns the result (json_object_put). NULL only on allocation failure. */
json_object *jsonref_telegram(const struct sm_telegram *t);

/* What the daemon and smartmeter-decode print now: the streaming writer's text, parsed by json-c.
 * Caller owns it; NULL when the text is not JSON (a bug). */
json_object *jsonref_written(const struct sm_telegram *t);

#endif
