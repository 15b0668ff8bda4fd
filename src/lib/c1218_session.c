/* c1218_session.c — one C12.18 read session as a state machine with no I/O and no clock of its own:
 *   Identify -> Negotiate -> Logon -> Security -> [ST0 -> ST1 -> ST21 once per connection] ->
 *   BT23 -> BT28 (in parts when it does not fit one answer) -> telegram -> Logoff -> Terminate.
 * The caller feeds bytes and timer expiries with the current time and carries out the step: write
 * step->tx, wake at step->wake_ms, publish step->telegram. Must never write a table, never put the
 * password in a detail text, and never wait for anything but its own deadlines.
 *
 * Link rules (C12.18 §5.3; MeteringSDK ProtocolC1218): every good packet is ACKed, a damaged one NAKed;
 * our request is resent (same toggle bit) on NAK or when no ACK comes in 2 s, three times; an answer
 * arriving while we wait for the ACK proves the request arrived (the ACK was lost). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "smartmeter/c1218.h"

enum wait {
	W_NONE = 0,
	W_ACK,     /* our request is out: an ACK (or the answer) must come */
	W_ANSWER,  /* acknowledged: the answer must come */
	W_BUSY,    /* the meter said bsy/dnr: ask again at the deadline */
};

/* C12.18 defaults before Negotiate: 64-byte packets, one of them. */
#define DEFAULT_PACKET_SIZE 64u
#define DEFAULT_NPACKETS 1u
/* Smallest packet that carries our largest request (Security: 21 bytes). */
#define MIN_PACKET_SIZE (SM_C1218_MAX_REQUEST + SM_C1218_OVERHEAD)

const char *sm_c1218_failure_name(enum sm_c1218_failure f)
{
	switch (f) {
	case SM_C1218_FAIL_NONE: return "none";
	case SM_C1218_FAIL_SILENT: return "no answer";
	case SM_C1218_FAIL_GARBLED: return "garbled answer";
	case SM_C1218_FAIL_LINK: return "link failure";
	case SM_C1218_FAIL_TIMEOUT: return "answer timeout";
	case SM_C1218_FAIL_REFUSED: return "password refused";
	case SM_C1218_FAIL_LOGON: return "logon refused";
	case SM_C1218_FAIL_SERVICE: return "service refused";
	case SM_C1218_FAIL_PROTOCOL: return "bad answer";
	case SM_C1218_FAIL_TABLE: return "bad table";
	}
	return "?";
}

static const char *phase_name(enum sm_c1218_phase p)
{
	switch (p) {
	case SM_C1218_PH_IDLE: return "nothing";
	case SM_C1218_PH_IDENTIFY: return "Identify";
	case SM_C1218_PH_NEGOTIATE: return "Negotiate";
	case SM_C1218_PH_LOGON: return "Logon";
	case SM_C1218_PH_SECURITY: return "Security";
	case SM_C1218_PH_ST0: return "the read of ST0";
	case SM_C1218_PH_ST1: return "the read of ST1";
	case SM_C1218_PH_ST21: return "the read of ST21";
	case SM_C1218_PH_BT23: return "the read of BT23";
	case SM_C1218_PH_BT28: return "the read of BT28";
	case SM_C1218_PH_LOGOFF: return "Logoff";
	case SM_C1218_PH_TERMINATE: return "Terminate";
	}
	return "?";
}

static const char *code_text(uint8_t code)
{
	static const char *const text[] = { "ok", "error", "service not supported", "insufficient security clearance",
		                            "operation not possible", "inappropriate action requested", "device busy",
		                            "data not ready", "data locked", "renegotiate request",
		                            "invalid service sequence state" };
	return code < sizeof(text) / sizeof(text[0]) ? text[code] : "unknown response code";
}

void sm_c1218_session_init(struct sm_c1218_session *s, const struct sm_c1218_session_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->cfg.user[SM_C1218_USER_LEN] = '\0';
	if (s->cfg.packet_size < MIN_PACKET_SIZE || s->cfg.packet_size > SM_C1218_MAX_PACKET)
		s->cfg.packet_size = DEFAULT_PACKET_SIZE;
	if (s->cfg.npackets == 0)
		s->cfg.npackets = 2;
	sm_c1218_rx_reset(&s->rx);
}

void sm_c1218_session_reset(struct sm_c1218_session *s)
{
	s->phase = SM_C1218_PH_IDLE;
	s->wait = W_NONE;
	s->deadline_ms = 0;
	s->char_deadline_ms = 0;
	s->in_len = 0;
	s->tx_len = 0;
	s->have_config = false;
	sm_c1218_rx_reset(&s->rx);
}

void sm_c1218_session_wipe(struct sm_c1218_session *s)
{
	volatile uint8_t *p = (volatile uint8_t *)s->cfg.password;
	for (size_t i = 0; i < sizeof(s->cfg.password); i++)
		p[i] = 0;
	p = (volatile uint8_t *)s->req;
	for (size_t i = 0; i < sizeof(s->req); i++)
		p[i] = 0;
	p = (volatile uint8_t *)s->pkt;
	for (size_t i = 0; i < sizeof(s->pkt); i++)
		p[i] = 0;
	p = (volatile uint8_t *)s->tx; /* the last Security request may still be in it */
	for (size_t i = 0; i < sizeof(s->tx); i++)
		p[i] = 0;
}

bool sm_c1218_session_busy(const struct sm_c1218_session *s)
{
	return s->phase != SM_C1218_PH_IDLE;
}

static void begin(struct sm_c1218_session *s, struct sm_c1218_step *step)
{
	memset(step, 0, sizeof(*step));
	step->detail = "";
	s->tx_len = 0;
	s->detail[0] = '\0';
}

static void end(struct sm_c1218_session *s, struct sm_c1218_step *step)
{
	uint64_t wake = 0;
	if (s->wait != W_NONE)
		wake = s->deadline_ms;
	if (s->in_len && s->char_deadline_ms && (!wake || s->char_deadline_ms < wake))
		wake = s->char_deadline_ms;
	step->tx = s->tx;
	step->tx_len = s->tx_len;
	step->wake_ms = wake;
	step->detail = s->detail;
}

static void emit(struct sm_c1218_session *s, const uint8_t *p, size_t n)
{
	/* tx holds the ACKs of one input chunk and at most two packets; overflowing means a bug. */
	if (s->tx_len + n > sizeof(s->tx))
		return;
	memcpy(s->tx + s->tx_len, p, n);
	s->tx_len += n;
}

static void emit_byte(struct sm_c1218_session *s, uint8_t b)
{
	emit(s, &b, 1);
}

/* A new packet for s->req (fresh toggle bit). */
static void send_request(struct sm_c1218_session *s, uint64_t now)
{
	s->pkt_len = sm_c1218_packet_build(s->toggle ? SM_C1218_CTRL_TOGGLE : 0, 0, s->req, s->req_len, s->pkt,
	                                   sizeof(s->pkt));
	s->toggle ^= 1;
	s->resends = 0;
	emit(s, s->pkt, s->pkt_len);
	s->wait = W_ACK;
	s->deadline_ms = now + SM_C1218_ACK_TIMEOUT_MS;
}

static void request(struct sm_c1218_session *s, uint64_t now, enum sm_c1218_phase phase, size_t len)
{
	s->phase = phase;
	s->req_len = len;
	s->busy_retries = 0;
	send_request(s, now);
}

static void fail(struct sm_c1218_session *s, struct sm_c1218_step *step, enum sm_c1218_failure f, uint8_t code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(struct sm_c1218_session *s, struct sm_c1218_step *step, enum sm_c1218_failure f, uint8_t code,
                 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	/* The meter answered this session: tell it we are gone rather than leave it waiting 6 s. Nobody waits
	 * for the answer; a late one is ACKed and dropped while idle. */
	if (s->packets_in) {
		uint8_t req[4], pkt[16];
		size_t n = sm_c1218_req_terminate(req);
		size_t pn = sm_c1218_packet_build(s->toggle ? SM_C1218_CTRL_TOGGLE : 0, 0, req, n, pkt, sizeof(pkt));
		s->toggle ^= 1;
		emit(s, pkt, pn);
	}
	if (f == SM_C1218_FAIL_TABLE)
		s->have_config = false;
	s->phase = SM_C1218_PH_IDLE;
	s->wait = W_NONE;
	step->outcome = SM_C1218_FAILED;
	step->failure = f;
	step->code = code;
}

/* Logoff and Terminate come after the readings were handed out: a meter that stops answering then has
 * cost nothing (it ends the session itself after 6 s of silence), so the session still counts as done. */
static bool closing(struct sm_c1218_session *s, struct sm_c1218_step *step, const char *what)
{
	if (s->phase != SM_C1218_PH_LOGOFF && s->phase != SM_C1218_PH_TERMINATE)
		return false;
	snprintf(s->detail, sizeof(s->detail), "%s %s; the meter ends the session itself", phase_name(s->phase), what);
	s->phase = SM_C1218_PH_IDLE;
	s->wait = W_NONE;
	step->outcome = SM_C1218_DONE;
	return true;
}

static void resend_or_fail(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step, bool nak)
{
	if (s->resends < SM_C1218_RESENDS) {
		s->resends++;
		emit(s, s->pkt, s->pkt_len);
		s->wait = W_ACK;
		s->deadline_ms = now + SM_C1218_ACK_TIMEOUT_MS;
		return;
	}
	if (closing(s, step, "not acknowledged"))
		return;
	const char *what = phase_name(s->phase);
	if (s->bytes_in == 0)
		fail(s, step, SM_C1218_FAIL_SILENT, 0, "no answer at all to %s (%u tries, %u s apart)", what,
		     SM_C1218_RESENDS + 1, SM_C1218_ACK_TIMEOUT_MS / 1000);
	else if (s->packets_in == 0)
		fail(s, step, SM_C1218_FAIL_GARBLED, 0, "%llu bytes came back but not one packet with a good CRC",
		     (unsigned long long)s->bytes_in);
	else
		fail(s, step, SM_C1218_FAIL_LINK, 0, "%s %s after %u resends", what, nak ? "refused (NAK)" : "not acknowledged",
		     SM_C1218_RESENDS);
}

/* Largest table read one answer can carry: npackets x (packet size - 8), less code, count and checksum. */
static size_t max_read(const struct sm_c1218_session *s)
{
	size_t ps = s->packet_size > SM_C1218_MAX_PACKET ? SM_C1218_MAX_PACKET : s->packet_size;
	size_t n = (size_t)s->npackets * (ps - SM_C1218_OVERHEAD);
	n = n > 4 ? n - 4 : 0;
	return n > SM_C1218_READ_MAX ? SM_C1218_READ_MAX : n;
}

static void read_config(struct sm_c1218_session *s, uint64_t now, enum sm_c1218_phase phase)
{
	uint16_t table = phase == SM_C1218_PH_ST0 ? SM_C1219_ST0 : phase == SM_C1218_PH_ST1 ? SM_C1219_ST1 : SM_C1219_ST21;
	uint16_t count = phase == SM_C1218_PH_ST0 ? SM_C1219_ST0_READ :
	                 phase == SM_C1218_PH_ST1 ? SM_C1219_ST1_READ : SM_C1219_ST21_READ;
	s->full_read = false;
	request(s, now, phase, sm_c1218_req_read_partial(s->req, table, 0, count));
}

/* Next part of BT23 or BT28: bt*_len bytes of bt*_count are in. */
static void read_values(struct sm_c1218_session *s, uint64_t now, enum sm_c1218_phase phase)
{
	bool b23 = phase == SM_C1218_PH_BT23;
	size_t have = b23 ? s->bt23_len : s->bt28_len, total = b23 ? s->bt23_count : s->bt28_count;
	uint32_t off = (b23 ? s->bt23_offset : s->bt28_offset) + (uint32_t)have;
	size_t n = total - have, m = max_read(s);
	if (n > m)
		n = m;
	request(s, now, phase, sm_c1218_req_read_partial(s->req, b23 ? SM_C1219_BT23 : SM_C1219_BT28, off, (uint16_t)n));
}

static void after_values(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step);
static void config_done(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step);

/* The meter will not give this configuration table: assume what NES meters hold and go on. */
static void config_default(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	switch (s->phase) {
	case SM_C1218_PH_ST0:
		s->tables.big_endian = false;
		s->tables.id_bcd = false;
		s->tables.ni_format1 = s->tables.ni_format2 = 8; /* INT32 */
		s->config_defaults |= SM_C1218_DEFAULT_ST0;
		read_config(s, now, SM_C1218_PH_ST1);
		return;
	case SM_C1218_PH_ST1:
		s->tables.manufacturer[0] = s->tables.model[0] = s->tables.serial[0] = '\0';
		s->config_defaults |= SM_C1218_DEFAULT_ST1;
		read_config(s, now, SM_C1218_PH_ST21);
		return;
	case SM_C1218_PH_ST21:
		s->tables.reg_func1 = s->tables.reg_func2 = 0;
		s->tables.nbr_summations = 2;
		s->tables.nbr_demands = s->tables.nbr_tiers = s->tables.nbr_present_demands = 0;
		s->tables.nbr_present_values = 10;
		s->config_defaults |= SM_C1218_DEFAULT_ST21;
		config_done(s, now, step);
		return;
	case SM_C1218_PH_IDLE:
	case SM_C1218_PH_IDENTIFY:
	case SM_C1218_PH_NEGOTIATE:
	case SM_C1218_PH_LOGON:
	case SM_C1218_PH_SECURITY:
	case SM_C1218_PH_BT23:
	case SM_C1218_PH_BT28:
	case SM_C1218_PH_LOGOFF:
	case SM_C1218_PH_TERMINATE:
		return;
	}
}

static void start_values(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	s->bt23_len = s->bt28_len = 0;
	if (s->bt23_count)
		read_values(s, now, SM_C1218_PH_BT23);
	else if (s->bt28_count)
		read_values(s, now, SM_C1218_PH_BT28);
	else
		after_values(s, now, step);
}

static void after_values(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	enum sm_err e = sm_c1219_telegram_build(&s->telegram, &s->tables, s->bt23, s->bt23_len, s->bt28, s->bt28_len);
	if (e != SM_OK) {
		fail(s, step, SM_C1218_FAIL_TABLE, 0, "BT23/BT28 cannot be decoded: %s (NI format %u)", sm_strerror(e),
		     s->tables.ni_format1);
		return;
	}
	step->telegram = &s->telegram.tg;
	request(s, now, SM_C1218_PH_LOGOFF, sm_c1218_req_logoff(s->req));
}

static void config_done(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	if (sm_c1219_bt23_span(&s->tables, &s->bt23_offset, &s->bt23_count) != SM_OK ||
	    sm_c1219_bt28_span(&s->tables, &s->bt28_offset, &s->bt28_count) != SM_OK) {
		fail(s, step, SM_C1218_FAIL_TABLE, 0, "ST0 says NI formats %u/%u, which are not decoded exactly",
		     s->tables.ni_format1, s->tables.ni_format2);
		return;
	}
	s->have_config = true;
	start_values(s, now, step);
}

static void after_security(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	if (!s->have_config) {
		s->config_defaults = 0;
		read_config(s, now, SM_C1218_PH_ST0);
	} else
		start_values(s, now, step);
}

/* A table answer for the current phase: ok count data checksum. */
static void table_answer(struct sm_c1218_session *s, uint64_t now, const uint8_t *msg, size_t len,
                         struct sm_c1218_step *step)
{
	const uint8_t *data;
	size_t count;
	enum sm_err e = sm_c1218_parse_read(msg, len, &data, &count);
	if (e != SM_OK) {
		fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "answer to %s unusable: %s", phase_name(s->phase),
		     e == SM_E_CHECKSUM ? "table checksum mismatch" : e == SM_E_TRUNCATED ? "shorter than its count" :
		                                                                          "bytes after the checksum");
		return;
	}
	switch (s->phase) {
	case SM_C1218_PH_ST0:
		if ((e = sm_c1219_decode_st0(data, count, &s->tables)) != SM_OK)
			break;
		read_config(s, now, SM_C1218_PH_ST1);
		return;
	case SM_C1218_PH_ST1:
		if ((e = sm_c1219_decode_st1(data, count, &s->tables)) != SM_OK)
			break;
		read_config(s, now, SM_C1218_PH_ST21);
		return;
	case SM_C1218_PH_ST21:
		if ((e = sm_c1219_decode_st21(data, count, &s->tables)) != SM_OK)
			break;
		config_done(s, now, step);
		return;
	case SM_C1218_PH_BT23:
	case SM_C1218_PH_BT28: {
		bool b23 = s->phase == SM_C1218_PH_BT23;
		uint8_t *buf = b23 ? s->bt23 : s->bt28;
		size_t *have = b23 ? &s->bt23_len : &s->bt28_len, total = b23 ? s->bt23_count : s->bt28_count;
		size_t asked = total - *have, m = max_read(s);
		if (asked > m)
			asked = m;
		if (count != asked) {
			fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "%s: asked for %zu bytes, got %zu", phase_name(s->phase), asked,
			     count);
			return;
		}
		memcpy(buf + *have, data, count);
		*have += count;
		if (*have < total)
			read_values(s, now, s->phase);
		else if (b23 && s->bt28_count)
			read_values(s, now, SM_C1218_PH_BT28);
		else
			after_values(s, now, step);
		return;
	}
	case SM_C1218_PH_IDLE:
	case SM_C1218_PH_IDENTIFY:
	case SM_C1218_PH_NEGOTIATE:
	case SM_C1218_PH_LOGON:
	case SM_C1218_PH_SECURITY:
	case SM_C1218_PH_LOGOFF:
	case SM_C1218_PH_TERMINATE:
		return;
	}
	fail(s, step, SM_C1218_FAIL_TABLE, 0, "%s: too short (%zu bytes)", phase_name(s->phase), count);
}

static void answer(struct sm_c1218_session *s, uint64_t now, const uint8_t *msg, size_t len, struct sm_c1218_step *step)
{
	if (len == 0) {
		fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "empty answer to %s", phase_name(s->phase));
		return;
	}
	uint8_t code = msg[0];
	s->wait = W_NONE;
	if (code == SM_C1218_BSY || code == SM_C1218_DNR) {
		if (s->busy_retries < SM_C1218_BUSY_RETRIES) {
			s->busy_retries++;
			s->wait = W_BUSY;
			s->deadline_ms = now + SM_C1218_BUSY_DELAY_MS;
			return;
		}
		fail(s, step, SM_C1218_FAIL_SERVICE, code, "%s answered %s (%s) %u times", phase_name(s->phase),
		     sm_c1218_code_name(code), code_text(code), SM_C1218_BUSY_RETRIES + 1);
		return;
	}
	bool config_table = s->phase == SM_C1218_PH_ST0 || s->phase == SM_C1218_PH_ST1 || s->phase == SM_C1218_PH_ST21;
	if (code != SM_C1218_OK && config_table && !s->full_read && (code == SM_C1218_SNS || code == SM_C1218_ONP)) {
		/* Some meters read their configuration tables only whole. */
		uint16_t table = s->phase == SM_C1218_PH_ST0 ? SM_C1219_ST0 : s->phase == SM_C1218_PH_ST1 ? SM_C1219_ST1 : SM_C1219_ST21;
		enum sm_c1218_phase ph = s->phase;
		request(s, now, ph, sm_c1218_req_read_full(s->req, table));
		s->full_read = true;
		return;
	}
	if (config_table && (code == SM_C1218_SNS || code == SM_C1218_ONP || code == SM_C1218_IAR)) {
		config_default(s, now, step); /* not there for us; isc and the rest still end the session */
		return;
	}
	/* Logoff and Terminate close the session whatever the meter answers them. */
	if (s->phase == SM_C1218_PH_LOGOFF) {
		request(s, now, SM_C1218_PH_TERMINATE, sm_c1218_req_terminate(s->req));
		return;
	}
	if (s->phase == SM_C1218_PH_TERMINATE) {
		s->phase = SM_C1218_PH_IDLE;
		step->outcome = SM_C1218_DONE;
		return;
	}
	if (code != SM_C1218_OK) {
		switch (s->phase) {
		case SM_C1218_PH_SECURITY:
			fail(s, step, SM_C1218_FAIL_REFUSED, code, "Security answered %s (%s)", sm_c1218_code_name(code),
			     code_text(code));
			return;
		case SM_C1218_PH_LOGON:
			fail(s, step, SM_C1218_FAIL_LOGON, code, "Logon answered %s (%s)", sm_c1218_code_name(code),
			     code_text(code));
			return;
		case SM_C1218_PH_LOGOFF:
		case SM_C1218_PH_TERMINATE: /* handled above */
		case SM_C1218_PH_IDLE:
		case SM_C1218_PH_IDENTIFY:
		case SM_C1218_PH_NEGOTIATE:
		case SM_C1218_PH_ST0:
		case SM_C1218_PH_ST1:
		case SM_C1218_PH_ST21:
		case SM_C1218_PH_BT23:
		case SM_C1218_PH_BT28:
			break;
		}
		fail(s, step, SM_C1218_FAIL_SERVICE, code, "%s answered %s (%s)", phase_name(s->phase), sm_c1218_code_name(code),
		     code_text(code));
		return;
	}

	switch (s->phase) {
	case SM_C1218_PH_IDENTIFY:
		if (sm_c1218_parse_identify(msg, len, &s->identity) != SM_OK) {
			fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "Identify answer too short (%zu bytes)", len);
			return;
		}
		request(s, now, SM_C1218_PH_NEGOTIATE,
		        sm_c1218_req_negotiate(s->req, s->cfg.packet_size, s->cfg.npackets, SM_C1218_BAUD_9600));
		return;
	case SM_C1218_PH_NEGOTIATE: {
		uint16_t ps;
		uint8_t np;
		if (sm_c1218_parse_negotiate(msg, len, &ps, &np) != SM_OK) {
			fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "Negotiate answer too short (%zu bytes)", len);
			return;
		}
		if (ps < MIN_PACKET_SIZE || np == 0) {
			fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "the meter negotiated %u-byte packets x %u, too small", ps, np);
			return;
		}
		s->packet_size = ps; /* the meter's values rule (C12.18 §5.3.2.7) */
		s->npackets = np;
		request(s, now, SM_C1218_PH_LOGON, sm_c1218_req_logon(s->req, s->cfg.user_id, s->cfg.user));
		return;
	}
	case SM_C1218_PH_LOGON:
		if (s->cfg.use_security)
			request(s, now, SM_C1218_PH_SECURITY, sm_c1218_req_security(s->req, s->cfg.password));
		else
			after_security(s, now, step);
		return;
	case SM_C1218_PH_SECURITY:
		after_security(s, now, step);
		return;
	case SM_C1218_PH_ST0:
	case SM_C1218_PH_ST1:
	case SM_C1218_PH_ST21:
	case SM_C1218_PH_BT23:
	case SM_C1218_PH_BT28:
		table_answer(s, now, msg, len, step);
		return;
	case SM_C1218_PH_LOGOFF:
	case SM_C1218_PH_TERMINATE: /* handled above */
	case SM_C1218_PH_IDLE:
		return;
	}
}

static void consume(struct sm_c1218_session *s, size_t n)
{
	memmove(s->in, s->in + n, s->in_len - n);
	s->in_len -= n;
}

static void process(struct sm_c1218_session *s, uint64_t now, struct sm_c1218_step *step)
{
	while (s->in_len) {
		uint8_t b = s->in[0];
		if (b != SM_C1218_STP) {
			consume(s, 1);
			if (s->wait == W_ACK && b == SM_C1218_ACK) {
				s->wait = W_ANSWER;
				s->deadline_ms = now + SM_C1218_RESPONSE_TIMEOUT_MS;
			} else if (s->wait == W_ACK && b == SM_C1218_NAK) {
				resend_or_fail(s, now, step, true);
			}
			continue; /* anything else: noise, or an ACK nobody waits for */
		}
		struct sm_c1218_packet p;
		switch (sm_c1218_scan(s->in, s->in_len, SM_C1218_MAX_DATA, &p)) {
		case SM_C1218_SCAN_NOT_START:
			consume(s, 1);
			continue;
		case SM_C1218_SCAN_MORE:
			/* 500 ms after the latest byte, not after the first: a 1024-byte packet takes 1.1 s at 9600 baud. */
			s->char_deadline_ms = now + SM_C1218_CHAR_TIMEOUT_MS;
			return;
		case SM_C1218_SCAN_BAD_CRC:
			emit_byte(s, SM_C1218_NAK);
			s->crc_errors++;
			consume(s, p.size);
			s->char_deadline_ms = 0;
			continue;
		case SM_C1218_SCAN_PACKET:
			break;
		}
		emit_byte(s, SM_C1218_ACK);
		s->packets_in++;
		enum sm_c1218_rx_result r = sm_c1218_rx_add(&s->rx, &p);
		consume(s, p.size);
		s->char_deadline_ms = 0;
		if (s->wait == W_ACK && r != SM_C1218_RX_DUPLICATE) {
			/* The answer (or its first part) came, so the request arrived: its ACK was lost. */
			s->wait = W_ANSWER;
		}
		if (s->wait != W_ANSWER)
			continue; /* idle, or waiting out a bsy: a late answer, dropped */
		switch (r) {
		case SM_C1218_RX_DUPLICATE:
			continue;
		case SM_C1218_RX_PART:
			s->deadline_ms = now + SM_C1218_RESPONSE_TIMEOUT_MS;
			continue;
		case SM_C1218_RX_SEQUENCE:
			fail(s, step, SM_C1218_FAIL_PROTOCOL, 0, "multi-packet answer to %s out of sequence",
			     phase_name(s->phase));
			continue;
		case SM_C1218_RX_MESSAGE:
			answer(s, now, s->rx.msg, s->rx.len, step);
			continue;
		}
	}
	s->char_deadline_ms = 0;
}

void sm_c1218_session_start(struct sm_c1218_session *s, uint64_t now_ms, struct sm_c1218_step *step)
{
	begin(s, step);
	if (s->phase == SM_C1218_PH_IDLE) {
		s->bytes_in = s->packets_in = 0;
		s->toggle = 0;
		s->in_len = 0;
		s->char_deadline_ms = 0;
		sm_c1218_rx_reset(&s->rx);
		s->packet_size = DEFAULT_PACKET_SIZE;
		s->npackets = DEFAULT_NPACKETS;
		request(s, now_ms, SM_C1218_PH_IDENTIFY, sm_c1218_req_identify(s->req));
	}
	end(s, step);
}

void sm_c1218_session_input(struct sm_c1218_session *s, uint64_t now_ms, const uint8_t *buf, size_t len,
                            struct sm_c1218_step *step)
{
	begin(s, step);
	s->bytes_in += len;
	while (len) {
		size_t room = sizeof(s->in) - s->in_len, n = len < room ? len : room;
		if (n == 0) { /* cannot happen (a whole packet fits): never loop without progress */
			consume(s, 1);
			continue;
		}
		memcpy(s->in + s->in_len, buf, n);
		s->in_len += n;
		buf += n;
		len -= n;
		process(s, now_ms, step);
	}
	end(s, step);
}

void sm_c1218_session_timer(struct sm_c1218_session *s, uint64_t now_ms, struct sm_c1218_step *step)
{
	begin(s, step);
	if (s->in_len && s->char_deadline_ms && now_ms >= s->char_deadline_ms) {
		/* Inter-character timeout: the half packet is dropped; the sender resends it when our ACK does not come. */
		s->in_len = 0;
		s->char_deadline_ms = 0;
	}
	if (s->wait != W_NONE && now_ms >= s->deadline_ms) {
		switch ((enum wait)s->wait) {
		case W_ACK:
			resend_or_fail(s, now_ms, step, false);
			break;
		case W_ANSWER:
			if (closing(s, step, "not answered"))
				break;
			fail(s, step, SM_C1218_FAIL_TIMEOUT, 0, "%s acknowledged but not answered within %u s", phase_name(s->phase),
			     SM_C1218_RESPONSE_TIMEOUT_MS / 1000);
			break;
		case W_BUSY:
			send_request(s, now_ms); /* a new request, not a resend: fresh toggle bit */
			break;
		case W_NONE:
			break;
		}
	}
	end(s, step);
}

void sm_c1218_session_abort(struct sm_c1218_session *s, struct sm_c1218_step *step)
{
	begin(s, step);
	if (s->phase != SM_C1218_PH_IDLE)
		fail(s, step, SM_C1218_FAIL_TIMEOUT, 0, "%s abandoned", phase_name(s->phase));
	end(s, step);
}
