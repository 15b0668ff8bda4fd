/* cipher.c — PLACEHOLDER until the libgcrypt layer lands: knows no keys. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct sm_cipher {
	int unused;
};

enum sm_err sm_cipher_new(struct sm_cipher **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? SM_OK : SM_E_NOMEM;
}

void sm_cipher_free(struct sm_cipher *c)
{
	free(c);
}

enum sm_err sm_cipher_set_keys(struct sm_cipher *c, const uint8_t *ek, const uint8_t *ak)
{
	(void)c; (void)ek; (void)ak;
	return SM_OK;
}

enum sm_err sm_cipher_unwrap(struct sm_cipher *c, const uint8_t *apdu, size_t len, uint8_t *out, size_t outsz,
                             size_t *ret_len, struct sm_secinfo *sec, char *detail, size_t detailsz)
{
	(void)c; (void)apdu; (void)len; (void)out; (void)outsz; (void)ret_len; (void)sec;
	snprintf(detail, detailsz, "decryption not available");
	return SM_E_UNSUPPORTED;
}
