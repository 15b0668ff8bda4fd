/* dlms.h — reassembly state and internal calls shared by the DLMS link layers (hdlc.c, mbus.c,
 * apdu.c; the state object is owned by dlms.c). Not installed; tests include it as the seam through
 * which they watch complete APDUs. Nothing here may allocate: every buffer is a fixed array. */
#ifndef SMARTMETER_DLMS_H
#define SMARTMETER_DLMS_H

#include "internal.h"

/* One reassembled APDU never exceeds a whole-frame cap: M-Bus allows 16 segments of <= 250 bytes,
 * HDLC/GBT have no count limit of their own, so the APDU cap bounds them all (decoder.h). */
#define SM_DLMS_MAX_APDU SM_MAX_FRAME

/* A multi-frame message being collected: HDLC segments, M-Bus segments or GBT blocks. */
struct sm_reasm {
	uint8_t buf[SM_DLMS_MAX_APDU];
	size_t len;
	bool active;             /* a first part was seen, the last one not yet */
	bool skipping;           /* GBT: rest of a broken message, dropped without further errors */
	bool tsap;               /* M-Bus: segments carry the STSAP/DTSAP bytes */
	enum sm_framing framing; /* of the first part */
	uint64_t first_offset;   /* stream offset of the first part's first byte */
	uint64_t end_offset;     /* stream offset just past the last part so far */
	unsigned parts;          /* parts appended so far */
	unsigned next;           /* expected next sequence / block number */
};

/* Observer of every complete APDU (after LLC strip and reassembly, before decryption): a test seam,
 * also usable for hex capture. The bytes are valid during the call only. */
typedef void (*sm_apdu_tap)(void *ctx, const uint8_t *apdu, size_t len, const struct sm_origin *org);

struct sm_dlms {
	struct sm_reasm hdlc; /* HDLC segmentation (PROTOCOLS.md §3.3) */
	struct sm_reasm mbus; /* M-Bus DLMS transport segments (§3.5) */
	struct sm_reasm gbt;  /* general-block-transfer (§4.4) */
	sm_apdu_tap tap;
	void *tap_ctx;
};

/* dlms.c: install (or clear, tap = NULL) the APDU observer. */
void sm_dlms_set_tap(struct sm_dlms *d, sm_apdu_tap tap, void *ctx);

/* dlms.c: reassembly helpers. start() forgets any partial message silently (callers report it first). */
void sm_reasm_start(struct sm_reasm *r, enum sm_framing framing, uint64_t offset);
/* Appends; false (and nothing appended) when the cap would be exceeded. */
bool sm_reasm_append(struct sm_reasm *r, const uint8_t *p, size_t n);
void sm_reasm_reset(struct sm_reasm *r);
/* The origin of the whole message: first part's offset, bytes on the wire up to the last part's end. */
struct sm_origin sm_reasm_origin(const struct sm_reasm *r);
/* Drop a partial message with an error event whose detail is `why` (printf-style). */
void sm_reasm_drop(struct sm_decoder *dec, struct sm_reasm *r, enum sm_err err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


/* apdu.c: the payload of one link-layer frame (or one bare APDU): strips the LLC header, collects
 * general-block-transfer blocks, and dispatches every complete APDU. */
enum sm_err sm_apdu_input(struct sm_decoder *dec, const uint8_t *p, size_t len, const struct sm_origin *org);
/* apdu.c: one complete APDU: 0F -> data-notification, DB/DC -> decrypt then dispatch the plaintext
 * (0F, or '/' for encrypted DSMR). Reports anything else as an error event. Returns SM_OK when a
 * telegram was emitted. */
enum sm_err sm_apdu_dispatch(struct sm_decoder *dec, const uint8_t *apdu, size_t len, const struct sm_origin *org);
/* apdu.c: length of an LLC header (E6 E7 00 / E6 E6 00) at p, or 0. */
size_t sm_llc_len(const uint8_t *p, size_t len);

#endif
