/* bench_dsmr5.h — the DSMR 5 telegram the benchmarks share (3-phase, gas sub-meter, power-failure log),
 * so that their figures describe the same input. Benchmarks only. */
#ifndef SM_BENCH_DSMR5_H
#define SM_BENCH_DSMR5_H

#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char BENCH_DSMR5_BODY[] =
	"/ISk5\\2MT382-1000\r\n\r\n"
	"1-3:0.2.8(50)\r\n0-0:1.0.0(170102192002W)\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n"
	"1-0:1.8.1(000004.426*kWh)\r\n1-0:1.8.2(000002.399*kWh)\r\n1-0:2.8.1(000002.444*kWh)\r\n"
	"1-0:2.8.2(000000.000*kWh)\r\n0-0:96.14.0(0002)\r\n1-0:1.7.0(00.244*kW)\r\n1-0:2.7.0(00.000*kW)\r\n"
	"0-0:96.7.21(00013)\r\n0-0:96.7.9(00000)\r\n1-0:99.97.0(1)(0-0:96.7.19)(101208152415W)(0000000240*s)\r\n"
	"1-0:32.32.0(00000)\r\n1-0:52.32.0(00000)\r\n1-0:72.32.0(00000)\r\n1-0:32.36.0(00000)\r\n"
	"1-0:52.36.0(00000)\r\n1-0:72.36.0(00000)\r\n0-0:96.13.0()\r\n1-0:32.7.0(0230.0*V)\r\n"
	"1-0:52.7.0(0230.0*V)\r\n1-0:72.7.0(0229.0*V)\r\n1-0:31.7.0(0.48*A)\r\n1-0:51.7.0(0.44*A)\r\n"
	"1-0:71.7.0(0.86*A)\r\n1-0:21.7.0(00.070*kW)\r\n1-0:41.7.0(00.032*kW)\r\n1-0:61.7.0(00.142*kW)\r\n"
	"1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n"
	"0-1:96.1.0(3232323241424344313233343536373839)\r\n0-1:24.2.1(170102161005W)(00000.107*m3)\r\n"
	"0-2:24.1.0(003)\r\n0-2:96.1.0()\r\n!";

/* BODY plus its CRC line into out (>= 1024 bytes); returns the length. */
static inline size_t bench_dsmr5(char *out, size_t sz)
{
	size_t n = strlen(BENCH_DSMR5_BODY);
	memcpy(out, BENCH_DSMR5_BODY, n);
	n += (size_t)snprintf(out + n, sz - n, "%04X\r\n",
	                      sm_crc16_arc((const uint8_t *)BENCH_DSMR5_BODY, strlen(BENCH_DSMR5_BODY)));
	return n;
}

#endif
