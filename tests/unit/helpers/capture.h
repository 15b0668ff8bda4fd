/* capture.h — test helper: a decoder whose callbacks record every telegram (as smartmeter-decode JSON)
 * and every event, so tests can assert on exactly what a consumer would see. Test-only. */
#ifndef SM_TEST_CAPTURE_H
#define SM_TEST_CAPTURE_H

#include <json-c/json.h>
#include <stddef.h>

#include "smartmeter/decoder.h"

#define CAPTURE_MAX_EVENTS 256

struct capture_event {
	enum sm_event_level level;
	enum sm_err err;
	enum sm_framing framing;
	unsigned long long offset;
	size_t length;
	char detail[256];
};

struct capture {
	struct sm_decoder *dec;
	json_object *telegrams;  /* array of telegram objects */
	struct capture_event events[CAPTURE_MAX_EVENTS];
	size_t nevents;
	size_t nerrors;
};

/* cfg may be NULL. Aborts the test on failure. */
void capture_init(struct capture *c, const struct sm_decoder_config *cfg);
void capture_fini(struct capture *c);
/* Feed in chunks of `chunk` bytes (0 = all at once), then flush when `flush`. */
void capture_feed(struct capture *c, const void *buf, size_t len, size_t chunk, int flush);
size_t capture_count(const struct capture *c);
/* values[key] of telegram i, or NULL. */
json_object *capture_value(const struct capture *c, size_t i, const char *key);
/* The JSON text of values[key].value of telegram i (e.g. "4.426", "\"E0004001\""), or "absent". */
const char *capture_value_text(const struct capture *c, size_t i, const char *key);
/* Top-level field of telegram i as JSON text, or "absent". */
const char *capture_field_text(const struct capture *c, size_t i, const char *field);
/* Number of ERROR events with this code. */
size_t capture_errors(const struct capture *c, enum sm_err err);

/* DSMR helper: "/" ... "!" + 4-digit CRC + CR LF appended to body (which must end with "!").
 * Returns a malloc'ed buffer and its length. */
char *dsmr_with_crc(const char *body, size_t *ret_len);

#endif
