/* cipher.c — unwraps general-glo-/general-ded-ciphering APDUs (AES-128-GCM, DLMS suites 0/1) with libgcrypt.
 * The only file of the project that includes <gcrypt.h>. It must never put key material anywhere but gcrypt
 * secure memory: no stack copies, nothing in detail texts, nothing in the decoder object.
 *
 * Wire layout (PROTOCOLS.md §4.3, §2.1):
 *
 *   DB|DC  08  system title (8)  length (BER: xx | 81 xx | 82 xx xx | 83 .. | 84 ..)
 *          SC  invocation counter (4, BE)  ciphertext or clear information  [GCM tag (12) when SC bit 4]
 *          \_____________________ length bytes _________________________________________/
 *
 *   SC bits 0-3 suite (0, 1 = AES-GCM-128; 2 = AES-GCM-256: unsupported), 4 authentication, 5 encryption,
 *   6 key set (0 unicast, 1 broadcast: reported only), 7 compression (unsupported).
 *   IV = system title ‖ invocation counter. AAD: SC ‖ AK (A+E), SC ‖ AK ‖ information (A only), none (E only).
 *
 * Keys: one gcrypt secure-memory block holds EK and the AAD prefix (SC ‖ AK); the AES handle is opened with
 * GCRY_CIPHER_SECURE so the key schedule lives there too. Both are wiped on replacement and on free.
 *
 * Authentication policy: with an AK the tag is checked and a mismatch is SM_E_AUTH (nothing is published).
 * Without an AK the tag of an SC 0x30 frame cannot be checked (the AAD contains the AK) but the ciphertext
 * still decrypts: the frame goes out with authenticated = false. Frames without a verified tag are checked
 * for plausible plaintext (a known APDU tag or a DSMR identification line), so a wrong key is reported as
 * SM_E_DECRYPT instead of publishing garbage. An SC 0x10 frame (authentication only) carries its data in
 * clear; it is published unauthenticated when EK and AK are not both configured.
 *
 * Replay policy (invocation counters, Green Book §9.2.7.2.4: strictly increasing per originator):
 *  - The last accepted counter is remembered per system title in a fixed table of SM_MAX_SYSTEM_TITLES
 *    entries (least recently seen entry replaced). Only frames that decrypted (and authenticated, when an
 *    AK is set) update it, so garbage or forged frames cannot move the counter.
 *  - A counter equal to or below the last accepted one is "backwards". The library reports it; whether such
 *    frames are published is the caller's configuration (sm_decoder_config.publish_replayed, default false),
 *    handed over with sm_cipher_set_replay_policy: when false unwrap refuses the frame with SM_E_REPLAY,
 *    when true it returns SM_OK with sec->counter_backwards set (published with a warning).
 *  - A meter whose key is changed restarts its counter near 0; refusing that forever would lock the meter
 *    out until the daemon restarts. So SM_CIPHER_RESYNC_FRAMES consecutive frames that each count up from a
 *    new lower value are taken as a restart: the earlier ones are backwards (refused by default), the last
 *    one becomes the new reference and is returned with SM_OK, unflagged, and a remark in detail. A replayer
 *    needs that many old frames in order to force this: acceptable on a local consumer port, and every
 *    refused frame before it has been reported.
 *  - Setting different keys clears the table (a new key means the meter's counter starts a new epoch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "cursor.h"
#include "internal.h"

/* Oldest libgcrypt with GCRY_CIPHER_MODE_GCM and gcry_cipher_checktag (1.6.0 added GCM). */
#define SM_GCRYPT_MIN_VERSION "1.6.0"
/* Secure-memory pool when we are the ones initialising libgcrypt: one AES-GCM context (~1-2 KiB with its
 * GHASH tables) and 48 key bytes per decoder, with room for a few decoders. libgcrypt may expand it. */
#define SM_SECMEM_POOL 32768u
#define SM_GCM_TAG_LEN 12u /* DLMS uses 96-bit tags (Green Book §9.2.7.2.4) */
#define SM_GCM_IV_LEN  12u /* system title (8) ‖ invocation counter (4) */
#define SM_TITLE_LEN   8u
/* SC (1) + invocation counter (4): the fixed part inside the length. */
#define SM_SEC_HEADER_LEN 5u
/* Frames that must count up from a new, lower invocation counter before it is taken as a restart. */
#define SM_CIPHER_RESYNC_FRAMES 3u

#define SC_SUITE(sc)  ((sc)&0x0Fu)
#define SC_AUTH       0x10u
#define SC_ENC        0x20u
#define SC_BROADCAST  0x40u
#define SC_COMPRESSED 0x80u

/* Secure-memory layout: EK, then the 17-byte AAD prefix SC ‖ AK (SC written per frame). */
struct sm_keys {
	uint8_t ek[SM_KEY_LEN];
	uint8_t aad[1 + SM_KEY_LEN];
};

struct sm_title_state {
	bool used;
	uint8_t title[SM_TITLE_LEN];
	uint32_t last; /* highest accepted invocation counter */
	uint64_t seen; /* LRU stamp */
	bool resync;   /* a lower counter sequence is being watched */
	uint32_t resync_last;
	unsigned resync_run;
};

struct sm_cipher {
	gcry_cipher_hd_t hd;
	struct sm_keys *keys; /* gcry_malloc_secure */
	bool has_ek;
	bool has_ak;
	bool publish_replayed; /* sm_cipher_set_replay_policy */
	uint64_t clock;
	struct sm_title_state titles[SM_MAX_SYSTEM_TITLES];
};

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

/* A library must not take over an application's libgcrypt setup: initialise only when nobody has. */
static bool gcrypt_init(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return gcry_check_version(SM_GCRYPT_MIN_VERSION) != NULL;
	if (!gcry_check_version(SM_GCRYPT_MIN_VERSION))
		return false;
	/* Without CAP_IPC_LOCK / enough RLIMIT_MEMLOCK the pool is not locked; libgcrypt would print a warning
	 * to stderr, which a library must not do. The memory is still separate and wiped on free. */
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, (int)SM_SECMEM_POOL, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return true;
}

enum sm_err sm_cipher_new(struct sm_cipher **ret)
{
	if (!ret)
		return SM_E_INVAL;
	struct sm_cipher *c = calloc(1, sizeof(*c));
	if (!c)
		return SM_E_NOMEM;
	*ret = c;
	return SM_OK;
}

/* libgcrypt is set up with the first key, not with the decoder: a meter without encryption never runs
 * it (its initialisation alone made ~600 kB of the library resident) nor gets a secure-memory pool. */
static enum sm_err ensure_gcrypt(struct sm_cipher *c)
{
	if (c->hd)
		return SM_OK;
	if (!gcrypt_init())
		return SM_E_CRYPTO;
	c->keys = gcry_calloc_secure(1, sizeof(*c->keys));
	if (!c->keys)
		return SM_E_NOMEM;
	if (gcry_cipher_open(&c->hd, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, GCRY_CIPHER_SECURE) != 0) {
		gcry_free(c->keys);
		c->keys = NULL;
		c->hd = NULL;
		return SM_E_CRYPTO;
	}
	return SM_OK;
}

void sm_cipher_free(struct sm_cipher *c)
{
	if (!c)
		return;
	if (c->hd)
		gcry_cipher_close(c->hd); /* libgcrypt wipes the context */
	if (c->keys) {
		wipe(c->keys, sizeof(*c->keys));
		gcry_free(c->keys);
	}
	wipe(c, sizeof(*c));
	free(c);
}

enum sm_err sm_cipher_set_keys(struct sm_cipher *c, const uint8_t *ek, const uint8_t *ak)
{
	if (!c)
		return SM_E_INVAL;
	if (!ek && !ak && !c->hd)
		return SM_OK; /* no key now, none before */
	enum sm_err err = ensure_gcrypt(c);
	if (err != SM_OK)
		return err;
	bool changed = (ek != NULL) != c->has_ek || (ak != NULL) != c->has_ak ||
	               (ek && memcmp(ek, c->keys->ek, SM_KEY_LEN) != 0) ||
	               (ak && memcmp(ak, c->keys->aad + 1, SM_KEY_LEN) != 0);
	wipe(c->keys, sizeof(*c->keys));
	c->has_ek = c->has_ak = false;
	if (ek)
		memcpy(c->keys->ek, ek, SM_KEY_LEN);
	/* Without a new EK the all-zero block overwrites the old key schedule inside the handle. */
	if (gcry_cipher_setkey(c->hd, c->keys->ek, SM_KEY_LEN) != 0) {
		wipe(c->keys, sizeof(*c->keys));
		return SM_E_CRYPTO;
	}
	c->has_ek = ek != NULL;
	if (ak) {
		memcpy(c->keys->aad + 1, ak, SM_KEY_LEN);
		c->has_ak = true;
	}
	if (changed)
		memset(c->titles, 0, sizeof(c->titles));
	return SM_OK;
}

void sm_cipher_set_replay_policy(struct sm_cipher *c, bool publish_replayed)
{
	if (c)
		c->publish_replayed = publish_replayed;
}

/* "4B464D1020029802 "KFM"": hex, plus the manufacturer's FLAG id when the title starts with one.
 * Formatted only for a message that names it: printf here cost more than decrypting a frame. */
#define TITLE_STRLEN 40
static const char *format_title(char *buf, size_t bufsz, const uint8_t *t)
{
	bool flag = true;
	for (size_t i = 0; i < 3; i++)
		flag = flag && t[i] >= 'A' && t[i] <= 'Z';
	snprintf(buf, bufsz, "%02X%02X%02X%02X%02X%02X%02X%02X%s%.3s%s", t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
	         flag ? " \"" : "", flag ? (const char *)t : "", flag ? "\"" : "");
	return buf;
}

static bool printable(uint8_t b)
{
	return b >= 0x20 && b < 0x7F;
}

/* Without a verified tag a wrong key still "decrypts": accept only plaintext that starts like something the
 * layers above understand. A random block passes with probability ~1e-4 (0F) or ~1e-9 ('/'). */
static bool plausible_plaintext(const uint8_t *p, size_t n)
{
	if (n == 0)
		return false;
	switch (p[0]) {
	case 0x0F: /* data-notification: invoke id (4), then a date-time form of §4.2 */
		if (n < 6)
			return false;
		return p[5] == 0x00 || p[5] == 0x0C || p[5] == 0x09 || p[5] == 0x19;
	case '/': /* DSMR identification line: "/XXX5..." (PROTOCOLS.md §1.2) */
		if (n < 6)
			return false;
		for (size_t i = 1; i < 6; i++)
			if (!printable(p[i]))
				return false;
		return true;
	case 0xC2: /* event-notification-request */
	case 0xE0: /* general-block-transfer inside ciphering */
		return true;
	default:
		return false;
	}
}

static struct sm_title_state *title_state(struct sm_cipher *c, const uint8_t *title)
{
	struct sm_title_state *victim = NULL;
	for (size_t i = 0; i < SM_MAX_SYSTEM_TITLES; i++) {
		struct sm_title_state *s = &c->titles[i];
		if (s->used && memcmp(s->title, title, SM_TITLE_LEN) == 0)
			return s;
	}
	/* A free slot, else the least recently seen meter. */
	for (size_t i = 0; i < SM_MAX_SYSTEM_TITLES; i++) {
		struct sm_title_state *s = &c->titles[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (!victim || s->seen < victim->seen)
			victim = s;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->title, title, SM_TITLE_LEN);
	return victim;
}

/* Applies the replay policy (top of file) to a frame that decrypted correctly. */
static enum sm_err check_counter(struct sm_cipher *c, struct sm_secinfo *sec, const uint8_t *st, char *detail,
                                 size_t detailsz)
{
	char title[TITLE_STRLEN];
	struct sm_title_state *s = title_state(c, sec->system_title);
	uint32_t ic = sec->invocation_counter;
	s->seen = ++c->clock;
	if (!s->used || ic > s->last) {
		s->used = true;
		s->last = ic;
		s->resync = false;
		return SM_OK;
	}
	uint32_t last = s->last;
	if (s->resync && ic > s->resync_last) {
		s->resync_run++;
	} else {
		s->resync = true;
		s->resync_run = 1;
	}
	s->resync_last = ic;
	if (s->resync_run >= SM_CIPHER_RESYNC_FRAMES) {
		s->last = ic;
		s->resync = false;
		snprintf(detail, detailsz,
		         "invocation counter of system title %s restarted (%u after %u): accepted as a meter reset "
		         "after %u frames counting up",
		         format_title(title, sizeof(title), st), (unsigned)ic, (unsigned)last, SM_CIPHER_RESYNC_FRAMES);
		return SM_OK;
	}
	sec->counter_backwards = true;
	snprintf(detail, detailsz, "invocation counter went backwards: %u after %u (system title %s)%s", (unsigned)ic,
	         (unsigned)last, format_title(title, sizeof(title), st),
	         c->publish_replayed ? "" : ", not published (possible replay)");
	return c->publish_replayed ? SM_OK : SM_E_REPLAY;
}

static const char *key_set_note(uint8_t tag, uint8_t sc)
{
	if (sc & SC_BROADCAST)
		return tag == 0xDC ? "; dedicated-key APDU, broadcast key set" : "; broadcast key set";
	return tag == 0xDC ? "; dedicated-key APDU" : "";
}

/* Polish Elgama encrypted P1 (PROTOCOLS.md §2.5): after the clear "/EGM5..." line and a blank line comes
 *   00 (system-title length 0) | BER length | SC | invocation counter (4) | ciphertext | tag
 * without the DB tag. Recognised only so the DSMR layer can drop the whole burst with a clear message;
 * the IV is unknown publicly, so no decryption is attempted. */
size_t sm_cipher_headerless_len(const uint8_t *p, size_t len)
{
	struct sm_cursor cur = sm_cursor_init(p, len);
	if (sm_cursor_u8(&cur) != 0x00)
		return 0;
	uint8_t lb = sm_cursor_u8(&cur);
	uint32_t body_len = lb;
	if (lb == 0x81)
		body_len = sm_cursor_u8(&cur);
	else if (lb == 0x82)
		body_len = sm_cursor_be16(&cur);
	else if (lb & 0x80)
		return 0;
	uint8_t sc = sm_cursor_u8(&cur);
	if (cur.bad || body_len < SM_SEC_HEADER_LEN + SM_GCM_TAG_LEN || !(sc & SC_ENC) ||
	    (sc & (SC_COMPRESSED | SC_BROADCAST)) || SC_SUITE(sc) > 1)
		return 0;
	return cur.pos - 1 + body_len;
}

enum sm_err sm_cipher_unwrap(struct sm_cipher *c, const uint8_t *apdu, size_t len, uint8_t *out, size_t outsz,
                             size_t *ret_len, struct sm_secinfo *sec, char *detail, size_t detailsz)
{
	char title[TITLE_STRLEN];
	struct sm_cursor cur = sm_cursor_init(apdu, len);

	if (detailsz > 0)
		detail[0] = '\0';
	if (!c || !apdu || !out || !ret_len || !sec)
		return SM_E_INVAL;
	memset(sec, 0, sizeof(*sec));

	uint8_t tag = sm_cursor_u8(&cur);
	uint8_t stlen = sm_cursor_u8(&cur);
	if (cur.bad) {
		snprintf(detail, detailsz, "ciphered APDU ends inside its header (%zu bytes)", len);
		return SM_E_TRUNCATED;
	}
	if (tag != 0xDB && tag != 0xDC) {
		snprintf(detail, detailsz, "not a ciphered APDU (tag 0x%02X)", tag);
		return SM_E_INVAL;
	}
	if (stlen == 0) {
		/* Polish Elgama shape (PROTOCOLS.md §2.5): the IV cannot be formed and no public source says how. */
		snprintf(detail, detailsz,
		         "ciphered APDU with an empty system title (Elgama-style encrypted P1): the IV is not "
		         "defined publicly, decryption unsupported");
		return SM_E_UNSUPPORTED;
	}
	if (stlen != SM_TITLE_LEN) {
		snprintf(detail, detailsz, "ciphered APDU with a %u-byte system title (DLMS uses 8): unsupported",
		         (unsigned)stlen);
		return SM_E_UNSUPPORTED;
	}
	const uint8_t *st = sm_cursor_take(&cur, SM_TITLE_LEN);
	uint8_t lb = sm_cursor_u8(&cur);
	uint64_t body_len = lb;
	if (lb & 0x80) {
		unsigned nbytes = lb & 0x7Fu;
		if (nbytes == 0 || nbytes > 4) {
			snprintf(detail, detailsz, "ciphered APDU length form 0x%02X is not a definite length", lb);
			return SM_E_SYNTAX;
		}
		body_len = 0;
		for (unsigned i = 0; i < nbytes; i++)
			body_len = body_len << 8 | sm_cursor_u8(&cur);
	}
	if (cur.bad) {
		snprintf(detail, detailsz, "ciphered APDU ends inside its header (%zu bytes)", len);
		return SM_E_TRUNCATED;
	}
	memcpy(sec->system_title, st, SM_TITLE_LEN);
	size_t avail = sm_cursor_left(&cur);
	if (body_len > avail) {
		snprintf(detail, detailsz, "ciphered APDU from system title %s declares %llu bytes but %zu are present",
		         format_title(title, sizeof(title), st), (unsigned long long)body_len, avail);
		return SM_E_TRUNCATED;
	}
	if (body_len < SM_SEC_HEADER_LEN) {
		snprintf(detail, detailsz,
		         "ciphered APDU from system title %s: length %llu leaves no room for the "
		         "security header",
		         format_title(title, sizeof(title), st), (unsigned long long)body_len);
		return SM_E_TRUNCATED;
	}
	uint8_t sc = sm_cursor_u8(&cur);
	uint32_t ic = sm_cursor_be32(&cur);
	sec->encrypted = true; /* "came through the ciphering layer": carries SC, title and counter */
	sec->security_control = sc;
	sec->invocation_counter = ic;

	if (sc & SC_COMPRESSED) {
		snprintf(detail, detailsz,
		         "security control 0x%02X: compressed APDUs are not supported (system title %s)", sc,
		         format_title(title, sizeof(title), st));
		return SM_E_UNSUPPORTED;
	}
	if (SC_SUITE(sc) == 2) {
		snprintf(detail, detailsz,
		         "security control 0x%02X: security suite 2 (AES-GCM-256, 32-byte key) is "
		         "not supported (system title %s)",
		         sc, format_title(title, sizeof(title), st));
		return SM_E_UNSUPPORTED;
	}
	if (SC_SUITE(sc) > 2) {
		snprintf(detail, detailsz, "security control 0x%02X: unknown security suite %u (system title %s)", sc,
		         (unsigned)SC_SUITE(sc), format_title(title, sizeof(title), st));
		return SM_E_UNSUPPORTED;
	}
	if (!(sc & (SC_AUTH | SC_ENC))) {
		snprintf(detail, detailsz,
		         "security control 0x%02X applies neither authentication nor encryption "
		         "(system title %s)",
		         sc, format_title(title, sizeof(title), st));
		return SM_E_UNSUPPORTED;
	}
	size_t taglen = (sc & SC_AUTH) ? SM_GCM_TAG_LEN : 0;
	if (body_len < SM_SEC_HEADER_LEN + taglen) {
		snprintf(detail, detailsz,
		         "ciphered APDU from system title %s: length %llu is too short for the "
		         "%zu-byte authentication tag",
		         format_title(title, sizeof(title), st), (unsigned long long)body_len, taglen);
		return SM_E_TRUNCATED;
	}
	size_t datalen = (size_t)body_len - SM_SEC_HEADER_LEN - taglen;
	const uint8_t *data = sm_cursor_take(&cur, datalen);
	const uint8_t *gtag = sm_cursor_take(&cur, taglen);
	if (cur.bad) {
		/* Cannot happen after the length checks above; keep the cursor the single authority. */
		snprintf(detail, detailsz, "ciphered APDU from system title %s is truncated",
		         format_title(title, sizeof(title), st));
		return SM_E_TRUNCATED;
	}
	if (datalen > outsz) {
		snprintf(detail, detailsz,
		         "ciphered APDU from system title %s carries %zu bytes, more than the %zu "
		         "the decoder holds",
		         format_title(title, sizeof(title), st), datalen, outsz);
		return SM_E_TOO_LONG;
	}
	if ((sc & SC_ENC) && !c->has_ek) {
		/* Name the key the frame needs (Green Book key names); the SC byte shows the key set too. */
		const char *need = tag == 0xDC           ? "the dedicated key"
		                   : (sc & SC_BROADCAST) ? "the broadcast key (GBEK)"
		                                         : "the encryption key (GUEK)";
		snprintf(
		    detail, detailsz,
		    "encrypted frame (security control 0x%02X, system title %s, counter %u) but no key configured: "
		    "set %s",
		    sc, format_title(title, sizeof(title), st), (unsigned)ic, need);
		return SM_E_NO_KEY;
	}

	bool check_tag = (sc & SC_AUTH) && c->has_ek && c->has_ak;
	uint8_t iv[SM_GCM_IV_LEN];
	memcpy(iv, st, SM_TITLE_LEN);
	for (size_t i = 0; i < 4; i++)
		iv[SM_TITLE_LEN + i] = (uint8_t)(ic >> (24 - 8 * i));

	if (c->has_ek && ((sc & SC_ENC) || check_tag)) {
		gcry_error_t ge = gcry_cipher_reset(c->hd);
		if (!ge)
			ge = gcry_cipher_setiv(c->hd, iv, sizeof(iv));
		if (!ge && check_tag) {
			c->keys->aad[0] = sc;
			ge = gcry_cipher_authenticate(c->hd, c->keys->aad, sizeof(c->keys->aad));
			if (!ge && !(sc & SC_ENC) && datalen > 0)
				ge = gcry_cipher_authenticate(c->hd, data, datalen);
		}
		if (!ge && (sc & SC_ENC)) {
			ge = gcry_cipher_final(c->hd);
			if (!ge)
				ge = gcry_cipher_decrypt(c->hd, out, outsz, data, datalen);
		}
		if (ge) {
			wipe(out, datalen);
			snprintf(detail, detailsz, "libgcrypt failed: %s", gcry_strerror(ge));
			return SM_E_CRYPTO;
		}
		if (check_tag && gcry_cipher_checktag(c->hd, gtag, taglen) != 0) {
			wipe(out, datalen);
			snprintf(detail, detailsz,
			         "GCM tag mismatch (wrong key or auth key, or damaged frame): system title %s, "
			         "counter %u%s",
			         format_title(title, sizeof(title), st), (unsigned)ic, key_set_note(tag, sc));
			return SM_E_AUTH;
		}
	}
	if (!(sc & SC_ENC))
		memmove(out, data, datalen);
	sec->authenticated = check_tag;

	if (!sec->authenticated && (sc & SC_ENC) && !plausible_plaintext(out, datalen)) {
		wipe(out, datalen);
		snprintf(detail, detailsz, "decryption failed (wrong key?) system title %s, security control 0x%02X%s",
		         format_title(title, sizeof(title), st), sc, key_set_note(tag, sc));
		return SM_E_DECRYPT;
	}
	enum sm_err err = check_counter(c, sec, st, detail, detailsz);
	if (err != SM_OK) {
		wipe(out, datalen);
		return err;
	}
	*ret_len = datalen;
	return SM_OK;
}
