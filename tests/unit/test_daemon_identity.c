/* test_daemon_identity.c — a meter's identity is learned from whichever list carries it (a list 1 without
 * an id changes nothing, a list 2 fills in the model, another id is another meter), and survives a
 * restart through its file under state_dir; a hand-edited file cannot put topic characters in the id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "identity.h"
#include "smartmeter/obis.h"

static struct sm_reading text(const char *code, const char *s)
{
	struct sm_reading r = { 0 };
	r.has_obis = sm_obis_parse(code, strlen(code), r.obis);
	r.value.type = SM_VALUE_TEXT;
	r.value.u.text.str = s;
	r.value.u.text.len = strlen(s);
	return r;
}

static void learned_from_whichever_list_carries_it(void **state)
{
	struct sm_reading list2[] = { text("0-0:96.1.0", "7359992890497997"), text("0-0:96.1.7", "6534") };
	struct sm_telegram t = { 0 };
	struct identity known = { 0 }, fresh;
	(void)state;

	t.protocol = SM_PROTOCOL_DLMS;
	identity_from_telegram(&t, &fresh); /* list 1: power only */
	assert_int_equal(identity_learn(&known, &fresh), IDENTITY_SAME);
	assert_string_equal(known.meter_id, "");

	t.readings = list2;
	t.nreadings = 2;
	t.meter_id = "7359992890497997";
	t.header = "AIDON_V0001";
	identity_from_telegram(&t, &fresh);
	assert_int_equal(identity_learn(&known, &fresh), IDENTITY_NEW_METER);
	assert_string_equal(known.meter_id, "7359992890497997");
	assert_string_equal(known.manufacturer, "Aidon");
	assert_string_equal(known.model, "6534");

	memset(&t, 0, sizeof(t)); /* list 1 again: nothing changes, nothing is forgotten */
	identity_from_telegram(&t, &fresh);
	assert_int_equal(identity_learn(&known, &fresh), IDENTITY_SAME);
	assert_string_equal(known.model, "6534");

	t.meter_id = "7359992890000001"; /* another meter on the line */
	identity_from_telegram(&t, &fresh);
	assert_int_equal(identity_learn(&known, &fresh), IDENTITY_NEW_METER);
	assert_string_equal(known.meter_id, "7359992890000001");
	assert_string_equal(known.model, "");
}

static void kept_across_a_restart(void **state)
{
	char dir[] = "/tmp/smd-identity-XXXXXX", path[128];
	struct identity id = { .meter_id = "e0034001540777816", .serial = "E0034001540777816",
		               .manufacturer = "Landis+Gyr", .model = "E360 (DSMR 5.0)", .dsmr = true }, back;
	const char keys[2][64] = { "energy_import_t1", "power_import" };
	char got[8][64];
	size_t n = 99;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(identity_load(dir, "/dev/ttyUSB0", &back, got, 8, &n), -1); /* never saved */
	assert_int_equal(identity_save(dir, "/dev/ttyUSB0", &id, keys, 2), 0);
	assert_int_equal(identity_load(dir, "/dev/ttyUSB0", &back, got, 8, &n), 0);
	assert_memory_equal(&back, &id, sizeof(id));
	assert_int_equal(n, 2);
	assert_string_equal(got[1], "power_import");
	/* per source: another device knows nothing of it */
	assert_int_equal(identity_load(dir, "/dev/ttyUSB1", &back, got, 8, &n), -1);
	/* a hand-edited id that is not a topic-safe slug is refused, not published */
	snprintf(path, sizeof(path), "%s/dev_ttyusb0.meter", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("meter_id a/b+#\n", f);
	fclose(f);
	assert_int_equal(identity_load(dir, "/dev/ttyUSB0", &back, got, 8, &n), -1);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(learned_from_whichever_list_carries_it),
		cmocka_unit_test(kept_across_a_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
