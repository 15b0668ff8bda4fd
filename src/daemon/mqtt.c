/* mqtt.c — libmosquitto driven from our epoll loop (mosquitto_socket, loop_read/write/misc, want_write).
 * The only file that includes <mosquitto.h>. No thread, no blocking socket call, no sleep: the
 * connection attempt is asynchronous, reconnects wait on a timerfd with backoff, keepalive pings run
 * from a timer at about half the keepalive while connected (an idle daemon wakes every 28.5 s by default,
 * not every second). Must never log the password. */
#include <errno.h>
#include <netdb.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mqtt.h"
#include "resolve.h"

#define MQTT_BACKOFF_MIN_MS 1000u
#define MQTT_BACKOFF_MAX_MS 30000u
/* loop_misc only checks the keepalive in libmosquitto 2.0: PINGREQ once keepalive seconds passed without
 * traffic either way (whole seconds), the connection closed when a PINGREQ got no answer by the next
 * check. Checking every keepalive / 2 - 1.5 s sends the ping at most keepalive / 2 - 0.5 s late, inside
 * the broker's limit of 1.5 x keepalive (keepalive 60: every 28.5 s; the minimum keepalive 5: every 1 s). */
#define MQTT_MISC_MARGIN_MS 1500u
#define MQTT_MISC_MIN_MS 1000u
/* A connection the broker ends this soon after accepting it, twice in a row, was most likely taken over
 * by another client with the same client id (MQTT 3.1.1 §3.1.4: the broker disconnects the older one). */
#define MQTT_CLASH_MS 3000u
#define MQTT_CLASH_COUNT 2u
/* An address that neither accepts nor refuses (a firewall dropping packets) is given up after this long,
 * and the next address tried, instead of waiting for the kernel's two-minute SYN timeout. */
#define MQTT_ATTEMPT_TIMEOUT_MS 10000u

struct mqtt {
	struct loop *loop;
	struct mosquitto *mosq;
	struct loop_watch *watch;
	uint32_t watched_events;
	struct loop_timer *reconnect_timer;
	struct loop_timer *misc_timer;
	struct loop_timer *shutdown_timer;
	struct loop_timer *attempt_timer;
	struct backoff backoff;
	bool first_attempt_done;
	bool connected;
	bool connecting;      /* socket opened, first writability not seen yet */
	bool ever_connected;
	bool trouble_logged;  /* one warning per outage, the retries go to debug */
	int last_connack;
	bool shutting_down;
	bool done_called;
	void (*done)(void *ctx);
	void *done_ctx;
	unsigned pending;
	unsigned backlog;     /* handed over on this connection, not yet written (QoS 0) or acknowledged */
	bool backlogged;      /* on_backlog(true) was the last call */
	char *host;
	bool tls;             /* the certificate names the host: libmosquitto must be given the name, not an address */
	struct resolver *lookup;
	struct resolve_result addrs; /* the broker name's addresses, tried in order */
	size_t addr_idx;
	bool have_addrs;
	int connect_errno;    /* why the current attempt failed, when we saw it first (0 = ask libmosquitto) */
	char *client_id, *instance;
	uint64_t connected_ms;
	unsigned short_lived;  /* connections in a row the broker closed within MQTT_CLASH_MS */
	bool clash_logged;
	unsigned port;
	unsigned keepalive;
	struct mqtt_callbacks cb;
	void *ctx;
};

static int lib_users;

static void update_events(struct mqtt *m);
static void schedule_reconnect(struct mqtt *m);

static void drop_watch(struct mqtt *m)
{
	loop_watch_remove(m->watch);
	m->watch = NULL;
	m->watched_events = 0;
}

static void finish_shutdown(struct mqtt *m)
{
	if (m->done_called)
		return;
	m->done_called = true;
	loop_timer_disarm(m->shutdown_timer);
	if (m->done)
		m->done(m->done_ctx);
}

static void set_backlog(struct mqtt *m, unsigned n)
{
	m->backlog = n;
	bool want = m->connected && (m->backlogged ? n > MQTT_BACKLOG_LOW : n > MQTT_BACKLOG_HIGH);
	if (want == m->backlogged)
		return;
	m->backlogged = want;
	if (m->cb.on_backlog)
		m->cb.on_backlog(m->ctx, want);
}

static void on_lost(struct mqtt *m, int rc)
{
	bool was_connected = m->connected;
	loop_timer_disarm(m->attempt_timer);
	if (m->connect_errno) {
		rc = MOSQ_ERR_ERRNO;
		errno = m->connect_errno;
		m->connect_errno = 0;
	}
	m->connected = false;
	m->connecting = false;
	drop_watch(m);
	loop_timer_disarm(m->misc_timer);
	set_backlog(m, 0); /* while away the publisher keeps what arrives: input must flow */
	if (m->shutting_down) {
		finish_shutdown(m);
		return;
	}
	/* Refused before CONNACK: the next address of the name, at once, as a blocking connect would. */
	if (!was_connected && m->have_addrs && m->addr_idx + 1 < m->addrs.n) {
		log_debug("mqtt: %s (%s) port %u: %s; trying %s", m->host, m->addrs.addr[m->addr_idx].text, m->port,
		          rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), m->addrs.addr[m->addr_idx + 1].text);
		m->addr_idx++;
		loop_timer_arm(m->reconnect_timer, 1, 0);
		return;
	}
	m->have_addrs = false; /* the next attempt looks the name up again */
	if (was_connected && loop_now_ms() - m->connected_ms < MQTT_CLASH_MS) {
		if (++m->short_lived >= MQTT_CLASH_COUNT && !m->clash_logged) {
			log_warning("mqtt: the broker closed the connection right after accepting it, %u times in a row: "
			            "another client probably uses the same client id '%s' (hint: give each daemon its own "
			            "[mqtt] instance; this one is '%s')", m->short_lived, m->client_id, m->instance);
			m->clash_logged = true;
		}
	} else if (was_connected) {
		m->short_lived = 0;
	}
	if (was_connected) {
		log_warning("mqtt: connection to %s:%u lost (%s); reconnecting with backoff (1 s .. 30 s)", m->host, m->port,
		            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		m->trouble_logged = true;
	} else if (!m->trouble_logged) {
		log_warning("mqtt: cannot connect to %s:%u: %s; retrying with backoff (1 s .. 30 s)", m->host, m->port,
		            rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		m->trouble_logged = true;
	}
	schedule_reconnect(m);
	if (was_connected && m->cb.on_disconnect)
		m->cb.on_disconnect(m->ctx);
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	on_lost(obj, rc);
}

static void cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;
	(void)mosq;
	if (rc != 0) {
		/* Refused (bad credentials, not authorised): say so once per distinct reason, then back off. */
		if (rc != m->last_connack)
			log_err("mqtt: broker %s:%u refused the connection: %s", m->host, m->port, mosquitto_connack_string(rc));
		m->last_connack = rc;
		m->trouble_logged = true;
		mosquitto_disconnect(mosq);
		return;
	}
	m->connected = true;
	m->connecting = false;
	m->backlog = 0;
	loop_timer_disarm(m->attempt_timer);
	m->last_connack = 0;
	m->connected_ms = loop_now_ms();
	backoff_reset(&m->backoff);
	if (m->trouble_logged || !m->ever_connected) {
		const char *addr = m->have_addrs ? m->addrs.addr[m->addr_idx].text : m->host;
		if (strcmp(addr, m->host))
			log_info("mqtt: connected to %s:%u (address %s)", m->host, m->port, addr);
		else
			log_info("mqtt: connected to %s:%u", m->host, m->port);
	}
	m->trouble_logged = false;
	m->ever_connected = true;
	uint64_t misc_ms = (uint64_t)m->keepalive * 500u;
	misc_ms = misc_ms > MQTT_MISC_MIN_MS + MQTT_MISC_MARGIN_MS ? misc_ms - MQTT_MISC_MARGIN_MS : MQTT_MISC_MIN_MS;
	loop_timer_arm(m->misc_timer, misc_ms, misc_ms);
	if (m->cb.on_connect)
		m->cb.on_connect(m->ctx);
	update_events(m);
}

static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;
	(void)mosq;
	(void)mid;
	if (m->pending > 0)
		m->pending--;
	if (m->backlog > 0)
		set_backlog(m, m->backlog - 1);
	if (m->shutting_down && m->pending == 0 && m->connected)
		mosquitto_disconnect(m->mosq);
}

static void cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	(void)mosq;
	if (m->cb.on_message)
		m->cb.on_message(m->ctx, msg->topic, msg->payload, (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0),
		                 msg->retain);
}

static void cb_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	(void)obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_debug("mqtt: libmosquitto: %s", str);
}

static void io_ready(void *ctx, uint32_t events)
{
	struct mqtt *m = ctx;
	int rc;

	if (!m->connected && (events & (EPOLLHUP | EPOLLERR))) {
		/* Refused or reset before CONNACK. Over TLS libmosquitto's read only sees "want read" and would
		 * be woken for ever: end the attempt here (DISCONNECT + write closes its socket). */
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(mosquitto_socket(m->mosq), SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err)
			err = ECONNREFUSED;
		m->connect_errno = err;
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_write(m->mosq, 1);
		if (m->watch) {
			errno = err;
			on_lost(m, MOSQ_ERR_ERRNO);
		}
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		rc = mosquitto_loop_read(m->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (m->watch) /* libmosquitto may have reported it through cb_disconnect already */
				on_lost(m, rc);
			return;
		}
	}
	if (m->watch && (events & EPOLLOUT)) {
		m->connecting = false;
		rc = mosquitto_loop_write(m->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (m->watch)
				on_lost(m, rc);
			return;
		}
	}
	update_events(m);
}

static void update_events(struct mqtt *m)
{
	int fd = mosquitto_socket(m->mosq);
	if (fd < 0) {
		drop_watch(m);
		return;
	}
	/* A fresh non-blocking connect reports completion as writability, and libmosquitto only sends
	 * CONNECT from loop_write; want_write() is false until then, so ask for EPOLLOUT explicitly. */
	uint32_t want = EPOLLIN | ((m->connecting || mosquitto_want_write(m->mosq)) ? EPOLLOUT : 0);
	if (!m->watch) {
		m->watch = loop_watch_add(m->loop, fd, want, io_ready, m);
		m->watched_events = want;
		return;
	}
	if (want != m->watched_events && loop_watch_modify(m->watch, want) == 0)
		m->watched_events = want;
}

static void misc_tick(void *ctx)
{
	struct mqtt *m = ctx;
	if (mosquitto_socket(m->mosq) < 0)
		return;
	mosquitto_loop_misc(m->mosq);
	if (m->watch)
		update_events(m);
}

static void connect_failed(struct mqtt *m, const char *why)
{
	if (!m->trouble_logged)
		log_warning("mqtt: cannot connect to %s:%u: %s; retrying with backoff (1 s .. 30 s)", m->host, m->port, why);
	else
		log_debug("mqtt: cannot connect to %s:%u: %s", m->host, m->port, why);
	m->trouble_logged = true;
	m->have_addrs = false;
	schedule_reconnect(m);
}

/* One attempt at addrs[addr_idx]. Without TLS libmosquitto gets the numeric address (no second lookup
 * inside the loop). With TLS it needs the name for the certificate check: binding the socket to the
 * wildcard of the chosen address's family makes it skip addresses of the other family, which covers the
 * dual-stack case (localhost = ::1 and 127.0.0.1); of several addresses of one family it takes the first. */
static void attempt(struct mqtt *m)
{
	const struct resolve_addr *a = &m->addrs.addr[m->addr_idx];
	int rc;

	errno = 0;
	if (!m->tls)
		rc = mosquitto_connect_async(m->mosq, a->text, (int)m->port, (int)m->keepalive);
	else
		rc = mosquitto_connect_bind_async(m->mosq, m->host, (int)m->port, (int)m->keepalive,
		                                  a->family == AF_INET6 ? "::" : "0.0.0.0");
	m->first_attempt_done = true;
	if (rc != MOSQ_ERR_SUCCESS) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
		if (m->addr_idx + 1 < m->addrs.n) {
			log_debug("mqtt: %s (%s): %s; trying %s", m->host, a->text, why, m->addrs.addr[m->addr_idx + 1].text);
			m->addr_idx++;
			loop_timer_arm(m->reconnect_timer, 1, 0);
			return;
		}
		connect_failed(m, why);
		return;
	}
	m->connecting = true;
	drop_watch(m);
	update_events(m);
	loop_timer_arm(m->attempt_timer, MQTT_ATTEMPT_TIMEOUT_MS, 0);
}

/* No CONNACK in time: this address is treated as refusing (the next connect closes its socket). */
static void attempt_timeout(void *ctx)
{
	struct mqtt *m = ctx;
	if (m->connected || m->shutting_down)
		return;
	drop_watch(m);
	m->connect_errno = ETIMEDOUT;
	on_lost(m, MOSQ_ERR_ERRNO);
}

static void resolved(void *ctx, const struct resolve_result *r)
{
	struct mqtt *m = ctx;
	m->lookup = NULL;
	if (m->shutting_down)
		return;
	if (r->gai_err || r->n == 0) {
		char why[160];
		snprintf(why, sizeof(why), "cannot resolve the name: %s", r->gai_err ? gai_strerror(r->gai_err) : "no address");
		connect_failed(m, why);
		return;
	}
	m->addrs = *r;
	m->addr_idx = 0;
	m->have_addrs = true;
	if (log_enabled(LOG_LVL_DEBUG))
		for (size_t i = 0; i < r->n; i++)
			log_debug("mqtt: %s is %s", m->host, r->addr[i].text);
	attempt(m);
}

static void try_connect(void *ctx)
{
	struct mqtt *m = ctx;
	char port[8];

	if (m->shutting_down || m->lookup)
		return;
	if (m->have_addrs) {
		attempt(m); /* the next address of the current lookup */
		return;
	}
	snprintf(port, sizeof(port), "%u", m->port);
	/* Off the loop: a slow or dead DNS server must not stop the serial side. */
	if (!(m->lookup = resolve_start(m->loop, m->host, port, resolved, m)))
		connect_failed(m, strerror(errno));
}

static void schedule_reconnect(struct mqtt *m)
{
	uint64_t d = backoff_next(&m->backoff);
	log_debug("mqtt: next connection attempt in %llu ms", (unsigned long long)d);
	loop_timer_arm(m->reconnect_timer, d, 0);
}

static void shutdown_timeout(void *ctx)
{
	struct mqtt *m = ctx;
	if (m->connected && m->pending)
		log_warning("mqtt: %u message(s) not acknowledged at shutdown", m->pending);
	finish_shutdown(m);
}

struct mqtt *mqtt_new(struct loop *loop, const struct config *cfg, const char *client_id, const char *instance,
                      const char *will_topic, const char *will_payload, const struct mqtt_callbacks *cb, void *ctx)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return NULL;
	if (lib_users++ == 0)
		mosquitto_lib_init();
	m->loop = loop;
	m->cb = *cb;
	m->ctx = ctx;
	m->backoff = (struct backoff)BACKOFF_INIT(MQTT_BACKOFF_MIN_MS, MQTT_BACKOFF_MAX_MS);
	m->host = strdup(cfg->host);
	m->client_id = strdup(client_id);
	m->instance = strdup(instance ? instance : "");
	m->port = config_mqtt_port(cfg);
	m->keepalive = cfg->keepalive;
	m->tls = cfg->tls;
	m->mosq = mosquitto_new(client_id, true, m);
	m->reconnect_timer = loop_timer_new(loop, try_connect, m);
	m->misc_timer = loop_timer_new(loop, misc_tick, m);
	m->shutdown_timer = loop_timer_new(loop, shutdown_timeout, m);
	m->attempt_timer = loop_timer_new(loop, attempt_timeout, m);
	if (!m->host || !m->client_id || !m->instance || !m->mosq || !m->reconnect_timer || !m->misc_timer || !m->shutdown_timer ||
	    !m->attempt_timer) {
		log_err("mqtt: cannot set up the client: %s", strerror(errno ? errno : ENOMEM));
		mqtt_free(m);
		return NULL;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, cfg->protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(m->mosq, cb_connect);
	mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
	mosquitto_publish_callback_set(m->mosq, cb_publish);
	mosquitto_message_callback_set(m->mosq, cb_message);
	mosquitto_log_callback_set(m->mosq, cb_log);
	rc = mosquitto_will_set(m->mosq, will_topic, (int)strlen(will_payload), will_payload, 1, true);
	if (rc == MOSQ_ERR_SUCCESS && cfg->username)
		rc = mosquitto_username_pw_set(m->mosq, cfg->username, cfg->password);
	if (rc == MOSQ_ERR_SUCCESS && cfg->tls) {
		rc = mosquitto_tls_set(m->mosq, cfg->tls_ca_file, NULL, cfg->tls_cert_file, cfg->tls_key_file, NULL);
		if (rc == MOSQ_ERR_SUCCESS && cfg->tls_insecure)
			rc = mosquitto_tls_insecure_set(m->mosq, true);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		log_err("mqtt: cannot configure the client: %s", rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		mqtt_free(m);
		return NULL;
	}
	loop_timer_arm(m->reconnect_timer, 1, 0); /* first attempt from the loop, after setup finished */
	return m;
}

void mqtt_free(struct mqtt *m)
{
	if (!m)
		return;
	drop_watch(m);
	resolve_cancel(m->lookup);
	loop_timer_free(m->reconnect_timer);
	loop_timer_free(m->misc_timer);
	loop_timer_free(m->shutdown_timer);
	loop_timer_free(m->attempt_timer);
	if (m->mosq) {
		/* Destroying closes the socket without DISCONNECT: the broker then sends our will. */
		mosquitto_disconnect_callback_set(m->mosq, NULL);
		mosquitto_destroy(m->mosq);
	}
	free(m->host);
	free(m->client_id);
	free(m->instance);
	free(m);
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
}

void mqtt_close(struct mqtt *m, const char *why)
{
	if (!m)
		return;
	log_info("mqtt: disconnecting from %s:%u: %s", m->host, m->port, why);
	/* What libmosquitto reports from here on is this deliberate end, not a lost connection. */
	mosquitto_disconnect_callback_set(m->mosq, NULL);
	if (m->connected) {
		mosquitto_loop_write(m->mosq, 1);
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_write(m->mosq, 1);
	}
	mqtt_free(m);
}

bool mqtt_is_connected(const struct mqtt *m)
{
	return m && m->connected;
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	if (!m->connected || (m->shutting_down && m->done_called))
		return -1;
	int rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("mqtt: publish to '%s' failed: %s", topic, mosquitto_strerror(rc));
		return -1;
	}
	m->pending++;
	set_backlog(m, m->backlog + 1);
	update_events(m);
	return 0;
}

int mqtt_subscribe(struct mqtt *m, const char *topic, int qos)
{
	if (!m || !m->connected || mosquitto_subscribe(m->mosq, NULL, topic, qos) != MOSQ_ERR_SUCCESS)
		return -1;
	update_events(m);
	return 0;
}

int mqtt_unsubscribe(struct mqtt *m, const char *topic)
{
	if (!m || !m->connected || mosquitto_unsubscribe(m->mosq, NULL, topic) != MOSQ_ERR_SUCCESS)
		return -1;
	update_events(m);
	return 0;
}

unsigned mqtt_pending(const struct mqtt *m)
{
	return m->pending;
}

void mqtt_shutdown(struct mqtt *m, uint64_t timeout_ms, void (*done)(void *ctx), void *ctx)
{
	m->shutting_down = true;
	m->done = done;
	m->done_ctx = ctx;
	loop_timer_disarm(m->reconnect_timer);
	if (!m->connected) {
		loop_timer_arm(m->shutdown_timer, 1, 0);
		return;
	}
	loop_timer_arm(m->shutdown_timer, timeout_ms, 0);
	if (m->pending == 0) {
		mosquitto_disconnect(m->mosq);
		if (m->watch)
			update_events(m);
	}
}
