/* publish.c — the topics, availability, publish_interval and offline queue described in publish.h.
 * Writes .../obis and .../state with the streaming writer (src/json) into buffers reused per telegram. Must never drop a message
 * without counting and logging it, and never delay the first reading after start or after a pause. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "discovery.h"
#include "ha.h"
#include "identity.h"
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
/* Moved retained topics waiting to be cleared (status, availability, state, obis of one old prefix). */
#define PUBLISH_MAX_CLEAR 16u

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
	struct loop_timer *silence_timer;
	struct jw obis_out; /* the .../obis text, one buffer reused for every telegram */

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

	/* Home Assistant (ha.c) and the meter's whole state (state.h), identity (identity.h) */
	struct ha *ha;
	struct state_list list;       /* this telegram, reused */
	struct state_cache *cache;    /* the meter's current state: what .../state carries */
	size_t saved_keys;            /* cache size when the identity file was last written */
	struct identity ident;        /* learned (or loaded) identity of the meter on this source */
	char source[256];             /* [serial] device: the identity file is per source */
	char state_dir[256];
	bool store_failed;            /* one warning when state_dir cannot be written */
	uint64_t wait_since_ms;       /* first telegram without a known meter id, 0 = not waiting */
	bool standin;                 /* publishing under PUBLISH_FALLBACK_METER_ID */
	struct jw state_out;          /* the last state payload (also for HA's birth), buffer reused */
	size_t last_state_len;        /* 0 = none */
	struct discovery_health health;
	char line_settings[48];
	char *clear[PUBLISH_MAX_CLEAR];
	size_t nclear;
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

static void apply_config(struct publisher *p, const struct config *cfg)
{
	snprintf(p->prefix, sizeof(p->prefix), "%s", cfg->topic_prefix);
	config_instance(cfg, p->instance, sizeof(p->instance));
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
	snprintf(p->state_dir, sizeof(p->state_dir), "%s", cfg->state_dir ? cfg->state_dir : "");
	if (p->fixed_id[0])
		snprintf(p->meter_id, sizeof(p->meter_id), "%s", p->fixed_id);
	ha_configure(p->ha, cfg, p->prefix, p->instance);
}

/* A meter id is known when [meter] id is set, one was learned or loaded, or the stand-in took over. */
static bool meter_known(const struct publisher *p)
{
	return p->fixed_id[0] || p->ident.meter_id[0] || p->standin;
}

/* Identity and state keys to state_dir, so a restart starts with the same device and every key. */
static void store_identity(struct publisher *p)
{
	const char(*keys)[64] = NULL;
	char(*all)[64] = NULL;
	size_t n = state_cache_size(p->cache);

	if (!p->ident.meter_id[0] || !p->state_dir[0])
		return;
	if (n && (all = calloc(n, sizeof(*all))))
		for (size_t i = 0; i < n; i++)
			snprintf(all[i], sizeof(all[i]), "%s", state_cache_key(p->cache, i));
	keys = (const char(*)[64])all;
	if (identity_save(p->state_dir, p->source, &p->ident, keys, all ? n : 0) < 0) {
		/* No state directory at all is a choice (a test run, no StateDirectory=): say so quietly. */
		if (!p->store_failed)
			log_msg(errno == ENOENT ? LOG_LVL_INFO : LOG_LVL_WARNING,
			        "meter %s: cannot keep its identity in %s: %s; after a restart it is learned again",
			        p->ident.meter_id, p->state_dir, strerror(errno));
		p->store_failed = true;
	} else {
		p->store_failed = false;
		p->saved_keys = all ? n : 0;
	}
	free(all);
}

static void load_identity(struct publisher *p)
{
	char(*keys)[64] = calloc(IDENTITY_MAX_KEYS, sizeof(*keys));
	size_t n = 0;
	struct identity id;

	if (!keys || !p->state_dir[0] || identity_load(p->state_dir, p->source, &id, keys, IDENTITY_MAX_KEYS, &n) < 0) {
		free(keys);
		return;
	}
	p->ident = id;
	for (size_t i = 0; i < n; i++)
		state_cache_want(p->cache, keys[i]);
	p->saved_keys = state_cache_size(p->cache);
	if (!p->fixed_id[0])
		snprintf(p->meter_id, sizeof(p->meter_id), "%s", id.meter_id);
	log_info("meter %s: identity from %s (%s%s%s), %zu state keys", id.meter_id, p->state_dir,
	         id.manufacturer[0] ? id.manufacturer : "manufacturer unknown", id.model[0] ? ", " : "", id.model, n);
	free(keys);
}

static void ha_birth(void *ctx, enum ha_birth_phase phase)
{
	struct publisher *p = ctx;
	char topic[PUBLISH_TOPIC_MAX];

	switch (phase) {
	case HA_BIRTH_AVAILABILITY:
		if (sink_up(p))
			sink_send(p, p->status_topic, "online", 6, 1, true);
		publish_availability(p);
		break;
	case HA_BIRTH_STATE:
		if (p->last_state_len && p->have_meter) {
			meter_topic(p, "state", topic);
			sink_send(p, topic, jw_text(&p->state_out, NULL), p->last_state_len, p->qos, p->retain);
		}
		break;
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
	snprintf(p->source, sizeof(p->source), "%s", cfg->device);
	p->silence_timer = loop_timer_new(loop, silence, p);
	p->interval_timer = loop_timer_new(loop, interval_due, p);
	p->ha = ha_new(loop, sink, ha_birth, p);
	p->cache = state_cache_new();
	if (!p->silence_timer || !p->interval_timer || !p->ha || !p->cache) {
		publisher_free(p);
		return NULL;
	}
	apply_config(p, cfg);
	load_identity(p);
	return p;
}

void publisher_free(struct publisher *p)
{
	if (!p)
		return;
	loop_timer_free(p->silence_timer);
	loop_timer_free(p->interval_timer);
	ha_free(p->ha);
	state_list_free(&p->list);
	state_cache_free(p->cache);
	jw_free(&p->state_out);
	jw_free(&p->obis_out);
	for (size_t i = 0; i < p->ring_len; i++)
		qmsg_clear(&p->ring[(p->ring_head + i) % p->ring_cap]);
	free(p->ring);
	qmsg_clear(&p->latest_obis);
	qmsg_clear(&p->latest_state);
	qmsg_clear(&p->pending_obis);
	qmsg_clear(&p->pending_state);
	for (size_t i = 0; i < p->nclear; i++)
		free(p->clear[i]);
	free(p);
}

/* A retained topic of ours that moved (topic_prefix or instance changed): an empty retained payload
 * removes the broker's copy, now or on the next connection. */
static void clear_later(struct publisher *p, const char *topic)
{
	for (size_t i = 0; i < p->nclear; i++)
		if (!strcmp(p->clear[i], topic))
			return;
	if (p->nclear < PUBLISH_MAX_CLEAR && (p->clear[p->nclear] = strdup(topic)))
		p->nclear++;
}

static void clear_moved(struct publisher *p)
{
	size_t keep = 0;
	for (size_t i = 0; i < p->nclear; i++) {
		if (sink_send(p, p->clear[i], "", 0, 1, true) == 0) {
			log_info("mqtt: cleared the retained %s (topic moved)", p->clear[i]);
			free(p->clear[i]);
		} else {
			p->clear[keep++] = p->clear[i];
		}
	}
	p->nclear = keep;
}

int publisher_reconfigure(struct publisher *p, const struct config *cfg)
{
	if (strcmp(p->source, cfg->device) != 0) {
		/* Another source: the meter on it is whoever its kept identity says, or not known yet. */
		snprintf(p->source, sizeof(p->source), "%s", cfg->device);
		memset(&p->ident, 0, sizeof(p->ident));
		state_cache_reset(p->cache);
		p->saved_keys = 0;
		p->standin = false;
		p->wait_since_ms = 0;
		snprintf(p->state_dir, sizeof(p->state_dir), "%s", cfg->state_dir ? cfg->state_dir : "");
		load_identity(p);
	}
	bool online = p->meter_online;
	char old_status[PUBLISH_TOPIC_MAX], old_avail[PUBLISH_TOPIC_MAX], old_state[PUBLISH_TOPIC_MAX],
		old_obis[PUBLISH_TOPIC_MAX];
	snprintf(old_status, sizeof(old_status), "%s", p->status_topic);
	meter_topic(p, "availability", old_avail);
	meter_topic(p, "state", old_state);
	meter_topic(p, "obis", old_obis);
	apply_config(p, cfg);
	char new_avail[PUBLISH_TOPIC_MAX];
	meter_topic(p, "availability", new_avail);
	/* Moved topics: the old retained availability and status must not say "online" forever. */
	if (p->have_meter && strcmp(old_avail, new_avail)) {
		clear_later(p, old_avail);
		if (p->retain) {
			clear_later(p, old_state);
			clear_later(p, old_obis);
		}
		p->meter_online = online;
		publish_availability(p);
	}
	if (strcmp(old_status, p->status_topic)) {
		clear_later(p, old_status);
		if (sink_up(p))
			sink_send(p, p->status_topic, "online", 6, 1, true);
	}
	if (sink_up(p))
		clear_moved(p);
	if (p->meter_online)
		loop_timer_arm(p->silence_timer, silence_ms(p), 0);
	return 0;
}

/* Whose telegram is this: the identity it carries is folded into what is known about the meter on this
 * source; one without an id belongs to the meter already known. False while no id is known yet
 * (nothing is published under a stand-in until PUBLISH_IDENTITY_WAIT_MS have passed). */
static bool choose_meter(struct publisher *p, const struct sm_telegram *t, uint64_t now)
{
	struct identity fresh;
	char before[64];

	identity_from_telegram(t, &fresh);
	snprintf(before, sizeof(before), "%s", p->ident.meter_id);
	switch (identity_learn(&p->ident, &fresh)) {
	case IDENTITY_SAME:
		break;
	case IDENTITY_MORE:
		log_info("meter %s: %s%s%s", p->ident.meter_id, p->ident.manufacturer, p->ident.manufacturer[0] ? " " : "",
		         p->ident.model);
		store_identity(p);
		break;
	case IDENTITY_NEW_METER:
		if (p->fixed_id[0]) {
			store_identity(p);
			break; /* [meter] id names the topics whatever the meter says */
		}
		if (p->have_meter && (p->standin || before[0])) {
			/* The stand-in's (or the replaced meter's) topics say offline; the stand-in's configs go. */
			if (p->standin)
				log_notice("meter id %s arrived: replacing the stand-in id %s", p->ident.meter_id, p->meter_id);
			else
				log_notice("meter id changed from %s to %s", p->meter_id, p->ident.meter_id);
			p->meter_online = false;
			publish_availability(p);
			if (p->standin)
				ha_forget_meter(p->ha, p->meter_id);
		}
		if (before[0]) {
			/* Another meter than the one known (or kept from the last run): its state is not ours. */
			state_cache_reset(p->cache);
			p->saved_keys = 0;
		}
		p->standin = false;
		snprintf(p->meter_id, sizeof(p->meter_id), "%s", p->ident.meter_id);
		log_info("meter id: %s (topics %s/%s/...)", p->meter_id, p->prefix, p->meter_id);
		store_identity(p);
		break;
	}
	if (meter_known(p))
		return true;
	if (!p->wait_since_ms) {
		p->wait_since_ms = now ? now : 1;
		log_info("meter on %s: waiting up to %u s for a telegram carrying the meter id (list 2/3) before "
		         "publishing; set [meter] id to publish at once", p->source, PUBLISH_IDENTITY_WAIT_MS / 1000u);
	}
	if (now - p->wait_since_ms < PUBLISH_IDENTITY_WAIT_MS)
		return false;
	p->standin = true;
	log_notice("meter on %s: no telegram carried a meter id in %u s: publishing as '%s' (set [meter] id)", p->source,
	           PUBLISH_IDENTITY_WAIT_MS / 1000u, p->meter_id);
	return true;
}

void publisher_telegram(struct publisher *p, const struct sm_telegram *t)
{
	uint64_t now = loop_now_ms();
	const char(*keys)[64];
	p->stats.telegrams++;

	if (state_list_build(&p->list, t, &p->mult) < 0) {
		log_err("out of memory building the state of a telegram");
		return;
	}
	bool known = choose_meter(p, t, now);
	ha_guard(p->ha, p->meter_id, &p->list);
	if (ha_enabled(p->ha)) {
		p->health.last_frame = time(NULL);
		discovery_health_add(&p->list, &p->health);
	}
	if (state_cache_update(p->cache, &p->list, now) < 0)
		log_debug("meter %s: state keys beyond %u are not cached", p->meter_id, STATE_CACHE_MAX_KEYS);
	if (!known)
		return; /* the cache keeps the values for the first state message */

	uint64_t gap = 0;
	if (p->have_meter && p->last_telegram_ms && now > p->last_telegram_ms) {
		gap = now - p->last_telegram_ms;
		if (gap < 3600u * 1000u)
			p->interval_est_ms = p->interval_est_ms ? (3 * p->interval_est_ms + gap) / 4 : gap;
	}
	p->last_telegram_ms = now;
	p->have_meter = true;
	if (!p->meter_online) {
		p->meter_online = true;
		log_info("meter %s: telegrams arriving; availability online", p->meter_id);
		publish_availability(p);
	}
	loop_timer_arm(p->silence_timer, silence_ms(p), 0);

	ha_telegram(p->ha, p->meter_id, &p->ident, t, &p->list, gap); /* configs before the state they describe */
	size_t nkeys = ha_keys(p->ha, &keys);
	for (size_t i = 0; i < nkeys; i++)
		state_cache_want(p->cache, keys[i]); /* every key an entity reads, null until it has a value */
	if (state_cache_size(p->cache) != p->saved_keys)
		store_identity(p);

	/* Both texts go into buffers kept from the last telegram: no allocation once they have grown. */
	jw_reset(&p->obis_out);
	jw_reset(&p->state_out);
	bool ok = sm_json_telegram(&p->obis_out, t);
	ok = state_cache_write(&p->state_out, p->cache, now) && ok;
	p->last_state_len = 0;
	if (!ok) {
		log_err("out of memory building the JSON for a telegram");
		return;
	}
	size_t olen, slen;
	const char *otext = jw_text(&p->obis_out, &olen);
	const char *stext = jw_text(&p->state_out, &slen);
	p->last_state_len = slen;

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
	clear_moved(p);
	ha_connected(p->ha);
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
	ha_message(p->ha, topic, payload, len, retained);
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
