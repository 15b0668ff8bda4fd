/* test_daemon_c1218_config.c — the [meter] keys of polled optical ports (protocol, password, password_file,
 * password_format, password_pad, user_id, user, poll_interval): defaults, the 20 password bytes, every
 * error without the secret in it; and the waits after refused passwords (c1218_source.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "c1218_source.h"
#include "config.h"

static struct config_diag diag;
static struct config cfg;

static int parse(const char *text)
{
	config_free(&cfg);
	assert_int_equal(config_init(&cfg), 0);
	return config_parse_buffer(&cfg, "t.conf", text, strlen(text), &diag);
}

static void assert_err(const char *text, const char *expected, const char *secret)
{
	assert_int_equal(parse(text), -1);
	if (!strstr(diag.error, expected))
		fail_msg("error '%s' lacks '%s'", diag.error, expected);
	if (secret && strstr(diag.error, secret))
		fail_msg("error '%s' echoes the secret", diag.error);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(cfg.meter_protocol, METER_PROTOCOL_AUTO);
	assert_int_equal(cfg.poll_interval, 10);
	assert_int_equal(cfg.c1218_user_id, 0);
	assert_null(cfg.c1218_user);
	assert_int_equal(cfg.c1218_password_format, 0);
	assert_int_equal(cfg.c1218_password_pad, 0);
	assert_false(cfg.has_c1218_password);
	/* [mqtt] password is a different key */
	assert_int_equal(parse("[mqtt]\nusername = u\npassword = secret\n"), 0);
	assert_false(cfg.has_c1218_password);
}

static void test_hex_password_nul_padded(void **state)
{
	(void)state;
	static const uint8_t want[20] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
		                          0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	assert_int_equal(parse("[meter]\nprotocol = c1218\npassword = 00112233445566778899AABBCCDDEEFF\nuser_id = 1\n"
	                       "user = 0000\npoll_interval = 5\n"),
	                 0);
	assert_int_equal(cfg.meter_protocol, METER_PROTOCOL_C1218);
	assert_true(cfg.has_c1218_password);
	assert_memory_equal(cfg.c1218_pw, want, 20);
	assert_int_equal(cfg.c1218_pw_given, 16);
	assert_int_equal(cfg.c1218_user_id, 1);
	assert_string_equal(cfg.c1218_user, "0000");
	assert_int_equal(cfg.poll_interval, 5);
}

static void test_ascii_password_space_padded(void **state)
{
	(void)state;
	assert_int_equal(parse("[meter]\nprotocol = C1218\npassword = K3yFromTheOperator\npassword_format = ascii\n"
	                       "password_pad = space\n"),
	                 0);
	assert_memory_equal(cfg.c1218_pw, "K3yFromTheOperator  ", 20);
}

static void test_password_file(void **state)
{
	(void)state;
	char path[] = "/tmp/smd-c1218-pw-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0102030405\n", 11), 11);
	close(fd);
	chmod(path, 0600);
	char text[256];
	snprintf(text, sizeof(text), "[meter]\nprotocol = c1218\npassword_file = %s\n", path);
	assert_int_equal(parse(text), 0);
	assert_memory_equal(cfg.c1218_pw, "\x01\x02\x03\x04\x05\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	snprintf(text, sizeof(text), "[meter]\npassword = 0102\npassword_file = %s\n", path);
	assert_err(text, "either password or password_file", NULL);
	unlink(path);
	assert_err("[meter]\npassword_file = /nonexistent/pw\n", "cannot read", NULL);
}

static void test_errors_never_echo(void **state)
{
	(void)state;
	assert_err("[meter]\npassword = 0011223344556677889g\n", "hex digits", "0011223344556677889g");
	assert_err("[meter]\npassword = 001\n", "even number of hex digits", NULL);
	assert_err("[meter]\npassword = 00112233445566778899aabbccddeeff0011223344\n", "at most 40", NULL);
	assert_err("[meter]\npassword_format = ascii\npassword = 123456789012345678901\n", "1 to 20 characters",
	           "123456789012345678901");
	assert_err("[meter]\nprotocol = ansi\n", "protocol = 'ansi' is not allowed", NULL);
	assert_err("[meter]\npassword_format = base64\n", "password_format", NULL);
	assert_err("[meter]\npassword_pad = zero\n", "password_pad", NULL);
	assert_err("[meter]\npoll_interval = 0\n", "out of range", NULL);
	assert_err("[meter]\nuser_id = 65536\n", "out of range", NULL);
	assert_err("[meter]\nuser = elevenchars\n", "at most 10 characters", NULL);
}

static void test_reload_sees_changes(void **state)
{
	(void)state;
	struct config a;
	assert_int_equal(parse("[meter]\nprotocol = c1218\npassword = 0011\n"), 0);
	a = cfg;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(parse("[meter]\nprotocol = c1218\npassword = 0012\n"), 0);
	assert_true(config_serial_changed(&a, &cfg));
	config_free(&a);
	assert_int_equal(config_init(&a), 0);
	static const char same[] = "[meter]\nprotocol = c1218\npassword = 0012\n";
	assert_int_equal(config_parse_buffer(&a, "t.conf", same, strlen(same), &diag), 0);
	assert_false(config_serial_changed(&a, &cfg));
	config_free(&a);
}

static void test_refused_backoff(void **state)
{
	(void)state;
	assert_int_equal(c1218_refused_delay_ms(1, 10000), 10000);
	assert_int_equal(c1218_refused_delay_ms(2, 10000), 60000);
	assert_int_equal(c1218_refused_delay_ms(3, 10000), 120000);
	assert_int_equal(c1218_refused_delay_ms(2, 1000), 60000); /* at least a minute whatever the poll interval */
	assert_int_equal(c1218_refused_delay_ms(40, 10000), C1218_REFUSED_BACKOFF_MAX_MS);
}

static int teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_hex_password_nul_padded),
		cmocka_unit_test(test_ascii_password_space_padded),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_errors_never_echo),
		cmocka_unit_test(test_reload_sees_changes),
		cmocka_unit_test(test_refused_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
