/* state.h — the `<prefix>/<meter_id>/state` object: one flat JSON object with the stable, friendly
 * snake_case keys of the OBIS registry (sm_obis_state_key: "energy_import_t1", "power_import",
 * "voltage_l1"; unknown codes as "obis_1_0_99_1_0") and values converted to the registry's units
 * (sm_obis_state_value: kWh, W, V, A, m³ ...), then CT/VT multipliers applied. Each telegram becomes
 * one list of (key, value, unit) items that the state object, the energy guard and Home Assistant
 * discovery all read, so a value_template, its unit and the value cannot disagree. The JSON text is
 * written with the streaming writer into the caller's reused buffer (json-c only parses it, in tests).
 * Must not invent names or units of its own. */
#ifndef SMARTMETERD_STATE_H
#define SMARTMETERD_STATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "json_writer.h"
#include "smartmeter/obis.h"
#include "smartmeter/reading.h"

struct state_multipliers {
	double power;   /* W, var, VA (and k-prefixed) */
	double voltage; /* V */
	double current; /* A */
	double energy;  /* Wh, varh, VAh (and k-prefixed) */
};

#define STATE_KEY_LEN 64

/* The key a reading is published under, or NULL for readings without an OBIS code (those stay on the
 * .../obis topic as "pos_<n>"). buf needs STATE_KEY_LEN bytes. */
const char *state_key(const struct sm_reading *r, char *buf, size_t bufsz);

/* The unit a value with this (normalised decoder) unit is expressed in on the state topic when the
 * registry names none: kW -> W, Wh -> kWh, kvar -> var, varh -> kvarh, kVA -> VA, VAh -> kVAh, kV -> V,
 * mA/kA -> A, kHz -> Hz. Units without a known base (and NULL) are returned unchanged. */
const char *state_canonical_unit(const char *unit);

/* Convert n from unit `from` to unit `to` exactly (powers of ten only). False when the two units
 * measure different things (kWh vs W). A NULL `from` is taken to be in `to` already. */
bool state_convert(struct sm_number *n, const char *from, const char *to);

/* Which multiplier applies to a value published in this unit (1.0 for units it does not scale). */
double state_multiplier(const struct state_multipliers *m, const char *unit);

/* The unit a reading is published in on the state topic, in Home Assistant's spelling: the registry's,
 * else the one state_canonical_unit() converts to; NULL for text values. Discovery's unit_of_measurement
 * and the energy guard's limit scaling both come from here. */
const char *state_published_unit(const struct sm_obis_info *info, const struct sm_reading *r);

/* ---- one telegram as a list of (key, value, unit): what the state object, the energy guard and
 * Home Assistant discovery all read, built once per telegram ---- */
enum state_type {
	STATE_NULL = 0, /* JSON null: HA shows "unknown" rather than a wrong or stale value */
	STATE_NUMBER,   /* exact decimal */
	STATE_REAL,     /* a non-integer CT/VT multiplier was applied */
	STATE_TEXT,
};

struct state_value {
	enum state_type type;
	struct sm_number num;
	double real;
	char text[SM_OBIS_STATE_TEXT_MAX + 1];
};

struct state_item {
	char key[STATE_KEY_LEN];
	uint32_t hash;                    /* of key (state_key_hash): lookups compare it before the text */
	struct state_value v;
	const char *unit;                 /* as published (static storage), NULL = none */
	const struct sm_obis_info *info;  /* registry entry, NULL for unknown codes and derived keys */
	const struct sm_reading *r;       /* the reading (discovery reads its code and type); NULL for derived
	                                   * keys; valid only while the telegram is (the cache clears it) */
};

struct state_list {
	struct state_item *v;
	size_t n, cap;                    /* storage is kept between telegrams: no allocation per frame */
};

/* Replace l's items with t's readings (plus "<key>_timestamp" capture times and "timestamp"). A key
 * that occurs twice keeps the last value. m may be NULL (all 1). 0 or -1 (ENOMEM). */
int state_list_build(struct state_list *l, const struct sm_telegram *t, const struct state_multipliers *m);
/* Add or replace one item (derived keys: decoder health). unit static or NULL. 0 or -1. */
int state_list_set(struct state_list *l, const char *key, const struct state_value *v, const char *unit);
struct state_item *state_list_find(const struct state_list *l, const char *key);
void state_list_free(struct state_list *l);
uint32_t state_key_hash(const char *key);
/* The items as one flat JSON object appended to w (json_writer.h). False on ENOMEM. */
bool state_list_write(struct jw *w, const struct state_item *v, size_t n);
/* The same parsed by json-c, for tests and tools; caller owns it. NULL on ENOMEM. */
json_object *state_list_json(const struct state_item *v, size_t n);

/* The values a tariff (registry kind SM_OBIS_KIND_TARIFF) is published as, NULL-terminated: Home
 * Assistant's enum sensor accepts nothing else, so any other tariff text is published as null. */
extern const char *const state_tariff_options[];

/* Build the whole state object of one telegram; caller owns it (json_object_put). m may be NULL. */
json_object *state_build(const struct sm_telegram *t, const struct state_multipliers *m);

/* ---- the meter's whole current state (what the state topic carries, issue: "cached device state") ----
 * Every key ever seen or wanted (the keys Home Assistant's entities read) with its last value. A key
 * whose own update period p is known (two updates seen) and that has not been updated for
 * STATE_EXPIRE_PERIODS x p is published as null: HA shows unknown rather than stale. */
#define STATE_EXPIRE_PERIODS 3u
#define STATE_CACHE_MAX_KEYS 256u

struct state_cache;
struct state_cache *state_cache_new(void); /* NULL on ENOMEM */
void state_cache_free(struct state_cache *c);
void state_cache_reset(struct state_cache *c);   /* another meter: forget everything */
/* Fold a telegram's list in at now_ms (monotonic). 0 or -1 (ENOMEM; what fitted is kept). */
int state_cache_update(struct state_cache *c, const struct state_list *l, uint64_t now_ms);
/* Make sure key is carried (null until a value arrives). 0 or -1. */
int state_cache_want(struct state_cache *c, const char *key);
size_t state_cache_size(const struct state_cache *c);
const char *state_cache_key(const struct state_cache *c, size_t i); /* i < state_cache_size() */
/* The whole state at now_ms appended to w. False on ENOMEM. */
bool state_cache_write(struct jw *w, const struct state_cache *c, uint64_t now_ms);
/* The same parsed by json-c; caller owns it. NULL on ENOMEM. */
json_object *state_cache_json(const struct state_cache *c, uint64_t now_ms);

#endif
