/* jsonref.c — the json-c reference of the telegram document (jsonref.h): the code smartmeter-decode
 * used before the streaming writer, kept unchanged as the oracle. Tests only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonref.h"

void jsonref_reading_key(const struct sm_reading *r, char *out, size_t outsz)
{
	if (r->has_obis)
		sm_obis_format(r->obis, out, outsz);
	else
		snprintf(out, outsz, "pos_%u", r->position);
}

static json_object *hex_string(const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[512];
	char *s = n * 2 + 1 <= sizeof(buf) ? buf : malloc(n * 2 + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[(unsigned char)p[i] >> 4];
		s[2 * i + 1] = digits[(unsigned char)p[i] & 15];
	}
	s[2 * n] = '\0'; /* also keeps s defined for n == 0 (s390x gcc 12 warns otherwise) */
	json_object *o = json_object_new_string_len(s, (int)(n * 2));
	if (s != buf)
		free(s);
	return o;
}

json_object *jsonref_value(const struct sm_telegram *t, const struct sm_value *v)
{
	char buf[SM_NUMBER_STRLEN > SM_DATETIME_STRLEN ? SM_NUMBER_STRLEN : SM_DATETIME_STRLEN];

	switch (v->type) {
	case SM_VALUE_NONE:
		return NULL; /* json null */
	case SM_VALUE_NUMBER:
		if (!sm_number_format(&v->u.num, buf, sizeof(buf)))
			return NULL;
		return json_object_new_double_s(sm_number_to_double(&v->u.num), buf);
	case SM_VALUE_TEXT:
		return json_object_new_string_len(v->u.text.str ? v->u.text.str : "", (int)v->u.text.len);
	case SM_VALUE_OCTETS:
		return hex_string(v->u.text.str, v->u.text.len);
	case SM_VALUE_BOOL:
		return json_object_new_boolean(v->u.boolean);
	case SM_VALUE_DATETIME:
		if (!sm_datetime_format(&v->u.dt, buf, sizeof(buf)))
			return NULL;
		return json_object_new_string(buf);
	case SM_VALUE_ROWS: {
		json_object *rows = json_object_new_array();
		for (unsigned r = 0; rows && r < v->u.rows.nrows; r++) {
			json_object *row = json_object_new_array();
			for (unsigned c = 0; row && c < v->u.rows.ncols; c++) {
				size_t idx = (size_t)v->u.rows.first + (size_t)r * v->u.rows.ncols + c;
				json_object_array_add(row, idx < t->ncells ? jsonref_value(t, &t->cells[idx]) : NULL);
			}
			json_object_array_add(rows, row);
		}
		return rows;
	}
	}
	return NULL;
}

static const char *framing_name(enum sm_framing f)
{
	switch (f) {
	case SM_FRAMING_DSMR: return "dsmr";
	case SM_FRAMING_HDLC: return "hdlc";
	case SM_FRAMING_MBUS: return "mbus";
	case SM_FRAMING_RAW: return "raw";
	case SM_FRAMING_SML: return "sml";
	case SM_FRAMING_C1218: return "c1218";
	}
	return "raw";
}

json_object *jsonref_telegram(const struct sm_telegram *t)
{
	json_object *o = json_object_new_object();
	json_object *values = json_object_new_object();
	char buf[64];

	if (!o || !values) {
		json_object_put(o);
		json_object_put(values);
		return NULL;
	}
	json_object_object_add(o, "protocol", json_object_new_string(sm_protocol_name(t->protocol)));
	json_object_object_add(o, "encrypted", json_object_new_boolean(t->encrypted));
	json_object_object_add(o, "meter_id", t->meter_id ? json_object_new_string(t->meter_id) : NULL);
	json_object_object_add(o, "framing", json_object_new_string(framing_name(t->framing)));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)t->offset));
	json_object_object_add(o, "length", json_object_new_int64((int64_t)t->length));
	if (t->header)
		json_object_object_add(o, "header", json_object_new_string(t->header));
	if (t->dsmr_version)
		json_object_object_add(o, "dsmr_version", json_object_new_string(t->dsmr_version));
	if (t->protocol == SM_PROTOCOL_DSMR)
		json_object_object_add(o, "crc", json_object_new_boolean(t->crc_present));
	if (t->has_datetime && sm_datetime_format(&t->datetime, buf, sizeof(buf)))
		json_object_object_add(o, "timestamp", json_object_new_string(buf));
	if (t->has_invoke_id)
		json_object_object_add(o, "invoke_id", json_object_new_int64(t->invoke_id));
	if (t->encrypted) {
		json_object_object_add(o, "authenticated", json_object_new_boolean(t->authenticated));
		json_object_object_add(o, "system_title", hex_string((const char *)t->system_title, 8));
		json_object_object_add(o, "invocation_counter", json_object_new_int64(t->invocation_counter));
		snprintf(buf, sizeof(buf), "%02x", t->security_control);
		json_object_object_add(o, "security_control", json_object_new_string(buf));
		if (t->counter_backwards)
			json_object_object_add(o, "counter_backwards", json_object_new_boolean(true));
	}
	if (t->note)
		json_object_object_add(o, "note", json_object_new_string(t->note));

	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		json_object *e = json_object_new_object();
		if (!e)
			break;
		json_object_object_add(e, "value", jsonref_value(t, &r->value));
		if (r->value.unit)
			json_object_object_add(e, "unit", json_object_new_string(r->value.unit));
		if (r->has_timestamp && sm_datetime_format(&r->timestamp, buf, sizeof(buf)))
			json_object_object_add(e, "timestamp", json_object_new_string(buf));
		if (r->raw)
			json_object_object_add(e, "raw", json_object_new_string_len(r->raw, (int)r->raw_len));
		jsonref_reading_key(r, buf, sizeof(buf));
		/* A key sent twice in one telegram (seen on Kaifa PL): the later line wins, as on the meter display. */
		json_object_object_add(values, buf, e);
	}
	json_object_object_add(o, "values", values);
	return o;
}

json_object *jsonref_written(const struct sm_telegram *t)
{
	struct jw w;
	jw_init(&w);
	json_object *o = sm_json_telegram(&w, t) ? json_tokener_parse(jw_text(&w, NULL)) : NULL;
	jw_free(&w);
	return o;
}
