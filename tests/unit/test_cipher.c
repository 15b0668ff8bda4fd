/* test_cipher.c — general-glo-/general-ded-ciphering unwrap (src/lib/cipher.c) against PROTOCOLS.md §4.3 / §2.3.
 * Vectors are the published Green Book example, a rebuild of the §2.3 Luxembourg-style header, and APDUs that
 * tests/unit/helpers/gcmbuild.c encrypts with libgcrypt for every security-control mode and length form.
 * Must never print key material, even on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gcmbuild.h"
#include "internal.h"

#define BUFSZ 4096

static const uint8_t KEY_A[16] = {0x39, 0x43, 0x6F, 0x51, 0x37, 0x77, 0x35, 0x4C,
                                  0x4D, 0x46, 0x6F, 0x4C, 0x53, 0x33, 0x67, 0x4A};
static const uint8_t KEY_B[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                  0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
static const uint8_t AK_A[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
static const uint8_t AK_B[16] = {0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB,
                                 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB};
static const uint8_t TITLE_KFM[8] = {0x4B, 0x46, 0x4D, 0x10, 0x20, 0x02, 0x98, 0x02};

struct unwrapped {
	enum sm_err err;
	uint8_t out[BUFSZ];
	size_t len;
	struct sm_secinfo sec;
	char detail[256];
};

static void unwrap(struct sm_cipher *c, const uint8_t *apdu, size_t n, struct unwrapped *u)
{
	memset(u, 0, sizeof(*u));
	u->err = sm_cipher_unwrap(c, apdu, n, u->out, sizeof(u->out), &u->len, &u->sec, u->detail, sizeof(u->detail));
}

static struct sm_cipher *new_cipher(const uint8_t *ek, const uint8_t *ak)
{
	struct sm_cipher *c = NULL;
	assert_int_equal(sm_cipher_new(&c), SM_OK);
	assert_non_null(c);
	assert_int_equal(sm_cipher_set_keys(c, ek, ak), SM_OK);
	return c;
}

/* A detail text must never contain a key, in either hex case. */
static void assert_no_key_in(const char *detail)
{
	const uint8_t *keys[] = {KEY_A, KEY_B, AK_A, AK_B};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char up[33], lo[33];
		for (size_t i = 0; i < 16; i++) {
			snprintf(up + 2 * i, 3, "%02X", keys[k][i]);
			snprintf(lo + 2 * i, 3, "%02x", keys[k][i]);
		}
		/* 8 bytes of a key is already too much to show. */
		up[16] = lo[16] = '\0';
		assert_null(strstr(detail, up));
		assert_null(strstr(detail, lo));
	}
}

/* A data-notification (PROTOCOLS.md §4.2): 0F, invoke id, date-time 2021-09-27 20:56:00, body of n uint32. */
static size_t notification(uint8_t *p, size_t items)
{
	static const uint8_t head[] = {0x0F, 0x00, 0x00, 0x18, 0xCF, 0x0C, 0x07, 0xE5, 0x09,
	                               0x1B, 0x01, 0x14, 0x38, 0x00, 0x00, 0xFF, 0x88, 0x80};
	size_t n = 0;
	memcpy(p, head, sizeof(head));
	n += sizeof(head);
	p[n++] = 0x02; /* structure */
	p[n++] = (uint8_t)items;
	for (size_t i = 0; i < items; i++) {
		p[n++] = 0x06;
		p[n++] = 0;
		p[n++] = 0;
		p[n++] = (uint8_t)(i >> 8);
		p[n++] = (uint8_t)i;
	}
	return n;
}

static size_t build(uint8_t tag, const uint8_t *title, uint8_t sc, uint32_t ic, const uint8_t *ek, const uint8_t *ak,
                    enum gcm_lenform lf, const uint8_t *p, size_t n, uint8_t *out)
{
	struct gcm_params prm = {.tag = tag, .sc = sc, .ic = ic, .ek = ek, .ak = ak, .lenform = lf};
	memcpy(prm.system_title, title, 8);
	size_t len = gcm_build(&prm, p, n, out, BUFSZ);
	assert_true(len > 0);
	return len;
}

/* ---- published vectors ---- */

static void test_green_book_vector(void **state)
{
	(void)state;
	/* PROTOCOLS.md §4.3: EK 00..0F, AK D0..DF, ST 4D4D4D0000BC614E, IC 01234567, SC 30. */
	uint8_t ek[16], pt[13], expect_ct[25], apdu[64];
	for (size_t i = 0; i < 16; i++)
		ek[i] = (uint8_t)i;
	assert_int_equal(gcm_hex("C0010000080000010000FF0200", pt, sizeof(pt)), 13);
	assert_int_equal(gcm_hex("411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B", expect_ct, sizeof(expect_ct)),
	                 25);
	size_t n = gcm_hex("DB 08 4D4D4D0000BC614E 1E 30 01234567", apdu, sizeof(apdu));
	assert_int_equal(n, 16);
	memcpy(apdu + n, expect_ct, sizeof(expect_ct));
	n += sizeof(expect_ct);

	/* The test-side encryptor reproduces the published bytes exactly ... */
	static const uint8_t title[8] = {0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E};
	uint8_t built[BUFSZ];
	size_t bn = build(0xDB, title, 0x30, 0x01234567, ek, AK_A, GCM_LEN_SHORTEST, pt, sizeof(pt), built);
	assert_int_equal(bn, n);
	assert_memory_equal(built, apdu, n);

	/* ... and the library decrypts and authenticates them. */
	struct sm_cipher *c = new_cipher(ek, AK_A);
	struct unwrapped u;
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_int_equal(u.len, sizeof(pt));
	assert_memory_equal(u.out, pt, sizeof(pt));
	assert_true(u.sec.encrypted);
	assert_true(u.sec.authenticated);
	assert_false(u.sec.counter_backwards);
	assert_int_equal(u.sec.security_control, 0x30);
	assert_int_equal(u.sec.invocation_counter, 0x01234567);
	assert_memory_equal(u.sec.system_title, title, 8);

	/* One flipped tag bit must fail authentication. */
	apdu[n - 1] ^= 0x01;
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	assert_no_key_in(u.detail);
	sm_cipher_free(c);
}

/* §2.3: rebuild a Luxembourg-style frame (key AA.., fixed AK 0011..FF, ST "SYSTEMID", IC 10000001) with a
 * 481-byte DSMR telegram that starts like dsmr_parser's; header and first keystream bytes must match. */
static size_t lux_telegram(uint8_t *p, size_t want)
{
	static const char head[] = "/EST5\\253710000_A\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(221006155014S)\r\n";
	size_t n = strlen(head);
	memcpy(p, head, n);
	unsigned line = 0;
	while (n + 40 < want) {
		n += (size_t)snprintf((char *)p + n, 64, "1-0:1.8.%u(%06u.%03u*kWh)\r\n", line % 10, line * 7, line);
		line++;
	}
	while (n < want - 9)
		p[n++] = 'x';
	memcpy(p + n, "\r\n!ABCD\r\n", 9);
	return want;
}

static void test_luxembourg_rebuilt(void **state)
{
	(void)state;
	uint8_t ek[16], ak[16], pt[481], apdu[BUFSZ], expect_head[18], expect_ct[16];
	memset(ek, 0xAA, sizeof(ek));
	assert_int_equal(gcm_hex("00112233445566778899AABBCCDDEEFF", ak, sizeof(ak)), 16);
	assert_int_equal(
	    gcm_hex("DB 08 53 59 53 54 45 4D 49 44 82 01 F2 30 10 00 00 01", expect_head, sizeof(expect_head)), 18);
	assert_int_equal(gcm_hex("C2 0F 3E AD 08 54 8C 7F FC 90 A5 93 6B 7D 02 0A", expect_ct, sizeof(expect_ct)), 16);
	lux_telegram(pt, sizeof(pt));
	size_t n = build(0xDB, (const uint8_t *)"SYSTEMID", 0x30, 0x10000001, ek, ak, GCM_LEN_82, pt, sizeof(pt), apdu);
	assert_int_equal(n, 511);
	assert_memory_equal(apdu, expect_head, sizeof(expect_head));
	assert_memory_equal(apdu + 18, expect_ct, sizeof(expect_ct)); /* same first 16 plaintext bytes */

	struct sm_cipher *c = new_cipher(ek, ak);
	struct unwrapped u;
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_int_equal(u.len, sizeof(pt));
	assert_memory_equal(u.out, pt, sizeof(pt));
	assert_true(u.sec.authenticated);
	assert_int_equal(u.out[0], '/');
	sm_cipher_free(c);

	/* Without the (fixed) AK the telegram still decrypts, reported as not authenticated. */
	c = new_cipher(ek, NULL);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_memory_equal(u.out, pt, sizeof(pt));
	assert_false(u.sec.authenticated);
	assert_true(u.sec.encrypted);
	sm_cipher_free(c);

	/* A wrong AK (dsmr_parser's damaged/wrong-AAD case) fails the tag. */
	uint8_t bad_ak[16];
	memset(bad_ak, 0xBB, sizeof(bad_ak));
	c = new_cipher(ek, bad_ak);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	sm_cipher_free(c);
}

/* ---- every mode, tag and length form ---- */

static void test_modes_and_length_forms(void **state)
{
	(void)state;
	static const uint8_t scs[] = {0x10, 0x20, 0x21, 0x30, 0x31};
	static const uint8_t tags[] = {0xDB, 0xDC};
	static const enum gcm_lenform forms[] = {GCM_LEN_SHORTEST, GCM_LEN_81, GCM_LEN_82, GCM_LEN_84};
	static const size_t sizes[] = {2, 40, 60}; /* short form fits, 81 needed, 82 needed */
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	uint32_t ic = 1;

	for (size_t si = 0; si < sizeof(scs); si++)
		for (size_t ti = 0; ti < sizeof(tags); ti++)
			for (size_t fi = 0; fi < sizeof(forms) / sizeof(forms[0]); fi++)
				for (size_t zi = 0; zi < sizeof(sizes) / sizeof(sizes[0]); zi++) {
					size_t pn = notification(pt, sizes[zi]);
					if (forms[fi] == GCM_LEN_81 && pn + 17 > 0xFF)
						continue;
					size_t n = build(tags[ti], TITLE_KFM, scs[si], ic, KEY_A, AK_A, forms[fi], pt,
					                 pn, apdu);
					/* the length byte sits right after the title */
					if (forms[fi] == GCM_LEN_SHORTEST)
						assert_true(pn + 17 >= 0x80 ? (apdu[10] & 0x80) : !(apdu[10] & 0x80));
					struct sm_cipher *c = new_cipher(KEY_A, AK_A);
					struct unwrapped u;
					unwrap(c, apdu, n, &u);
					assert_int_equal(u.err, SM_OK);
					assert_int_equal(u.len, pn);
					assert_memory_equal(u.out, pt, pn);
					assert_true(u.sec.encrypted);
					assert_int_equal(u.sec.authenticated, (scs[si] & 0x10) != 0);
					assert_int_equal(u.sec.security_control, scs[si]);
					assert_int_equal(u.sec.invocation_counter, ic);
					assert_memory_equal(u.sec.system_title, TITLE_KFM, 8);
					sm_cipher_free(c);
					ic++;
				}
}

static void test_auth_only_is_clear_and_checked(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 4);
	size_t n = build(0xDB, TITLE_KFM, 0x10, 7, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu);
	/* SC 0x10: information is on the wire in clear */
	assert_memory_equal(apdu + 2 + 8 + 1 + 5, pt, pn);

	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;
	apdu[2 + 8 + 1 + 5 + 20] ^= 0x40; /* tamper with the clear information */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	apdu[2 + 8 + 1 + 5 + 20] ^= 0x40;
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_true(u.sec.authenticated);
	sm_cipher_free(c);

	/* Without keys the clear data is still usable, but not authenticated. */
	c = new_cipher(NULL, NULL);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_memory_equal(u.out, pt, pn);
	assert_false(u.sec.authenticated);
	sm_cipher_free(c);
}

/* ---- failures ---- */

static void test_wrong_key_without_tag_is_decrypt_error(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 20);
	static const uint8_t scs[] = {0x20, 0x21, 0x30};
	for (size_t i = 0; i < sizeof(scs); i++) {
		/* 0x30 with no AK configured: the tag cannot be checked, garbage detection must catch it */
		size_t n = build(0xDB, TITLE_KFM, scs[i], 100, KEY_B, AK_A, GCM_LEN_82, pt, pn, apdu);
		struct sm_cipher *c = new_cipher(KEY_A, NULL);
		struct unwrapped u;
		unwrap(c, apdu, n, &u);
		assert_int_equal(u.err, SM_E_DECRYPT);
		assert_non_null(strstr(u.detail, "decryption failed (wrong key?)"));
		assert_non_null(strstr(u.detail, "4B464D1020029802"));
		assert_no_key_in(u.detail);
		for (size_t k = 0; k < pn; k++)
			assert_int_equal(u.out[k], 0); /* garbage is not left in the output */
		/* A failed frame must not move the counter: a right-key frame with a lower counter is fresh. */
		n = build(0xDB, TITLE_KFM, scs[i], 50, KEY_A, AK_A, GCM_LEN_82, pt, pn, apdu);
		unwrap(c, apdu, n, &u);
		assert_int_equal(u.err, SM_OK);
		assert_false(u.sec.counter_backwards);
		assert_memory_equal(u.out, pt, pn);
		sm_cipher_free(c);
	}
}

static void test_wrong_keys_with_tag_are_auth_errors(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 20);
	size_t n = build(0xDC, TITLE_KFM, 0x30, 5, KEY_A, AK_A, GCM_LEN_81, pt, pn, apdu);
	struct unwrapped u;

	struct sm_cipher *c = new_cipher(KEY_A, AK_B); /* wrong AK */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	assert_non_null(strstr(u.detail, "GCM tag mismatch"));
	assert_no_key_in(u.detail);
	for (size_t i = 0; i < pn; i++)
		assert_int_equal(u.out[i], 0); /* nothing of the unauthenticated plaintext left behind */
	sm_cipher_free(c);

	c = new_cipher(KEY_B, AK_A); /* wrong EK */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	assert_no_key_in(u.detail);
	sm_cipher_free(c);

	c = new_cipher(KEY_A, AK_A);
	apdu[30] ^= 0x80; /* damaged ciphertext */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	sm_cipher_free(c);
}

static void test_truncated(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 30);
	size_t n = build(0xDB, TITLE_KFM, 0x30, 9, KEY_A, AK_A, GCM_LEN_82, pt, pn, apdu);
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;

	/* Every prefix is refused as truncated; copies into exact-size heap buffers let ASan see over-reads. */
	for (size_t k = 0; k < n; k++) {
		uint8_t *p = malloc(k ? k : 1);
		assert_non_null(p);
		memcpy(p, apdu, k);
		unwrap(c, p, k, &u);
		assert_int_equal(u.err, SM_E_TRUNCATED);
		free(p);
	}
	/* Tag cut short by a length field that leaves room for the counter only. */
	uint8_t small[BUFSZ];
	size_t sn = gcm_hex("DB 08 4B464D1020029802 0A 30 00000001 0102030405", small, sizeof(small));
	unwrap(c, small, sn, &u);
	assert_int_equal(u.err, SM_E_TRUNCATED);
	assert_non_null(strstr(u.detail, "tag"));
	/* Length shorter than SC + counter. */
	sn = gcm_hex("DB 08 4B464D1020029802 03 30 0000", small, sizeof(small));
	unwrap(c, small, sn, &u);
	assert_int_equal(u.err, SM_E_TRUNCATED);
	/* Trailing bytes after the declared length are not part of the APDU. */
	apdu[n] = 0x55;
	unwrap(c, apdu, n + 1, &u);
	assert_int_equal(u.err, SM_OK);
	assert_int_equal(u.len, pn);
	sm_cipher_free(c);
}

static void test_no_key(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 10);
	size_t n = build(0xDB, TITLE_KFM, 0x30, 2600, KEY_A, AK_A, GCM_LEN_82, pt, pn, apdu);
	struct sm_cipher *c = new_cipher(NULL, NULL);
	struct unwrapped u;
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_NO_KEY);
	assert_non_null(strstr(u.detail, "no key configured"));
	assert_non_null(strstr(u.detail, "encryption key (GUEK)"));
	assert_non_null(strstr(u.detail, "security control 0x30"));
	assert_non_null(strstr(u.detail, "4B464D1020029802 \"KFM\""));
	/* header facts are reported even though nothing decrypted */
	assert_int_equal(u.sec.security_control, 0x30);
	assert_int_equal(u.sec.invocation_counter, 2600);
	assert_memory_equal(u.sec.system_title, TITLE_KFM, 8);

	/* An AK alone does not decrypt. */
	assert_int_equal(sm_cipher_set_keys(c, NULL, AK_A), SM_OK);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_NO_KEY);
	assert_no_key_in(u.detail);

	/* Removing a key really removes it. */
	assert_int_equal(sm_cipher_set_keys(c, KEY_A, AK_A), SM_OK);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_int_equal(sm_cipher_set_keys(c, NULL, NULL), SM_OK);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_NO_KEY);
	sm_cipher_free(c);
}

static void test_unsupported_security_controls(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 3);
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;

	size_t n = build(0xDB, TITLE_KFM, 0xB0, 1, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu); /* compression */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_UNSUPPORTED);
	assert_non_null(strstr(u.detail, "compress"));

	n = build(0xDB, TITLE_KFM, 0x32, 1, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu); /* suite 2 */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_UNSUPPORTED);
	assert_non_null(strstr(u.detail, "suite 2"));
	assert_non_null(strstr(u.detail, "32-byte key"));

	n = build(0xDB, TITLE_KFM, 0x00, 1, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu); /* neither A nor E */
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_E_UNSUPPORTED);

	/* Broadcast key set: decrypted with the configured key, the SC is reported as is. */
	n = build(0xDB, TITLE_KFM, 0x70, 2, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu);
	unwrap(c, apdu, n, &u);
	assert_int_equal(u.err, SM_OK);
	assert_int_equal(u.sec.security_control, 0x70);
	/* and a broadcast frame that fails says which key set it used */
	struct sm_cipher *c2 = new_cipher(KEY_B, AK_A);
	unwrap(c2, apdu, n, &u);
	assert_int_equal(u.err, SM_E_AUTH);
	assert_non_null(strstr(u.detail, "broadcast"));
	sm_cipher_free(c2);

	/* Elgama-style empty system title (PROTOCOLS.md §2.5): unsupported, said plainly. */
	uint8_t eg[64];
	size_t en = gcm_hex("DB 00 82 00 1C 30 00000000 00112233445566778899AABBCCDDEEFF 0102030405060708090A0B0C", eg,
	                    sizeof(eg));
	unwrap(c, eg, en, &u);
	assert_int_equal(u.err, SM_E_UNSUPPORTED);
	assert_non_null(strstr(u.detail, "empty system title"));

	/* Indefinite / over-long length forms. */
	en = gcm_hex("DB 08 4B464D1020029802 80 30 00000001", eg, sizeof(eg));
	unwrap(c, eg, en, &u);
	assert_int_equal(u.err, SM_E_SYNTAX);
	en = gcm_hex("DB 08 4B464D1020029802 85 0000000010 30 00000001", eg, sizeof(eg));
	unwrap(c, eg, en, &u);
	assert_int_equal(u.err, SM_E_SYNTAX);
	sm_cipher_free(c);
}

static void test_output_capacity(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ], small[16];
	size_t pn = notification(pt, 10);
	size_t n = build(0xDB, TITLE_KFM, 0x21, 1, KEY_A, NULL, GCM_LEN_SHORTEST, pt, pn, apdu);
	struct sm_cipher *c = new_cipher(KEY_A, NULL);
	struct sm_secinfo sec;
	size_t len = 0;
	char detail[128];
	assert_int_equal(sm_cipher_unwrap(c, apdu, n, small, sizeof(small), &len, &sec, detail, sizeof(detail)),
	                 SM_E_TOO_LONG);
	sm_cipher_free(c);
}

/* ---- invocation counters (policy at the top of cipher.c) ---- */

static enum sm_err send_ic(struct sm_cipher *c, const uint8_t *title, uint32_t ic, struct unwrapped *u)
{
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 2);
	size_t n = build(0xDB, title, 0x30, ic, KEY_A, AK_A, GCM_LEN_SHORTEST, pt, pn, apdu);
	unwrap(c, apdu, n, u);
	return u->err;
}

/* Default policy (publish_replayed false): backwards frames are refused with SM_E_REPLAY. */
static void test_counter_backwards_refused_by_default(void **state)
{
	(void)state;
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;
	assert_int_equal(send_ic(c, TITLE_KFM, 1000, &u), SM_OK);
	assert_false(u.sec.counter_backwards);
	assert_string_equal(u.detail, "");
	assert_int_equal(send_ic(c, TITLE_KFM, 1001, &u), SM_OK);
	assert_int_equal(send_ic(c, TITLE_KFM, 1001, &u), SM_E_REPLAY); /* exact repeat */
	assert_true(u.sec.counter_backwards);
	assert_int_equal(send_ic(c, TITLE_KFM, 500, &u), SM_E_REPLAY);
	assert_true(u.sec.counter_backwards);
	assert_non_null(strstr(u.detail, "500 after 1001"));
	assert_non_null(strstr(u.detail, "not published"));
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(u.out[i], 0); /* a refused frame leaves no plaintext */
	assert_int_equal(send_ic(c, TITLE_KFM, 1002, &u), SM_OK);
	assert_false(u.sec.counter_backwards);

	/* Another meter has its own counter. */
	static const uint8_t other[8] = {'K', 'A', 'M', 'E', 1, 2, 3, 4};
	assert_int_equal(send_ic(c, other, 3, &u), SM_OK);
	assert_false(u.sec.counter_backwards);

	/* The caller may choose to publish replays: returned and flagged, not refused. */
	sm_cipher_set_replay_policy(c, true);
	assert_int_equal(send_ic(c, TITLE_KFM, 10, &u), SM_OK);
	assert_true(u.sec.counter_backwards);
	assert_int_equal(u.out[0], 0x0F);
	sm_cipher_set_replay_policy(c, false);
	assert_int_equal(send_ic(c, TITLE_KFM, 5, &u), SM_E_REPLAY);
	sm_cipher_free(c);
}

static void test_counter_restart_after_key_change_is_accepted(void **state)
{
	(void)state;
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;
	assert_int_equal(send_ic(c, TITLE_KFM, 70000, &u), SM_OK);
	/* The meter restarted its counter: two frames refused, the third counting up is the new reference. */
	assert_int_equal(send_ic(c, TITLE_KFM, 0, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 1, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 2, &u), SM_OK);
	assert_false(u.sec.counter_backwards);
	assert_non_null(strstr(u.detail, "restarted"));
	assert_int_equal(send_ic(c, TITLE_KFM, 3, &u), SM_OK);
	assert_string_equal(u.detail, "");
	/* A lower sequence that does not count up does not move the reference. */
	assert_int_equal(send_ic(c, TITLE_KFM, 4, &u), SM_OK);
	assert_int_equal(send_ic(c, TITLE_KFM, 1, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 1, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 0, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 1, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 1, &u), SM_E_REPLAY);
	assert_int_equal(send_ic(c, TITLE_KFM, 5, &u), SM_OK);
	sm_cipher_free(c);
}

static void test_counter_table_and_key_change(void **state)
{
	(void)state;
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;
	uint8_t t[8] = {'L', 'G', 'Z', 0, 0, 0, 0, 0};
	/* Fill the table, then one more title evicts the least recently seen (title 0). */
	for (unsigned i = 0; i <= SM_MAX_SYSTEM_TITLES; i++) {
		t[7] = (uint8_t)i;
		assert_int_equal(send_ic(c, t, 100, &u), SM_OK);
	}
	t[7] = 1;
	assert_int_equal(send_ic(c, t, 50, &u), SM_E_REPLAY); /* still remembered */
	t[7] = 0;
	assert_int_equal(send_ic(c, t, 50, &u), SM_OK); /* forgotten: treated as new */
	assert_false(u.sec.counter_backwards);

	/* Re-setting the same keys keeps the counters; new keys start a new epoch. */
	assert_int_equal(sm_cipher_set_keys(c, KEY_A, AK_A), SM_OK);
	assert_int_equal(send_ic(c, t, 40, &u), SM_E_REPLAY);
	assert_int_equal(sm_cipher_set_keys(c, KEY_A, NULL), SM_OK);
	assert_int_equal(send_ic(c, t, 40, &u), SM_OK);
	assert_false(u.sec.counter_backwards);
	sm_cipher_free(c);
}

/* apdu.c hands a 160-byte detail buffer: the longest texts (largest numbers, DC, broadcast) must fit whole. */
static void test_details_fit_callers_buffer(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ];
	size_t pn = notification(pt, 3);
	static const uint8_t scs[] = {0x70, 0x60, 0x50};
	for (size_t i = 0; i < sizeof(scs); i++) {
		size_t n = build(0xDC, TITLE_KFM, scs[i], 0xFFFFFFFFu, KEY_A, AK_A, GCM_LEN_82, pt, pn, apdu);
		struct sm_cipher *c = new_cipher(NULL, NULL);
		struct unwrapped u;
		unwrap(c, apdu, n, &u); /* no key (0x70, 0x60); 0x50 = auth only: published */
		assert_true(strlen(u.detail) < 159);
		assert_int_equal(sm_cipher_set_keys(c, KEY_B, AK_A), SM_OK);
		unwrap(c, apdu, n, &u); /* auth / decrypt failure */
		assert_int_not_equal(u.err, SM_OK);
		assert_true(strlen(u.detail) < 159);
		assert_int_equal(sm_cipher_set_keys(c, KEY_A, AK_A), SM_OK);
		unwrap(c, apdu, n, &u);
		assert_int_equal(u.err, SM_OK);
		n = build(0xDC, TITLE_KFM, scs[i], 0xFFFFFFFEu, KEY_A, AK_A, GCM_LEN_82, pt, pn, apdu);
		unwrap(c, apdu, n, &u); /* backwards */
		assert_int_equal(u.err, SM_E_REPLAY);
		assert_true(strlen(u.detail) < 159);
		sm_cipher_free(c);
	}
}

static void test_elgama_headerless_body_recognised(void **state)
{
	(void)state;
	/* PROTOCOLS.md §2.5 / amsreader #1177: "00 82 02 06 30 00000000 ..." after "/EGM5G15" CR LF CR LF. */
	uint8_t b[16];
	size_t n = gcm_hex("00 82 02 06 30 00000000 39D548CC", b, sizeof(b));
	assert_int_equal(sm_cipher_headerless_len(b, n), 4 + 0x206);
	n = gcm_hex("00 81 40 30 00000000", b, sizeof(b));
	assert_int_equal(sm_cipher_headerless_len(b, n), 3 + 0x40);
	/* Not enough bytes yet, a DSMR text line, a compressed SC: not recognised. */
	assert_int_equal(sm_cipher_headerless_len(b, 2), 0);
	assert_int_equal(sm_cipher_headerless_len((const uint8_t *)"0-0:1.0.0(", 10), 0);
	n = gcm_hex("00 82 02 06 B0 00000000", b, sizeof(b));
	assert_int_equal(sm_cipher_headerless_len(b, n), 0);
}

static void test_not_a_ciphered_apdu(void **state)
{
	(void)state;
	struct sm_cipher *c = new_cipher(KEY_A, AK_A);
	struct unwrapped u;
	static const uint8_t plain[] = {0x0F, 0x00, 0x00, 0x00, 0x01, 0x00};
	unwrap(c, plain, sizeof(plain), &u);
	assert_int_equal(u.err, SM_E_INVAL);
	sm_cipher_free(c);
	sm_cipher_free(NULL);
}

/* ---- through the public API: framing layer → cipher → COSEM / DSMR ---- */

struct collected {
	unsigned telegrams;
	struct sm_telegram last;
	unsigned errors;
	enum sm_err first_err;
	char first_detail[256];
	bool key_leaked;
};

static void on_tg(void *ctx, const struct sm_telegram *t)
{
	struct collected *col = ctx;
	col->telegrams++;
	col->last = *t; /* only scalar fields are read after the callback */
}

static void on_ev(void *ctx, const struct sm_event *ev)
{
	struct collected *col = ctx;
	if (ev->level != SM_EVENT_ERROR)
		return;
	if (col->errors++ == 0) {
		col->first_err = ev->err;
		snprintf(col->first_detail, sizeof(col->first_detail), "%s", ev->detail);
	}
}

static size_t mbus_wrap(const uint8_t *apdu, size_t n, uint8_t *out)
{
	size_t k = 0, l = 5 + n; /* PROTOCOLS.md §3.5, single segment (CI 0x10) */
	assert_true(l <= 255);
	const uint8_t head[] = {0x68, (uint8_t)l, (uint8_t)l, 0x68, 0x53, 0xFF, 0x10, 0x01, 0x67};
	memcpy(out, head, sizeof(head));
	k = sizeof(head);
	memcpy(out + k, apdu, n);
	k += n;
	uint8_t sum = 0;
	for (size_t i = 4; i < k; i++)
		sum = (uint8_t)(sum + out[i]);
	out[k++] = sum;
	out[k++] = 0x16;
	return k;
}

static struct sm_decoder *decoder(const uint8_t *ek, const uint8_t *ak, struct collected *col)
{
	struct sm_decoder_config cfg = {0};
	if (ek) {
		cfg.has_key = true;
		memcpy(cfg.key, ek, 16);
	}
	if (ak) {
		cfg.has_auth_key = true;
		memcpy(cfg.auth_key, ak, 16);
	}
	memset(col, 0, sizeof(*col));
	enum sm_err err = SM_OK;
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_tg, on_ev, col, &err);
	assert_non_null(dec);
	return dec;
}

static void test_decoder_mbus_encrypted_push(void **state)
{
	(void)state;
	uint8_t pt[BUFSZ], apdu[BUFSZ], frame[BUFSZ];
	size_t pn = notification(pt, 6);
	size_t an = build(0xDB, TITLE_KFM, 0x30, 0x0A28, KEY_A, AK_A, GCM_LEN_81, pt, pn, apdu);
	size_t fn = mbus_wrap(apdu, an, frame);
	struct collected col;

	struct sm_decoder *dec = decoder(KEY_A, AK_A, &col);
	sm_decoder_feed(dec, frame, fn);
	sm_decoder_flush(dec);
	assert_int_equal(col.errors, 0);
	assert_int_equal(col.telegrams, 1);
	assert_true(col.last.encrypted);
	assert_true(col.last.authenticated);
	assert_int_equal(col.last.security_control, 0x30);
	assert_int_equal(col.last.invocation_counter, 0x0A28);
	assert_memory_equal(col.last.system_title, TITLE_KFM, 8);
	/* The same frame again is a replay: refused by default. */
	sm_decoder_feed(dec, frame, fn);
	sm_decoder_flush(dec);
	assert_int_equal(col.telegrams, 1);
	assert_int_equal(col.first_err, SM_E_REPLAY);
	sm_decoder_free(dec);

	/* Wrong authentication key: nothing published. */
	dec = decoder(KEY_A, AK_B, &col);
	sm_decoder_feed(dec, frame, fn);
	sm_decoder_flush(dec);
	assert_int_equal(col.telegrams, 0);
	assert_int_equal(col.first_err, SM_E_AUTH);
	assert_no_key_in(col.first_detail);
	struct sm_stats st;
	sm_decoder_stats(dec, &st);
	assert_int_equal(st.decrypt_errors, 1);
	sm_decoder_free(dec);

	/* Encryption key only: decrypted, not authenticated. */
	dec = decoder(KEY_A, NULL, &col);
	sm_decoder_feed(dec, frame, fn);
	sm_decoder_flush(dec);
	assert_int_equal(col.telegrams, 1);
	assert_false(col.last.authenticated);
	sm_decoder_free(dec);

	/* No key at all: says which key is missing. */
	dec = decoder(NULL, NULL, &col);
	sm_decoder_feed(dec, frame, fn);
	sm_decoder_flush(dec);
	assert_int_equal(col.telegrams, 0);
	assert_int_equal(col.first_err, SM_E_NO_KEY);
	assert_non_null(strstr(col.first_detail, "no key configured"));
	assert_non_null(strstr(col.first_detail, "GUEK"));
	sm_decoder_free(dec);
}

/* §2.1 shape: a whole DSMR telegram inside a bare general-glo-ciphering APDU on the P1 line. */
static void test_decoder_encrypted_dsmr(void **state)
{
	(void)state;
	uint8_t ek[16], ak[16], pt[BUFSZ], apdu[BUFSZ];
	memset(ek, 0xAA, sizeof(ek));
	assert_int_equal(gcm_hex("00112233445566778899AABBCCDDEEFF", ak, sizeof(ak)), 16);
	int n = snprintf((char *)pt, sizeof(pt),
	                 "/Lux5\\253833635_D\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(230101120000W)\r\n"
	                 "1-0:1.8.0(001234.567*kWh)\r\n1-0:1.7.0(01.234*kW)\r\n!");
	size_t pn = (size_t)n;
	pn += (size_t)snprintf((char *)pt + pn, 8, "%04X\r\n", sm_crc16_arc(pt, pn));
	size_t an = build(0xDB, (const uint8_t *)"SAG50000", 0x30, 77, ek, ak, GCM_LEN_82, pt, pn, apdu);
	struct collected col;
	struct sm_decoder *dec = decoder(ek, ak, &col);
	sm_decoder_feed(dec, apdu, an);
	sm_decoder_flush(dec);
	assert_int_equal(col.errors, 0);
	assert_int_equal(col.telegrams, 1);
	assert_int_equal(col.last.protocol, SM_PROTOCOL_DSMR);
	assert_true(col.last.encrypted);
	assert_true(col.last.authenticated);
	assert_int_equal(col.last.invocation_counter, 77);
	sm_decoder_free(dec);
}

int main(void)
{
	/* Let the library initialise libgcrypt first (the daemon's case: with its first key); gcm_init() then
	 * leaves it alone. */
	static const uint8_t k[16] = { 1 };
	struct sm_cipher *first = NULL;
	if (sm_cipher_new(&first) != SM_OK || sm_cipher_set_keys(first, k, NULL) != SM_OK)
		return 1;
	sm_cipher_free(first);
	gcm_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_green_book_vector),
	    cmocka_unit_test(test_luxembourg_rebuilt),
	    cmocka_unit_test(test_modes_and_length_forms),
	    cmocka_unit_test(test_auth_only_is_clear_and_checked),
	    cmocka_unit_test(test_wrong_key_without_tag_is_decrypt_error),
	    cmocka_unit_test(test_wrong_keys_with_tag_are_auth_errors),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_no_key),
	    cmocka_unit_test(test_unsupported_security_controls),
	    cmocka_unit_test(test_output_capacity),
	    cmocka_unit_test(test_counter_backwards_refused_by_default),
	    cmocka_unit_test(test_counter_restart_after_key_change_is_accepted),
	    cmocka_unit_test(test_counter_table_and_key_change),
	    cmocka_unit_test(test_details_fit_callers_buffer),
	    cmocka_unit_test(test_elgama_headerless_body_recognised),
	    cmocka_unit_test(test_not_a_ciphered_apdu),
	    cmocka_unit_test(test_decoder_mbus_encrypted_push),
	    cmocka_unit_test(test_decoder_encrypted_dsmr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
