/* obis.c — the OBIS registry: one table saying what each known code is (friendly state key, English
 * name, Home Assistant component / device_class / state_class / unit) and how its value is published.
 * Shared by the daemon's state topic and HA discovery so that a key can never differ between the two.
 * Pure data and conversions: must never do I/O, log, allocate or keep state.
 *
 * OBIS structure (PROTOCOLS.md §7.1):   A - B : C . D . E . F
 *                                        │   │   │   │   │   └ 255 = current value (DSMR omits it)
 *                                        │   │   │   │   └ tariff / phase detail
 *                                        │   │   │   └ processing (7 instantaneous, 8 energy register)
 *                                        │   │   └ quantity (1 P+, 2 P-, 32 voltage L1 ...)
 *                                        │   └ channel (electricity 0 or 1; M-Bus 1..n)
 *                                        └ medium (0 abstract, 1 electricity)
 * Matching follows §7.1: (A, C, D, E) with B = 0/1 the same electricity channel (Kamstrup and L+G send
 * 1-1:...), F must be 255 (unless the entry names its F); for A = 0 service codes B is the M-Bus (or relay) channel. The values and
 * HA classes follow §7.2 and HOME_ASSISTANT.md §3/§5.7. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smartmeter/decoder.h"
#include "smartmeter/obis.h"

/* How B must look for an entry to match. */
enum bmatch {
	BM_EXACT = 0, /* B == entry.b */
	BM_ELEC,      /* B is 0 or 1: one meter channel written two ways */
	BM_SAGSWELL,  /* A = 1, B = 0/1, or A = 0, B = 0: the LU spec's table prints 0-0:32.32.0 (§1.8) */
};

struct entry {
	uint8_t a, b, c, d, e;
	uint8_t bm;
	struct sm_obis_info info;
	bool has_f;   /* matches only this F (SML's 1-0:96.50.1.1); otherwise F must be 255 */
	uint8_t f;
};

/* Entry shapes. Precisions follow HOME_ASSISTANT.md §2.1 (kWh 3, W 0, V 1, A 2, Hz 2, PF 3). */
#define ENERGY(k, n) { .key = k, .name = n, .device_class = "energy", .state_class = "total_increasing", \
		.unit = "kWh", .display_precision = 3, .enabled_by_default = true }
#define ENERGY_OFF(k, n) { .key = k, .name = n, .device_class = "energy", .state_class = "total_increasing", \
		.unit = "kWh", .display_precision = 3, .enabled_by_default = false }
/* reactive_energy is a device class only since HA 2025.6; discovery drops it unless configured. */
#define RENERGY(k, n) { .key = k, .name = n, .device_class = "reactive_energy", .state_class = "total_increasing", \
		.unit = "kvarh", .display_precision = 3, .enabled_by_default = true }
#define RENERGY_OFF(k, n) { .key = k, .name = n, .device_class = "reactive_energy", \
		.state_class = "total_increasing", .unit = "kvarh", .display_precision = 3, .enabled_by_default = false }
/* Apparent energy has no HA device class (§7.2). */
#define SENERGY(k, n) { .key = k, .name = n, .state_class = "total_increasing", .unit = "kVAh", \
		.display_precision = 3, .enabled_by_default = true, .icon = "mdi:lightning-bolt-outline" }
#define POWER(k, n) { .key = k, .name = n, .device_class = "power", .state_class = "measurement", .unit = "W", \
		.display_precision = 0, .enabled_by_default = true }
#define RPOWER(k, n) { .key = k, .name = n, .device_class = "reactive_power", .state_class = "measurement", \
		.unit = "var", .display_precision = 0, .enabled_by_default = true }
#define RPOWER_OFF(k, n) { .key = k, .name = n, .device_class = "reactive_power", .state_class = "measurement", \
		.unit = "var", .display_precision = 0, .enabled_by_default = false }
#define SPOWER(k, n) { .key = k, .name = n, .device_class = "apparent_power", .state_class = "measurement", \
		.unit = "VA", .display_precision = 0, .enabled_by_default = true }
#define CURRENT(k, n) { .key = k, .name = n, .device_class = "current", .state_class = "measurement", .unit = "A", \
		.display_precision = 2, .enabled_by_default = true }
#define VOLTAGE(k, n) { .key = k, .name = n, .device_class = "voltage", .state_class = "measurement", .unit = "V", \
		.display_precision = 1, .enabled_by_default = true }
#define PF(k, n) { .key = k, .name = n, .device_class = "power_factor", .state_class = "measurement", \
		.display_precision = 3, .enabled_by_default = true }
#define PF_OFF(k, n) { .key = k, .name = n, .device_class = "power_factor", .state_class = "measurement", \
		.display_precision = 3, .enabled_by_default = false }
/* Event counters: no unit, never decrease (HOME_ASSISTANT.md §5.6). */
#define COUNTER(k, n, ic) { .key = k, .name = n, .state_class = "total_increasing", .display_precision = 0, \
		.diagnostic = true, .enabled_by_default = true, .icon = ic }
#define COUNTER_OFF(k, n, ic) { .key = k, .name = n, .state_class = "total_increasing", .display_precision = 0, \
		.diagnostic = true, .enabled_by_default = false, .icon = ic }
/* Identifiers and versions: diagnostic text (§5.2). */
#define IDENT(k, n, kd, en) { .key = k, .name = n, .display_precision = -1, .diagnostic = true, \
		.enabled_by_default = en, .icon = "mdi:identifier", .kind = kd }
#define VERSION(k, n) { .key = k, .name = n, .display_precision = -1, .diagnostic = true, \
		.enabled_by_default = false, .icon = "mdi:information-outline", .kind = SM_OBIS_KIND_TEXT }

/* DSMR numbers M-Bus channels and relays 1..4 (§1.6): one entry per channel so that every key is final
 * (consumers may use ->key directly); a channel beyond 4 is published under its OBIS slug. */
#define RELAY(ch) { 0, ch, 96, 3, 10, BM_EXACT, { .key = "relay_" #ch, .name = "Relay " #ch, \
		.component = SM_HA_BINARY_SENSOR, .device_class = "power", .display_precision = -1, \
		.enabled_by_default = true, .kind = SM_OBIS_KIND_SWITCH } }
#define MBUS(ch, c, d, e, k, ...) { 0, ch, c, d, e, BM_EXACT, { .key = "mbus" #ch "_" k, .sub_device = true, \
		__VA_ARGS__ } }
#define MBUS4(c, d, e, k, ...) MBUS(1, c, d, e, k, __VA_ARGS__), MBUS(2, c, d, e, k, __VA_ARGS__), \
		MBUS(3, c, d, e, k, __VA_ARGS__), MBUS(4, c, d, e, k, __VA_ARGS__)

static const struct entry registry[] = {
	/* ---- active energy registers (A+ import, A- export), §7.2 ---- */
	{ 1, 0, 1, 8, 0, BM_ELEC, ENERGY("energy_import_total", "Energy import") },
	{ 1, 0, 1, 8, 1, BM_ELEC, ENERGY("energy_import_t1", "Energy import tariff 1") },
	{ 1, 0, 1, 8, 2, BM_ELEC, ENERGY("energy_import_t2", "Energy import tariff 2") },
	{ 1, 0, 1, 8, 3, BM_ELEC, ENERGY("energy_import_t3", "Energy import tariff 3") },
	{ 1, 0, 1, 8, 4, BM_ELEC, ENERGY("energy_import_t4", "Energy import tariff 4") },
	{ 1, 0, 2, 8, 0, BM_ELEC, ENERGY("energy_export_total", "Energy export") },
	{ 1, 0, 2, 8, 1, BM_ELEC, ENERGY("energy_export_t1", "Energy export tariff 1") },
	{ 1, 0, 2, 8, 2, BM_ELEC, ENERGY("energy_export_t2", "Energy export tariff 2") },
	{ 1, 0, 2, 8, 3, BM_ELEC, ENERGY("energy_export_t3", "Energy export tariff 3") },
	{ 1, 0, 2, 8, 4, BM_ELEC, ENERGY("energy_export_t4", "Energy export tariff 4") },
	{ 1, 0, 15, 8, 0, BM_ELEC, ENERGY("energy_absolute_total", "Energy absolute sum") },
	/* Net register may go down: "total", never "total_increasing" (HOME_ASSISTANT.md §3.3). */
	{ 1, 0, 16, 8, 0, BM_ELEC, { .key = "energy_net_total", .name = "Energy net", .device_class = "energy",
		.state_class = "total", .unit = "kWh", .display_precision = 3, .enabled_by_default = true } },
	{ 1, 0, 21, 8, 0, BM_ELEC, ENERGY_OFF("energy_import_l1", "Energy import L1") },
	{ 1, 0, 41, 8, 0, BM_ELEC, ENERGY_OFF("energy_import_l2", "Energy import L2") },
	{ 1, 0, 61, 8, 0, BM_ELEC, ENERGY_OFF("energy_import_l3", "Energy import L3") },
	{ 1, 0, 22, 8, 0, BM_ELEC, ENERGY_OFF("energy_export_l1", "Energy export L1") },
	{ 1, 0, 42, 8, 0, BM_ELEC, ENERGY_OFF("energy_export_l2", "Energy export L2") },
	{ 1, 0, 62, 8, 0, BM_ELEC, ENERGY_OFF("energy_export_l3", "Energy export L3") },

	/* ---- reactive energy R+ (QI+QII), R- (QIII+QIV), per quadrant ---- */
	{ 1, 0, 3, 8, 0, BM_ELEC, RENERGY("reactive_energy_import_total", "Reactive energy import") },
	{ 1, 0, 3, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_import_t1", "Reactive energy import tariff 1") },
	{ 1, 0, 3, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_import_t2", "Reactive energy import tariff 2") },
	{ 1, 0, 3, 8, 3, BM_ELEC, RENERGY_OFF("reactive_energy_import_t3", "Reactive energy import tariff 3") },
	{ 1, 0, 3, 8, 4, BM_ELEC, RENERGY_OFF("reactive_energy_import_t4", "Reactive energy import tariff 4") },
	{ 1, 0, 4, 8, 0, BM_ELEC, RENERGY("reactive_energy_export_total", "Reactive energy export") },
	{ 1, 0, 4, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_export_t1", "Reactive energy export tariff 1") },
	{ 1, 0, 4, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_export_t2", "Reactive energy export tariff 2") },
	{ 1, 0, 4, 8, 3, BM_ELEC, RENERGY_OFF("reactive_energy_export_t3", "Reactive energy export tariff 3") },
	{ 1, 0, 4, 8, 4, BM_ELEC, RENERGY_OFF("reactive_energy_export_t4", "Reactive energy export tariff 4") },
	{ 1, 0, 5, 8, 0, BM_ELEC, RENERGY_OFF("reactive_energy_q1_total", "Reactive energy QI") },
	{ 1, 0, 5, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_q1_t1", "Reactive energy QI tariff 1") },
	{ 1, 0, 5, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_q1_t2", "Reactive energy QI tariff 2") },
	{ 1, 0, 6, 8, 0, BM_ELEC, RENERGY_OFF("reactive_energy_q2_total", "Reactive energy QII") },
	{ 1, 0, 6, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_q2_t1", "Reactive energy QII tariff 1") },
	{ 1, 0, 6, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_q2_t2", "Reactive energy QII tariff 2") },
	{ 1, 0, 7, 8, 0, BM_ELEC, RENERGY_OFF("reactive_energy_q3_total", "Reactive energy QIII") },
	{ 1, 0, 7, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_q3_t1", "Reactive energy QIII tariff 1") },
	{ 1, 0, 7, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_q3_t2", "Reactive energy QIII tariff 2") },
	{ 1, 0, 8, 8, 0, BM_ELEC, RENERGY_OFF("reactive_energy_q4_total", "Reactive energy QIV") },
	{ 1, 0, 8, 8, 1, BM_ELEC, RENERGY_OFF("reactive_energy_q4_t1", "Reactive energy QIV tariff 1") },
	{ 1, 0, 8, 8, 2, BM_ELEC, RENERGY_OFF("reactive_energy_q4_t2", "Reactive energy QIV tariff 2") },
	{ 1, 0, 9, 8, 0, BM_ELEC, SENERGY("apparent_energy_import_total", "Apparent energy import") },
	{ 1, 0, 10, 8, 0, BM_ELEC, SENERGY("apparent_energy_export_total", "Apparent energy export") },

	/* ---- active power ---- */
	{ 1, 0, 1, 7, 0, BM_ELEC, POWER("power_import", "Power import") },
	{ 1, 0, 2, 7, 0, BM_ELEC, POWER("power_export", "Power export") },
	{ 1, 0, 15, 7, 0, BM_ELEC, POWER("power_absolute", "Power absolute sum") },
	/* Signed, import positive, export negative (SML two-way meters send only this one): HA's power
	 * device class with state_class measurement takes negative values; fits HA ≥ 2025.12 grid power. */
	{ 1, 0, 16, 7, 0, BM_ELEC, POWER("power_net", "Power net") },
	/* Per-phase signed power as German SML meters send it (EMH mME40, EasyMeter Q3A, Holley). */
	{ 1, 0, 36, 7, 0, BM_ELEC, POWER("power_net_l1", "Power net L1") },
	{ 1, 0, 56, 7, 0, BM_ELEC, POWER("power_net_l2", "Power net L2") },
	{ 1, 0, 76, 7, 0, BM_ELEC, POWER("power_net_l3", "Power net L3") },
	{ 1, 0, 21, 7, 0, BM_ELEC, POWER("power_import_l1", "Power import L1") },
	{ 1, 0, 41, 7, 0, BM_ELEC, POWER("power_import_l2", "Power import L2") },
	{ 1, 0, 61, 7, 0, BM_ELEC, POWER("power_import_l3", "Power import L3") },
	{ 1, 0, 22, 7, 0, BM_ELEC, POWER("power_export_l1", "Power export L1") },
	{ 1, 0, 42, 7, 0, BM_ELEC, POWER("power_export_l2", "Power export L2") },
	{ 1, 0, 62, 7, 0, BM_ELEC, POWER("power_export_l3", "Power export L3") },
	/* Demand registers (BE capacity tariff 1.4.0 / 1.6.0). */
	{ 1, 0, 1, 4, 0, BM_ELEC, POWER("demand_import_average", "Average demand import") },
	{ 1, 0, 2, 4, 0, BM_ELEC, POWER("demand_export_average", "Average demand export") },
	{ 1, 0, 1, 6, 0, BM_ELEC, POWER("demand_import_peak", "Peak demand import this month") },
	{ 1, 0, 2, 6, 0, BM_ELEC, POWER("demand_export_peak", "Peak demand export this month") },

	/* ---- reactive and apparent power ---- */
	{ 1, 0, 3, 7, 0, BM_ELEC, RPOWER("reactive_power_import", "Reactive power import") },
	{ 1, 0, 4, 7, 0, BM_ELEC, RPOWER("reactive_power_export", "Reactive power export") },
	{ 1, 0, 5, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_q1", "Reactive power QI") },
	{ 1, 0, 6, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_q2", "Reactive power QII") },
	{ 1, 0, 7, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_q3", "Reactive power QIII") },
	{ 1, 0, 8, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_q4", "Reactive power QIV") },
	{ 1, 0, 23, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_import_l1", "Reactive power import L1") },
	{ 1, 0, 43, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_import_l2", "Reactive power import L2") },
	{ 1, 0, 63, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_import_l3", "Reactive power import L3") },
	{ 1, 0, 24, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_export_l1", "Reactive power export L1") },
	{ 1, 0, 44, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_export_l2", "Reactive power export L2") },
	{ 1, 0, 64, 7, 0, BM_ELEC, RPOWER_OFF("reactive_power_export_l3", "Reactive power export L3") },
	{ 1, 0, 9, 7, 0, BM_ELEC, SPOWER("apparent_power_import", "Apparent power import") },
	{ 1, 0, 10, 7, 0, BM_ELEC, SPOWER("apparent_power_export", "Apparent power export") },
	{ 1, 0, 29, 7, 0, BM_ELEC, SPOWER("apparent_power_import_l1", "Apparent power import L1") },
	{ 1, 0, 49, 7, 0, BM_ELEC, SPOWER("apparent_power_import_l2", "Apparent power import L2") },
	{ 1, 0, 69, 7, 0, BM_ELEC, SPOWER("apparent_power_import_l3", "Apparent power import L3") },
	{ 1, 0, 30, 7, 0, BM_ELEC, SPOWER("apparent_power_export_l1", "Apparent power export L1") },
	{ 1, 0, 50, 7, 0, BM_ELEC, SPOWER("apparent_power_export_l2", "Apparent power export L2") },
	{ 1, 0, 70, 7, 0, BM_ELEC, SPOWER("apparent_power_export_l3", "Apparent power export L3") },

	/* ---- current, voltage, power factor, frequency ---- */
	{ 1, 0, 31, 7, 0, BM_ELEC, CURRENT("current_l1", "Current L1") },
	{ 1, 0, 51, 7, 0, BM_ELEC, CURRENT("current_l2", "Current L2") },
	{ 1, 0, 71, 7, 0, BM_ELEC, CURRENT("current_l3", "Current L3") },
	{ 1, 0, 11, 7, 0, BM_ELEC, CURRENT("current", "Current") },
	{ 1, 0, 90, 7, 0, BM_ELEC, CURRENT("current_sum", "Current sum") },
	{ 1, 0, 91, 7, 0, BM_ELEC, CURRENT("current_neutral", "Current neutral") },
	{ 1, 0, 32, 7, 0, BM_ELEC, VOLTAGE("voltage_l1", "Voltage L1") },
	{ 1, 0, 52, 7, 0, BM_ELEC, VOLTAGE("voltage_l2", "Voltage L2") },
	{ 1, 0, 72, 7, 0, BM_ELEC, VOLTAGE("voltage_l3", "Voltage L3") },
	{ 1, 0, 12, 7, 0, BM_ELEC, VOLTAGE("voltage", "Voltage") },
	{ 1, 0, 32, 24, 0, BM_ELEC, VOLTAGE("voltage_average_l1", "Average voltage L1") },
	{ 1, 0, 52, 24, 0, BM_ELEC, VOLTAGE("voltage_average_l2", "Average voltage L2") },
	{ 1, 0, 72, 24, 0, BM_ELEC, VOLTAGE("voltage_average_l3", "Average voltage L3") },
	{ 1, 0, 13, 7, 0, BM_ELEC, PF("power_factor", "Power factor") },
	{ 1, 0, 33, 7, 0, BM_ELEC, PF_OFF("power_factor_l1", "Power factor L1") },
	{ 1, 0, 53, 7, 0, BM_ELEC, PF_OFF("power_factor_l2", "Power factor L2") },
	{ 1, 0, 73, 7, 0, BM_ELEC, PF_OFF("power_factor_l3", "Power factor L3") },
	{ 1, 0, 14, 7, 0, BM_ELEC, { .key = "frequency", .name = "Frequency", .device_class = "frequency",
		.state_class = "measurement", .unit = "Hz", .display_precision = 2, .enabled_by_default = true } },

	/* ---- limits: fuse supervision (BE/HU/LU) and the limiter, whose unit varies (kW, A, kVA): published
	 * in the meter's unit without device class, so any unit stays valid for HA (§1.7) ---- */
	{ 1, 0, 31, 4, 0, BM_ELEC, { .key = "fuse_threshold_l1", .name = "Fuse threshold L1", .device_class = "current",
		.unit = "A", .display_precision = 0, .diagnostic = true, .enabled_by_default = true } },
	{ 1, 0, 51, 4, 0, BM_ELEC, { .key = "fuse_threshold_l2", .name = "Fuse threshold L2", .device_class = "current",
		.unit = "A", .display_precision = 0, .diagnostic = true, .enabled_by_default = true } },
	{ 1, 0, 71, 4, 0, BM_ELEC, { .key = "fuse_threshold_l3", .name = "Fuse threshold L3", .device_class = "current",
		.unit = "A", .display_precision = 0, .diagnostic = true, .enabled_by_default = true } },
	{ 0, 0, 17, 0, 0, BM_EXACT, { .key = "limiter_threshold", .name = "Limiter threshold", .display_precision = -1,
		.diagnostic = true, .enabled_by_default = true, .icon = "mdi:speedometer" } },

	/* ---- quality counters (DSMR 5 §6.12) ---- */
	{ 0, 0, 96, 7, 21, BM_EXACT, COUNTER("power_failures", "Power failures", "mdi:flash-off") },
	{ 0, 0, 96, 7, 9, BM_EXACT, COUNTER("long_power_failures", "Long power failures", "mdi:flash-off") },
	{ 1, 0, 32, 32, 0, BM_SAGSWELL, COUNTER_OFF("voltage_sags_l1", "Voltage sags L1", "mdi:sine-wave") },
	{ 1, 0, 52, 32, 0, BM_SAGSWELL, COUNTER_OFF("voltage_sags_l2", "Voltage sags L2", "mdi:sine-wave") },
	{ 1, 0, 72, 32, 0, BM_SAGSWELL, COUNTER_OFF("voltage_sags_l3", "Voltage sags L3", "mdi:sine-wave") },
	{ 1, 0, 32, 36, 0, BM_SAGSWELL, COUNTER_OFF("voltage_swells_l1", "Voltage swells L1", "mdi:sine-wave") },
	{ 1, 0, 52, 36, 0, BM_SAGSWELL, COUNTER_OFF("voltage_swells_l2", "Voltage swells L2", "mdi:sine-wave") },
	{ 1, 0, 72, 36, 0, BM_SAGSWELL, COUNTER_OFF("voltage_swells_l3", "Voltage swells L3", "mdi:sine-wave") },

	/* ---- state: tariff, breaker, relays ---- */
	{ 0, 0, 96, 14, 0, BM_EXACT, { .key = "tariff", .name = "Tariff", .display_precision = -1,
		.enabled_by_default = true, .icon = "mdi:clock-outline", .kind = SM_OBIS_KIND_TARIFF } },
	/* Breaker 0/1/2 (disconnected / connected / ready for reconnection): ON only when connected. */
	{ 0, 0, 96, 3, 10, BM_EXACT, { .key = "breaker", .name = "Breaker", .component = SM_HA_BINARY_SENSOR,
		.device_class = "power", .display_precision = -1, .enabled_by_default = true,
		.kind = SM_OBIS_KIND_SWITCH } },
	/* LU and CZ meters report relays R1..R4 on 0-n:96.3.10. */
	RELAY(1), RELAY(2), RELAY(3), RELAY(4),

	/* ---- time ---- */
	/* Aidon sends the clock as 0-1:1.0.0, hence BM_ELEC. Changes every frame: off by default (§5.4). */
	{ 0, 0, 1, 0, 0, BM_ELEC, { .key = "meter_time", .name = "Meter time", .device_class = "timestamp",
		.display_precision = -1, .diagnostic = true, .enabled_by_default = false,
		.kind = SM_OBIS_KIND_TIMESTAMP } },
	{ 1, 0, 0, 9, 1, BM_ELEC, { .key = "meter_local_time", .name = "Meter local time", .display_precision = -1,
		.diagnostic = true, .enabled_by_default = false, .icon = "mdi:clock-outline",
		.kind = SM_OBIS_KIND_TEXT } },
	{ 1, 0, 0, 9, 2, BM_ELEC, { .key = "meter_local_date", .name = "Meter local date", .display_precision = -1,
		.diagnostic = true, .enabled_by_default = false, .icon = "mdi:calendar",
		.kind = SM_OBIS_KIND_TEXT } },

	/* ---- identifiers, versions, messages (diagnostic, §5.2) ---- */
	{ 0, 0, 96, 1, 0, BM_EXACT, IDENT("serial_number", "Serial number", SM_OBIS_KIND_HEXTEXT, true) },
	{ 0, 0, 96, 1, 1, BM_EXACT, IDENT("equipment_id", "Equipment identifier", SM_OBIS_KIND_HEXTEXT, true) },
	{ 0, 0, 96, 1, 255, BM_EXACT, IDENT("device_serial", "Device serial number", SM_OBIS_KIND_TEXT, true) },
	{ 0, 0, 42, 0, 0, BM_EXACT, IDENT("logical_device_name", "Logical device name", SM_OBIS_KIND_HEXTEXT, false) },
	{ 1, 0, 0, 0, 0, BM_ELEC, IDENT("device_address", "Device address", SM_OBIS_KIND_TEXT, false) },
	{ 1, 0, 0, 0, 1, BM_ELEC, IDENT("meter_number", "Meter number", SM_OBIS_KIND_TEXT, true) },
	{ 1, 0, 0, 0, 5, BM_ELEC, IDENT("meter_id", "Meter ID", SM_OBIS_KIND_TEXT, true) },
	{ 0, 0, 96, 1, 7, BM_EXACT, IDENT("meter_type", "Meter type", SM_OBIS_KIND_TEXT, true) },
	{ 1, 0, 96, 1, 1, BM_ELEC, IDENT("meter_model", "Meter model", SM_OBIS_KIND_TEXT, true) },
	/* SML ids (SML.md): server id (1-0:0.0.9 older, 1-0:96.1.0 newer meters), the FLAG manufacturer id
	 * (129-129:199.130.3 older, 1-0:96.50.1.1 newer), the public key of signing meters. Octet strings:
	 * printable ones as text, others as lowercase hex. */
	{ 1, 0, 0, 0, 9, BM_ELEC, IDENT("device_id", "Device ID", SM_OBIS_KIND_TEXT, true) },
	{ 1, 0, 96, 1, 0, BM_ELEC, IDENT("server_id", "Server ID", SM_OBIS_KIND_TEXT, true) },
	{ 129, 129, 199, 130, 3, BM_EXACT, IDENT("manufacturer", "Manufacturer", SM_OBIS_KIND_TEXT, false) },
	{ 1, 0, 96, 50, 1, BM_ELEC, IDENT("manufacturer_id", "Manufacturer", SM_OBIS_KIND_TEXT, false), true, 1 },
	{ 129, 129, 199, 130, 5, BM_EXACT, IDENT("public_key", "Public key", SM_OBIS_KIND_TEXT, false) },
	/* Holley writes its firmware version as 1-0:0.2.0.0. */
	{ 1, 0, 0, 2, 0, BM_ELEC, VERSION("firmware_version_0", "Firmware version"), true, 0 },
	/* The SML status word (operating state bits, e.g. Holley 0x1c0104): a number, not a measurement. */
	{ 1, 0, 96, 5, 0, BM_ELEC, { .key = "status_word", .name = "Status word", .display_precision = 0,
		.diagnostic = true, .enabled_by_default = false, .icon = "mdi:alert-circle-outline" } },
	{ 1, 3, 0, 2, 8, BM_EXACT, VERSION("dsmr_version", "DSMR version") },
	{ 0, 0, 96, 1, 4, BM_EXACT, VERSION("version_info", "Version information") },
	{ 1, 0, 0, 2, 129, BM_ELEC, VERSION("list_version", "List version") },
	{ 1, 0, 0, 2, 0, BM_ELEC, VERSION("firmware_version", "Firmware version") },
	{ 1, 0, 0, 2, 8, BM_ELEC, VERSION("firmware_signature", "Firmware signature") },
	{ 0, 0, 97, 97, 0, BM_EXACT, { .key = "error_register", .name = "Error register", .display_precision = -1,
		.diagnostic = true, .enabled_by_default = false, .icon = "mdi:alert-circle-outline",
		.kind = SM_OBIS_KIND_TEXT } },
	{ 0, 0, 96, 13, 0, BM_EXACT, { .key = "message", .name = "Message", .display_precision = -1,
		.enabled_by_default = true, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },
	{ 0, 0, 96, 13, 1, BM_EXACT, { .key = "message_code", .name = "Message code", .display_precision = -1,
		.enabled_by_default = false, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },
	{ 0, 0, 96, 13, 2, BM_EXACT, { .key = "message_2", .name = "Message 2", .display_precision = -1,
		.enabled_by_default = false, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },
	{ 0, 0, 96, 13, 3, BM_EXACT, { .key = "message_3", .name = "Message 3", .display_precision = -1,
		.enabled_by_default = false, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },
	{ 0, 0, 96, 13, 4, BM_EXACT, { .key = "message_4", .name = "Message 4", .display_precision = -1,
		.enabled_by_default = false, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },
	{ 0, 0, 96, 13, 5, BM_EXACT, { .key = "message_5", .name = "Message 5", .display_precision = -1,
		.enabled_by_default = false, .icon = "mdi:message-text-outline", .kind = SM_OBIS_KIND_HEXTEXT } },

	/* ---- M-Bus sub-meters on channel n (DSMR 0-n:24.x, §1.5/§1.6): gas / water / heat, the medium
	 * (device type 0-n:24.1.0) picks the device class; values keep the meter's unit (m3, GJ, kWh) ---- */
	MBUS4(24, 2, 1, "total", .name = "Total", .state_class = "total_increasing", .display_precision = 3,
	      .enabled_by_default = true, .medium_class = true),
	/* BE gas: not temperature corrected. */
	MBUS4(24, 2, 3, "total_uncorrected", .name = "Total (not corrected)", .state_class = "total_increasing",
	      .display_precision = 3, .enabled_by_default = true, .medium_class = true),
	/* DSMR 2.2/3.0 hourly profile value. */
	MBUS4(24, 3, 0, "hourly_total", .name = "Total (hourly)", .state_class = "total_increasing",
	      .display_precision = 3, .enabled_by_default = true, .medium_class = true),
	MBUS4(24, 1, 0, "device_type", .name = "Device type", .display_precision = -1, .diagnostic = true,
	      .enabled_by_default = false, .icon = "mdi:information-outline", .kind = SM_OBIS_KIND_TEXT),
	MBUS4(24, 4, 0, "valve", .name = "Valve position", .display_precision = -1, .diagnostic = true,
	      .enabled_by_default = true, .icon = "mdi:valve", .kind = SM_OBIS_KIND_TEXT),
	MBUS4(96, 1, 0, "serial_number", .name = "Serial number", .display_precision = -1, .diagnostic = true,
	      .enabled_by_default = true, .icon = "mdi:identifier", .kind = SM_OBIS_KIND_HEXTEXT),
	/* BE puts the M-Bus equipment id on 96.1.1 instead (§1.8). */
	MBUS4(96, 1, 1, "equipment_id", .name = "Equipment identifier", .display_precision = -1, .diagnostic = true,
	      .enabled_by_default = true, .icon = "mdi:identifier", .kind = SM_OBIS_KIND_HEXTEXT),
};

#define NREGISTRY (sizeof(registry) / sizeof(registry[0]))

static bool entry_matches(const struct entry *en, const uint8_t o[6])
{
	if (o[5] != (en->has_f ? en->f : 255) || o[2] != en->c || o[3] != en->d || o[4] != en->e)
		return false;
	switch ((enum bmatch)en->bm) {
	case BM_EXACT:
		return o[0] == en->a && o[1] == en->b;
	case BM_ELEC:
		return o[0] == en->a && o[1] <= 1;
	case BM_SAGSWELL:
		return (o[0] == 1 && o[1] <= 1) || (o[0] == 0 && o[1] == 0);
	}
	return false;
}

/* The registry's order is its reading order (and the first match wins), so it is not sorted in the
 * source. Lookups (about 80 per telegram in the daemon) bisect an index sorted by (C, D, E, position)
 * instead: every entry requires C, D and E exactly, so the first match among the run with the code's
 * (C, D, E) is the first match of the whole table. The index is the library's only static state: built
 * once (pthread_once), read-only afterwards, derived from const data. */
static uint16_t by_cde[NREGISTRY];
static pthread_once_t by_cde_once = PTHREAD_ONCE_INIT;

static uint32_t cde_of(const struct entry *en)
{
	return (uint32_t)en->c << 16 | (uint32_t)en->d << 8 | en->e;
}

static void build_index(void)
{
	/* Insertion sort of ~200 entries, once: stable, so equal (C, D, E) keep table order. */
	for (size_t i = 0; i < NREGISTRY; i++) {
		size_t j = i;
		while (j > 0 && cde_of(&registry[by_cde[j - 1]]) > cde_of(&registry[i])) {
			by_cde[j] = by_cde[j - 1];
			j--;
		}
		by_cde[j] = (uint16_t)i;
	}
}

static const struct entry *find(const uint8_t obis[6])
{
	pthread_once(&by_cde_once, build_index);
	uint32_t key = (uint32_t)obis[2] << 16 | (uint32_t)obis[3] << 8 | obis[4];
	size_t lo = 0, hi = NREGISTRY;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cde_of(&registry[by_cde[mid]]) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < NREGISTRY && cde_of(&registry[by_cde[lo]]) == key; lo++)
		if (entry_matches(&registry[by_cde[lo]], obis))
			return &registry[by_cde[lo]];
	return NULL;
}

const struct sm_obis_info *sm_obis_lookup(const uint8_t obis[6])
{
	const struct entry *en = find(obis);
	return en ? &en->info : NULL;
}

const struct sm_obis_info *sm_obis_registry(size_t i, uint8_t ret_obis[6])
{
	if (i >= NREGISTRY)
		return NULL;
	const struct entry *en = &registry[i];
	ret_obis[0] = en->a;
	ret_obis[1] = en->b;
	ret_obis[2] = en->c;
	ret_obis[3] = en->d;
	ret_obis[4] = en->e;
	ret_obis[5] = en->has_f ? en->f : 255;
	return &en->info;
}

static size_t copy(const char *src, char *out, size_t outsz)
{
	size_t n = strlen(src);
	if (n >= outsz) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, src, n + 1);
	return n;
}

size_t sm_obis_slug(const uint8_t obis[6], char *out, size_t outsz)
{
	size_t n = sm_obis_format(obis, out, outsz);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)out[i]))
			out[i] = '_';
	return n;
}

size_t sm_obis_state_key(const uint8_t obis[6], char *out, size_t outsz)
{
	const struct entry *en = find(obis);
	char slug[SM_OBIS_STRLEN];
	size_t n;

	if (en)
		return copy(en->info.key, out, outsz);
	if (!(n = sm_obis_slug(obis, slug, sizeof(slug))) || n + 6 > outsz)
		goto toolong;
	memcpy(out, "obis_", 5);
	memcpy(out + 5, slug, n + 1);
	return n + 5;
toolong:
	if (outsz)
		out[0] = '\0';
	return 0;
}

size_t sm_obis_name(const uint8_t obis[6], char *out, size_t outsz)
{
	const struct entry *en = find(obis);
	if (en)
		return copy(en->info.name, out, outsz);
	return sm_obis_format(obis, out, outsz);
}

const char *sm_obis_ha_unit(const char *unit)
{
	if (!unit)
		return NULL;
	/* HA compares units byte for byte (HOME_ASSISTANT.md §3.1): cubic metre is U+00B3, litre upper case. */
	if (strcmp(unit, "m3") == 0)
		return "m³";
	if (strcmp(unit, "m3/h") == 0)
		return "m³/h";
	if (strcmp(unit, "l") == 0)
		return "L";
	return unit;
}

/* ---- value conversion ---- */

/* Decoder unit -> registry unit, as a power-of-ten shift of the exact decimal (PROTOCOLS.md §7.2
 * "unit normalisation": energy in kWh, power in W, kV/kA/kHz scaled down). */
static const struct conversion {
	const char *from, *to;
	int8_t shift;
} conversions[] = {
	{ "kWh", "kWh", 0 }, { "Wh", "kWh", -3 }, { "MWh", "kWh", 3 },
	{ "W", "W", 0 }, { "kW", "W", 3 }, { "MW", "W", 6 },
	{ "var", "var", 0 }, { "kvar", "var", 3 },
	{ "VA", "VA", 0 }, { "kVA", "VA", 3 },
	{ "kvarh", "kvarh", 0 }, { "varh", "kvarh", -3 },
	{ "kVAh", "kVAh", 0 }, { "VAh", "kVAh", -3 },
	{ "V", "V", 0 }, { "kV", "V", 3 },
	{ "A", "A", 0 }, { "kA", "A", 3 }, { "mA", "A", -3 },
	{ "Hz", "Hz", 0 }, { "kHz", "Hz", 3 },
	{ "m3", "m³", 0 }, { "l", "m³", -3 },
};

/* false: the value's unit cannot be expressed in `to`. A unitless value is taken as already in `to`
 * (DSMR counters; layouts whose unit is meter-family knowledge carry it from the library). */
static bool convert(struct sm_number *n, const char *from, const char *to)
{
	if (!to || !from)
		return true;
	for (size_t i = 0; i < sizeof(conversions) / sizeof(conversions[0]); i++)
		if (strcmp(conversions[i].from, from) == 0 && strcmp(conversions[i].to, to) == 0) {
			if (conversions[i].shift)
				sm_number_scale(n, conversions[i].shift);
			return true;
		}
	return false;
}

bool sm_number_parse(const char *s, size_t len, struct sm_number *ret)
{
	struct sm_number n = { 0, 0, false };
	size_t i = 0, digits = 0;
	int frac = -1;

	if (i < len && (s[i] == '-' || s[i] == '+')) {
		n.neg = s[i] == '-';
		i++;
	}
	for (; i < len; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		/* 19 significant digits always fit a uint64_t; DSMR fields have at most 12. */
		if (n.mag == 0 && s[i] == '0' && frac < 0) {
			digits++;
			continue;
		}
		if (n.mag > (UINT64_MAX - 9) / 10)
			return false;
		n.mag = n.mag * 10 + (uint64_t)(s[i] - '0');
		digits++;
		if (frac >= 0)
			frac++;
	}
	if (digits == 0 || frac > 60)
		return false;
	n.exp10 = (int8_t)(frac > 0 ? -frac : 0);
	*ret = n;
	return true;
}

static void set_text(struct sm_obis_state *st, const char *s, size_t len)
{
	/* Cut at SM_OBIS_STATE_TEXT_MAX bytes without splitting a UTF-8 sequence. */
	if (len > SM_OBIS_STATE_TEXT_MAX) {
		len = SM_OBIS_STATE_TEXT_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(st->text, s, len);
	st->text[len] = '\0';
	st->type = SM_OBIS_STATE_TEXT;
}

static void set_hex(struct sm_obis_state *st, const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 2 <= SM_OBIS_STATE_TEXT_MAX; i++) {
		st->text[o++] = digits[(unsigned char)p[i] >> 4];
		st->text[o++] = digits[(unsigned char)p[i] & 15];
	}
	st->text[o] = '\0';
	st->type = SM_OBIS_STATE_TEXT;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

/* DSMR sends ids and messages as hex of ASCII (§1.6 "Sn (hex)"). Decode only when every pair is hex
 * and the result is printable ASCII, so a DLMS id that is plain digits stays as sent. */
static bool set_hextext(struct sm_obis_state *st, const char *s, size_t len)
{
	char buf[SM_OBIS_STATE_TEXT_MAX + 1];
	size_t o = 0;

	if (len < 2 || len % 2 != 0)
		return false;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int hi = sm_hex_digit((unsigned char)s[i]), lo = sm_hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		unsigned char c = (unsigned char)(hi << 4 | lo);
		if (c < 0x20 || c > 0x7E)
			return false;
		if (o < SM_OBIS_STATE_TEXT_MAX)
			buf[o++] = (char)c;
	}
	set_text(st, buf, o);
	return true;
}

static void set_number_text(struct sm_obis_state *st, const struct sm_number *n)
{
	char buf[SM_NUMBER_STRLEN];
	size_t len = sm_number_format(n, buf, sizeof(buf));
	if (len)
		set_text(st, buf, len);
}

/* A value as a number, whatever its wire form: number, digits in text, boolean. */
static bool as_number(const struct sm_value *v, struct sm_number *ret)
{
	switch (v->type) {
	case SM_VALUE_NUMBER:
		*ret = v->u.num;
		return true;
	case SM_VALUE_TEXT:
		return v->u.text.str && sm_number_parse(v->u.text.str, v->u.text.len, ret);
	case SM_VALUE_BOOL:
		ret->mag = v->u.boolean ? 1 : 0;
		ret->exp10 = 0;
		ret->neg = false;
		return true;
	case SM_VALUE_NONE:
	case SM_VALUE_OCTETS:
	case SM_VALUE_DATETIME:
	case SM_VALUE_ROWS:
		return false;
	}
	return false;
}

static bool is_integer(const struct sm_number *n, uint64_t *ret)
{
	struct sm_number x = *n;
	while (x.exp10 < 0 && x.mag % 10 == 0 && x.mag != 0) {
		x.mag /= 10;
		x.exp10++;
	}
	if (x.mag == 0) {
		*ret = 0;
		return true;
	}
	if (x.neg || x.exp10 < 0 || x.exp10 > 3)
		return false;
	for (int i = 0; i < x.exp10; i++)
		x.mag *= 10;
	*ret = x.mag;
	return true;
}

static void state_text(const struct sm_value *v, struct sm_obis_state *st)
{
	char buf[SM_DATETIME_STRLEN];
	size_t n;

	switch (v->type) {
	case SM_VALUE_TEXT:
		set_text(st, v->u.text.str ? v->u.text.str : "", v->u.text.len);
		return;
	case SM_VALUE_OCTETS:
		if (v->u.text.str && printable(v->u.text.str, v->u.text.len))
			set_text(st, v->u.text.str, v->u.text.len);
		else
			set_hex(st, v->u.text.str, v->u.text.str ? v->u.text.len : 0);
		return;
	case SM_VALUE_NUMBER:
		set_number_text(st, &v->u.num);
		return;
	case SM_VALUE_BOOL:
		set_text(st, v->u.boolean ? "true" : "false", v->u.boolean ? 4 : 5);
		return;
	case SM_VALUE_DATETIME:
		n = sm_datetime_format(&v->u.dt, buf, sizeof(buf));
		if (n)
			set_text(st, buf, n);
		return;
	case SM_VALUE_NONE:
	case SM_VALUE_ROWS:
		return;
	}
}

void sm_obis_state_value(const struct sm_obis_info *info, const struct sm_value *v, struct sm_obis_state *ret)
{
	struct sm_number num;
	uint64_t u;
	char buf[SM_DATETIME_STRLEN];
	size_t n;

	ret->type = SM_OBIS_STATE_NULL;
	ret->text[0] = '\0';
	if (!info) {
		if (v->type == SM_VALUE_NUMBER) {
			ret->num = v->u.num;
			ret->type = SM_OBIS_STATE_NUMBER;
		} else {
			state_text(v, ret);
		}
		return;
	}
	switch (info->kind) {
	case SM_OBIS_KIND_NUMBER:
		if (!as_number(v, &num) || !convert(&num, v->unit, info->unit))
			return;
		ret->num = num;
		ret->type = SM_OBIS_STATE_NUMBER;
		return;
	case SM_OBIS_KIND_TEXT:
		state_text(v, ret);
		return;
	case SM_OBIS_KIND_HEXTEXT:
		if (v->type == SM_VALUE_TEXT && v->u.text.str && set_hextext(ret, v->u.text.str, v->u.text.len))
			return;
		state_text(v, ret);
		return;
	case SM_OBIS_KIND_TIMESTAMP:
		/* A naive time makes HA fail the state write (HOME_ASSISTANT.md §3.6): publish null instead. */
		if (v->type == SM_VALUE_DATETIME && v->u.dt.has_date && v->u.dt.has_time && v->u.dt.has_offset) {
			n = sm_datetime_format(&v->u.dt, buf, sizeof(buf));
			if (n)
				set_text(ret, buf, n);
		}
		return;
	case SM_OBIS_KIND_SWITCH:
		if (v->type == SM_VALUE_TEXT && v->u.text.str && v->u.text.len == 2 &&
		    strncasecmp(v->u.text.str, "ON", 2) == 0) {
			set_text(ret, "ON", 2);
			return;
		}
		if (v->type == SM_VALUE_TEXT && v->u.text.str && v->u.text.len == 3 &&
		    strncasecmp(v->u.text.str, "OFF", 3) == 0) {
			set_text(ret, "OFF", 3);
			return;
		}
		/* 1 = connected; 0 = disconnected, 2 = ready for reconnection (still open). */
		if (as_number(v, &num) && is_integer(&num, &u) && u <= 2)
			set_text(ret, u == 1 ? "ON" : "OFF", u == 1 ? 2 : 3);
		return;
	case SM_OBIS_KIND_TARIFF:
		if (as_number(v, &num) && is_integer(&num, &u)) {
			n = (size_t)snprintf(buf, sizeof(buf), "T%llu", (unsigned long long)u);
			set_text(ret, buf, n);
			return;
		}
		if (v->type == SM_VALUE_TEXT && v->u.text.str && v->u.text.len > 1 &&
		    (v->u.text.str[0] == 'T' || v->u.text.str[0] == 't') &&
		    sm_number_parse(v->u.text.str + 1, v->u.text.len - 1, &num) && is_integer(&num, &u)) {
			n = (size_t)snprintf(buf, sizeof(buf), "T%llu", (unsigned long long)u);
			set_text(ret, buf, n);
			return;
		}
		state_text(v, ret);
		return;
	}
}

/* ---- M-Bus media (EN 13757-3 medium byte as DSMR writes it in 0-n:24.1.0, PROTOCOLS.md §1.6) ---- */
static const struct medium {
	uint8_t type;
	struct sm_mbus_medium m;
} media[] = {
	{ 0x02, { "Electricity", "Electricity sub-meter", "energy", NULL } },
	{ 0x03, { "Gas", "Gas meter", "gas", NULL } },
	{ 0x04, { "Heat", "Heat meter", "energy", "mdi:radiator" } },
	{ 0x0C, { "Heat", "Heat meter", "energy", "mdi:radiator" } },
	{ 0x0D, { "Heat/cooling", "Heat/cooling meter", "energy", "mdi:radiator" } },
	{ 0x0A, { "Cooling", "Cooling meter", "energy", "mdi:snowflake" } },
	{ 0x0B, { "Cooling", "Cooling meter", "energy", "mdi:snowflake" } },
	{ 0x06, { "Hot water", "Hot water meter", "water", NULL } },
	{ 0x15, { "Hot water", "Hot water meter", "water", NULL } },
	{ 0x07, { "Water", "Water meter", "water", NULL } },
	/* §7.2 lists "type 16" for water: written in decimal by some docs for 0x16 cold water. */
	{ 0x10, { "Cold water", "Cold water meter", "water", NULL } },
	{ 0x16, { "Cold water", "Cold water meter", "water", NULL } },
};

static const struct sm_mbus_medium unknown_medium = { "M-Bus", "M-Bus device", NULL, "mdi:counter" };

const struct sm_mbus_medium *sm_obis_mbus_medium(unsigned device_type)
{
	for (size_t i = 0; i < sizeof(media) / sizeof(media[0]); i++)
		if (media[i].type == device_type)
			return &media[i].m;
	return &unknown_medium;
}
