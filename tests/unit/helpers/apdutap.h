/* apdutap.h — test helper: records every complete APDU the DLMS link layers deliver (through the
 * sm_dlms_set_tap seam in src/lib/dlms.h), so tests can check reassembly byte for byte without
 * depending on the A-XDR/COSEM layer. Test code only. */
#ifndef SM_TEST_APDUTAP_H
#define SM_TEST_APDUTAP_H

#include <stddef.h>
#include <stdint.h>

#include "dlms.h"

#define APDUTAP_MAX 16u

struct apdutap_rec {
	uint8_t apdu[SM_DLMS_MAX_APDU];
	size_t len;
	struct sm_origin org;
};

struct apdutap {
	struct apdutap_rec rec[APDUTAP_MAX];
	size_t n; /* APDUs seen (records beyond APDUTAP_MAX are counted, not kept) */
};

/* Start recording into t (zeroed here) what dec delivers. */
void apdutap_attach(struct sm_decoder *dec, struct apdutap *t);

#endif
