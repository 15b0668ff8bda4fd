/* config.h — /etc/smartmeter.conf: what the daemon may be told, parsed by one table.
 * config_parse_buffer() works on memory (unit tests), config_load() on a file; both fill a complete
 * struct config (defaults first, then the file) or fail with one "file:line: message" error.
 * Key material lives only in key/auth_key (never printed, wiped by config_free). */
#ifndef SMARTMETERD_CONFIG_H
#define SMARTMETERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/smartmeter.conf"
#define CONFIG_KEY_LEN 16

/* Line settings. FORMAT_AUTO (with baudrate 0 = auto) tries what real meters use (PROTOCOLS.md §8.3). */
enum serial_format {
	FORMAT_AUTO = 0,
	FORMAT_8N1,
	FORMAT_7E1,
	FORMAT_8E1,
	FORMAT_8N2,
	FORMAT_7N1,
};

const char *serial_format_name(enum serial_format f);

/* [meter] protocol: auto = push meters, detected from the bytes; c1218 = poll an ANSI C12.18 optical port. */
enum { METER_PROTOCOL_AUTO = 0, METER_PROTOCOL_C1218 = 1 };

struct config {
	/* [serial] */
	char *device;            /* /dev/ttyUSB0, /dev/serial/by-id/..., tcp://host:port */
	unsigned baudrate;       /* 0 = auto */
	enum serial_format format;

	/* [meter] */
	char *meter_id;          /* NULL = serial number from the telegrams */
	bool has_key;
	uint8_t key[CONFIG_KEY_LEN];
	bool has_auth_key;
	uint8_t auth_key[CONFIG_KEY_LEN];
	char *key_file;
	char *auth_key_file;
	double power_multiplier;
	double voltage_multiplier;
	double current_multiplier;
	double energy_multiplier;
	bool crc_check;          /* false = publish DSMR telegrams whose CRC does not match */
	unsigned offline_after;  /* seconds of silence before availability goes offline; 0 = auto */
	/* [meter] for polled optical ports (c1218_source.h) */
	unsigned meter_protocol; /* METER_PROTOCOL_* */
	char *c1218_password;    /* as written; secret */
	char *c1218_password_file;
	unsigned c1218_password_format; /* 0 hex, 1 ascii (enum sm_c1218_pw_format) */
	unsigned c1218_password_pad;    /* 0 nul, 1 space (enum sm_c1218_pw_pad) */
	unsigned c1218_user_id;
	char *c1218_user;
	unsigned poll_interval;  /* seconds */
	bool has_c1218_password; /* derived: c1218_pw holds the 20 bytes */
	uint8_t c1218_pw[20];
	unsigned c1218_pw_given; /* bytes before padding, for the log line */

	/* [mqtt] */
	char *host;
	unsigned port;           /* 0 = 1883, or 8883 with TLS */
	char *username;
	char *password;
	char *password_file;
	char *client_id;         /* NULL = "smartmeterd-<instance>" */
	char *topic_prefix;
	char *instance;          /* NULL = hostname slug */
	unsigned qos;
	bool retain;
	unsigned keepalive;
	unsigned publish_interval;
	unsigned queue_size;     /* messages kept while the broker is away (QoS >= 1) */
	char *tls_ca_file;
	char *tls_cert_file;
	char *tls_key_file;
	bool tls_insecure;
	bool tls;                /* derived: any tls_* file set */
	unsigned protocol;       /* 4 = MQTT 3.1.1, 5 = MQTT 5 */

	/* [homeassistant] — consumed by discovery.c */
	bool discovery;
	char *discovery_prefix;
	unsigned expire_after;   /* seconds, 0 = not sent; raised to 3 push intervals when the meter is slower */
	unsigned stale_after;    /* seconds of telegrams before configs we no longer produce are removed; 0 = never */
	char *ha_status_topic;   /* NULL = <discovery_prefix>/status */
	bool device_discovery;
	bool reactive_energy_class;
	double max_energy_jump_kwh; /* guard.h: increase always plausible; both 0 = only decreases held */
	double max_power_kw;        /* guard.h: plus this power x the time since the last value */

	/* [daemon] */
	char *state_dir;         /* learned meter identities (identity.h) */

	/* [log] */
	enum log_level log_level;
	enum log_target log_target;
	char *capture_file;
	uint64_t capture_max_bytes;

	/* where it came from */
	char *path;
	bool empty;              /* the text has no [section] at all (an empty or comment-only file) */
};

/* Why a load failed: "file:line: message" (and a hint on the same line). Warnings are things the
 * user should fix but that do not stop the daemon (world-readable key files). */
#define CONFIG_MAX_WARNINGS 8
struct config_diag {
	char error[512];
	unsigned nwarnings;
	char warnings[CONFIG_MAX_WARNINGS][512];
};

/* Defaults only (every string allocated, so config_free always works). 0 or -1 on ENOMEM. */
int config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Parse INI text on top of defaults. name is used in messages ("smartmeter.conf"). The referenced
 * key_file/password_file are read (relative to the working directory). 0 ok, -1 diag->error set. */
int config_parse_buffer(struct config *cfg, const char *name, const char *buf, size_t len, struct config_diag *diag);

/* Read and parse a file (missing/unreadable file is an error). Also warns when a file holding a
 * key or password is readable by other users. */
int config_load(struct config *cfg, const char *path, struct config_diag *diag);

/* --instance NAME (smartmeterd@NAME.service): replaces [mqtt] instance. 0, or -1 with diag->error set
 * when NAME is not a slug. */
int config_set_instance(struct config *cfg, const char *name, struct config_diag *diag);

/* Accessors that resolve the documented fallbacks. */
unsigned config_mqtt_port(const struct config *cfg);

/* Compare sections to decide what a SIGHUP must restart. */
bool config_serial_changed(const struct config *a, const struct config *b);
bool config_mqtt_changed(const struct config *a, const struct config *b);
bool config_keys_changed(const struct config *a, const struct config *b);

/* Turn any text into a topic-safe slug: lowercase [a-z0-9_-], other runs -> '_'. out >= 2 bytes.
 * Returns the slug length (0 for empty/unslugable input). */
size_t config_slug(const char *in, char *out, size_t outsz);

/* What only shows when the daemon starts, so that --check-config and SIGHUP refuse it beforehand: a
 * file without a single [section] (empty, truncated or comments only), and tls_ca_file, tls_cert_file,
 * tls_key_file, key_file, auth_key_file or password_file that cannot be read now. 0, or -1 with
 * diag->error set. */
int config_check_runtime(const struct config *cfg, struct config_diag *diag);

/* Default instance name (hence client id and status topic), unique per configuration so that several
 * daemons on one host do not take each other's MQTT session: the hostname slug for the packaged
 * CONFIG_DEFAULT_PATH (or NULL); "<host>_<file name without .conf>" for a file of another name
 * (/etc/smartmeter-heat.conf -> "pi_smartmeter-heat"); "<host>_<device name>" for a smartmeter.conf
 * elsewhere (/etc/smartmeter/2/smartmeter.conf with /dev/ttyUSB1 -> "pi_ttyusb1"). */
void config_default_instance(const char *config_path, const char *device, char *out, size_t outsz);
/* [mqtt] instance, or the default above. */
void config_instance(const struct config *cfg, char *out, size_t outsz);

#endif
