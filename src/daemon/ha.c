/* ha.c — Home Assistant orchestration (see ha.h): discovery timing, clean-up of stale retained configs,
 * learned expire_after, HA's birth, and the energy guard's verdicts. Must never send a config before
 * the stale configs of the other mode are removed (HA refuses a unique_id twice), and never publish a
 * counter value the guard held back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "guard.h"
#include "ha.h"
#include "log.h"

#define HA_TOPIC_MAX 256u

struct ha {
	struct loop *loop;
	struct publish_sink sink;
	void (*birth)(void *ctx, enum ha_birth_phase phase);
	void *ctx;

	char prefix[128];
	char instance[64];
	unsigned publish_interval;

	struct discovery *disc;          /* also when discovery = false: it removes what earlier runs published */
	bool enabled;                    /* [homeassistant] discovery */
	char sub[HA_TOPIC_MAX];          /* HA status topic subscribed on this connection, "" = none */
	char collect_prefix[128];        /* discovery prefix the clean-up ran (or runs) for */
	enum { COLLECT_NEED, COLLECT_RUNNING, COLLECT_WAIT, COLLECT_DONE } collect;
	struct loop_timer *collect_timer;
	struct discovery_batch held;     /* configs built while collecting: sent after the removals */
	char held_meter[64];
	uint64_t online_ms;              /* telegram time since the collection ended (stale_after) */
	unsigned stale_after;
	unsigned expire_cfg;             /* [homeassistant] expire_after */
	unsigned expire_period;          /* 3 x the meter's push period, when that is more */
	uint64_t last_gap_ms;
	bool device_discovery, reactive_energy_class;
	char status_topic[HA_TOPIC_MAX]; /* [homeassistant] status_topic, "" = <discovery_prefix>/status */

	struct guard *guard;
	struct guard_config guard_cfg;
	struct ratelimit guard_log;

	struct loop_timer *birth_timer;  /* random delay after Home Assistant's birth message */
	bool state_phase;                /* the timer's second round re-sends the state */
};

static bool up(const struct ha *h)
{
	return h->sink.connected(h->sink.ctx);
}

/* Configs are retained, QoS 1 (HOME_ASSISTANT.md §4.4). Returns false when the broker went away. */
static bool send_batch(struct ha *h, const struct discovery_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		log_debug("home assistant: %s %s", b->msgs[i].topic, b->msgs[i].payload);
		if (!up(h) || h->sink.publish(h->sink.ctx, b->msgs[i].topic, b->msgs[i].payload, b->msgs[i].len, 1, true) < 0)
			return false;
	}
	return true;
}

static void send_all(struct ha *h)
{
	struct discovery_batch b = { 0 };
	if (!h->disc || !h->enabled || !up(h))
		return;
	if (discovery_all(h->disc, &b) < 0)
		log_err("home assistant: out of memory listing discovery configs");
	else if (b.n)
		log_info("home assistant: %s %zu discovery configs", send_batch(h, &b) ? "sent" : "could not send", b.n);
	discovery_batch_free(&b);
}

static void remove_batch(struct ha *h, struct discovery_batch *b, const char *why)
{
	if (!b->n)
		return;
	log_info("home assistant: removing %zu retained discovery configs %s", b->n, why);
	for (size_t i = 0; i < b->n; i++)
		log_debug("home assistant: removing %s", b->msgs[i].topic);
	if (!send_batch(h, b))
		log_warning("home assistant: broker went away while removing stale discovery configs");
}

/* expire_after as sent: the configured value, but never below three push periods (a meter that pushes
 * every 10 minutes) or three publish_interval periods, or every entity would flap to unavailable. */
static unsigned expire(const struct ha *h)
{
	unsigned e = h->expire_cfg;
	if (!e)
		return 0;
	if (h->publish_interval <= 86400u && e < 3 * h->publish_interval)
		e = 3 * h->publish_interval;
	return e < h->expire_period ? h->expire_period : e;
}

static void options(const struct ha *h, struct discovery_options *o, const char *prefix)
{
	*o = (struct discovery_options){
		.discovery_prefix = prefix,
		.topic_prefix = h->prefix,
		.instance = h->instance,
		.device_discovery = h->device_discovery,
		.reactive_energy_class = h->reactive_energy_class,
		.expire_after = expire(h),
		.health = true,
		.disabled = !h->enabled,
		.ha_status_topic = h->status_topic[0] ? h->status_topic : NULL,
	};
}

/* New discovery options: configs that moved (prefix, mode, discovery off) are removed at once. */
static void reoptions(struct ha *h, const char *prefix)
{
	struct discovery_options o;
	struct discovery_batch gone = { 0 };

	options(h, &o, prefix);
	if (!h->disc) {
		if (!(h->disc = discovery_new(&o)))
			log_err("home assistant: out of memory; discovery disabled");
		return;
	}
	if (discovery_reconfigure(h->disc, &o, &gone) < 0)
		log_err("home assistant: out of memory reconfiguring discovery");
	else if (gone.n && up(h))
		log_info("home assistant: removed %zu discovery configs (prefix, mode or discovery changed)%s", gone.n,
		         send_batch(h, &gone) ? "" : "; the broker went away before all were sent");
	else if (gone.n)
		log_warning("home assistant: broker away: %zu discovery configs of the old prefix or mode stay retained",
		            gone.n);
	discovery_batch_free(&gone);
}

static void subscribe_status(struct ha *h)
{
	const char *want = h->enabled && h->disc ? discovery_ha_status_topic(h->disc) : "";
	if (!strcmp(want, h->sub) || !h->sink.subscribe)
		return;
	if (h->sub[0])
		h->sink.unsubscribe(h->sink.ctx, h->sub);
	h->sub[0] = '\0';
	if (want[0] && h->sink.subscribe(h->sink.ctx, want, 1) == 0)
		snprintf(h->sub, sizeof(h->sub), "%s", want);
}

static void collect_start(struct ha *h)
{
	const char *f[2];
	if (h->collect != COLLECT_NEED || !h->disc || !h->sink.subscribe || !up(h))
		return;
	discovery_cleanup_filters(h->disc, f);
	if (h->sink.subscribe(h->sink.ctx, f[0], 1) < 0 || h->sink.subscribe(h->sink.ctx, f[1], 1) < 0)
		return;
	h->collect = COLLECT_RUNNING;
	loop_timer_arm(h->collect_timer, DISCOVERY_COLLECT_MS, 0);
}

/* The collection window closed: remove what is stale already, keep the rest for stale_after. */
static void collect_due(void *ctx)
{
	struct ha *h = ctx;
	struct discovery_batch b = { 0 };
	const char *f[2];

	if (!up(h)) {
		h->collect = COLLECT_NEED; /* again on the next connection, which also re-sends the configs */
		discovery_batch_free(&h->held);
		return;
	}
	discovery_cleanup_filters(h->disc, f);
	h->sink.unsubscribe(h->sink.ctx, f[0]);
	h->sink.unsubscribe(h->sink.ctx, f[1]);
	if (discovery_sweep(h->disc, false, &b) < 0)
		log_err("home assistant: out of memory cleaning up discovery configs");
	else
		remove_batch(h, &b, h->enabled ? "of the other discovery mode" : "(discovery = false)");
	discovery_batch_free(&b);
	if (h->held.n) {
		log_info("home assistant: %zu discovery configs for meter %s", h->held.n, h->held_meter);
		send_batch(h, &h->held);
	}
	discovery_batch_free(&h->held);
	h->online_ms = 0;
	h->collect = h->stale_after && discovery_collected(h->disc) ? COLLECT_WAIT : COLLECT_DONE;
	if (h->collect == COLLECT_WAIT)
		log_info("home assistant: %zu retained discovery configs from earlier runs; those not produced again "
		         "within %u s of telegrams will be removed", discovery_collected(h->disc), h->stale_after);
}

/* stale_after seconds of telegrams since the collection: what was not produced again is gone for good. */
static void collect_telegram(struct ha *h, uint64_t gap_ms)
{
	struct discovery_batch b = { 0 };
	char why[64];

	if (h->collect != COLLECT_WAIT)
		return;
	if (gap_ms < 60000u)
		h->online_ms += gap_ms; /* a pause (cable out) does not count: nothing could have appeared */
	if (h->online_ms < (uint64_t)h->stale_after * 1000u || !up(h))
		return;
	snprintf(why, sizeof(why), "not produced in %u s of telegrams", h->stale_after);
	if (discovery_sweep(h->disc, true, &b) < 0)
		log_err("home assistant: out of memory cleaning up discovery configs");
	else
		remove_batch(h, &b, why);
	discovery_batch_free(&b);
	h->collect = COLLECT_DONE;
}

/* A meter whose push period p is learned from two similar gaps in a row (a single long gap is an outage):
 * expire_after becomes at least 3 p, rounded up to a minute, and the configs are re-sent. */
static void learn_period(struct ha *h, const char *meter_id, uint64_t gap_ms)
{
	uint64_t last = h->last_gap_ms;
	h->last_gap_ms = gap_ms;
	if (!last || gap_ms * 4 < last * 3 || gap_ms * 3 > last * 4)
		return;
	uint64_t period = gap_ms > last ? gap_ms : last;
	uint64_t want = (3 * period / 1000u + 59u) / 60u * 60u;
	unsigned before = expire(h);
	if (want <= h->expire_period || want > 86400u)
		return;
	h->expire_period = (unsigned)want;
	if (expire(h) != before && h->disc && h->enabled) {
		log_info("home assistant: meter %s pushes every %.1f s: expire_after raised to %u s", meter_id,
		         (double)period / 1000.0, expire(h));
		reoptions(h, h->collect_prefix);
	}
}

/* HOME_ASSISTANT.md §4.1: a random 1-5 s after HA's birth, all configs and availability; 2 s later the
 * current state, so that no entity waits for the next telegram in "unknown". */
static void birth_due(void *ctx)
{
	struct ha *h = ctx;
	if (!h->state_phase) {
		send_all(h);
		h->birth(h->ctx, HA_BIRTH_AVAILABILITY);
		h->state_phase = true;
		loop_timer_arm(h->birth_timer, 2000, 0);
		return;
	}
	h->state_phase = false;
	h->birth(h->ctx, HA_BIRTH_STATE);
}

struct ha *ha_new(struct loop *loop, const struct publish_sink *sink,
                  void (*birth)(void *ctx, enum ha_birth_phase phase), void *ctx)
{
	struct ha *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->loop = loop;
	h->sink = *sink;
	h->birth = birth;
	h->ctx = ctx;
	h->guard_log = (struct ratelimit)RATELIMIT_INIT(60000u, 5u);
	h->collect_timer = loop_timer_new(loop, collect_due, h);
	h->birth_timer = loop_timer_new(loop, birth_due, h);
	if (!h->collect_timer || !h->birth_timer) {
		ha_free(h);
		return NULL;
	}
	return h;
}

void ha_free(struct ha *h)
{
	if (!h)
		return;
	loop_timer_free(h->collect_timer);
	loop_timer_free(h->birth_timer);
	discovery_batch_free(&h->held);
	discovery_free(h->disc);
	guard_free(h->guard);
	free(h);
}

void ha_configure(struct ha *h, const struct config *cfg, const char *topic_prefix, const char *instance)
{
	snprintf(h->prefix, sizeof(h->prefix), "%s", topic_prefix);
	snprintf(h->instance, sizeof(h->instance), "%s", instance);
	h->publish_interval = cfg->publish_interval;
	h->enabled = cfg->discovery;
	h->device_discovery = cfg->device_discovery;
	h->reactive_energy_class = cfg->reactive_energy_class;
	h->expire_cfg = cfg->expire_after;
	h->stale_after = cfg->stale_after;
	snprintf(h->status_topic, sizeof(h->status_topic), "%s", cfg->ha_status_topic ? cfg->ha_status_topic : "");
	if (h->collect == COLLECT_RUNNING && strcmp(h->collect_prefix, cfg->discovery_prefix) != 0) {
		/* a window open on the old prefix: close it (its filters would stay subscribed) */
		const char *f[2];
		discovery_cleanup_filters(h->disc, f);
		h->sink.unsubscribe(h->sink.ctx, f[0]);
		h->sink.unsubscribe(h->sink.ctx, f[1]);
		loop_timer_disarm(h->collect_timer);
		discovery_batch_free(&h->held);
	}
	reoptions(h, cfg->discovery_prefix);
	if (strcmp(h->collect_prefix, cfg->discovery_prefix) != 0) {
		/* another prefix holds other retained configs: look there */
		snprintf(h->collect_prefix, sizeof(h->collect_prefix), "%s", cfg->discovery_prefix);
		h->collect = COLLECT_NEED;
	}
	if (up(h)) {
		subscribe_status(h);
		collect_start(h);
	}
	struct guard_config gc = { .max_jump_kwh = cfg->max_energy_jump_kwh, .max_power_kw = cfg->max_power_kw };
	if (!h->guard || gc.max_jump_kwh != h->guard_cfg.max_jump_kwh || gc.max_power_kw != h->guard_cfg.max_power_kw) {
		guard_free(h->guard);
		h->guard = guard_new(&gc);
		h->guard_cfg = gc;
	}
}

bool ha_enabled(const struct ha *h)
{
	return h->enabled && h->disc;
}

void ha_connected(struct ha *h)
{
	h->sub[0] = '\0'; /* a new connection starts without subscriptions */
	subscribe_status(h);
	if (h->collect == COLLECT_RUNNING)
		h->collect = COLLECT_NEED; /* the last window was cut short by the disconnect */
	collect_start(h);
	send_all(h); /* the broker may have lost the retained configs (§4.1: re-send on every connect) */
}

void ha_guard(struct ha *h, const char *meter_id, struct state_list *l)
{
	char was[SM_NUMBER_STRLEN], now[SM_NUMBER_STRLEN];

	if (!h->guard)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct state_item *it = &l->v[i];
		struct guard_result g;

		struct sm_number value;

		if (!it->info || !it->info->state_class || strcmp(it->info->state_class, "total_increasing") != 0)
			continue;
		if (it->v.type == STATE_NUMBER) {
			value = it->v.num;
		} else if (it->v.type == STATE_REAL) {
			/* a non-integer CT/VT multiplier: judged on the value as published */
			snprintf(now, sizeof(now), "%.10g", it->v.real);
			if (!sm_number_parse(now, strlen(now), &value))
				continue;
		} else {
			continue;
		}
		switch (guard_check(h->guard, loop_now_ms(), meter_id, it->key, it->unit, &value, &g)) {
		case GUARD_HELD:
			sm_number_format(&g.publish, was, sizeof(was));
			sm_number_format(&value, now, sizeof(now));
			it->v.type = STATE_NUMBER;
			it->v.num = g.publish;
			if (ratelimit_allow(&h->guard_log, loop_now_ms(), NULL))
				log_warning("meter %s: %s %s from %s to %s%s: held back, publishing %s until confirmed (%u/%u)",
				            meter_id, it->key, g.jump ? "jumped" : "went down", was, now, it->unit ? it->unit : "",
				            was, g.pending, GUARD_CONFIRM_FRAMES + 1);
			break;
		case GUARD_CONFIRMED:
			sm_number_format(&g.last, was, sizeof(was));
			sm_number_format(&value, now, sizeof(now));
			log_notice("meter %s: %s changed from %s to %s%s and following telegrams confirm it: publishing it",
			           meter_id, it->key, was, now, it->unit ? it->unit : "");
			break;
		case GUARD_UNTRACKED:
		case GUARD_PASS:
		case GUARD_FIRST:
			break;
		}
	}
}

void ha_telegram(struct ha *h, const char *meter_id, const struct identity *id, const struct sm_telegram *t,
                 const struct state_list *l, uint64_t gap_ms)
{
	struct discovery_batch b = { 0 };

	if (gap_ms) {
		if (gap_ms < 3600u * 1000u)
			learn_period(h, meter_id, gap_ms);
		collect_telegram(h, gap_ms);
	}
	if (!h->disc || !up(h) || !h->enabled)
		return; /* ha_connected() sends every config once the broker is back */
	/* While collecting, stale configs of the other mode must go first (HA refuses a unique_id twice). */
	if (h->collect == COLLECT_RUNNING) {
		snprintf(h->held_meter, sizeof(h->held_meter), "%s", meter_id);
		if (discovery_update(h->disc, meter_id, id, t, l, &h->held) < 0)
			log_err("home assistant: out of memory building discovery configs");
		return;
	}
	if (discovery_update(h->disc, meter_id, id, t, l, &b) < 0)
		log_err("home assistant: out of memory building discovery configs");
	else if (b.n) {
		log_info("home assistant: %zu new or changed discovery configs for meter %s", b.n, meter_id);
		send_batch(h, &b);
	}
	discovery_batch_free(&b);
}

size_t ha_keys(const struct ha *h, const char (**ret)[64])
{
	if (!h->disc) {
		*ret = NULL;
		return 0;
	}
	return discovery_keys(h->disc, ret);
}

void ha_forget_meter(struct ha *h, const char *meter_id)
{
	struct discovery_batch b = { 0 };
	char why[128];
	if (!h->disc)
		return;
	if (discovery_forget_meter(h->disc, meter_id, &b) < 0)
		log_err("home assistant: out of memory removing the configs of %s", meter_id);
	snprintf(why, sizeof(why), "of the stand-in meter id %s", meter_id);
	if (up(h))
		remove_batch(h, &b, why);
	discovery_batch_free(&b);
}

void ha_message(struct ha *h, const char *topic, const void *payload, size_t len, bool retained)
{
	if (!h->disc)
		return;
	if (h->collect == COLLECT_RUNNING && retained && discovery_collect(h->disc, topic, payload, len))
		return;
	if (!h->enabled || !discovery_is_ha_online(h->disc, topic, payload, len))
		return;
	/* Spread the load when many publishers answer the same birth (HA docs: small random delay). */
	uint64_t delay = 1000u + (uint64_t)(random() % 4000);
	log_info("home assistant: online; re-sending discovery in %llu ms", (unsigned long long)delay);
	h->state_phase = false;
	loop_timer_arm(h->birth_timer, delay, 0);
}
