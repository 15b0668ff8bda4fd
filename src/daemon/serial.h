/* serial.h — where the bytes come from: a serial port (libserialport for real USB/tty ports, plain
 * open()+termios for pseudo-terminals and anything libserialport cannot find), or a tcp://host:port
 * relay (ser2net, socat). The fd lives in the epoll loop; a lost device is reopened with backoff
 * (1 s doubling to 30 s) without a log line per retry. With baudrate/format = auto it tries the line
 * settings real meters use until a frame passes its checks (PROTOCOLS.md §8.3), then stays there.
 * Never interprets the bytes beyond counting frame-start bytes for diagnostics. */
#ifndef SMARTMETERD_SERIAL_H
#define SMARTMETERD_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "loop.h"

struct source;

struct source_callbacks {
	void (*on_data)(void *ctx, const uint8_t *buf, size_t len);
	void (*on_idle)(void *ctx);  /* the line went quiet after data: flush the decoder */
	void (*on_up)(void *ctx);    /* opened (again) */
	void (*on_down)(void *ctx);  /* lost: device unplugged, relay closed */
};

/* Starts opening at once (from the loop). NULL only on allocation failure. */
struct source *source_new(struct loop *loop, const struct config *cfg, const struct source_callbacks *cb, void *ctx);
void source_free(struct source *src); /* NULL ok */

/* The application tells the source how frames fare, to lock the automatic line settings and to explain
 * silence: decoded = a frame passed its checksum (even if it could not be decrypted). seven_bit: the
 * decoder saw 7E1 characters through an 8N1 port. */
void source_frame_ok(struct source *src, bool seven_bit);

/* Polled meters ([meter] protocol = c1218 opens the port read-write): write all of buf now (a few dozen
 * bytes; the tty buffer takes them). 0, or -1 with errno (ENOTCONN while the port is closed). */
int source_write(struct source *src, const uint8_t *buf, size_t len);
void source_frame_bad(struct source *src);

/* Stop (true) or resume reading input: the MQTT connection is backlogged. A TCP relay then waits in
 * the kernel; a tty keeps its kernel buffer. The quiet-line timer does not run while paused. */
void source_pause(struct source *src, bool pause);

/* The line settings frames arrive with, in words for the health entity: "115200 8N1", "9600 7E1 (read as
 * 8N1)", "pseudo-terminal", "tcp://host:port". */
const char *source_settings(const struct source *src, char *buf, size_t n);

/* True while automatic line detection is still trying settings (decode errors are expected then). */
bool source_detecting(const struct source *src);

/* `smartmeterd --list-ports`: one block per port libserialport knows. 0 or -1. */
int serial_list_ports(FILE *out);

/* ---- pieces exposed for unit tests ---- */

/* termios PARMRK unescaping (PROTOCOLS.md §8.3): FF 00 x = byte x had a parity/framing error (dropped and
 * counted), FF FF = a real FF. State carries across reads. Works in place; returns the new length. */
struct parmrk {
	uint8_t pending; /* 0, 1 (seen FF), 2 (seen FF 00) */
};
size_t serial_unmark(struct parmrk *st, uint8_t *buf, size_t len, uint64_t *ret_errors);

/* What was seen on a line that decoded nothing, in plain words. */
struct line_stats {
	uint64_t bytes;
	uint64_t error_marks;  /* parity/framing errors */
	uint64_t frame_starts; /* '/', 0x7E, 0x68 bytes */
	uint64_t frames_bad;   /* frames that started but failed their checks */
};
const char *serial_diagnose(const struct line_stats *st, enum serial_format fmt, bool tried_all);

#endif
