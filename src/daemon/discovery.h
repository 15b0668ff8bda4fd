/* discovery.h — Home Assistant MQTT discovery: which retained config messages describe a meter's
 * telegrams (HOME_ASSISTANT.md §1-§5), and the memory that re-sends them only when they change, when a
 * new OBIS code appears, or when Home Assistant announces itself. Builds (topic, payload) pairs with
 * json-c; never touches the broker itself (the publisher hands the pairs over).
 *
 *   <disc>/<component>/<meter_id>/<object_id>/config     per-entity mode (default), retained, QoS 1
 *   <disc>/device/<meter_id>[_mbus<n>]/config            device mode (HA >= 2024.11, opt-in)
 *   object_id = OBIS slug ("1_0_1_8_0") or a derived name ("decoder_frames")
 *   unique_id = smartmeterd_<device id>_<object_id>      stable: never from config or names
 *   state     = <topic_prefix>/<meter_id>/state, value_template {{ value_json.<sm_obis_state_key> }}
 *   availability = <topic_prefix>/<instance>/status + <topic_prefix>/<meter_id>/availability, mode all */
#ifndef SMARTMETERD_DISCOVERY_H
#define SMARTMETERD_DISCOVERY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "smartmeter/reading.h"

/* Prefix of every unique_id and device identifier; part of the entities' identity in HA: never change. */
#define DISCOVERY_ID_PREFIX "smartmeterd"
#define DISCOVERY_ORIGIN_NAME "smartmeterd"
/* Registers and sub-meter values can come hourly (Aidon/Kaifa list 3, DSMR 4 gas): their expire_after
 * is at least two hours and five minutes so that a healthy hourly meter never looks unavailable. */
#define DISCOVERY_MIN_EXPIRE_TOTALS 7500u
/* Config messages kept for re-publication: ~60 entities per meter, a few meters at most. */
#define DISCOVERY_MAX_CONFIGS 2048u
/* Telegram layouts remembered as already described: Nordic lists 1, 2 and 3, DSMR with and without
 * the gas line, and room to spare. */
#define DISCOVERY_LAYOUTS 8u
/* State keys remembered (identity.h persists them). */
#define DISCOVERY_MAX_KEYS 256u

struct discovery_options {
	const char *discovery_prefix; /* "homeassistant" */
	const char *topic_prefix;     /* the daemon's topic root */
	const char *instance;         /* <topic_prefix>/<instance>/status */
	const char *version;          /* origin sw_version; NULL = SMARTMETER_VERSION */
	bool device_discovery;        /* one device message per device instead of one message per entity */
	bool reactive_energy_class;   /* send device_class reactive_energy (HA >= 2025.6 only, §3.6) */
	unsigned expire_after;        /* seconds for measurements, 0 = not sent (totals: >= DISCOVERY_MIN_EXPIRE_TOTALS) */
	bool health;                  /* add the decoder health entities (keys from discovery_health_add) */
	bool disabled;                /* [homeassistant] discovery = false: publish nothing, remove what we published */
	const char *ha_status_topic;  /* HA's birth topic; NULL = <discovery_prefix>/status */
};

struct discovery_msg {
	char *topic;
	char *payload; /* NUL-terminated JSON; len excludes the NUL */
	size_t len;
};

struct discovery_batch {
	struct discovery_msg *msgs;
	size_t n, cap;
};

void discovery_batch_free(struct discovery_batch *b); /* frees the messages, keeps b itself */

/* Pure builder: every config message describing this telegram for the meter published as meter_id
 * (the topic-safe id the publisher uses in <topic_prefix>/<meter_id>/state). Appends to out.
 * 0, or -1 on ENOMEM. */
int discovery_build(const struct discovery_options *o, const char *meter_id, const struct sm_telegram *t,
                    struct discovery_batch *out);
/* The same for a meter whose identity (device block: manufacturer, model, serial, firmware) is known
 * apart from this telegram (identity.h), so every list of one meter describes the same device. */
struct identity;
struct state_list;
/* l: the telegram's state list (state.h) whose keys and units the entities use; NULL = built here. */
int discovery_build_meter(const struct discovery_options *o, const char *meter_id, const struct identity *id,
                          const struct sm_telegram *t, const struct state_list *l, struct discovery_batch *out);

/* ---- the decoder-health entities: the publisher adds these keys to the state object ---- */
struct discovery_health {
	uint64_t frames;          /* telegrams decoded */
	uint64_t crc_errors;
	uint64_t decrypt_errors;
	time_t last_frame;        /* wall clock of the last telegram, 0 = none yet */
	const char *serial;       /* detected serial settings, e.g. "115200 8N1", or NULL */
};
/* Adds decoder_frames, decoder_crc_errors, decoder_decrypt_errors, decoder_last_frame (ISO 8601 UTC),
 * decoder_serial to a telegram's state list. 0 or -1 (ENOMEM). */
struct state_list;
int discovery_health_add(struct state_list *l, const struct discovery_health *h);

/* ---- the announcer: remembers what was published ---- */
struct discovery;

struct discovery *discovery_new(const struct discovery_options *o); /* copies o; NULL on ENOMEM */
void discovery_free(struct discovery *d);                           /* NULL ok */
/* New options (SIGHUP): the next discovery_update() republishes everything that changed. When the
 * discovery prefix or the mode changed, or discovery was turned off, every config published so far is
 * stale: out gets its removal (empty retained payload) and the collected configs are forgotten. 0 or -1. */
int discovery_reconfigure(struct discovery *d, const struct discovery_options *o, struct discovery_batch *out);

/* The configs this telegram needs that were not yet published with identical content (first
 * telegram: all of them; a new OBIS code or a changed device: those; a layout seen among the last
 * DISCOVERY_LAYOUTS again: none, without even building them). id = the meter's learned identity (NULL:
 * from this telegram), l = its state list (NULL: built here). Configs of other layouts stay published: list 1 does not remove list 3's entities.
 * Appends to out; 0 or -1 (ENOMEM). */
int discovery_update(struct discovery *d, const char *meter_id, const struct identity *id,
                     const struct sm_telegram *t, const struct state_list *l, struct discovery_batch *out);
/* The state keys the published entities read (so the state topic can carry every one of them). */
size_t discovery_keys(const struct discovery *d, const char (**ret)[64]);
/* The meter's configs are stale (a stand-in id replaced by the real one): out gets their removals. */
int discovery_forget_meter(struct discovery *d, const char *meter_id, struct discovery_batch *out);

/* Every config published so far (Home Assistant came online, broker reconnected). 0 or -1. */
int discovery_all(const struct discovery *d, struct discovery_batch *out);

/* [homeassistant] status_topic, default "<discovery_prefix>/status": where Home Assistant announces itself (birth "online", will "offline"). */
const char *discovery_ha_status_topic(const struct discovery *d);
/* True when this message is Home Assistant's birth: the caller waits a random 1-5 s, publishes
 * discovery_all() and then the current state (HOME_ASSISTANT.md §4.1). */
bool discovery_is_ha_online(const struct discovery *d, const char *topic, const void *payload, size_t len);

/* ---- clean-up of retained configs a previous run left behind (HOME_ASSISTANT.md §7.8) ----
 * The daemon subscribes to both filters for a few seconds after connecting, hands every retained message
 * to discovery_collect(), unsubscribes, and sends discovery_sweep(all = false) at once: configs of the
 * other mode (device vs per-entity: HA refuses a unique_id twice) or, when discovery is off, all of ours.
 * Configs of ours the daemon simply has not produced yet (a register pushed hourly, an M-Bus meter that
 * comes later) stay until it has received telegrams for [homeassistant] stale_after seconds; then
 * discovery_sweep(all = true) removes what it still has not produced (phases a single-phase meter never
 * sends, a replaced meter, codes an older version published) and forgets the list. */
#define DISCOVERY_COLLECT_MS 3000u
/* "<prefix>/+/+/+/config" (per-entity) and "<prefix>/+/+/config" (device). */
void discovery_cleanup_filters(const struct discovery *d, const char *ret[2]);
/* Keeps topic when payload is a config this instance published (origin smartmeterd and our status topic
 * among its availability topics; another instance's configs are never touched). True when kept. */
bool discovery_collect(struct discovery *d, const char *topic, const void *payload, size_t len);
size_t discovery_collected(const struct discovery *d);
/* Removal messages (empty payload; send retained) for stale collected configs, see above. 0 or -1. */
int discovery_sweep(struct discovery *d, bool all, struct discovery_batch *out);

/* Manufacturer from a DSMR identification line, DLMS list id, logical device name or system title
 * ("ISk5\2MT382-1000" -> "Iskraemeco"); NULL when unknown. */
const char *discovery_vendor(const char *id);

#endif
