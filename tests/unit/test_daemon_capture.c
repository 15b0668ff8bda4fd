/* test_daemon_capture.c — the capture file of undecodable frames: one lowercase hex line per frame,
 * never above its cap (rotated to FILE.1), replayable by `smartmeter-decode --hex`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* tests/unit/helpers has a capture.h of its own (a telegram collector): name the daemon's explicitly. */
#include "../../src/daemon/capture.h"

static char dir[64], path[128], old[160];

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void one_hex_line_per_frame(void **state)
{
	static const uint8_t f1[] = { 0x7e, 0xa0, 0x08, 0xff }, f2[] = { 0x2f, 0x41 };
	char buf[64] = { 0 };
	(void)state;
	struct capture *c = capture_open(path, 4096);
	assert_non_null(c);
	assert_int_equal(capture_write(c, f1, sizeof(f1)), 0);
	assert_int_equal(capture_write(c, f2, sizeof(f2)), 0);
	capture_close(c);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	assert_int_equal(n, 14);
	assert_string_equal(buf, "7ea008ff\n2f41\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777 & ~0640, 0); /* not world-readable */
}

static void cap_rotates(void **state)
{
	uint8_t frame[100];
	(void)state;
	memset(frame, 0xab, sizeof(frame));
	unlink(path);
	unlink(old);
	struct capture *c = capture_open(path, 1000); /* 201 bytes per line: 4 fit */
	assert_non_null(c);
	for (int i = 0; i < 4; i++)
		assert_int_equal(capture_write(c, frame, sizeof(frame)), 0);
	assert_int_equal(file_size(path), 804);
	assert_int_equal(file_size(old), -1);
	assert_int_equal(capture_write(c, frame, sizeof(frame)), 0);
	assert_int_equal(file_size(old), 804);
	assert_int_equal(file_size(path), 201);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(capture_write(c, frame, sizeof(frame)), 0);
		assert_true(file_size(path) <= 1000);
		assert_true(file_size(old) <= 1000);
	}
	capture_close(c);
}

static void huge_frame_is_cut_to_the_cap(void **state)
{
	uint8_t big[5000];
	(void)state;
	memset(big, 0x11, sizeof(big));
	unlink(path);
	struct capture *c = capture_open(path, 4096);
	assert_non_null(c);
	assert_int_equal(capture_write(c, big, sizeof(big)), 0);
	assert_true(file_size(path) <= 4096);
	assert_true(file_size(path) > 4000);
	capture_close(c);
}

static void open_failure(void **state)
{
	(void)state;
	assert_null(capture_open("/nonexistent/dir/x.hex", 4096));
	assert_int_equal(capture_write(NULL, (const uint8_t *)"x", 1), -1);
	capture_close(NULL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/smd-captest-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/failed.hex", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(old);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_hex_line_per_frame),
		cmocka_unit_test(cap_rotates),
		cmocka_unit_test(huge_frame_is_cut_to_the_cap),
		cmocka_unit_test(open_failure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
