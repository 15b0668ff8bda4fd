/* c1218_source.c — polls an ANSI C12.18 optical port: one session per poll_interval (Identify .. Terminate,
 * run by the library's state machine), its telegram handed to the publisher like a pushed one. This file
 * only carries bytes and timers between the serial source, the loop and the state machine, and says what
 * went wrong in plain words. Must never block, never log the password (only its format and padding),
 * and never hammer a meter that refuses the password (C1218_REFUSED_BACKOFF_MS). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "c1218_source.h"
#include "log.h"
#include "serial.h"
#include "smartmeter/c1218.h"
#include "smartmeter/decoder.h"

/* Let an IR probe settle after the port opens before the first Identify. */
#define C1218_FIRST_POLL_MS 300u
/* Gap between the end of one session and the next Identify, even at poll_interval = 1 s. */
#define C1218_MIN_GAP_MS 100u
/* Repeat an unchanged failure diagnosis at most this often (once per streak otherwise). */
#define C1218_DIAG_REPEAT_MS (10u * 60u * 1000u)

struct c1218_poller {
	struct loop *loop;
	struct publisher *pub;
	struct source *src;
	char *device;
	uint64_t poll_ms;
	unsigned pw_format, pw_pad, pw_given;
	struct loop_timer *wake_timer;  /* the session's deadlines */
	struct loop_timer *poll_timer;  /* the next session */
	struct loop_timer *stuck_timer; /* C1218_SESSION_MAX_MS after a session began */
	struct sm_c1218_session session;
	uint64_t session_start_ms;
	unsigned refusals;
	struct backoff fail_backoff;
	enum sm_c1218_failure streak_failure;
	unsigned streak;
	uint64_t last_diag_ms;
	bool announced;
	struct sm_stats stats;          /* for the health entities, as a decoder would count */
};

uint64_t c1218_refused_delay_ms(unsigned refusals, uint64_t poll_ms)
{
	if (refusals < 2)
		return poll_ms;
	uint64_t d = C1218_REFUSED_BACKOFF_MS;
	for (unsigned i = 2; i < refusals && d < C1218_REFUSED_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d > C1218_REFUSED_BACKOFF_MAX_MS ? C1218_REFUSED_BACKOFF_MAX_MS : d;
}

static void schedule(struct c1218_poller *p, uint64_t delay_ms)
{
	loop_timer_arm(p->poll_timer, delay_ms ? delay_ms : 1, 0);
}

static void session_ended(struct c1218_poller *p, const struct sm_c1218_step *st);

/* Carry out what the state machine asked for. */
static void apply(struct c1218_poller *p, const struct sm_c1218_step *st)
{
	if (st->tx_len && log_enabled(LOG_LVL_DEBUG)) {
		char hex[256];
		/* The Security request carries the password: its bytes are never shown. */
		if (p->session.phase == SM_C1218_PH_SECURITY) {
			log_debug("c1218: tx %zu bytes (Security request, not shown)", st->tx_len);
		} else {
			log_hex(st->tx, st->tx_len, hex, sizeof(hex));
			log_debug("c1218: tx %s", hex);
		}
	}
	if (st->tx_len && source_write(p->src, st->tx, st->tx_len) < 0)
		log_debug("c1218: %s: cannot write %zu bytes: %s (the resend timer retries)", p->device, st->tx_len,
		          strerror(errno));
	if (st->wake_ms) {
		uint64_t now = loop_now_ms();
		loop_timer_arm(p->wake_timer, st->wake_ms > now ? st->wake_ms - now : 1, 0);
	} else {
		loop_timer_disarm(p->wake_timer);
	}
	if (st->telegram) {
		char line[48];
		if (log_enabled(LOG_LVL_DEBUG))
			log_debug("c1218: reading: %zu values, meter id %s", st->telegram->nreadings,
			          st->telegram->meter_id ? st->telegram->meter_id : "(none)");
		source_frame_ok(p->src, false);
		p->stats.telegrams++;
		p->stats.crc_errors = p->session.crc_errors;
		publisher_decoder_stats(p->pub, &p->stats);
		publisher_line_settings(p->pub, source_settings(p->src, line, sizeof(line)));
		publisher_telegram(p->pub, st->telegram);
	}
	if (st->outcome != SM_C1218_RUNNING)
		session_ended(p, st);
}

static const char *pad_name(unsigned pad)
{
	return pad == SM_C1218_PAD_SPACE ? "spaces" : "NUL bytes";
}

static void say_failure(struct c1218_poller *p, const struct sm_c1218_step *st, uint64_t delay_ms)
{
	uint64_t now = loop_now_ms();
	bool repeat = st->failure == p->streak_failure && p->streak > 1;
	enum log_level lvl = LOG_LVL_WARNING;
	if (repeat && now - p->last_diag_ms < C1218_DIAG_REPEAT_MS)
		lvl = LOG_LVL_DEBUG;
	else
		p->last_diag_ms = now;
	unsigned s = (unsigned)((delay_ms + 999) / 1000);

	switch (st->failure) {
	case SM_C1218_FAIL_SILENT:
		log_msg(lvl, "c1218: no answer from the meter on %s: the probe is probably misaligned (turn it, or re-seat it "
		        "on the optical port), or this is the wrong port, or nothing is on the line; retrying in %u s",
		        p->device, s);
		return;
	case SM_C1218_FAIL_GARBLED:
		log_msg(lvl, "c1218: bytes arrive on %s but never a valid C12.18 packet (%s): wrong speed (optical ports talk "
		        "9600 8N1), a probe that echoes, or light from outside; retrying in %u s", p->device, st->detail, s);
		return;
	case SM_C1218_FAIL_LOGON:
		log_msg(lvl, "c1218: the meter refused the logon (%s): check user_id / user in [meter]; retrying in %u s",
		        st->detail, s);
		return;
	case SM_C1218_FAIL_REFUSED:
	case SM_C1218_FAIL_NONE:
	case SM_C1218_FAIL_LINK:
	case SM_C1218_FAIL_TIMEOUT:
	case SM_C1218_FAIL_SERVICE:
	case SM_C1218_FAIL_PROTOCOL:
	case SM_C1218_FAIL_TABLE:
		break;
	}
	const char *hint = st->failure == SM_C1218_FAIL_SERVICE && st->code == SM_C1218_ISC ?
	                           " (hint: set password or password_file in [meter])" : "";
	log_msg(lvl, "c1218: session failed: %s: %s%s; retrying in %u s", sm_c1218_failure_name(st->failure), st->detail,
	        hint, s);
}

static void session_ended(struct c1218_poller *p, const struct sm_c1218_step *st)
{
	uint64_t now = loop_now_ms();
	loop_timer_disarm(p->stuck_timer);
	if (st->outcome == SM_C1218_DONE) {
		const struct sm_c1218_session *s = &p->session;
		if (!p->announced) {
			log_info("c1218: meter %s%s%s, serial %s, C12.18 version %u.%u, %u-byte packets x %u; reading BT23 and BT28 "
			         "every %llu s",
			         s->tables.manufacturer[0] ? s->tables.manufacturer : "?", s->tables.model[0] ? " " : "",
			         s->tables.model, s->tables.serial[0] ? s->tables.serial : "(none)", s->identity.version,
			         s->identity.revision, s->packet_size, s->npackets, (unsigned long long)(p->poll_ms / 1000));
			p->announced = true;
			if (s->config_defaults)
				log_notice("c1218: the meter would not give%s%s%s: assuming the NES layout (little-endian INT32, 2 "
				           "summations, 10 present values%s)",
				           s->config_defaults & SM_C1218_DEFAULT_ST0 ? " ST0" : "",
				           s->config_defaults & SM_C1218_DEFAULT_ST1 ? " ST1" : "",
				           s->config_defaults & SM_C1218_DEFAULT_ST21 ? " ST21" : "",
				           s->config_defaults & SM_C1218_DEFAULT_ST1 ? "; no serial number: set [meter] id" : "");
		} else if (p->streak || p->refusals) {
			log_info("c1218: the meter answers again (after %u failed sessions)", p->streak + p->refusals);
		}
		p->refusals = 0;
		p->streak = 0;
		p->streak_failure = SM_C1218_FAIL_NONE;
		backoff_reset(&p->fail_backoff);
		uint64_t due = p->session_start_ms + p->poll_ms;
		schedule(p, due > now + C1218_MIN_GAP_MS ? due - now : C1218_MIN_GAP_MS);
		return;
	}
	p->stats.errors++;
	if (st->failure == SM_C1218_FAIL_REFUSED) {
		p->refusals++;
		uint64_t delay = c1218_refused_delay_ms(p->refusals, p->poll_ms);
		/* Each refusal is worth a line: they are at least a minute apart after the second. */
		log_warning("c1218: meter refused the password: check password / password_format (%s, %u bytes, padded with "
		            "%s to 20; the meter said %s); no values are published; retrying in %llu s",
		            p->pw_format == SM_C1218_PW_ASCII ? "ascii" : "hex", p->pw_given,
		            pad_name(p->pw_pad), sm_c1218_code_name(st->code), (unsigned long long)((delay + 999) / 1000));
		schedule(p, delay);
		return;
	}
	if (st->failure != p->streak_failure) {
		p->streak_failure = st->failure;
		p->streak = 0;
	}
	p->streak++;
	uint64_t delay = backoff_next(&p->fail_backoff);
	say_failure(p, st, delay);
	schedule(p, delay);
}

static void poll_due(void *ctx)
{
	struct c1218_poller *p = ctx;
	struct sm_c1218_step st;
	if (sm_c1218_session_busy(&p->session)) {
		sm_c1218_session_abort(&p->session, &st);
		apply(p, &st);
		return;
	}
	p->session_start_ms = loop_now_ms();
	loop_timer_arm(p->stuck_timer, C1218_SESSION_MAX_MS, 0);
	sm_c1218_session_start(&p->session, p->session_start_ms, &st);
	apply(p, &st);
}

static void wake_due(void *ctx)
{
	struct c1218_poller *p = ctx;
	struct sm_c1218_step st;
	sm_c1218_session_timer(&p->session, loop_now_ms(), &st);
	apply(p, &st);
}

static void stuck_due(void *ctx)
{
	struct c1218_poller *p = ctx;
	struct sm_c1218_step st;
	sm_c1218_session_abort(&p->session, &st);
	apply(p, &st);
}

static void src_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct c1218_poller *p = ctx;
	struct sm_c1218_step st;
	if (log_enabled(LOG_LVL_DEBUG)) {
		char hex[256];
		log_hex(buf, len, hex, sizeof(hex));
		log_debug("c1218: rx %s", hex);
	}
	p->stats.bytes += len;
	sm_c1218_session_input(&p->session, loop_now_ms(), buf, len, &st);
	apply(p, &st);
}

static void src_idle(void *ctx)
{
	(void)ctx; /* packet timing is the state machine's (500 ms inter-character timeout) */
}

static void src_up(void *ctx)
{
	struct c1218_poller *p = ctx;
	sm_c1218_session_reset(&p->session);
	loop_timer_disarm(p->wake_timer);
	loop_timer_disarm(p->stuck_timer);
	schedule(p, C1218_FIRST_POLL_MS);
}

static void src_down(void *ctx)
{
	struct c1218_poller *p = ctx;
	sm_c1218_session_reset(&p->session);
	loop_timer_disarm(p->wake_timer);
	loop_timer_disarm(p->poll_timer);
	loop_timer_disarm(p->stuck_timer);
	publisher_source_down(p->pub);
}

struct c1218_poller *c1218_poller_new(struct loop *loop, const struct config *cfg, struct publisher *pub)
{
	static const struct source_callbacks cb = { src_data, src_idle, src_up, src_down };
	struct c1218_poller *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->pub = pub;
	p->poll_ms = (uint64_t)(cfg->poll_interval ? cfg->poll_interval : 10) * 1000u;
	p->pw_format = cfg->c1218_password_format;
	p->pw_pad = cfg->c1218_password_pad;
	p->pw_given = cfg->c1218_pw_given;
	p->fail_backoff = (struct backoff)BACKOFF_INIT(p->poll_ms, C1218_FAIL_BACKOFF_MAX_MS);
	p->device = strdup(cfg->device);
	p->wake_timer = loop_timer_new(loop, wake_due, p);
	p->poll_timer = loop_timer_new(loop, poll_due, p);
	p->stuck_timer = loop_timer_new(loop, stuck_due, p);
	if (!p->device || !p->wake_timer || !p->poll_timer || !p->stuck_timer) {
		c1218_poller_free(p);
		return NULL;
	}
	struct sm_c1218_session_config sc = { .user_id = (uint16_t)cfg->c1218_user_id, .packet_size = 64, .npackets = 2 };
	snprintf(sc.user, sizeof(sc.user), "%s", cfg->c1218_user ? cfg->c1218_user : "");
	sc.use_security = cfg->has_c1218_password;
	memcpy(sc.password, cfg->c1218_pw, sizeof(sc.password));
	sm_c1218_session_init(&p->session, &sc);
	memset(&sc, 0, sizeof(sc));

	if (cfg->has_c1218_password)
		log_info("c1218: polling %s every %u s as user id %u, user '%s'; password: %u bytes from %s, padded with %s to 20",
		         cfg->device, cfg->poll_interval, cfg->c1218_user_id, p->session.cfg.user, cfg->c1218_pw_given,
		         p->pw_format == SM_C1218_PW_ASCII ? "ascii characters" : "hex digits", pad_name(p->pw_pad));
	else
		log_notice("c1218: polling %s every %u s as user id %u without a password (no Security service); most meters "
		           "then refuse reads with isc (hint: set password or password_file in [meter])",
		           cfg->device, cfg->poll_interval, cfg->c1218_user_id);
	p->src = source_new(loop, cfg, &cb, p);
	if (!p->src) {
		c1218_poller_free(p);
		return NULL;
	}
	return p;
}

void c1218_poller_free(struct c1218_poller *p)
{
	if (!p)
		return;
	if (p->src && sm_c1218_session_busy(&p->session)) {
		struct sm_c1218_step st;
		sm_c1218_session_abort(&p->session, &st);
		if (st.tx_len)
			source_write(p->src, st.tx, st.tx_len);
	}
	source_free(p->src);
	loop_timer_free(p->wake_timer);
	loop_timer_free(p->poll_timer);
	loop_timer_free(p->stuck_timer);
	sm_c1218_session_wipe(&p->session);
	free(p->device);
	free(p);
}
