/* fuzz_keys.h — the keys every fuzz harness configures, the same as the seed generator encrypts its
 * frames with (tests/fuzz/make_seeds.c checks they equal tests/unit/helpers/streambuild.c's), so that
 * mutations of committed seeds reach the paths behind decryption and tag checks. */
#ifndef SM_FUZZ_KEYS_H
#define SM_FUZZ_KEYS_H

static const unsigned char fuzz_key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                           0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
static const unsigned char fuzz_auth_key[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                                0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};

#endif
