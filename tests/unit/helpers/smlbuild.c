/* smlbuild.c — builds SML 1.04 files for tests (see smlbuild.h). Bitwise CRCs on purpose: the tests
 * must not trust the library's table. */
#include <string.h>

#include "smlbuild.h"

static uint16_t crc16_reflected(const uint8_t *p, size_t n, uint16_t init)
{
	uint16_t crc = init;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
	}
	return crc;
}

uint16_t smlbuild_crc16_x25(const uint8_t *p, size_t n)
{
	return (uint16_t)~crc16_reflected(p, n, 0xFFFF);
}

uint16_t smlbuild_crc16_kermit(const uint8_t *p, size_t n)
{
	return crc16_reflected(p, n, 0);
}

void smlbuild_init(struct smlbuild *b)
{
	memset(b, 0, sizeof(*b));
}

static void put(struct smlbuild *b, uint8_t c)
{
	if (b->len >= sizeof(b->data)) {
		b->overflow = true;
		return;
	}
	b->data[b->len++] = c;
}

void smlbuild_raw(struct smlbuild *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, ((const uint8_t *)p)[i]);
}

void smlbuild_tl(struct smlbuild *b, unsigned type, size_t len, unsigned min_bytes)
{
	unsigned k = min_bytes ? min_bytes : 1;
	size_t v;
	for (;; k++) {
		/* scalars count their own TL bytes */
		v = type == 7 ? len : len + k;
		if (k >= 8 || v < ((size_t)1 << (4 * k)))
			break;
	}
	for (unsigned i = 0; i < k; i++) {
		uint8_t nib = (uint8_t)((v >> (4 * (k - 1 - i))) & 0x0F);
		uint8_t more = i + 1 < k ? 0x80 : 0x00;
		put(b, (uint8_t)(more | (i == 0 ? (type << 4) : 0) | nib));
	}
}

void smlbuild_octets(struct smlbuild *b, const void *p, size_t n)
{
	smlbuild_tl(b, 0, n, 0);
	smlbuild_raw(b, p, n);
}

void smlbuild_absent(struct smlbuild *b)
{
	put(b, 0x01);
}

static void be(struct smlbuild *b, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, (uint8_t)(v >> (8 * (n - 1 - i))));
}

void smlbuild_uint(struct smlbuild *b, uint64_t v, size_t nbytes)
{
	smlbuild_tl(b, 6, nbytes, 0);
	be(b, v, nbytes);
}

void smlbuild_int(struct smlbuild *b, int64_t v, size_t nbytes)
{
	smlbuild_tl(b, 5, nbytes, 0);
	be(b, (uint64_t)v, nbytes);
}

void smlbuild_bool(struct smlbuild *b, bool v)
{
	smlbuild_tl(b, 4, 1, 0);
	put(b, v ? 1 : 0);
}

void smlbuild_list(struct smlbuild *b, size_t n)
{
	smlbuild_tl(b, 7, n, 0);
}

void smlbuild_msg_begin(struct smlbuild *b, uint32_t transaction, unsigned tag)
{
	uint8_t tid[4] = { (uint8_t)(transaction >> 24), (uint8_t)(transaction >> 16), (uint8_t)(transaction >> 8),
		           (uint8_t)transaction };
	b->msg_start = b->len;
	smlbuild_list(b, 6);
	smlbuild_octets(b, tid, sizeof(tid));
	smlbuild_uint(b, 0, 1); /* groupNo */
	smlbuild_uint(b, 0, 1); /* abortOnError */
	smlbuild_list(b, 2);
	smlbuild_uint(b, tag, 2);
}

void smlbuild_msg_end(struct smlbuild *b, enum smlbuild_crc crc)
{
	const uint8_t *m = b->data + b->msg_start;
	size_t n = b->len - b->msg_start;
	uint16_t v;
	switch (crc) {
	case SMLBUILD_KERMIT:
		v = smlbuild_crc16_kermit(m, n);
		break;
	case SMLBUILD_BAD:
	case SMLBUILD_X25:
	default: {
		uint16_t x = smlbuild_crc16_x25(m, n);
		v = (uint16_t)(x << 8 | x >> 8); /* the low CRC byte goes first on the wire */
		if (crc == SMLBUILD_BAD)
			v ^= 0x0100;
		break;
	}
	}
	b->used_short = b->short_crc && v < 256;
	smlbuild_uint(b, v, b->used_short ? 1 : 2);
	put(b, 0x00);
}

void smlbuild_open(struct smlbuild *b, uint32_t transaction, const uint8_t *server_id, size_t n, enum smlbuild_crc crc)
{
	static const uint8_t file_id[] = { 0x00, 0x12, 0x34, 0x56 };
	smlbuild_msg_begin(b, transaction, 0x0101);
	smlbuild_list(b, 6);
	smlbuild_absent(b); /* codepage */
	smlbuild_absent(b); /* clientId */
	smlbuild_octets(b, file_id, sizeof(file_id));
	smlbuild_octets(b, server_id, n);
	smlbuild_absent(b); /* refTime */
	smlbuild_absent(b); /* smlVersion */
	smlbuild_msg_end(b, crc);
}

void smlbuild_close(struct smlbuild *b, uint32_t transaction, enum smlbuild_crc crc)
{
	smlbuild_msg_begin(b, transaction, 0x0201);
	smlbuild_list(b, 1);
	smlbuild_absent(b); /* globalSignature */
	smlbuild_msg_end(b, crc);
}

void smlbuild_getlist_begin(struct smlbuild *b, uint32_t transaction, const uint8_t *server_id, size_t n,
                            size_t entries)
{
	static const uint8_t list_name[] = { 0x01, 0x00, 0x62, 0x0A, 0xFF, 0xFF };
	smlbuild_msg_begin(b, transaction, 0x0701);
	smlbuild_list(b, 7);
	smlbuild_absent(b); /* clientId */
	smlbuild_octets(b, server_id, n);
	smlbuild_octets(b, list_name, sizeof(list_name));
	smlbuild_list(b, 2); /* actSensorTime: secIndex */
	smlbuild_uint(b, 1, 1);
	smlbuild_uint(b, 0x01234567, 4);
	smlbuild_list(b, entries);
}

void smlbuild_getlist_end(struct smlbuild *b, enum smlbuild_crc crc)
{
	smlbuild_absent(b); /* listSignature */
	smlbuild_absent(b); /* actGatewayTime */
	smlbuild_msg_end(b, crc);
}

static void entry_head(struct smlbuild *b, const uint8_t obis[6], uint8_t unit, int8_t scaler, bool number)
{
	smlbuild_list(b, 7);
	smlbuild_octets(b, obis, 6);
	smlbuild_absent(b); /* status */
	smlbuild_absent(b); /* valTime */
	if (number && unit)
		smlbuild_uint(b, unit, 1);
	else
		smlbuild_absent(b);
	if (number)
		smlbuild_int(b, scaler, 1);
	else
		smlbuild_absent(b);
}

void smlbuild_entry_int(struct smlbuild *b, const uint8_t obis[6], uint8_t unit, int8_t scaler, int64_t v,
                        size_t nbytes)
{
	entry_head(b, obis, unit, scaler, true);
	smlbuild_int(b, v, nbytes);
	smlbuild_absent(b);
}

void smlbuild_entry_uint(struct smlbuild *b, const uint8_t obis[6], uint8_t unit, int8_t scaler, uint64_t v,
                         size_t nbytes)
{
	entry_head(b, obis, unit, scaler, true);
	smlbuild_uint(b, v, nbytes);
	smlbuild_absent(b);
}

void smlbuild_entry_octets(struct smlbuild *b, const uint8_t obis[6], const void *p, size_t n)
{
	entry_head(b, obis, 0, 0, false);
	smlbuild_octets(b, p, n);
	smlbuild_absent(b);
}

static bool out_put(uint8_t *out, size_t cap, size_t *o, const uint8_t *p, size_t n)
{
	if (*o + n > cap)
		return false;
	memcpy(out + *o, p, n);
	*o += n;
	return true;
}

size_t smlbuild_file(const struct smlbuild *b, uint8_t *out, size_t cap, enum smlbuild_crc crc)
{
	static const uint8_t start[8] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01 };
	static const uint8_t esc[4] = { 0x1B, 0x1B, 0x1B, 0x1B };
	size_t o = 0;
	if (b->overflow || !out_put(out, cap, &o, start, sizeof(start)))
		return 0;
	/* The data starts on a 4-byte boundary and every escape adds 8 bytes: data offset d is aligned in
	 * the file exactly when d is. */
	for (size_t d = 0; d < b->len; d += 4) {
		size_t n = b->len - d < 4 ? b->len - d : 4;
		if (n == 4 && memcmp(b->data + d, esc, 4) == 0 && !out_put(out, cap, &o, esc, 4))
			return 0;
		if (!out_put(out, cap, &o, b->data + d, n))
			return 0;
	}
	uint8_t pad = (uint8_t)((4 - b->len % 4) % 4);
	static const uint8_t zeros[3] = { 0, 0, 0 };
	if (!out_put(out, cap, &o, zeros, pad) || !out_put(out, cap, &o, esc, 4))
		return 0;
	uint8_t tail[2] = { 0x1A, pad };
	if (!out_put(out, cap, &o, tail, 2) || o + 2 > cap)
		return 0;
	uint16_t c;
	switch (crc) {
	case SMLBUILD_KERMIT:
		c = smlbuild_crc16_kermit(out, o);
		out[o++] = (uint8_t)(c >> 8);
		out[o++] = (uint8_t)c;
		break;
	case SMLBUILD_BAD:
	case SMLBUILD_X25:
	default:
		c = smlbuild_crc16_x25(out, o);
		if (crc == SMLBUILD_BAD)
			c ^= 0x0001;
		out[o++] = (uint8_t)c;
		out[o++] = (uint8_t)(c >> 8);
		break;
	}
	return o;
}

size_t smlbuild_sample(uint8_t *out, size_t cap, uint32_t transaction, uint64_t energy_dwh, int32_t power_dw)
{
	static const uint8_t server_id[10] = { 0x0A, 0x01, 'E', 'M', 'H', 0x00, 0x00, 0xA1, 0xBD, 0x34 };
	static const uint8_t maker[6] = { 1, 0, 96, 50, 1, 1 }, id[6] = { 1, 0, 96, 1, 0, 255 };
	static const uint8_t e0[6] = { 1, 0, 1, 8, 0, 255 }, e1[6] = { 1, 0, 1, 8, 1, 255 }, e2[6] = { 1, 0, 1, 8, 2, 255 };
	static const uint8_t p[6] = { 1, 0, 16, 7, 0, 255 }, key[6] = { 129, 129, 199, 130, 5, 255 };
	uint8_t pubkey[48];
	struct smlbuild b;

	for (size_t i = 0; i < sizeof(pubkey); i++)
		pubkey[i] = (uint8_t)(0x5A ^ (i * 37));
	smlbuild_init(&b);
	smlbuild_open(&b, transaction, server_id, sizeof(server_id), SMLBUILD_X25);
	smlbuild_getlist_begin(&b, transaction + 1, server_id, sizeof(server_id), 7);
	smlbuild_entry_octets(&b, maker, "EMH", 3);
	smlbuild_entry_octets(&b, id, server_id, sizeof(server_id));
	smlbuild_entry_uint(&b, e0, 30, -1, energy_dwh, 8);
	smlbuild_entry_uint(&b, e1, 30, -1, energy_dwh, 8);
	smlbuild_entry_uint(&b, e2, 30, -1, 0, 8);
	smlbuild_entry_int(&b, p, 27, -1, power_dw, 4);
	smlbuild_entry_octets(&b, key, pubkey, sizeof(pubkey));
	smlbuild_getlist_end(&b, SMLBUILD_X25);
	smlbuild_close(&b, transaction + 2, SMLBUILD_X25);
	return smlbuild_file(&b, out, cap, SMLBUILD_X25);
}
