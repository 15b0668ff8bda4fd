/* apdu.c — xDLMS APDUs after the link layer (PROTOCOLS.md §3.7, §4, §8.1): finds bare APDUs in the
 * byte stream, strips the LLC header, reassembles general-block-transfer blocks, decrypts ciphered
 * APDUs and hands data-notifications (or decrypted DSMR text) to their decoders.
 * Bare APDUs have no checksum, so their scanner must be strict: it accepts only what it can validate
 * structurally, and never guesses a length it cannot read from the APDU itself. Never publish a
 * message put together from blocks that do not follow each other. */
#include <stdio.h>
#include <string.h>

#include "dlms.h"

#define SM_TAG_NOTIFICATION 0x0Fu
#define SM_TAG_GLO_CIPHER   0xDBu
#define SM_TAG_DED_CIPHER   0xDCu
#define SM_TAG_GBT          0xE0u
#define SM_LLC_LEN          3u

/* general-block-transfer: E0 | control | block number (2) | ack (2) | length | data */
#define SM_GBT_HDR  6u
#define SM_GBT_LAST 0x80u /* block-control bit 7 */
/* Ciphered APDU: tag, system-title length, system title (§4.3). */
#define SM_CIPHER_ST_LEN    8u
#define SM_CIPHER_SC_A      0x10u /* authentication applied: a 12-byte tag follows */
#define SM_CIPHER_SC_E      0x20u
#define SM_CIPHER_SC_COMPR  0x80u /* compression: no meter uses it, no decoder supports it */
#define SM_CIPHER_MAX_SUITE 2u
#define SM_CIPHER_TAG_LEN   12u
#define SM_CIPHER_MIN_LEN   5u /* SC + invocation counter */

size_t sm_llc_len(const uint8_t *p, size_t len)
{
	if (len >= SM_LLC_LEN && p[0] == 0xE6 && (p[1] == 0xE7 || p[1] == 0xE6) && p[2] == 0x00)
		return SM_LLC_LEN;
	return 0;
}

/* A-XDR / BER length (§5.2): 1 = read (*ret_val, *ret_hl header bytes), 0 = need more, -1 = invalid. */
static int read_length(const uint8_t *p, size_t avail, size_t *ret_val, size_t *ret_hl)
{
	if (avail < 1)
		return 0;
	if (p[0] < 0x80) {
		*ret_val = p[0];
		*ret_hl = 1;
		return 1;
	}
	size_t k = p[0] & 0x7F;
	if (k == 0 || k > 4)
		return -1;
	if (avail < 1 + k)
		return 0;
	size_t v = 0;
	for (size_t i = 1; i <= k; i++)
		v = v << 8 | p[i];
	if (v > SM_DLMS_MAX_APDU)
		return -1;
	*ret_val = v;
	*ret_hl = 1 + k;
	return 1;
}

/* ---- scanning bare APDUs ---- */

static enum sm_scan scan_notification(const uint8_t *buf, size_t len, bool eof, size_t *ret_len)
{
	/* 0F | invoke-id (4) | date-time: 00, 0C+12, 09 0C+12 or 19+12 (§4.2) */
	if (len >= 6) {
		uint8_t dt = buf[5];
		if (dt != 0x00 && dt != 0x0C && dt != 0x09 && dt != 0x19)
			return SM_SCAN_NO;
		if (dt == 0x09 && len >= 7 && buf[6] != 0x0C)
			return SM_SCAN_NO;
	}
	size_t n = 0;
	enum sm_scan r = sm_axdr_measure_notification(buf, len, &n);
	if (r == SM_SCAN_FRAME && n > 0 && n <= len) {
		/* A notification cut short and then read on into the next one can parse: it ends where the
		 * whole one inside it ends. Then the inner one is the frame, the outer a false start. */
		size_t body = buf[5] == 0x00 ? 6 : buf[5] == 0x09 ? 19 : 18; /* after its own date-time */
		for (size_t k = body; k + 6 < n; k++) {
			size_t m = 0;
			if (buf[k] == SM_TAG_NOTIFICATION && (buf[k + 5] == 0x00 || buf[k + 5] == 0x0C ||
			                                      buf[k + 5] == 0x09 || buf[k + 5] == 0x19) &&
			    sm_axdr_measure_notification(buf + k, n - k, &m) == SM_SCAN_FRAME && m == n - k)
				return SM_SCAN_NO;
		}
		*ret_len = n;
		return SM_SCAN_FRAME;
	}
	/* Without a checksum, a notification cut off at the end of the input cannot be told from
	 * garbage that happens to start with 0F: call it garbage rather than swallow what follows. */
	if (r == SM_SCAN_MORE && !eof)
		return SM_SCAN_MORE;
	return SM_SCAN_NO;
}

static enum sm_scan scan_ciphered(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	/* DB | 08 | system title (8) | length | SC | IC (4) | ciphertext | [tag 12] (§4.3) */
	const size_t lpos = 2 + SM_CIPHER_ST_LEN;
	if (len >= 2 && buf[1] != SM_CIPHER_ST_LEN)
		return SM_SCAN_NO;
	size_t l = 0, hl = 0;
	int lr = len > lpos ? read_length(buf + lpos, len - lpos, &l, &hl) : 0;
	if (lr < 0)
		return SM_SCAN_NO;
	if (lr == 0 || len <= lpos + hl)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;
	uint8_t sc = buf[lpos + hl];
	if ((sc & SM_CIPHER_SC_COMPR) || !(sc & (SM_CIPHER_SC_A | SM_CIPHER_SC_E)) || (sc & 0x0F) > SM_CIPHER_MAX_SUITE)
		return SM_SCAN_NO;
	if (l < SM_CIPHER_MIN_LEN + ((sc & SM_CIPHER_SC_A) ? SM_CIPHER_TAG_LEN : 0))
		return SM_SCAN_NO;
	size_t total = lpos + hl + l;
	if (total > SM_DLMS_MAX_APDU)
		return SM_SCAN_NO;
	if (len < total) {
		if (!eof)
			return SM_SCAN_MORE;
		*ret_len = len;
		*ret_err = SM_E_TRUNCATED;
		return SM_SCAN_BAD;
	}
	*ret_len = total;
	return SM_SCAN_FRAME;
}

/* One GBT block header at p: 1 = complete block of *ret_n bytes, 0 = need more, -1 = not a block. */
static int gbt_block_len(const uint8_t *p, size_t avail, unsigned *ret_bn, bool *ret_last, size_t *ret_n,
                         size_t *ret_hl)
{
	if (avail < SM_GBT_HDR)
		return 0;
	if (p[0] != SM_TAG_GBT)
		return -1;
	size_t l, hl;
	int lr = read_length(p + SM_GBT_HDR, avail - SM_GBT_HDR, &l, &hl);
	if (lr <= 0)
		return lr;
	*ret_bn = (unsigned)(p[2] << 8 | p[3]);
	*ret_last = (p[1] & SM_GBT_LAST) != 0;
	*ret_n = SM_GBT_HDR + hl + l;
	*ret_hl = hl;
	return 1;
}

/* A bare block transfer is taken only as a whole chain: block 1, 2, ... up to the last block, back to
 * back (the 8.1 rule "block number 1" keeps a stray E0 from starting anything). */
static enum sm_scan scan_gbt(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	size_t pos = 0;
	unsigned want = 1;
	for (;;) {
		unsigned bn = 0;
		bool last = false;
		size_t n = 0, hl = 0;
		int r = gbt_block_len(buf + pos, len - pos, &bn, &last, &n, &hl);
		if (r < 0 || (r > 0 && bn != want)) {
			if (pos == 0)
				return SM_SCAN_NO;
			*ret_len = pos;
			*ret_err = r < 0 ? SM_E_INCOMPLETE : SM_E_SEQUENCE;
			return SM_SCAN_BAD;
		}
		if (r > 0 && pos + n > SM_DLMS_MAX_APDU) {
			if (pos == 0)
				return SM_SCAN_NO;
			*ret_len = pos;
			*ret_err = SM_E_TOO_LONG;
			return SM_SCAN_BAD;
		}
		if (r == 0 || len - pos < n) {
			if (!eof)
				return SM_SCAN_MORE;
			/* Six fixed-looking bytes are too weak a proof to swallow the rest of the input for. */
			if (pos == 0)
				return SM_SCAN_NO;
			*ret_len = pos;
			*ret_err = SM_E_INCOMPLETE;
			return SM_SCAN_BAD;
		}
		pos += n;
		if (last) {
			*ret_len = pos;
			return SM_SCAN_FRAME;
		}
		want++;
		if (pos == len && !eof)
			return SM_SCAN_MORE;
		if (pos == len) {
			*ret_len = pos;
			*ret_err = SM_E_INCOMPLETE;
			return SM_SCAN_BAD;
		}
	}
}

static enum sm_scan scan_apdu(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	switch (buf[0]) {
	case SM_TAG_NOTIFICATION:
		return scan_notification(buf, len, eof, ret_len);
	case SM_TAG_GLO_CIPHER:
	case SM_TAG_DED_CIPHER:
		return scan_ciphered(buf, len, eof, ret_len, ret_err);
	case SM_TAG_GBT:
		return scan_gbt(buf, len, eof, ret_len, ret_err);
	}
	return SM_SCAN_NO;
}

enum sm_scan sm_rawapdu_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	if (buf[0] != 0xE6)
		return scan_apdu(buf, len, eof, ret_len, ret_err);
	/* LLC + APDU without HDLC (§3.7): the LLC must be followed by a tag we know. */
	if ((len >= 2 && buf[1] != 0xE7 && buf[1] != 0xE6) || (len >= 3 && buf[2] != 0x00))
		return SM_SCAN_NO;
	if (len <= SM_LLC_LEN)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;
	size_t n = 0;
	enum sm_scan r = scan_apdu(buf + SM_LLC_LEN, len - SM_LLC_LEN, eof, &n, ret_err);
	if (r == SM_SCAN_FRAME || r == SM_SCAN_BAD)
		*ret_len = n + SM_LLC_LEN;
	return r;
}

/* ---- dispatch ---- */

static enum sm_err deliver(struct sm_decoder *dec, const uint8_t *apdu, size_t len, const struct sm_origin *org)
{
	struct sm_dlms *d = dec->dlms;
	if (d->tap)
		d->tap(d->tap_ctx, apdu, len, org);
	return sm_apdu_dispatch(dec, apdu, len, org);
}

static const char *tag_name(uint8_t tag)
{
	switch (tag) {
	case 0xC2:
		return "event-notification-request";
	case 0xCA:
	case 0xD2:
		return "ciphered event-notification";
	case 0xDD:
		return "general-ciphering";
	case 0xDF:
		return "general-signing";
	case SM_TAG_GBT:
		return "general-block-transfer";
	}
	return "unknown APDU";
}

/* The fixed authentication key every Luxembourg Smarty meter uses (Luxmetering P1 spec 1.1.3 §3.4.1,
 * PROTOCOLS.md §2.2): published, not a secret, so naming it in a warning leaks nothing. */
#define SM_SMARTY_AUTH_KEY "00112233445566778899AABBCCDDEEFF"

static bool sagemcom(const uint8_t st[8])
{
	return st[0] == 'S' && st[1] == 'A' && st[2] == 'G';
}

/* A plaintext that is neither a notification nor DSMR, or a notification that does not parse, is what a
 * wrong key produces when no tag could be checked: say so rather than describe the garbage. */
static enum sm_err dispatch_plaintext(struct sm_decoder *dec, const uint8_t *pt, size_t n, const struct sm_origin *org,
                                      const struct sm_secinfo *sec)
{
	char detail[200] = "";
	bool checked = sec->authenticated;

	if (n > 0 && (pt[0] == SM_TAG_NOTIFICATION || pt[0] == '/') && (sec->security_control & SM_CIPHER_SC_A) &&
	    !checked) {
		if (pt[0] == '/' && sagemcom(sec->system_title))
			sm_emit_event(dec, SM_EVENT_WARNING, SM_OK, org, NULL, 0,
			              "GCM tag not verified (no authentication key configured); Luxembourg Smarty "
			              "meters use the published key " SM_SMARTY_AUTH_KEY);
		else
			sm_emit_event(dec, SM_EVENT_WARNING, SM_OK, org, NULL, 0,
			              "GCM tag not verified (no authentication key configured)");
	}
	if (n == 0) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TRUNCATED, org, NULL, 0, "decrypted APDU is empty");
		return SM_E_TRUNCATED;
	}
	if (pt[0] == SM_TAG_NOTIFICATION) {
		enum sm_err err = sm_cosem_notification(dec, pt, n, org, sec, detail, sizeof(detail));
		if (err != SM_OK && !checked) {
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_DECRYPT, org, NULL, 0,
			              "decryption failed (wrong key?): the plaintext does not parse (%s)", detail);
			return SM_E_DECRYPT;
		}
		if (err != SM_OK)
			sm_emit_event(dec, SM_EVENT_ERROR, err, org, NULL, 0, "%s", detail);
		return err;
	}
	if (pt[0] == '/') {
		/* Encrypted DSMR (§2): the plaintext is a whole P1 telegram. */
		return sm_dsmr_telegram(dec, pt, n, org, sec);
	}
	if (!checked) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_DECRYPT, org, NULL, 0,
		              "decryption failed (wrong key?): the plaintext is neither a data-notification nor a "
		              "DSMR telegram");
		return SM_E_DECRYPT;
	}
	sm_emit_event(dec, SM_EVENT_ERROR, SM_E_UNSUPPORTED, org, NULL, 0,
	              "decrypted APDU starts with %02X (%s); only data-notification and DSMR text are supported", pt[0],
	              tag_name(pt[0]));
	return SM_E_UNSUPPORTED;
}

static enum sm_err decrypt(struct sm_decoder *dec, const uint8_t *apdu, size_t len, const struct sm_origin *org)
{
	struct sm_secinfo sec;
	char detail[256] = ""; /* as long as an event detail (decoder.c) */
	size_t n = 0;

	memset(&sec, 0, sizeof(sec));
	enum sm_err err = sm_cipher_unwrap(dec->cipher, apdu, len, dec->scratch, sizeof(dec->scratch), &n, &sec, detail,
	                                   sizeof(detail));
	if (err != SM_OK) {
		sm_emit_event(dec, SM_EVENT_ERROR, err, org, apdu, len, "%s", detail[0] ? detail : sm_strerror(err));
		return err;
	}
	if (n > sizeof(dec->scratch)) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TOO_LONG, org, NULL, 0,
		              "decrypted APDU larger than its buffer");
		return SM_E_TOO_LONG;
	}
	/* The replay policy lives in cipher.c: a counter that went backwards only comes back with SM_OK
	 * when publish_replayed is set, and then the consumer should still hear about it. */
	if (sec.counter_backwards)
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_REPLAY, org, NULL, 0,
		              "invocation counter %u went backwards; published anyway (publish_replayed)",
		              (unsigned)sec.invocation_counter);
	else if (detail[0])
		sm_emit_event(dec, SM_EVENT_NOTE, SM_OK, org, NULL, 0, "%s", detail);
	return dispatch_plaintext(dec, dec->scratch, n, org, &sec);
}

enum sm_err sm_apdu_dispatch(struct sm_decoder *dec, const uint8_t *apdu, size_t len, const struct sm_origin *org)
{
	char detail[200] = "";
	enum sm_err err;

	if (len == 0) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TRUNCATED, org, NULL, 0, "empty APDU");
		return SM_E_TRUNCATED;
	}
	switch (apdu[0]) {
	case SM_TAG_NOTIFICATION:
		err = sm_cosem_notification(dec, apdu, len, org, NULL, detail, sizeof(detail));
		if (err != SM_OK && detail[0]) /* "" = a bare candidate that was noise: no event */
			sm_emit_event(dec, SM_EVENT_ERROR, err, org, apdu, len, "%s", detail);
		return err;
	case SM_TAG_GLO_CIPHER:
	case SM_TAG_DED_CIPHER:
		return decrypt(dec, apdu, len, org);
	}
	sm_emit_event(dec, SM_EVENT_ERROR, SM_E_UNSUPPORTED, org, apdu, len, "APDU tag %02X (%s) not supported",
	              apdu[0], tag_name(apdu[0]));
	return SM_E_UNSUPPORTED;
}

/* ---- general-block-transfer (§4.4) ---- */

/* One block at p (len bytes available in this frame). Returns the bytes it used, 0 when the block was
 * malformed (reported). */
static size_t gbt_block(struct sm_decoder *dec, const uint8_t *p, size_t len, const struct sm_origin *org,
                        enum sm_err *ret_err)
{
	struct sm_reasm *g = &dec->dlms->gbt;
	unsigned bn = 0;
	bool last = false;
	size_t n = 0, hl = 0;

	int r = gbt_block_len(p, len, &bn, &last, &n, &hl);
	if (r <= 0 || n > len) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TRUNCATED, org, p, len, "general-block-transfer block %s",
		              r < 0 ? "has an invalid length" : "is cut short");
		if (g->active)
			sm_reasm_drop(dec, g, SM_E_SEQUENCE,
			              "general-block-transfer message dropped: a block was damaged");
		return 0;
	}
	const uint8_t *data = p + SM_GBT_HDR + hl;
	size_t dlen = n - SM_GBT_HDR - hl;

	if (bn == 1) {
		if (g->active) {
			/* L+G E450 restarts a transfer at block 1 (§4.4): the old partial is lost, the new one
			 * is good, so this is worth a warning, not an error. */
			struct sm_origin porg = sm_reasm_origin(g);
			sm_emit_event(dec, SM_EVENT_WARNING, SM_E_SEQUENCE, &porg, NULL, 0,
			              "general-block-transfer restarted at block 1; dropped the partial message of %u "
			              "block%s",
			              g->parts, g->parts == 1 ? "" : "s");
		}
		sm_reasm_start(g, org->framing, org->offset);
		g->next = 1;
	} else if (!g->active) {
		if (g->skipping) {
			/* The rest of a message already reported as broken. */
			g->skipping = !last;
			return n;
		}
		if (last)
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_INCOMPLETE, org, p, n,
			              "general-block-transfer last block %u arrived without blocks 1..%u", bn, bn - 1);
		else
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SEQUENCE, org, p, n,
			              "general-block-transfer block %u without block 1; dropping blocks until the next "
			              "block 1",
			              bn);
		g->skipping = !last;
		return n;
	} else if (bn != g->next) {
		g->end_offset = org->offset + org->length;
		sm_reasm_drop(dec, g, SM_E_SEQUENCE,
		              "general-block-transfer block %u where block %u was expected; "
		              "message dropped",
		              bn, g->next);
		g->skipping = !last;
		return n;
	}
	g->end_offset = org->offset + org->length;
	if (!sm_reasm_append(g, data, dlen)) {
		sm_reasm_drop(dec, g, SM_E_TOO_LONG, "general-block-transfer message exceeds %u bytes; dropped",
		              (unsigned)SM_DLMS_MAX_APDU);
		g->skipping = !last;
		return n;
	}
	g->next++;
	if (last) {
		struct sm_origin morg = sm_reasm_origin(g);
		*ret_err = deliver(dec, g->buf, g->len, &morg);
		sm_reasm_reset(g);
	}
	return n;
}

enum sm_err sm_apdu_input(struct sm_decoder *dec, const uint8_t *p, size_t len, const struct sm_origin *org)
{
	size_t llc = sm_llc_len(p, len);
	p += llc;
	len -= llc;
	if (len == 0) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_TRUNCATED, org, NULL, 0, "LLC header without an APDU");
		return SM_E_TRUNCATED;
	}
	if (p[0] != SM_TAG_GBT)
		return deliver(dec, p, len, org);
	/* One block per HDLC frame; a bare chain carries several back to back. */
	enum sm_err err = SM_OK;
	while (len > 0) {
		size_t used = gbt_block(dec, p, len, org, &err);
		if (used == 0)
			return SM_E_TRUNCATED;
		p += used;
		len -= used;
		if (len > 0 && p[0] != SM_TAG_GBT) {
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SYNTAX, org, NULL, 0,
			              "%zu bytes follow a general-block-transfer block", len);
			return SM_E_SYNTAX;
		}
	}
	return err;
}

bool sm_rawapdu_unsealed(const struct sm_decoder *dec, const uint8_t *frame, size_t len)
{
	size_t llc = sm_llc_len(frame, len);
	return len <= llc || (frame[llc] != SM_TAG_GLO_CIPHER && frame[llc] != SM_TAG_DED_CIPHER) || !dec->cfg.has_key;
}

bool sm_rawapdu_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err)
{
	(void)scan_err;
	struct sm_origin org = {SM_FRAMING_RAW, offset, len};
	/* No link check: the APDU proves itself (a clean decode) or it was not a frame. Without a key
	 * nothing can be proven either way; the boundary rule (stream.c) has vouched for its end. */
	enum sm_err err = sm_apdu_input(dec, frame, len, &org);
	if (err == SM_OK || err == SM_E_NO_KEY)
		return true;
	/* The same APDU without its LLC is not a second candidate. */
	size_t llc = sm_llc_len(frame, len);
	if (llc)
		sm_stream_shadow(dec, offset + 1, offset + llc + 1);
	return false;
}
