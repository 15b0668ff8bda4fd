/* identity.c — learning and persisting a meter's identity (see identity.h). The device block Home
 * Assistant shows must not change with the list a frame happens to be: this file is the one place that
 * reads identity out of telegrams. Must never put anything but identity and key names in the file. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "discovery.h"
#include "identity.h"
#include "smartmeter/obis.h"

static void copy_text(char *dst, size_t sz, const char *src)
{
	size_t n = 0;
	for (; src && src[n] && n + 1 < sz; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

bool identity_code_text(const struct sm_telegram *t, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e,
                        char *out, size_t sz)
{
	const uint8_t o[6] = { a, b, c, d, e, 255 };
	const struct sm_reading *r = sm_telegram_find(t, o);
	return r && identity_reading_text(r, out, sz);
}

bool identity_reading_text(const struct sm_reading *r, char *out, size_t sz)
{
	struct sm_obis_state st;
	sm_obis_state_value(sm_obis_lookup(r->obis), &r->value, &st);
	if (st.type == SM_OBIS_STATE_TEXT)
		copy_text(out, sz, st.text);
	else if (st.type == SM_OBIS_STATE_NUMBER)
		sm_number_format(&st.num, out, sz);
	else
		return false;
	return out[0] != '\0';
}

/* DSMR identification "ISK5\2M550T-1012": 3-letter FLAG id, baud digit, optional "\<digit>", model. */
static void dsmr_model(const char *header, char *out, size_t sz)
{
	const char *p = header;
	if (strlen(p) < 5) {
		copy_text(out, sz, header);
		return;
	}
	p += 4;
	if (p[0] == '\\' && p[1])
		p += 2;
	copy_text(out, sz, *p ? p : header);
}

void identity_from_telegram(const struct sm_telegram *t, struct identity *ret)
{
	char buf[IDENTITY_TEXT_LEN];
	const char *vendor = discovery_vendor(t->header);

	memset(ret, 0, sizeof(*ret));
	ret->dsmr = t->protocol == SM_PROTOCOL_DSMR;
	if (t->meter_id && config_slug(t->meter_id, ret->meter_id, sizeof(ret->meter_id)) > 0)
		copy_text(ret->serial, sizeof(ret->serial), t->meter_id);
	/* Logical device name (0-0:42.0.0, hex in LU/HU DSMR), then the system title of encrypted frames,
	 * then equipment ids that embed the FLAG id ("1KFM0200169986", "1ESY1313002565"). */
	if (!vendor && identity_code_text(t, 0, 0, 42, 0, 0, buf, sizeof(buf)))
		vendor = discovery_vendor(buf);
	if (!vendor && t->encrypted) {
		char st[4] = { (char)t->system_title[0], (char)t->system_title[1], (char)t->system_title[2], 0 };
		vendor = discovery_vendor(st);
	}
	if (!vendor && identity_code_text(t, 0, 0, 96, 1, 0, buf, sizeof(buf)))
		vendor = discovery_vendor(buf + 1);
	if (!vendor && identity_code_text(t, 0, 0, 96, 1, 255, buf, sizeof(buf)))
		vendor = discovery_vendor(buf + 1);
	copy_text(ret->manufacturer, sizeof(ret->manufacturer), vendor);

	if (identity_code_text(t, 0, 0, 96, 1, 7, buf, sizeof(buf)) || identity_code_text(t, 1, 0, 96, 1, 1, buf, sizeof(buf)) ||
	    identity_code_text(t, 1, 1, 96, 1, 1, buf, sizeof(buf)))
		copy_text(ret->model, sizeof(ret->model), buf);
	else if (t->header && t->protocol == SM_PROTOCOL_DSMR)
		dsmr_model(t->header, ret->model, sizeof(ret->model));
	else if (t->protocol == SM_PROTOCOL_SML) /* its header is the manufacturer id, not a model */
		copy_text(ret->model, sizeof(ret->model), "SML meter");
	else if (t->header)
		copy_text(ret->model, sizeof(ret->model), t->header);
	/* DSMR version "50" -> "DSMR 5.0" makes the model line say which P1 dialect it speaks. */
	if (ret->model[0] && t->dsmr_version && strlen(t->dsmr_version) == 2 && strlen(ret->model) + 12 < sizeof(ret->model)) {
		size_t n = strlen(ret->model);
		snprintf(ret->model + n, sizeof(ret->model) - n, " (DSMR %c.%c)", t->dsmr_version[0], t->dsmr_version[1]);
	}
	if (!identity_code_text(t, 1, 0, 0, 2, 0, ret->sw, sizeof(ret->sw)))
		identity_code_text(t, 1, 1, 0, 2, 0, ret->sw, sizeof(ret->sw));
}

enum identity_change identity_learn(struct identity *known, const struct identity *fresh)
{
	if (fresh->meter_id[0] && strcmp(fresh->meter_id, known->meter_id) != 0) {
		*known = *fresh;
		return IDENTITY_NEW_METER;
	}
	if (!known->meter_id[0])
		return IDENTITY_SAME; /* nothing to attach the fields to yet */
	bool more = false;
	struct {
		char *dst;
		const char *src;
	} f[] = { { known->manufacturer, fresh->manufacturer }, { known->model, fresh->model }, { known->sw, fresh->sw } };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].src[0] && strcmp(f[i].dst, f[i].src) != 0) {
			copy_text(f[i].dst, IDENTITY_TEXT_LEN, f[i].src);
			more = true;
		}
	return more ? IDENTITY_MORE : IDENTITY_SAME;
}

/* ---- the file: "field value" lines, one "key <name>" line per state key ---- */

static int file_path(const char *dir, const char *source, const char *suffix, char *out, size_t sz)
{
	char slug[128];
	if (!dir || !*dir || config_slug(source, slug, sizeof(slug)) == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(out, sz, "%s/%s.meter%s", dir, slug, suffix) >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static struct {
	const char *name;
	size_t off;
	size_t len;
} const fields[] = {
	{ "meter_id", offsetof(struct identity, meter_id), IDENTITY_ID_LEN },
	{ "serial", offsetof(struct identity, serial), IDENTITY_TEXT_LEN },
	{ "manufacturer", offsetof(struct identity, manufacturer), IDENTITY_TEXT_LEN },
	{ "model", offsetof(struct identity, model), IDENTITY_TEXT_LEN },
	{ "sw", offsetof(struct identity, sw), IDENTITY_TEXT_LEN },
};

int identity_load(const char *dir, const char *source, struct identity *ret, char (*keys)[64], size_t max,
                  size_t *nkeys)
{
	char path[512], line[320];
	struct identity id;

	*nkeys = 0;
	if (file_path(dir, source, "", path, sizeof(path)) < 0)
		return -1;
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	memset(&id, 0, sizeof(id));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		if (!strcmp(line, "key")) {
			if (*nkeys < max && strlen(sp) < 64 && *sp)
				snprintf(keys[(*nkeys)++], 64, "%s", sp);
			continue;
		}
		if (!strcmp(line, "protocol")) {
			id.dsmr = !strcmp(sp, "dsmr");
			continue;
		}
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(line, fields[i].name))
				copy_text((char *)&id + fields[i].off, fields[i].len, sp);
	}
	fclose(f);
	/* Only a slug is a meter id: a hand-edited file must not put '/' or '+' into topics. */
	char slug[IDENTITY_ID_LEN];
	if (!id.meter_id[0] || config_slug(id.meter_id, slug, sizeof(slug)) == 0 || strcmp(slug, id.meter_id)) {
		*nkeys = 0;
		errno = EINVAL;
		return -1;
	}
	*ret = id;
	return 0;
}

int identity_save(const char *dir, const char *source, const struct identity *id, const char (*keys)[64],
                  size_t nkeys)
{
	char path[512], tmp[512];
	if (file_path(dir, source, "", path, sizeof(path)) < 0 || file_path(dir, source, ".tmp", tmp, sizeof(tmp)) < 0)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(f, "# smartmeterd: the meter last seen on %s (rewritten by the daemon)\n", source);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = (const char *)id + fields[i].off;
		if (*v && !strpbrk(v, "\r\n"))
			fprintf(f, "%s %s\n", fields[i].name, v);
	}
	fprintf(f, "protocol %s\n", id->dsmr ? "dsmr" : "dlms");
	for (size_t i = 0; i < nkeys; i++)
		fprintf(f, "key %s\n", keys[i]);
	if (fflush(f) != 0 || fsync(fd) != 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
