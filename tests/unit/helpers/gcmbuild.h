/* gcmbuild.h — test-side builder of general-glo-/general-ded-ciphering APDUs (PROTOCOLS.md §4.3).
 * Encrypts with libgcrypt directly, independently of src/lib/cipher.c, so tests and benches get vectors
 * for every security-control mode and length form. Test code only: never linked into the library. */
#ifndef SM_TEST_GCMBUILD_H
#define SM_TEST_GCMBUILD_H

#include <stddef.h>
#include <stdint.h>

/* Length form of the A-XDR length after the system title. */
enum gcm_lenform {
	GCM_LEN_SHORTEST = 0, /* short form below 0x80, else 81 / 82 */
	GCM_LEN_81,
	GCM_LEN_82,
	GCM_LEN_84,
};

struct gcm_params {
	uint8_t tag; /* 0xDB or 0xDC */
	uint8_t system_title[8];
	uint8_t sc;        /* security control byte */
	uint32_t ic;       /* invocation counter */
	const uint8_t *ek; /* 16 bytes */
	const uint8_t *ak; /* 16 bytes; NULL = all zero (only when SC has no authentication bit) */
	enum gcm_lenform lenform;
};

/* Initialise libgcrypt the way the library does (only when nobody has). */
void gcm_init(void);

/* Builds the APDU for plaintext p (n bytes) into out (capacity outsz). Authentication only (SC bit 4 without 5)
 * puts p in clear with a tag over SC ‖ AK ‖ p; encryption only leaves out the tag. Returns the APDU length,
 * 0 when out is too small or libgcrypt fails. */
size_t gcm_build(const struct gcm_params *prm, const uint8_t *p, size_t n, uint8_t *out, size_t outsz);

/* Parses 2*n hex digits into out; returns n or 0 on a bad digit. Whitespace is skipped. */
size_t gcm_hex(const char *hex, uint8_t *out, size_t outsz);

#endif
