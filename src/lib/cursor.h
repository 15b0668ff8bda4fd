/* cursor.h — bounds-checked reading of untrusted bytes.
 * Every read of wire data goes through a cursor: a read past the end sets the sticky `bad` flag
 * and returns zeros, so a parser checks once after a group of reads instead of after every byte.
 * Never index wire buffers directly with wire-controlled lengths. */
#ifndef SMARTMETER_CURSOR_H
#define SMARTMETER_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sm_cursor {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

static inline struct sm_cursor sm_cursor_init(const uint8_t *p, size_t len)
{
	struct sm_cursor c = { p, len, 0, false };
	return c;
}

static inline size_t sm_cursor_left(const struct sm_cursor *c)
{
	return c->bad ? 0 : c->len - c->pos;
}

static inline bool sm_cursor_need(struct sm_cursor *c, size_t n)
{
	if (c->bad || c->len - c->pos < n) {
		c->bad = true;
		return false;
	}
	return true;
}

static inline uint8_t sm_cursor_u8(struct sm_cursor *c)
{
	if (!sm_cursor_need(c, 1))
		return 0;
	return c->p[c->pos++];
}

static inline uint8_t sm_cursor_peek(const struct sm_cursor *c)
{
	return (c->bad || c->pos >= c->len) ? 0 : c->p[c->pos];
}

static inline uint16_t sm_cursor_be16(struct sm_cursor *c)
{
	if (!sm_cursor_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)((c->p[c->pos] << 8) | c->p[c->pos + 1]);
	c->pos += 2;
	return v;
}

static inline uint32_t sm_cursor_be32(struct sm_cursor *c)
{
	if (!sm_cursor_need(c, 4))
		return 0;
	uint32_t v = ((uint32_t)c->p[c->pos] << 24) | ((uint32_t)c->p[c->pos + 1] << 16) |
	             ((uint32_t)c->p[c->pos + 2] << 8) | c->p[c->pos + 3];
	c->pos += 4;
	return v;
}

static inline uint64_t sm_cursor_be64(struct sm_cursor *c)
{
	uint64_t hi = sm_cursor_be32(c);
	uint64_t lo = sm_cursor_be32(c);
	return (hi << 32) | lo;
}

/* Returns a pointer to n bytes and advances, or NULL (bad set). */
static inline const uint8_t *sm_cursor_take(struct sm_cursor *c, size_t n)
{
	if (!sm_cursor_need(c, n))
		return NULL;
	const uint8_t *r = c->p + c->pos;
	c->pos += n;
	return r;
}

#endif
