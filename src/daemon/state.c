/* state.c — telegram -> friendly-key state object (see state.h).
 * Keys and unit conversion come from the registry (exact decimal powers of ten, so 0.244 kW is
 * exactly 244 W); only a non-integer CT/VT multiplier forces floating point. Must not depend on any
 * particular meter or on the order of readings in the telegram. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "smartmeter/obis.h"
#include "state.h"

/* What a unit measures and its power-of-ten factor against the base unit. */
struct unit_def {
	const char *name;
	const char *base;
	int exp10;
};

static const struct unit_def units[] = {
	{ "W", "W", 0 },     { "kW", "W", 3 },     { "MW", "W", 6 },      { "Wh", "Wh", 0 },   { "kWh", "Wh", 3 },
	{ "MWh", "Wh", 6 },  { "var", "var", 0 },  { "kvar", "var", 3 },  { "varh", "varh", 0 }, { "kvarh", "varh", 3 },
	{ "VA", "VA", 0 },   { "kVA", "VA", 3 },   { "VAh", "VAh", 0 },   { "kVAh", "VAh", 3 }, { "V", "V", 0 },
	{ "kV", "V", 3 },    { "A", "A", 0 },      { "kA", "A", 3 },      { "mA", "A", -3 },    { "Hz", "Hz", 0 },
	{ "kHz", "Hz", 3 },  { "m3", "m3", 0 },    { "m\xc2\xb3", "m3", 0 }, { "l", "m3", -3 }, { "L", "m3", -3 },
	{ "J", "J", 0 },     { "MJ", "J", 6 },     { "GJ", "J", 9 },
};

/* Published unit per base (issue 5: kWh, W, V, A, m3). */
static const struct {
	const char *base;
	const char *unit;
} canonical[] = {
	{ "W", "W" }, { "Wh", "kWh" }, { "var", "var" }, { "varh", "kvarh" }, { "VA", "VA" }, { "VAh", "kVAh" },
	{ "V", "V" }, { "A", "A" },    { "Hz", "Hz" },   { "m3", "m3" },      { "J", "GJ" },
};

static const struct unit_def *find_unit(const char *u)
{
	if (!u)
		return NULL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(units[i].name, u))
			return &units[i];
	return NULL;
}

const char *state_canonical_unit(const char *unit)
{
	const struct unit_def *d = find_unit(unit);
	if (!d)
		return unit;
	for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++)
		if (!strcmp(canonical[i].base, d->base))
			return canonical[i].unit;
	return unit;
}

bool state_convert(struct sm_number *n, const char *from, const char *to)
{
	if (!from)
		return true;
	if (!to)
		return false;
	if (!strcmp(from, to))
		return true;
	const struct unit_def *a = find_unit(from), *b = find_unit(to);
	if (!a || !b || strcmp(a->base, b->base))
		return false;
	sm_number_scale(n, a->exp10 - b->exp10);
	return true;
}

const char *state_key(const struct sm_reading *r, char *buf, size_t bufsz)
{
	if (!r->has_obis)
		return NULL;
	return sm_obis_state_key(r->obis, buf, bufsz) ? buf : NULL;
}

static bool unit_in(const char *unit, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(unit, *list))
			return true;
	return false;
}

double state_multiplier(const struct state_multipliers *m, const char *unit)
{
	static const char *const power[] = { "W", "kW", "MW", "var", "kvar", "VA", "kVA", NULL };
	static const char *const voltage[] = { "V", "kV", NULL };
	static const char *const current[] = { "A", "kA", "mA", NULL };
	static const char *const energy[] = { "Wh", "kWh", "MWh", "varh", "kvarh", "VAh", "kVAh", NULL };

	if (!m || !unit)
		return 1.0;
	if (unit_in(unit, power))
		return m->power;
	if (unit_in(unit, voltage))
		return m->voltage;
	if (unit_in(unit, current))
		return m->current;
	if (unit_in(unit, energy))
		return m->energy;
	return 1.0;
}

/* Exact when the multiplier is a whole number and the product fits; otherwise a double. */
static json_object *number_json(struct sm_number n, double mult)
{
	char text[SM_NUMBER_STRLEN];

	if (mult != 1.0) {
		double ip;
		if (modf(mult, &ip) == 0.0 && mult > 0 && mult <= 1e6 && n.mag <= UINT64_MAX / (uint64_t)mult) {
			n.mag *= (uint64_t)mult;
		} else {
			double d = sm_number_to_double(&n) * mult;
			snprintf(text, sizeof(text), "%.10g", d);
			return json_object_new_double_s(d, text);
		}
	}
	if (!sm_number_format(&n, text, sizeof(text)))
		return NULL;
	return json_object_new_double_s(sm_number_to_double(&n), text);
}

json_object *state_build(const struct sm_telegram *t, const struct state_multipliers *m)
{
	json_object *o = json_object_new_object();
	char keybuf[STATE_KEY_LEN], text[SM_DATETIME_STRLEN];
	struct sm_obis_state sv;

	if (!o)
		return NULL;
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		const char *key = state_key(r, keybuf, sizeof(keybuf));
		json_object *v = NULL;
		if (!key)
			continue;
		const struct sm_obis_info *info = sm_obis_lookup(r->obis);
		sm_obis_state_value(info, &r->value, &sv);
		switch (sv.type) {
		case SM_OBIS_STATE_NULL:
			break; /* JSON null: Home Assistant shows "unknown" rather than a wrong value */
		case SM_OBIS_STATE_NUMBER: {
			const char *unit = info && info->unit ? info->unit : r->value.unit;
			v = number_json(sv.num, state_multiplier(m, unit));
			break;
		}
		case SM_OBIS_STATE_TEXT:
			v = json_object_new_string(sv.text);
			break;
		}
		json_object_object_add(o, key, v);
		if (r->has_timestamp && sm_datetime_format(&r->timestamp, text, sizeof(text))) {
			char tskey[STATE_KEY_LEN + 16];
			snprintf(tskey, sizeof(tskey), "%s_timestamp", key);
			json_object_object_add(o, tskey, json_object_new_string(text));
		}
	}
	if (t->has_datetime && !json_object_object_get_ex(o, "timestamp", NULL) &&
	    sm_datetime_format(&t->datetime, text, sizeof(text)))
		json_object_object_add(o, "timestamp", json_object_new_string(text));
	return o;
}
