/* dlmstime.c — DLMS date-time, date and time (PROTOCOLS.md §5.3) into struct sm_datetime.
 * Also decides whether 12 bytes of an octet-string are a date-time at all: meters send both clocks and
 * 12-character ids as octet-strings of 12 (Sagemcom T210-D "178210128502"), so only plausible field
 * values count. Must never guess a time zone: the offset is only what the deviation field states.
 *
 *   0-1 year (BE, FFFF = n/s)  2 month  3 day  4 weekday  5 hour  6 minute  7 second  8 hundredths
 *   9-10 deviation (int16 BE minutes, 8000 = n/s; offset east of UTC = -deviation)  11 clock status (bit 7 DST)
 */
#include <string.h>

#include "axdr.h"

#define SM_DLMS_NOT_SPECIFIED           0xFFu
#define SM_DLMS_YEAR_NOT_SPECIFIED      0xFFFFu
#define SM_DLMS_DEVIATION_NOT_SPECIFIED 0x8000u
/* Plausible meter years: older than any smart meter / further out than any clock battery lasts are
 * text that happens to be 12 bytes long (ASCII digits give years >= 0x3030 = 12336). */
#define SM_DLMS_YEAR_MIN 1970u
#define SM_DLMS_YEAR_MAX 2200u
/* Blue Book: deviation -720 ... +720 minutes. */
#define SM_DLMS_DEVIATION_MAX 720

/* month/day specials: 0xFD/0xFE (DST end/begin, second-last/last day) and 0xFF. */
static bool field_ok(uint8_t v, uint8_t lo, uint8_t hi, bool specials)
{
	if (v >= lo && v <= hi)
		return true;
	if (v == SM_DLMS_NOT_SPECIFIED)
		return true;
	return specials && (v == 0xFD || v == 0xFE);
}

static bool date_part(const uint8_t *p, bool strict, struct sm_datetime *dt)
{
	uint16_t year = (uint16_t)(p[0] << 8 | p[1]);
	uint8_t month = p[2], day = p[3], wday = p[4];

	if (strict) {
		if (year != SM_DLMS_YEAR_NOT_SPECIFIED && (year < SM_DLMS_YEAR_MIN || year > SM_DLMS_YEAR_MAX))
			return false;
		/* weekday 0 is out of spec but sent by Aidon 6534 (corpus hdlc-aidon-6534-list3-no) */
		if (!field_ok(month, 1, 12, true) || !field_ok(day, 1, 31, true) || !field_ok(wday, 0, 7, false))
			return false;
	}
	dt->year = year;
	dt->month = month;
	dt->day = day;
	/* A recurring or partly unspecified date cannot be printed as a calendar date. */
	dt->has_date = year != SM_DLMS_YEAR_NOT_SPECIFIED && month >= 1 && month <= 12 && day >= 1 && day <= 31;
	return true;
}

static bool time_part(const uint8_t *p, bool strict, struct sm_datetime *dt)
{
	uint8_t hour = p[0], minute = p[1], second = p[2], hundredths = p[3];

	if (strict && (!field_ok(hour, 0, 23, false) || !field_ok(minute, 0, 59, false) ||
	               !field_ok(second, 0, 59, false) || !field_ok(hundredths, 0, 99, false)))
		return false;
	dt->has_time = hour <= 23;
	dt->hour = dt->has_time ? hour : 0;
	/* "hour known, minute not specified" is read as the full hour */
	dt->minute = minute <= 59 ? minute : 0;
	dt->second = second <= 59 ? second : 0;
	dt->hundredths = hundredths <= 99 ? hundredths : SM_DLMS_NOT_SPECIFIED;
	return true;
}

bool sm_dlms_datetime(const uint8_t p[SM_DLMS_DATETIME_LEN], bool strict, struct sm_datetime *ret)
{
	struct sm_datetime dt;
	memset(&dt, 0, sizeof(dt));
	if (!date_part(p, strict, &dt) || !time_part(p + 5, strict, &dt))
		return false;

	int16_t deviation = (int16_t)(uint16_t)(p[9] << 8 | p[10]);
	uint8_t status = p[11];
	if ((uint16_t)deviation != SM_DLMS_DEVIATION_NOT_SPECIFIED) {
		if (deviation > SM_DLMS_DEVIATION_MAX || deviation < -SM_DLMS_DEVIATION_MAX) {
			if (strict)
				return false;
		} else {
			/* §5.3: real meters send -60 in CET and -120 in CEST, so UTC = local + deviation. */
			dt.has_offset = true;
			dt.offset_min = (int16_t)-deviation;
		}
	}
	dt.dst = status != SM_DLMS_NOT_SPECIFIED && (status & 0x80u);
	if (strict && !dt.has_date && !dt.has_time)
		return false;
	*ret = dt;
	return true;
}

bool sm_dlms_date(const uint8_t p[5], struct sm_datetime *ret)
{
	struct sm_datetime dt;
	memset(&dt, 0, sizeof(dt));
	dt.hundredths = SM_DLMS_NOT_SPECIFIED;
	if (!date_part(p, false, &dt))
		return false;
	*ret = dt;
	return true;
}

bool sm_dlms_time(const uint8_t p[4], struct sm_datetime *ret)
{
	struct sm_datetime dt;
	memset(&dt, 0, sizeof(dt));
	if (!time_part(p, false, &dt))
		return false;
	*ret = dt;
	return true;
}
