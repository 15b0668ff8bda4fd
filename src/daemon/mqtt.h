/* mqtt.h — the broker connection: libmosquitto in external-loop mode, its socket in our epoll loop.
 * The broker's name is looked up off the loop (resolve.h) and every address it resolves to is tried in
 * order, as a blocking connect would; the log names the address that worked. Without TLS libmosquitto is
 * handed the numeric address; with TLS it needs the name for the certificate check and looks it up once
 * more itself (normally answered from the resolver's cache), restricted to the chosen address's family.
 * Reconnects with backoff (1 s doubling to 30 s), keeps the Last Will fixed at connect time.
 * Never logs the password. */
#ifndef SMARTMETERD_MQTT_H
#define SMARTMETERD_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "loop.h"

struct mqtt;

struct mqtt_callbacks {
	void (*on_connect)(void *ctx);    /* CONNACK accepted: (re)publish state */
	void (*on_disconnect)(void *ctx); /* connection lost or refused; reconnect is already scheduled */
	/* may be NULL; retained = delivered because we just subscribed (the broker's stored copy) */
	void (*on_message)(void *ctx, const char *topic, const void *payload, size_t len, bool retained);
	/* may be NULL: true when more than MQTT_BACKLOG_HIGH messages of this connection wait to be written or
	 * acknowledged (the broker is slower than the input), false again at MQTT_BACKLOG_LOW or when the
	 * connection ends. The caller stops reading input meanwhile, so a burst (a replay through a TCP relay)
	 * waits in the kernel instead of piling up in libmosquitto's queue: memory stays bounded. */
	void (*on_backlog)(void *ctx, bool backlogged);
};

#define MQTT_BACKLOG_HIGH 64u
#define MQTT_BACKLOG_LOW 16u

/* The will (retained will_payload on will_topic, QoS 1) is sent by the broker if we vanish.
 * instance only names the setting in the hint logged when the broker keeps closing the connection right
 * after accepting it (another client with our client id). Starts connecting from the loop (the first
 * attempt is never made inside this call). NULL on failure (logged). */
struct mqtt *mqtt_new(struct loop *loop, const struct config *cfg, const char *client_id, const char *instance,
                      const char *will_topic, const char *will_payload, const struct mqtt_callbacks *cb, void *ctx);
void mqtt_free(struct mqtt *m); /* NULL ok; drops the connection without DISCONNECT */
/* Deliberate end for a reconfiguration: logs why (info), writes what is queued, sends DISCONNECT (so no
 * will), frees. Neither on_disconnect nor a "connection lost" line follows. NULL ok. */
void mqtt_close(struct mqtt *m, const char *why);

bool mqtt_is_connected(const struct mqtt *m);

/* Hand a message to libmosquitto. 0 = accepted (QoS >= 1: libmosquitto retries it across a
 * reconnect until acknowledged); -1 = not connected or refused (the caller keeps it). */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain);

/* Subscribe / unsubscribe on the current connection (a new connection starts without subscriptions:
 * subscribe again from on_connect). 0, or -1 when not connected. */
int mqtt_subscribe(struct mqtt *m, const char *topic, int qos);
int mqtt_unsubscribe(struct mqtt *m, const char *topic);

/* Messages handed over but not yet acknowledged by the broker (QoS >= 1) or not yet written. */
unsigned mqtt_pending(const struct mqtt *m);

/* Clean shutdown: wait (in the loop) until pending messages are acknowledged or timeout_ms passes, send
 * DISCONNECT, then call done(ctx). If not connected, done is called from the loop right away. */
void mqtt_shutdown(struct mqtt *m, uint64_t timeout_ms, void (*done)(void *ctx), void *ctx); /* m not NULL */

#endif
