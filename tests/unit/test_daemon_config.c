/* test_daemon_config.c — the config table: defaults, every key type, and every error path with its
 * "name:line: message (hint)" text; secret values are never echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "overrides.h"

static struct config_diag diag;

/* NULL when the text parses, else the error message. */
static const char *parse_err(const char *text)
{
	struct config cfg;
	assert_int_equal(config_init(&cfg), 0);
	int rc = config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag);
	config_free(&cfg);
	return rc == 0 ? NULL : diag.error;
}

#define assert_err(text, expected)                                                                  \
	do {                                                                                        \
		const char *e_ = parse_err(text);                                                   \
		assert_non_null(e_);                                                                \
		if (!strstr(e_, expected))                                                          \
			fail_msg("error '%s' lacks '%s'", e_, expected);                              \
	} while (0)

static void defaults(void **state)
{
	struct config cfg;
	(void)state;
	assert_int_equal(config_init(&cfg), 0);
	assert_string_equal(cfg.device, "/dev/ttyUSB0");
	assert_int_equal(cfg.baudrate, 0);
	assert_int_equal(cfg.format, FORMAT_AUTO);
	assert_string_equal(cfg.host, "localhost");
	assert_int_equal(config_mqtt_port(&cfg), 1883);
	assert_string_equal(cfg.topic_prefix, "smartmeter");
	assert_int_equal(cfg.qos, 1);
	assert_true(cfg.retain);
	assert_int_equal(cfg.keepalive, 60);
	assert_int_equal(cfg.publish_interval, 0);
	assert_int_equal(cfg.queue_size, 500);
	assert_int_equal(cfg.protocol, 4);
	assert_true(cfg.discovery);
	assert_string_equal(cfg.discovery_prefix, "homeassistant");
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_int_equal(cfg.log_target, LOG_TARGET_STDERR);
	assert_int_equal(cfg.capture_max_bytes, 1024 * 1024);
	assert_true(cfg.crc_check);
	assert_false(cfg.has_key);
	assert_null(cfg.meter_id);
	assert_null(cfg.instance);
	assert_true(cfg.power_multiplier == 1.0);
	config_free(&cfg);
}

static void every_type(void **state)
{
	static const char text[] = "# comment\n"
	                           "; also a comment\n"
	                           "[serial]\n"
	                           "device = tcp://relay:2001\n"
	                           "baudrate = 9600\n"
	                           "format = 7e1\n"
	                           "[meter]\n"
	                           "id = my-meter_1\n"
	                           "key = 00112233445566778899AABBCCDDEEFF\n"
	                           "power_multiplier = 40\n"
	                           "energy_multiplier = 0.5\n"
	                           "crc_check = no\n"
	                           "offline_after = 30\n"
	                           "[mqtt]\n"
	                           "  host   =   broker.lan  \n"
	                           "port = 8884\n"
	                           "username = u\n"
	                           "password = \"p w#1\"\n"
	                           "topic_prefix = home/meter\n"
	                           "qos = 0\n"
	                           "retain = off\n"
	                           "publish_interval = 10\n"
	                           "protocol = 5\n"
	                           "tls_ca_file = /etc/ssl/ca.pem\n"
	                           "[homeassistant]\n"
	                           "discovery = false\n"
	                           "expire_after = 120\n"
	                           "device_discovery = true\n"
	                           "reactive_energy_class = true\n"
	                           "max_energy_jump_kwh = 50.5\n"
	                           "[log]\n"
	                           "level = debug\n"
	                           "target = syslog\n"
	                           "capture_file = /var/lib/x.hex\n"
	                           "capture_max_bytes = 64k\r\n";
	struct config cfg;
	(void)state;
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
	assert_string_equal(cfg.device, "tcp://relay:2001");
	assert_int_equal(cfg.baudrate, 9600);
	assert_int_equal(cfg.format, FORMAT_7E1);
	assert_string_equal(cfg.meter_id, "my-meter_1");
	assert_true(cfg.has_key);
	assert_int_equal(cfg.key[0], 0x00);
	assert_int_equal(cfg.key[15], 0xFF);
	assert_true(cfg.power_multiplier == 40.0);
	assert_true(cfg.energy_multiplier == 0.5);
	assert_false(cfg.crc_check);
	assert_int_equal(cfg.offline_after, 30);
	assert_string_equal(cfg.host, "broker.lan");
	assert_int_equal(config_mqtt_port(&cfg), 8884);
	assert_string_equal(cfg.password, "p w#1");
	assert_string_equal(cfg.topic_prefix, "home/meter");
	assert_int_equal(cfg.qos, 0);
	assert_false(cfg.retain);
	assert_int_equal(cfg.publish_interval, 10);
	assert_int_equal(cfg.protocol, 5);
	assert_true(cfg.tls);
	assert_false(cfg.discovery);
	assert_int_equal(cfg.expire_after, 120);
	assert_true(cfg.device_discovery);
	assert_true(cfg.reactive_energy_class);
	assert_true(cfg.max_energy_jump_kwh == 50.5);
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
	assert_int_equal(cfg.log_target, LOG_TARGET_SYSLOG);
	assert_string_equal(cfg.capture_file, "/var/lib/x.hex");
	assert_int_equal(cfg.capture_max_bytes, 65536);
	config_free(&cfg);
}

static void tls_default_port(void **state)
{
	struct config cfg;
	static const char text[] = "[mqtt]\ntls_ca_file = /ca\n";
	(void)state;
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t", text, strlen(text), &diag), 0);
	assert_int_equal(config_mqtt_port(&cfg), 8883);
	config_free(&cfg);
}

static void syntax_errors(void **state)
{
	(void)state;
	assert_err("[mqtt]\nhost\n", "t.conf:2: expected 'key = value'");
	assert_err("[mqtt]\n= x\n", "t.conf:2: missing key before '='");
	assert_err("[mqtt\nhost = x\n", "t.conf:1: malformed section header (hint: write it as [mqtt])");
	assert_err("[mqtt] x\n", "t.conf:1: malformed section header");
	assert_err("\n[broker]\n", "t.conf:2: unknown section [broker] (hint: sections are [serial] [meter] [mqtt]");
	assert_err("host = x\n", "t.conf:1: 'host' outside any section (hint: 'host' belongs in [mqtt])");
	assert_err("foo = x\n", "t.conf:1: 'foo' outside any section (hint: start with a section such as [serial])");
	char longline[2000];
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_err(longline, "t.conf:1: line too long");
	static const char nul[] = "[mqtt]\nhost = a\0b\n";
	struct config cfg;
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t.conf", nul, sizeof(nul) - 1, &diag), -1);
	assert_non_null(strstr(diag.error, "t.conf:2: NUL byte"));
	config_free(&cfg);
}

static void unknown_keys(void **state)
{
	(void)state;
	assert_err("[mqtt]\nhots = x\n", "t.conf:2: unknown key 'hots' in [mqtt] (hint: did you mean 'host'?)");
	assert_err("[serial]\nhost = x\n", "unknown key 'host' in [serial] (hint: 'host' belongs in [mqtt])");
	assert_err("[log]\nzzzzzz = 1\n", "unknown key 'zzzzzz' in [log] (hint: [log] knows level target capture_file capture_max_bytes)");
	assert_err("[mqtt]\nhost = a\nhost = b\n", "t.conf:3: 'host' is set twice in [mqtt] (first on line 2)");
}

static void bad_values(void **state)
{
	(void)state;
	assert_err("[mqtt]\nretain = maybe\n", "t.conf:2: retain = 'maybe' is not a boolean (use true or false)");
	assert_err("[mqtt]\nqos = one\n", "qos = 'one' is not a whole number (hint: 0, 1 or 2)");
	assert_err("[mqtt]\nqos = -1\n", "qos = '-1' is not a whole number");
	assert_err("[mqtt]\nqos = 3\n", "t.conf:2: qos = 3 is out of range (0..2) (hint: 0, 1 or 2)");
	assert_err("[mqtt]\nkeepalive = 1\n", "keepalive = 1 is out of range (5..65535)");
	assert_err("[mqtt]\nport = 70000\n", "port = 70000 is out of range");
	assert_err("[mqtt]\nqos = 99999999999999999999999\n", "is not a whole number");
	assert_err("[meter]\npower_multiplier = abc\n", "power_multiplier = 'abc' is not a number");
	assert_err("[meter]\npower_multiplier = 0\n", "power_multiplier = 0 is out of range (above 0..");
	assert_err("[meter]\npower_multiplier = nan\n", "is not a number");
	assert_err("[log]\ncapture_max_bytes = lots\n", "capture_max_bytes = 'lots' is not a size");
	assert_err("[log]\ncapture_max_bytes = 1T\n", "capture_max_bytes = '1T' is not a size");
	assert_err("[log]\ncapture_max_bytes = 100\n", "capture_max_bytes = 100 is out of range (hint: bytes");
	assert_err("[serial]\nbaudrate = fast\n", "baudrate = 'fast' is not a baud rate (hint: use auto or a rate");
	assert_err("[serial]\nformat = 9N9\n", "format = '9N9' is not a line format (hint: use auto, 8N1");
	assert_err("[log]\nlevel = loud\n", "level = 'loud' is not a log level (hint: use error, warning");
	assert_err("[log]\ntarget = file\n", "target = 'file' is not a log target (hint: use stderr or syslog)");
	assert_err("[mqtt]\nprotocol = 3\n", "protocol = '3' is not an MQTT version (hint: use 3.1.1 or 5)");
	assert_err("[mqtt]\nhost =\n", "t.conf:2: host must not be empty");
	assert_err("[serial]\ndevice = \"\"\n", "device must not be empty");
	assert_err("[meter]\nid = my meter\n", "id = 'my meter' is not allowed (hint: letters, digits");
	assert_err("[mqtt]\ninstance = a/b\n", "instance = 'a/b' is not allowed");
	assert_err("[mqtt]\ntopic_prefix = a/#\n", "topic_prefix = 'a/#' is not a valid topic prefix");
	assert_err("[mqtt]\ntopic_prefix = /a\n", "is not a valid topic prefix");
	assert_err("[homeassistant]\ndiscovery_prefix = ha/\n", "is not a valid topic prefix");
}

static void keys_are_never_echoed(void **state)
{
	(void)state;
	const char *e = parse_err("[meter]\nkey = 00112233445566778899aabbccddee\n");
	assert_non_null(strstr(e, "t.conf:2: key must be 32 hex digits (an AES-128 key), got 30 characters"));
	assert_null(strstr(e, "00112233"));
	e = parse_err("[meter]\nauth_key = 00112233445566778899aabbccddeeZZ\n");
	assert_non_null(strstr(e, "auth_key must be 32 hex digits (an AES-128 key), it contains a non-hex character"));
	assert_null(strstr(e, "ccddee"));
}

static char tmpdir[64];

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void cross_key_rules(void **state)
{
	char text[512], kf[128], bad[128], pw[128];
	(void)state;
	write_file("key", "00112233445566778899aabbccddeeff\n", 0600, kf, sizeof(kf));
	write_file("bad", "not a key\n", 0600, bad, sizeof(bad));
	write_file("pw", "secret\n", 0644, pw, sizeof(pw));

	snprintf(text, sizeof(text), "[meter]\nkey = 00112233445566778899aabbccddeeff\nkey_file = %s\n", kf);
	assert_err(text, "t.conf:3: set either key or key_file, not both");
	assert_err("[meter]\nkey_file = /nonexistent/k\n", "t.conf:2: key_file '/nonexistent/k': cannot read: No such file");
	snprintf(text, sizeof(text), "[meter]\nauth_key_file = %s\n", bad);
	assert_err(text, "must contain 32 hex digits (an AES-128 key) and nothing else");
	assert_null(strstr(parse_err(text), "not a key"));
	assert_err("[mqtt]\nusername = u\npassword = a\npassword_file = /x\n", "t.conf:4: set either password or password_file");
	assert_err("[mqtt]\nusername = u\npassword_file = /nonexistent/p\n", "password_file '/nonexistent/p': cannot read");
	assert_err("[mqtt]\npassword = x\n", "t.conf:2: a password needs a username");
	assert_err("[mqtt]\ntls_ca_file = /ca\ntls_cert_file = /c\n", "t.conf:3: tls_cert_file and tls_key_file go together");
	assert_err("[mqtt]\ntls_insecure = true\n", "t.conf:2: TLS needs tls_ca_file");

	struct config cfg;
	snprintf(text, sizeof(text), "[meter]\nkey_file = %s\n[mqtt]\nusername = u\npassword_file = %s\n", kf, pw);
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
	assert_true(cfg.has_key);
	assert_int_equal(cfg.key[1], 0x11);
	assert_string_equal(cfg.password, "secret");
	assert_int_equal(diag.nwarnings, 1); /* pw is 0644 */
	assert_non_null(strstr(diag.warnings[0], "readable by other users"));
	config_free(&cfg);
}

static void load_file(void **state)
{
	char path[128];
	struct config cfg;
	(void)state;
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load(&cfg, "/nonexistent/smartmeter.conf", &diag), -1);
	assert_string_equal(diag.error, "/nonexistent/smartmeter.conf: cannot open: No such file or directory (hint: copy the "
	                                "sample from the package, or pass -c FILE)");
	config_free(&cfg);

	write_file("c.conf", "[meter]\nkey = 00112233445566778899aabbccddeeff\n", 0644, path, sizeof(path));
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load(&cfg, path, &diag), 0);
	assert_int_equal(diag.nwarnings, 1);
	assert_non_null(strstr(diag.warnings[0], "contains a key or password and is readable by other users"));
	config_free(&cfg);

	chmod(path, 0600);
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load(&cfg, path, &diag), 0);
	assert_int_equal(diag.nwarnings, 0);
	assert_string_equal(cfg.path, path);
	config_free(&cfg);

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load(&cfg, tmpdir, &diag), -1);
	assert_non_null(strstr(diag.error, "not a regular file"));
	config_free(&cfg);
}

/* --instance (smartmeterd@NAME.service) replaces [mqtt] instance, and only with a slug. */
static void instance_override(void **state)
{
	static const char text[] = "[mqtt]\ninstance = fromfile\n";
	struct config cfg;
	(void)state;
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
	assert_string_equal(cfg.instance, "fromfile");
	assert_int_equal(config_set_instance(&cfg, "garage-1", &diag), 0);
	assert_string_equal(cfg.instance, "garage-1");
	assert_int_equal(config_set_instance(&cfg, "a/b", &diag), -1);
	assert_non_null(strstr(diag.error, "--instance 'a/b' is not allowed"));
	assert_string_equal(cfg.instance, "garage-1");
	assert_int_equal(config_set_instance(&cfg, "", &diag), -1);
	config_free(&cfg);
}

static void slugs_and_changes(void **state)
{
	char out[32];
	struct config a, b;
	(void)state;
	assert_int_equal(config_slug("E0034001540777816", out, sizeof(out)), 17);
	assert_string_equal(out, "e0034001540777816");
	config_slug("  KFM 5.KAIFA/meter  ", out, sizeof(out));
	assert_string_equal(out, "kfm_5_kaifa_meter");
	assert_int_equal(config_slug("!!!", out, sizeof(out)), 0);
	config_default_instance(NULL, NULL, out, sizeof(out));
	assert_true(strlen(out) > 0);
	char host[32], other[64];
	snprintf(host, sizeof(host), "%s", out);
	config_default_instance("/etc/smartmeter.conf", "/dev/ttyUSB0", out, sizeof(out));
	assert_string_equal(out, host); /* the packaged file keeps the plain hostname */
	/* a second daemon with its own file gets its own instance (client id, status topic) */
	config_default_instance("/etc/smartmeter/Heat Meter.conf", "/dev/ttyUSB0", other, sizeof(other));
	assert_true(strncmp(other, host, strlen(host)) == 0);
	assert_string_equal(other + strlen(host), "_heat_meter");
	/* one directory per meter, each with a smartmeter.conf: the device tells them apart */
	config_default_instance("/etc/smartmeter/2/smartmeter.conf", "/dev/serial/by-id/usb-FTDI_A10K-if00", other,
	                        sizeof(other));
	assert_string_equal(other + strlen(host), "_usb-ftdi_a10k-if00");
	config_default_instance("/srv/m/smartmeter.conf", "tcp://relay.lan:2001", other, sizeof(other));
	assert_string_equal(other + strlen(host), "_relay_lan_2001");

	assert_int_equal(config_init(&a), 0);
	assert_int_equal(config_init(&b), 0);
	assert_false(config_serial_changed(&a, &b));
	assert_false(config_mqtt_changed(&a, &b));
	assert_false(config_keys_changed(&a, &b));
	const char *t = "[mqtt]\nqos = 0\n";
	assert_int_equal(config_parse_buffer(&b, "t", t, strlen(t), &diag), 0);
	assert_false(config_mqtt_changed(&a, &b)); /* qos needs no reconnect */
	t = "[mqtt]\ntopic_prefix = x\n[serial]\nbaudrate = 2400\n[meter]\nkey = 00112233445566778899aabbccddeeff\n";
	assert_int_equal(config_parse_buffer(&b, "t", t, strlen(t), &diag), 0);
	assert_true(config_mqtt_changed(&a, &b));
	assert_true(config_serial_changed(&a, &b));
	assert_true(config_keys_changed(&a, &b));
	config_free(&a);
	config_free(&b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/smd-cfgtest-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* [meter] timezone and scale.<obis> / unit.<obis>: parsed into what the decoder gets. */
static void meter_zone_and_overrides(void **state)
{
	(void)state;
	struct config cfg;
	const char *text = "[meter]\ntimezone = EET-2EEST\nscale.1-0:31.7.0 = -2\nunit.1-0:31.7.0 = A\n"
	                   "unit.1-0:14.7.0 = Hz\n";
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
	assert_int_equal(cfg.noverrides, 2);
	assert_true(cfg.overrides[0].has_scaler);
	assert_int_equal(cfg.overrides[0].scaler, -2);
	assert_string_equal(cfg.overrides[0].unit, "A");
	assert_false(cfg.overrides[1].has_scaler);
	struct sm_decoder_config dc = {0};
	overrides_decoder_config(&cfg, &dc);
	assert_true(dc.has_dsmr_tz);
	assert_int_equal(dc.dsmr_winter_offset_min, 120);
	assert_int_equal(dc.dsmr_summer_offset_min, 180);
	assert_int_equal(dc.noverrides, 2);
	config_free(&cfg);

	assert_err("[meter]\ntimezone = Mars/Olympus\n", "t.conf:2: timezone = 'Mars/Olympus' is neither a POSIX TZ");
	assert_err("[meter]\ntimezone = ../../etc/passwd\n", "t.conf:2: timezone = '../../etc/passwd' is neither");

	/* A zone name, when the zoneinfo database is installed (Debian's tzdata). */
	if (access("/usr/share/zoneinfo/Europe/Helsinki", R_OK) == 0) {
		text = "[meter]\ntimezone = Europe/Helsinki\n";
		assert_int_equal(config_init(&cfg), 0);
		assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
		memset(&dc, 0, sizeof(dc));
		overrides_decoder_config(&cfg, &dc);
		assert_true(dc.has_dsmr_tz);
		assert_int_equal(dc.dsmr_winter_offset_min, 120);
		assert_int_equal(dc.dsmr_summer_offset_min, 180);
		config_free(&cfg);

		/* No [meter] timezone: the system's zone when it has summer time; one without keeps CET. */
		const char *old = getenv("TZ");
		char *saved = old ? strdup(old) : NULL;
		text = "[meter]\n";
		assert_int_equal(config_init(&cfg), 0);
		assert_int_equal(config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag), 0);
		setenv("TZ", "Europe/Helsinki", 1);
		memset(&dc, 0, sizeof(dc));
		overrides_decoder_config(&cfg, &dc);
		assert_true(dc.has_dsmr_tz);
		assert_int_equal(dc.dsmr_summer_offset_min, 180);
		setenv("TZ", "UTC", 1);
		memset(&dc, 0, sizeof(dc));
		overrides_decoder_config(&cfg, &dc);
		assert_false(dc.has_dsmr_tz);
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		free(saved);
		tzset();
		config_free(&cfg);
	}
	assert_err("[meter]\nscale.1-0:31.7.0 = lots\n", "t.conf:2: scale.1-0:31.7.0 = 'lots'");
	assert_err("[meter]\nscale.31.7 = 1\n", "t.conf:2:");
	assert_err("[mqtt]\nscale.1-0:31.7.0 = 1\n", "unknown key");

	/* Each raw code is named once in the log, whatever the number of telegrams. */
	struct sm_reading r[2] = {{.obis = {1, 0, 31, 7, 0, 255}, .has_obis = true, .unscaled = true},
	                          {.obis = {1, 0, 1, 8, 0, 255}, .has_obis = true}};
	r[0].value.type = r[1].value.type = SM_VALUE_NUMBER;
	struct sm_telegram t = {.readings = r, .nreadings = 2};
	struct raw_notes notes = {0};
	assert_int_equal(overrides_note_raw(&notes, &t), 1);
	assert_int_equal(overrides_note_raw(&notes, &t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),           cmocka_unit_test(every_type),
		cmocka_unit_test(tls_default_port),   cmocka_unit_test(syntax_errors),
		cmocka_unit_test(unknown_keys),       cmocka_unit_test(bad_values),
		cmocka_unit_test(keys_are_never_echoed), cmocka_unit_test(cross_key_rules),
		cmocka_unit_test(load_file),          cmocka_unit_test(slugs_and_changes), cmocka_unit_test(instance_override),
		cmocka_unit_test(meter_zone_and_overrides),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
