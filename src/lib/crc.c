/* crc.c — the three checksums of the consumer-port protocols (PROTOCOLS.md §1.3, §3.1, §3.5).
 * Bitwise loops are kept (no tables): telegrams are short and the code stays obviously right. */
#include "internal.h"

/* CRC-16/ARC, DSMR >= 4: reflected poly 0xA001, init 0, no xorout. check("123456789") = 0xBB3D */
uint16_t sm_crc16_arc(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

/* CRC-16/X.25, HDLC HCS/FCS: reflected poly 0x8408, init 0xFFFF, xorout 0xFFFF. check = 0x906E */
uint16_t sm_crc16_x25(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
	}
	return (uint16_t)~crc;
}

/* M-Bus: arithmetic sum modulo 256 */
uint8_t sm_sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}
