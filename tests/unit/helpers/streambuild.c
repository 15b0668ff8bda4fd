/* streambuild.c — noisy meter streams of every framing and a checker of what came out (see
 * streambuild.h). Test and bench code only; frames come from dlmsbuild.c and gcmbuild.c, which are
 * written from the spec, not from the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlmsbuild.h"
#include "gcmbuild.h"
#include "smlbuild.h"
#include "streambuild.h"

const uint8_t sb_key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                            0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
const uint8_t sb_auth_key[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t wrong_key[16] = {0x0F, 0x1E, 0x2D, 0x3C, 0x4B, 0x5A, 0x69, 0x78,
                                      0x87, 0x96, 0xA5, 0xB4, 0xC3, 0xD2, 0xE1, 0xF0};
/* Not Sagemcom's: the Smarty hint must not fire in these streams. */
static const uint8_t system_title[8] = {'T', 'S', 'T', 0x01, 0x02, 0x03, 0x04, 0x05};

void sb_config(struct sm_decoder_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->has_key = true;
	memcpy(cfg->key, sb_key, 16);
	cfg->has_auth_key = true;
	memcpy(cfg->auth_key, sb_auth_key, 16);
}

const char *sb_kind_name(enum sb_kind k)
{
	static const char *const names[SB_KINDS] = {"DSMR", "encrypted DSMR", "HDLC", "HDLC+GCM", "M-Bus",
	                                            "bare APDU", "bare GCM APDU", "SML"};
	return k < SB_KINDS ? names[k] : "?";
}

uint32_t sb_rand(uint64_t *rng)
{
	uint64_t x = *rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	return (uint32_t)(x >> 16);
}

static uint16_t crc16_arc(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	while (n--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

/* DSMR 5 telegram; *ret_bang gets the index of '!'. */
static size_t dsmr_text(uint8_t *out, size_t cap, uint32_t serial, size_t *ret_bang)
{
	char tmp[512];
	int n = snprintf(tmp, sizeof(tmp),
	                 "/KFM5KAIFA-METER\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(201113205757W)\r\n"
	                 "0-0:96.1.1(4530303034303031353934373534343134)\r\n1-0:1.8.1(%u*kWh)\r\n1-0:1.7.0(%u*kW)\r\n!",
	                 (unsigned)serial, (unsigned)(serial % 1000));
	if (n < 0 || (size_t)n + 6 > cap || (size_t)n + 6 > sizeof(tmp))
		return 0;
	*ret_bang = (size_t)n - 1;
	n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "%04X\r\n", crc16_arc((const uint8_t *)tmp, (size_t)n));
	memcpy(out, tmp, (size_t)n);
	return (size_t)n;
}

static size_t put_register(uint8_t *p, uint8_t c, uint8_t d, uint32_t v, uint8_t unit)
{
	const uint8_t head[] = {0x02, 0x03, 0x09, 0x06, 0x01, 0x00, c, d, 0x00, 0xFF, 0x06};
	size_t n = sizeof(head);
	memcpy(p, head, n);
	p[n++] = (uint8_t)(v >> 24);
	p[n++] = (uint8_t)(v >> 16);
	p[n++] = (uint8_t)(v >> 8);
	p[n++] = (uint8_t)v;
	const uint8_t su[] = {0x02, 0x02, 0x0F, 0x00, 0x16, unit};
	memcpy(p + n, su, sizeof(su));
	return n + sizeof(su);
}

size_t sb_notification(uint8_t *out, size_t cap, uint32_t serial, unsigned nregs)
{
	uint8_t body[4096];
	size_t n = 0;
	if (nregs < 2 || nregs > 127 || nregs * 23 + 2 > sizeof(body))
		return 0;
	body[n++] = 0x01;
	body[n++] = (uint8_t)nregs;
	n += put_register(body + n, 1, 8, serial, 0x1E);         /* Wh */
	n += put_register(body + n, 1, 7, serial % 1000, 0x1B);  /* W */
	for (unsigned k = 2; k < nregs; k++)
		n += put_register(body + n, (uint8_t)(100 + k % 100), (uint8_t)(k / 100), k, 0x21); /* A */
	return dlmsbuild_notification(out, cap, serial, body, n);
}

/* data-notification with an array of two registers; *ret_count gets the index of the array count. */
static size_t notification(uint8_t *out, size_t cap, uint32_t serial, size_t *ret_count)
{
	*ret_count = 6 + 1; /* 0F, invoke id (4), 00, then 01 count */
	return sb_notification(out, cap, serial, 2);
}

static size_t gcm(uint8_t *out, size_t cap, const uint8_t *pt, size_t n, uint32_t serial, bool wrong,
                  enum gcm_lenform lf)
{
	struct gcm_params prm = {
		.tag = 0xDB, .sc = 0x30, .ic = serial, .ek = wrong ? wrong_key : sb_key, .ak = sb_auth_key, .lenform = lf};
	memcpy(prm.system_title, system_title, 8);
	return gcm_build(&prm, pt, n, out, cap);
}

static size_t hdlc(uint8_t *out, size_t cap, const uint8_t *apdu, size_t n)
{
	uint8_t info[2048];
	if (n + 3 > sizeof(info))
		return 0;
	memcpy(info, dlmsbuild_llc, 3);
	memcpy(info + 3, apdu, n);
	return dlmsbuild_hdlc_frame(out, cap, &dlmsbuild_hdlc_aidon, false, info, n + 3);
}

/* Raise an HDLC frame's length field by k and make its HCS fit again: a header that promises more. */
static void hdlc_overlong(uint8_t *f, size_t k)
{
	size_t flen = (size_t)(f[1] & 0x07) << 8 | f[2];
	flen += k;
	if (flen > 0x7FF)
		flen = 0x7FF;
	f[1] = (uint8_t)((f[1] & 0xF8) | (flen >> 8));
	f[2] = (uint8_t)flen;
	/* aidon header: format 2, dst 1, src 2, control 1 = 6 bytes, HCS at 7..8 */
	uint16_t hcs = dlmsbuild_crc16_x25(f + 1, 6);
	f[7] = (uint8_t)hcs;
	f[8] = (uint8_t)(hcs >> 8);
}

/* An SML file whose value list is 1-0:1.8.0 = serial Wh and 1-0:1.7.0 = serial % 1000 W. */
static size_t sml(uint8_t *out, size_t cap, uint32_t serial)
{
	static const uint8_t sid[10] = {0x0A, 0x01, 'T', 'S', 'T', 0x00, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t e[6] = {1, 0, 1, 8, 0, 255}, p[6] = {1, 0, 1, 7, 0, 255};
	static struct smlbuild b; /* 8 KiB: not on the stack */
	smlbuild_init(&b);
	smlbuild_open(&b, serial * 3, sid, sizeof(sid), SMLBUILD_X25);
	smlbuild_getlist_begin(&b, serial * 3 + 1, sid, sizeof(sid), 2);
	smlbuild_entry_uint(&b, e, 30, 0, serial, 4);
	smlbuild_entry_uint(&b, p, 27, 0, serial % 1000, 2);
	smlbuild_getlist_end(&b, SMLBUILD_X25);
	smlbuild_close(&b, serial * 3 + 2, SMLBUILD_X25);
	return smlbuild_file(&b, out, cap, SMLBUILD_X25);
}

size_t sb_message(uint8_t *out, size_t cap, enum sb_kind k, uint32_t serial, enum sb_damage d, uint64_t *rng)
{
	uint8_t inner[1024];
	size_t n = 0, bang = 0, count_at = 0, ni;
	bool wrong = d == SB_WRONGKEY;
	size_t flip_lo = 0, flip_hi = 0; /* bit flips land in [lo, hi) */

	if (wrong && k != SB_DSMR_GCM && k != SB_HDLC_GCM && k != SB_APDU_GCM)
		d = SB_BITFLIP;
	if (d == SB_BITFLIP && k == SB_APDU)
		d = SB_TRUNCATED; /* no check covers a bare plain APDU's values: a flip there is undetectable */

	switch (k) {
	case SB_DSMR:
		n = dsmr_text(out, cap, serial, &bang);
		flip_hi = bang + 5;
		if (d == SB_OVERLONG)
			n = bang; /* lost its end line: runs on into whatever follows */
		break;
	case SB_DSMR_GCM:
		ni = dsmr_text(inner, sizeof(inner), serial, &bang);
		n = gcm(out, cap, inner, ni, serial, wrong, GCM_LEN_82);
		flip_hi = n;
		if (d == SB_OVERLONG && n > 13) {
			size_t l = (size_t)(out[11] << 8 | out[12]) + 1 + sb_rand(rng) % 300;
			out[11] = (uint8_t)(l >> 8);
			out[12] = (uint8_t)l;
		}
		break;
	case SB_HDLC:
	case SB_HDLC_GCM:
		ni = notification(inner, sizeof(inner), serial, &count_at);
		if (k == SB_HDLC_GCM) {
			uint8_t c[1024];
			size_t nc = gcm(c, sizeof(c), inner, ni, serial, wrong, GCM_LEN_SHORTEST);
			memcpy(inner, c, nc);
			ni = nc;
		}
		n = hdlc(out, cap, inner, ni);
		flip_lo = 1;
		flip_hi = n - 1;
		if (d == SB_OVERLONG)
			hdlc_overlong(out, 1 + sb_rand(rng) % 400);
		break;
	case SB_MBUS:
		ni = notification(inner, sizeof(inner), serial, &count_at);
		n = dlmsbuild_mbus_frame(out, cap, 0x10, true, inner, ni);
		flip_hi = n;
		if (d == SB_OVERLONG) {
			size_t l = out[1] + 1 + sb_rand(rng) % 100;
			out[1] = out[2] = (uint8_t)(l > 255 ? 255 : l);
		}
		break;
	case SB_APDU:
		n = notification(out, cap, serial, &count_at);
		if (d == SB_OVERLONG)
			out[count_at]++; /* the array claims one register more than it holds */
		break;
	case SB_APDU_GCM:
		ni = notification(inner, sizeof(inner), serial, &count_at);
		n = gcm(out, cap, inner, ni, serial, wrong, GCM_LEN_82);
		flip_hi = n;
		if (d == SB_OVERLONG && n > 13) {
			size_t l = (size_t)(out[11] << 8 | out[12]) + 1 + sb_rand(rng) % 300;
			out[11] = (uint8_t)(l >> 8);
			out[12] = (uint8_t)l;
		}
		break;
	case SB_SML:
		n = sml(out, cap, serial);
		flip_hi = n; /* the file CRC covers every byte */
		if (d == SB_OVERLONG && n > 8)
			n -= 8; /* lost its end sequence: runs on into whatever follows */
		break;
	case SB_KINDS:
		return 0;
	}
	if (n == 0)
		return 0;
	if (d == SB_TRUNCATED) {
		/* HDLC: cut before the FCS ends (without only its closing flag the frame is whole). */
		size_t keep = (k == SB_HDLC || k == SB_HDLC_GCM) ? n - 2 : n - 1;
		n = 1 + sb_rand(rng) % keep;
	}
	if (d == SB_BITFLIP && flip_hi > flip_lo) {
		size_t at = flip_lo + sb_rand(rng) % (flip_hi - flip_lo);
		out[at] ^= (uint8_t)(1u << (sb_rand(rng) % 8));
	}
	return n;
}

void sb_stream_build(struct sb_stream *s, size_t n, const enum sb_kind *kinds, size_t nkinds, unsigned damage_every,
                     uint64_t seed)
{
	uint64_t rng = seed | 1;
	memset(s, 0, sizeof(*s));
	s->buf = malloc(n * 1100 + 64);
	s->good = calloc(n ? n : 1, 1);
	s->kind = calloc(n ? n : 1, 1);
	s->damage = calloc(n ? n : 1, 1);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		enum sb_kind k = kinds[sb_rand(&rng) % nkinds];
		enum sb_damage d = SB_GOOD;
		if (damage_every && sb_rand(&rng) % damage_every == 0)
			d = (enum sb_damage)(1 + sb_rand(&rng) % (SB_DAMAGES - 1));
		size_t m = sb_message(s->buf + s->len, 1100, k, (uint32_t)(i + 1), d, &rng);
		s->len += m;
		s->kind[i] = (uint8_t)k;
		s->damage[i] = (uint8_t)d;
		s->good[i] = d == SB_GOOD;
		s->ngood += d == SB_GOOD;
	}
}

void sb_stream_free(struct sb_stream *s)
{
	free(s->buf);
	free(s->good);
	free(s->kind);
	free(s->damage);
	memset(s, 0, sizeof(*s));
}

void sb_seen_init(struct sb_seen *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->count = calloc(n ? n : 1, sizeof(unsigned));
}

void sb_seen_free(struct sb_seen *s)
{
	free(s->count);
	memset(s, 0, sizeof(*s));
}

static bool whole(const struct sm_reading *r, uint64_t *ret)
{
	if (!r || r->value.type != SM_VALUE_NUMBER || r->value.u.num.neg || r->value.u.num.exp10 != 0)
		return false;
	*ret = r->value.u.num.mag;
	return true;
}

void sb_on_telegram(void *ctx, const struct sm_telegram *t)
{
	static const uint8_t e_dlms[6] = {1, 0, 1, 8, 0, 255}, e_dsmr[6] = {1, 0, 1, 8, 1, 255};
	static const uint8_t p_obis[6] = {1, 0, 1, 7, 0, 255};
	struct sb_seen *s = ctx;
	uint64_t serial = 0, power = 0;
	s->telegrams++;
	const struct sm_reading *e = sm_telegram_find(t, t->protocol == SM_PROTOCOL_DSMR ? e_dsmr : e_dlms);
	if (!whole(e, &serial) || !whole(sm_telegram_find(t, p_obis), &power) || serial == 0 || serial > s->n ||
	    power != serial % 1000 || t->nreadings != (t->protocol == SM_PROTOCOL_DSMR ? 5u : 2u)) {
		s->foreign++;
		return;
	}
	s->count[serial - 1]++;
}

size_t sb_lost(const struct sb_stream *st, const struct sb_seen *s, size_t *ret_damaged)
{
	size_t lost = 0, damaged = 0;
	for (size_t i = 0; i < st->n; i++) {
		if (st->good[i] && s->count[i] == 0)
			lost++;
		if (!st->good[i] && s->count[i] > 0)
			damaged++;
	}
	if (ret_damaged)
		*ret_damaged = damaged;
	return lost;
}

void sb_feed(struct sm_decoder *dec, const uint8_t *buf, size_t len, size_t chunk, uint64_t seed)
{
	uint64_t rng = seed | 1;
	for (size_t off = 0; off < len;) {
		size_t c = chunk == 0 ? len : chunk == SIZE_MAX ? 1 + sb_rand(&rng) % 4096 : chunk;
		if (c > len - off)
			c = len - off;
		sm_decoder_feed(dec, buf + off, c);
		off += c;
	}
	sm_decoder_flush(dec);
}
