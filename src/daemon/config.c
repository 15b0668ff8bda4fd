/* config.c — the table-driven INI parser for /etc/smartmeter.conf.
 * One row per key (section, key, type, bounds, default, field); defaults are applied through the same
 * setters as the file, so a default can never be something the file could not say. Errors carry
 * "file:line:" and a hint. Must never echo a key or password value in a message. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "overrides.h"
#include "smartmeter/c1218.h"
#include "smartmeter/decoder.h"

/* A config file is a few KiB; anything bigger is a mistake (a binary, a log) we should not parse. */
#define CONFIG_MAX_FILE_BYTES (256u * 1024u)
/* Key and password files hold one short line. */
#define SECRET_FILE_MAX_BYTES 4096u

enum opt_type {
	OPT_STRING,   /* free text; empty = unset unless OPTF_REQUIRED */
	OPT_BOOL,
	OPT_UINT,     /* min..max */
	OPT_DOUBLE,   /* min..max (min exclusive when OPTF_POSITIVE) */
	OPT_SIZE,     /* bytes with optional k/M/G suffix, min..max */
	OPT_BAUD,     /* "auto" or a positive rate */
	OPT_FORMAT,   /* auto | 8N1 | 7E1 | 8E1 | 8N2 | 7N1 */
	OPT_KEY,      /* 32 hex digits; secret */
	OPT_LEVEL,    /* log level name */
	OPT_TARGET,   /* stderr | syslog */
	OPT_PROTOCOL, /* 3.1.1 | 5 */
	OPT_CHOICE,   /* one of choices[], stored as its index (unsigned) */
};

enum {
	OPTF_REQUIRED = 1 << 0, /* an empty value is an error */
	OPTF_SECRET = 1 << 1,   /* never echo the value */
	OPTF_SLUG = 1 << 2,     /* must be [A-Za-z0-9_-]+ (goes into topics) */
	OPTF_TOPIC = 1 << 3,    /* an MQTT topic prefix: no wildcards, no leading/trailing '/' */
	OPTF_POSITIVE = 1 << 4,
};

struct option_def {
	const char *section;
	const char *key;
	enum opt_type type;
	unsigned flags;
	double min, max;
	const char *def;     /* default as the file would spell it; NULL = unset */
	size_t offset;       /* field in struct config */
	size_t flag_offset;  /* OPT_KEY: the has_ bool */
	const char *hint;    /* shown after a bad value */
	const char *const *choices; /* OPT_CHOICE: NULL-terminated */
};

static const char *const meter_protocols[] = { "auto", "c1218", NULL };
static const char *const password_formats[] = { "hex", "ascii", NULL };
static const char *const password_pads[] = { "nul", "space", NULL };

#define F(field) offsetof(struct config, field)

static const struct option_def options[] = {
	{ "serial", "device", OPT_STRING, OPTF_REQUIRED, 0, 0, "/dev/ttyUSB0", F(device), 0,
	  "a tty path (/dev/ttyUSB0, /dev/serial/by-id/...) or tcp://host:port" },
	{ "serial", "baudrate", OPT_BAUD, 0, 50, 4000000, "auto", F(baudrate), 0,
	  "use auto or a rate such as 115200, 9600, 2400" },
	{ "serial", "format", OPT_FORMAT, 0, 0, 0, "auto", F(format), 0, "use auto, 8N1, 7E1, 8E1, 8N2 or 7N1" },

	{ "meter", "id", OPT_STRING, OPTF_SLUG, 0, 0, NULL, F(meter_id), 0,
	  "letters, digits, '_' and '-' only (it becomes part of MQTT topics)" },
	{ "meter", "key", OPT_KEY, OPTF_SECRET, 0, 0, NULL, F(key), F(has_key),
	  "the AES-128 encryption key (GUEK) from the grid operator, 32 hex digits" },
	{ "meter", "auth_key", OPT_KEY, OPTF_SECRET, 0, 0, NULL, F(auth_key), F(has_auth_key),
	  "the authentication key (GAK), 32 hex digits" },
	{ "meter", "key_file", OPT_STRING, 0, 0, 0, NULL, F(key_file), 0, "a file holding 32 hex digits" },
	{ "meter", "auth_key_file", OPT_STRING, 0, 0, 0, NULL, F(auth_key_file), 0, "a file holding 32 hex digits" },
	{ "meter", "power_multiplier", OPT_DOUBLE, OPTF_POSITIVE, 0, 1e6, "1", F(power_multiplier), 0,
	  "the current-transformer ratio, e.g. 40 for a 200/5 A CT" },
	{ "meter", "voltage_multiplier", OPT_DOUBLE, OPTF_POSITIVE, 0, 1e6, "1", F(voltage_multiplier), 0,
	  "the voltage-transformer ratio, 1 for direct connection" },
	{ "meter", "current_multiplier", OPT_DOUBLE, OPTF_POSITIVE, 0, 1e6, "1", F(current_multiplier), 0,
	  "the current-transformer ratio" },
	{ "meter", "energy_multiplier", OPT_DOUBLE, OPTF_POSITIVE, 0, 1e6, "1", F(energy_multiplier), 0,
	  "usually CT ratio x VT ratio" },
	{ "meter", "crc_check", OPT_BOOL, 0, 0, 0, "true", F(crc_check), 0, NULL },
	{ "meter", "timezone", OPT_STRING, 0, 0, 0, NULL, F(timezone), 0,
	  "a POSIX TZ such as EET-2EEST, or +02:00/+03:00 (winter/summer)" },
	{ "meter", "offline_after", OPT_UINT, 0, 0, 86400, "0", F(offline_after), 0,
	  "seconds without a telegram before the meter is marked offline; 0 = automatic" },
	{ "meter", "protocol", OPT_CHOICE, 0, 0, 0, "auto", F(meter_protocol), 0,
	  "auto (push meters: DSMR, DLMS) or c1218 (poll an ANSI C12.18 optical port)", meter_protocols },
	{ "meter", "password", OPT_STRING, OPTF_SECRET, 0, 0, NULL, F(c1218_password), 0,
	  "the optical-port password (the key the grid operator sends)" },
	{ "meter", "password_file", OPT_STRING, 0, 0, 0, NULL, F(c1218_password_file), 0, "a file holding the password" },
	{ "meter", "password_format", OPT_CHOICE, 0, 0, 0, "hex", F(c1218_password_format), 0,
	  "hex (the key as hex digits, decoded) or ascii (the characters as given)", password_formats },
	{ "meter", "password_pad", OPT_CHOICE, 0, 0, 0, "nul", F(c1218_password_pad), 0,
	  "nul or space (fills the password to 20 bytes)", password_pads },
	{ "meter", "user_id", OPT_UINT, 0, 0, 65535, "0", F(c1218_user_id), 0, "0..65535" },
	{ "meter", "user", OPT_STRING, 0, 0, 0, NULL, F(c1218_user), 0, NULL },
	{ "meter", "poll_interval", OPT_UINT, 0, 1, 86400, "10", F(poll_interval), 0, "seconds between readings, at least 1" },

	{ "mqtt", "host", OPT_STRING, OPTF_REQUIRED, 0, 0, "localhost", F(host), 0, "the broker's host name or address" },
	{ "mqtt", "port", OPT_UINT, 0, 0, 65535, "0", F(port), 0, "0 means 1883 (8883 with TLS)" },
	{ "mqtt", "username", OPT_STRING, 0, 0, 0, NULL, F(username), 0, NULL },
	{ "mqtt", "password", OPT_STRING, OPTF_SECRET, 0, 0, NULL, F(password), 0, NULL },
	{ "mqtt", "password_file", OPT_STRING, 0, 0, 0, NULL, F(password_file), 0, NULL },
	{ "mqtt", "client_id", OPT_STRING, 0, 0, 0, NULL, F(client_id), 0, NULL },
	{ "mqtt", "topic_prefix", OPT_STRING, OPTF_REQUIRED | OPTF_TOPIC, 0, 0, "smartmeter", F(topic_prefix), 0,
	  "no '+', '#', and no leading or trailing '/'" },
	{ "mqtt", "instance", OPT_STRING, OPTF_SLUG, 0, 0, NULL, F(instance), 0,
	  "letters, digits, '_' and '-' only (it becomes part of the status topic)" },
	{ "mqtt", "qos", OPT_UINT, 0, 0, 2, "1", F(qos), 0, "0, 1 or 2" },
	{ "mqtt", "retain", OPT_BOOL, 0, 0, 0, "true", F(retain), 0, NULL },
	{ "mqtt", "keepalive", OPT_UINT, 0, 5, 65535, "60", F(keepalive), 0, "seconds" },
	{ "mqtt", "publish_interval", OPT_UINT, 0, 0, 86400, "0", F(publish_interval), 0,
	  "seconds between publications; 0 = every telegram" },
	{ "mqtt", "queue_size", OPT_UINT, 0, 0, 100000, "500", F(queue_size), 0,
	  "messages kept while the broker is unreachable" },
	{ "mqtt", "tls_ca_file", OPT_STRING, 0, 0, 0, NULL, F(tls_ca_file), 0, NULL },
	{ "mqtt", "tls_cert_file", OPT_STRING, 0, 0, 0, NULL, F(tls_cert_file), 0, NULL },
	{ "mqtt", "tls_key_file", OPT_STRING, 0, 0, 0, NULL, F(tls_key_file), 0, NULL },
	{ "mqtt", "tls_insecure", OPT_BOOL, 0, 0, 0, "false", F(tls_insecure), 0, NULL },
	{ "mqtt", "protocol", OPT_PROTOCOL, 0, 0, 0, "3.1.1", F(protocol), 0, "use 3.1.1 or 5" },

	{ "homeassistant", "discovery", OPT_BOOL, 0, 0, 0, "true", F(discovery), 0, NULL },
	{ "homeassistant", "discovery_prefix", OPT_STRING, OPTF_REQUIRED | OPTF_TOPIC, 0, 0, "homeassistant",
	  F(discovery_prefix), 0, "no '+', '#', and no leading or trailing '/'" },
	{ "homeassistant", "expire_after", OPT_UINT, 0, 0, 86400, "300", F(expire_after), 0, "seconds; 0 = not sent" },
	{ "homeassistant", "stale_after", OPT_UINT, 0, 0, 30u * 86400u, "7500", F(stale_after), 0, "seconds; 0 = never" },
	{ "homeassistant", "status_topic", OPT_STRING, OPTF_TOPIC, 0, 0, NULL, F(ha_status_topic), 0,
	  "Home Assistant's birth message topic (MQTT integration options); unset = <discovery_prefix>/status" },
	{ "homeassistant", "device_discovery", OPT_BOOL, 0, 0, 0, "false", F(device_discovery), 0, NULL },
	{ "homeassistant", "reactive_energy_class", OPT_BOOL, 0, 0, 0, "false", F(reactive_energy_class), 0, NULL },
	{ "homeassistant", "max_energy_jump_kwh", OPT_DOUBLE, 0, 0, 1e9, "10", F(max_energy_jump_kwh), 0,
	  "kWh; 0 = no fixed allowance" },
	{ "homeassistant", "max_power_kw", OPT_DOUBLE, 0, 0, 1e9, "200", F(max_power_kw), 0,
	  "kW; 0 = no allowance growing with time" },

	{ "daemon", "state_dir", OPT_STRING, OPTF_REQUIRED, 0, 0, "/var/lib/smartmeterd", F(state_dir), 0,
	  "a directory the daemon may write (systemd StateDirectory=)" },

	{ "log", "level", OPT_LEVEL, 0, 0, 0, "info", F(log_level), 0, "use error, warning, notice, info or debug" },
	{ "log", "target", OPT_TARGET, 0, 0, 0, "stderr", F(log_target), 0, "use stderr or syslog" },
	{ "log", "capture_file", OPT_STRING, 0, 0, 0, NULL, F(capture_file), 0, NULL },
	{ "log", "capture_max_bytes", OPT_SIZE, 0, 4096, 1073741824.0, "1M", F(capture_max_bytes), 0,
	  "bytes, with optional k, M or G suffix (4k .. 1G)" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const char *const sections[] = { "serial", "meter", "mqtt", "homeassistant", "daemon", "log" };

const char *serial_format_name(enum serial_format f)
{
	switch (f) {
	case FORMAT_AUTO: return "auto";
	case FORMAT_8N1: return "8N1";
	case FORMAT_7E1: return "7E1";
	case FORMAT_8E1: return "8E1";
	case FORMAT_8N2: return "8N2";
	case FORMAT_7N1: return "7N1";
	}
	return "?";
}

static void *field(struct config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

static void free_secret_string(char *s)
{
	if (s) {
		wipe(s, strlen(s));
		free(s);
	}
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].type != OPT_STRING)
			continue;
		char **sp = field(cfg, options[i].offset);
		if (options[i].flags & OPTF_SECRET)
			free_secret_string(*sp);
		else
			free(*sp);
		*sp = NULL;
	}
	free(cfg->path);
	wipe(cfg, sizeof(*cfg));
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*ret = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static bool parse_ulong(const char *v, unsigned long long *ret)
{
	char *end;
	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end)
		return false;
	*ret = x;
	return true;
}

static bool is_slug(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool is_topic_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == '/' || s[n - 1] == '/')
		return false;
	return !strpbrk(s, "+#");
}

/* Set one option from text. Returns NULL or a static/explained error (written into err). */
static bool set_value(struct config *cfg, const struct option_def *o, const char *v, char *err, size_t errsz)
{
	void *p = field(cfg, o->offset);

	switch (o->type) {
	case OPT_STRING: {
		char **sp = p;
		if (!*v) {
			if (o->flags & OPTF_REQUIRED) {
				snprintf(err, errsz, "%s must not be empty", o->key);
				return false;
			}
			free(*sp);
			*sp = NULL;
			return true;
		}
		if ((o->flags & OPTF_SLUG) && !is_slug(v)) {
			snprintf(err, errsz, "%s = '%s' is not allowed", o->key, v);
			return false;
		}
		if ((o->flags & OPTF_TOPIC) && !is_topic_prefix(v)) {
			snprintf(err, errsz, "%s = '%s' is not a valid topic prefix", o->key, v);
			return false;
		}
		char *dup = strdup(v);
		if (!dup) {
			snprintf(err, errsz, "out of memory");
			return false;
		}
		if (o->flags & OPTF_SECRET)
			free_secret_string(*sp);
		else
			free(*sp);
		*sp = dup;
		return true;
	}
	case OPT_BOOL:
		if (!parse_bool(v, p)) {
			snprintf(err, errsz, "%s = '%s' is not a boolean (use true or false)", o->key, v);
			return false;
		}
		return true;
	case OPT_UINT: {
		unsigned long long x;
		if (!parse_ulong(v, &x)) {
			snprintf(err, errsz, "%s = '%s' is not a whole number", o->key, v);
			return false;
		}
		if ((double)x < o->min || (double)x > o->max) {
			snprintf(err, errsz, "%s = %llu is out of range (%.0f..%.0f)", o->key, x, o->min, o->max);
			return false;
		}
		*(unsigned *)p = (unsigned)x;
		return true;
	}
	case OPT_DOUBLE: {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (!*v || errno || *end || !isfinite(d)) {
			snprintf(err, errsz, "%s = '%s' is not a number", o->key, v);
			return false;
		}
		if (d < o->min || d > o->max || ((o->flags & OPTF_POSITIVE) && d <= 0)) {
			snprintf(err, errsz, "%s = %s is out of range (%s%g..%g)", o->key, v,
			         (o->flags & OPTF_POSITIVE) ? "above " : "", o->min, o->max);
			return false;
		}
		*(double *)p = d;
		return true;
	}
	case OPT_SIZE: {
		char *end;
		unsigned long long x, mult = 1;
		if (!isdigit((unsigned char)*v)) {
			snprintf(err, errsz, "%s = '%s' is not a size", o->key, v);
			return false;
		}
		errno = 0;
		x = strtoull(v, &end, 10);
		if (*end == 'k' || *end == 'K')
			mult = 1024, end++;
		else if (*end == 'M')
			mult = 1024 * 1024, end++;
		else if (*end == 'G')
			mult = 1024ull * 1024 * 1024, end++;
		if (errno || *end || x > (1ull << 40)) {
			snprintf(err, errsz, "%s = '%s' is not a size", o->key, v);
			return false;
		}
		x *= mult;
		if ((double)x < o->min || (double)x > o->max) {
			snprintf(err, errsz, "%s = %s is out of range", o->key, v);
			return false;
		}
		*(uint64_t *)p = x;
		return true;
	}
	case OPT_BAUD: {
		unsigned long long x;
		if (!strcasecmp(v, "auto")) {
			*(unsigned *)p = 0;
			return true;
		}
		if (!parse_ulong(v, &x) || (double)x < o->min || (double)x > o->max) {
			snprintf(err, errsz, "%s = '%s' is not a baud rate", o->key, v);
			return false;
		}
		*(unsigned *)p = (unsigned)x;
		return true;
	}
	case OPT_FORMAT: {
		static const enum serial_format all[] = { FORMAT_AUTO, FORMAT_8N1, FORMAT_7E1, FORMAT_8E1, FORMAT_8N2,
		                                          FORMAT_7N1 };
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (!strcasecmp(v, serial_format_name(all[i]))) {
				*(enum serial_format *)p = all[i];
				return true;
			}
		snprintf(err, errsz, "%s = '%s' is not a line format", o->key, v);
		return false;
	}
	case OPT_KEY: {
		bool *has = field(cfg, o->flag_offset);
		if (!*v) {
			*has = false;
			wipe(p, CONFIG_KEY_LEN);
			return true;
		}
		/* Say what is wrong without repeating any part of the secret. */
		if (sm_key_parse(v, p) != SM_OK) {
			size_t n = strlen(v);
			if (n != 2 * CONFIG_KEY_LEN)
				snprintf(err, errsz, "%s must be 32 hex digits (an AES-128 key), got %zu characters", o->key, n);
			else
				snprintf(err, errsz, "%s must be 32 hex digits (an AES-128 key), it contains a non-hex character",
				         o->key);
			return false;
		}
		*has = true;
		return true;
	}
	case OPT_LEVEL:
		if (!log_level_parse(v, p)) {
			snprintf(err, errsz, "%s = '%s' is not a log level", o->key, v);
			return false;
		}
		return true;
	case OPT_TARGET:
		if (!log_target_parse(v, p)) {
			snprintf(err, errsz, "%s = '%s' is not a log target", o->key, v);
			return false;
		}
		return true;
	case OPT_PROTOCOL:
		if (!strcmp(v, "3.1.1") || !strcasecmp(v, "mqttv311") || !strcmp(v, "4")) {
			*(unsigned *)p = 4;
			return true;
		}
		if (!strcmp(v, "5") || !strcmp(v, "5.0") || !strcasecmp(v, "mqttv5")) {
			*(unsigned *)p = 5;
			return true;
		}
		snprintf(err, errsz, "%s = '%s' is not an MQTT version", o->key, v);
		return false;
	case OPT_CHOICE:
		for (unsigned i = 0; o->choices[i]; i++)
			if (!strcasecmp(v, o->choices[i])) {
				*(unsigned *)p = i;
				return true;
			}
		snprintf(err, errsz, "%s = '%s' is not allowed", o->key, v);
		return false;
	}
	return false;
}

int config_init(struct config *cfg)
{
	char err[256];
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].def && !set_value(cfg, &options[i], options[i].def, err, sizeof(err))) {
			config_free(cfg);
			return -1;
		}
	return 0;
}

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];
	if (lb >= 64 || la >= 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			unsigned best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

static void unknown_key_hint(const char *section, const char *key, char *out, size_t outsz)
{
	const char *best = NULL;
	unsigned bestd = 3;
	for (size_t i = 0; i < NOPTIONS; i++)
		if (!strcmp(options[i].key, key) && strcmp(options[i].section, section)) {
			snprintf(out, outsz, " (hint: '%s' belongs in [%s])", key, options[i].section);
			return;
		}
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].section, section))
			continue;
		unsigned d = edit_distance(key, options[i].key);
		if (d < bestd) {
			bestd = d;
			best = options[i].key;
		}
	}
	if (best) {
		snprintf(out, outsz, " (hint: did you mean '%s'?)", best);
		return;
	}
	size_t o = (size_t)snprintf(out, outsz, " (hint: [%s] knows", section);
	for (size_t i = 0; i < NOPTIONS && o < outsz; i++)
		if (!strcmp(options[i].section, section))
			o += (size_t)snprintf(out + o, outsz - o, " %s", options[i].key);
	if (o < outsz)
		snprintf(out + o, outsz - o, ")");
}

static void diag_error(struct config_diag *diag, const char *name, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag_error(struct config_diag *diag, const char *name, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(diag->error, sizeof(diag->error), "%s:%u: %s", name, line, msg);
	else
		snprintf(diag->error, sizeof(diag->error), "%s: %s", name, msg);
}

static void diag_warn(struct config_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void diag_warn(struct config_diag *diag, const char *fmt, ...)
{
	va_list ap;
	if (diag->nwarnings >= CONFIG_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(diag->warnings[diag->nwarnings++], sizeof(diag->warnings[0]), fmt, ap);
	va_end(ap);
}

/* Read a small secret file into buf (NUL-terminated, trailing whitespace stripped). 0 or errno. */
static int read_secret_file(const char *path, char *buf, size_t bufsz, bool *ret_world_readable)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && ret_world_readable)
		*ret_world_readable = (st.st_mode & S_IROTH) != 0;
	ssize_t n = read(fd, buf, bufsz - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return e;
	if ((size_t)n == bufsz - 1)
		return EFBIG;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

static const struct option_def *find_option(const char *section, const char *key)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (!strcmp(options[i].section, section) && !strcmp(options[i].key, key))
			return &options[i];
	return NULL;
}

static size_t option_index(const char *section, const char *key)
{
	return (size_t)(find_option(section, key) - options);
}

/* [meter] password / password_file -> the 20 bytes the C12.18 Security service sends. */
static int finish_c1218(struct config *cfg, const char *name, const unsigned *lines, struct config_diag *diag)
{
	char buf[SECRET_FILE_MAX_BYTES];
	const char *text = cfg->c1218_password;
	size_t pi = option_index("meter", cfg->c1218_password_file ? "password_file" : "password");
	size_t given = 0;

	cfg->has_c1218_password = false;
	if (cfg->c1218_user && strlen(cfg->c1218_user) > SM_C1218_USER_LEN) {
		diag_error(diag, name, lines[option_index("meter", "user")], "user must be at most %u characters",
		           SM_C1218_USER_LEN);
		return -1;
	}
	if (cfg->c1218_password_file) {
		if (cfg->c1218_password) {
			diag_error(diag, name, lines[pi], "set either password or password_file in [meter], not both");
			return -1;
		}
		bool world = false;
		int e = read_secret_file(cfg->c1218_password_file, buf, sizeof(buf), &world);
		if (e) {
			diag_error(diag, name, lines[pi], "password_file '%s': cannot read: %s", cfg->c1218_password_file,
			           strerror(e));
			return -1;
		}
		if (world)
			diag_warn(diag, "password_file '%s' is readable by other users: chmod 600 it", cfg->c1218_password_file);
		text = buf;
	}
	if (text) {
		enum sm_err err = sm_c1218_password(text, (enum sm_c1218_pw_format)cfg->c1218_password_format,
		                                    (enum sm_c1218_pw_pad)cfg->c1218_password_pad, cfg->c1218_pw, &given);
		size_t n = strlen(text);
		if (text == buf)
			wipe(buf, sizeof(buf));
		if (err != SM_OK) {
			/* Say what is wrong without repeating any part of the secret. */
			if (cfg->c1218_password_format == SM_C1218_PW_HEX)
				diag_error(diag, name, lines[pi],
				           "the [meter] password must be an even number of hex digits, at most 40 (got %zu characters)"
				           " (hint: password_format = ascii takes the characters as given)",
				           n);
			else
				diag_error(diag, name, lines[pi], "the [meter] password must be 1 to 20 characters (got %zu)", n);
			return -1;
		}
		cfg->has_c1218_password = true;
		cfg->c1218_pw_given = (unsigned)given;
	}
	return 0;
}

/* Cross-key rules and the secret files, once every line has been read. */
/* "host:port" or "[v6]:port" with a port of digits (what serial.c's tcp:// relay needs). */
static bool tcp_spec_ok(const char *hp)
{
	const char *colon;
	if (*hp == '[') {
		const char *end = strchr(hp, ']');
		if (!end || end == hp + 1 || end[1] != ':')
			return false;
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || colon == hp)
			return false;
	}
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	unsigned long port = strtoul(colon + 1, NULL, 10);
	return port >= 1 && port <= 65535;
}

static int finish(struct config *cfg, const char *name, const unsigned *lines, struct config_diag *diag)
{
	struct {
		const char *file_key, *inline_key;
		uint8_t *key;
		bool *has;
	} keyfiles[] = {
		{ "key_file", "key", cfg->key, &cfg->has_key },
		{ "auth_key_file", "auth_key", cfg->auth_key, &cfg->has_auth_key },
	};
	char buf[SECRET_FILE_MAX_BYTES];

	for (size_t i = 0; i < 2; i++) {
		size_t fi = option_index("meter", keyfiles[i].file_key);
		char *path = *(char **)field(cfg, options[fi].offset);
		if (!path)
			continue;
		if (*keyfiles[i].has) {
			diag_error(diag, name, lines[fi], "set either %s or %s, not both", keyfiles[i].inline_key,
			           keyfiles[i].file_key);
			return -1;
		}
		bool world = false;
		int e = read_secret_file(path, buf, sizeof(buf), &world);
		if (e) {
			diag_error(diag, name, lines[fi], "%s '%s': cannot read: %s", keyfiles[i].file_key, path, strerror(e));
			return -1;
		}
		enum sm_err err = sm_key_parse(buf, keyfiles[i].key);
		wipe(buf, sizeof(buf));
		if (err != SM_OK) {
			diag_error(diag, name, lines[fi], "%s '%s' must contain 32 hex digits (an AES-128 key) and nothing else",
			           keyfiles[i].file_key, path);
			return -1;
		}
		*keyfiles[i].has = true;
		if (world)
			diag_warn(diag, "%s '%s' holds a key and is readable by other users: chmod 600 it", keyfiles[i].file_key,
			          path);
	}

	if (cfg->timezone) {
		int16_t w, su;
		if (sm_tz_parse(cfg->timezone, &w, &su) != SM_OK && !overrides_zone_offsets(cfg->timezone, &w, &su)) {
			diag_error(diag, name, lines[option_index("meter", "timezone")],
			           "timezone = '%s' is neither a POSIX TZ nor a zone name (hint: Europe/Helsinki, "
			           "EET-2EEST, CET-1CEST, or +02:00/+03:00)",
			           cfg->timezone);
			return -1;
		}
	}

	if (finish_c1218(cfg, name, lines, diag) < 0)
		return -1;
	if (cfg->password_file) {
		size_t fi = option_index("mqtt", "password_file");
		if (cfg->password) {
			diag_error(diag, name, lines[fi], "set either password or password_file, not both");
			return -1;
		}
		bool world = false;
		int e = read_secret_file(cfg->password_file, buf, sizeof(buf), &world);
		if (e) {
			diag_error(diag, name, lines[fi], "password_file '%s': cannot read: %s", cfg->password_file, strerror(e));
			return -1;
		}
		free_secret_string(cfg->password);
		cfg->password = strdup(buf);
		wipe(buf, sizeof(buf));
		if (!cfg->password) {
			diag_error(diag, name, 0, "out of memory");
			return -1;
		}
		if (world)
			diag_warn(diag, "password_file '%s' is readable by other users: chmod 600 it", cfg->password_file);
	}
	if (cfg->password && !cfg->username) {
		size_t pi = option_index("mqtt", cfg->password_file ? "password_file" : "password");
		diag_error(diag, name, lines[pi], "a password needs a username (hint: set username in [mqtt])");
		return -1;
	}
	if ((cfg->tls_cert_file != NULL) != (cfg->tls_key_file != NULL)) {
		size_t i = option_index("mqtt", cfg->tls_cert_file ? "tls_cert_file" : "tls_key_file");
		diag_error(diag, name, lines[i], "tls_cert_file and tls_key_file go together (client certificate + its key)");
		return -1;
	}
	/* host = "192.168.1.10:1883" would be looked up as a name and fail at run time. */
	const char *colon = cfg->host ? strchr(cfg->host, ':') : NULL;
	if (cfg->host && (cfg->host[0] == '[' || (colon && !strchr(colon + 1, ':')))) {
		diag_error(diag, name, lines[option_index("mqtt", "host")],
		           "host '%s' must be a name or address without a port (hint: set port = ... on its own line)", cfg->host);
		return -1;
	}
	if (cfg->device && !strncmp(cfg->device, "tcp://", 6) && !tcp_spec_ok(cfg->device + 6)) {
		diag_error(diag, name, lines[option_index("serial", "device")],
		           "device '%s' must be tcp://host:port (an IPv6 address as tcp://[addr]:port)", cfg->device);
		return -1;
	}
	cfg->tls = cfg->tls_ca_file || cfg->tls_cert_file || cfg->tls_insecure;
	if (cfg->tls && !cfg->tls_ca_file) {
		size_t i = option_index("mqtt", cfg->tls_cert_file ? "tls_cert_file" : "tls_insecure");
		diag_error(diag, name, lines[i], "TLS needs tls_ca_file (hint: /etc/ssl/certs/ca-certificates.crt)");
		return -1;
	}
	return 0;
}

int config_parse_buffer(struct config *cfg, const char *name, const char *buf, size_t len, struct config_diag *diag)
{
	unsigned lines[NOPTIONS] = { 0 };
	const char *section = NULL;
	char sectbuf[32];
	char err[300];
	unsigned lineno = 0;
	size_t pos = 0;

	diag->error[0] = '\0';
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char line[1024];
		lineno++;
		if (n >= sizeof(line)) {
			diag_error(diag, name, lineno, "line too long (more than %zu characters)", sizeof(line) - 1);
			return -1;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			diag_error(diag, name, lineno, "NUL byte in the file (is it a text file?)");
			return -1;
		}

		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (!end || *trim(end + 1) != '\0') {
				diag_error(diag, name, lineno, "malformed section header (hint: write it as [mqtt])");
				return -1;
			}
			*end = '\0';
			char *sname = trim(s + 1);
			section = NULL;
			for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
				if (!strcmp(sname, sections[i]))
					section = sections[i];
			if (!section) {
				snprintf(sectbuf, sizeof(sectbuf), "%s", sname);
				diag_error(diag, name, lineno,
				           "unknown section [%s] (hint: sections are [serial] [meter] [mqtt] [homeassistant] [log])",
				           sectbuf);
				return -1;
			}
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			diag_error(diag, name, lineno, "expected 'key = value' (hint: comments start with '#' at the beginning of a line)");
			return -1;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		size_t vl = strlen(value);
		if (vl >= 2 && ((value[0] == '"' && value[vl - 1] == '"') || (value[0] == '\'' && value[vl - 1] == '\''))) {
			value[vl - 1] = '\0';
			value++;
		}
		if (!*key) {
			diag_error(diag, name, lineno, "missing key before '='");
			return -1;
		}
		if (!section) {
			char hint[400] = "";
			unknown_key_hint("", key, hint, sizeof(hint));
			diag_error(diag, name, lineno, "'%s' outside any section%s", key,
			           strstr(hint, "belongs") ? hint : " (hint: start with a section such as [serial])");
			return -1;
		}
		const struct option_def *o = find_option(section, key);
		if (!o && !strcmp(section, "meter") && (!strncmp(key, "scale.", 6) || !strncmp(key, "unit.", 5))) {
			/* scale.<obis> = N, unit.<obis> = text: for values the meter sends without scaler_unit */
			enum sm_err oe = sm_override_set(cfg->overrides, &cfg->noverrides, key, value);
			if (oe != SM_OK) {
				diag_error(diag, name, lineno, "%s = '%s': %s", key, value,
				           oe == SM_E_COUNT ? "too many scale./unit. overrides"
				                            : "expected scale.<OBIS> = -9..9 or unit.<OBIS> = a unit without "
				                              "spaces (hint: scale.1-0:31.7.0 = -2, unit.1-0:31.7.0 = A)");
				return -1;
			}
			continue;
		}
		if (!o) {
			char hint[400];
			unknown_key_hint(section, key, hint, sizeof(hint));
			diag_error(diag, name, lineno, "unknown key '%s' in [%s]%s", key, section, hint);
			return -1;
		}
		size_t idx = (size_t)(o - options);
		if (lines[idx]) {
			diag_error(diag, name, lineno, "'%s' is set twice in [%s] (first on line %u)", key, section, lines[idx]);
			return -1;
		}
		lines[idx] = lineno;
		if (!set_value(cfg, o, value, err, sizeof(err))) {
			if (o->hint)
				diag_error(diag, name, lineno, "%s (hint: %s)", err, o->hint);
			else
				diag_error(diag, name, lineno, "%s", err);
			return -1;
		}
	}
	/* Not one section header: an empty (or truncated, or comment-only) file, not a configuration. */
	cfg->empty = section == NULL;
	return finish(cfg, name, lines, diag);
}

int config_set_instance(struct config *cfg, const char *name, struct config_diag *diag)
{
	if (!is_slug(name)) {
		snprintf(diag->error, sizeof(diag->error),
		         "--instance '%s' is not allowed: letters, digits, '_' and '-' only (it becomes part of the status topic)",
		         name);
		return -1;
	}
	char *dup = strdup(name);
	if (!dup) {
		snprintf(diag->error, sizeof(diag->error), "out of memory");
		return -1;
	}
	free(cfg->instance);
	cfg->instance = dup;
	return 0;
}

int config_load(struct config *cfg, const char *path, struct config_diag *diag)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	memset(diag, 0, sizeof(*diag));
	if (fd < 0) {
		diag_error(diag, path, 0, "cannot open: %s%s", strerror(errno),
		           errno == ENOENT ? " (hint: copy the sample from the package, or pass -c FILE)" : "");
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CONFIG_MAX_FILE_BYTES) {
		close(fd);
		diag_error(diag, path, 0, "not a regular file of at most %u bytes", CONFIG_MAX_FILE_BYTES);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		diag_error(diag, path, 0, "out of memory");
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int rc = config_parse_buffer(cfg, path, buf, got, diag);
	bool inline_secret = rc == 0 && ((cfg->password && !cfg->password_file) || cfg->c1218_password);
	inline_secret |= rc == 0 && ((cfg->has_key && !cfg->key_file) || (cfg->has_auth_key && !cfg->auth_key_file));
	wipe(buf, got);
	free(buf);
	if (rc == 0) {
		free(cfg->path);
		cfg->path = strdup(path);
		if (inline_secret && (st.st_mode & S_IROTH))
			diag_warn(diag, "%s contains a key or password and is readable by other users: chmod 600 (or 640 root:smartmeter) it",
			          path);
	}
	return rc;
}

unsigned config_mqtt_port(const struct config *cfg)
{
	return cfg->port ? cfg->port : cfg->tls ? 8883 : 1883;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool config_serial_changed(const struct config *a, const struct config *b)
{
	return !str_eq(a->device, b->device) || a->baudrate != b->baudrate || a->format != b->format ||
	       a->meter_protocol != b->meter_protocol || a->poll_interval != b->poll_interval ||
	       a->c1218_user_id != b->c1218_user_id || !str_eq(a->c1218_user, b->c1218_user) ||
	       a->has_c1218_password != b->has_c1218_password || memcmp(a->c1218_pw, b->c1218_pw, sizeof(a->c1218_pw));
}

bool config_mqtt_changed(const struct config *a, const struct config *b)
{
	return !str_eq(a->host, b->host) || a->port != b->port || !str_eq(a->username, b->username) ||
	       !str_eq(a->password, b->password) || !str_eq(a->client_id, b->client_id) ||
	       !str_eq(a->topic_prefix, b->topic_prefix) || !str_eq(a->instance, b->instance) ||
	       a->keepalive != b->keepalive || !str_eq(a->tls_ca_file, b->tls_ca_file) ||
	       !str_eq(a->tls_cert_file, b->tls_cert_file) || !str_eq(a->tls_key_file, b->tls_key_file) ||
	       a->tls_insecure != b->tls_insecure || a->protocol != b->protocol;
}

bool config_keys_changed(const struct config *a, const struct config *b)
{
	return a->has_key != b->has_key || a->has_auth_key != b->has_auth_key ||
	       memcmp(a->key, b->key, sizeof(a->key)) || memcmp(a->auth_key, b->auth_key, sizeof(a->auth_key)) ||
	       a->crc_check != b->crc_check || !str_eq(a->timezone, b->timezone) ||
	       a->noverrides != b->noverrides || memcmp(a->overrides, b->overrides, a->noverrides * sizeof(a->overrides[0]));
}

size_t config_slug(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	bool pending_sep = false;
	for (; in && *in && o + 1 < outsz; in++) {
		unsigned char c = (unsigned char)*in;
		if (isalnum(c) || c == '-' || c == '_') {
			if (pending_sep && o > 0 && o + 2 < outsz)
				out[o++] = '_';
			pending_sep = false;
			out[o++] = (char)tolower(c);
		} else {
			pending_sep = true;
		}
	}
	out[o] = '\0';
	return o;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return slash ? slash + 1 : path;
}

void config_default_instance(const char *config_path, const char *device, char *out, size_t outsz)
{
	char host[256], name[128], slug[128];
	size_t n = 0;

	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		char *dot = strchr(host, '.');
		if (dot)
			*dot = '\0';
		n = config_slug(host, out, outsz);
	}
	if (n == 0)
		n = (size_t)snprintf(out, outsz, "smartmeterd");
	/* The packaged file alone keeps the plain hostname; a file of another name adds that name, a file
	 * called smartmeter.conf elsewhere (one directory per meter) adds the device's name. */
	const char *base = base_name(config_path);
	if (!config_path || !strcmp(config_path, CONFIG_DEFAULT_PATH))
		return;
	if (base && strcmp(base, "smartmeter.conf") != 0) {
		snprintf(name, sizeof(name), "%s", base);
		size_t fl = strlen(name);
		if (fl > 5 && !strcmp(name + fl - 5, ".conf"))
			name[fl - 5] = '\0';
	} else if (device) {
		snprintf(name, sizeof(name), "%s", !strncmp(device, "tcp://", 6) ? device + 6 : base_name(device));
	} else {
		return;
	}
	if (config_slug(name, slug, sizeof(slug)) > 0 && n < outsz)
		snprintf(out + n, outsz - n, "_%s", slug);
}

void config_instance(const struct config *cfg, char *out, size_t outsz)
{
	if (cfg->instance)
		snprintf(out, outsz, "%s", cfg->instance);
	else
		config_default_instance(cfg->path, cfg->device, out, outsz);
}

int config_check_runtime(const struct config *cfg, struct config_diag *diag)
{
	const struct {
		const char *key, *path;
	} files[] = {
		{ "tls_ca_file", cfg->tls_ca_file },     { "tls_cert_file", cfg->tls_cert_file },
		{ "tls_key_file", cfg->tls_key_file },   { "key_file", cfg->key_file },
		{ "auth_key_file", cfg->auth_key_file }, { "password_file", cfg->password_file },
	};
	const char *name = cfg->path ? cfg->path : "configuration";

	if (cfg->empty) {
		diag_error(diag, name, 0, "has no section at all (empty file?)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!files[i].path)
			continue;
		int fd = open(files[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			diag_error(diag, name, 0, "%s '%s': cannot read: %s", files[i].key, files[i].path, strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}
