/* ha.h — Home Assistant orchestration for one publisher: when discovery configs go out (after the
 * clean-up window of each connection, on HA's birth message, on reconnect, when the meter's push period
 * raises expire_after), the removal of stale retained configs, and the Energy-dashboard guard over the
 * telegram's state list. discovery.c builds the payloads, guard.c judges counters; this file decides and
 * sends through the publisher's sink. It never builds the state topic: the publisher does.
 *
 * Callback rule: the birth callback runs from a loop timer, never from inside an ha_* call, so it may
 * call back into ha_* and the publisher freely. */
#ifndef SMARTMETERD_HA_H
#define SMARTMETERD_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "identity.h"
#include "loop.h"
#include "publish.h"
#include "state.h"

struct ha;

enum ha_birth_phase {
	HA_BIRTH_AVAILABILITY, /* configs were just re-sent: publish status and availability */
	HA_BIRTH_STATE,        /* 2 s later: publish the current state so no entity waits in "unknown" */
};

/* sink is copied (the publisher's transport). NULL on ENOMEM. */
struct ha *ha_new(struct loop *loop, const struct publish_sink *sink,
                  void (*birth)(void *ctx, enum ha_birth_phase phase), void *ctx);
void ha_free(struct ha *h); /* NULL ok */

/* [homeassistant] (and topic prefix / instance / publish_interval): at start and on SIGHUP. Configs that
 * moved (discovery prefix, mode, discovery turned off) are removed at once; a new HA status topic is
 * subscribed. The guard restarts only when its limits changed. */
void ha_configure(struct ha *h, const struct config *cfg, const char *topic_prefix, const char *instance);

bool ha_enabled(const struct ha *h);

/* The broker (re)connected: subscribe to HA's status topic, open the clean-up window, re-send configs. */
void ha_connected(struct ha *h);

/* The energy guard: total_increasing items of this telegram that went down or jumped are replaced by the
 * last good value until following frames confirm them (guard.h); verdicts are logged here. */
void ha_guard(struct ha *h, const char *meter_id, struct state_list *l);

/* One telegram of meter_id whose identity is id and whose state list is l: new or changed configs are
 * sent (held back during the clean-up window); gap_ms (0 = first) learns the push period and counts
 * time towards stale_after. */
void ha_telegram(struct ha *h, const char *meter_id, const struct identity *id, const struct sm_telegram *t,
                 const struct state_list *l, uint64_t gap_ms);

/* The state keys the published entities read: the publisher's state topic carries every one. */
size_t ha_keys(const struct ha *h, const char (**ret)[64]);

/* The configs published under meter_id (a stand-in until the real id arrived) are removed. */
void ha_forget_meter(struct ha *h, const char *meter_id);

/* Every message received on a subscription (HA's birth, retained configs for the clean-up). */
void ha_message(struct ha *h, const char *topic, const void *payload, size_t len, bool retained);

#endif
