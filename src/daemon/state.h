/* state.h — the `<prefix>/<meter_id>/state` object: one flat JSON object with the stable, friendly
 * snake_case keys of the OBIS registry (sm_obis_state_key: "energy_import_t1", "power_import",
 * "voltage_l1"; unknown codes as "obis_1_0_99_1_0") and values converted to the registry's units
 * (sm_obis_state_value: kWh, W, V, A, m³ ...), then CT/VT multipliers applied. Using the registry's two
 * functions keeps this object and Home Assistant discovery's value_templates in step.
 * Must not invent names or units of its own. */
#ifndef SMARTMETERD_STATE_H
#define SMARTMETERD_STATE_H

#include <json-c/json.h>
#include <stdbool.h>

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

/* Build the whole state object; caller owns it (json_object_put). m may be NULL (all 1). NULL on ENOMEM. */
json_object *state_build(const struct sm_telegram *t, const struct state_multipliers *m);

#endif
