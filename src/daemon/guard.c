/* guard.c — the "protect the Energy dashboard" rule for total_increasing counters (see guard.h).
 * Must never publish a lower register value than the last one it let through, and never let one
 * frame move a baseline on its own. It logs nothing: the caller logs the verdicts.
 *
 * Why: Home Assistant treats any decrease of a total_increasing sensor as a new meter cycle
 * (decreases under 10 % are ignored, the recovery is then counted twice), and after a new cycle
 * adds the *whole* next reading to the statistics — one bogus "0" or one corrupted digit becomes a
 * permanent spike the size of the register (HOME_ASSISTANT.md §3.2, §8 item 4).
 *
 * The rule, per meter and counter:
 *   1. The first value since start is published and becomes the baseline.
 *   2. A value v is plausible when  baseline <= v <= baseline + limit, where
 *        limit = max(max_energy_jump_kwh, max_power_kw x hours since the baseline was set)
 *      scaled to the counter's unit (no upper bound when both are 0 or when the counter has no
 *      energy/volume unit). The time term keeps a fixed limit from holding back every step of a meter
 *      that pushes its registers hourly, or the catch-up after the cable was out for a day. Plausible
 *      values are published and become the baseline; any held-back candidate is dropped (a glitch).
 *   3. Anything else (a decrease of any size, or a jump above the limit) is held back: the baseline is
 *      published again instead, and v becomes the candidate level.
 *   4. Following frames that are plausible relative to the candidate (candidate <= v' <= candidate +
 *      limit) confirm it; once `confirm_frames` (default 3) frames in a row after the suspicious one
 *      agree, the level is accepted, published and becomes the baseline (a real register reset, or a
 *      meter that really caught up). A frame that fits neither starts a new candidate.
 *
 *   baseline ──┬── v in [baseline, baseline+limit] ──────────▶ publish v, baseline = v
 *              └── otherwise ── hold (publish baseline) ── n frames agree with v ──▶ publish, baseline = v
 */
#include <stdlib.h>
#include <string.h>

#include "guard.h"

struct counter {
	char *id;               /* "<meter_id>\n<key>" */
	struct sm_number base;  /* last published value */
	double base_d;
	uint64_t base_ms;       /* when base was set */
	bool has_candidate;
	double cand_d;          /* last value agreeing with the candidate level */
	uint64_t cand_ms;
	unsigned agree;         /* frames agreeing with the candidate so far */
};

struct guard {
	struct guard_config cfg;
	struct counter *v;
	size_t n, cap;
};

struct guard *guard_new(const struct guard_config *cfg)
{
	struct guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	if (cfg)
		g->cfg = *cfg;
	if (g->cfg.confirm_frames == 0)
		g->cfg.confirm_frames = GUARD_CONFIRM_FRAMES;
	if (!(g->cfg.max_jump_kwh > 0))
		g->cfg.max_jump_kwh = 0; /* also catches NaN */
	if (!(g->cfg.max_power_kw > 0))
		g->cfg.max_power_kw = 0;
	return g;
}

void guard_reset(struct guard *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].id);
	g->n = 0;
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	guard_reset(g);
	free(g->v);
	free(g);
}

const char *guard_verdict_name(enum guard_verdict v)
{
	switch (v) {
	case GUARD_PASS: return "passed";
	case GUARD_FIRST: return "first";
	case GUARD_HELD: return "held";
	case GUARD_CONFIRMED: return "confirmed";
	case GUARD_UNTRACKED: return "untracked";
	}
	return "?";
}

/* The jump limit in the counter's own unit for a baseline set at since_ms; 0 = none. */
static double limit_for(const struct guard *g, const char *unit, uint64_t since_ms, uint64_t now_ms)
{
	static const struct {
		const char *unit;
		double per_kwh;
	} scale[] = {
		{ "kWh", 1 }, { "kvarh", 1 }, { "kVAh", 1 }, { "Wh", 1000 }, { "varh", 1000 }, { "VAh", 1000 },
		{ "MWh", 0.001 }, { "GJ", 0.0036 }, { "MJ", 3.6 },
		/* Volume has no kWh equivalent that fits every medium; the same number in m³ is far above any
		 * household's gas or water use between two frames and still catches a corrupted digit. */
		{ "m³", 1 }, { "m3", 1 }, { "L", 1000 },
	};
	if ((g->cfg.max_jump_kwh <= 0 && g->cfg.max_power_kw <= 0) || !unit)
		return 0;
	double hours = now_ms > since_ms ? (double)(now_ms - since_ms) / 3600e3 : 0;
	double kwh = g->cfg.max_power_kw * hours;
	if (kwh < g->cfg.max_jump_kwh)
		kwh = g->cfg.max_jump_kwh;
	if (kwh <= 0)
		kwh = 1e-9; /* rate only, no time passed: any increase is a jump */
	for (size_t i = 0; i < sizeof(scale) / sizeof(scale[0]); i++)
		if (strcmp(scale[i].unit, unit) == 0)
			return kwh * scale[i].per_kwh;
	return 0;
}

static bool plausible(double from, double v, double limit)
{
	return v >= from && (limit <= 0 || v - from <= limit);
}

static struct counter *find_or_add(struct guard *g, const char *meter_id, const char *key, bool *ret_new)
{
	size_t ml = strlen(meter_id), kl = strlen(key);

	*ret_new = false;
	for (size_t i = 0; i < g->n; i++) {
		const char *id = g->v[i].id;
		if (strncmp(id, meter_id, ml) == 0 && id[ml] == '\n' && strcmp(id + ml + 1, key) == 0)
			return &g->v[i];
	}
	if (g->n >= GUARD_MAX_COUNTERS)
		return NULL;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		struct counter *nv = realloc(g->v, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		g->v = nv;
		g->cap = cap;
	}
	char *id = malloc(ml + kl + 2);
	if (!id)
		return NULL;
	memcpy(id, meter_id, ml);
	id[ml] = '\n';
	memcpy(id + ml + 1, key, kl + 1);
	struct counter *c = &g->v[g->n++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	*ret_new = true;
	return c;
}

enum guard_verdict guard_check(struct guard *g, uint64_t now_ms, const char *meter_id, const char *key,
                               const char *unit, const struct sm_number *value, struct guard_result *ret)
{
	double v = sm_number_to_double(value);
	bool fresh;
	struct counter *c = find_or_add(g, meter_id ? meter_id : "", key, &fresh);

	memset(ret, 0, sizeof(*ret));
	ret->publish = *value;
	if (!c) {
		ret->verdict = GUARD_UNTRACKED;
		return ret->verdict;
	}
	if (fresh) {
		c->base = *value;
		c->base_d = v;
		c->base_ms = now_ms;
		ret->verdict = GUARD_FIRST;
		return ret->verdict;
	}
	ret->last = c->base;
	if (plausible(c->base_d, v, limit_for(g, unit, c->base_ms, now_ms))) {
		c->base = *value;
		c->base_d = v;
		c->base_ms = now_ms;
		c->has_candidate = false;
		ret->verdict = GUARD_PASS;
		return ret->verdict;
	}
	ret->jump = v > c->base_d;
	if (c->has_candidate && plausible(c->cand_d, v, limit_for(g, unit, c->cand_ms, now_ms))) {
		c->agree++;
	} else {
		c->has_candidate = true;
		c->agree = 1;
	}
	c->cand_d = v;
	c->cand_ms = now_ms;
	/* agree counts the first suspicious frame too: it takes confirm_frames further frames to accept. */
	if (c->agree > g->cfg.confirm_frames) {
		c->base = *value;
		c->base_d = v;
		c->base_ms = now_ms;
		c->has_candidate = false;
		ret->verdict = GUARD_CONFIRMED;
		return ret->verdict;
	}
	ret->publish = c->base;
	ret->pending = c->agree;
	ret->verdict = GUARD_HELD;
	return ret->verdict;
}
