/* guard.h — protects Home Assistant's long-term statistics (the Energy dashboard) from register values
 * that go backwards or jump by an impossible amount. Pure bookkeeping: no I/O, no logging (the caller
 * logs the verdicts it gets back), no MQTT. */
#ifndef SMARTMETERD_GUARD_H
#define SMARTMETERD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/reading.h"

/* Frames that must agree with a suspicious new level before it replaces the old one. Three frames is
 * 3 s on DSMR 5 and 30 s on DSMR 4; hourly-register lists (Aidon/Kaifa list 3) take 3 hours, which
 * is the point: a single bogus frame must never reach the statistics. */
#define GUARD_CONFIRM_FRAMES 3u
/* Counters tracked at most (meters x total_increasing keys): a DSMR meter has ~15, DLMS lists ~25. */
#define GUARD_MAX_COUNTERS 1024u

struct guard_config {
	double max_jump_kwh;     /* an increase up to this many kWh is always plausible */
	double max_power_kw;     /* ... and up to this power times the hours since the last value (0 = no rate
	                          * allowance); both 0 = only decreases are held */
	unsigned confirm_frames; /* 0 = GUARD_CONFIRM_FRAMES */
};

enum guard_verdict {
	GUARD_PASS = 0,  /* plausible: publish the value */
	GUARD_FIRST,     /* first value of this counter since start: publish it, it becomes the baseline */
	GUARD_HELD,      /* went down or jumped: publish ret->publish (the last good value) instead */
	GUARD_CONFIRMED, /* a held level was confirmed by following frames: publish the value, new baseline */
	GUARD_UNTRACKED, /* GUARD_MAX_COUNTERS reached (or out of memory): published unchecked */
};

struct guard_result {
	enum guard_verdict verdict;
	struct sm_number publish; /* what to publish (the value itself unless HELD) */
	struct sm_number last;    /* the baseline before this frame (valid unless FIRST/UNTRACKED) */
	unsigned pending;         /* HELD: frames so far that agree with the suspicious level */
	bool jump;                /* HELD/CONFIRMED: the trigger was an increase above the limit (else a decrease) */
};

struct guard;

/* NULL on ENOMEM. cfg may be NULL (no jump limit, GUARD_CONFIRM_FRAMES). */
struct guard *guard_new(const struct guard_config *cfg);
void guard_free(struct guard *g);

/* Check one total_increasing value received at now_ms (monotonic). meter_id + key name the counter; unit
 * (as published, e.g. "kWh", "m³", NULL for event counters) scales the jump limit: kWh/kvarh/kVAh as
 * configured, Wh x1000, MWh /1000, GJ x0.0036, m³ the same number as kWh; counters without an energy or
 * volume unit are only checked for decreases. Returns ret->verdict. */
enum guard_verdict guard_check(struct guard *g, uint64_t now_ms, const char *meter_id, const char *key,
                               const char *unit, const struct sm_number *value, struct guard_result *ret);

/* Forget every baseline (meter replaced, SIGHUP with a new limit). */
void guard_reset(struct guard *g);

/* "passed", "first", "held", "confirmed", "untracked". */
const char *guard_verdict_name(enum guard_verdict v);

#endif
