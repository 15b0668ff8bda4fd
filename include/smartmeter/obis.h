/* obis.h — what a known OBIS code means: one registry table shared by the daemon's friendly
 * state keys and Home Assistant discovery. Pure data, no I/O. */
#ifndef SMARTMETER_OBIS_H
#define SMARTMETER_OBIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#ifdef __cplusplus
extern "C" {
#endif

enum sm_ha_component {
	SM_HA_SENSOR = 0,
	SM_HA_BINARY_SENSOR,
};

/* How a reading of this code becomes a state value (sm_obis_state_value). */
enum sm_obis_kind {
	SM_OBIS_KIND_NUMBER = 0, /* number in ->unit (converted: kW -> W, Wh -> kWh ...); text digits parsed */
	SM_OBIS_KIND_TEXT,       /* text as the meter sent it (octets as lowercase hex), at most 255 bytes */
	SM_OBIS_KIND_HEXTEXT,    /* DSMR hex-encoded text ("4530..." -> "E0..") when it decodes to printable ASCII */
	SM_OBIS_KIND_TIMESTAMP,  /* ISO 8601 with offset; null when the meter gave no offset (HA rejects naive times) */
	SM_OBIS_KIND_SWITCH,     /* "ON" (1 / true = connected) or "OFF" (0 / 2 / false) */
	SM_OBIS_KIND_TARIFF,     /* "0002" / 2 / "T2" -> "T2" */
};

struct sm_obis_info {
	const char *key;            /* stable friendly snake_case key for the state topic, e.g. "energy_import_total";
	                             * unique in the registry (M-Bus channel n: "mbus<n>_...") */
	const char *name;           /* English entity name, e.g. "Energy import" */
	enum sm_ha_component component;
	const char *device_class;   /* HA device_class or NULL */
	const char *state_class;    /* "measurement", "total", "total_increasing" or NULL */
	const char *unit;           /* unit published on the state topic (values converted to it), or NULL.
	                             * Spelled as Home Assistant compares it (UTF-8 "m³"). NULL with KIND_NUMBER:
	                             * the number is published in the meter's own unit (sm_obis_ha_unit() of it). */
	int display_precision;      /* suggested_display_precision, -1 = none */
	bool diagnostic;            /* entity_category: diagnostic */
	bool enabled_by_default;
	const char *icon;           /* "mdi:..." or NULL */
	/* Added with the registry (additive): */
	enum sm_obis_kind kind;
	bool sub_device;            /* belongs to the M-Bus sub-meter on channel B, not to the electricity meter */
	bool medium_class;          /* device_class comes from the channel's medium (0-B:24.1.0), see sm_obis_mbus_medium() */
};

/* Registry entry for a code (F = 255 and B = 0/1 electricity channels matched as the registry
 * documents), or NULL when unknown. A code with F != 255 (a billing-period value) is unknown unless
 * the registry lists it with that F (SML's 1-0:96.50.1.1). */
const struct sm_obis_info *sm_obis_lookup(const uint8_t obis[6]);

/* The state-topic key of a code: the registry key or, for unknown codes,
 * "obis_A_B_C_D_E" ("_F" appended when F != 255). The daemon's state JSON and discovery's
 * value_template must both use this. Returns the length, 0 if out is too small. */
size_t sm_obis_state_key(const uint8_t obis[6], char *out, size_t outsz);
#define SM_OBIS_KEY_STRLEN 48

/* The OBIS slug that ends every unique_id: sm_obis_format() with every non-alphanumeric character
 * replaced by '_' ("1-0:1.8.0" -> "1_0_1_8_0"). Returns the length, 0 if out is too small. */
size_t sm_obis_slug(const uint8_t obis[6], char *out, size_t outsz);

/* Entity name: the registry name, or the OBIS code itself for unknown codes. */
size_t sm_obis_name(const uint8_t obis[6], char *out, size_t outsz);
#define SM_OBIS_NAME_STRLEN 64

/* The Home Assistant spelling of a decoder unit ("m3" -> "m³", "l" -> "L"); other units unchanged.
 * NULL stays NULL. */
const char *sm_obis_ha_unit(const char *unit);

/* A reading's value as published on the state topic. */
enum sm_obis_state_type {
	SM_OBIS_STATE_NULL = 0,  /* JSON null: HA shows "unknown" */
	SM_OBIS_STATE_NUMBER,
	SM_OBIS_STATE_TEXT,
};
#define SM_OBIS_STATE_TEXT_MAX 255 /* HA drops text states longer than 255 characters */
struct sm_obis_state {
	enum sm_obis_state_type type;
	struct sm_number num;                  /* NUMBER: exact, already in info->unit */
	char text[SM_OBIS_STATE_TEXT_MAX + 1]; /* TEXT: NUL-terminated, valid UTF-8 when the input was */
};

/* Convert a value for the state topic following info->kind and info->unit. info may be NULL
 * (unknown code: numbers as sent, everything else as text). A number in a unit that cannot be
 * converted to info->unit becomes null rather than a wrong number. Buffers/profiles are null. */
void sm_obis_state_value(const struct sm_obis_info *info, const struct sm_value *v, struct sm_obis_state *ret);

/* The medium of an M-Bus channel from its device type (0-n:24.1.0, EN 13757-3 medium byte). */
struct sm_mbus_medium {
	const char *name;           /* entity name prefix, e.g. "Gas" */
	const char *device_name;    /* "Gas meter" */
	const char *device_class;   /* for the channel's register values: "gas", "water", "energy" or NULL */
	const char *icon;           /* "mdi:..." or NULL */
};
/* Never NULL: an unknown type gives a generic "M-Bus device" entry without device_class. */
const struct sm_mbus_medium *sm_obis_mbus_medium(unsigned device_type);

/* Parse a decimal number from text ("00013", "-1.5", "+0.998"); false if it is not one. */
bool sm_number_parse(const char *s, size_t len, struct sm_number *ret);

/* Iterate the registry (tests, documentation): entry i or NULL past the end, with the code it
 * matches in ret_obis (B as written in the table; BM_ELEC entries also match B = 1; F = 255 or the
 * entry's own F). */
const struct sm_obis_info *sm_obis_registry(size_t i, uint8_t ret_obis[6]);

#ifdef __cplusplus
}
#endif
#endif
