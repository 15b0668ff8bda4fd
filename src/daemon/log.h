/* log.h — the daemon's one way to say something: one line per event, with a level, on stderr or syslog.
 * When stderr is the systemd journal (JOURNAL_STREAM matches), lines carry "<N>" priority
 * prefixes; otherwise a plain "level: " word. [log] target = syslog sends them to syslog(3) instead
 * (OpenWrt's logd, a classic syslogd). Never pass key material or passwords to these functions. */
#ifndef SMARTMETERD_LOG_H
#define SMARTMETERD_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* Values are syslog priorities, so the journal prefix is just the number. */
enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Decide between journal prefixes and plain words by looking at stderr and $JOURNAL_STREAM. */
void log_setup(void);
void log_set_level(enum log_level level);

/* [log] target: "stderr" (default) or "syslog" (facility daemon, ident smartmeterd). */
enum log_target {
	LOG_TARGET_STDERR = 0,
	LOG_TARGET_SYSLOG,
};
void log_set_target(enum log_target target);
bool log_target_parse(const char *s, enum log_target *ret_target);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* Name <-> level, for the [log] level key: "error", "warning", "notice", "info", "debug". */
const char *log_level_name(enum log_level level);
bool log_level_parse(const char *s, enum log_level *ret_level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)     log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Lowercase hex of bytes for debug lines, truncated to fit out (ends in "..." when cut).
 * Only for frame bytes — never for keys. */
void log_hex(const uint8_t *buf, size_t len, char *out, size_t outsz);

/* A storm guard for per-frame messages: at most `burst` lines per `interval_ms`.
 * ratelimit_allow() returns true when a line may be printed; when a new window opens after
 * suppressions, *ret_suppressed says how many lines were swallowed (so the caller can say so). */
struct ratelimit {
	uint64_t interval_ms;
	unsigned burst;
	uint64_t begin_ms;
	unsigned count;
	unsigned long suppressed;
};

#define RATELIMIT_INIT(interval, n) { .interval_ms = (interval), .burst = (n) }

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned long *ret_suppressed);

#endif
