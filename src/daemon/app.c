/* app.c — the daemon's lifecycle (see app.h): serial bytes -> decoder -> publisher -> MQTT, all in
 * one epoll loop; SIGHUP swaps in a configuration only if it passes the same checks as --check-config.
 * Must never print or log key material, never exit on a runtime failure that a reconnect can cure,
 * and never hand a NULL client to the MQTT module. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "c1218_source.h"
#include "capture.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"
#include "overrides.h"
#include "publish.h"
#include "serial.h"
#include "smartmeter/decoder.h"

/* How long a clean shutdown waits for the broker to acknowledge the last messages. */
#define SHUTDOWN_TIMEOUT_MS 3000u
/* Bytes kept for capture_file when nothing has formed a frame since the port opened (an inverted cable,
 * a wrong speed): one sample per open, so the file gets something to attach to a report but no stream. */
#define UNFRAMED_SAMPLE_BYTES 4096u
/* Per-frame error lines: at most this many per minute, then a count of what was swallowed. */
#define FRAME_ERROR_BURST 5u
#define FRAME_ERROR_WINDOW_MS 60000u

struct app {
	struct loop *loop;
	struct config cfg;
	const char *config_path;
	const char *instance; /* --instance, applied on every load */
	bool verbose;
	struct sm_decoder *dec;
	struct source *src;
	struct c1218_poller *poller; /* [meter] protocol = c1218 instead of src */
	struct mqtt *mqtt;
	struct publisher *pub;
	struct capture *cap;
	bool capture_failed;
	uint8_t unframed[UNFRAMED_SAMPLE_BYTES]; /* since the port opened, while no telegram decoded */
	size_t nunframed;
	bool sample_done;                        /* kept (or a telegram decoded): nothing more this open */
	struct ratelimit frame_errors;
	struct ratelimit frame_warnings;
	bool stopping;
	struct raw_notes raw_notes; /* codes already named in the log as published raw */
};

/* ---- decoder callbacks ---- */

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	struct app *app = ctx;
	struct sm_stats st;
	sm_decoder_stats(app->dec, &st);
	overrides_note_raw(&app->raw_notes, t);
	if (app->src) {
		char line[48];
		source_frame_ok(app->src, st.high_bit_seen);
		publisher_line_settings(app->pub, source_settings(app->src, line, sizeof(line)));
	}
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("telegram: %s%s, %zu bytes at offset %llu, %zu values, meter id %s%s",
		          t->protocol == SM_PROTOCOL_DSMR    ? "DSMR"
		          : t->protocol == SM_PROTOCOL_SML   ? "SML"
		          : t->protocol == SM_PROTOCOL_C1218 ? "C12.18"
		                                             : "DLMS",
		          t->framing == SM_FRAMING_DSMR || t->framing == SM_FRAMING_SML || t->framing == SM_FRAMING_C1218 ? "" : t->framing == SM_FRAMING_HDLC ? " in HDLC" :
		          t->framing == SM_FRAMING_MBUS ? " in M-Bus" : " (bare APDU)", t->length, (unsigned long long)t->offset, t->nreadings,
		          t->meter_id ? t->meter_id : "(none)", t->encrypted ? ", decrypted" : "");
	publisher_decoder_stats(app->pub, &st);
	publisher_telegram(app->pub, t);
	app->sample_done = true; /* frames decode: no sample needed this open */
}

/* A frame whose checksum held but that could not be used still proves the line settings right. */
static bool frame_was_intact(enum sm_err e)
{
	switch (e) {
	case SM_E_NO_KEY:
	case SM_E_DECRYPT:
	case SM_E_AUTH:
	case SM_E_REPLAY:
	case SM_E_LAYOUT:
	case SM_E_UNSUPPORTED:
	case SM_E_AXDR:
	case SM_E_DEPTH:
	case SM_E_COUNT:
	case SM_E_SEQUENCE:
	case SM_E_INCOMPLETE:
		return true;
	case SM_OK:
	case SM_E_NOMEM:
	case SM_E_INVAL:
	case SM_E_TRUNCATED:
	case SM_E_TOO_LONG:
	case SM_E_CRC:
	case SM_E_HCS:
	case SM_E_FCS:
	case SM_E_CHECKSUM:
	case SM_E_SYNTAX:
	case SM_E_CRYPTO:
		return false;
	}
	return false;
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	struct app *app = ctx;
	unsigned long suppressed = 0;
	bool detecting = app->src && source_detecting(app->src);
	enum log_level level = LOG_LVL_DEBUG;
	struct ratelimit *rl = NULL;

	switch (ev->level) {
	case SM_EVENT_ERROR:
		if (app->src) {
			if (frame_was_intact(ev->err))
				source_frame_ok(app->src, false);
			else
				source_frame_bad(app->src);
		}
		level = detecting ? LOG_LVL_DEBUG : LOG_LVL_WARNING;
		rl = &app->frame_errors;
		break;
	case SM_EVENT_WARNING:
		level = LOG_LVL_WARNING;
		rl = &app->frame_warnings;
		break;
	case SM_EVENT_NOTE:
		break;
	}
	if (level <= LOG_LVL_WARNING && rl && !ratelimit_allow(rl, loop_now_ms(), &suppressed))
		level = LOG_LVL_DEBUG;
	if (suppressed)
		log_warning("decoder: %lu similar messages suppressed in the last minute", suppressed);
	if (log_enabled(level)) {
		const char *hint = ev->err == SM_E_NO_KEY ? " (hint: set key or key_file in [meter])" :
		                   ev->err == SM_E_AUTH || ev->err == SM_E_DECRYPT ? " (hint: check key/auth_key in [meter])" :
		                                                                     "";
		log_msg(level, "decoder: %s at offset %llu (%s, %zu bytes): %s%s",
		        ev->level == SM_EVENT_ERROR ? "frame rejected" : ev->level == SM_EVENT_WARNING ? "warning" : "note",
		        (unsigned long long)ev->offset, sm_framing_name(ev->framing), ev->length, ev->detail, hint);
	}
	/* The raw bytes of a rejected frame (never key material: the library hands out wire bytes only). */
	if (ev->level == SM_EVENT_ERROR && ev->raw && ev->raw_len) {
		if (log_enabled(LOG_LVL_DEBUG)) {
			char hex[2048];
			log_hex(ev->raw, ev->raw_len, hex, sizeof(hex));
			log_debug("decoder: rejected frame: %s", hex);
		}
		if (app->cap && capture_write(app->cap, ev->raw, ev->raw_len) < 0 && !app->capture_failed) {
			log_warning("capture: cannot write %s: %s; not capturing until reload", app->cfg.capture_file,
			            strerror(errno));
			app->capture_failed = true;
		}
	}
}

/* ---- source callbacks ---- */

/* The sample of bytes that formed no frame, once it is full (see UNFRAMED_SAMPLE_BYTES). */
static void keep_unframed(struct app *app, const uint8_t *buf, size_t len)
{
	size_t take = UNFRAMED_SAMPLE_BYTES - app->nunframed;
	if (!app->cap || app->sample_done)
		return;
	if (take > len)
		take = len;
	memcpy(app->unframed + app->nunframed, buf, take);
	app->nunframed += take;
	if (app->nunframed < UNFRAMED_SAMPLE_BYTES)
		return;
	app->sample_done = true;
	if (capture_write(app->cap, app->unframed, app->nunframed) < 0) {
		if (!app->capture_failed)
			log_warning("capture: cannot write %s: %s; not capturing until reload", app->cfg.capture_file,
			            strerror(errno));
		app->capture_failed = true;
		return;
	}
	log_notice("capture: the first %zu bytes from %s formed no frame: kept them in %s (attach it to a report)",
	           app->nunframed, app->cfg.device, app->cfg.capture_file);
}

static void src_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct app *app = ctx;
	sm_decoder_feed(app->dec, buf, len);
	keep_unframed(app, buf, len); /* after feeding: a telegram in these very bytes ends the sample */
}

static void src_idle(void *ctx)
{
	struct app *app = ctx;
	sm_decoder_flush(app->dec);
}

static void src_up(void *ctx)
{
	struct app *app = ctx;
	app->nunframed = 0;
	app->sample_done = false;
}

static void src_down(void *ctx)
{
	struct app *app = ctx;
	publisher_source_down(app->pub);
}

/* ---- MQTT ---- */

static bool sink_connected(void *ctx)
{
	struct app *app = ctx;
	return mqtt_is_connected(app->mqtt);
}

static int sink_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct app *app = ctx;
	if (!app->mqtt)
		return -1;
	return mqtt_publish(app->mqtt, topic, payload, len, qos, retain);
}

static int sink_subscribe(void *ctx, const char *topic, int qos)
{
	struct app *app = ctx;
	return mqtt_subscribe(app->mqtt, topic, qos);
}

static int sink_unsubscribe(void *ctx, const char *topic)
{
	struct app *app = ctx;
	return mqtt_unsubscribe(app->mqtt, topic);
}

static void mqtt_up(void *ctx)
{
	struct app *app = ctx;
	publisher_connected(app->pub);
	notify_send("STATUS=connected to the MQTT broker");
}

static void mqtt_down(void *ctx)
{
	(void)ctx;
	notify_send("STATUS=waiting for the MQTT broker");
}

/* The broker is slower than the input (a replay burst): read no more until it caught up. */
static void mqtt_backlog(void *ctx, bool backlogged)
{
	struct app *app = ctx;
	source_pause(app->src, backlogged);
}

/* Home Assistant's birth/will on <discovery_prefix>/status, retained configs for the clean-up. */
static void mqtt_message(void *ctx, const char *topic, const void *payload, size_t len, bool retained)
{
	struct app *app = ctx;
	publisher_message(app->pub, topic, payload, len, retained);
}

/* A client for cfg (not yet the running one: reload() builds it before giving up the old one). */
static struct mqtt *new_mqtt(struct app *app, const struct config *cfg)
{
	static const struct mqtt_callbacks cb = { .on_connect = mqtt_up, .on_disconnect = mqtt_down,
		                                  .on_message = mqtt_message, .on_backlog = mqtt_backlog };
	char instance[64], client_id[128], status[256];
	config_instance(cfg, instance, sizeof(instance));
	if (cfg->client_id)
		snprintf(client_id, sizeof(client_id), "%s", cfg->client_id);
	else
		snprintf(client_id, sizeof(client_id), "smartmeterd-%s", instance);
	snprintf(status, sizeof(status), "%s/%s/status", cfg->topic_prefix, instance);
	return mqtt_new(app->loop, cfg, client_id, instance, status, "offline", &cb, app);
}

static int start_source(struct app *app)
{
	static const struct source_callbacks cb = { src_data, src_idle, src_up, src_down };
	if (app->cfg.meter_protocol == METER_PROTOCOL_C1218) {
		app->poller = c1218_poller_new(app->loop, &app->cfg, app->pub);
		return app->poller ? 0 : -1;
	}
	app->src = source_new(app->loop, &app->cfg, &cb, app);
	return app->src ? 0 : -1;
}

static int start_decoder(struct app *app)
{
	struct sm_decoder_config dc = { 0 };
	enum sm_err err = SM_OK;
	dc.dsmr_crc_optional = !app->cfg.crc_check;
	overrides_decoder_config(&app->cfg, &dc);
	dc.has_key = app->cfg.has_key;
	memcpy(dc.key, app->cfg.key, sizeof(dc.key));
	dc.has_auth_key = app->cfg.has_auth_key;
	memcpy(dc.auth_key, app->cfg.auth_key, sizeof(dc.auth_key));
	struct sm_decoder *dec = sm_decoder_new(&dc, on_telegram, on_event, app, &err);
	memset(&dc, 0, sizeof(dc));
	if (!dec) {
		log_err("cannot create the decoder: %s", sm_strerror(err));
		return -1;
	}
	sm_decoder_free(app->dec);
	app->dec = dec;
	return 0;
}

static void open_capture(struct app *app)
{
	capture_close(app->cap);
	app->cap = NULL;
	app->capture_failed = false;
	if (!app->cfg.capture_file)
		return;
	app->cap = capture_open(app->cfg.capture_file, app->cfg.capture_max_bytes);
	if (!app->cap)
		log_warning("capture: cannot open %s: %s; frames that fail to decode are not kept", app->cfg.capture_file,
		            strerror(errno));
}

static void apply_log_level(struct app *app)
{
	log_set_target(app->cfg.log_target);
	log_set_level(app->verbose ? LOG_LVL_DEBUG : app->cfg.log_level);
}

static void log_warnings(const struct config_diag *diag)
{
	for (unsigned i = 0; i < diag->nwarnings; i++)
		log_warning("%s", diag->warnings[i]);
}

/* ---- signals ---- */

static void shutdown_done(void *ctx)
{
	struct app *app = ctx;
	loop_quit(app->loop, 0);
}

static void begin_shutdown(struct app *app, int signo)
{
	if (app->stopping) {
		log_notice("second %s: exiting now", strsignal(signo));
		loop_quit(app->loop, 0);
		return;
	}
	app->stopping = true;
	log_info("%s: publishing offline and disconnecting", strsignal(signo));
	notify_send("STOPPING=1");
	source_free(app->src);
	app->src = NULL;
	c1218_poller_free(app->poller);
	app->poller = NULL;
	publisher_shutdown(app->pub);
	if (!app->mqtt) {
		loop_quit(app->loop, 0); /* no client (it could not be set up): nothing to wait for */
		return;
	}
	mqtt_shutdown(app->mqtt, SHUTDOWN_TIMEOUT_MS, shutdown_done, app);
}

static bool capture_changed(const struct config *a, const struct config *b)
{
	return (a->capture_file == NULL) != (b->capture_file == NULL) ||
	       (b->capture_file && strcmp(b->capture_file, a->capture_file)) || b->capture_max_bytes != a->capture_max_bytes;
}

static void reload(struct app *app)
{
	struct config nc;
	struct config_diag diag;
	struct mqtt *nm = NULL;

	if (app_load_config(&nc, app->config_path, app->instance, &diag) < 0) {
		log_err("reload: %s; keeping the running configuration", diag.error);
		config_free(&nc);
		return;
	}
	bool serial = config_serial_changed(&app->cfg, &nc);
	bool mqtt = config_mqtt_changed(&app->cfg, &nc) || !app->mqtt;
	bool keys = config_keys_changed(&app->cfg, &nc);
	bool capture = capture_changed(&app->cfg, &nc);

	/* The new client first: when it cannot be set up, nothing of the running configuration is lost. */
	if (mqtt && !(nm = new_mqtt(app, &nc))) {
		log_err("reload: cannot set up the MQTT client for the new configuration; keeping the running one");
		config_free(&nc);
		return;
	}
	notify_send("RELOADING=1");
	log_warnings(&diag);
	if (mqtt && mqtt_is_connected(app->mqtt))
		publisher_shutdown(app->pub); /* old status/availability topics say offline before we leave */
	if (mqtt) {
		mqtt_close(app->mqtt, "configuration reloaded: reconnecting with the new [mqtt] settings");
		app->mqtt = nm;
		source_pause(app->src, false); /* the old client's backlog is gone with it */
	}
	config_free(&app->cfg);
	app->cfg = nc;
	apply_log_level(app);
	publisher_reconfigure(app->pub, &app->cfg);
	if (keys && start_decoder(app) < 0)
		log_err("reload: keeping the previous decoder");
	if (serial) {
		source_free(app->src);
		app->src = NULL;
		c1218_poller_free(app->poller);
		app->poller = NULL;
		publisher_source_down(app->pub);
		start_source(app);
	}
	if (capture)
		open_capture(app);
	log_info("configuration reloaded from %s (%s%s%s%s)", app->config_path, serial ? "serial reopened, " : "",
	         mqtt ? "broker reconnected, " : "", keys ? "keys replaced, " : "", "rest applied");
	notify_send("READY=1");
}

static void on_signal(void *ctx, int signo)
{
	struct app *app = ctx;
	if (signo == SIGHUP) {
		if (!app->stopping)
			reload(app);
		return;
	}
	begin_shutdown(app, signo);
}

int app_load_config(struct config *cfg, const char *path, const char *instance, struct config_diag *diag)
{
	if (config_init(cfg) < 0) {
		snprintf(diag->error, sizeof(diag->error), "out of memory");
		diag->nwarnings = 0;
		return -1;
	}
	if (config_load(cfg, path, diag) < 0)
		return -1;
	if (instance && config_set_instance(cfg, instance, diag) < 0)
		return -1;
	return config_check_runtime(cfg, diag);
}

int app_check_config(const char *path, const char *instance, FILE *out, FILE *err)
{
	struct config cfg;
	struct config_diag diag;
	int rc = app_load_config(&cfg, path, instance, &diag);

	if (rc < 0) {
		fprintf(err, "smartmeterd: %s\n", diag.error);
	} else {
		for (unsigned i = 0; i < diag.nwarnings; i++)
			fprintf(err, "smartmeterd: warning: %s\n", diag.warnings[i]);
		fprintf(out, "%s: configuration OK\n", path);
	}
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}

int app_run(const struct app_options *o)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	static const struct publish_sink sink_proto = { sink_connected, sink_publish, sink_subscribe, sink_unsubscribe,
		                                        NULL };
	struct app app = { .config_path = o->config_path ? o->config_path : CONFIG_DEFAULT_PATH, .verbose = o->verbose,
		           .instance = o->instance };
	struct config_diag diag;
	struct publish_sink sink = sink_proto;
	int rc = 1;

	app.frame_errors = (struct ratelimit)RATELIMIT_INIT(FRAME_ERROR_WINDOW_MS, FRAME_ERROR_BURST);
	app.frame_warnings = (struct ratelimit)RATELIMIT_INIT(FRAME_ERROR_WINDOW_MS, FRAME_ERROR_BURST);
	if (app_load_config(&app.cfg, app.config_path, app.instance, &diag) < 0) {
		fprintf(stderr, "smartmeterd: %s\n", diag.error);
		config_free(&app.cfg);
		return 1;
	}
	apply_log_level(&app);
	log_warnings(&diag);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ ((unsigned)getpid() << 16)); /* the delay after HA's birth differs per host */

	sink.ctx = &app;
	app.loop = loop_new();
	if (!app.loop || loop_signals(app.loop, sigs, 3, on_signal, &app) < 0) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	app.pub = publisher_new(app.loop, &app.cfg, &sink);
	if (!app.pub || start_decoder(&app) < 0 || !(app.mqtt = new_mqtt(&app, &app.cfg)) || start_source(&app) < 0) {
		log_err("cannot start: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	open_capture(&app);
	log_info("smartmeterd %s: reading %s, publishing to %s:%u under %s/<meter_id>/..., status %s", SMARTMETER_VERSION,
	         app.cfg.device, app.cfg.host, config_mqtt_port(&app.cfg), app.cfg.topic_prefix,
	         publisher_status_topic(app.pub));
	notify_watchdog_start(app.loop);
	notify_send("READY=1\nSTATUS=running");
	rc = loop_run(app.loop) == 0 ? 0 : 1;
	log_info("stopped");
out:
	notify_watchdog_stop();
	source_free(app.src);
	c1218_poller_free(app.poller);
	mqtt_free(app.mqtt);
	publisher_free(app.pub);
	capture_close(app.cap);
	sm_decoder_free(app.dec);
	loop_free(app.loop);
	config_free(&app.cfg);
	return rc;
}
