/* serial.c — byte sources for the decoder: serial ports (libserialport, or open()+termios where it cannot
 * go: pseudo-terminals, see DESIGN.md "Known ground truth") and tcp:// relays.
 * The only file that includes <libserialport.h>; built without it (SMARTMETER_HAVE_LIBSERIALPORT unset,
 * e.g. OpenWrt, which has no package for it) every tty is opened with open() + termios and --list-ports
 * says it is unavailable. Must never block, sleep or poll: opening is retried
 * from a timerfd with backoff, reads happen when epoll says so, line idleness is a timerfd too.
 *
 * Automatic line settings (PROTOCOLS.md §8.3): candidates are tried for SERIAL_DWELL_MS each until one
 * frame passes its checksum. 7E1 ASCII (DSMR 2.2/3) is read at 8N1 and masked by the decoder, so the
 * 9600 8N1 candidate covers both 9600 7E1 P1 ports and 9600 8N1 RS485 DLMS. Parity/framing errors are
 * counted with PARMRK on real ttys to explain failures in plain words. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "serial.h"

#ifdef SMARTMETER_HAVE_LIBSERIALPORT
#include <libserialport.h>
#else
/* Stand-in so parity_of() keeps one signature; struct sp_port stays incomplete and port stays NULL. */
enum sp_parity { SP_PARITY_NONE = 0, SP_PARITY_EVEN = 2 };
#endif

#define SERIAL_BACKOFF_MIN_MS 1000u
#define SERIAL_BACKOFF_MAX_MS 30000u
/* Silence after which the decoder is flushed (bare APDUs, CRC lines without CR LF). Frames of one
 * multi-frame message follow each other back to back; 500 ms is the safe upper bound of §8.4. */
#define SERIAL_IDLE_GAP_MS 500u
/* Dwell per automatic candidate: longest common push interval (10 s) + 2 s (§8.3). */
#define SERIAL_DWELL_MS 12000u
/* How long a fixed setting may deliver nothing decodable before we explain what we see. */
#define SERIAL_DIAG_AFTER_MS 30000u
/* Repeat an unchanged diagnosis at most this often. */
#define SERIAL_DIAG_REPEAT_MS (10u * 60u * 1000u)
/* A locked automatic setting that decodes nothing for this long is re-detected (§8.3 "re-run"). */
#define SERIAL_REDETECT_MS (10u * 60u * 1000u)
#define SERIAL_READ_CHUNK 4096u

enum kind { KIND_TTY_SP, KIND_TTY_TERMIOS, KIND_PTY, KIND_TCP };

struct line_setting {
	unsigned baud;
	enum serial_format fmt;
};

/* Most likely first (§8.3). 9600 8N1 also reads 9600 7E1 ASCII (the decoder masks bit 7), and is the
 * setting of SML meters' optical INFO interface (SML.md; every file of the SML corpus). */
static const struct line_setting auto_candidates[] = {
	{ 115200, FORMAT_8N1 }, { 9600, FORMAT_8N1 }, { 2400, FORMAT_8E1 }, { 2400, FORMAT_8N1 },
	{ 115200, FORMAT_8E1 }, { 9600, FORMAT_7E1 }, { 38400, FORMAT_8N1 },
};
#define MAX_CANDIDATES 16u

struct source {
	struct loop *loop;
	struct source_callbacks cb;
	void *ctx;
	char *device;
	enum kind kind;
	char *tcp_host;
	char *tcp_port;
	struct resolver *lookup;       /* the relay's name, looked up off the loop */
	struct resolve_result addrs;   /* its addresses, tried in order */
	size_t addr_idx;
	bool have_addrs;

	struct line_setting cand[MAX_CANDIDATES];
	unsigned ncand;
	unsigned cur;            /* index into cand */
	bool autodetect;         /* more than one candidate */
	bool locked;
	bool seven_bit;          /* the last decoded frame was 7E1 read through 8N1 */

	int fd;
	struct sp_port *port;
	struct loop_watch *watch;
	bool tcp_connecting;
	bool paused;             /* source_pause: no EPOLLIN */
	bool up;
	bool got_data;           /* since the last open: resets the backoff */
	bool use_parmrk;
	struct parmrk parmrk;

	struct backoff backoff;
	bool trouble_logged;
	struct loop_timer *reopen_timer;
	struct loop_timer *idle_timer;
	struct loop_timer *dwell_timer;

	bool writable;           /* a polled meter ([meter] protocol = c1218): opened read-write */
	struct line_stats stats;       /* current candidate / since the last decoded frame */
	struct line_stats cycle_stats; /* whole detection cycle */
	uint64_t last_frame_ms;
	uint64_t since_ms;
	const char *last_diag;
	uint64_t last_diag_ms;
};

static void reopen(void *ctx);
static void io_ready(void *ctx, uint32_t events);

static bool parity_of(enum serial_format f, int *bits, enum sp_parity *parity, int *stop, tcflag_t *cflag)
{
	/* 8N1 also for a value outside the enum, so no caller ever reads an unset output */
	*bits = 8, *parity = SP_PARITY_NONE, *stop = 1, *cflag = CS8;
	switch (f) {
	case FORMAT_AUTO:
	case FORMAT_8N1: *bits = 8, *parity = SP_PARITY_NONE, *stop = 1, *cflag = CS8; return true;
	case FORMAT_7E1: *bits = 7, *parity = SP_PARITY_EVEN, *stop = 1, *cflag = CS7 | PARENB; return true;
	case FORMAT_8E1: *bits = 8, *parity = SP_PARITY_EVEN, *stop = 1, *cflag = CS8 | PARENB; return true;
	case FORMAT_8N2: *bits = 8, *parity = SP_PARITY_NONE, *stop = 2, *cflag = CS8 | CSTOPB; return true;
	case FORMAT_7N1: *bits = 7, *parity = SP_PARITY_NONE, *stop = 1, *cflag = CS7; return true;
	}
	return false;
}

static speed_t speed_of(unsigned baud)
{
	switch (baud) {
	case 300: return B300;
	case 600: return B600;
	case 1200: return B1200;
	case 2400: return B2400;
	case 4800: return B4800;
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	case 460800: return B460800;
	case 921600: return B921600;
	default: return B0;
	}
}

static void build_candidates(struct source *s, unsigned baud, enum serial_format fmt)
{
	s->ncand = 0;
	if (baud && fmt != FORMAT_AUTO) {
		s->cand[s->ncand++] = (struct line_setting){ baud, fmt };
	} else if (baud) {
		s->cand[s->ncand++] = (struct line_setting){ baud, FORMAT_8N1 };
		s->cand[s->ncand++] = (struct line_setting){ baud, FORMAT_8E1 };
	} else if (fmt == FORMAT_AUTO) {
		for (size_t i = 0; i < sizeof(auto_candidates) / sizeof(auto_candidates[0]); i++)
			if (auto_candidates[i].fmt != FORMAT_7E1) /* 8N1 at the same speed covers it */
				s->cand[s->ncand++] = auto_candidates[i];
	} else {
		static const unsigned rates[] = { 115200, 9600, 2400 };
		for (size_t i = 0; i < 3; i++)
			s->cand[s->ncand++] = (struct line_setting){ rates[i], fmt };
	}
	s->autodetect = s->ncand > 1;
}

/* Is this a Unix98 pseudo-terminal slave (/dev/pts/N)? Majors 136..143. */
static bool is_pty(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	unsigned maj = major(st.st_rdev);
	return maj >= 136 && maj <= 143;
}

#ifdef SMARTMETER_HAVE_LIBSERIALPORT /* only its fds need it; open() gets the flags directly */
static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}
#endif

/* Raw mode, and on real ttys PARMRK marking of bytes with parity/framing errors (§8.3). */
static int apply_termios(struct source *s, bool set_speed)
{
	struct termios t;
	int bits, stop;
	enum sp_parity par;
	tcflag_t cflag;
	const struct line_setting *ls = &s->cand[s->cur];

	if (tcgetattr(s->fd, &t) < 0)
		return -1;
	cfmakeraw(&t);
	t.c_cflag |= CREAD | CLOCAL;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (set_speed) {
		speed_t sp = speed_of(ls->baud);
		parity_of(ls->fmt, &bits, &par, &stop, &cflag);
		t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
		t.c_cflag |= cflag;
		if (sp != B0) {
			cfsetispeed(&t, sp);
			cfsetospeed(&t, sp);
		}
	}
	s->use_parmrk = s->kind != KIND_PTY;
	if (s->use_parmrk) {
		t.c_iflag |= INPCK | PARMRK;
		t.c_iflag &= ~(tcflag_t)(IGNPAR | ISTRIP | IGNBRK | BRKINT);
	}
	return tcsetattr(s->fd, TCSANOW, &t);
}

static const char *setting_text(const struct line_setting *ls, char *buf, size_t n)
{
	snprintf(buf, n, "%u %s", ls->baud, serial_format_name(ls->fmt));
	return buf;
}

static int open_tty(struct source *s, char *why, size_t whysz, char *desc, size_t descsz)
{
	char real[PATH_MAX];
	const char *path = realpath(s->device, real) ? real : s->device;

	s->kind = is_pty(path) ? KIND_PTY : KIND_TTY_SP;
#ifdef SMARTMETER_HAVE_LIBSERIALPORT
	char st[32];
	int bits, stop;
	enum sp_parity par;
	tcflag_t cflag;
	if (s->kind == KIND_TTY_SP && sp_get_port_by_name(path, &s->port) == SP_OK) {
		if (sp_open(s->port, s->writable ? SP_MODE_READ_WRITE : SP_MODE_READ) == SP_OK && sp_get_port_handle(s->port, &s->fd) == SP_OK) {
			const struct line_setting *ls = &s->cand[s->cur];
			struct sp_port_config *pc = NULL;
			parity_of(ls->fmt, &bits, &par, &stop, &cflag);
			if (sp_new_config(&pc) == SP_OK) {
				sp_set_config_baudrate(pc, (int)ls->baud);
				sp_set_config_bits(pc, bits);
				sp_set_config_parity(pc, par);
				sp_set_config_stopbits(pc, stop);
				sp_set_config_flowcontrol(pc, SP_FLOWCONTROL_NONE);
				if (s->writable) { /* IR probes: RTS on, DTR off (what termineter sets) */
					sp_set_config_rts(pc, SP_RTS_ON);
					sp_set_config_dtr(pc, SP_DTR_OFF);
				}
				if (sp_set_config(s->port, pc) != SP_OK)
					log_warning("serial: %s: cannot set %s: %s", s->device, setting_text(ls, st, sizeof(st)),
					            sp_last_error_message());
				sp_free_config(pc);
			}
			set_nonblock_cloexec(s->fd);
			apply_termios(s, false);
			int vid = 0, pid = 0;
			const char *prod = sp_get_port_usb_product(s->port), *man = sp_get_port_usb_manufacturer(s->port);
			if (sp_get_port_transport(s->port) == SP_TRANSPORT_USB &&
			    sp_get_port_usb_vid_pid(s->port, &vid, &pid) == SP_OK)
				snprintf(desc, descsz, "%.160s, USB %04x:%04x %s %s", path, vid, pid, man ? man : "",
				         prod ? prod : "");
			else
				snprintf(desc, descsz, "%.160s, %.80s", path, sp_get_port_description(s->port));
			return 0;
		}
		snprintf(why, whysz, "%s", sp_last_error_message());
		sp_free_port(s->port);
		s->port = NULL;
		s->fd = -1;
		return -1;
	}
#endif
	/* libserialport 0.1.1 refuses ptys and ports it cannot find in sysfs: plain open() + termios. */
	if (s->kind != KIND_PTY)
		s->kind = KIND_TTY_TERMIOS;
	s->fd = open(path, (s->writable ? O_RDWR : O_RDONLY) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (!isatty(s->fd)) {
		snprintf(why, whysz, "not a terminal device");
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	if (apply_termios(s, s->kind != KIND_PTY) < 0) {
		snprintf(why, whysz, "cannot set line settings: %s", strerror(errno));
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	snprintf(desc, descsz, "%.200s%s", path, s->kind == KIND_PTY ? ", pseudo-terminal" : "");
	return 0;
}

/* A non-blocking connect to the relay's current address (addrs[addr_idx]). */
static int open_tcp(struct source *s, char *why, size_t whysz)
{
	const struct resolve_addr *a = &s->addrs.addr[s->addr_idx];
	s->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(why, whysz, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1, idle = 30, intvl = 10, cnt = 3;
	/* A relay that vanishes without FIN (power cut) is noticed within ~60 s. */
	setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	int rc = connect(s->fd, (const struct sockaddr *)&a->sa, a->len);
	if (rc < 0 && errno != EINPROGRESS) {
		snprintf(why, whysz, "%s (%s)", strerror(errno), a->text);
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	s->tcp_connecting = rc < 0;
	return 0;
}

static void close_fd(struct source *s)
{
	loop_watch_remove(s->watch);
	s->watch = NULL;
#ifdef SMARTMETER_HAVE_LIBSERIALPORT
	if (s->port) {
		sp_close(s->port);
		sp_free_port(s->port);
		s->port = NULL;
		s->fd = -1;
	}
#endif
	if (s->fd >= 0) {
		close(s->fd);
	}
	s->fd = -1;
	loop_timer_disarm(s->idle_timer);
}

static void schedule_reopen(struct source *s)
{
	loop_timer_arm(s->reopen_timer, backoff_next(&s->backoff), 0);
}

static void went_up(struct source *s, const char *desc)
{
	char st[32];
	s->up = true;
	s->got_data = false;
	s->parmrk.pending = 0;
	s->since_ms = loop_now_ms();
	memset(&s->stats, 0, sizeof(s->stats));
	if (s->kind == KIND_TCP && strcmp(s->addrs.addr[s->addr_idx].text, s->tcp_host))
		log_info("serial: connected to relay %s (address %s)", s->device, s->addrs.addr[s->addr_idx].text);
	else if (s->kind == KIND_TCP)
		log_info("serial: connected to relay %s", s->device);
	else if (s->kind == KIND_PTY)
		log_info("serial: opened %s (%s; line settings do not apply)", s->device, desc);
	else
		log_info("serial: opened %s (%s) at %s%s", s->device, desc, setting_text(&s->cand[s->cur], st, sizeof(st)),
		         s->autodetect && !s->locked ? ", detecting line settings" : "");
	s->trouble_logged = false;
	if (s->autodetect && !s->locked && (s->kind == KIND_TTY_SP || s->kind == KIND_TTY_TERMIOS))
		loop_timer_arm(s->dwell_timer, SERIAL_DWELL_MS, 0);
	else
		loop_timer_arm(s->dwell_timer, SERIAL_DIAG_AFTER_MS, 0);
	if (s->cb.on_up)
		s->cb.on_up(s->ctx);
}

static void lost(struct source *s, const char *why)
{
	bool was_up = s->up;
	close_fd(s);
	s->up = false;
	s->tcp_connecting = false;
	s->have_addrs = false; /* a relay's name is looked up again for the next attempt */
	loop_timer_disarm(s->dwell_timer);
	if (was_up) {
		log_warning("serial: %s lost (%s); reopening when it returns (retry 1 s .. 30 s)", s->device, why);
		s->trouble_logged = true;
		if (s->got_data)
			backoff_reset(&s->backoff);
		if (s->cb.on_idle)
			s->cb.on_idle(s->ctx);
		if (s->cb.on_down)
			s->cb.on_down(s->ctx);
	} else if (!s->trouble_logged) {
		log_warning("serial: cannot open %s: %s; retrying (1 s .. 30 s) and saying so when it works", s->device, why);
		s->trouble_logged = true;
	} else {
		log_debug("serial: cannot open %s: %s", s->device, why);
	}
	schedule_reopen(s);
}

static void resolved(void *ctx, const struct resolve_result *r)
{
	struct source *s = ctx;
	char why[256];
	s->lookup = NULL;
	if (r->gai_err || r->n == 0) {
		snprintf(why, sizeof(why), "cannot resolve '%s': %s", s->tcp_host, r->gai_err ? gai_strerror(r->gai_err) : "no address");
		lost(s, why);
		return;
	}
	s->addrs = *r;
	s->addr_idx = 0;
	s->have_addrs = true;
	reopen(s);
}

/* The relay's current address failed before the connection was up: true when another one is left (tried
 * at once, as a blocking connect would), false when all failed (the caller reports and backs off). */
static bool next_address(struct source *s, const char *why)
{
	if (!s->have_addrs || s->addr_idx + 1 >= s->addrs.n) {
		s->have_addrs = false; /* the next round looks the name up again */
		return false;
	}
	log_debug("serial: relay %s at %s: %s; trying %s", s->device, s->addrs.addr[s->addr_idx].text, why,
	          s->addrs.addr[s->addr_idx + 1].text);
	close_fd(s);
	s->tcp_connecting = false;
	s->addr_idx++;
	loop_timer_arm(s->reopen_timer, 1, 0);
	return true;
}

static void reopen(void *ctx)
{
	struct source *s = ctx;
	char why[256] = "", desc[256] = "";
	int rc;

	if (s->kind == KIND_TCP && !s->have_addrs) {
		if (s->lookup)
			return;
		if (!(s->lookup = resolve_start(s->loop, s->tcp_host, s->tcp_port, resolved, s)))
			lost(s, strerror(errno));
		return;
	}
	if (s->kind == KIND_TCP)
		rc = open_tcp(s, why, sizeof(why));
	else
		rc = open_tty(s, why, sizeof(why), desc, sizeof(desc));
	if (rc < 0) {
		if (s->kind == KIND_TCP && next_address(s, why))
			return;
		lost(s, why);
		return;
	}
	s->watch = loop_watch_add(s->loop, s->fd, s->tcp_connecting ? EPOLLOUT : s->paused ? 0 : EPOLLIN, io_ready, s);
	if (!s->watch) {
		lost(s, strerror(errno));
		return;
	}
	if (!s->tcp_connecting)
		went_up(s, desc);
}

static void count_starts(struct source *s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] == 0x2F || b[i] == 0xAF || b[i] == 0x7E || b[i] == 0x68)
			s->stats.frame_starts++;
}

static void io_ready(void *ctx, uint32_t events)
{
	struct source *s = ctx;
	uint8_t buf[SERIAL_READ_CHUNK];

	if (s->tcp_connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			char why[256];
			snprintf(why, sizeof(why), "%s (%s)", strerror(err), s->addrs.addr[s->addr_idx].text);
			if (!next_address(s, strerror(err)))
				lost(s, why);
			return;
		}
		s->tcp_connecting = false;
		loop_watch_modify(s->watch, s->paused ? 0 : EPOLLIN);
		went_up(s, s->device);
		return;
	}
	for (;;) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			lost(s, strerror(errno));
			return;
		}
		if (n == 0) {
			lost(s, s->kind == KIND_TCP ? "relay closed the connection" : "end of file");
			return;
		}
		size_t len = (size_t)n;
		if (s->use_parmrk)
			len = serial_unmark(&s->parmrk, buf, len, &s->stats.error_marks);
		s->stats.bytes += (uint64_t)n;
		count_starts(s, buf, len);
		s->got_data = true;
		if (len && s->cb.on_data)
			s->cb.on_data(s->ctx, buf, len);
		if (!s->watch) /* a callback closed us */
			return;
		if (s->paused)
			break; /* the callback asked for a pause: the rest waits in the kernel */
		loop_timer_arm(s->idle_timer, SERIAL_IDLE_GAP_MS, 0);
		if ((size_t)n < sizeof(buf))
			break;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		lost(s, "hang-up");
}

void source_pause(struct source *s, bool pause)
{
	if (!s || s->paused == pause)
		return;
	s->paused = pause;
	if (s->watch && !s->tcp_connecting)
		loop_watch_modify(s->watch, pause ? 0 : EPOLLIN);
	if (pause)
		loop_timer_disarm(s->idle_timer); /* a pause is not the end of a burst */
	else if (s->watch && !s->tcp_connecting)
		loop_timer_arm(s->idle_timer, SERIAL_IDLE_GAP_MS, 0);
}

static void idle(void *ctx)
{
	struct source *s = ctx;
	if (s->cb.on_idle)
		s->cb.on_idle(s->ctx);
}

static void add_stats(struct line_stats *a, const struct line_stats *b)
{
	a->bytes += b->bytes;
	a->error_marks += b->error_marks;
	a->frame_starts += b->frame_starts;
	a->frames_bad += b->frames_bad;
}

static void say_diagnosis(struct source *s, const struct line_stats *st, bool tried_all)
{
	if (s->writable)
		return; /* a polled meter answers only when asked: its poller explains silence (c1218_source.c) */
	const char *d = serial_diagnose(st, s->cand[s->cur].fmt, tried_all);
	uint64_t now = loop_now_ms();
	if (d == s->last_diag && now - s->last_diag_ms < SERIAL_DIAG_REPEAT_MS)
		return;
	s->last_diag = d;
	s->last_diag_ms = now;
	if (!s->autodetect && (s->kind == KIND_TTY_SP || s->kind == KIND_TTY_TERMIOS) && st->bytes) {
		/* Fixed line settings: name what autodetection would have tried instead of guessing one. */
		char tries[160], one[32];
		size_t n = 0;
		tries[0] = '\0';
		for (size_t i = 0; i < sizeof(auto_candidates) / sizeof(auto_candidates[0]) && n < sizeof(tries); i++)
			n += (size_t)snprintf(tries + n, sizeof(tries) - n, "%s%s", i ? ", " : "",
			                      setting_text(&auto_candidates[i], one, sizeof(one)));
		log_warning("serial: %s: nothing decodes at %s: %s (hint: set baudrate = auto and format = auto to try %s)",
		            s->device, setting_text(&s->cand[s->cur], one, sizeof(one)), d, tries);
		return;
	}
	log_warning("serial: %s: nothing decodes: %s", s->device, d);
}

/* Dwell expired: next automatic candidate, or explain why a fixed setting decodes nothing. */
static void dwell_expired(void *ctx)
{
	struct source *s = ctx;
	char st[32];
	bool line = s->kind == KIND_TTY_SP || s->kind == KIND_TTY_TERMIOS;

	if (!s->up)
		return;
	if (!s->autodetect || s->locked || !line) {
		if (loop_now_ms() - s->last_frame_ms >= SERIAL_DIAG_AFTER_MS || s->last_frame_ms == 0) {
			say_diagnosis(s, &s->stats, false);
			if (s->locked && loop_now_ms() - s->last_frame_ms >= SERIAL_REDETECT_MS) {
				log_notice("serial: %s: no frame for 10 minutes at %s; detecting line settings again", s->device,
				           setting_text(&s->cand[s->cur], st, sizeof(st)));
				s->locked = false;
			}
		}
		loop_timer_arm(s->dwell_timer, SERIAL_DIAG_AFTER_MS, 0);
		if (s->locked || !s->autodetect || !line)
			return;
	}
	add_stats(&s->cycle_stats, &s->stats);
	memset(&s->stats, 0, sizeof(s->stats));
	s->cur = (s->cur + 1) % s->ncand;
	if (s->cur == 0) {
		say_diagnosis(s, &s->cycle_stats, true);
		memset(&s->cycle_stats, 0, sizeof(s->cycle_stats));
	}
	log_debug("serial: %s: trying %s", s->device, setting_text(&s->cand[s->cur], st, sizeof(st)));
	if (s->cb.on_idle)
		s->cb.on_idle(s->ctx); /* drop what was half-read at the old setting */
#ifdef SMARTMETER_HAVE_LIBSERIALPORT
	if (s->port) {
		int bits, stop;
		enum sp_parity par;
		tcflag_t cflag;
		parity_of(s->cand[s->cur].fmt, &bits, &par, &stop, &cflag);
		sp_set_baudrate(s->port, (int)s->cand[s->cur].baud);
		sp_set_bits(s->port, bits);
		sp_set_parity(s->port, par);
		sp_set_stopbits(s->port, stop);
		apply_termios(s, false);
	} else
#endif
	{
		apply_termios(s, true);
	}
	s->parmrk.pending = 0;
	loop_timer_arm(s->dwell_timer, SERIAL_DWELL_MS, 0);
}

void source_frame_ok(struct source *s, bool seven_bit)
{
	char st[32];
	s->last_frame_ms = loop_now_ms();
	s->seven_bit = seven_bit;
	memset(&s->stats, 0, sizeof(s->stats));
	if (s->autodetect && !s->locked && (s->kind == KIND_TTY_SP || s->kind == KIND_TTY_TERMIOS)) {
		s->locked = true;
		memset(&s->cycle_stats, 0, sizeof(s->cycle_stats));
		const struct line_setting *ls = &s->cand[s->cur];
		if (seven_bit && ls->fmt == FORMAT_8N1)
			log_info("serial: %s: frames decode at %u 7E1 (read as 8N1, bit 7 masked); staying there", s->device,
			         ls->baud);
		else
			log_info("serial: %s: frames decode at %s; staying there", s->device, setting_text(ls, st, sizeof(st)));
		loop_timer_arm(s->dwell_timer, SERIAL_DIAG_AFTER_MS, 0);
	}
	s->last_diag = NULL;
}

int source_write(struct source *s, const uint8_t *buf, size_t len)
{
	if (!s->up || s->fd < 0 || s->tcp_connecting || !s->writable) {
		errno = ENOTCONN;
		return -1;
	}
	while (len) {
		ssize_t n = write(s->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1; /* EAGAIN included: the poller's resend timer recovers */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void source_frame_bad(struct source *s)
{
	s->stats.frames_bad++;
}

const char *source_settings(const struct source *s, char *buf, size_t n)
{
	const struct line_setting *ls = &s->cand[s->cur];
	if (s->kind == KIND_TCP)
		snprintf(buf, n, "tcp://%s:%s", s->tcp_host, s->tcp_port);
	else if (s->kind == KIND_PTY)
		snprintf(buf, n, "pseudo-terminal");
	else if (s->seven_bit && ls->fmt == FORMAT_8N1)
		snprintf(buf, n, "%u 7E1 (read as 8N1)", ls->baud);
	else
		setting_text(ls, buf, n);
	return buf;
}

bool source_detecting(const struct source *s)
{
	return s->autodetect && !s->locked && (s->kind == KIND_TTY_SP || s->kind == KIND_TTY_TERMIOS);
}

static int parse_tcp(struct source *s, const char *spec)
{
	const char *hp = spec + strlen("tcp://");
	const char *colon;
	if (*hp == '[') {
		const char *end = strchr(hp, ']');
		if (!end || end[1] != ':')
			return -1;
		s->tcp_host = strndup(hp + 1, (size_t)(end - hp - 1));
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -1;
		s->tcp_host = strndup(hp, (size_t)(colon - hp));
	}
	s->tcp_port = strdup(colon + 1);
	return s->tcp_host && s->tcp_port && *s->tcp_host && *s->tcp_port ? 0 : -1;
}

struct source *source_new(struct loop *loop, const struct config *cfg, const struct source_callbacks *cb, void *ctx)
{
	struct source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->cb = *cb;
	s->ctx = ctx;
	s->fd = -1;
	s->backoff = (struct backoff)BACKOFF_INIT(SERIAL_BACKOFF_MIN_MS, SERIAL_BACKOFF_MAX_MS);
	s->device = strdup(cfg->device);
	s->reopen_timer = loop_timer_new(loop, reopen, s);
	s->idle_timer = loop_timer_new(loop, idle, s);
	s->dwell_timer = loop_timer_new(loop, dwell_expired, s);
	if (!s->device || !s->reopen_timer || !s->idle_timer || !s->dwell_timer) {
		source_free(s);
		return NULL;
	}
	s->writable = cfg->meter_protocol == METER_PROTOCOL_C1218;
	if (s->writable) /* optical ports run at 9600 8N1 until Negotiate says otherwise, and we ask for 9600 */
		build_candidates(s, cfg->baudrate ? cfg->baudrate : 9600, cfg->format != FORMAT_AUTO ? cfg->format : FORMAT_8N1);
	else
		build_candidates(s, cfg->baudrate, cfg->format);
	if (!strncmp(cfg->device, "tcp://", 6)) {
		s->kind = KIND_TCP;
		if (parse_tcp(s, cfg->device) < 0) {
			log_err("serial: '%s' is not tcp://host:port", cfg->device);
			source_free(s);
			return NULL;
		}
	}
	loop_timer_arm(s->reopen_timer, 1, 0);
	return s;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	close_fd(s);
	resolve_cancel(s->lookup);
	loop_timer_free(s->reopen_timer);
	loop_timer_free(s->idle_timer);
	loop_timer_free(s->dwell_timer);
	free(s->device);
	free(s->tcp_host);
	free(s->tcp_port);
	free(s);
}

size_t serial_unmark(struct parmrk *st, uint8_t *buf, size_t len, uint64_t *ret_errors)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = buf[i];
		switch (st->pending) {
		case 0:
			if (b == 0xFF)
				st->pending = 1;
			else
				buf[o++] = b;
			break;
		case 1:
			if (b == 0xFF) {
				buf[o++] = 0xFF; /* escaped real 0xFF */
				st->pending = 0;
			} else if (b == 0x00) {
				st->pending = 2;
			} else {
				/* Not a mark sequence (cannot happen with PARMRK set): keep both bytes. */
				buf[o++] = 0xFF;
				buf[o++] = b;
				st->pending = 0;
			}
			break;
		default:
			/* FF 00 x: x arrived with a parity or framing error (x = 00 for a break). */
			if (ret_errors)
				(*ret_errors)++;
			st->pending = 0;
			break;
		}
	}
	return o;
}

const char *serial_diagnose(const struct line_stats *st, enum serial_format fmt, bool tried_all)
{
	if (st->bytes == 0)
		return "no bytes at all: check wiring / data-request pin (P1: +5 V on pin 2) and that the grid operator "
		       "has enabled the port";
	if (st->error_marks * 10 > st->bytes) {
		if (tried_all)
			return "bytes arrive with parity/framing errors at every setting: signal probably inverted — use an "
			       "inverting cable";
		if (fmt == FORMAT_8E1 || fmt == FORMAT_7E1)
			return "parity or framing errors: wrong speed or parity, or an inverted signal";
		/* Without a parity bit only the stop bit can be wrong: a framing error, mostly the speed. */
		return "framing errors: wrong speed, or an inverted signal";
	}
	if (st->bytes >= 64 && st->frame_starts == 0)
		return "bytes arrive but no frame start: signal probably inverted — use an inverting cable";
	if (st->frames_bad > 0)
		return "frames start but fail their checksums: wrong speed/parity, noise on the line, or frames the decoder "
		       "does not know (run with -v to see them in hex)";
	return "bytes arrive but no frame is recognised: wrong speed, or a protocol the decoder does not know (run with "
	       "-v)";
}

#ifndef SMARTMETER_HAVE_LIBSERIALPORT
int serial_list_ports(FILE *out)
{
	(void)out;
	fprintf(stderr, "smartmeterd: --list-ports is unavailable: built without libserialport "
	                "(ls -l /dev/serial/by-id/ shows the USB serial numbers)\n");
	return -1;
}
#else
int serial_list_ports(FILE *out)
{
	struct sp_port **ports = NULL;
	if (sp_list_ports(&ports) != SP_OK) {
		fprintf(stderr, "smartmeterd: cannot list ports: %s\n", sp_last_error_message());
		return -1;
	}
	if (!ports[0])
		fprintf(out, "no serial ports found\n");
	for (size_t i = 0; ports[i]; i++) {
		struct sp_port *p = ports[i];
		fprintf(out, "%s\n  description: %s\n", sp_get_port_name(p), sp_get_port_description(p));
		if (sp_get_port_transport(p) == SP_TRANSPORT_USB) {
			int vid = 0, pid = 0;
			const char *man = sp_get_port_usb_manufacturer(p), *prod = sp_get_port_usb_product(p),
			           *ser = sp_get_port_usb_serial(p);
			if (sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK)
				fprintf(out, "  usb: %04x:%04x\n", vid, pid);
			if (man)
				fprintf(out, "  manufacturer: %s\n", man);
			if (prod)
				fprintf(out, "  product: %s\n", prod);
			if (ser)
				fprintf(out, "  serial: %s\n", ser);
		}
	}
	sp_free_port_list(ports);
	return 0;
}
#endif
