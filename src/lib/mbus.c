/* mbus.c — wired M-Bus long frames carrying DLMS (PROTOCOLS.md §3.5): finds and checks frames,
 * and reassembles the DLMS transport segments (Austrian/Polish Kaifa MA309, Sagemcom T210-D).
 * It must never accept a frame whose checksum or stop byte is wrong, nor join segments whose
 * sequence numbers do not follow each other.
 *
 *   68 | L | L | 68 | C | A | CI | STSAP | DTSAP | DLMS segment ... | sum | 16
 *                    `-- L bytes: C .. last data byte; sum = their sum mod 256 --'
 *   CI: bits 7..5 = 0 (DLMS transport, no M-Bus data header), bit 4 = last segment, bits 3..0 = number
 *
 * Sagemcom T210-D (older firmware) sends L modulo 256 (L = 0x01 for a 257-byte frame body): when the
 * checksum and stop byte do not fit at L, they are tried at L + 256. A frame that fits neither is handed
 * on at its stated length (SM_SCAN_FRAME, *ret_err = SM_E_CHECKSUM) so that sm_mbus_frame reports the
 * mismatch with its values; the framer then rescans from its next byte. */
#include <stdio.h>

#include "dlms.h"

#define SM_MBUS_START 0x68u
#define SM_MBUS_STOP  0x16u
/* Bytes around the L counted ones: 68 L L 68 before, checksum and stop after. */
#define SM_MBUS_OVERHEAD 6u
/* L must cover at least C, A and CI. */
#define SM_MBUS_MIN_L 3u
/* The Sagemcom quirk: L is sent modulo 256; a frame body never exceeds 256 + 255 bytes. */
#define SM_MBUS_L_WRAP      256u
#define SM_MBUS_CI_FIN      0x10u
#define SM_MBUS_CI_SEQ      0x0Fu
#define SM_MBUS_CI_NOT_DLMS 0xE0u /* any of these bits: an M-Bus application header, not DLMS transport */

/* Do checksum and stop byte fit for a frame body of l bytes? buf holds at least l + 6 bytes. */
static bool fits(const uint8_t *buf, size_t l)
{
	return sm_sum8(buf + 4, l) == buf[4 + l] && buf[5 + l] == SM_MBUS_STOP;
}

/* The checksum failed at every length: hand the frame on at its stated length so that sm_mbus_frame
 * reports the mismatch (the framer then rescans from its next byte), or, cut short, report it truncated. */
static enum sm_scan broken(size_t len, size_t n, size_t *ret_len, enum sm_err *ret_err)
{
	if (n > len) {
		*ret_len = len;
		*ret_err = SM_E_TRUNCATED;
		return SM_SCAN_BAD;
	}
	*ret_len = n;
	*ret_err = SM_E_CHECKSUM;
	return SM_SCAN_FRAME;
}

enum sm_scan sm_mbus_scan(const uint8_t *buf, size_t len, bool eof, size_t *ret_len, enum sm_err *ret_err)
{
	if ((len >= 3 && buf[1] != buf[2]) || (len >= 4 && buf[3] != SM_MBUS_START) ||
	    (len >= 7 && (buf[6] & SM_MBUS_CI_NOT_DLMS)))
		return SM_SCAN_NO;
	if (len < 7)
		return eof ? SM_SCAN_NO : SM_SCAN_MORE;

	size_t l = buf[1];
	size_t n1 = l + SM_MBUS_OVERHEAD, n2 = l + SM_MBUS_L_WRAP + SM_MBUS_OVERHEAD;
	bool l_ok = l >= SM_MBUS_MIN_L;
	if (l_ok) {
		if (len < n1) {
			if (!eof)
				return SM_SCAN_MORE;
			return broken(len, n1, ret_len, ret_err);
		}
		if (fits(buf, l)) {
			*ret_len = n1;
			return SM_SCAN_FRAME;
		}
	}
	if (len < n2) {
		if (!eof)
			return SM_SCAN_MORE;
		return broken(len, l_ok ? n1 : n2, ret_len, ret_err);
	}
	if (fits(buf, l + SM_MBUS_L_WRAP)) {
		*ret_len = n2;
		return SM_SCAN_FRAME;
	}
	return broken(len, l_ok ? n1 : n2, ret_len, ret_err);
}

static bool is_apdu_start(uint8_t b)
{
	/* data-notification, ciphered, block transfer, LLC */
	return b == 0x0F || b == 0xDB || b == 0xDC || b == 0xE0 || b == 0xE6;
}

bool sm_mbus_frame(struct sm_decoder *dec, const uint8_t *frame, size_t len, uint64_t offset, enum sm_err scan_err)
{
	struct sm_reasm *r = &dec->dlms->mbus;
	struct sm_origin org = {SM_FRAMING_MBUS, offset, len};

	if (len < SM_MBUS_MIN_L + SM_MBUS_OVERHEAD || (len - SM_MBUS_OVERHEAD) % SM_MBUS_L_WRAP != frame[1]) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SYNTAX, &org, frame, len,
		              "M-Bus frame length %zu does not match its L field %02X", len, frame[1]);
		return false;
	}
	size_t l = len - SM_MBUS_OVERHEAD;
	uint8_t said = frame[4 + l], computed = scan_err == SM_OK ? said : sm_sum8(frame + 4, l);
	if (said != computed && frame[5 + l] == SM_MBUS_STOP && dec->cfg.dsmr_crc_optional) {
		/* The user turned checksum checking off (crc_check = no). */
		sm_emit_event(dec, SM_EVENT_WARNING, SM_E_CHECKSUM, &org, frame, len,
		              "M-Bus checksum mismatch: frame says %02X, computed %02X; decoded anyway (CRC check off)",
		              said, computed);
	} else if (said != computed || frame[5 + l] != SM_MBUS_STOP) {
		if (said != computed)
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_CHECKSUM, &org, frame, len,
			              "M-Bus checksum mismatch: frame says %02X, computed %02X", said, computed);
		else
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_CHECKSUM, &org, frame, len,
			              "M-Bus stop byte is %02X, expected 16", frame[5 + l]);
		if (r->active)
			sm_reasm_drop(dec, r, SM_E_SEQUENCE, "M-Bus segmented message dropped: a segment was damaged");
		/* the payload (after 68 L L 68 C A CI [STSAP DTSAP]) must not pass for a bare APDU */
		sm_stream_shadow(dec, offset + 7, offset + 7 + 2 + 1);
		return false;
	}
	uint8_t ci = frame[6];
	if (ci & SM_MBUS_CI_NOT_DLMS) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_UNSUPPORTED, &org, frame, len,
		              "M-Bus CI %02X is not a DLMS transport segment", ci);
		return true;
	}
	unsigned seq = ci & SM_MBUS_CI_SEQ;
	bool fin = (ci & SM_MBUS_CI_FIN) != 0;
	const uint8_t *p = frame + 7;
	size_t n = l - 3;

	if (seq == 0) {
		if (r->active) {
			struct sm_origin porg = sm_reasm_origin(r);
			sm_emit_event(dec, SM_EVENT_ERROR, SM_E_INCOMPLETE, &porg, NULL, 0,
			              "M-Bus segmented message dropped after %u segment%s: a new message began before "
			              "its last segment",
			              r->parts, r->parts == 1 ? "" : "s");
		}
		sm_reasm_start(r, SM_FRAMING_MBUS, offset);
		/* STSAP/DTSAP (01 67) precede the DLMS bytes in every capture seen; a meter that leaves
		 * them out starts its first segment directly with an APDU tag. */
		r->tsap = !(n > 0 && is_apdu_start(p[0]));
	} else if (!r->active) {
		sm_emit_event(dec, SM_EVENT_ERROR, SM_E_SEQUENCE, &org, frame, len,
		              "M-Bus segment %u without segment 0; dropped", seq);
		return true;
	} else if (seq != (r->next & SM_MBUS_CI_SEQ)) {
		r->end_offset = offset + len;
		sm_reasm_drop(dec, r, SM_E_SEQUENCE, "M-Bus segment %u where %u was expected; message dropped", seq,
		              r->next & SM_MBUS_CI_SEQ);
		return true;
	}
	if (r->tsap) {
		if (n < 2) {
			r->end_offset = offset + len;
			sm_reasm_drop(dec, r, SM_E_TRUNCATED, "M-Bus segment %u too short for its transport header",
			              seq);
			return true;
		}
		p += 2;
		n -= 2;
	}
	r->end_offset = offset + len;
	if (!sm_reasm_append(r, p, n)) {
		sm_reasm_drop(dec, r, SM_E_TOO_LONG, "M-Bus segmented message exceeds %u bytes; dropped",
		              (unsigned)SM_DLMS_MAX_APDU);
		return true;
	}
	r->next++;
	if (!fin)
		return true;
	struct sm_origin morg = sm_reasm_origin(r);
	sm_apdu_input(dec, r->buf, r->len, &morg);
	sm_reasm_reset(r);
	return true;
}
