/* log.c — stderr (journald priorities) or syslog logging, and a rate limiter for per-frame storms.
 * Must never log key material: callers pass only what may be shown; log_hex is for frame bytes only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static enum log_level current_level = LOG_LVL_INFO;
static bool to_journal;
static enum log_target target = LOG_TARGET_STDERR;

void log_setup(void)
{
	/* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected; only if stderr is that
	 * very stream do "<N>" prefixes mean something (a redirected stderr must stay plain). */
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	to_journal = false;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

void log_set_target(enum log_target t)
{
	if (t == target)
		return;
	if (t == LOG_TARGET_SYSLOG)
		openlog("smartmeterd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		closelog();
	target = t;
}

bool log_target_parse(const char *s, enum log_target *ret_target)
{
	if (strcasecmp(s, "stderr") == 0)
		*ret_target = LOG_TARGET_STDERR;
	else if (strcasecmp(s, "syslog") == 0)
		*ret_target = LOG_TARGET_SYSLOG;
	else
		return false;
	return true;
}

enum log_level log_get_level(void)
{
	return current_level;
}

bool log_enabled(enum log_level level)
{
	return level <= current_level;
}

const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR: return "error";
	case LOG_LVL_WARNING: return "warning";
	case LOG_LVL_NOTICE: return "notice";
	case LOG_LVL_INFO: return "info";
	case LOG_LVL_DEBUG: return "debug";
	}
	return "?";
}

bool log_level_parse(const char *s, enum log_level *ret_level)
{
	static const enum log_level all[] = { LOG_LVL_ERR, LOG_LVL_WARNING, LOG_LVL_NOTICE, LOG_LVL_INFO,
	                                      LOG_LVL_DEBUG };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcasecmp(s, log_level_name(all[i])) == 0) {
			*ret_level = all[i];
			return true;
		}
	return false;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (target == LOG_TARGET_SYSLOG) {
		syslog((int)level, "%s", line); /* the levels are syslog priorities */
		errno = saved;
		return;
	}
	/* One write per line so lines from a crash handler or a second process never interleave mid-line. */
	char out[1100];
	int n;
	if (to_journal)
		n = snprintf(out, sizeof(out), "<%d>%s\n", (int)level, line);
	else
		n = snprintf(out, sizeof(out), "smartmeterd: %s: %s\n", log_level_name(level), line);
	if (n > 0) {
		size_t len = (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
		ssize_t w = write(STDERR_FILENO, out, len);
		(void)w;
	}
	errno = saved;
}

void log_hex(const uint8_t *buf, size_t len, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t max = len, o = 0;
	bool cut = false;

	if (outsz == 0)
		return;
	if (len * 2 + 1 > outsz) {
		max = outsz >= 4 ? (outsz - 4) / 2 : 0;
		cut = outsz >= 4;
	}
	for (size_t i = 0; i < max; i++) {
		out[o++] = digits[buf[i] >> 4];
		out[o++] = digits[buf[i] & 15];
	}
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned long *ret_suppressed)
{
	if (ret_suppressed)
		*ret_suppressed = 0;
	if (rl->begin_ms == 0 || now_ms - rl->begin_ms >= rl->interval_ms) {
		if (ret_suppressed)
			*ret_suppressed = rl->suppressed;
		rl->begin_ms = now_ms ? now_ms : 1;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < rl->burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}
