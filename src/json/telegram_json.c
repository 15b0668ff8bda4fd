/* telegram_json.c — writes the smartmeter-decode / .../obis document of a telegram (telegram_json.h).
 * Numbers keep the meter's exact decimal text (sm_number_format), so 0.001 prints as 0.001.
 * Must not know any meter: it prints what the decoder found. */
#include <string.h>

#include "smartmeter/decoder.h"
#include "telegram_json.h"

size_t sm_json_reading_key(const struct sm_reading *r, char *out, size_t outsz)
{
	if (r->has_obis)
		return sm_obis_format(r->obis, out, outsz);
	if (outsz < 5 + SM_U64_STRLEN) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, "pos_", 4);
	return 4 + sm_u64_format(r->position, out + 4, outsz - 4);
}

void sm_json_value(struct jw *w, const struct sm_telegram *t, const struct sm_value *v)
{
	char buf[SM_NUMBER_STRLEN > SM_DATETIME_STRLEN ? SM_NUMBER_STRLEN : SM_DATETIME_STRLEN];
	size_t n;

	switch (v->type) {
	case SM_VALUE_NONE:
		break;
	case SM_VALUE_NUMBER: {
		char *o = jw_value_space(w, SM_NUMBER_STRLEN);
		if (!o)
			return;
		if (!(n = sm_number_format(&v->u.num, o, SM_NUMBER_STRLEN))) {
			memcpy(o, "null", 4); /* a number too long to print: what json-c got from a NULL object */
			n = 4;
		}
		jw_value_commit(w, n);
		return;
	}
	case SM_VALUE_TEXT:
		jw_string(w, v->u.text.str, v->u.text.len);
		return;
	case SM_VALUE_OCTETS:
		jw_hex(w, v->u.text.str, v->u.text.len);
		return;
	case SM_VALUE_BOOL:
		jw_bool(w, v->u.boolean);
		return;
	case SM_VALUE_DATETIME:
		if (!(n = sm_datetime_format(&v->u.dt, buf, sizeof(buf))))
			break;
		jw_string(w, buf, n);
		return;
	case SM_VALUE_ROWS:
		jw_array_begin(w);
		for (unsigned r = 0; r < v->u.rows.nrows; r++) {
			jw_array_begin(w);
			for (unsigned c = 0; c < v->u.rows.ncols; c++) {
				size_t idx = (size_t)v->u.rows.first + (size_t)r * v->u.rows.ncols + c;
				/* A cell that is itself rows would nest without end on a corrupt model: not printed. */
				if (idx < t->ncells && t->cells[idx].type != SM_VALUE_ROWS)
					sm_json_value(w, t, &t->cells[idx]);
				else
					jw_null(w);
			}
			jw_array_end(w);
		}
		jw_array_end(w);
		return;
	}
	jw_null(w);
}

static const char *framing_key(enum sm_framing f)
{
	switch (f) {
	case SM_FRAMING_DSMR:
		return "dsmr";
	case SM_FRAMING_HDLC:
		return "hdlc";
	case SM_FRAMING_MBUS:
		return "mbus";
	case SM_FRAMING_RAW:
		return "raw";
	case SM_FRAMING_SML:
		return "sml";
	case SM_FRAMING_C1218:
		return "c1218";
	}
	return "raw";
}

/* One key per reading, as a number: the OBIS bytes, or bit 63 + the position. */
static uint64_t reading_id(const struct sm_reading *r)
{
	if (!r->has_obis)
		return (1ull << 63) | r->position;
	uint64_t k = 0;
	for (int i = 0; i < 6; i++)
		k = k << 8 | r->obis[i];
	return k;
}

/* Duplicate keys: an open-addressing table from key to (first, last) reading index, sized per
 * telegram (at most 2 x SM_MAX_READINGS slots) and cleared only as far as it is used. */
struct dupslot {
	uint64_t key;
	uint16_t first, last; /* reading index + 1; first == 0: empty */
};

static struct dupslot *dup_find(struct dupslot *tab, size_t mask, uint64_t key)
{
	size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;
	while (tab[h].first && tab[h].key != key)
		h = (h + 1) & mask;
	return &tab[h];
}

static void write_reading(struct jw *w, const struct sm_telegram *t, const struct sm_reading *r)
{
	char buf[SM_DATETIME_STRLEN];
	size_t n;

	jw_object_begin(w);
	JW_KEY(w, "value");
	sm_json_value(w, t, &r->value);
	if (r->value.unit) {
		JW_KEY(w, "unit");
		jw_string_c(w, r->value.unit);
	}
	if (r->has_timestamp && (n = sm_datetime_format(&r->timestamp, buf, sizeof(buf)))) {
		JW_KEY(w, "timestamp");
		jw_string(w, buf, n);
	}
	if (r->raw) {
		JW_KEY(w, "raw");
		jw_string(w, r->raw, r->raw_len);
	}
	jw_object_end(w);
}

bool sm_json_telegram(struct jw *w, const struct sm_telegram *t)
{
	struct dupslot tab[2 * SM_MAX_READINGS];
	char buf[SM_DATETIME_STRLEN > SM_OBIS_STRLEN + 8 ? SM_DATETIME_STRLEN : SM_OBIS_STRLEN + 8];
	size_t n, nr = t->nreadings < SM_MAX_READINGS ? t->nreadings : SM_MAX_READINGS;

	jw_object_begin(w);
	JW_KEY(w, "protocol");
	jw_string_c(w, sm_protocol_name(t->protocol));
	JW_KEY(w, "encrypted");
	jw_bool(w, t->encrypted);
	JW_KEY(w, "meter_id");
	jw_string_c(w, t->meter_id);
	JW_KEY(w, "framing");
	jw_string_c(w, framing_key(t->framing));
	JW_KEY(w, "offset");
	jw_uint(w, t->offset);
	JW_KEY(w, "length");
	jw_uint(w, t->length);
	if (t->header) {
		JW_KEY(w, "header");
		jw_string_c(w, t->header);
	}
	if (t->dsmr_version) {
		JW_KEY(w, "dsmr_version");
		jw_string_c(w, t->dsmr_version);
	}
	if (t->protocol == SM_PROTOCOL_DSMR) {
		JW_KEY(w, "crc");
		jw_bool(w, t->crc_present);
	}
	if (t->has_datetime && (n = sm_datetime_format(&t->datetime, buf, sizeof(buf)))) {
		JW_KEY(w, "timestamp");
		jw_string(w, buf, n);
	}
	if (t->has_invoke_id) {
		JW_KEY(w, "invoke_id");
		jw_uint(w, t->invoke_id);
	}
	if (t->encrypted) {
		JW_KEY(w, "authenticated");
		jw_bool(w, t->authenticated);
		JW_KEY(w, "system_title");
		jw_hex(w, t->system_title, 8);
		JW_KEY(w, "invocation_counter");
		jw_uint(w, t->invocation_counter);
		JW_KEY(w, "security_control");
		jw_hex(w, &t->security_control, 1);
		if (t->counter_backwards) {
			JW_KEY(w, "counter_backwards");
			jw_bool(w, true);
		}
	}
	if (t->note) {
		JW_KEY(w, "note");
		jw_string_c(w, t->note);
	}

	size_t size = 16;
	while (size < 2 * nr)
		size *= 2;
	memset(tab, 0, size * sizeof(tab[0]));
	for (size_t i = 0; i < nr; i++) {
		struct dupslot *s = dup_find(tab, size - 1, reading_id(&t->readings[i]));
		if (!s->first) {
			s->key = reading_id(&t->readings[i]);
			s->first = (uint16_t)(i + 1);
		}
		s->last = (uint16_t)(i + 1);
	}
	JW_KEY(w, "values");
	jw_object_begin(w);
	for (size_t i = 0; i < nr; i++) {
		const struct sm_reading *r = &t->readings[i];
		const struct dupslot *s = dup_find(tab, size - 1, reading_id(r));
		if (s->first != i + 1)
			continue; /* printed at its first place, with the later value */
		/* digits, '-', ':', '.', "pos_": nothing to escape */
		char *o = jw_key_space(w, SM_OBIS_STRLEN + 8);
		if (!o)
			break;
		jw_key_commit(w, sm_json_reading_key(r, o, SM_OBIS_STRLEN + 8));
		write_reading(w, t, &t->readings[s->last - 1]);
	}
	jw_object_end(w);
	jw_object_end(w);
	return jw_ok(w);
}
