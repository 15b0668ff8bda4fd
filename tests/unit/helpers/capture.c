/* capture.c — test helper recording what the decoder delivers (see capture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "internal.h"
#include "jsonref.h"

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	struct capture *c = ctx;
	json_object *o = jsonref_written(t);
	assert_non_null(o);
	json_object_array_add(c->telegrams, o);
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	struct capture *c = ctx;
	if (ev->level == SM_EVENT_ERROR)
		c->nerrors++;
	if (c->nevents >= CAPTURE_MAX_EVENTS)
		return;
	struct capture_event *e = &c->events[c->nevents++];
	e->level = ev->level;
	e->err = ev->err;
	e->framing = ev->framing;
	e->offset = ev->offset;
	e->length = ev->length;
	snprintf(e->detail, sizeof(e->detail), "%s", ev->detail);
}

void capture_init(struct capture *c, const struct sm_decoder_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->telegrams = json_object_new_array();
	enum sm_err err = SM_OK;
	c->dec = sm_decoder_new(cfg, on_telegram, on_event, c, &err);
	assert_non_null(c->dec);
}

void capture_fini(struct capture *c)
{
	sm_decoder_free(c->dec);
	json_object_put(c->telegrams);
	memset(c, 0, sizeof(*c));
}

void capture_feed(struct capture *c, const void *buf, size_t len, size_t chunk, int flush)
{
	const uint8_t *p = buf;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		sm_decoder_feed(c->dec, p + off, len - off < chunk ? len - off : chunk);
	if (flush)
		sm_decoder_flush(c->dec);
}

size_t capture_count(const struct capture *c)
{
	return json_object_array_length(c->telegrams);
}

json_object *capture_value(const struct capture *c, size_t i, const char *key)
{
	json_object *t = json_object_array_get_idx(c->telegrams, i), *vals, *v;
	if (!t || !json_object_object_get_ex(t, "values", &vals) || !json_object_object_get_ex(vals, key, &v))
		return NULL;
	return v;
}

const char *capture_value_text(const struct capture *c, size_t i, const char *key)
{
	json_object *e = capture_value(c, i, key), *v;
	if (!e || !json_object_object_get_ex(e, "value", &v))
		return "absent";
	return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

const char *capture_field_text(const struct capture *c, size_t i, const char *field)
{
	json_object *t = json_object_array_get_idx(c->telegrams, i), *v;
	if (!t || !json_object_object_get_ex(t, field, &v))
		return "absent";
	return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

size_t capture_errors(const struct capture *c, enum sm_err err)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nevents; i++)
		if (c->events[i].level == SM_EVENT_ERROR && c->events[i].err == err)
			n++;
	return n;
}

char *dsmr_with_crc(const char *body, size_t *ret_len)
{
	size_t n = strlen(body);
	char *out = malloc(n + 8);
	assert_non_null(out);
	memcpy(out, body, n);
	unsigned crc = sm_crc16_arc((const uint8_t *)body, n);
	snprintf(out + n, 8, "%04X\r\n", crc);
	*ret_len = n + 6;
	return out;
}
