/* c1218.h — reading a meter through its ANSI C12.18 optical port (C12.19 tables), as pure code.
 * Three layers, all bytes in / bytes out, no I/O, no clock, no allocation, every wire length checked:
 *   link      packets  EE 00 ctrl seq len(2, big-endian) data CRC-16/X-25(2, low byte first),
 *             toggle bit, duplicate detection, multi-packet reassembly (c1218.c);
 *   tables    ST0/ST1/ST21 (how to read), BT23/BT28 (what to publish) -> struct sm_telegram (c1219.c);
 *   session   Identify .. Negotiate .. Logon .. Security .. Read .. Logoff .. Terminate as a state machine:
 *             events in (bytes received, a timer expired), actions out (bytes to send, when to wake,
 *             a telegram, the outcome) (c1218_session.c).
 * The caller owns every struct here (no hidden allocation). Nothing here ever writes a meter table. */
#ifndef SMARTMETER_C1218_H
#define SMARTMETER_C1218_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/error.h"
#include "smartmeter/reading.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- link layer (C12.18 §5.3) ---- */
#define SM_C1218_STP 0xEEu  /* start of packet */
#define SM_C1218_ACK 0x06u
#define SM_C1218_NAK 0x15u
#define SM_C1218_CTRL_MULTI 0x80u  /* part of a multi-packet transmission */
#define SM_C1218_CTRL_FIRST 0x40u  /* first packet of a multi-packet transmission */
#define SM_C1218_CTRL_TOGGLE 0x20u /* flipped for every new packet a side sends, kept on a resend */
#define SM_C1218_HEADER 6u         /* EE 00 ctrl seq len(2) */
#define SM_C1218_OVERHEAD 8u       /* header + CRC: a negotiated packet size counts these too */
/* Largest packet we accept or ask for. C12.18 packet sizes are 16-bit; meters negotiate 64..1024 in
 * practice (MeteringSDK defaults to 1024): anything bigger is capped to this when we size reads. */
#define SM_C1218_MAX_PACKET 1024u
#define SM_C1218_MAX_DATA (SM_C1218_MAX_PACKET - SM_C1218_OVERHEAD)
/* Reassembled answer: we never ask for more than SM_C1218_READ_MAX table bytes + 4 bytes of framing. */
#define SM_C1218_MAX_MESSAGE 1040u
#define SM_C1218_READ_MAX 1024u
#define SM_C1218_PASSWORD_LEN 20u
#define SM_C1218_USER_LEN 10u

/* Response codes (C12.18 §5.3.2). */
enum sm_c1218_code {
	SM_C1218_OK = 0x00,   /* acknowledge */
	SM_C1218_ERR = 0x01,  /* error (a refused password) */
	SM_C1218_SNS = 0x02,  /* service not supported */
	SM_C1218_ISC = 0x03,  /* insufficient security clearance */
	SM_C1218_ONP = 0x04,  /* operation not possible */
	SM_C1218_IAR = 0x05,  /* inappropriate action requested */
	SM_C1218_BSY = 0x06,  /* device busy */
	SM_C1218_DNR = 0x07,  /* data not ready */
	SM_C1218_DLK = 0x08,  /* data locked */
	SM_C1218_RNO = 0x09,  /* renegotiate request */
	SM_C1218_ISSS = 0x0A, /* invalid service sequence state */
};

/* "ok", "err", "sns", "isc", "onp", "iar", "bsy", "dnr", "dlk", "rno", "isss"; "unknown" otherwise. */
const char *sm_c1218_code_name(uint8_t code);

/* Build one packet around data[0..len) into out. Returns the packet size, or 0 when len exceeds
 * SM_C1218_MAX_DATA or out is smaller than len + SM_C1218_OVERHEAD. */
size_t sm_c1218_packet_build(uint8_t ctrl, uint8_t seq, const uint8_t *data, size_t len, uint8_t *out, size_t outsz);

struct sm_c1218_packet {
	uint8_t ctrl;
	uint8_t seq;          /* packets still to come in this transmission */
	const uint8_t *data;  /* points into the scanned buffer */
	size_t len;
	uint16_t crc;         /* as sent (for duplicate detection) */
	size_t size;          /* bytes of the whole packet */
};

enum sm_c1218_scan {
	SM_C1218_SCAN_NOT_START = 0, /* buf[0] is not the start of a packet: skip one byte */
	SM_C1218_SCAN_MORE,          /* a packet has begun: need more bytes */
	SM_C1218_SCAN_PACKET,        /* *ret is a complete packet with a good CRC */
	SM_C1218_SCAN_BAD_CRC,       /* complete but damaged: NAK it and drop ret->size bytes */
};

/* Judge the bytes at buf[0]. Length fields above max_data (at most SM_C1218_MAX_DATA) make the start
 * byte a false one (SCAN_NOT_START), so a stray EE in noise cannot make us wait for 64 KiB. */
enum sm_c1218_scan sm_c1218_scan(const uint8_t *buf, size_t len, size_t max_data, struct sm_c1218_packet *ret);

/* Receive side of one direction: duplicate detection and multi-packet reassembly. */
struct sm_c1218_rx {
	uint8_t msg[SM_C1218_MAX_MESSAGE];
	size_t len;
	bool in_progress;       /* a multi-packet transmission has begun */
	uint8_t next_seq;       /* seq the next part must carry */
	bool have_last;
	uint8_t last_toggle;
	uint16_t last_crc;
};

enum sm_c1218_rx_result {
	SM_C1218_RX_DUPLICATE = 0, /* same toggle and CRC as the last packet accepted: ACK it, drop it */
	SM_C1218_RX_PART,          /* part of a multi-packet message kept: ACK it, wait for the next */
	SM_C1218_RX_MESSAGE,       /* rx->msg[0..rx->len) is a complete message */
	SM_C1218_RX_SEQUENCE,      /* part out of order or message too long: what was gathered is dropped */
};

void sm_c1218_rx_reset(struct sm_c1218_rx *rx);
/* Take one packet with a good CRC (ACK it in every case: the CRC held). */
enum sm_c1218_rx_result sm_c1218_rx_add(struct sm_c1218_rx *rx, const struct sm_c1218_packet *p);

/* ---- services (C12.18 §5.3.2): request payloads, multi-byte fields big-endian ---- */
#define SM_C1218_SVC_IDENTIFY 0x20u
#define SM_C1218_SVC_TERMINATE 0x21u
#define SM_C1218_SVC_READ_FULL 0x30u
#define SM_C1218_SVC_READ_PARTIAL 0x3Fu
#define SM_C1218_SVC_LOGON 0x50u
#define SM_C1218_SVC_SECURITY 0x51u
#define SM_C1218_SVC_LOGOFF 0x52u
#define SM_C1218_SVC_NEGOTIATE1 0x61u /* negotiate with one baud rate code */
#define SM_C1218_BAUD_9600 0x06u
#define SM_C1218_MAX_REQUEST 32u      /* largest request we build: Security, 21 bytes */

/* Each writes the request into out (at least SM_C1218_MAX_REQUEST bytes) and returns its length. */
size_t sm_c1218_req_identify(uint8_t *out);
size_t sm_c1218_req_negotiate(uint8_t *out, uint16_t packet_size, uint8_t npackets, uint8_t baud_code);
/* user: up to SM_C1218_USER_LEN characters (more are cut), space padded. */
size_t sm_c1218_req_logon(uint8_t *out, uint16_t user_id, const char *user);
size_t sm_c1218_req_security(uint8_t *out, const uint8_t password[SM_C1218_PASSWORD_LEN]);
size_t sm_c1218_req_read_full(uint8_t *out, uint16_t table);
size_t sm_c1218_req_read_partial(uint8_t *out, uint16_t table, uint32_t offset, uint16_t count);
size_t sm_c1218_req_logoff(uint8_t *out);
size_t sm_c1218_req_terminate(uint8_t *out);

struct sm_c1218_identity {
	uint8_t standard;  /* 0 = C12.18 */
	uint8_t version;
	uint8_t revision;
};
/* Answers that begin with the ok code; SM_E_TRUNCATED / SM_E_SYNTAX when shorter or not ok. */
enum sm_err sm_c1218_parse_identify(const uint8_t *msg, size_t len, struct sm_c1218_identity *ret);
enum sm_err sm_c1218_parse_negotiate(const uint8_t *msg, size_t len, uint16_t *ret_packet_size, uint8_t *ret_npackets);
/* Read answer: ok count(2) data checksum. Checks the count against the message and the checksum (two's
 * complement of the byte sum of data). SM_E_TRUNCATED (short or count beyond the message), SM_E_SYNTAX
 * (bytes after the checksum), SM_E_CHECKSUM. On success *ret_data points into msg. */
enum sm_err sm_c1218_parse_read(const uint8_t *msg, size_t len, const uint8_t **ret_data, size_t *ret_count);
/* Two's complement of the byte sum, as the read answer carries it. */
uint8_t sm_c1218_table_checksum(const uint8_t *p, size_t n);

/* The 20-byte password from what the user configured (the key the grid operator sends).
 * hex: an even number of hex digits, at most 40, decoded; ascii: the characters as given, at most 20.
 * Padded to 20 bytes with NUL or space. SM_E_INVAL for anything else (the text is never echoed). */
enum sm_c1218_pw_format { SM_C1218_PW_HEX = 0, SM_C1218_PW_ASCII };
enum sm_c1218_pw_pad { SM_C1218_PAD_NUL = 0, SM_C1218_PAD_SPACE };
enum sm_err sm_c1218_password(const char *text, enum sm_c1218_pw_format fmt, enum sm_c1218_pw_pad pad,
                              uint8_t ret[SM_C1218_PASSWORD_LEN], size_t *ret_given);

/* ---- tables (C12.19) ---- */
#define SM_C1219_ST0 0u   /* GEN_CONFIG_TBL */
#define SM_C1219_ST1 1u   /* GENERAL_MFG_ID_TBL */
#define SM_C1219_ST21 21u /* ACTUAL_REGISTER_TBL */
#define SM_C1219_BT23 23u /* CURRENT_REG_DATA_TBL */
#define SM_C1219_BT28 28u /* PRESENT_REGISTER_DATA_TBL */
#define SM_C1219_ST0_READ 7u   /* FORMAT_CONTROL_1..3 + DEVICE_CLASS */
#define SM_C1219_ST1_READ 32u  /* MANUFACTURER .. MFG_SERIAL_NUMBER */
#define SM_C1219_ST21_READ 10u /* REG_FUNC1_FLAGS .. NBR_PRESENT_VALUES */
/* Caps on what we read and publish: NES meters carry 2..4 summations and 55 present values. */
#define SM_C1219_MAX_SUMMATIONS 16u
#define SM_C1219_MAX_PRESENT_VALUES 64u

/* What ST0, ST1 and ST21 say about how to read the rest (decode ST0 before ST1: ID_FORM). */
struct sm_c1219_config {
	bool big_endian;         /* ST0 DATA_ORDER */
	uint8_t char_format;     /* ST0 CHAR_FORMAT (1 = ISO 7-bit, 2 = ISO 8859/1) */
	uint8_t ni_format1;      /* summations, present values */
	uint8_t ni_format2;      /* demands */
	bool id_bcd;             /* ST0 ID_FORM: the ST1 serial number is 8 bytes of BCD, not 16 characters */
	char device_class[5];
	char manufacturer[5];    /* ST1, trailing spaces/NULs cut */
	char model[9];
	uint8_t hw_version, hw_revision, fw_version, fw_revision;
	char serial[17];
	uint8_t reg_func1, reg_func2;
	uint8_t nbr_summations, nbr_demands, nbr_tiers, nbr_present_demands, nbr_present_values;
};

/* Sizes in bytes of the non-integer formats we decode exactly (integers and BCD); 0 = not supported. */
size_t sm_c1219_ni_size(uint8_t ni_format);
/* One value of that format, scaled by 10^exp10. SM_E_UNSUPPORTED (float formats), SM_E_TRUNCATED, SM_E_SYNTAX (bad BCD). */
enum sm_err sm_c1219_ni_decode(uint8_t ni_format, bool big_endian, const uint8_t *p, size_t n, struct sm_number *ret);

enum sm_err sm_c1219_decode_st0(const uint8_t *p, size_t n, struct sm_c1219_config *cfg);
enum sm_err sm_c1219_decode_st1(const uint8_t *p, size_t n, struct sm_c1219_config *cfg);
enum sm_err sm_c1219_decode_st21(const uint8_t *p, size_t n, struct sm_c1219_config *cfg);

/* Where the parts we publish lie: BT23 from offset 0 (demand-reset counter if flagged, then the summations,
 * capped), BT28 present values after the present demands. SM_E_UNSUPPORTED for a format we cannot size. */
enum sm_err sm_c1219_bt23_span(const struct sm_c1219_config *cfg, uint32_t *ret_offset, size_t *ret_count);
enum sm_err sm_c1219_bt28_span(const struct sm_c1219_config *cfg, uint32_t *ret_offset, size_t *ret_count);

/* A telegram with the readings, owned by this struct (valid while it lives and is not rebuilt). */
#define SM_C1219_MAX_READINGS (SM_C1219_MAX_SUMMATIONS + SM_C1219_MAX_PRESENT_VALUES + 2u)
struct sm_c1219_telegram {
	struct sm_telegram tg;
	struct sm_reading readings[SM_C1219_MAX_READINGS];
	char meter_id[17];
	char header[32];
	char firmware[16];
};

/* Build the telegram from BT23 (bt23/n23 as read with the bt23 span; may be empty) and BT28 present values
 * (as read with the bt28 span; may be empty). NES meaning: summation 0 = A+ 1-0:1.8.0, 1 = A- 1-0:2.8.0 (Wh);
 * present values 0/1 W, 2/3 var, 4-6 mA -> A, 7-9 mV -> V, 11 mHz -> Hz, 12 VA with OBIS codes, every other
 * index raw by position (pos_<index>; further summations pos_<100+index>). meter_id = ST1 serial.
 * SM_E_TRUNCATED when a span is shorter than the config says, SM_E_UNSUPPORTED/SM_E_SYNTAX from values. */
enum sm_err sm_c1219_telegram_build(struct sm_c1219_telegram *out, const struct sm_c1219_config *cfg,
                                    const uint8_t *bt23, size_t n23, const uint8_t *bt28, size_t n28);

/* ---- session ---- */
/* Timeouts and retries of existing clients (MeteringSDK ProtocolC1218, EPRI SE-240): an ACK within 2 s,
 * a resend up to 3 times; 500 ms between characters of a packet; the meter drops a session after 6 s of
 * silence, so an answer must start within that; bsy/dnr retried 2 s apart, up to 20 times. */
#define SM_C1218_ACK_TIMEOUT_MS 2000u
#define SM_C1218_RESENDS 3u
#define SM_C1218_CHAR_TIMEOUT_MS 500u
#define SM_C1218_RESPONSE_TIMEOUT_MS 6000u
#define SM_C1218_BUSY_DELAY_MS 2000u
#define SM_C1218_BUSY_RETRIES 20u

struct sm_c1218_session_config {
	uint16_t user_id;
	char user[SM_C1218_USER_LEN + 1];
	uint8_t password[SM_C1218_PASSWORD_LEN];
	bool use_security;        /* false: no Security service (a meter without a password) */
	uint16_t packet_size;     /* asked in Negotiate (the meter's answer is used); 64 */
	uint8_t npackets;         /* 2 */
};

enum sm_c1218_outcome {
	SM_C1218_RUNNING = 0,  /* keep feeding bytes and timer events */
	SM_C1218_DONE,         /* the session ended with Terminate; idle now */
	SM_C1218_FAILED,       /* ended early (failure says why; a Terminate is in tx when a session was open) */
};

enum sm_c1218_failure {
	SM_C1218_FAIL_NONE = 0,
	SM_C1218_FAIL_SILENT,    /* not one byte came back */
	SM_C1218_FAIL_GARBLED,   /* bytes came, but never a packet with a good CRC */
	SM_C1218_FAIL_LINK,      /* a request was not acknowledged after the resends */
	SM_C1218_FAIL_TIMEOUT,   /* acknowledged, but the answer never came */
	SM_C1218_FAIL_REFUSED,   /* Security answered with an error: wrong password */
	SM_C1218_FAIL_LOGON,     /* Logon refused */
	SM_C1218_FAIL_SERVICE,   /* another service answered with an error code (code) */
	SM_C1218_FAIL_PROTOCOL,  /* an answer we cannot use (short, bad checksum, out of sequence) */
	SM_C1218_FAIL_TABLE,     /* a table we cannot decode */
};

const char *sm_c1218_failure_name(enum sm_c1218_failure f);

/* What the caller must do after every call. */
struct sm_c1218_step {
	const uint8_t *tx;      /* write these bytes to the port now (valid until the next call) */
	size_t tx_len;
	uint64_t wake_ms;       /* call sm_c1218_session_timer() at this time (same clock as now_ms); 0 = never */
	const struct sm_telegram *telegram; /* fresh readings: hand them on now (valid until the next call) */
	enum sm_c1218_outcome outcome;
	enum sm_c1218_failure failure;
	uint8_t code;           /* the response code, for REFUSED / LOGON / SERVICE */
	const char *detail;     /* one line saying what happened, never a secret; "" when nothing */
};

enum sm_c1218_phase {
	SM_C1218_PH_IDLE = 0,
	SM_C1218_PH_IDENTIFY,
	SM_C1218_PH_NEGOTIATE,
	SM_C1218_PH_LOGON,
	SM_C1218_PH_SECURITY,
	SM_C1218_PH_ST0,
	SM_C1218_PH_ST1,
	SM_C1218_PH_ST21,
	SM_C1218_PH_BT23,
	SM_C1218_PH_BT28,
	SM_C1218_PH_LOGOFF,
	SM_C1218_PH_TERMINATE,
};

/* A configuration table the meter does not have for us (sns, onp or iar, also to a full read) does not stop
 * the session: the NES layout is assumed instead (what termineter users read: little-endian INT32,
 * BT23 = 2 summations, BT28 = 10 present values, no serial number) and the bit is set. */
#define SM_C1218_DEFAULT_ST0 0x01u
#define SM_C1218_DEFAULT_ST1 0x02u
#define SM_C1218_DEFAULT_ST21 0x04u

/* Plain data so the caller can embed it; touch it only through the functions below. */
struct sm_c1218_session {
	struct sm_c1218_session_config cfg;
	enum sm_c1218_phase phase;
	int wait;                      /* what the deadline is for (c1218_session.c) */
	uint64_t deadline_ms;
	uint64_t char_deadline_ms;     /* a packet is half-received */
	unsigned resends;
	unsigned busy_retries;
	bool full_read;                /* a config table is being read with the full-read service */
	uint8_t toggle;                /* toggle bit of our next new packet */
	uint8_t req[SM_C1218_MAX_REQUEST];
	size_t req_len;
	uint8_t pkt[SM_C1218_MAX_REQUEST + SM_C1218_OVERHEAD]; /* the request packet as sent, for resends */
	size_t pkt_len;
	uint8_t tx[2 * SM_C1218_MAX_PACKET];
	size_t tx_len;
	uint8_t in[SM_C1218_MAX_PACKET + 16];
	size_t in_len;
	struct sm_c1218_rx rx;
	uint64_t bytes_in;             /* this session */
	uint64_t packets_in;
	uint64_t crc_errors;           /* damaged packets NAKed since init (never reset by a session) */
	uint16_t packet_size;          /* negotiated */
	uint8_t npackets;
	struct sm_c1218_identity identity;
	bool have_config;              /* ST0/ST1/ST21 read on this connection */
	uint8_t config_defaults;       /* SM_C1218_DEFAULT_*: tables the meter refused, NES defaults used */
	struct sm_c1219_config tables;
	uint32_t bt23_offset;
	size_t bt23_count;
	uint8_t bt23[SM_C1218_READ_MAX];
	size_t bt23_len;
	uint32_t bt28_offset;
	size_t bt28_count;
	uint8_t bt28[SM_C1218_READ_MAX];
	size_t bt28_len;
	struct sm_c1219_telegram telegram;
	char detail[192];
};

/* Ready, idle, with no configuration tables known. The password is copied (sm_c1218_session_wipe clears it). */
void sm_c1218_session_init(struct sm_c1218_session *s, const struct sm_c1218_session_config *cfg);
/* The port was (re)opened: forget the configuration tables and any half session, without sending anything. */
void sm_c1218_session_reset(struct sm_c1218_session *s);
void sm_c1218_session_wipe(struct sm_c1218_session *s);
/* Begin a session (Identify). Ignored (outcome RUNNING, nothing sent) when one is running. */
void sm_c1218_session_start(struct sm_c1218_session *s, uint64_t now_ms, struct sm_c1218_step *step);
/* Bytes from the port. Outside a session good packets are still ACKed (a late answer) and dropped. */
void sm_c1218_session_input(struct sm_c1218_session *s, uint64_t now_ms, const uint8_t *buf, size_t len,
                            struct sm_c1218_step *step);
/* The wake time passed. */
void sm_c1218_session_timer(struct sm_c1218_session *s, uint64_t now_ms, struct sm_c1218_step *step);
/* End a running session now (shutdown, a stuck session): Terminate in tx, outcome FAILED. */
void sm_c1218_session_abort(struct sm_c1218_session *s, struct sm_c1218_step *step);
bool sm_c1218_session_busy(const struct sm_c1218_session *s);

#ifdef __cplusplus
}
#endif
#endif
