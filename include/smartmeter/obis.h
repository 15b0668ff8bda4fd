/* obis.h — what a known OBIS code means: one registry table shared by the daemon's friendly
 * state keys and Home Assistant discovery. Pure data, no I/O. */
#ifndef SMARTMETER_OBIS_H
#define SMARTMETER_OBIS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sm_ha_component {
	SM_HA_SENSOR = 0,
	SM_HA_BINARY_SENSOR,
};

struct sm_obis_info {
	const char *key;            /* stable friendly snake_case key for the state topic, e.g. "energy_import_total" */
	const char *name;           /* English entity name, e.g. "Energy import" */
	enum sm_ha_component component;
	const char *device_class;   /* HA device_class or NULL */
	const char *state_class;    /* "measurement", "total", "total_increasing" or NULL */
	const char *unit;           /* unit published on the state topic (values converted to it), or NULL */
	int display_precision;      /* suggested_display_precision, -1 = none */
	bool diagnostic;            /* entity_category: diagnostic */
	bool enabled_by_default;
	const char *icon;           /* "mdi:..." or NULL */
};

/* Registry entry for a code (F = 255 and B = 0/1 electricity channels matched as the registry
 * documents), or NULL when unknown. */
const struct sm_obis_info *sm_obis_lookup(const uint8_t obis[6]);

#ifdef __cplusplus
}
#endif
#endif
