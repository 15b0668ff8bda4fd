/* dlmsbuild.c — builders of DLMS link-layer test frames (see dlmsbuild.h). Test code only; written from
 * PROTOCOLS.md, not from the library, so that a bug in one is not mirrored in the other. */
#include <string.h>

#include "dlmsbuild.h"

const struct dlmsbuild_hdlc dlmsbuild_hdlc_aidon = {{0x41}, 1, {0x08, 0x83}, 2, 0x13, false, false};
const struct dlmsbuild_hdlc dlmsbuild_hdlc_iskra = {{0xCF}, 1, {0x02, 0x23}, 2, 0x13, false, false};
const struct dlmsbuild_hdlc dlmsbuild_hdlc_lg = {{0xCE, 0xFF}, 2, {0x03}, 1, 0x13, false, false};
const uint8_t dlmsbuild_llc[3] = {0xE6, 0xE7, 0x00};

uint16_t dlmsbuild_crc16_x25(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;
	while (n--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
	}
	return (uint16_t)(crc ^ 0xFFFF);
}

size_t dlmsbuild_hdlc_frame(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, bool segmented,
                            const uint8_t *info, size_t n)
{
	size_t hdr = 2 + h->dst_len + h->src_len + 1;
	size_t flen = hdr + (n ? 2 + n : 0) + 2;
	size_t total = flen + !h->no_open_flag + !h->no_close_flag;
	if (flen > 0x7FF || total > cap)
		return 0;
	size_t i = 0;
	if (!h->no_open_flag)
		out[i++] = 0x7E;
	size_t start = i;
	out[i++] = (uint8_t)(0xA0 | (segmented ? 0x08 : 0) | (flen >> 8));
	out[i++] = (uint8_t)flen;
	memcpy(out + i, h->dst, h->dst_len);
	i += h->dst_len;
	memcpy(out + i, h->src, h->src_len);
	i += h->src_len;
	out[i++] = h->control;
	if (n) {
		uint16_t hcs = dlmsbuild_crc16_x25(out + start, i - start);
		out[i++] = (uint8_t)hcs;
		out[i++] = (uint8_t)(hcs >> 8);
		memcpy(out + i, info, n);
		i += n;
	}
	uint16_t fcs = dlmsbuild_crc16_x25(out + start, i - start);
	out[i++] = (uint8_t)fcs;
	out[i++] = (uint8_t)(fcs >> 8);
	if (!h->no_close_flag)
		out[i++] = 0x7E;
	return i;
}

size_t dlmsbuild_hdlc_segmented(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, bool llc, const uint8_t *apdu,
                                size_t n, size_t seg_info, size_t *ret_frames)
{
	uint8_t info[2048];
	size_t total = 0, frames = 0, pos = 0;
	if (seg_info == 0 || seg_info > sizeof(info))
		return 0;
	do {
		size_t k = 0;
		if (frames == 0 && llc) {
			memcpy(info, dlmsbuild_llc, 3);
			k = 3;
		}
		size_t take = n - pos < seg_info - k ? n - pos : seg_info - k;
		memcpy(info + k, apdu + pos, take);
		pos += take;
		bool last = pos == n;
		struct dlmsbuild_hdlc hh = *h;
		if (!last)
			hh.control = (uint8_t)(h->control & ~0x10);
		size_t w = dlmsbuild_hdlc_frame(out + total, cap - total, &hh, !last, info, k + take);
		if (!w)
			return 0;
		total += w;
		frames++;
	} while (pos < n);
	if (ret_frames)
		*ret_frames = frames;
	return total;
}

size_t dlmsbuild_length(uint8_t *out, size_t v)
{
	if (v < 0x80) {
		out[0] = (uint8_t)v;
		return 1;
	}
	if (v <= 0xFF) {
		out[0] = 0x81;
		out[1] = (uint8_t)v;
		return 2;
	}
	if (v <= 0xFFFF) {
		out[0] = 0x82;
		out[1] = (uint8_t)(v >> 8);
		out[2] = (uint8_t)v;
		return 3;
	}
	out[0] = 0x84;
	for (int i = 0; i < 4; i++)
		out[1 + i] = (uint8_t)(v >> (24 - 8 * i));
	return 5;
}

size_t dlmsbuild_gbt_block(uint8_t *out, size_t cap, unsigned number, bool last, const uint8_t *data, size_t n)
{
	uint8_t len[5];
	size_t ll = dlmsbuild_length(len, n);
	if (6 + ll + n > cap)
		return 0;
	out[0] = 0xE0;
	out[1] = last ? 0xC0 : 0x40;
	out[2] = (uint8_t)(number >> 8);
	out[3] = (uint8_t)number;
	out[4] = 0;
	out[5] = 0;
	memcpy(out + 6, len, ll);
	memcpy(out + 6 + ll, data, n);
	return 6 + ll + n;
}

size_t dlmsbuild_hdlc_gbt(uint8_t *out, size_t cap, const struct dlmsbuild_hdlc *h, const uint8_t *apdu, size_t n,
                          size_t block_data, size_t *ret_frames)
{
	uint8_t info[2048];
	size_t total = 0, pos = 0;
	unsigned number = 0;
	if (block_data == 0 || block_data + 16 > sizeof(info))
		return 0;
	do {
		size_t k = 0;
		if (number == 0) {
			memcpy(info, dlmsbuild_llc, 3);
			k = 3;
		}
		size_t take = n - pos < block_data ? n - pos : block_data;
		number++;
		k += dlmsbuild_gbt_block(info + k, sizeof(info) - k, number, pos + take == n, apdu + pos, take);
		pos += take;
		size_t w = dlmsbuild_hdlc_frame(out + total, cap - total, h, false, info, k);
		if (!w)
			return 0;
		total += w;
	} while (pos < n);
	if (ret_frames)
		*ret_frames = number;
	return total;
}

size_t dlmsbuild_mbus_frame(uint8_t *out, size_t cap, uint8_t ci, bool tsap, const uint8_t *data, size_t n)
{
	size_t l = 3 + (tsap ? 2 : 0) + n;
	if (l + 6 > cap)
		return 0;
	size_t i = 0;
	out[i++] = 0x68;
	out[i++] = (uint8_t)l;
	out[i++] = (uint8_t)l;
	out[i++] = 0x68;
	out[i++] = 0x53;
	out[i++] = 0xFF;
	out[i++] = ci;
	if (tsap) {
		out[i++] = 0x01;
		out[i++] = 0x67;
	}
	memcpy(out + i, data, n);
	i += n;
	uint8_t sum = 0;
	for (size_t k = 4; k < i; k++)
		sum = (uint8_t)(sum + out[k]);
	out[i++] = sum;
	out[i++] = 0x16;
	return i;
}

size_t dlmsbuild_mbus_segmented(uint8_t *out, size_t cap, bool tsap, const uint8_t *apdu, size_t n, size_t seg_data,
                                size_t *ret_frames)
{
	size_t total = 0, pos = 0, frames = 0;
	if (seg_data == 0)
		return 0;
	do {
		size_t take = n - pos < seg_data ? n - pos : seg_data;
		bool last = pos + take == n;
		uint8_t ci = (uint8_t)((frames & 0x0F) | (last ? 0x10 : 0));
		size_t w = dlmsbuild_mbus_frame(out + total, cap - total, ci, tsap, apdu + pos, take);
		if (!w)
			return 0;
		total += w;
		pos += take;
		frames++;
	} while (pos < n);
	if (ret_frames)
		*ret_frames = frames;
	return total;
}

size_t dlmsbuild_notification(uint8_t *out, size_t cap, uint32_t invoke_id, const uint8_t *body, size_t n)
{
	if (6 + n > cap)
		return 0;
	out[0] = 0x0F;
	out[1] = (uint8_t)(invoke_id >> 24);
	out[2] = (uint8_t)(invoke_id >> 16);
	out[3] = (uint8_t)(invoke_id >> 8);
	out[4] = (uint8_t)invoke_id;
	out[5] = 0x00;
	memcpy(out + 6, body, n);
	return 6 + n;
}

size_t dlmsbuild_fake_cipher(uint8_t *out, size_t cap, uint8_t tag, const uint8_t st[8], uint8_t sc, uint32_t ic,
                             const uint8_t *payload, size_t n)
{
	uint8_t len[5];
	size_t ll = dlmsbuild_length(len, 5 + n);
	size_t total = 10 + ll + 5 + n;
	if (total > cap)
		return 0;
	out[0] = tag;
	out[1] = 8;
	memcpy(out + 2, st, 8);
	memcpy(out + 10, len, ll);
	size_t i = 10 + ll;
	out[i++] = sc;
	out[i++] = (uint8_t)(ic >> 24);
	out[i++] = (uint8_t)(ic >> 16);
	out[i++] = (uint8_t)(ic >> 8);
	out[i++] = (uint8_t)ic;
	memcpy(out + i, payload, n);
	return total;
}

size_t dlmsbuild_sample_notification(uint8_t *out, size_t cap, uint32_t invoke_id, size_t payload)
{
	static const uint8_t traps[] = {0x7E, 0x7E, 0xA0, 0x20, 0x68, 0x05, 0x05, 0x68, 0xE6, 0xE7, 0x00, 0x0F, 0x7E};
	uint8_t body[4096];
	size_t k = 0;
	if (payload + 5 > sizeof(body))
		return 0;
	body[k++] = 0x09; /* octet-string */
	k += dlmsbuild_length(body + k, payload);
	for (size_t i = 0; i < payload; i++)
		body[k + i] = (i % 32 < sizeof(traps)) ? traps[i % 32] : (uint8_t)(i * 37 + invoke_id);
	k += payload;
	return dlmsbuild_notification(out, cap, invoke_id, body, k);
}
