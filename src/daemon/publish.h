/* publish.h — decoded telegrams -> MQTT topics, availability, rate limit and the offline queue.
 *
 *   <prefix>/<instance>/status        retained online/offline (offline = Last Will + clean shutdown)
 *   <prefix>/<meter_id>/availability  retained online while telegrams arrive, offline when silent/shut down
 *   <prefix>/<meter_id>/obis          the smartmeter-decode JSON document (src/json/telegram_json.h), one per telegram
 *   <prefix>/<meter_id>/state         friendly keys (state.h)
 *
 * While the broker is away nothing is silently lost: with qos >= 1 up to queue_size obis/state
 * messages are kept in order (the oldest dropped first, counted and logged); with qos 0 (or
 * queue_size 0) the latest obis and state are kept. Both are delivered when the broker returns.
 * The transport is a sink of two functions so tests can run this without a broker. */
#ifndef SMARTMETERD_PUBLISH_H
#define SMARTMETERD_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "smartmeter/reading.h"

struct publish_sink {
	bool (*connected)(void *ctx);
	/* 0 = handed over, -1 = not now (the publisher keeps the message) */
	int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int qos, bool retain);
	/* Optional (NULL = no subscriptions): on the current connection; 0 or -1. */
	int (*subscribe)(void *ctx, const char *topic, int qos);
	int (*unsubscribe)(void *ctx, const char *topic);
	void *ctx;
};

struct publisher;

/* Stand-in meter id, used only when [meter] id is not set, no identity was kept from an earlier run and
 * no telegram has carried a serial number for PUBLISH_IDENTITY_WAIT_MS (Nordic list 2 with the id comes
 * every 10 s; telegrams until then only fill the cached state). Its configs are removed once the real id
 * arrives. */
#define PUBLISH_FALLBACK_METER_ID "meter"
#define PUBLISH_IDENTITY_WAIT_MS 60000u

struct publisher *publisher_new(struct loop *loop, const struct config *cfg, const struct publish_sink *sink);
void publisher_free(struct publisher *p); /* NULL ok */

/* SIGHUP: take over topic prefix, qos, retain, intervals, multipliers, meter id. 0 or -1 (ENOMEM). */
int publisher_reconfigure(struct publisher *p, const struct config *cfg);

void publisher_telegram(struct publisher *p, const struct sm_telegram *t);
/* The broker (re)connected: status online, availability, then everything kept while it was away. */
void publisher_connected(struct publisher *p);
/* The serial source was lost: the meter is offline until telegrams arrive again. */
void publisher_source_down(struct publisher *p);
/* Clean shutdown: last pending reading, availability offline, status offline. */
void publisher_shutdown(struct publisher *p);

const char *publisher_status_topic(const struct publisher *p);
const char *publisher_instance(const struct publisher *p);
/* Current meter id ("meter" before one is known). */
const char *publisher_meter_id(const struct publisher *p);

/* Home Assistant (discovery.c). On every connection the publisher subscribes (through the sink) to
 * <discovery_prefix>/status, and for DISCOVERY_COLLECT_MS to the config topics to find retained configs a
 * previous run left behind. Every message received goes to publisher_message(): HA's "online" is answered
 * with the configs and then the current state after a short random delay; retained configs are collected
 * for the clean-up (discovery.h). */
void publisher_message(struct publisher *p, const char *topic, const void *payload, size_t len, bool retained);
/* Decoder counters for the health entities (frames, CRC errors, decryption failures). */
struct sm_stats;
void publisher_decoder_stats(struct publisher *p, const struct sm_stats *st);
/* Line settings the frames decode at ("115200 8N1"), for the health entity; NULL = unknown. */
void publisher_line_settings(struct publisher *p, const char *text);

struct publisher_stats {
	uint64_t telegrams;  /* handed to publisher_telegram */
	uint64_t published;  /* messages accepted by the sink */
	uint64_t queued;     /* messages currently kept for the broker */
	uint64_t dropped;    /* messages dropped because the queue was full */
};
void publisher_get_stats(const struct publisher *p, struct publisher_stats *ret);

#endif
