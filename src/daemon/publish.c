/* publish.c — the topics, availability, publish_interval and offline queue described in publish.h.
 * Builds JSON with the streaming writer (src/json) for .../obis and json-c (state.c) for .../state. Must never drop a message
 * without counting and logging it, and never delay the first reading after start or after a pause. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "guard.h"
#include "telegram_json.h"
#include "log.h"
#include "publish.h"
#include "smartmeter/decoder.h"
#include "smartmeter/obis.h"
#include "state.h"

/* Before the push interval is known, a meter is declared silent after this long. */
#define PUBLISH_DEFAULT_SILENCE_MS 60000u
/* Automatic silence timeout: this many push intervals, but never less than the floor (DSMR 5 pushes
 * every second; a few lost telegrams must not make Home Assistant flap). */
#define PUBLISH_SILENCE_INTERVALS 5u
#define PUBLISH_SILENCE_FLOOR_MS 15000u
#define PUBLISH_TOPIC_MAX 256u

struct qmsg {
	char *topic;
	char *payload;
	size_t len;
	int qos;
	bool retain;
};

struct publisher {
	struct loop *loop;
	struct publish_sink sink;

	char prefix[128];
	char instance[64];
	char fixed_id[64];
	int qos;
	bool retain;
	unsigned publish_interval;
	unsigned queue_size;
	unsigned offline_after;
	struct state_multipliers mult;
	char status_topic[PUBLISH_TOPIC_MAX];

	char meter_id[64];
	bool have_meter;       /* at least one telegram seen */
	bool meter_online;
	uint64_t last_telegram_ms;
	uint64_t interval_est_ms;
	struct jw obis_out; /* the .../obis text, one buffer reused for every telegram */
	struct loop_timer *silence_timer;

	uint64_t last_pub_ms;
	bool published_once;
	struct qmsg pending_obis, pending_state; /* rate-limited, not yet due */
	struct loop_timer *interval_timer;

	struct qmsg *ring;
	size_t ring_cap, ring_head, ring_len;
	struct qmsg latest_obis, latest_state; /* qos 0 / queue_size 0 */
	bool drop_logged;
	bool was_away;
	bool ever_connected;
	uint64_t away_dropped;

	struct publisher_stats stats;

	/* Home Assistant: discovery configs (discovery.c) and the Energy-dashboard guard (guard.c) */
	struct discovery *disc;       /* also when discovery = false: it removes what earlier runs published */
	bool ha_enabled;              /* [homeassistant] discovery */
	char ha_sub[PUBLISH_TOPIC_MAX]; /* HA status topic subscribed on this connection, "" = none */
	char collect_prefix[128];     /* discovery prefix the clean-up ran (or runs) for */
	enum { COLLECT_NEED, COLLECT_RUNNING, COLLECT_WAIT, COLLECT_DONE } collect;
	struct loop_timer *collect_timer;
	struct discovery_batch held;  /* configs built while collecting: sent after the removals */
	uint64_t online_ms;           /* telegram time since the collection ended (stale_after) */
	unsigned stale_after;
	unsigned expire_cfg;          /* [homeassistant] expire_after */
	unsigned expire_period;       /* 3 x the meter's push period, when that is more */
	uint64_t last_gap_ms;
	struct guard *guard;
	struct guard_config guard_cfg;
	struct loop_timer *ha_timer;  /* random delay after Home Assistant's birth message */
	bool ha_state_phase;          /* the timer's second round re-sends the state */
	char *last_state;             /* the last state payload, for HA's birth */
	size_t last_state_len;
	bool device_discovery, reactive_energy_class;
	struct discovery_health health;
	char line_settings[48];
	struct ratelimit guard_log;
};

static void qmsg_clear(struct qmsg *m)
{
	free(m->topic);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

static int qmsg_set(struct qmsg *m, const char *topic, const char *payload, size_t len, int qos, bool retain)
{
	char *t = strdup(topic), *p = malloc(len + 1);
	if (!t || !p) {
		free(t);
		free(p);
		return -1;
	}
	memcpy(p, payload, len);
	p[len] = '\0';
	qmsg_clear(m);
	*m = (struct qmsg){ t, p, len, qos, retain };
	return 0;
}

static bool sink_up(struct publisher *p)
{
	return p->sink.connected(p->sink.ctx);
}

static int sink_send(struct publisher *p, const char *topic, const char *payload, size_t len, int qos, bool retain)
{
	if (!sink_up(p))
		return -1;
	if (p->sink.publish(p->sink.ctx, topic, payload, len, qos, retain) < 0)
		return -1;
	p->stats.published++;
	return 0;
}

static void meter_topic(const struct publisher *p, const char *suffix, char *out)
{
	snprintf(out, PUBLISH_TOPIC_MAX, "%s/%s/%s", p->prefix, p->meter_id, suffix);
}

/* Keep a reading for the broker's return. */
static void keep(struct publisher *p, bool is_state, const char *topic, const char *payload, size_t len)
{
	p->was_away = true;
	if (p->qos == 0 || p->queue_size == 0) {
		qmsg_set(is_state ? &p->latest_state : &p->latest_obis, topic, payload, len, p->qos, p->retain);
		return;
	}
	if (p->ring_cap != p->queue_size) {
		/* first use, or queue_size changed by SIGHUP: start a fresh ring holding what fits */
		struct qmsg *ring = calloc(p->queue_size, sizeof(*ring));
		if (!ring)
			return;
		size_t n = 0;
		while (p->ring_len > 0) {
			struct qmsg *m = &p->ring[p->ring_head];
			if (n < p->queue_size && p->ring_len <= p->queue_size)
				ring[n++] = *m;
			else {
				qmsg_clear(m);
				p->stats.dropped++;
			}
			p->ring_head = (p->ring_head + 1) % p->ring_cap;
			p->ring_len--;
		}
		free(p->ring);
		p->ring = ring;
		p->ring_cap = p->queue_size;
		p->ring_head = 0;
		p->ring_len = n;
	}
	if (p->ring_len == p->ring_cap) {
		qmsg_clear(&p->ring[p->ring_head]);
		p->ring_head = (p->ring_head + 1) % p->ring_cap;
		p->ring_len--;
		p->stats.dropped++;
		p->away_dropped++;
		if (!p->drop_logged) {
			log_warning("mqtt: broker away and %u messages kept: dropping the oldest from now on", p->queue_size);
			p->drop_logged = true;
		}
	}
	size_t tail = (p->ring_head + p->ring_len) % p->ring_cap;
	if (qmsg_set(&p->ring[tail], topic, payload, len, p->qos, p->retain) == 0)
		p->ring_len++;
}

static void flush_kept(struct publisher *p);

static void emit(struct publisher *p, bool is_state, const char *payload, size_t len)
{
	char topic[PUBLISH_TOPIC_MAX];
	meter_topic(p, is_state ? "state" : "obis", topic);
	/* Older kept messages go first, so the broker's retained copy ends at the newest reading. */
	if (sink_up(p) && (p->ring_len || p->latest_obis.topic || p->latest_state.topic))
		flush_kept(p);
	if (p->ring_len == 0 && !p->latest_obis.topic && !p->latest_state.topic &&
	    sink_send(p, topic, payload, len, p->qos, p->retain) == 0)
		return;
	keep(p, is_state, topic, payload, len);
}

static void emit_pair(struct publisher *p, const char *obis, size_t olen, const char *state, size_t slen)
{
	emit(p, false, obis, olen);
	emit(p, true, state, slen);
	p->last_pub_ms = loop_now_ms();
	p->published_once = true;
}

static void publish_availability(struct publisher *p)
{
	char topic[PUBLISH_TOPIC_MAX];
	const char *v = p->meter_online ? "online" : "offline";
	if (!p->have_meter)
		return;
	meter_topic(p, "availability", topic);
	sink_send(p, topic, v, strlen(v), 1, true); /* when it fails, publisher_connected sends the current one */
}

static uint64_t silence_ms(const struct publisher *p)
{
	if (p->offline_after)
		return (uint64_t)p->offline_after * 1000u;
	if (!p->interval_est_ms)
		return PUBLISH_DEFAULT_SILENCE_MS;
	uint64_t t = p->interval_est_ms * PUBLISH_SILENCE_INTERVALS;
	return t < PUBLISH_SILENCE_FLOOR_MS ? PUBLISH_SILENCE_FLOOR_MS : t;
}

static void silence(void *ctx)
{
	struct publisher *p = ctx;
	if (!p->meter_online)
		return;
	p->meter_online = false;
	log_warning("meter %s: no telegram for %llu s; availability offline", p->meter_id,
	            (unsigned long long)((loop_now_ms() - p->last_telegram_ms) / 1000u));
	publish_availability(p);
}

static void interval_due(void *ctx)
{
	struct publisher *p = ctx;
	if (!p->pending_obis.payload)
		return;
	emit_pair(p, p->pending_obis.payload, p->pending_obis.len, p->pending_state.payload, p->pending_state.len);
	qmsg_clear(&p->pending_obis);
	qmsg_clear(&p->pending_state);
}

/* expire_after as sent: the configured value, but never below three push periods (a meter that pushes
 * every 10 minutes) or three publish_interval periods, or every entity would flap to unavailable. */
static unsigned ha_expire(const struct publisher *p)
{
	unsigned e = p->expire_cfg;
	if (!e)
		return 0;
	if (p->publish_interval <= 86400u && e < 3 * p->publish_interval)
		e = 3 * p->publish_interval;
	return e < p->expire_period ? p->expire_period : e;
}

static void ha_options(const struct publisher *p, struct discovery_options *o, const char *prefix)
{
	*o = (struct discovery_options){
		.discovery_prefix = prefix,
		.topic_prefix = p->prefix,
		.instance = p->instance,
		.device_discovery = p->device_discovery,
		.reactive_energy_class = p->reactive_energy_class,
		.expire_after = ha_expire(p),
		.health = true,
		.disabled = !p->ha_enabled,
	};
}

static bool ha_send(struct publisher *p, const struct discovery_batch *b);
static void ha_subscribe(struct publisher *p);
static void collect_start(struct publisher *p);

/* New discovery options: configs that moved (prefix, mode, discovery off) are removed at once. */
static void ha_reoptions(struct publisher *p, const char *prefix)
{
	struct discovery_options o;
	struct discovery_batch gone = { 0 };

	ha_options(p, &o, prefix);
	if (!p->disc) {
		if (!(p->disc = discovery_new(&o)))
			log_err("home assistant: out of memory; discovery disabled");
		return;
	}
	if (discovery_reconfigure(p->disc, &o, &gone) < 0)
		log_err("home assistant: out of memory reconfiguring discovery");
	else if (gone.n && sink_up(p))
		log_info("home assistant: removed %zu discovery configs (prefix, mode or discovery changed)%s", gone.n,
		         ha_send(p, &gone) ? "" : "; the broker went away before all were sent");
	else if (gone.n)
		log_warning("home assistant: broker away: %zu discovery configs of the old prefix or mode stay retained",
		            gone.n);
	discovery_batch_free(&gone);
}

/* [homeassistant]: (re)create the discovery announcer and the guard. */
static void ha_configure(struct publisher *p, const struct config *cfg)
{
	p->ha_enabled = cfg->discovery;
	p->device_discovery = cfg->device_discovery;
	p->reactive_energy_class = cfg->reactive_energy_class;
	p->expire_cfg = cfg->expire_after;
	p->stale_after = cfg->stale_after;
	if (p->collect == COLLECT_RUNNING && strcmp(p->collect_prefix, cfg->discovery_prefix) != 0) {
		/* a window open on the old prefix: close it (its filters would stay subscribed) */
		const char *f[2];
		discovery_cleanup_filters(p->disc, f);
		p->sink.unsubscribe(p->sink.ctx, f[0]);
		p->sink.unsubscribe(p->sink.ctx, f[1]);
		loop_timer_disarm(p->collect_timer);
		discovery_batch_free(&p->held);
	}
	ha_reoptions(p, cfg->discovery_prefix);
	if (strcmp(p->collect_prefix, cfg->discovery_prefix) != 0) {
		/* another prefix holds other retained configs: look there */
		snprintf(p->collect_prefix, sizeof(p->collect_prefix), "%s", cfg->discovery_prefix);
		p->collect = COLLECT_NEED;
	}
	if (sink_up(p)) {
		ha_subscribe(p);
		collect_start(p);
	}
	struct guard_config gc = { .max_jump_kwh = cfg->max_energy_jump_kwh, .max_power_kw = cfg->max_power_kw };
	if (!p->guard || gc.max_jump_kwh != p->guard_cfg.max_jump_kwh || gc.max_power_kw != p->guard_cfg.max_power_kw) {
		guard_free(p->guard);
		p->guard = guard_new(&gc);
		p->guard_cfg = gc;
	}
}

static void apply_config(struct publisher *p, const struct config *cfg)
{
	snprintf(p->prefix, sizeof(p->prefix), "%s", cfg->topic_prefix);
	if (cfg->instance)
		snprintf(p->instance, sizeof(p->instance), "%s", cfg->instance);
	else
		config_default_instance(p->instance, sizeof(p->instance));
	p->fixed_id[0] = '\0';
	if (cfg->meter_id)
		snprintf(p->fixed_id, sizeof(p->fixed_id), "%s", cfg->meter_id);
	p->qos = (int)cfg->qos;
	p->retain = cfg->retain;
	p->publish_interval = cfg->publish_interval;
	p->queue_size = cfg->queue_size;
	p->offline_after = cfg->offline_after;
	p->mult = (struct state_multipliers){ cfg->power_multiplier, cfg->voltage_multiplier, cfg->current_multiplier,
		                              cfg->energy_multiplier };
	snprintf(p->status_topic, sizeof(p->status_topic), "%s/%s/status", p->prefix, p->instance);
	if (p->fixed_id[0])
		snprintf(p->meter_id, sizeof(p->meter_id), "%s", p->fixed_id);
	ha_configure(p, cfg);
}

/* ---- Home Assistant ---- */

/* Configs are retained, QoS 1 (HOME_ASSISTANT.md §4.4). Returns false when the broker went away. */
static bool ha_send(struct publisher *p, const struct discovery_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		log_debug("home assistant: %s %s", b->msgs[i].topic, b->msgs[i].payload);
		if (sink_send(p, b->msgs[i].topic, b->msgs[i].payload, b->msgs[i].len, 1, true) < 0)
			return false;
	}
	return true;
}

static void ha_send_all(struct publisher *p)
{
	struct discovery_batch b = { 0 };
	if (!p->disc || !p->ha_enabled || !sink_up(p))
		return;
	if (discovery_all(p->disc, &b) < 0)
		log_err("home assistant: out of memory listing discovery configs");
	else if (b.n)
		log_info("home assistant: %s %zu discovery configs", ha_send(p, &b) ? "sent" : "could not send", b.n);
	discovery_batch_free(&b);
}

/* New or changed configs for this telegram (nothing when the layout is unchanged); remembers the state
 * so that Home Assistant's birth can be answered with current values. */
static void ha_telegram(struct publisher *p, const struct sm_telegram *t, const char *stext, size_t slen)
{
	struct discovery_batch b = { 0 };
	char *copy;

	if (!p->disc)
		return;
	if ((copy = malloc(slen + 1))) {
		memcpy(copy, stext, slen + 1);
		free(p->last_state);
		p->last_state = copy;
		p->last_state_len = slen;
	}
	if (!sink_up(p) || !p->ha_enabled)
		return; /* publisher_connected() sends every config once the broker is back */
	/* While collecting, stale configs of the other mode must go first (HA refuses a unique_id twice). */
	if (p->collect == COLLECT_RUNNING) {
		if (discovery_update(p->disc, p->meter_id, t, &p->held) < 0)
			log_err("home assistant: out of memory building discovery configs");
		return;
	}
	if (discovery_update(p->disc, p->meter_id, t, &b) < 0)
		log_err("home assistant: out of memory building discovery configs");
	else if (b.n) {
		log_info("home assistant: %zu new or changed discovery configs for meter %s", b.n, p->meter_id);
		ha_send(p, &b);
	}
	discovery_batch_free(&b);
}

/* ---- subscriptions: HA's status, and the retained configs of earlier runs ---- */

static void ha_subscribe(struct publisher *p)
{
	const char *want = p->ha_enabled && p->disc ? discovery_ha_status_topic(p->disc) : "";
	if (!strcmp(want, p->ha_sub) || !p->sink.subscribe)
		return;
	if (p->ha_sub[0])
		p->sink.unsubscribe(p->sink.ctx, p->ha_sub);
	p->ha_sub[0] = '\0';
	if (want[0] && p->sink.subscribe(p->sink.ctx, want, 1) == 0)
		snprintf(p->ha_sub, sizeof(p->ha_sub), "%s", want);
}

static void collect_start(struct publisher *p)
{
	const char *f[2];
	if (p->collect != COLLECT_NEED || !p->disc || !p->sink.subscribe || !sink_up(p))
		return;
	discovery_cleanup_filters(p->disc, f);
	if (p->sink.subscribe(p->sink.ctx, f[0], 1) < 0 || p->sink.subscribe(p->sink.ctx, f[1], 1) < 0)
		return;
	p->collect = COLLECT_RUNNING;
	loop_timer_arm(p->collect_timer, DISCOVERY_COLLECT_MS, 0);
}

static void ha_remove(struct publisher *p, struct discovery_batch *b, const char *why)
{
	if (!b->n)
		return;
	log_info("home assistant: removing %zu retained discovery configs %s", b->n, why);
	for (size_t i = 0; i < b->n; i++)
		log_debug("home assistant: removing %s", b->msgs[i].topic);
	if (!ha_send(p, b))
		log_warning("home assistant: broker went away while removing stale discovery configs");
}

/* The collection window closed: remove what is stale already, keep the rest for stale_after. */
static void collect_due(void *ctx)
{
	struct publisher *p = ctx;
	struct discovery_batch b = { 0 };
	const char *f[2];

	if (!sink_up(p)) {
		p->collect = COLLECT_NEED; /* again on the next connection, which also re-sends the configs */
		discovery_batch_free(&p->held);
		return;
	}
	discovery_cleanup_filters(p->disc, f);
	p->sink.unsubscribe(p->sink.ctx, f[0]);
	p->sink.unsubscribe(p->sink.ctx, f[1]);
	if (discovery_sweep(p->disc, false, &b) < 0)
		log_err("home assistant: out of memory cleaning up discovery configs");
	else
		ha_remove(p, &b, p->ha_enabled ? "of the other discovery mode" : "(discovery = false)");
	discovery_batch_free(&b);
	if (p->held.n) {
		log_info("home assistant: %zu discovery configs for meter %s", p->held.n, p->meter_id);
		ha_send(p, &p->held);
	}
	discovery_batch_free(&p->held);
	p->online_ms = 0;
	p->collect = p->stale_after && discovery_collected(p->disc) ? COLLECT_WAIT : COLLECT_DONE;
	if (p->collect == COLLECT_WAIT)
		log_info("home assistant: %zu retained discovery configs from earlier runs; those not produced again "
		         "within %u s of telegrams will be removed", discovery_collected(p->disc), p->stale_after);
}

/* stale_after seconds of telegrams since the collection: what was not produced again is gone for good. */
static void collect_telegram(struct publisher *p, uint64_t gap_ms)
{
	struct discovery_batch b = { 0 };
	char why[64];

	if (p->collect != COLLECT_WAIT)
		return;
	if (gap_ms < 60000u)
		p->online_ms += gap_ms; /* a pause (cable out) does not count: nothing could have appeared */
	if (p->online_ms < (uint64_t)p->stale_after * 1000u || !sink_up(p))
		return;
	snprintf(why, sizeof(why), "not produced in %u s of telegrams", p->stale_after);
	if (discovery_sweep(p->disc, true, &b) < 0)
		log_err("home assistant: out of memory cleaning up discovery configs");
	else
		ha_remove(p, &b, why);
	discovery_batch_free(&b);
	p->collect = COLLECT_DONE;
}

/* A meter whose push period p is learned from two similar gaps in a row (a single long gap is an outage):
 * expire_after becomes at least 3 p, rounded up to a minute, and the configs are re-sent. */
static void learn_period(struct publisher *p, uint64_t gap_ms)
{
	uint64_t last = p->last_gap_ms;
	p->last_gap_ms = gap_ms;
	if (!last || gap_ms * 4 < last * 3 || gap_ms * 3 > last * 4)
		return;
	uint64_t period = gap_ms > last ? gap_ms : last;
	uint64_t want = (3 * period / 1000u + 59u) / 60u * 60u;
	unsigned before = ha_expire(p);
	if (want <= p->expire_period || want > 86400u)
		return;
	p->expire_period = (unsigned)want;
	if (ha_expire(p) != before && p->disc && p->ha_enabled) {
		log_info("home assistant: meter %s pushes every %.1f s: expire_after raised to %u s", p->meter_id,
		         (double)period / 1000.0, ha_expire(p));
		ha_reoptions(p, p->collect_prefix);
	}
}

/* HOME_ASSISTANT.md §4.1: a random 1-5 s after HA's birth, all configs and availability; 2 s later the
 * current state, so that no entity waits for the next telegram in "unknown". */
static void ha_birth_due(void *ctx)
{
	struct publisher *p = ctx;
	char topic[PUBLISH_TOPIC_MAX];

	if (!p->ha_state_phase) {
		ha_send_all(p);
		if (sink_up(p))
			sink_send(p, p->status_topic, "online", 6, 1, true);
		publish_availability(p);
		p->ha_state_phase = true;
		loop_timer_arm(p->ha_timer, 2000, 0);
		return;
	}
	p->ha_state_phase = false;
	if (p->last_state && p->have_meter) {
		meter_topic(p, "state", topic);
		sink_send(p, topic, p->last_state, p->last_state_len, p->qos, p->retain);
	}
}

/* The Energy-dashboard guard (guard.c): total_increasing values that went down or jumped are replaced
 * by the last good value until following frames confirm them. */
static void ha_guard(struct publisher *p, const struct sm_telegram *t, json_object *state)
{
	const struct sm_obis_info *seen[64];
	size_t nseen = 0;

	if (!p->guard)
		return;
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		const struct sm_obis_info *info = r->has_obis ? sm_obis_lookup(r->obis) : NULL;
		char key[SM_OBIS_KEY_STRLEN], was[SM_NUMBER_STRLEN], now[SM_NUMBER_STRLEN];
		json_object *v;
		struct sm_number n;
		struct guard_result g;
		bool dup = false;

		if (!info || !info->state_class || strcmp(info->state_class, "total_increasing") != 0)
			continue;
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == info;
		if (dup || nseen == sizeof(seen) / sizeof(seen[0]))
			continue; /* one key, one check per frame: a repeated line must not clear a held candidate */
		seen[nseen++] = info;
		if (!sm_obis_state_key(r->obis, key, sizeof(key)) || !json_object_object_get_ex(state, key, &v) ||
		    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
			continue;
		const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		if (!sm_number_parse(text, strlen(text), &n))
			continue;
		const char *unit = info->unit ? info->unit : sm_obis_ha_unit(state_canonical_unit(r->value.unit));
		switch (guard_check(p->guard, loop_now_ms(), p->meter_id, key, unit, &n, &g)) {
		case GUARD_HELD:
			sm_number_format(&g.publish, was, sizeof(was));
			sm_number_format(&n, now, sizeof(now));
			json_object_object_add(state, key, json_object_new_double_s(sm_number_to_double(&g.publish), was));
			if (ratelimit_allow(&p->guard_log, loop_now_ms(), NULL))
				log_warning("meter %s: %s %s from %s to %s%s: held back, publishing %s until confirmed (%u/%u)",
				            p->meter_id, key, g.jump ? "jumped" : "went down", was, now, unit ? unit : "",
				            was, g.pending, GUARD_CONFIRM_FRAMES + 1);
			break;
		case GUARD_CONFIRMED:
			sm_number_format(&g.last, was, sizeof(was));
			sm_number_format(&n, now, sizeof(now));
			log_notice("meter %s: %s changed from %s to %s%s and following telegrams confirm it: publishing it",
			           p->meter_id, key, was, now, unit ? unit : "");
			break;
		case GUARD_UNTRACKED:
		case GUARD_PASS:
		case GUARD_FIRST:
			break;
		}
	}
}

struct publisher *publisher_new(struct loop *loop, const struct config *cfg, const struct publish_sink *sink)
{
	struct publisher *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->sink = *sink;
	snprintf(p->meter_id, sizeof(p->meter_id), "%s", PUBLISH_FALLBACK_METER_ID);
	p->silence_timer = loop_timer_new(loop, silence, p);
	p->interval_timer = loop_timer_new(loop, interval_due, p);
	p->ha_timer = loop_timer_new(loop, ha_birth_due, p);
	p->collect_timer = loop_timer_new(loop, collect_due, p);
	p->guard_log = (struct ratelimit)RATELIMIT_INIT(60000u, 5u);
	apply_config(p, cfg);
	if (!p->silence_timer || !p->interval_timer || !p->ha_timer || !p->collect_timer || !p->disc) {
		publisher_free(p);
		return NULL;
	}
	return p;
}

void publisher_free(struct publisher *p)
{
	if (!p)
		return;
	loop_timer_free(p->silence_timer);
	loop_timer_free(p->interval_timer);
	loop_timer_free(p->ha_timer);
	loop_timer_free(p->collect_timer);
	discovery_batch_free(&p->held);
	discovery_free(p->disc);
	guard_free(p->guard);
	free(p->last_state);
	jw_free(&p->obis_out);
	for (size_t i = 0; i < p->ring_len; i++)
		qmsg_clear(&p->ring[(p->ring_head + i) % p->ring_cap]);
	free(p->ring);
	qmsg_clear(&p->latest_obis);
	qmsg_clear(&p->latest_state);
	qmsg_clear(&p->pending_obis);
	qmsg_clear(&p->pending_state);
	free(p);
}

int publisher_reconfigure(struct publisher *p, const struct config *cfg)
{
	bool online = p->meter_online;
	char old_status[PUBLISH_TOPIC_MAX], old_avail[PUBLISH_TOPIC_MAX];
	snprintf(old_status, sizeof(old_status), "%s", p->status_topic);
	meter_topic(p, "availability", old_avail);
	apply_config(p, cfg);
	char new_avail[PUBLISH_TOPIC_MAX];
	meter_topic(p, "availability", new_avail);
	/* Moved topics: the old retained availability must not say "online" forever. */
	if (p->have_meter && strcmp(old_avail, new_avail)) {
		sink_send(p, old_avail, "offline", 7, 1, true);
		p->meter_online = online;
		publish_availability(p);
	}
	if (strcmp(old_status, p->status_topic) && sink_up(p))
		sink_send(p, p->status_topic, "online", 6, 1, true);
	if (p->meter_online)
		loop_timer_arm(p->silence_timer, silence_ms(p), 0);
	return 0;
}

static void choose_meter_id(struct publisher *p, const struct sm_telegram *t)
{
	char slug[64];
	if (p->fixed_id[0] || !t->meter_id || config_slug(t->meter_id, slug, sizeof(slug)) == 0)
		return;
	if (!strcmp(slug, p->meter_id))
		return;
	if (p->have_meter && strcmp(p->meter_id, PUBLISH_FALLBACK_METER_ID)) {
		/* A different serial number: the meter was replaced (or a second meter shares the line). */
		log_notice("meter id changed from %s to %s", p->meter_id, slug);
		p->meter_online = false;
		publish_availability(p);
	} else if (p->have_meter) {
		p->meter_online = false;
		publish_availability(p);
	}
	snprintf(p->meter_id, sizeof(p->meter_id), "%s", slug);
	log_info("meter id: %s (topics %s/%s/...)", p->meter_id, p->prefix, p->meter_id);
}

void publisher_telegram(struct publisher *p, const struct sm_telegram *t)
{
	uint64_t now = loop_now_ms();
	p->stats.telegrams++;
	choose_meter_id(p, t);

	jw_reset(&p->obis_out);
	bool obis_ok = sm_json_telegram(&p->obis_out, t);
	json_object *state = state_build(t, &p->mult);
	if (!obis_ok || !state) {
		log_err("out of memory building the JSON for a telegram");
		json_object_put(state);
		return;
	}
	ha_guard(p, t, state);
	if (p->ha_enabled) {
		p->health.last_frame = time(NULL);
		discovery_health_add(state, &p->health);
	}
	size_t olen, slen;
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *otext = jw_text(&p->obis_out, &olen);
	const char *stext = json_object_to_json_string_length(state, flags, &slen);

	if (p->have_meter && p->last_telegram_ms && now > p->last_telegram_ms) {
		uint64_t gap = now - p->last_telegram_ms;
		if (gap < 3600u * 1000u) {
			p->interval_est_ms = p->interval_est_ms ? (3 * p->interval_est_ms + gap) / 4 : gap;
			learn_period(p, gap);
		}
		collect_telegram(p, gap);
	}
	p->last_telegram_ms = now;
	p->have_meter = true;
	if (!p->meter_online) {
		p->meter_online = true;
		log_info("meter %s: telegrams arriving; availability online", p->meter_id);
		publish_availability(p);
	}
	loop_timer_arm(p->silence_timer, silence_ms(p), 0);

	ha_telegram(p, t, stext, slen); /* configs before the state they describe */

	uint64_t every = (uint64_t)p->publish_interval * 1000u;
	if (every == 0 || !p->published_once || now - p->last_pub_ms >= every) {
		emit_pair(p, otext, olen, stext, slen);
		qmsg_clear(&p->pending_obis);
		qmsg_clear(&p->pending_state);
		loop_timer_disarm(p->interval_timer);
	} else {
		qmsg_set(&p->pending_obis, "", otext, olen, 0, false);
		qmsg_set(&p->pending_state, "", stext, slen, 0, false);
		if (!loop_timer_armed(p->interval_timer))
			loop_timer_arm(p->interval_timer, p->last_pub_ms + every - now, 0);
	}
	/* Home Assistant discovery: ha_telegram() above, before the state it describes. */
	json_object_put(state);
}

static void flush_kept(struct publisher *p)
{
	uint64_t sent = 0;
	while (p->ring_len > 0) {
		struct qmsg *m = &p->ring[p->ring_head];
		if (sink_send(p, m->topic, m->payload, m->len, m->qos, m->retain) < 0)
			break;
		qmsg_clear(m);
		p->ring_head = (p->ring_head + 1) % p->ring_cap;
		p->ring_len--;
		sent++;
	}
	struct qmsg *latest[] = { &p->latest_obis, &p->latest_state };
	for (size_t i = 0; i < 2; i++) {
		struct qmsg *m = latest[i];
		if (!m->topic || (p->ring_len > 0))
			continue;
		if (sink_send(p, m->topic, m->payload, m->len, m->qos, m->retain) < 0)
			break;
		qmsg_clear(m);
		sent++;
	}
	if (p->was_away && (sent || p->away_dropped)) {
		/* Before the first connection the broker was not "away": say what really happened. */
		const char *when = p->ever_connected ? "while the broker was away" : "before the broker connection";
		if (p->away_dropped)
			log_notice("mqtt: delivered %llu messages kept %s (%llu oldest dropped)", (unsigned long long)sent,
			           when, (unsigned long long)p->away_dropped);
		else
			log_info("mqtt: delivered %llu messages kept %s", (unsigned long long)sent, when);
	}
	if (p->ring_len == 0 && !p->latest_obis.topic && !p->latest_state.topic) {
		p->was_away = false;
		p->away_dropped = 0;
		p->drop_logged = false;
	}
}

void publisher_connected(struct publisher *p)
{
	sink_send(p, p->status_topic, "online", 6, 1, true);
	p->ha_sub[0] = '\0'; /* a new connection starts without subscriptions */
	ha_subscribe(p);
	if (p->collect == COLLECT_RUNNING)
		p->collect = COLLECT_NEED; /* the last window was cut short by the disconnect */
	collect_start(p);
	ha_send_all(p); /* the broker may have lost the retained configs (§4.1: re-send on every connect) */
	publish_availability(p);
	flush_kept(p);
	p->ever_connected = true;
}

void publisher_source_down(struct publisher *p)
{
	loop_timer_disarm(p->silence_timer);
	if (p->meter_online) {
		p->meter_online = false;
		log_info("meter %s: availability offline (serial source lost)", p->meter_id);
		publish_availability(p);
	}
}

void publisher_shutdown(struct publisher *p)
{
	if (p->pending_obis.payload)
		interval_due(p);
	loop_timer_disarm(p->silence_timer);
	loop_timer_disarm(p->interval_timer);
	p->meter_online = false;
	publish_availability(p);
	sink_send(p, p->status_topic, "offline", 7, 1, true);
}

const char *publisher_status_topic(const struct publisher *p)
{
	return p->status_topic;
}

const char *publisher_instance(const struct publisher *p)
{
	return p->instance;
}

const char *publisher_meter_id(const struct publisher *p)
{
	return p->meter_id;
}

void publisher_get_stats(const struct publisher *p, struct publisher_stats *ret)
{
	*ret = p->stats;
	ret->queued = p->ring_len + (p->latest_obis.topic ? 1 : 0) + (p->latest_state.topic ? 1 : 0);
}

void publisher_message(struct publisher *p, const char *topic, const void *payload, size_t len, bool retained)
{
	if (p->collect == COLLECT_RUNNING && retained && discovery_collect(p->disc, topic, payload, len))
		return;
	if (!p->ha_enabled || !discovery_is_ha_online(p->disc, topic, payload, len))
		return;
	/* Spread the load when many publishers answer the same birth (HA docs: small random delay). */
	uint64_t delay = 1000u + (uint64_t)(random() % 4000);
	log_info("home assistant: online; re-sending discovery in %llu ms", (unsigned long long)delay);
	p->ha_state_phase = false;
	loop_timer_arm(p->ha_timer, delay, 0);
}

void publisher_decoder_stats(struct publisher *p, const struct sm_stats *st)
{
	p->health.frames = st->telegrams;
	p->health.crc_errors = st->crc_errors;
	p->health.decrypt_errors = st->decrypt_errors;
}

void publisher_line_settings(struct publisher *p, const char *text)
{
	snprintf(p->line_settings, sizeof(p->line_settings), "%s", text ? text : "");
	p->health.serial = p->line_settings[0] ? p->line_settings : NULL;
}
