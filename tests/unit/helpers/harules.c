/* harules.c — HOME_ASSISTANT.md §3.1 as a test table (see harules.h). Must never include the daemon's
 * discovery.c table: a mistake copied into both would pass unseen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harules.h"

struct ha_rule {
	const char *device_class;
	const char *units[16];        /* allowed units; "" = no unit allowed */
	const char *state_classes[5]; /* allowed state classes; empty list = none allowed */
};

static const struct ha_rule ha_rules[] = {
	{ "energy", { "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal" },
	  { "total", "total_increasing" } },
	{ "power", { "mW", "W", "kW", "MW", "GW", "TW" }, { "measurement" } },
	{ "apparent_power", { "mVA", "VA", "kVA" }, { "measurement" } },
	{ "reactive_power", { "mvar", "var", "kvar" }, { "measurement" } },
	{ "reactive_energy", { "varh", "kvarh" }, { "total", "total_increasing" } },
	{ "voltage", { "V", "mV", "\xce\xbcV", "kV", "MV" }, { "measurement" } },
	{ "current", { "A", "mA", "\xce\xbc" "A" }, { "measurement" } },
	{ "frequency", { "mHz", "Hz", "kHz", "MHz", "GHz" }, { "measurement" } },
	{ "power_factor", { "%", "" }, { "measurement" } },
	{ "gas", { "L", "m\xc2\xb3", "ft\xc2\xb3", "CCF", "MCF" }, { "total", "total_increasing" } },
	{ "water", { "L", "gal", "m\xc2\xb3", "ft\xc2\xb3", "CCF", "MCF" }, { "total", "total_increasing" } },
	{ "duration", { "d", "h", "min", "s", "ms", "\xce\xbcs" },
	  { "measurement", "measurement_angle", "total", "total_increasing" } },
	{ "timestamp", { "" }, { NULL } },
	{ "enum", { "" }, { NULL } },
};

const char *const ha_binary_classes[] = { "power", "plug", "running", NULL };

bool ha_listed(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n && l[i]; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

void ha_assert_valid(const char *what, const char *dc, const char *unit, const char *sc)
{
	static const char *const state_classes[] = { "measurement", "measurement_angle", "total", "total_increasing" };
	if (sc && !ha_listed(state_classes, 4, sc))
		fail_msg("%s: unknown state_class %s", what, sc);
	if (!dc)
		return;
	for (size_t i = 0; i < sizeof(ha_rules) / sizeof(ha_rules[0]); i++) {
		const struct ha_rule *r = &ha_rules[i];
		if (strcmp(r->device_class, dc) != 0)
			continue;
		if (!ha_listed(r->units, 16, unit ? unit : ""))
			fail_msg("%s: unit '%s' not allowed with device_class %s", what, unit ? unit : "(none)", dc);
		if (sc && !ha_listed(r->state_classes, 5, sc))
			fail_msg("%s: state_class %s not allowed with device_class %s", what, sc, dc);
		return;
	}
	fail_msg("%s: device_class %s is not one HA 2026.9 knows", what, dc);
}
