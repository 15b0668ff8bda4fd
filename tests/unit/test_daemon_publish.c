/* test_daemon_publish.c — topics and the promise made while the broker is away, with a fake transport:
 * at QoS 1 the newest queue_size messages are delivered in order on reconnect (the oldest dropped and
 * counted), at QoS 0 the latest obis + state; availability and status follow the meter and shutdown;
 * meter_id = [meter] id, else the slugged serial number (learned from whichever telegram carries it and
 * kept under [daemon] state_dir); nothing is published for a meter whose id is not known yet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "loop.h"
#include "publish.h"

#define MAXMSG 256

struct fake {
	bool up;
	unsigned n;
	char topic[MAXMSG][128];
	char payload[MAXMSG][1024];
	bool retain[MAXMSG];
};

static bool fake_connected(void *ctx)
{
	return ((struct fake *)ctx)->up;
}

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	struct fake *f = ctx;
	(void)qos;
	if (!f->up || f->n >= MAXMSG)
		return -1;
	snprintf(f->topic[f->n], sizeof(f->topic[0]), "%s", topic);
	snprintf(f->payload[f->n], sizeof(f->payload[0]), "%.*s", (int)len, (const char *)payload);
	f->retain[f->n] = retain;
	f->n++;
	return 0;
}

static char state_dir[64];

struct fixture {
	struct loop *loop;
	struct config cfg;
	struct fake fake;
	struct publisher *pub;
};

static struct fixture *make(const char *conf)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct config_diag diag;
	char text[512];
	if (!state_dir[0]) {
		snprintf(state_dir, sizeof(state_dir), "/tmp/smd-publish-XXXXXX");
		assert_non_null(mkdtemp(state_dir));
	}
	snprintf(text, sizeof(text),
	         "[mqtt]\ntopic_prefix = t\ninstance = box\n%s\n[homeassistant]\ndiscovery = false\n[daemon]\nstate_dir = %s\n",
	         conf, state_dir);
	assert_non_null(fx);
	fx->loop = loop_new();
	assert_int_equal(config_init(&fx->cfg), 0);
	if (config_parse_buffer(&fx->cfg, "t", text, strlen(text), &diag) < 0)
		fail_msg("%s", diag.error);
	struct publish_sink sink = { .connected = fake_connected, .publish = fake_publish, .ctx = &fx->fake };
	fx->pub = publisher_new(fx->loop, &fx->cfg, &sink);
	assert_non_null(fx->pub);
	return fx;
}

static void destroy(struct fixture *fx)
{
	publisher_free(fx->pub);
	config_free(&fx->cfg);
	loop_free(fx->loop);
	free(fx);
}

/* A telegram whose 1-0:1.8.0 reads `i` kWh. */
static void feed(struct fixture *fx, const char *meter_id, uint64_t i)
{
	struct sm_reading r = { 0 };
	r.has_obis = sm_obis_parse("1-0:1.8.0", 9, r.obis);
	r.value.type = SM_VALUE_NUMBER;
	r.value.unit = "kWh";
	r.value.u.num = (struct sm_number){ i, 0, false };
	struct sm_telegram t = { 0 };
	t.protocol = SM_PROTOCOL_DSMR;
	t.meter_id = meter_id;
	t.readings = &r;
	t.nreadings = 1;
	publisher_telegram(fx->pub, &t);
}

static int find(const struct fake *f, const char *topic, const char *needle, unsigned from)
{
	for (unsigned i = from; i < f->n; i++)
		if (!strcmp(f->topic[i], topic) && (!needle || strstr(f->payload[i], needle)))
			return (int)i;
	return -1;
}

static unsigned count(const struct fake *f, const char *topic)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n; i++)
		n += !strcmp(f->topic[i], topic);
	return n;
}

static void connected_path(void **state)
{
	struct fixture *fx = make("");
	(void)state;
	fx->fake.up = true;
	publisher_connected(fx->pub);
	assert_int_equal(find(&fx->fake, "t/box/status", "online", 0), 0);
	assert_true(fx->fake.retain[0]);
	feed(fx, "E0034001540777816", 5);
	int a = find(&fx->fake, "t/e0034001540777816/availability", "online", 0);
	int o = find(&fx->fake, "t/e0034001540777816/obis", "\"1-0:1.8.0\":{\"value\":5,\"unit\":\"kWh\"}", 0);
	int s = find(&fx->fake, "t/e0034001540777816/state", ":5", 0);
	assert_true(a > 0 && o > a && s > o);
	assert_true(fx->fake.retain[s]); /* retain = true by default */
	assert_string_equal(publisher_meter_id(fx->pub), "e0034001540777816");
	publisher_source_down(fx->pub);
	assert_true(find(&fx->fake, "t/e0034001540777816/availability", "offline", 0) > s);
	feed(fx, "E0034001540777816", 6);
	publisher_shutdown(fx->pub);
	unsigned n = fx->fake.n;
	assert_string_equal(fx->fake.topic[n - 2], "t/e0034001540777816/availability");
	assert_string_equal(fx->fake.payload[n - 2], "offline");
	assert_string_equal(fx->fake.topic[n - 1], "t/box/status");
	assert_string_equal(fx->fake.payload[n - 1], "offline");
	destroy(fx);
}

static void qos1_queue_keeps_newest_in_order(void **state)
{
	struct fixture *fx = make("qos = 1\nqueue_size = 6");
	struct publisher_stats st;
	char want[32];
	(void)state;
	for (uint64_t i = 1; i <= 10; i++)
		feed(fx, "M1", i); /* broker away: 20 messages, 6 kept */
	publisher_get_stats(fx->pub, &st);
	assert_int_equal(st.queued, 6);
	assert_int_equal(st.dropped, 14);
	assert_int_equal(fx->fake.n, 0);
	fx->fake.up = true;
	publisher_connected(fx->pub);
	assert_int_equal(find(&fx->fake, "t/box/status", "online", 0), 0);
	assert_int_equal(find(&fx->fake, "t/m1/availability", "online", 0), 1);
	assert_int_equal(count(&fx->fake, "t/m1/obis"), 3);
	assert_int_equal(count(&fx->fake, "t/m1/state"), 3);
	int last = 1;
	for (uint64_t i = 8; i <= 10; i++) { /* telegrams 8, 9, 10 in order, obis before state */
		snprintf(want, sizeof(want), "\"value\":%llu,", (unsigned long long)i);
		int o = find(&fx->fake, "t/m1/obis", want, 0);
		assert_true(o > last);
		snprintf(want, sizeof(want), ":%llu", (unsigned long long)i);
		int s = find(&fx->fake, "t/m1/state", want, 0);
		assert_true(s > o);
		last = s;
	}
	publisher_get_stats(fx->pub, &st);
	assert_int_equal(st.queued, 0);
	/* live again: straight through */
	feed(fx, "M1", 11);
	assert_true(find(&fx->fake, "t/m1/obis", "\"value\":11,", 0) > last);
	destroy(fx);
}

static void qos0_keeps_latest_only(void **state)
{
	struct fixture *fx = make("qos = 0");
	(void)state;
	for (uint64_t i = 1; i <= 5; i++)
		feed(fx, "Q0", i);
	fx->fake.up = true;
	publisher_connected(fx->pub);
	assert_int_equal(count(&fx->fake, "t/q0/obis"), 1);
	assert_int_equal(count(&fx->fake, "t/q0/state"), 1);
	assert_true(find(&fx->fake, "t/q0/obis", "\"value\":5,", 0) > 0);
	destroy(fx);
}

static void fixed_meter_id_wins(void **state)
{
	struct fixture *fx = make("[meter]\nid = house");
	(void)state;
	fx->fake.up = true;
	feed(fx, "E0034001540777816", 1);
	assert_true(find(&fx->fake, "t/house/state", NULL, 0) >= 0);
	assert_int_equal(count(&fx->fake, "t/e0034001540777816/state"), 0);
	destroy(fx);
}

static void serial_arrives_later(void **state)
{
	struct fixture *fx = make("[serial]\ndevice = /dev/ttyLATER");
	(void)state;
	fx->fake.up = true;
	feed(fx, NULL, 1);
	/* list 1 before any list with the id: no stand-in device, nothing published yet */
	assert_int_equal(fx->fake.n, 0);
	feed(fx, "K8EG-004", 2);
	assert_true(find(&fx->fake, "t/k8eg-004/availability", "online", 0) >= 0);
	assert_true(find(&fx->fake, "t/k8eg-004/state", ":2", 0) >= 0);
	feed(fx, NULL, 3);
	/* a telegram without identity belongs to the meter already known on this source */
	assert_true(find(&fx->fake, "t/k8eg-004/state", ":3", 0) >= 0);
	assert_int_equal(count(&fx->fake, "t/meter/state"), 0);
	destroy(fx);

	/* a restart: the id kept under state_dir names the very first telegram, which carries none */
	fx = make("[serial]\ndevice = /dev/ttyLATER");
	fx->fake.up = true;
	feed(fx, NULL, 4);
	assert_true(find(&fx->fake, "t/k8eg-004/state", ":4", 0) >= 0);
	destroy(fx);
	/* another source knows nothing of it */
	fx = make("[serial]\ndevice = /dev/ttyOTHER");
	fx->fake.up = true;
	feed(fx, NULL, 5);
	assert_int_equal(fx->fake.n, 0);
	destroy(fx);
}

/* The energy guard works on the telegram's state list: a register that goes down is published as its
 * last good value, also when a non-integer multiplier made it a floating-point value. */
static void guard_holds_a_register_that_went_down(void **state)
{
	const char *confs[] = { "[meter]\nid = g1", "[meter]\nid = g2\nenergy_multiplier = 1.5" };
	const char *held[] = { "\"energy_import_total\":101", "\"energy_import_total\":151.5" };
	(void)state;
	for (size_t c = 0; c < 2; c++) {
		struct fixture *fx = make(confs[c]);
		fx->fake.up = true;
		feed(fx, NULL, 100);
		feed(fx, NULL, 101);
		unsigned before = fx->fake.n;
		feed(fx, NULL, 50); /* a bogus frame: never in HA's statistics */
		char topic[32];
		snprintf(topic, sizeof(topic), "t/%s/state", c ? "g2" : "g1");
		int i = find(&fx->fake, topic, NULL, before);
		assert_true(i >= 0);
		assert_non_null(strstr(fx->fake.payload[i], held[c]));
		destroy(fx);
	}
}

static void state_carries_every_key(void **state)
{
	struct fixture *fx = make("[meter]\nid = nordic");
	struct sm_reading r[2] = { 0 };
	struct sm_telegram t = { 0 };
	(void)state;
	fx->fake.up = true;
	r[0].has_obis = sm_obis_parse("1-0:1.7.0", 9, r[0].obis);
	r[0].value.type = SM_VALUE_NUMBER;
	r[0].value.unit = "W";
	r[0].value.u.num = (struct sm_number){ 1200, 0, false };
	r[1].has_obis = sm_obis_parse("1-0:1.8.0", 9, r[1].obis);
	r[1].value.type = SM_VALUE_NUMBER;
	r[1].value.unit = "kWh";
	r[1].value.u.num = (struct sm_number){ 9876, 0, false };
	t.protocol = SM_PROTOCOL_DLMS;
	t.readings = r;
	t.nreadings = 2; /* "list 3": power and energy */
	publisher_telegram(fx->pub, &t);
	t.nreadings = 1; /* "list 1": power only */
	r[0].value.u.num.mag = 1300;
	publisher_telegram(fx->pub, &t);
	int i = find(&fx->fake, "t/nordic/state", "\"power_import\":1300", 0);
	assert_true(i >= 0);
	/* the energy from the earlier list is still there: no template of the meter's entities fails */
	assert_non_null(strstr(fx->fake.payload[i], "\"energy_import_total\":9876"));
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connected_path),
		cmocka_unit_test(qos1_queue_keeps_newest_in_order),
		cmocka_unit_test(qos0_keeps_latest_only),
		cmocka_unit_test(fixed_meter_id_wins),
		cmocka_unit_test(serial_arrives_later),
		cmocka_unit_test(state_carries_every_key),
		cmocka_unit_test(guard_holds_a_register_that_went_down),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* the identity files the publishers kept */
	DIR *d = state_dir[0] ? opendir(state_dir) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", state_dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d) {
		closedir(d);
		rmdir(state_dir);
	}
	return rc;
}
