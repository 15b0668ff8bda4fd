/* c1218.c — the ANSI C12.18 link layer and service payloads (packets, toggle/duplicates, reassembly,
 * requests, answers, the password bytes). Pure: buffers in, buffers out; never does I/O, never keeps a
 * secret beyond the caller's buffers, never builds a table write.
 *
 *   +----+----+------+-----+---------+-----------+---------+
 *   | EE | 00 | ctrl | seq | len (2) | data[len] | CRC (2) |   CRC-16/X-25 over EE..data, low byte first
 *   +----+----+------+-----+---------+-----------+---------+
 *   ctrl: 0x80 multi-packet, 0x40 first of them, 0x20 toggle; seq: packets still to come (N-1 .. 0) */
#include <string.h>

#include "internal.h"
#include "smartmeter/c1218.h"

const char *sm_c1218_code_name(uint8_t code)
{
	static const char *const names[] = { "ok", "err", "sns", "isc", "onp", "iar", "bsy", "dnr", "dlk", "rno", "isss" };
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

size_t sm_c1218_packet_build(uint8_t ctrl, uint8_t seq, const uint8_t *data, size_t len, uint8_t *out, size_t outsz)
{
	if (len > SM_C1218_MAX_DATA || outsz < len + SM_C1218_OVERHEAD || (len && !data))
		return 0;
	out[0] = SM_C1218_STP;
	out[1] = 0x00;
	out[2] = ctrl;
	out[3] = seq;
	out[4] = (uint8_t)(len >> 8);
	out[5] = (uint8_t)len;
	if (len)
		memcpy(out + SM_C1218_HEADER, data, len);
	uint16_t crc = sm_crc16_x25(out, SM_C1218_HEADER + len);
	out[SM_C1218_HEADER + len] = (uint8_t)crc;
	out[SM_C1218_HEADER + len + 1] = (uint8_t)(crc >> 8);
	return len + SM_C1218_OVERHEAD;
}

enum sm_c1218_scan sm_c1218_scan(const uint8_t *buf, size_t len, size_t max_data, struct sm_c1218_packet *ret)
{
	if (max_data > SM_C1218_MAX_DATA)
		max_data = SM_C1218_MAX_DATA;
	if (len == 0)
		return SM_C1218_SCAN_MORE;
	if (buf[0] != SM_C1218_STP)
		return SM_C1218_SCAN_NOT_START;
	/* The identity byte is reserved as 00 on the optical port; anything else is a false start. */
	if (len >= 2 && buf[1] != 0x00)
		return SM_C1218_SCAN_NOT_START;
	if (len < SM_C1218_HEADER)
		return SM_C1218_SCAN_MORE;
	size_t dlen = ((size_t)buf[4] << 8) | buf[5];
	if (dlen > max_data)
		return SM_C1218_SCAN_NOT_START;
	if (len < dlen + SM_C1218_OVERHEAD)
		return SM_C1218_SCAN_MORE;
	uint16_t got = (uint16_t)(buf[SM_C1218_HEADER + dlen] | (buf[SM_C1218_HEADER + dlen + 1] << 8));
	ret->ctrl = buf[2];
	ret->seq = buf[3];
	ret->data = buf + SM_C1218_HEADER;
	ret->len = dlen;
	ret->crc = got;
	ret->size = dlen + SM_C1218_OVERHEAD;
	return sm_crc16_x25(buf, SM_C1218_HEADER + dlen) == got ? SM_C1218_SCAN_PACKET : SM_C1218_SCAN_BAD_CRC;
}

void sm_c1218_rx_reset(struct sm_c1218_rx *rx)
{
	rx->len = 0;
	rx->in_progress = false;
	rx->next_seq = 0;
	rx->have_last = false;
	rx->last_toggle = 0;
	rx->last_crc = 0;
}

enum sm_c1218_rx_result sm_c1218_rx_add(struct sm_c1218_rx *rx, const struct sm_c1218_packet *p)
{
	uint8_t toggle = p->ctrl & SM_C1218_CTRL_TOGGLE;
	/* The sender kept the toggle bit: our ACK was lost and this is a resend of what we have (C12.18 §5.3.1,
	 * MeteringSDK ProtocolC1218 compares toggle and CRC). */
	if (rx->have_last && rx->last_toggle == toggle && rx->last_crc == p->crc)
		return SM_C1218_RX_DUPLICATE;
	rx->have_last = true;
	rx->last_toggle = toggle;
	rx->last_crc = p->crc;

	bool multi = (p->ctrl & SM_C1218_CTRL_MULTI) != 0, first = (p->ctrl & SM_C1218_CTRL_FIRST) != 0;
	if (!multi || first) {
		/* A new transmission: one still in progress was abandoned by the sender. */
		rx->len = 0;
		rx->in_progress = false;
	} else if (!rx->in_progress || p->seq != rx->next_seq) {
		rx->len = 0;
		rx->in_progress = false;
		return SM_C1218_RX_SEQUENCE;
	}
	if (rx->len + p->len > sizeof(rx->msg)) {
		rx->len = 0;
		rx->in_progress = false;
		return SM_C1218_RX_SEQUENCE;
	}
	memcpy(rx->msg + rx->len, p->data, p->len);
	rx->len += p->len;
	if (multi && p->seq > 0) {
		rx->in_progress = true;
		rx->next_seq = (uint8_t)(p->seq - 1);
		return SM_C1218_RX_PART;
	}
	rx->in_progress = false;
	return SM_C1218_RX_MESSAGE;
}

/* ---- requests ---- */

size_t sm_c1218_req_identify(uint8_t *out)
{
	out[0] = SM_C1218_SVC_IDENTIFY;
	return 1;
}

size_t sm_c1218_req_negotiate(uint8_t *out, uint16_t packet_size, uint8_t npackets, uint8_t baud_code)
{
	out[0] = SM_C1218_SVC_NEGOTIATE1;
	out[1] = (uint8_t)(packet_size >> 8);
	out[2] = (uint8_t)packet_size;
	out[3] = npackets;
	out[4] = baud_code;
	return 5;
}

size_t sm_c1218_req_logon(uint8_t *out, uint16_t user_id, const char *user)
{
	size_t n = user ? strnlen(user, SM_C1218_USER_LEN) : 0;
	out[0] = SM_C1218_SVC_LOGON;
	out[1] = (uint8_t)(user_id >> 8);
	out[2] = (uint8_t)user_id;
	memset(out + 3, ' ', SM_C1218_USER_LEN);
	if (n)
		memcpy(out + 3, user, n);
	return 3 + SM_C1218_USER_LEN;
}

size_t sm_c1218_req_security(uint8_t *out, const uint8_t password[SM_C1218_PASSWORD_LEN])
{
	out[0] = SM_C1218_SVC_SECURITY;
	memcpy(out + 1, password, SM_C1218_PASSWORD_LEN);
	return 1 + SM_C1218_PASSWORD_LEN;
}

size_t sm_c1218_req_read_full(uint8_t *out, uint16_t table)
{
	out[0] = SM_C1218_SVC_READ_FULL;
	out[1] = (uint8_t)(table >> 8);
	out[2] = (uint8_t)table;
	return 3;
}

size_t sm_c1218_req_read_partial(uint8_t *out, uint16_t table, uint32_t offset, uint16_t count)
{
	out[0] = SM_C1218_SVC_READ_PARTIAL;
	out[1] = (uint8_t)(table >> 8);
	out[2] = (uint8_t)table;
	out[3] = (uint8_t)(offset >> 16);
	out[4] = (uint8_t)(offset >> 8);
	out[5] = (uint8_t)offset;
	out[6] = (uint8_t)(count >> 8);
	out[7] = (uint8_t)count;
	return 8;
}

size_t sm_c1218_req_logoff(uint8_t *out)
{
	out[0] = SM_C1218_SVC_LOGOFF;
	return 1;
}

size_t sm_c1218_req_terminate(uint8_t *out)
{
	out[0] = SM_C1218_SVC_TERMINATE;
	return 1;
}

/* ---- answers ---- */

/*   00 | std | ver | rev | features ... 00 (end of list) */
enum sm_err sm_c1218_parse_identify(const uint8_t *msg, size_t len, struct sm_c1218_identity *ret)
{
	if (len < 4)
		return SM_E_TRUNCATED;
	if (msg[0] != SM_C1218_OK)
		return SM_E_SYNTAX;
	ret->standard = msg[1];
	ret->version = msg[2];
	ret->revision = msg[3];
	return SM_OK;
}

/*   00 | packet size (2) | number of packets (1) | [baud code] */
enum sm_err sm_c1218_parse_negotiate(const uint8_t *msg, size_t len, uint16_t *ret_packet_size, uint8_t *ret_npackets)
{
	if (len < 4)
		return SM_E_TRUNCATED;
	if (msg[0] != SM_C1218_OK)
		return SM_E_SYNTAX;
	*ret_packet_size = (uint16_t)((msg[1] << 8) | msg[2]);
	*ret_npackets = msg[3];
	return SM_OK;
}

uint8_t sm_c1218_table_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

/*   00 | count (2) | data[count] | checksum */
enum sm_err sm_c1218_parse_read(const uint8_t *msg, size_t len, const uint8_t **ret_data, size_t *ret_count)
{
	if (len < 4)
		return SM_E_TRUNCATED;
	if (msg[0] != SM_C1218_OK)
		return SM_E_SYNTAX;
	size_t count = ((size_t)msg[1] << 8) | msg[2];
	if (count + 4 > len)
		return SM_E_TRUNCATED;
	if (count + 4 < len)
		return SM_E_SYNTAX;
	if (sm_c1218_table_checksum(msg + 3, count) != msg[3 + count])
		return SM_E_CHECKSUM;
	*ret_data = msg + 3;
	*ret_count = count;
	return SM_OK;
}

enum sm_err sm_c1218_password(const char *text, enum sm_c1218_pw_format fmt, enum sm_c1218_pw_pad pad,
                              uint8_t ret[SM_C1218_PASSWORD_LEN], size_t *ret_given)
{
	uint8_t buf[SM_C1218_PASSWORD_LEN];
	size_t n = 0, tl = text ? strlen(text) : 0;

	memset(buf, pad == SM_C1218_PAD_SPACE ? ' ' : 0, sizeof(buf));
	switch (fmt) {
	case SM_C1218_PW_HEX:
		if (tl == 0 || tl % 2 || tl > 2 * SM_C1218_PASSWORD_LEN)
			return SM_E_INVAL;
		for (size_t i = 0; i < tl; i += 2) {
			int hi = sm_hex_digit((unsigned char)text[i]), lo = sm_hex_digit((unsigned char)text[i + 1]);
			if (hi < 0 || lo < 0) {
				memset(buf, 0, sizeof(buf));
				return SM_E_INVAL;
			}
			buf[n++] = (uint8_t)(hi << 4 | lo);
		}
		break;
	case SM_C1218_PW_ASCII:
		if (tl == 0 || tl > SM_C1218_PASSWORD_LEN)
			return SM_E_INVAL;
		memcpy(buf, text, tl);
		n = tl;
		break;
	}
	if (n == 0)
		return SM_E_INVAL; /* a format outside the enum */
	memcpy(ret, buf, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	if (ret_given)
		*ret_given = n;
	return SM_OK;
}
