/* state.c — telegram -> friendly-key state object (see state.h).
 * Keys and unit conversion come from the registry (exact decimal powers of ten, so 0.244 kW is
 * exactly 244 W); only a non-integer CT/VT multiplier forces floating point. Must not depend on any
 * particular meter or on the order of readings in the telegram. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

const char *state_published_unit(const struct sm_obis_info *info, const struct sm_reading *r)
{
	if (info && info->unit)
		return info->unit;
	return r->value.type == SM_VALUE_NUMBER ? sm_obis_ha_unit(state_canonical_unit(r->value.unit)) : NULL;
}

/* Exact when the multiplier is a whole number and the product fits; otherwise a double. */
static void number_value(struct sm_number n, double mult, struct state_value *out)
{
	if (mult != 1.0) {
		if (mult > 0 && mult <= 1e6 && mult == (double)(uint64_t)mult && n.mag <= UINT64_MAX / (uint64_t)mult) {
			n.mag *= (uint64_t)mult;
		} else {
			out->type = STATE_REAL;
			out->real = sm_number_to_double(&n) * mult;
			return;
		}
	}
	out->type = STATE_NUMBER;
	out->num = n;
}

/* FNV-1a: the list and the cache are searched ~100 times per telegram; comparing a hash first makes
 * each miss one integer compare instead of a strcmp. */
uint32_t state_key_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

/* snprintf("%s") without printf: it ran ~40 times per telegram. Truncates like snprintf. */
static void copy_text(char *dst, size_t dstsz, const char *src)
{
	size_t n = strnlen(src, dstsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct state_item *list_find(const struct state_list *l, const char *key, uint32_t h)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].hash == h && !strcmp(l->v[i].key, key))
			return &l->v[i];
	return NULL;
}

struct state_item *state_list_find(const struct state_list *l, const char *key)
{
	return list_find(l, key, state_key_hash(key));
}

/* The slot for key: the existing one (a repeated code keeps its last value) or a new one. */
static struct state_item *slot(struct state_list *l, const char *key)
{
	uint32_t h = state_key_hash(key);
	struct state_item *it = list_find(l, key, h);
	if (it)
		return it;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct state_item *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	it = &l->v[l->n++];
	copy_text(it->key, sizeof(it->key), key);
	it->hash = h;
	return it;
}

int state_list_set(struct state_list *l, const char *key, const struct state_value *v, const char *unit)
{
	struct state_item *it = slot(l, key);
	if (!it)
		return -1;
	it->v = *v;
	it->unit = unit;
	it->info = NULL;
	it->r = NULL;
	return 0;
}

static int set_text(struct state_list *l, const char *key, const char *text)
{
	struct state_value v = { .type = STATE_TEXT };
	copy_text(v.text, sizeof(v.text), text);
	return state_list_set(l, key, &v, NULL);
}

const char *const state_tariff_options[] = { "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", NULL };

static bool is_tariff_option(const char *text)
{
	for (size_t i = 0; state_tariff_options[i]; i++)
		if (!strcmp(text, state_tariff_options[i]))
			return true;
	return false;
}

int state_list_build(struct state_list *l, const struct sm_telegram *t, const struct state_multipliers *m)
{
	char keybuf[STATE_KEY_LEN], text[SM_DATETIME_STRLEN];
	struct sm_obis_state sv;

	l->n = 0;
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		if (!r->has_obis)
			continue;
		/* One registry lookup per reading: a known code's key is its entry's. */
		const struct sm_obis_info *info = sm_obis_lookup(r->obis);
		const char *key = info ? info->key : state_key(r, keybuf, sizeof(keybuf));
		if (!key)
			continue;
		struct state_item *it = slot(l, key);
		if (!it)
			return -1;
		it->info = info;
		it->r = r;
		it->unit = state_published_unit(info, r);
		it->v.type = STATE_NULL;
		sm_obis_state_value(info, &r->value, &sv);
		switch (sv.type) {
		case SM_OBIS_STATE_NULL:
			break;
		case SM_OBIS_STATE_NUMBER:
			number_value(sv.num, state_multiplier(m, info && info->unit ? info->unit : r->value.unit), &it->v);
			break;
		case SM_OBIS_STATE_TEXT:
			/* An empty text (a DSMR message line with nothing in it) is "no value", not "". */
			if (sv.text[0] && (!info || info->kind != SM_OBIS_KIND_TARIFF || is_tariff_option(sv.text))) {
				it->v.type = STATE_TEXT;
				memcpy(it->v.text, sv.text, sizeof(it->v.text));
			}
			break;
		}
		if (r->has_timestamp && sm_datetime_format(&r->timestamp, text, sizeof(text))) {
			char tskey[STATE_KEY_LEN + 16];
			snprintf(tskey, sizeof(tskey), "%s_timestamp", key);
			if (strlen(tskey) < STATE_KEY_LEN && set_text(l, tskey, text) < 0)
				return -1;
		}
	}
	if (t->has_datetime && !state_list_find(l, "timestamp") && sm_datetime_format(&t->datetime, text, sizeof(text)) &&
	    set_text(l, "timestamp", text) < 0)
		return -1;
	return 0;
}

void state_list_free(struct state_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void value_write(struct jw *w, const struct state_value *v)
{
	char text[SM_NUMBER_STRLEN];
	size_t n;
	switch (v->type) {
	case STATE_NULL:
		break;
	case STATE_NUMBER: {
		char *o = jw_value_space(w, SM_NUMBER_STRLEN);
		if (!o)
			return;
		if (!(n = sm_number_format(&v->num, o, SM_NUMBER_STRLEN))) {
			memcpy(o, "null", 4);
			n = 4;
		}
		jw_value_commit(w, n);
		return;
	}
	case STATE_REAL:
		if (!isfinite(v->real))
			break; /* JSON has no inf/nan */
		n = (size_t)snprintf(text, sizeof(text), "%.10g", v->real);
		jw_raw(w, text, n);
		return;
	case STATE_TEXT:
		jw_string_c(w, v->text);
		return;
	}
	jw_null(w);
}

bool state_list_write(struct jw *w, const struct state_item *v, size_t n)
{
	jw_object_begin(w);
	for (size_t i = 0; i < n; i++) {
		jw_key_c(w, v[i].key);
		value_write(w, &v[i].v);
	}
	jw_object_end(w);
	return jw_ok(w);
}

static json_object *parse_written(struct jw *w, bool ok)
{
	json_object *o = ok ? json_tokener_parse(jw_text(w, NULL)) : NULL;
	jw_free(w);
	return o;
}

json_object *state_list_json(const struct state_item *v, size_t n)
{
	struct jw w;
	jw_init(&w);
	return parse_written(&w, state_list_write(&w, v, n));
}

json_object *state_build(const struct sm_telegram *t, const struct state_multipliers *m)
{
	struct state_list l = { 0 };
	json_object *o = state_list_build(&l, t, m) == 0 ? state_list_json(l.v, l.n) : NULL;
	state_list_free(&l);
	return o;
}

/* ---- the cache ---- */

struct cached_key {
	struct state_item item;
	uint64_t last_ms;   /* 0 = wanted, never seen */
	uint64_t period_ms; /* gap between the last two updates, 0 = unknown */
};

struct state_cache {
	struct cached_key *v;
	size_t n, cap;
};

struct state_cache *state_cache_new(void)
{
	return calloc(1, sizeof(struct state_cache));
}

void state_cache_free(struct state_cache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

void state_cache_reset(struct state_cache *c)
{
	c->n = 0;
}

size_t state_cache_size(const struct state_cache *c)
{
	return c->n;
}

const char *state_cache_key(const struct state_cache *c, size_t i)
{
	return c->v[i].item.key;
}

static struct cached_key *cache_slot(struct state_cache *c, const char *key, uint32_t h)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].item.hash == h && !strcmp(c->v[i].item.key, key))
			return &c->v[i];
	if (c->n >= STATE_CACHE_MAX_KEYS)
		return NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct cached_key *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	struct cached_key *k = &c->v[c->n++];
	memset(k, 0, sizeof(*k));
	copy_text(k->item.key, sizeof(k->item.key), key);
	k->item.hash = h;
	return k;
}

int state_cache_update(struct state_cache *c, const struct state_list *l, uint64_t now_ms)
{
	int rc = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct cached_key *k = cache_slot(c, l->v[i].key, l->v[i].hash);
		if (!k) {
			rc = -1;
			continue;
		}
		if (k->last_ms && now_ms > k->last_ms)
			k->period_ms = now_ms - k->last_ms;
		k->last_ms = now_ms ? now_ms : 1;
		k->item = l->v[i];
		k->item.r = NULL; /* the telegram is gone after this call */
	}
	return rc;
}

int state_cache_want(struct state_cache *c, const char *key)
{
	return cache_slot(c, key, state_key_hash(key)) ? 0 : -1;
}

bool state_cache_write(struct jw *w, const struct state_cache *c, uint64_t now_ms)
{
	jw_object_begin(w);
	for (size_t i = 0; i < c->n; i++) {
		const struct cached_key *k = &c->v[i];
		bool expired = !k->last_ms ||
		               (k->period_ms && now_ms > k->last_ms && now_ms - k->last_ms > STATE_EXPIRE_PERIODS * k->period_ms);
		jw_key_c(w, k->item.key);
		if (expired)
			jw_null(w);
		else
			value_write(w, &k->item.v);
	}
	jw_object_end(w);
	return jw_ok(w);
}

json_object *state_cache_json(const struct state_cache *c, uint64_t now_ms)
{
	struct jw w;
	jw_init(&w);
	return parse_written(&w, state_cache_write(&w, c, now_ms));
}
