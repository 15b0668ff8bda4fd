/* capture.h — frames that failed to decode, kept in a capped file for later replay with
 * `smartmeter-decode --hex FILE`: lowercase hex, one frame per line, nothing else (never keys).
 * When the file would pass max_bytes it is renamed to FILE.1 (replacing an older one) and a fresh
 * file is started, so the disk use stays below 2 x max_bytes. */
#ifndef SMARTMETERD_CAPTURE_H
#define SMARTMETERD_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct capture;

/* Opens (appends to) path. NULL with errno on failure. */
struct capture *capture_open(const char *path, uint64_t max_bytes);
/* Append one frame as a hex line. 0 or -1 (errno); a failing disk is reported by the caller once. */
int capture_write(struct capture *c, const uint8_t *frame, size_t len);
void capture_close(struct capture *c); /* NULL ok */

#endif
