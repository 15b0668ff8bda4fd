/* discovery.c — Home Assistant discovery configs built from the OBIS registry (see discovery.h).
 * Every payload must pass HA's own validation (HOME_ASSISTANT.md §3.1 units per device class, §3.5
 * non-numeric sensors, §2.3/§2.4 strict device and origin blocks), because HA rejects an invalid entity
 * silently from the publisher's point of view. Must never talk to the broker, never log, and never
 * derive an identity (topic, unique_id, device identifier) from anything a user can rename. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "discovery.h"
#include "identity.h"
#include "smartmeter/obis.h"
#include "state.h"

#ifndef SMARTMETER_VERSION
#define SMARTMETER_VERSION "0"
#endif
/* origin.support_url: where users of this build report problems. The build (or a distribution's
 * package) sets it with -DSMARTMETER_SUPPORT_URL="https://..."; empty = not sent. */
#ifndef SMARTMETER_SUPPORT_URL
#define SMARTMETER_SUPPORT_URL ""
#endif

/* DSMR allows M-Bus channels 1..4 (PROTOCOLS.md §1.6); the registry knows no more. */
#define MAX_SUBDEVICES 4
#define NODE_LEN 96 /* topic-safe ids: meter id + "_mbus<n>" */
#define ID_LEN (NODE_LEN + 32)
#define TEXT_LEN 128

/* ---- HOME_ASSISTANT.md §3.1: what HA 2026.9 accepts; a last line of defence for units that come
 * from the meter (limiter, M-Bus values): an unacceptable combination loses its device class rather
 * than the whole entity. ---- */
static const struct ha_rule {
	const char *device_class;
	const char *units[15]; /* "" = no unit */
	const char *state_classes[4];
} ha_rules[] = {
	{ "energy", { "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal" },
	  { "total", "total_increasing" } },
	{ "power", { "mW", "W", "kW", "MW", "GW", "TW" }, { "measurement" } },
	{ "apparent_power", { "mVA", "VA", "kVA" }, { "measurement" } },
	{ "reactive_power", { "mvar", "var", "kvar" }, { "measurement" } },
	{ "reactive_energy", { "varh", "kvarh" }, { "total", "total_increasing" } },
	{ "voltage", { "V", "mV", "\xce\xbcV", "kV", "MV" }, { "measurement" } },
	{ "current", { "A", "mA", "\xce\xbc" "A" }, { "measurement" } },
	{ "frequency", { "mHz", "Hz", "kHz", "MHz", "GHz" }, { "measurement" } },
	{ "power_factor", { "%", "" }, { "measurement" } },
	{ "gas", { "L", "m\xc2\xb3", "ft\xc2\xb3", "CCF", "MCF" }, { "total", "total_increasing" } },
	{ "water", { "L", "gal", "m\xc2\xb3", "ft\xc2\xb3", "CCF", "MCF" }, { "total", "total_increasing" } },
	{ "timestamp", { "" }, { NULL } },
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool ha_valid(const char *dc, const char *unit, const char *sc)
{
	for (size_t i = 0; i < sizeof(ha_rules) / sizeof(ha_rules[0]); i++) {
		const struct ha_rule *r = &ha_rules[i];
		if (strcmp(r->device_class, dc) != 0)
			continue;
		if (!in_list(r->units, 15, unit ? unit : ""))
			return false;
		return !sc || in_list(r->state_classes, 4, sc);
	}
	return false;
}

/* ---- vendors: DSMR FLAG ids (identification line), DLMS list ids, logical device names and system
 * titles all start with the manufacturer's three-letter code (PROTOCOLS.md §8.2) ---- */
static const struct vendor {
	const char *id;
	const char *name;
} vendors[] = {
	{ "AIDON", "Aidon" }, { "Kamstrup", "Kamstrup" },
	{ "ISK", "Iskraemeco" }, { "KFM", "Kaifa" }, { "KAM", "Kamstrup" }, { "FLU", "Fluvius" },
	{ "LUX", "Sagemcom" }, { "SAG", "Sagemcom" }, { "EST", "Sagemcom" }, { "LGF", "Landis+Gyr" },
	{ "LGZ", "Landis+Gyr" }, { "XMX", "Landis+Gyr" }, { "ADN", "Aidon" }, { "ESO", "ESO" },
	{ "NES", "Networked Energy Services" }, { "EGM", "Elgama" }, { "ELL", "Ellevio" }, { "ESY", "EasyMeter" },
	{ "SMS", "Siemens" }, { "EMH", "EMH metering" },
	/* German SML meters' FLAG ids (1-0:96.50.1.1 / 129-129:199.130.3, the telegram header for SML) */
	{ "DZG", "DZG Metering" }, { "HLY", "Holley" }, { "ITR", "Itron" }, { "DNT", "Dr. Neuhaus" },
	{ "EBZ", "eBZ" }, { "HAG", "Hager" }, { "LOG", "Logarex" }, { "EFR", "EFR" },
};

const char *discovery_vendor(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		size_t n = strlen(vendors[i].id);
		/* Case-insensitive: the third FLAG letter's case only says something about the baud rate ("ISk"). */
		if (strncasecmp(id, vendors[i].id, n) == 0)
			return vendors[i].name;
	}
	return NULL;
}

/* ---- what one telegram describes ---- */
struct device {
	char id[ID_LEN];      /* identifier: smartmeterd_<meter_id>[_mbus<n>] or smartmeterd_<sub serial> */
	char node[NODE_LEN];  /* topic-safe id for device-mode topics */
	char name[TEXT_LEN];
	char manufacturer[TEXT_LEN];
	char model[TEXT_LEN];
	char serial[TEXT_LEN];
	char sw[TEXT_LEN];
	const char *via;      /* parent identifier or NULL */
	bool used;
};

struct entity {
	const char *component; /* "sensor" / "binary_sensor" */
	char object_id[SM_OBIS_KEY_STRLEN + 16];
	char key[SM_OBIS_KEY_STRLEN + 16];
	char name[TEXT_LEN];
	bool name_null;        /* the device's main feature: friendly name = device name (§7.6) */
	const char *device_class, *state_class, *icon;
	char unit[16];
	int precision;
	bool diagnostic, enabled;
	const char *const *options; /* device_class enum: NULL-terminated */
	unsigned expire;
	int dev;               /* 0 = electricity meter, n = M-Bus channel n */
};

struct scene {
	const struct discovery_options *o;
	const char *meter_id;
	struct device dev[1 + MAX_SUBDEVICES];
	struct entity *ent;
	size_t nent, cap;
	char status_topic[256], avail_topic[256], state_topic[256];
	bool empty_channel[1 + MAX_SUBDEVICES]; /* an M-Bus channel with no value: not a device (no entities) */
};

/* Truncating copy: names and models longer than the buffers are cut, never overflowed. */
static void copy_text(char *dst, size_t sz, const char *src)
{
	size_t n = 0;
	for (; src && src[n] && n + 1 < sz; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

static bool code_text(const struct sm_telegram *t, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, char *out,
                      size_t sz)
{
	return identity_code_text(t, a, b, c, d, e, out, sz);
}

static const struct sm_reading *find_code(const struct sm_telegram *t, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                                          uint8_t e)
{
	const uint8_t o[6] = { a, b, c, d, e, 255 };
	return sm_telegram_find(t, o);
}

/* The electricity meter's device block: the identity the publisher learned (identity.h), never what
 * one frame happens to carry, so list 1 and list 3 of one meter describe one device. */
static void main_device(struct scene *s, const struct identity *id)
{
	struct device *d = &s->dev[0];

	snprintf(d->id, sizeof(d->id), "%s_%.90s", DISCOVERY_ID_PREFIX, s->meter_id);
	copy_text(d->node, sizeof(d->node), s->meter_id);
	copy_text(d->name, sizeof(d->name), "Smart meter");
	d->used = true;
	copy_text(d->manufacturer, sizeof(d->manufacturer), id->manufacturer);
	copy_text(d->model, sizeof(d->model), id->model[0] ? id->model : id->dsmr ? "DSMR meter" : "DLMS/COSEM meter");
	copy_text(d->serial, sizeof(d->serial), id->serial);
	copy_text(d->sw, sizeof(d->sw), id->sw);
}

static unsigned mbus_type(const struct sm_telegram *t, uint8_t ch)
{
	const struct sm_reading *r = find_code(t, 0, ch, 24, 1, 0);
	struct sm_obis_state st;
	struct sm_number n;
	char buf[32];

	if (!r)
		return 0;
	sm_obis_state_value(NULL, &r->value, &st);
	if (st.type == SM_OBIS_STATE_NUMBER)
		n = st.num;
	else if (st.type != SM_OBIS_STATE_TEXT || !sm_number_parse(st.text, strlen(st.text), &n))
		return 0;
	if (!sm_number_format(&n, buf, sizeof(buf)))
		return 0;
	/* DSMR writes the EN 13757-3 medium byte in decimal ("003", "007", "012"). */
	return (unsigned)strtoul(buf, NULL, 10);
}

static struct device *sub_device(struct scene *s, const struct sm_telegram *t, uint8_t ch)
{
	struct device *d = &s->dev[ch];
	char serial[TEXT_LEN], slug[NODE_LEN], node[NODE_LEN];

	if (d->used)
		return d;
	const struct sm_mbus_medium *m = sm_obis_mbus_medium(mbus_type(t, ch));
	d->used = true;
	d->via = s->dev[0].id;
	snprintf(node, sizeof(node), "%.80s_mbus%u", s->meter_id, ch);
	copy_text(d->node, sizeof(d->node), node);
	/* The sub-meter's own serial makes it follow the physical meter; without one, the channel. */
	if ((code_text(t, 0, ch, 96, 1, 0, serial, sizeof(serial)) ||
	     code_text(t, 0, ch, 96, 1, 1, serial, sizeof(serial))) &&
	    config_slug(serial, slug, sizeof(slug)) > 0) {
		snprintf(d->id, sizeof(d->id), "%s_%s", DISCOVERY_ID_PREFIX, slug);
		copy_text(d->serial, sizeof(d->serial), serial);
	} else {
		snprintf(d->id, sizeof(d->id), "%s_%s", DISCOVERY_ID_PREFIX, node);
	}
	if (m->device_class)
		copy_text(d->name, sizeof(d->name), m->device_name);
	else
		snprintf(d->name, sizeof(d->name), "%s %u", m->device_name, ch);
	if (m->device_class)
		snprintf(d->model, sizeof(d->model), "M-Bus %s (channel %u)", m->name, ch);
	else
		snprintf(d->model, sizeof(d->model), "M-Bus device (channel %u)", ch); /* medium unknown */
	copy_text(d->manufacturer, sizeof(d->manufacturer), s->dev[0].manufacturer);
	return d;
}

static struct entity *add_entity(struct scene *s)
{
	if (s->nent == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entity *n = realloc(s->ent, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->ent = n;
		s->cap = cap;
	}
	struct entity *e = &s->ent[s->nent++];
	memset(e, 0, sizeof(*e));
	e->component = "sensor";
	e->precision = -1;
	e->enabled = true;
	return e;
}

static bool key_taken(const struct scene *s, const char *key)
{
	for (size_t i = 0; i < s->nent; i++)
		if (strcmp(s->ent[i].key, key) == 0)
			return true;
	return false;
}

static unsigned expire_for(const struct discovery_options *o, const char *state_class)
{
	if (!o->expire_after)
		return 0;
	if (state_class && strcmp(state_class, "measurement") == 0)
		return o->expire_after;
	return o->expire_after > DISCOVERY_MIN_EXPIRE_TOTALS ? o->expire_after : DISCOVERY_MIN_EXPIRE_TOTALS;
}

/* The entities of one item of the telegram's state list (state.h): its key and published unit are the
 * ones the state topic carries, so a template and its value cannot disagree. */
static int reading_entities(struct scene *s, const struct sm_telegram *t, const struct state_item *it)
{
	const struct sm_reading *r = it->r;
	const struct sm_obis_info *info = it->info;
	const char *key = it->key;
	char slug[SM_OBIS_STRLEN];
	int dev = 0;

	if (!r || !r->has_obis || r->value.type == SM_VALUE_ROWS || r->value.type == SM_VALUE_NONE)
		return 0; /* derived keys, profiles (on .../obis); an empty value gets its entity when it has one */
	if (!sm_obis_slug(r->obis, slug, sizeof(slug)))
		return 0;
	if (key_taken(s, key))
		return 0; /* 1-0: and 1-1: of one register in one telegram: one entity */
	/* A timestamp without offset cannot be stored by HA (§3.6): no entity rather than an error per frame. */
	if (info && info->kind == SM_OBIS_KIND_TIMESTAMP &&
	    !(r->value.type == SM_VALUE_DATETIME && r->value.u.dt.has_offset))
		return 0;
	if (info && info->sub_device && r->obis[1] >= 1 && r->obis[1] <= MAX_SUBDEVICES) {
		dev = r->obis[1];
		if (s->empty_channel[dev])
			return 0;
		sub_device(s, t, (uint8_t)dev);
	}

	struct entity *e = add_entity(s);
	if (!e)
		return -1;
	e->dev = dev;
	copy_text(e->key, sizeof(e->key), key);
	copy_text(e->object_id, sizeof(e->object_id), slug);
	sm_obis_name(r->obis, e->name, sizeof(e->name));
	copy_text(e->unit, sizeof(e->unit), it->unit);
	if (info) {
		e->component = info->component == SM_HA_BINARY_SENSOR ? "binary_sensor" : "sensor";
		e->device_class = info->device_class;
		e->state_class = info->state_class;
		e->icon = info->icon;
		e->precision = info->display_precision;
		e->diagnostic = info->diagnostic;
		e->enabled = info->enabled_by_default;
		if (info->medium_class) {
			const struct sm_mbus_medium *m = sm_obis_mbus_medium(mbus_type(t, r->obis[1]));
			e->device_class = m->device_class;
			if (m->icon)
				e->icon = m->icon;
			/* The register is what a gas/water/heat meter is for (§7.6). */
			if (r->obis[3] == 2 && r->obis[4] == 1)
				e->name_null = true;
		}
	}
	/* The tariff is one of a few names: an enum sensor (§3.5) whose options are exactly what state.c
	 * publishes for it (anything else is null there). */
	if (info && info->kind == SM_OBIS_KIND_TARIFF) {
		e->device_class = "enum";
		e->options = state_tariff_options;
		e->unit[0] = '\0';
	}
	if (e->device_class && strcmp(e->device_class, "reactive_energy") == 0 && !s->o->reactive_energy_class)
		e->device_class = NULL; /* unknown before HA 2025.6: HA would reject the entity */
	if (e->device_class && strcmp(e->component, "sensor") == 0 && !e->options &&
	    !ha_valid(e->device_class, e->unit[0] ? e->unit : NULL, e->state_class))
		e->device_class = NULL;
	if (strcmp(e->component, "sensor") == 0 && (!info || info->kind == SM_OBIS_KIND_NUMBER))
		e->expire = expire_for(s->o, e->state_class);

	/* Capture time of M-Bus values / BE peak demand: state.c publishes it as "<key>_timestamp". */
	if (r->has_timestamp && r->timestamp.has_date && r->timestamp.has_time && r->timestamp.has_offset) {
		struct entity *ts = add_entity(s);
		if (!ts)
			return -1;
		ts->dev = dev;
		snprintf(ts->key, sizeof(ts->key), "%.53s_timestamp", key); /* registry keys are shorter */
		snprintf(ts->object_id, sizeof(ts->object_id), "%s_time", slug);
		if (dev)
			copy_text(ts->name, sizeof(ts->name), "Capture time");
		else
			snprintf(ts->name, sizeof(ts->name), "%.100s time", s->ent[s->nent - 2].name);
		ts->device_class = "timestamp";
		ts->diagnostic = true;
	}
	return 0;
}

static int health_entities(struct scene *s)
{
	static const struct {
		const char *key, *name, *device_class, *state_class, *icon;
		bool enabled;
	} h[] = {
		/* These two change with every telegram: enabled, they cost a recorder write per frame (an SD card
		 * on a Pi), so the user turns them on when wanted. The error counters change rarely. */
		{ "decoder_frames", "Frames decoded", NULL, "total_increasing", "mdi:counter", false },
		{ "decoder_crc_errors", "CRC errors", NULL, "total_increasing", "mdi:alert-circle-outline", true },
		{ "decoder_decrypt_errors", "Decryption failures", NULL, "total_increasing", "mdi:lock-alert", true },
		{ "decoder_last_frame", "Last frame", "timestamp", NULL, NULL, false },
		{ "decoder_serial", "Serial settings", NULL, NULL, "mdi:serial-port", false },
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		struct entity *e = add_entity(s);
		if (!e)
			return -1;
		copy_text(e->key, sizeof(e->key), h[i].key);
		copy_text(e->object_id, sizeof(e->object_id), h[i].key);
		copy_text(e->name, sizeof(e->name), h[i].name);
		e->device_class = h[i].device_class;
		e->state_class = h[i].state_class;
		e->icon = h[i].icon;
		e->precision = h[i].state_class ? 0 : -1;
		e->diagnostic = true;
		e->enabled = h[i].enabled;
	}
	return 0;
}

/* ---- JSON ---- */

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *device_json(const struct device *d)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	if (!o || !ids) {
		json_object_put(o);
		json_object_put(ids);
		return NULL;
	}
	json_object_array_add(ids, json_object_new_string(d->id));
	json_object_object_add(o, "identifiers", ids);
	add_str(o, "name", d->name);
	add_str(o, "manufacturer", d->manufacturer);
	add_str(o, "model", d->model);
	add_str(o, "serial_number", d->serial);
	add_str(o, "sw_version", d->sw);
	add_str(o, "via_device", d->via);
	return o;
}

static json_object *origin_json(const struct discovery_options *o)
{
	json_object *j = json_object_new_object();
	if (!j)
		return NULL;
	add_str(j, "name", DISCOVERY_ORIGIN_NAME);
	add_str(j, "sw_version", o->version ? o->version : SMARTMETER_VERSION);
	/* HA drops the whole config when support_url is not a URL (§1.2): only an http(s) one is sent. */
	if (!strncmp(SMARTMETER_SUPPORT_URL, "https://", 8) || !strncmp(SMARTMETER_SUPPORT_URL, "http://", 7))
		add_str(j, "support_url", SMARTMETER_SUPPORT_URL);
	return j;
}

static void add_availability(json_object *j, const struct scene *s)
{
	json_object *a = json_object_new_array();
	const char *topics[2] = { s->status_topic, s->avail_topic };
	for (int i = 0; a && i < 2; i++) {
		json_object *t = json_object_new_object();
		add_str(t, "topic", topics[i]);
		json_object_array_add(a, t);
	}
	json_object_object_add(j, "availability", a);
	add_str(j, "availability_mode", "all");
}

/* The entity's own keys (shared by both modes). */
static void entity_keys(json_object *j, const struct scene *s, const struct entity *e)
{
	char buf[ID_LEN + SM_OBIS_KEY_STRLEN + 32];

	json_object_object_add(j, "name", e->name_null ? NULL : json_object_new_string(e->name));
	snprintf(buf, sizeof(buf), "%s_%s", s->dev[e->dev].id, e->object_id);
	add_str(j, "unique_id", buf);
	snprintf(buf, sizeof(buf), "{{ value_json.%s }}", e->key);
	add_str(j, "value_template", buf);
	if (strcmp(e->component, "binary_sensor") == 0) {
		add_str(j, "payload_on", "ON");
		add_str(j, "payload_off", "OFF");
	}
	add_str(j, "device_class", e->device_class);
	if (e->options) {
		json_object *ops = json_object_new_array();
		for (size_t i = 0; ops && e->options[i]; i++)
			json_object_array_add(ops, json_object_new_string(e->options[i]));
		json_object_object_add(j, "options", ops);
	}
	add_str(j, "unit_of_measurement", e->unit);
	add_str(j, "state_class", e->state_class);
	if (e->precision >= 0)
		json_object_object_add(j, "suggested_display_precision", json_object_new_int(e->precision));
	if (e->diagnostic)
		add_str(j, "entity_category", "diagnostic");
	if (!e->enabled)
		json_object_object_add(j, "enabled_by_default", json_object_new_boolean(false));
	add_str(j, "icon", e->icon);
	if (e->expire)
		json_object_object_add(j, "expire_after", json_object_new_int64(e->expire));
}

static int batch_add(struct discovery_batch *out, const char *topic, const char *payload, size_t len);

static int emit(struct discovery_batch *out, const char *topic, json_object *j)
{
	if (!j)
		return -1;
	const char *p = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = p ? batch_add(out, topic, p, strlen(p)) : -1;
	json_object_put(j);
	return rc;
}

static int emit_entities(struct scene *s, struct discovery_batch *out)
{
	char topic[512];
	for (size_t i = 0; i < s->nent; i++) {
		const struct entity *e = &s->ent[i];
		json_object *j = json_object_new_object();
		if (!j)
			return -1;
		entity_keys(j, s, e);
		add_str(j, "state_topic", s->state_topic);
		add_availability(j, s);
		json_object_object_add(j, "device", device_json(&s->dev[e->dev]));
		json_object_object_add(j, "origin", origin_json(s->o));
		/* node_id = meter id, so "<disc>/+/<meter_id>/+/config" finds every entity of a meter (§1.1). */
		snprintf(topic, sizeof(topic), "%s/%s/%s/%s/config", s->o->discovery_prefix, e->component, s->meter_id,
		         e->object_id);
		if (emit(out, topic, j) < 0)
			return -1;
	}
	return 0;
}

/* Device mode (§1.4): one message per device; shared state_topic and availability, "p" per component. */
static int emit_devices(struct scene *s, struct discovery_batch *out)
{
	char topic[512];
	for (int d = 0; d <= MAX_SUBDEVICES; d++) {
		size_t count = 0;
		for (size_t i = 0; i < s->nent; i++)
			count += s->ent[i].dev == d;
		if (!s->dev[d].used || count == 0)
			continue; /* HA wants at least one component per device message */
		json_object *j = json_object_new_object(), *cmps = json_object_new_object();
		if (!j || !cmps) {
			json_object_put(j);
			json_object_put(cmps);
			return -1;
		}
		json_object_object_add(j, "device", device_json(&s->dev[d]));
		json_object_object_add(j, "origin", origin_json(s->o));
		add_str(j, "state_topic", s->state_topic);
		add_availability(j, s);
		for (size_t i = 0; i < s->nent; i++) {
			const struct entity *e = &s->ent[i];
			if (e->dev != d)
				continue;
			json_object *c = json_object_new_object();
			add_str(c, "platform", e->component);
			entity_keys(c, s, e);
			json_object_object_add(cmps, e->object_id, c);
		}
		json_object_object_add(j, "components", cmps);
		snprintf(topic, sizeof(topic), "%s/device/%s/config", s->o->discovery_prefix, s->dev[d].node);
		if (emit(out, topic, j) < 0)
			return -1;
	}
	return 0;
}

/* True when channel ch carries a value (a register, not just its device type or serial): only then is
 * it a device of its own. */
static bool channel_has_reading(const struct sm_telegram *t, uint8_t ch)
{
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		const struct sm_obis_info *info = r->has_obis && r->obis[1] == ch ? sm_obis_lookup(r->obis) : NULL;
		if (info && info->sub_device && (info->medium_class || (r->obis[2] == 24 && r->obis[3] == 2)))
			return true;
	}
	return false;
}

static int scene_fill(struct scene *s, const struct discovery_options *o, const char *meter_id,
                      const struct identity *id, const struct sm_telegram *t, const struct state_list *l)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->meter_id = meter_id;
	for (uint8_t ch = 1; ch <= MAX_SUBDEVICES; ch++)
		s->empty_channel[ch] = !channel_has_reading(t, ch);
	snprintf(s->status_topic, sizeof(s->status_topic), "%s/%s/status", o->topic_prefix, o->instance);
	snprintf(s->avail_topic, sizeof(s->avail_topic), "%s/%s/availability", o->topic_prefix, meter_id);
	snprintf(s->state_topic, sizeof(s->state_topic), "%s/%s/state", o->topic_prefix, meter_id);
	main_device(s, id);
	for (size_t i = 0; i < l->n; i++)
		if (reading_entities(s, t, &l->v[i]) < 0)
			return -1;
	if (o->health && health_entities(s) < 0)
		return -1;
	return 0;
}

int discovery_build_meter(const struct discovery_options *o, const char *meter_id, const struct identity *id,
                          const struct sm_telegram *t, const struct state_list *l, struct discovery_batch *out)
{
	struct state_list own = { 0 };
	struct scene s = { 0 };
	int rc = -1;
	if (!l && state_list_build(&own, t, NULL) < 0)
		goto out;
	if (scene_fill(&s, o, meter_id, id, t, l ? l : &own) == 0)
		rc = o->device_discovery ? emit_devices(&s, out) : emit_entities(&s, out);
out:
	free(s.ent);
	state_list_free(&own);
	return rc;
}

int discovery_build(const struct discovery_options *o, const char *meter_id, const struct sm_telegram *t,
                    struct discovery_batch *out)
{
	struct identity id;
	identity_from_telegram(t, &id);
	return discovery_build_meter(o, meter_id, &id, t, NULL, out);
}

void discovery_batch_free(struct discovery_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->msgs[i].topic);
		free(b->msgs[i].payload);
	}
	free(b->msgs);
	b->msgs = NULL;
	b->n = b->cap = 0;
}

/* ---- health keys ---- */

int discovery_health_add(struct state_list *l, const struct discovery_health *h)
{
	const struct {
		const char *key;
		uint64_t n;
	} counters[] = { { "decoder_frames", h->frames },
		         { "decoder_crc_errors", h->crc_errors },
		         { "decoder_decrypt_errors", h->decrypt_errors } };
	struct state_value v = { .type = STATE_NUMBER };
	struct tm tm;
	int rc = 0;

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		v.num = (struct sm_number){ .mag = counters[i].n };
		rc |= state_list_set(l, counters[i].key, &v, NULL);
	}
	v.type = STATE_NULL;
	if (h->last_frame && gmtime_r(&h->last_frame, &tm) &&
	    strftime(v.text, sizeof(v.text), "%Y-%m-%dT%H:%M:%S+00:00", &tm))
		v.type = STATE_TEXT;
	rc |= state_list_set(l, "decoder_last_frame", &v, NULL);
	v.type = h->serial ? STATE_TEXT : STATE_NULL;
	snprintf(v.text, sizeof(v.text), "%s", h->serial ? h->serial : "");
	rc |= state_list_set(l, "decoder_serial", &v, NULL);
	return rc ? -1 : 0;
}

/* ---- the announcer ---- */

struct cached {
	char *topic;
	char *payload;
	size_t len;
};

struct discovery {
	struct discovery_options o;
	char *strings[4]; /* owned copies behind o's pointers */
	char *ha_status;  /* <discovery_prefix>/status */
	char *own_status; /* <topic_prefix>/<instance>/status: what marks a config as ours */
	char *filters[2];
	struct cached *v; /* published configs */
	size_t n, cap;
	char **col;       /* collected retained configs of ours (topics) */
	size_t ncol, capcol;
	uint64_t fingerprints[DISCOVERY_LAYOUTS]; /* layouts already turned into configs (list 1/2/3 ...) */
	size_t nfp;
	char (*keys)[64]; /* state keys the published entities read */
	size_t nkeys, capkeys;
};

static void drop_options(struct discovery *d)
{
	char **owned[] = { &d->strings[0], &d->strings[1], &d->strings[2], &d->strings[3],
		           &d->ha_status, &d->own_status, &d->filters[0], &d->filters[1] };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		free(*owned[i]);
		*owned[i] = NULL;
	}
}

static void drop_collected(struct discovery *d)
{
	for (size_t i = 0; i < d->ncol; i++)
		free(d->col[i]);
	free(d->col);
	d->col = NULL;
	d->ncol = d->capcol = 0;
}

static void drop_cache(struct discovery *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].topic);
		free(d->v[i].payload);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
	d->nfp = 0;
	free(d->keys);
	d->keys = NULL;
	d->nkeys = d->capkeys = 0;
}

/* a + b + c in a new string, NULL on ENOMEM. */
static char *join(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb);
		memcpy(s + la + lb, c, lc + 1);
	}
	return s;
}

static int take_options(struct discovery *d, const struct discovery_options *o)
{
	const char *src[4] = { o->discovery_prefix ? o->discovery_prefix : "homeassistant",
		               o->topic_prefix ? o->topic_prefix : "smartmeter", o->instance ? o->instance : "smartmeterd",
		               o->version ? o->version : SMARTMETER_VERSION };
	char *dup[4], *derived[4] = { NULL, NULL, NULL, NULL };
	bool ok = true;

	for (size_t i = 0; i < 4; i++)
		ok &= (dup[i] = strdup(src[i])) != NULL;
	derived[0] = o->ha_status_topic ? strdup(o->ha_status_topic) : join(src[0], "/status", "");
	char *mid = join(src[1], "/", src[2]);
	derived[1] = mid ? join(mid, "/status", "") : NULL;
	free(mid);
	derived[2] = join(src[0], "/+/+/+/config", "");
	derived[3] = join(src[0], "/+/+/config", "");
	for (size_t i = 0; i < 4; i++)
		ok &= derived[i] != NULL;
	if (!ok) {
		for (size_t i = 0; i < 4; i++) {
			free(dup[i]);
			free(derived[i]);
		}
		return -1;
	}
	drop_options(d);
	d->o = *o;
	memcpy(d->strings, dup, sizeof(dup));
	d->o.discovery_prefix = dup[0];
	d->o.topic_prefix = dup[1];
	d->o.instance = dup[2];
	d->o.version = dup[3];
	d->o.ha_status_topic = NULL; /* d->ha_status holds it */
	d->ha_status = derived[0];
	d->own_status = derived[1];
	d->filters[0] = derived[2];
	d->filters[1] = derived[3];
	d->nfp = 0;
	return 0;
}

struct discovery *discovery_new(const struct discovery_options *o)
{
	struct discovery *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (take_options(d, o) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	drop_cache(d);
	drop_collected(d);
	drop_options(d);
	free(d);
}

static int removal(struct discovery_batch *out, const char *topic)
{
	return batch_add(out, topic, "", 0);
}

/* Everything published so far is stale (HA keeps entities until their config is removed). */
static int forget(struct discovery *d, struct discovery_batch *out)
{
	for (size_t i = 0; i < d->n; i++)
		if (removal(out, d->v[i].topic) < 0)
			return -1;
	drop_cache(d);
	drop_collected(d);
	return 0;
}

int discovery_reconfigure(struct discovery *d, const struct discovery_options *o, struct discovery_batch *out)
{
	const char *prefix = o->discovery_prefix ? o->discovery_prefix : "homeassistant";
	bool moved = strcmp(prefix, d->o.discovery_prefix) != 0 || o->device_discovery != d->o.device_discovery ||
	             (o->disabled && !d->o.disabled);
	if (moved && forget(d, out) < 0)
		return -1;
	return take_options(d, o);
}

const char *discovery_ha_status_topic(const struct discovery *d)
{
	return d->ha_status;
}

bool discovery_is_ha_online(const struct discovery *d, const char *topic, const void *payload, size_t len)
{
	/* Exact match: HA's will on the same topic is "offline" and must not trigger anything (§4.1). */
	return topic && strcmp(topic, d->ha_status) == 0 && len == 6 && memcmp(payload, "online", 6) == 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return s ? fnv(h, s, strlen(s) + 1) : fnv(h, "", 1);
}

/* Readings whose value (not just presence) ends up in a config: device identity and M-Bus media. */
static bool identity_code(const uint8_t *o)
{
	return (o[0] == 0 && o[2] == 42 && o[3] == 0) || (o[2] == 96 && o[3] == 1) || (o[2] == 24 && o[3] == 1) ||
	       (o[0] == 1 && o[2] == 0 && o[3] == 2 && o[4] == 0);
}

/* Everything discovery_build() looks at, so that an unchanged layout costs one hash per frame. */
static uint64_t fingerprint(const char *meter_id, const struct identity *id, const struct sm_telegram *t)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char text[TEXT_LEN];

	h = fnv_str(h, meter_id);
	h = fnv(h, id, sizeof(*id));
	h = fnv(h, &t->protocol, sizeof(t->protocol));
	h = fnv(h, &t->encrypted, sizeof(t->encrypted));
	if (t->encrypted)
		h = fnv(h, t->system_title, 3);
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		bool ts = r->has_timestamp && r->timestamp.has_offset;
		bool dt_off = r->value.type == SM_VALUE_DATETIME && r->value.u.dt.has_offset;
		h = fnv(h, &r->has_obis, sizeof(r->has_obis));
		h = fnv(h, r->obis, 6);
		h = fnv(h, &r->value.type, sizeof(r->value.type));
		h = fnv_str(h, r->value.unit);
		h = fnv(h, &ts, sizeof(ts));
		h = fnv(h, &dt_off, sizeof(dt_off));
		if (r->has_obis && identity_code(r->obis) && identity_reading_text(r, text, sizeof(text)))
			h = fnv_str(h, text);
	}
	return h;
}

static struct cached *cache_find(const struct discovery *d, const char *topic)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].topic, topic) == 0)
			return &d->v[i];
	return NULL;
}

static int batch_add(struct discovery_batch *out, const char *topic, const char *payload, size_t len)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		struct discovery_msg *n = realloc(out->msgs, cap * sizeof(*n));
		if (!n)
			return -1;
		out->msgs = n;
		out->cap = cap;
	}
	struct discovery_msg *m = &out->msgs[out->n];
	m->topic = strdup(topic);
	m->payload = malloc(len + 1);
	if (!m->topic || !m->payload) {
		free(m->topic);
		free(m->payload);
		return -1;
	}
	memcpy(m->payload, payload, len + 1);
	m->len = len;
	out->n++;
	return 0;
}

static int add_key(struct discovery *d, const char *key)
{
	for (size_t i = 0; i < d->nkeys; i++)
		if (!strcmp(d->keys[i], key))
			return 0;
	if (d->nkeys >= DISCOVERY_MAX_KEYS || strlen(key) >= sizeof(d->keys[0]))
		return 0;
	if (d->nkeys == d->capkeys) {
		size_t cap = d->capkeys ? d->capkeys * 2 : 64;
		char(*n)[64] = realloc(d->keys, cap * sizeof(*n));
		if (!n)
			return -1;
		d->keys = n;
		d->capkeys = cap;
	}
	snprintf(d->keys[d->nkeys++], sizeof(d->keys[0]), "%s", key);
	return 0;
}

int discovery_update(struct discovery *d, const char *meter_id, const struct identity *id,
                     const struct sm_telegram *t, const struct state_list *l, struct discovery_batch *out)
{
	struct identity derived;
	struct discovery_batch fresh = { 0 };
	struct state_list own = { 0 };
	struct scene s = { 0 };
	int rc = -1;

	if (!id) {
		identity_from_telegram(t, &derived);
		id = &derived;
	}
	uint64_t fp = fingerprint(meter_id, id, t);
	if (d->o.disabled)
		return 0;
	for (size_t i = 0; i < d->nfp; i++)
		if (d->fingerprints[i] == fp)
			return 0;
	if (!l) {
		if (state_list_build(&own, t, NULL) < 0)
			goto out;
		l = &own;
	}
	if (scene_fill(&s, &d->o, meter_id, id, t, l) < 0 ||
	    (d->o.device_discovery ? emit_devices(&s, &fresh) : emit_entities(&s, &fresh)) < 0)
		goto out;
	for (size_t i = 0; i < s.nent; i++)
		if (add_key(d, s.ent[i].key) < 0)
			goto out;
	for (size_t i = 0; i < fresh.n; i++) {
		struct discovery_msg *m = &fresh.msgs[i];
		struct cached *c = cache_find(d, m->topic);
		if (c && c->len == m->len && memcmp(c->payload, m->payload, m->len) == 0)
			continue;
		if (!c) {
			if (d->n >= DISCOVERY_MAX_CONFIGS)
				continue; /* never grow without bound on a meter that invents codes */
			if (d->n == d->cap) {
				size_t cap = d->cap ? d->cap * 2 : 64;
				struct cached *nv = realloc(d->v, cap * sizeof(*nv));
				if (!nv)
					goto out;
				d->v = nv;
				d->cap = cap;
			}
			c = &d->v[d->n++];
			c->topic = m->topic;
			m->topic = NULL;
		} else {
			free(c->payload);
		}
		c->payload = m->payload;
		c->len = m->len;
		m->payload = NULL;
		if (batch_add(out, c->topic, c->payload, c->len) < 0)
			goto out;
	}
	/* Remember the layout (oldest forgotten first): alternating lists cost one hash per frame. */
	if (d->nfp == DISCOVERY_LAYOUTS) {
		memmove(d->fingerprints, d->fingerprints + 1, (DISCOVERY_LAYOUTS - 1) * sizeof(d->fingerprints[0]));
		d->nfp--;
	}
	d->fingerprints[d->nfp++] = fp;
	rc = 0;
out:
	free(s.ent);
	state_list_free(&own);
	discovery_batch_free(&fresh);
	return rc;
}

size_t discovery_keys(const struct discovery *d, const char (**ret)[64])
{
	*ret = d->keys;
	return d->nkeys;
}

/* "<prefix>/<component>/<node>/<object>/config" or "<prefix>/device/<node>/config": is node this meter's
 * (meter_id or meter_id_mbus<n>)? */
static bool topic_of_meter(const struct discovery *d, const char *topic, const char *meter_id)
{
	const char *rest = topic + strlen(d->o.discovery_prefix) + 1;
	const char *node = strchr(rest, '/');
	size_t n = strlen(meter_id);
	if (!node || strncmp(node + 1, meter_id, n) != 0)
		return false;
	const char *after = node + 1 + n;
	return *after == '/' || !strncmp(after, "_mbus", 5);
}

int discovery_forget_meter(struct discovery *d, const char *meter_id, struct discovery_batch *out)
{
	size_t keep = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct cached *c = &d->v[i];
		if (topic_of_meter(d, c->topic, meter_id)) {
			if (removal(out, c->topic) < 0)
				return -1;
			free(c->topic);
			free(c->payload);
		} else {
			d->v[keep++] = *c;
		}
	}
	d->n = keep;
	d->nfp = 0;
	d->nkeys = 0;
	return 0;
}

int discovery_all(const struct discovery *d, struct discovery_batch *out)
{
	for (size_t i = 0; i < d->n; i++)
		if (batch_add(out, d->v[i].topic, d->v[i].payload, d->v[i].len) < 0)
			return -1;
	return 0;
}

/* ---- clean-up of retained configs ---- */

void discovery_cleanup_filters(const struct discovery *d, const char *ret[2])
{
	ret[0] = d->filters[0];
	ret[1] = d->filters[1];
}

size_t discovery_collected(const struct discovery *d)
{
	return d->ncol;
}

/* origin.name is ours and one availability topic is this instance's status topic. */
static bool config_is_ours(const struct discovery *d, json_object *j)
{
	json_object *origin, *name, *avail;
	if (!json_object_object_get_ex(j, "origin", &origin) || !json_object_object_get_ex(origin, "name", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    strcmp(json_object_get_string(name), DISCOVERY_ORIGIN_NAME) != 0)
		return false;
	if (!json_object_object_get_ex(j, "availability", &avail) || !json_object_is_type(avail, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(avail); i++) {
		json_object *t;
		if (json_object_object_get_ex(json_object_array_get_idx(avail, i), "topic", &t) &&
		    json_object_is_type(t, json_type_string) && strcmp(json_object_get_string(t), d->own_status) == 0)
			return true;
	}
	return false;
}

bool discovery_collect(struct discovery *d, const char *topic, const void *payload, size_t len)
{
	size_t plen = strlen(d->o.discovery_prefix);
	bool ours = false;

	/* Most retained configs on a busy broker belong to other programs: skip them before parsing. */
	if (!topic || strncmp(topic, d->o.discovery_prefix, plen) != 0 || topic[plen] != '/' || len == 0 ||
	    len > (1u << 20) || !memmem(payload, len, DISCOVERY_ORIGIN_NAME, strlen(DISCOVERY_ORIGIN_NAME)) ||
	    !memmem(payload, len, d->own_status, strlen(d->own_status)))
		return false;
	for (size_t i = 0; i < d->ncol; i++)
		if (strcmp(d->col[i], topic) == 0)
			return true;
	if (d->ncol >= DISCOVERY_MAX_CONFIGS)
		return false;
	json_tokener *tok = json_tokener_new();
	json_object *j = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL;
	ours = j && json_object_is_type(j, json_type_object) && config_is_ours(d, j);
	json_object_put(j);
	json_tokener_free(tok);
	if (!ours)
		return false;
	if (d->ncol == d->capcol) {
		size_t cap = d->capcol ? d->capcol * 2 : 32;
		char **n = realloc(d->col, cap * sizeof(*n));
		if (!n)
			return false;
		d->col = n;
		d->capcol = cap;
	}
	if (!(d->col[d->ncol] = strdup(topic)))
		return false;
	d->ncol++;
	return true;
}

/* "<prefix>/device/<node>/config" is a device-mode topic; "<prefix>/<c>/<node>/<object>/config" per entity. */
static bool device_topic(const struct discovery *d, const char *topic)
{
	const char *rest = topic + strlen(d->o.discovery_prefix) + 1;
	size_t slashes = 0;
	for (const char *c = rest; *c; c++)
		slashes += *c == '/';
	return slashes == 2;
}

int discovery_sweep(struct discovery *d, bool all, struct discovery_batch *out)
{
	size_t keep = 0;
	for (size_t i = 0; i < d->ncol; i++) {
		char *t = d->col[i];
		bool stale = d->o.disabled || device_topic(d, t) != d->o.device_discovery || (all && !cache_find(d, t));
		if (stale && removal(out, t) < 0)
			return -1;
		if (stale || all)
			free(t);
		else
			d->col[keep++] = t;
	}
	d->ncol = keep;
	return 0;
}
