/* notify.h — systemd readiness and watchdog over $NOTIFY_SOCKET, by hand (no libsystemd).
 * Everything is a no-op when the daemon was not started by systemd. Never blocks: one datagram
 * with MSG_DONTWAIT per call. */
#ifndef SMARTMETERD_NOTIFY_H
#define SMARTMETERD_NOTIFY_H

#include <stdint.h>

#include "loop.h"

/* Send "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..." etc. 0 sent, 1 no socket, -1 error. */
int notify_send(const char *state);

/* If $WATCHDOG_USEC is set (and $WATCHDOG_PID is ours), send WATCHDOG=1 from a loop timer at half the
 * interval: the watchdog then proves the loop still turns. Returns the interval in ms, 0 if none. */
uint64_t notify_watchdog_start(struct loop *loop);
void notify_watchdog_stop(void);

#endif
