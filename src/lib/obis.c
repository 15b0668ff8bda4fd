/* obis.c — PLACEHOLDER until the OBIS registry lands: knows no code. */
#include <stddef.h>

#include "smartmeter/obis.h"

const struct sm_obis_info *sm_obis_lookup(const uint8_t obis[6])
{
	(void)obis;
	return NULL;
}
