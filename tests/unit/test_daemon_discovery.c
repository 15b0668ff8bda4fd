/* test_daemon_discovery.c — Home Assistant discovery payloads: every config is a valid JSON object on a
 * topic HA accepts, unique_ids are unique and end in the OBIS slug, device_class / unit / state_class
 * follow HOME_ASSISTANT.md §3.1 (the test table in helpers/harules.c, independent of discovery.c's own), the device
 * and origin blocks hold only keys HA allows, sub-meters are devices via the meter, value_templates name
 * keys the state object really has, and the announcer republishes only what changed. Telegrams are
 * built here (a DSMR 5 meter with gas and water, and a DLMS push list), never copied from the corpus;
 * one more test runs the same checks on every real meter of ../shared/corpus when it is there. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"
#include "discovery.h"
#include "harules.h"
#include "smartmeter/obis.h"
#include "state.h"

/* §2.3 / §2.4: strict blocks — any other key rejects the entity. */
static const char *const device_keys[] = { "identifiers", "connections", "name", "manufacturer", "model", "model_id",
	                                   "serial_number", "sw_version", "hw_version", "via_device", "suggested_area",
	                                   "configuration_url", NULL };
static const char *const origin_keys[] = { "name", "sw_version", "support_url", NULL };

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static void check_ha_rules(const char *topic, json_object *c, bool binary)
{
	const char *dc = jstr(c, "device_class"), *unit = jstr(c, "unit_of_measurement"), *sc = jstr(c, "state_class");
	if (binary) {
		if (unit || sc || json_object_object_get_ex(c, "suggested_display_precision", NULL))
			fail_msg("%s: binary_sensor with unit/state_class/precision", topic);
		if (dc && !ha_listed(ha_binary_classes, 3, dc))
			fail_msg("%s: binary device_class %s", topic, dc);
		assert_string_equal(jstr(c, "payload_on"), "ON");
		assert_string_equal(jstr(c, "payload_off"), "OFF");
		return;
	}
	ha_assert_valid(topic, dc, unit, sc);
}

static void check_block(const char *topic, json_object *c, const char *name, const char *const *allowed)
{
	json_object *b;
	if (!json_object_object_get_ex(c, name, &b) || !json_object_is_type(b, json_type_object))
		fail_msg("%s: no %s block", topic, name);
	json_object_object_foreach(b, k, v)
	{
		(void)v;
		if (!ha_listed(allowed, 32, k))
			fail_msg("%s: key %s not allowed in %s", topic, k, name);
	}
}

/* ---- telegram building ---- */
struct tb {
	struct sm_telegram t;
	struct sm_reading r[64];
};

static struct sm_reading *add(struct tb *b, const char *code)
{
	struct sm_reading *r = &b->r[b->t.nreadings++];
	memset(r, 0, sizeof(*r));
	assert_true(sm_obis_parse(code, strlen(code), r->obis));
	r->has_obis = true;
	b->t.readings = b->r;
	return r;
}

static void num(struct tb *b, const char *code, uint64_t mag, int exp10, const char *unit)
{
	struct sm_reading *r = add(b, code);
	r->value.type = SM_VALUE_NUMBER;
	r->value.unit = unit;
	r->value.u.num.mag = mag;
	r->value.u.num.exp10 = (int8_t)exp10;
}

static void txt(struct tb *b, const char *code, const char *s)
{
	struct sm_reading *r = add(b, code);
	r->value.type = SM_VALUE_TEXT;
	r->value.u.text.str = s;
	r->value.u.text.len = strlen(s);
}

static const struct sm_datetime when = { .year = 2026, .month = 9, .day = 14, .hour = 10, .minute = 15,
	                                 .hundredths = 0xFF, .has_date = true, .has_time = true, .has_offset = true,
	                                 .dst = true, .offset_min = 120 };

/* A DSMR 5.0 meter (the dsmr_parser V5 layout) with gas on channel 1 and water on channel 2. */
static void dsmr5(struct tb *b)
{
	memset(b, 0, sizeof(*b));
	b->t.protocol = SM_PROTOCOL_DSMR;
	b->t.header = "ISk5\\2MT382-1000";
	b->t.meter_id = "E0012345678";
	b->t.dsmr_version = "50";
	txt(b, "1-3:0.2.8", "50");
	struct sm_reading *r = add(b, "0-0:1.0.0");
	r->value.type = SM_VALUE_DATETIME;
	r->value.u.dt = when;
	txt(b, "0-0:96.1.1", "4530303132333435363738");
	num(b, "1-0:1.8.1", 1581123, -3, "kWh");
	num(b, "1-0:1.8.2", 1621218, -3, "kWh");
	num(b, "1-0:2.8.1", 0, -3, "kWh");
	num(b, "1-0:2.8.2", 0, -3, "kWh");
	txt(b, "0-0:96.14.0", "0002");
	num(b, "1-0:1.7.0", 2, -3, "kW");
	num(b, "1-0:2.7.0", 0, -3, "kW");
	txt(b, "0-0:96.7.21", "00004");
	txt(b, "0-0:96.7.9", "00002");
	txt(b, "1-0:32.32.0", "00002");
	txt(b, "1-0:32.36.0", "00000");
	txt(b, "0-0:96.13.0", "");
	num(b, "1-0:32.7.0", 2300, -1, "V");
	num(b, "1-0:31.7.0", 0, 0, "A");
	num(b, "1-0:21.7.0", 0, -3, "kW");
	num(b, "1-0:22.7.0", 0, -3, "kW");
	txt(b, "0-1:24.1.0", "003");
	txt(b, "0-1:96.1.0", "3232323241424344");
	num(b, "0-1:24.2.1", 107, -3, "m3");
	b->r[b->t.nreadings - 1].has_timestamp = true;
	b->r[b->t.nreadings - 1].timestamp = when;
	txt(b, "0-2:24.1.0", "007");
	num(b, "0-2:24.2.1", 12785123, -3, "m3");
	txt(b, "0-0:96.3.10", "1");
	num(b, "1-0:3.8.0", 12, -3, "kvarh");
	num(b, "0-0:17.0.0", 9999, -1, "kW");
}

/* A DLMS push list (Aidon-like): W, Wh, PF without unit, meter type, an unknown code and a profile. */
static void dlms(struct tb *b)
{
	memset(b, 0, sizeof(*b));
	b->t.protocol = SM_PROTOCOL_DLMS;
	b->t.framing = SM_FRAMING_HDLC;
	b->t.header = "AIDON_V0001";
	b->t.meter_id = "7359992890941742";
	txt(b, "1-1:0.2.129", "AIDON_V0001");
	txt(b, "0-0:96.1.0", "7359992890941742");
	txt(b, "0-0:96.1.7", "6534");
	num(b, "1-0:1.7.0", 1234, 0, "W");
	num(b, "1-0:2.7.0", 0, 0, "W");
	num(b, "1-0:1.8.0", 71765430, 1, "Wh");
	num(b, "1-0:13.7.0", 998, -3, NULL);
	num(b, "1-0:31.7.0", 52, -1, "A");
	num(b, "1-0:81.7.40", 1234, -1, NULL); /* angle: unknown to the registry */
	struct sm_reading *r = add(b, "1-0:99.97.0");
	r->value.type = SM_VALUE_ROWS;
}

static const struct discovery_options opts = {
	.discovery_prefix = "homeassistant",
	.topic_prefix = "smartmeter",
	.instance = "host1",
	.version = "9.9.9",
	.health = true,
};

static json_object *parse(const struct discovery_msg *m)
{
	json_object *j = json_tokener_parse(m->payload);
	if (!j || !json_object_is_type(j, json_type_object))
		fail_msg("%s: payload is not a JSON object: %s", m->topic, m->payload);
	return j;
}

static json_object *find_config(const struct discovery_batch *b, const char *object_id)
{
	char tail[128];
	snprintf(tail, sizeof(tail), "/%s/config", object_id);
	for (size_t i = 0; i < b->n; i++) {
		size_t tl = strlen(b->msgs[i].topic), l = strlen(tail);
		if (tl > l && strcmp(b->msgs[i].topic + tl - l, tail) == 0)
			return parse(&b->msgs[i]);
	}
	return NULL;
}

/* Every rule a single per-entity config must follow, plus consistency with the state object. */
static void check_batch(const struct discovery_batch *b, json_object *state)
{
	regex_t re;
	assert_int_equal(regcomp(&re, "^homeassistant/(sensor|binary_sensor)/[A-Za-z0-9_-]+/([A-Za-z0-9_-]+)/config$",
	                         REG_EXTENDED),
	                 0);
	for (size_t i = 0; i < b->n; i++) {
		const struct discovery_msg *m = &b->msgs[i];
		regmatch_t g[3];
		if (regexec(&re, m->topic, 3, g, 0) != 0)
			fail_msg("topic HA would not accept: %s", m->topic);
		char object_id[128];
		snprintf(object_id, sizeof(object_id), "%.*s", (int)(g[2].rm_eo - g[2].rm_so), m->topic + g[2].rm_so);
		json_object *c = parse(m);
		bool binary = strncmp(m->topic, "homeassistant/binary_sensor/", 28) == 0;

		const char *uid = jstr(c, "unique_id");
		assert_non_null(uid);
		assert_true(strncmp(uid, "smartmeterd_", 12) == 0);
		/* unique_id ends in the object id (the OBIS slug, or a derived name) */
		size_t ul = strlen(uid), ol = strlen(object_id);
		assert_true(ul > ol + 1 && uid[ul - ol - 1] == '_' && strcmp(uid + ul - ol, object_id) == 0);
		for (size_t j = 0; j < i; j++) {
			json_object *o = parse(&b->msgs[j]);
			if (strcmp(jstr(o, "unique_id"), uid) == 0)
				fail_msg("unique_id %s used twice", uid);
			json_object_put(o);
		}
		assert_true(strncmp(jstr(c, "state_topic"), "smartmeter/", 11) == 0);
		json_object *av;
		assert_true(json_object_object_get_ex(c, "availability", &av));
		assert_int_equal(json_object_array_length(av), 2);
		assert_string_equal(jstr(json_object_array_get_idx(av, 0), "topic"), "smartmeter/host1/status");
		assert_string_equal(jstr(c, "availability_mode"), "all");
		check_block(m->topic, c, "device", device_keys);
		check_block(m->topic, c, "origin", origin_keys);
		json_object *dev, *origin;
		json_object_object_get_ex(c, "device", &dev);
		json_object_object_get_ex(c, "origin", &origin);
		assert_non_null(jstr(dev, "name"));
		assert_string_equal(jstr(origin, "name"), "smartmeterd");
		assert_string_equal(jstr(origin, "sw_version"), "9.9.9");
		assert_false(json_object_object_get_ex(c, "object_id", NULL)); /* removed in HA 2026.4 */
		if (jstr(c, "icon"))
			assert_true(strncmp(jstr(c, "icon"), "mdi:", 4) == 0);
		if (jstr(c, "entity_category"))
			assert_string_equal(jstr(c, "entity_category"), "diagnostic");
		check_ha_rules(m->topic, c, binary);

		/* value_template names a key of the state object; numeric entities get numbers. */
		const char *tpl = jstr(c, "value_template");
		char key[96];
		assert_non_null(tpl);
		if (sscanf(tpl, "{{ value_json.%95[a-z0-9_] }}", key) != 1 ||
		    strlen(tpl) != strlen("{{ value_json. }}") + strlen(key))
			fail_msg("%s: value_template %s", m->topic, tpl);
		json_object *v;
		if (!json_object_object_get_ex(state, key, &v))
			fail_msg("%s: state object has no key %s", m->topic, key);
		bool numeric = !binary && (jstr(c, "unit_of_measurement") || jstr(c, "state_class"));
		if (numeric && v && !json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			fail_msg("%s: numeric entity but state %s = %s", m->topic, key, json_object_to_json_string(v));
		if (binary && v && strcmp(json_object_get_string(v), "ON") && strcmp(json_object_get_string(v), "OFF"))
			fail_msg("%s: binary state %s = %s", m->topic, key, json_object_get_string(v));
		json_object_put(c);
	}
	regfree(&re);
}

static json_object *state_of(const struct sm_telegram *t)
{
	struct state_list l = { 0 };
	struct discovery_health h = { .frames = 5, .last_frame = 1789000000, .serial = "115200 8N1" };
	assert_int_equal(state_list_build(&l, t, NULL), 0);
	assert_int_equal(discovery_health_add(&l, &h), 0);
	json_object *s = state_list_json(l.v, l.n);
	assert_non_null(s);
	state_list_free(&l);
	return s;
}

static void dsmr_configs_follow_the_rules(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch out = { 0 };
	dsmr5(&b);
	assert_int_equal(discovery_build(&opts, "E0012345678", &b.t, &out), 0);
	assert_true(out.n > 25);
	json_object *st = state_of(&b.t);
	check_batch(&out, st);
	json_object_put(st);

	/* The tariff is an enum sensor whose options hold what the state topic publishes for it. */
	json_object *c = find_config(&out, "0_0_96_14_0"), *ops, *v;
	assert_non_null(c);
	assert_string_equal(jstr(c, "device_class"), "enum");
	assert_null(jstr(c, "unit_of_measurement"));
	assert_true(json_object_object_get_ex(c, "options", &ops));
	st = state_of(&b.t);
	assert_true(json_object_object_get_ex(st, "tariff", &v));
	bool listed = false;
	for (size_t i = 0; i < json_object_array_length(ops); i++)
		listed |= !strcmp(json_object_get_string(json_object_array_get_idx(ops, i)), json_object_get_string(v));
	assert_true(listed);
	json_object_put(c);
	json_object_put(st);
	/* Diagnostics that change with every telegram are off by default (a recorder write per frame). */
	c = find_config(&out, "decoder_frames");
	assert_true(json_object_object_get_ex(c, "enabled_by_default", &v) && !json_object_get_boolean(v));
	json_object_put(c);
	c = find_config(&out, "decoder_last_frame");
	assert_true(json_object_object_get_ex(c, "enabled_by_default", &v) && !json_object_get_boolean(v));
	json_object_put(c);

	/* Energy dashboard: import tariff 1 */
	c = find_config(&out, "1_0_1_8_1");
	assert_non_null(c);
	assert_string_equal(jstr(c, "name"), "Energy import tariff 1");
	assert_string_equal(jstr(c, "unique_id"), "smartmeterd_E0012345678_1_0_1_8_1");
	assert_string_equal(jstr(c, "value_template"), "{{ value_json.energy_import_t1 }}");
	assert_string_equal(jstr(c, "device_class"), "energy");
	assert_string_equal(jstr(c, "unit_of_measurement"), "kWh");
	assert_string_equal(jstr(c, "state_class"), "total_increasing");
	assert_string_equal(jstr(c, "state_topic"), "smartmeter/E0012345678/state");
	json_object *dev, *ids;
	assert_true(json_object_object_get_ex(c, "device", &dev));
	assert_string_equal(jstr(dev, "manufacturer"), "Iskraemeco");
	assert_string_equal(jstr(dev, "model"), "MT382-1000 (DSMR 5.0)");
	assert_string_equal(jstr(dev, "serial_number"), "E0012345678");
	assert_true(json_object_object_get_ex(dev, "identifiers", &ids));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 0)), "smartmeterd_E0012345678");
	json_object_put(c);

	/* kW on the wire, W declared */
	c = find_config(&out, "1_0_1_7_0");
	assert_string_equal(jstr(c, "unit_of_measurement"), "W");
	assert_string_equal(jstr(c, "state_class"), "measurement");
	json_object_put(c);

	/* Gas: own device via the meter, main feature (name null), m³ */
	c = find_config(&out, "0_1_24_2_1");
	assert_non_null(c);
	json_object *name;
	assert_true(json_object_object_get_ex(c, "name", &name));
	assert_null(name);
	assert_string_equal(jstr(c, "device_class"), "gas");
	assert_string_equal(jstr(c, "unit_of_measurement"), "m\xc2\xb3");
	assert_string_equal(jstr(c, "value_template"), "{{ value_json.mbus1_total }}");
	assert_true(json_object_object_get_ex(c, "device", &dev));
	assert_string_equal(jstr(dev, "name"), "Gas meter");
	assert_string_equal(jstr(dev, "via_device"), "smartmeterd_E0012345678");
	assert_string_equal(jstr(dev, "serial_number"), "2222ABCD");
	assert_true(json_object_object_get_ex(dev, "identifiers", &ids));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 0)), "smartmeterd_2222abcd");
	assert_string_equal(jstr(c, "unique_id"), "smartmeterd_2222abcd_0_1_24_2_1");
	json_object_put(c);
	c = find_config(&out, "0_1_24_2_1_time");
	assert_non_null(c);
	assert_string_equal(jstr(c, "device_class"), "timestamp");
	assert_string_equal(jstr(c, "value_template"), "{{ value_json.mbus1_total_timestamp }}");
	json_object_put(c);
	/* Water on channel 2, no serial: identified by meter + channel */
	c = find_config(&out, "0_2_24_2_1");
	assert_string_equal(jstr(c, "device_class"), "water");
	assert_true(json_object_object_get_ex(c, "device", &dev));
	assert_string_equal(jstr(dev, "name"), "Water meter");
	assert_true(json_object_object_get_ex(dev, "identifiers", &ids));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 0)),
	                    "smartmeterd_E0012345678_mbus2");
	json_object_put(c);

	/* Relay as binary_sensor; identifiers and versions as diagnostics */
	c = find_config(&out, "0_0_96_3_10");
	assert_non_null(c);
	assert_string_equal(jstr(c, "device_class"), "power");
	json_object_put(c);
	assert_true(strstr(out.msgs[0].topic, "homeassistant/") == out.msgs[0].topic);
	c = find_config(&out, "0_0_96_1_1");
	assert_string_equal(jstr(c, "entity_category"), "diagnostic");
	json_object_put(c);
	c = find_config(&out, "1_3_0_2_8");
	assert_string_equal(jstr(c, "entity_category"), "diagnostic");
	json_object_put(c);

	/* Reactive energy without the HA >= 2025.6 switch: no device class, still statistics */
	c = find_config(&out, "1_0_3_8_0");
	assert_null(jstr(c, "device_class"));
	assert_string_equal(jstr(c, "unit_of_measurement"), "kvarh");
	assert_string_equal(jstr(c, "state_class"), "total_increasing");
	json_object_put(c);

	/* Limiter: meter unit converted like the state (kW -> W), no device class */
	c = find_config(&out, "0_0_17_0_0");
	assert_string_equal(jstr(c, "unit_of_measurement"), "W");
	json_object_put(c);

	/* Health */
	c = find_config(&out, "decoder_frames");
	assert_non_null(c);
	assert_string_equal(jstr(c, "unique_id"), "smartmeterd_E0012345678_decoder_frames");
	json_object_put(c);
	c = find_config(&out, "decoder_last_frame");
	assert_string_equal(jstr(c, "device_class"), "timestamp");
	json_object_put(c);
	discovery_batch_free(&out);
}

static void dlms_configs_follow_the_rules(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch out = { 0 };
	dlms(&b);
	assert_int_equal(discovery_build(&opts, "7359992890941742", &b.t, &out), 0);
	json_object *st = state_of(&b.t);
	check_batch(&out, st);
	json_object_put(st);
	json_object *c = find_config(&out, "1_0_1_8_0");
	assert_string_equal(jstr(c, "unit_of_measurement"), "kWh"); /* Wh on the wire */
	json_object *dev;
	assert_true(json_object_object_get_ex(c, "device", &dev));
	assert_string_equal(jstr(dev, "manufacturer"), "Aidon");
	assert_string_equal(jstr(dev, "model"), "6534");
	json_object_put(c);
	c = find_config(&out, "1_0_13_7_0");
	assert_string_equal(jstr(c, "device_class"), "power_factor");
	assert_null(jstr(c, "unit_of_measurement"));
	json_object_put(c);
	/* Unknown code: a plain sensor named by its code */
	c = find_config(&out, "1_0_81_7_40");
	assert_non_null(c);
	assert_string_equal(jstr(c, "name"), "1-0:81.7.40");
	assert_string_equal(jstr(c, "value_template"), "{{ value_json.obis_1_0_81_7_40 }}");
	assert_null(jstr(c, "device_class"));
	json_object_put(c);
	/* Profiles get no entity */
	assert_null(find_config(&out, "1_0_99_97_0"));
	discovery_batch_free(&out);
}

static void options_change_the_payloads(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch out = { 0 };
	struct discovery_options o = opts;
	o.reactive_energy_class = true;
	o.expire_after = 60;
	o.health = false;
	dsmr5(&b);
	assert_int_equal(discovery_build(&o, "E0012345678", &b.t, &out), 0);
	json_object *c = find_config(&out, "1_0_3_8_0");
	assert_string_equal(jstr(c, "device_class"), "reactive_energy");
	json_object_put(c);
	c = find_config(&out, "1_0_1_7_0");
	json_object *v;
	assert_true(json_object_object_get_ex(c, "expire_after", &v));
	assert_int_equal(json_object_get_int(v), 60);
	json_object_put(c);
	c = find_config(&out, "1_0_1_8_1"); /* registers may come hourly */
	assert_true(json_object_object_get_ex(c, "expire_after", &v));
	assert_int_equal(json_object_get_int(v), DISCOVERY_MIN_EXPIRE_TOTALS);
	json_object_put(c);
	assert_null(find_config(&out, "decoder_frames"));
	discovery_batch_free(&out);
}

static void device_mode_has_one_message_per_device(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch ent = { 0 }, dev = { 0 };
	struct discovery_options o = opts;
	dsmr5(&b);
	assert_int_equal(discovery_build(&opts, "E0012345678", &b.t, &ent), 0);
	o.device_discovery = true;
	assert_int_equal(discovery_build(&o, "E0012345678", &b.t, &dev), 0);
	assert_int_equal(dev.n, 3); /* meter, gas, water */
	assert_string_equal(dev.msgs[0].topic, "homeassistant/device/E0012345678/config");
	size_t components = 0;
	for (size_t i = 0; i < dev.n; i++) {
		json_object *j = parse(&dev.msgs[i]), *cmps;
		check_block(dev.msgs[i].topic, j, "device", device_keys);
		check_block(dev.msgs[i].topic, j, "origin", origin_keys);
		assert_non_null(jstr(j, "state_topic"));
		assert_true(json_object_object_get_ex(j, "components", &cmps));
		json_object_object_foreach(cmps, k, c)
		{
			/* the same unique_id as in per-entity mode: switching modes keeps history (§7.7) */
			json_object *same = find_config(&ent, k);
			assert_non_null(same);
			assert_string_equal(jstr(c, "unique_id"), jstr(same, "unique_id"));
			assert_non_null(jstr(c, "platform"));
			json_object_put(same);
			components++;
		}
		json_object_put(j);
	}
	assert_int_equal(components, ent.n);
	assert_string_equal(dev.msgs[1].topic, "homeassistant/device/E0012345678_mbus1/config");
	discovery_batch_free(&ent);
	discovery_batch_free(&dev);
}

static void announcer_republishes_only_what_changed(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch out = { 0 }, all = { 0 }, built = { 0 };
	struct discovery *d = discovery_new(&opts);
	assert_non_null(d);
	dsmr5(&b);
	assert_int_equal(discovery_build(&opts, "E0012345678", &b.t, &built), 0);

	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	assert_int_equal(out.n, built.n);
	discovery_batch_free(&out);
	/* the same layout again: nothing */
	num(&b, "1-0:1.8.1", 1581124, -3, "kWh"); /* a duplicate key later in the telegram changes nothing */
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	/* a new OBIS code: only its config */
	num(&b, "1-0:52.7.0", 2301, -1, "V");
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.msgs[0].topic, "homeassistant/sensor/E0012345678/1_0_52_7_0/config");
	discovery_batch_free(&out);
	/* all = everything published so far */
	assert_int_equal(discovery_all(d, &all), 0);
	assert_int_equal(all.n, built.n + 1);
	discovery_batch_free(&all);

	/* HA birth */
	assert_string_equal(discovery_ha_status_topic(d), "homeassistant/status");
	assert_true(discovery_is_ha_online(d, "homeassistant/status", "online", 6));
	assert_false(discovery_is_ha_online(d, "homeassistant/status", "offline", 7));
	assert_false(discovery_is_ha_online(d, "homeassistant/status", "online\n", 7));
	assert_false(discovery_is_ha_online(d, "smartmeter/status", "online", 6));

	/* Reconfigure: new prefix; the old configs are removed (empty payloads) and everything goes out again
	 * under the new one */
	struct discovery_options o = opts;
	o.discovery_prefix = "ha";
	assert_int_equal(discovery_reconfigure(d, &o, &out), 0);
	assert_int_equal(out.n, built.n + 1);
	for (size_t i = 0; i < out.n; i++) {
		assert_true(strncmp(out.msgs[i].topic, "homeassistant/", 14) == 0);
		assert_int_equal(out.msgs[i].len, 0);
	}
	discovery_batch_free(&out);
	/* an unchanged prefix and mode removes nothing (expire_after changes are updates) */
	o.expire_after = 900;
	assert_int_equal(discovery_reconfigure(d, &o, &out), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	assert_int_equal(out.n, built.n + 1);
	assert_true(strncmp(out.msgs[0].topic, "ha/", 3) == 0);
	assert_string_equal(discovery_ha_status_topic(d), "ha/status");
	discovery_batch_free(&out);
	discovery_batch_free(&built);
	discovery_free(d);
	discovery_free(NULL);
}

/* A retained config as an earlier run left it: this build's payload for topic, or another program's. */
static const struct discovery_msg *find_msg(const struct discovery_batch *b, const char *topic)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->msgs[i].topic, topic) == 0)
			return &b->msgs[i];
	fail_msg("no config %s", topic);
	return NULL;
}

static bool removes(const struct discovery_batch *b, const char *topic)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->msgs[i].topic, topic) == 0)
			return b->msgs[i].len == 0;
	return false;
}

/* HOME_ASSISTANT.md §7.8: retained configs of earlier runs are collected, only ours (origin and this
 * instance's status topic), and removed when stale: the other mode at once, the rest only when the
 * daemon has not produced them again. */
static void cleanup_removes_only_stale_configs_of_this_instance(void **state)
{
	(void)state;
	struct tb b;
	struct discovery_batch built = { 0 }, dev = { 0 }, out = { 0 };
	struct discovery_options devo = opts;
	const char *f[2];
	dsmr5(&b);
	assert_int_equal(discovery_build(&opts, "E0012345678", &b.t, &built), 0);
	devo.device_discovery = true;
	assert_int_equal(discovery_build(&devo, "E0012345678", &b.t, &dev), 0);

	struct discovery *d = discovery_new(&opts);
	discovery_cleanup_filters(d, f);
	assert_string_equal(f[0], "homeassistant/+/+/+/config");
	assert_string_equal(f[1], "homeassistant/+/+/config");

	const char *imp = "homeassistant/sensor/E0012345678/1_0_1_8_1/config";
	const struct discovery_msg *m = find_msg(&built, imp);
	assert_true(discovery_collect(d, imp, m->payload, m->len));
	assert_true(discovery_collect(d, imp, m->payload, m->len)); /* again: kept once */
	/* a phase this meter no longer sends (an earlier run's config, same instance) */
	const char *gone = "homeassistant/sensor/E0012345678/1_0_99_7_0/config";
	assert_true(discovery_collect(d, gone, m->payload, m->len));
	/* the device-mode message of an earlier run in the other mode */
	assert_true(discovery_collect(d, dev.msgs[0].topic, dev.msgs[0].payload, dev.msgs[0].len));
	/* not ours: another program, another instance of smartmeterd, garbage, another prefix */
	const char *z2m = "{\"name\":\"Plug\",\"origin\":{\"name\":\"Zigbee2MQTT\"},"
	                  "\"availability\":[{\"topic\":\"smartmeter/host1/status\"}]}";
	assert_false(discovery_collect(d, "homeassistant/switch/0x12/switch/config", z2m, strlen(z2m)));
	char other[4096];
	snprintf(other, sizeof(other), "%s", m->payload);
	char *at = strstr(other, "smartmeter/host1/status");
	assert_non_null(at);
	memcpy(at, "smartmeter/HOST1", 16); /* same length, another instance */
	assert_false(discovery_collect(d, "homeassistant/sensor/X/1_0_1_8_1/config", other, strlen(other)));
	assert_false(discovery_collect(d, "homeassistant/sensor/X/1_0_1_8_2/config", "{\"origin\":", 11));
	assert_false(discovery_collect(d, "ha/sensor/E0012345678/1_0_1_8_1/config", m->payload, m->len));
	assert_false(discovery_collect(d, "homeassistant/sensor/E0012345678/1_0_1_8_2/config", "", 0));
	assert_int_equal(discovery_collected(d), 3);

	/* at once: only the other mode's message */
	assert_int_equal(discovery_sweep(d, false, &out), 0);
	assert_int_equal(out.n, 1);
	assert_true(removes(&out, dev.msgs[0].topic));
	discovery_batch_free(&out);
	assert_int_equal(discovery_collected(d), 2);

	/* after stale_after: what the daemon produced again stays, the rest goes, the list is done */
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	discovery_batch_free(&out);
	assert_int_equal(discovery_sweep(d, true, &out), 0);
	assert_int_equal(out.n, 1);
	assert_true(removes(&out, gone));
	assert_false(removes(&out, imp));
	discovery_batch_free(&out);
	assert_int_equal(discovery_collected(d), 0);
	discovery_free(d);

	/* discovery = false: everything of ours goes at once, nothing new is published */
	struct discovery_options off = opts;
	off.disabled = true;
	d = discovery_new(&off);
	assert_true(discovery_collect(d, imp, m->payload, m->len));
	assert_int_equal(discovery_sweep(d, false, &out), 0);
	assert_int_equal(out.n, 1);
	assert_true(removes(&out, imp));
	discovery_batch_free(&out);
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	discovery_free(d);

	/* turning discovery off at run time removes what was published */
	d = discovery_new(&opts);
	assert_int_equal(discovery_update(d, "E0012345678", NULL, &b.t, NULL, &out), 0);
	size_t n = out.n;
	discovery_batch_free(&out);
	assert_int_equal(discovery_reconfigure(d, &off, &out), 0);
	assert_int_equal(out.n, n);
	assert_true(removes(&out, imp));
	discovery_batch_free(&out);
	discovery_free(d);
	discovery_batch_free(&built);
	discovery_batch_free(&dev);
}

/* Every telegram of every real meter in the corpus: each config passes check_batch() against the state
 * the daemon would publish for it. */
struct corpus_sweep {
	const char *name;
	size_t telegrams, configs;
};

static void sweep_telegram(void *ctx, const struct sm_telegram *t)
{
	struct corpus_sweep *cs = ctx;
	struct discovery_batch out = { 0 };
	if (discovery_build(&opts, "meter1", t, &out) < 0)
		fail_msg("%s: discovery_build failed", cs->name);
	json_object *st = state_of(t);
	check_batch(&out, st);
	json_object_put(st);
	cs->telegrams++;
	cs->configs += out.n;
	discovery_batch_free(&out);
}

static void every_corpus_meter_gets_valid_configs(void **state)
{
	(void)state;
	struct corpus_case *cases = NULL;
	struct corpus_sweep total = { "corpus", 0, 0 };
	if (!corpus_dir())
		skip(); /* reported as skipped, not passed */
	size_t n = corpus_load(NULL, &cases);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct corpus_sweep cs = { cases[i].name, 0, 0 };
		corpus_each_telegram(&cases[i], sweep_telegram, &cs);
		total.telegrams += cs.telegrams;
		total.configs += cs.configs;
	}
	print_message("%zu cases, %zu telegrams, %zu configs checked\n", n, total.telegrams, total.configs);
	assert_true(total.telegrams >= n / 2); /* negative cases decode nothing; most decode something */
	corpus_free(cases, n);
}

/* The same for every SML meter of ../shared/corpus-sml, and the Energy-dashboard entity of each. */
static void sml_sweep_telegram(void *ctx, const struct sm_telegram *t)
{
	struct corpus_sweep *cs = ctx;
	struct discovery_batch out = { 0 };
	sweep_telegram(ctx, t);
	assert_int_equal(discovery_build(&opts, "meter1", t, &out), 0);
	const struct discovery_msg *m = find_msg(&out, "homeassistant/sensor/meter1/1_0_1_8_0/config");
	if (m) {
		json_object *c = json_tokener_parse(m->payload);
		assert_non_null(c);
		assert_string_equal(jstr(c, "device_class"), "energy");
		assert_string_equal(jstr(c, "state_class"), "total_increasing");
		assert_string_equal(jstr(c, "unit_of_measurement"), "kWh");
		json_object_put(c);
	} else {
		fail_msg("%s: no 1-0:1.8.0 energy entity", cs->name);
	}
	discovery_batch_free(&out);
}

static bool sml_with_total(const char *name, json_object *cj)
{
	json_object *e, *v;
	(void)name;
	return json_object_object_get_ex(cj, "expect", &e) && json_object_object_get_ex(e, "1-0:1.8.0", &v);
}

static void every_sml_corpus_meter_gets_valid_configs(void **state)
{
	(void)state;
	struct corpus_case *cases = NULL;
	corpus_use("SMARTMETER_CORPUS_SML", "corpus-sml");
	size_t n = corpus_dir() ? corpus_load(sml_with_total, &cases) : 0;
	corpus_use("SMARTMETER_CORPUS", "corpus");
	if (n == 0)
		skip();
	size_t telegrams = 0;
	for (size_t i = 0; i < n; i++) {
		struct corpus_sweep cs = { cases[i].name, 0, 0 };
		corpus_each_telegram(&cases[i], sml_sweep_telegram, &cs);
		if (cs.telegrams == 0)
			fail_msg("%s: no telegram", cases[i].name);
		telegrams += cs.telegrams;
	}
	print_message("%zu SML cases, %zu telegrams checked\n", n, telegrams);
	corpus_free(cases, n);
}

static void vendors(void **state)
{
	(void)state;
	assert_string_equal(discovery_vendor("ISk5\\2MT382-1000"), "Iskraemeco");
	assert_string_equal(discovery_vendor("KFM5KAIFA-METER"), "Kaifa");
	assert_string_equal(discovery_vendor("Lux5\\2"), "Sagemcom");
	assert_string_equal(discovery_vendor("LGZ1030163598905"), "Landis+Gyr");
	assert_string_equal(discovery_vendor("Kamstrup_V0001"), "Kamstrup");
	assert_string_equal(discovery_vendor("AIDON_V0001"), "Aidon");
	assert_string_equal(discovery_vendor("EST5\\253710000_A"), "Sagemcom");
	assert_string_equal(discovery_vendor("HLY"), "Holley");
	assert_string_equal(discovery_vendor("DZG"), "DZG Metering");
	assert_null(discovery_vendor("QQQ5"));
	assert_null(discovery_vendor(NULL));
}

static void health_keys(void **state)
{
	(void)state;
	struct state_list l = { 0 };
	struct discovery_health h = { .frames = 7, .crc_errors = 1, .last_frame = 0 };
	assert_int_equal(discovery_health_add(&l, &h), 0);
	json_object *s = state_list_json(l.v, l.n);
	assert_string_equal(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN),
	                    "{\"decoder_frames\":7,\"decoder_crc_errors\":1,\"decoder_decrypt_errors\":0,"
	                    "\"decoder_last_frame\":null,\"decoder_serial\":null}");
	json_object_put(s);
	h.last_frame = 1789000000;
	assert_int_equal(discovery_health_add(&l, &h), 0); /* the same keys again: replaced, not repeated */
	assert_int_equal(l.n, 5);
	s = state_list_json(l.v, l.n);
	assert_string_equal(jstr(s, "decoder_last_frame"), "2026-09-10T00:26:40+00:00");
	json_object_put(s);
	state_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dsmr_configs_follow_the_rules),
		cmocka_unit_test(dlms_configs_follow_the_rules),
		cmocka_unit_test(options_change_the_payloads),
		cmocka_unit_test(device_mode_has_one_message_per_device),
		cmocka_unit_test(announcer_republishes_only_what_changed),
		cmocka_unit_test(cleanup_removes_only_stale_configs_of_this_instance),
		cmocka_unit_test(every_corpus_meter_gets_valid_configs),
		cmocka_unit_test(every_sml_corpus_meter_gets_valid_configs),
		cmocka_unit_test(vendors),
		cmocka_unit_test(health_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
