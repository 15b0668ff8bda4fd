/* reading.h — what a decoded telegram or notification looks like.
 * Plain data owned by the decoder: valid only during the telegram callback, never freed by the caller.
 * Values keep the meter's exactness (decimal mantissa + exponent); no floating point in the model. */
#ifndef SMARTMETER_READING_H
#define SMARTMETER_READING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* value = (neg ? -1 : 1) * mag * 10^exp10. mag keeps every digit the meter sent
 * (DSMR "001.230" -> mag 1230, exp10 -3), so printing reproduces "1.230". */
struct sm_number {
	uint64_t mag;
	int8_t exp10;
	bool neg;
};

/* Wall-clock time as the meter stated it. offset_min is minutes east of UTC
 * (CEST = +120) and meaningful only when has_offset. Fields the meter left
 * "not specified" are flagged; hundredths is 0xFF when absent. */
struct sm_datetime {
	uint16_t year;
	uint8_t month, day, hour, minute, second;
	uint8_t hundredths;
	bool has_date;
	bool has_time;
	bool has_offset;
	bool dst;            /* DSMR 'S' flag or DLMS clock-status bit 7 */
	int16_t offset_min;
};

enum sm_value_type {
	SM_VALUE_NONE = 0,   /* empty value "()", A-XDR null-data */
	SM_VALUE_NUMBER,
	SM_VALUE_TEXT,       /* printable text (ASCII/UTF-8), str/len */
	SM_VALUE_OCTETS,     /* binary bytes, str/len: printed as lowercase hex */
	SM_VALUE_BOOL,
	SM_VALUE_DATETIME,
	SM_VALUE_ROWS,       /* buffer/profile: rows x cols cells in sm_telegram.cells */
};

struct sm_value {
	enum sm_value_type type;
	const char *unit;    /* normalised spelling ("kWh", "m3", ...) or NULL; static or decoder-owned */
	union {
		struct sm_number num;
		bool boolean;
		struct sm_datetime dt;
		struct {
			const char *str; /* not NUL-terminated; decoder-owned */
			size_t len;
		} text;
		struct {
			uint16_t first;  /* index into sm_telegram.cells */
			uint16_t nrows;
			uint16_t ncols;
		} rows;
	} u;
};

/* One OBIS-keyed (or, for unmapped positional lists, position-keyed) value. */
struct sm_reading {
	uint8_t obis[6];     /* A B C D E F; F = 255 when the wire had none (DSMR) */
	bool has_obis;       /* false: value known only by its position in the body */
	uint16_t position;   /* index in the notification body / telegram line number */
	struct sm_value value;
	bool has_timestamp;  /* capture time (M-Bus sub-meter, BE peak demand) */
	struct sm_datetime timestamp;
	const char *raw;     /* exact text the meter sent, when it differs from value (hex ids); may be NULL */
	size_t raw_len;
	bool unscaled;       /* DLMS number with no scaler_unit on the wire and no rule of an identified meter
	                      * family: published as sent, without unit (a consumer may apply its own) */
};

enum sm_protocol {
	SM_PROTOCOL_DSMR = 0,
	SM_PROTOCOL_DLMS,
	SM_PROTOCOL_SML,     /* SML 1.04 push files (German meters' optical INFO interface) */
	SM_PROTOCOL_C1218,   /* polled through an ANSI C12.18 optical port, C12.19 tables */
};

enum sm_framing {
	SM_FRAMING_DSMR = 0, /* ASCII '/' ... '!' */
	SM_FRAMING_HDLC,
	SM_FRAMING_MBUS,
	SM_FRAMING_RAW,      /* bare APDU / bare ciphered APDU */
	SM_FRAMING_SML,      /* SML transport v1: 1B1B1B1B 01010101 ... 1B1B1B1B 1A pad CRC */
	SM_FRAMING_C1218,    /* C12.18 packets (EE 00 ...) */
};

struct sm_telegram {
	enum sm_protocol protocol;
	enum sm_framing framing;
	uint64_t offset;            /* stream byte offset of the first byte of the frame */
	size_t length;              /* bytes of the frame(s) on the wire */

	bool encrypted;             /* frame was decrypted */
	bool authenticated;         /* GCM tag verified (only meaningful when encrypted) */
	uint8_t security_control;   /* SC byte when encrypted */
	uint8_t system_title[8];    /* when encrypted */
	uint32_t invocation_counter;/* when encrypted */
	bool counter_backwards;     /* invocation counter lower than the last seen for this system title */

	const char *meter_id;       /* NUL-terminated serial / equipment id (SML: server id as lowercase hex), or NULL */
	const char *header;         /* NUL-terminated DSMR identification line (without '/'), DLMS list id,
	                             * SML manufacturer id ("EMH"), or NULL */
	const char *dsmr_version;   /* NUL-terminated 1-3:0.2.8 / 0-0:96.1.4 text, or NULL */
	bool crc_present;           /* DSMR: telegram carried a CRC (and it matched) */

	bool has_datetime;          /* DSMR 0-0:1.0.0 or DLMS notification date-time */
	struct sm_datetime datetime;
	bool has_invoke_id;
	uint32_t invoke_id;         /* DLMS long-invoke-id-and-priority */

	const char *note;           /* NUL-terminated remark (e.g. "unknown layout: values keyed by position"), or NULL */

	size_t nreadings;
	const struct sm_reading *readings;
	size_t ncells;
	const struct sm_value *cells; /* SM_VALUE_ROWS storage */
};

/* Formatting helpers: exact, locale-independent, always NUL-terminated.
 * Each returns the number of characters written (excluding NUL) or 0 if out does not fit. */

/* "A-B:C.D.E" with ".F" appended only when F != 255. Needs 24 bytes. */
size_t sm_obis_format(const uint8_t obis[6], char *out, size_t outsz);
#define SM_OBIS_STRLEN 24

/* Parse "A-B:C.D.E[.F|*F]" (also "A.B.C.D.E.F"). Missing F becomes 255. Returns true on success. */
bool sm_obis_parse(const char *s, size_t len, uint8_t ret_obis[6]);

/* Decimal text without float artefacts: mag 1230 exp -3 -> "1.230"; exp > 0 appends zeros.
 * Needs at most 48 bytes. */
size_t sm_number_format(const struct sm_number *n, char *out, size_t outsz);
#define SM_NUMBER_STRLEN 48

/* Decimal digits of v ("%llu" without printf). Needs 21 bytes. */
size_t sm_u64_format(uint64_t v, char *out, size_t outsz);
#define SM_U64_STRLEN 21

/* Nearest double, for consumers that need arithmetic (rates, HA state). */
double sm_number_to_double(const struct sm_number *n);

/* Multiply by 10^shift exactly (shift may be negative: just moves the decimal point). */
void sm_number_scale(struct sm_number *n, int shift);

/* ISO 8601: "2017-09-16T19:11:08+02:00"; no offset part when !has_offset; hundredths as ".HH" when
 * sent and not zero (1..99: "2022-08-10T11:24:34.84+02:00"). Date-only / time-only values print their
 * part. Needs 32 bytes. */
size_t sm_datetime_format(const struct sm_datetime *dt, char *out, size_t outsz);
#define SM_DATETIME_STRLEN 40

/* Display name of a framing for log lines: "DSMR", "HDLC", "M-Bus", "APDU", "SML", "C12.18". */
const char *sm_framing_name(enum sm_framing f);

/* Protocol name of the JSON contract and log lines: "dsmr", "dlms", "sml", "c1218". */
const char *sm_protocol_name(enum sm_protocol p);

/* Find the first reading with this OBIS code (F compared too). NULL if absent. */
const struct sm_reading *sm_telegram_find(const struct sm_telegram *t, const uint8_t obis[6]);

#ifdef __cplusplus
}
#endif
#endif
