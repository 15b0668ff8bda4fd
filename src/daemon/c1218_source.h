/* c1218_source.h — a polled meter ([meter] protocol = c1218): an ANSI C12.18 optical port read every
 * poll_interval through the serial source, each session run by the pure state machine in the library
 * (smartmeter/c1218.h), each reading handed to the publisher like a pushed telegram. Never blocks, never
 * logs the password, never writes a meter table. */
#ifndef SMARTMETERD_C1218_SOURCE_H
#define SMARTMETERD_C1218_SOURCE_H

#include "config.h"
#include "loop.h"
#include "publish.h"

struct c1218_poller;

/* Opens the port (from the loop) and starts polling once it is open. NULL only on allocation failure. */
struct c1218_poller *c1218_poller_new(struct loop *loop, const struct config *cfg, struct publisher *pub);
/* Ends a running session with Terminate (best effort), closes the port, wipes the password. NULL ok. */
void c1218_poller_free(struct c1218_poller *p);

/* Delays after refused passwords: the first refusal waits one poll interval, from the second on at least
 * this long, doubling up to the max, so the meter does not lock its optical port. */
#define C1218_REFUSED_BACKOFF_MS 60000u
#define C1218_REFUSED_BACKOFF_MAX_MS 3600000u
/* Other failed sessions: retried after one poll interval, doubling up to this. */
#define C1218_FAIL_BACKOFF_MAX_MS 300000u
/* A session that runs longer than this is stuck whatever its state says: Terminate, retry later. */
#define C1218_SESSION_MAX_MS 120000u

/* Pieces exposed for unit tests: the wait after the n-th refusal in a row (n >= 1). */
uint64_t c1218_refused_delay_ms(unsigned refusals, uint64_t poll_ms);

#endif
