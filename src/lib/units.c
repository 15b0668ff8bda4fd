/* units.c — one spelling per unit, whatever the meter wrote (PROTOCOLS.md §1.4, §5.4).
 * The output spellings are part of the smartmeter-decode contract: Wh kWh W kW var kvar varh kvarh
 * VA kVA VAh kVAh V A Hz m3 GJ s ... Never invent a unit: unknown texts are passed through as-is
 * by the caller, unknown DLMS codes become "no unit". */
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const known_units[] = {
	"Wh", "kWh", "MWh", "W", "kW", "MW", "var", "kvar", "varh", "kvarh", "VA", "kVA", "VAh", "kVAh",
	"V", "kV", "A", "kA", "mA", "Hz", "kHz", "m3", "GJ", "MJ", "J", "s", "min", "h", "l", "%",
	"°C", "K", "bar", "kg", "m3/h",
};

const char *sm_unit_normalise(const char *s, size_t len)
{
	if (len == 0)
		return NULL;
	/* Exact spelling first: it is by far the common case. */
	for (size_t i = 0; i < sizeof(known_units) / sizeof(known_units[0]); i++)
		if (strlen(known_units[i]) == len && memcmp(known_units[i], s, len) == 0)
			return known_units[i];
	/* Then case-insensitively ("kVArh", "KWH", "VAr", "M3"). */
	for (size_t i = 0; i < sizeof(known_units) / sizeof(known_units[0]); i++)
		if (strlen(known_units[i]) == len && strncasecmp(known_units[i], s, len) == 0) {
			/* "MWh" vs "mWh" cannot be told apart by case; meters only send the former. */
			return known_units[i];
		}
	return NULL;
}

const char *sm_unit_from_dlms(uint8_t code)
{
	switch (code) {
	case 5: return "h";
	case 6: return "min";
	case 7: return "s";
	case 9: return "°C";
	case 13: return "m3";
	case 14: return "m3";   /* corrected volume */
	case 15: return "m3/h";
	case 16: return "m3/h";
	case 19: return "l";
	case 20: return "kg";
	case 24: return "bar";
	case 25: return "J";
	case 27: return "W";
	case 28: return "VA";
	case 29: return "var";
	case 30: return "Wh";
	case 31: return "VAh";
	case 32: return "varh";
	case 33: return "A";
	case 35: return "V";
	case 44: return "Hz";
	case 52: return "K";
	case 56: return "%";
	default: return NULL;
	}
}
