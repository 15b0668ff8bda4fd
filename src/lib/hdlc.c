/* hdlc.c — HDLC frame format type 3 (PROTOCOLS.md §3.1–3.3): finds frames by their length field,
 * checks HCS and FCS, strips the LLC header and reassembles segmented frames.
 * It must never look for the closing 7E to find a frame's end (there is no byte stuffing, 7E is a
 * legal data byte), and never hand on a partial message as if it were complete.
 *
 *   7E | A0+S,len | dst 1/2/4 | src 1/2/4 | ctl | HCS lo hi | information ... | FCS lo hi | 7E
 *        `-- len counts these bytes: format .. FCS (the flags are not counted) ---------'
 *
 * Back-to-back frames may share one flag. The scanner therefore hands on a frame WITHOUT its closing
 * flag (length + 1 bytes) and leaves the flag in the stream: it is the opening flag of the next frame,
 * or, followed by another 7E or at the end of input, a lone flag that is consumed silently as a
 * one-byte "frame" (sm_hdlc_frame ignores it).
 * The scanner checks the header (HCS) only and hands on every complete candidate; sm_hdlc_frame checks
 * the FCS once, with the stream's running CRC (stream.c), so a fake header claiming 2 KiB costs a few
 * hundred instructions, not a pass over 2 KiB. A candidate whose FCS fails is reported and rescanned
 * from its next byte by the framer. */
#include <stdio.h>

#include "dlms.h"

#define SM_HDLC_FLAG     0x7Eu
#define SM_HDLC_MAX_ADDR 4u /* IEC 62056-46: addresses are 1, 2 or 4 bytes */
/* Smallest frame: format (2) + destination (1) + source (1) + control (1) + FCS (2). */
#define SM_HDLC_MIN_LEN 7u

/* The checked facts of a header: everything from the format field through the control byte. */
struct hdlc_header {
	size_t flen;    /* the 11-bit length: bytes from format through FCS */
	size_t hlen;    /* bytes from format through control (the HCS covers these) */
	bool segmented; /* S bit */
	bool has_info;  /* information field (and thus HCS) present */
	uint8_t control;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Length of an extensible address starting at p[0] (bit 0 = 1 ends it), 0 if not yet visible,
 * SIZE_MAX if it is not 1, 2 or 4 bytes. */
static size_t addr_len(const uint8_t *p, size_t avail)
{
	for (size_t i = 0; i < SM_HDLC_MAX_ADDR; i++) {
		if (i >= avail)
			return 0;
		if (p[i] & 1)
			return (i == 2) ? SIZE_MAX : i + 1;
	}
	return SIZE_MAX;
}

/* buf[0] is a 7E. SM_SCAN_FRAME: the header is plausible and its HCS is right (or, for a frame without
 * information field, there is no HCS and the FCS will decide). */
static enum sm_scan parse_header(const uint8_t *buf, size_t len, struct hdlc_header *h)
{
	if (len < 2)
		return SM_SCAN_MORE;
	if ((buf[1] & 0xF0) != 0xA0)
		return SM_SCAN_NO;
	if (len < 3)
		return SM_SCAN_MORE;
	h->flen = (size_t)(buf[1] & 0x07) << 8 | buf[2];
	h->segmented = (buf[1] & 0x08) != 0;
	if (h->flen < SM_HDLC_MIN_LEN)
		return SM_SCAN_NO;
	size_t d = addr_len(buf + 3, len - 3);
	if (d == SIZE_MAX)
		return SM_SCAN_NO;
	if (d == 0)
		return SM_SCAN_MORE;
	size_t s = addr_len(buf + 3 + d, len - 3 - d);
	if (s == SIZE_MAX)
		return SM_SCAN_NO;
	if (s == 0)
		return SM_SCAN_MORE;
	size_t ctl = 3 + d + s; /* index of the control byte in buf */
	h->hlen = ctl;          /* format (2) + addresses + control = buf[1..ctl] */
	if (h->flen < h->hlen + 2)
		return SM_SCAN_NO;
	if (len <= ctl)
		return SM_SCAN_MORE;
	h->control = buf[ctl];
	if (h->flen == h->hlen + 2) {
		h->has_info = false;
		return SM_SCAN_FRAME;
	}
	if (h->flen < h->hlen + 4) /* an HCS but no room for the FCS */
		return SM_SCAN_NO;
	h->has_info = true;
	if (len < ctl + 3)
		return SM_SCAN_MORE;
	if (sm_crc16_x25(buf + 1, h->hlen) != le16(buf + ctl + 1))
		return SM_SCAN_NO;
	return SM_SCAN_FRAME;
}

enum sm_scan sm_hdlc_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	struct hdlc_header h;

	/* A lone flag: the closing flag of the previous frame before the next one's own opening flag,
	 * or at the very end of the input. */
	if ((len >= 2 && buf[1] == SM_HDLC_FLAG) || (len == 1 && eof)) {
		*ret_len = 1;
		return SM_SCAN_FRAME;
	}
	enum sm_scan r = parse_header(buf, len, &h);
	if (r == SM_SCAN_NO)
		return SM_SCAN_NO;
	if (r == SM_SCAN_MORE)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;

	/* Header checked: the length is worth waiting for. The FCS is the handler's (sm_hdlc_frame), where
	 * the stream's running CRC makes it cheap however long the claim. */
	size_t n = h.flen + 1; /* opening flag + format .. FCS */
	if (len < n) {
		if (!eof)
			return SM_SCAN_MORE;
		*ret_len = len;
		*ret_err = SM_E_TRUNCATED;
		return SM_SCAN_BAD;
	}
	*ret_len = n;
	return SM_SCAN_FRAME;
}

static bool is_apdu_tag(uint8_t tag)
{
	return tag == 0x0F || tag == 0xDB || tag == 0xDC || tag == 0xE0;
}

/* LLC + a push APDU tag: how every first frame of a message begins (§3.2). */
static bool starts_message(const uint8_t *info, size_t n)
{
	size_t llc = sm_llc_len(info, n);
	return llc && n > llc && is_apdu_tag(info[llc]);
}

bool sm_hdlc_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err)
{
	struct sm_reasm *r = &dec->dlms->hdlc;
	struct hdlc_header h;

	(void)scan_err;
	if (len <= 1)
		return true; /* a lone flag between frames */
	/* On the wire the frame also had its closing flag: count it. */
	struct sm_origin org = {SM_FRAMING_HDLC, offset, len + 1};
	if (parse_header(frame, len, &h) != SM_SCAN_FRAME || len != h.flen + 1) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_HCS, &org, frame, len, "HDLC header check failed");
		return false;
	}
	uint16_t said = le16(frame + h.flen - 1), computed = sm_stream_crc16_x25(dec, frame + 1, h.flen - 2);
	if (said != computed && dec->cfg.dsmr_crc_optional) {
		/* The user turned checksum checking off (crc_check = no): the header's HCS still held. */
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_FCS, &org, frame, len,
		              "HDLC FCS mismatch: frame says %04X, computed %04X; decoded anyway (CRC check off)", said,
		              computed);
	} else if (said != computed) {
		/* Only a header with its HCS is known: this may be a false start, or a frame cut short by
		 * the next one. The framer rescans from the next byte; the payload must not pass for a bare APDU. */
		if (!dec->holding) /* held, it would be discarded with the failed candidate: do not format it */
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_FCS, &org, frame, len,
			              "HDLC FCS mismatch: frame says %04X, computed %04X", said, computed);
		/* where the information field (LLC, then the APDU) would begin */
		sm_stream_shadow(dec, offset + 1 + h.hlen + 2, offset + 1 + h.hlen + 2 + 3 + 1);
		/* Green Book / §3.3 rule 4: a damaged segment spoils the whole message. */
		if (r->active) {
			sm_reasm_drop(dec, r, SM_E_SEQUENCE,
			              "HDLC segmented message dropped: a segment failed its FCS");
			r->skipping = true;
		}
		return false;
	}
	if (!h.has_info)
		return true; /* nothing for us (no push carries an empty frame) */
	const uint8_t *info = frame + 1 + h.hlen + 2;
	size_t n = h.flen - h.hlen - 4;

	bool fresh = starts_message(info, n);
	if (r->skipping) {
		/* Rest of a message already dropped: wait for the next message start. */
		if (!fresh) {
			r->skipping = h.segmented;
			return true;
		}
		r->skipping = false;
	}
	if (r->active && fresh) {
		/* The last segment of the previous message was lost; never glue the two together. */
		struct sm_origin porg = sm_reasm_origin(r);
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_INCOMPLETE, &porg, NULL, 0,
		              "HDLC segmented message dropped after %u segment%s: a new message began before its "
		              "last segment",
		              r->parts, r->parts == 1 ? "" : "s");
		sm_reasm_reset(r);
	}
	if (!r->active) {
		if (!h.segmented) {
			sm_apdu_input(dec, info, n, &org);
			return true;
		}
		size_t llc = sm_llc_len(info, n);
		if (!fresh && !(n > 0 && is_apdu_tag(info[0]))) {
			/* A continuation segment whose first segment we never saw (input began mid-message). */
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SEQUENCE, &org, frame, len,
			              "HDLC segment without its first segment; dropped until the next message");
			r->skipping = true;
			return true;
		}
		/* First segment: the LLC header is only here (§3.3 rule 3). */
		sm_reasm_start(r, SM_FRAMING_HDLC, offset);
		info += llc;
		n -= llc;
	}
	r->end_offset = offset + len + 1;
	if (!sm_reasm_append(r, info, n)) {
		sm_reasm_drop(dec, r, SM_E_TOO_LONG, "HDLC segmented message exceeds %u bytes; dropped",
		              (unsigned)SM_DLMS_MAX_APDU);
		return true;
	}
	if (h.segmented)
		return true;
	struct sm_origin morg = sm_reasm_origin(r);
	sm_apdu_input(dec, r->buf, r->len, &morg);
	sm_reasm_reset(r);
	return true;
}
