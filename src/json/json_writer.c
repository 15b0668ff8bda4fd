/* json_writer.c — the streaming JSON writer (see json_writer.h for why it is hand-rolled).
 * Escaping follows RFC 8259 and prints exactly what json-c prints with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE, so the .../obis text did not change when json-c stopped building it:
 * '"' and '\\' escaped, \b \f \n \r \t short forms, other control characters as \u00xx (lowercase),
 * everything else (UTF-8, DEL) as it is. Must never allocate once the buffer is large enough. */
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "smartmeter/reading.h"

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->failed = false;
	w->depth = 0;
	w->need_comma[0] = false;
	if (w->buf)
		w->buf[0] = '\0';
}

const char *jw_text(const struct jw *w, size_t *ret_len)
{
	if (w->failed || !w->buf) {
		if (ret_len)
			*ret_len = 0;
		return "";
	}
	w->buf[w->len] = '\0'; /* room for it is always reserved */
	if (ret_len)
		*ret_len = w->len;
	return w->buf;
}

/* Room for n more bytes plus the NUL; false (and sticky failure) when memory runs out. */
static bool reserve(struct jw *w, size_t n)
{
	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 1024;
	while (cap < w->len + n + 1)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (reserve(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

/* Before a value: the comma between array elements (members get theirs from jw_key). */
static void value_sep(struct jw *w)
{
	if (w->need_comma[w->depth] && reserve(w, 1))
		w->buf[w->len++] = ',';
	w->need_comma[w->depth] = true;
}

static void nest_open(struct jw *w, char c)
{
	value_sep(w);
	if (w->depth >= JW_MAX_DEPTH) {
		w->failed = true;
		return;
	}
	if (reserve(w, 1))
		w->buf[w->len++] = c;
	w->need_comma[++w->depth] = false;
}

static void nest_close(struct jw *w, char c)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	if (reserve(w, 1))
		w->buf[w->len++] = c;
}

void jw_object_begin(struct jw *w)
{
	nest_open(w, '{');
}
void jw_object_end(struct jw *w)
{
	nest_close(w, '}');
}
void jw_array_begin(struct jw *w)
{
	nest_open(w, '[');
}
void jw_array_end(struct jw *w)
{
	nest_close(w, ']');
}

/* 1 = needs escaping. */
static const unsigned char escape_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

static const char hexdigits[] = "0123456789abcdef";

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Eight bytes at once: none below 0x20, none '"', none '\\' (the exact SWAR "has byte" tests). */
static inline bool clean8(uint64_t x)
{
	uint64_t ctl = (x - 0x20 * ONES) & ~x;
	uint64_t q = x ^ ('"' * ONES), b = x ^ ('\\' * ONES);
	return !((ctl | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS);
}

static void escaped(struct jw *w, const char *s, size_t n)
{
	/* Worst case 6 bytes per input byte ("\u001f") plus the quotes: reserve once. */
	if (n > (SIZE_MAX - 3) / 6 || !reserve(w, n * 6 + 2)) {
		w->failed = true;
		return;
	}
	char *o = w->buf + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint64_t x;
		/* Text and units rarely need escaping: copy whole words while they are clean. */
		while (i + 8 <= n && (memcpy(&x, s + i, 8), clean8(x))) {
			memcpy(o, &x, 8);
			o += 8;
			i += 8;
		}
		if (i == n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (!escape_class[c]) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hexdigits[c >> 4];
			*o++ = hexdigits[c & 15];
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void jw_key(struct jw *w, const char *k, size_t n)
{
	if (w->need_comma[w->depth] && reserve(w, 1))
		w->buf[w->len++] = ',';
	w->need_comma[w->depth] = false; /* the value that follows must not add one */
	escaped(w, k, n);
	if (reserve(w, 1))
		w->buf[w->len++] = ':';
}

void jw_key_raw(struct jw *w, const char *k, size_t n)
{
	if (!reserve(w, n + 4))
		return;
	char *o = w->buf + w->len;
	if (w->need_comma[w->depth])
		*o++ = ',';
	w->need_comma[w->depth] = false;
	*o++ = '"';
	memcpy(o, k, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	w->len = (size_t)(o - w->buf);
}

char *jw_key_space(struct jw *w, size_t max)
{
	if (!reserve(w, max + 4))
		return NULL;
	if (w->need_comma[w->depth])
		w->buf[w->len++] = ',';
	w->need_comma[w->depth] = false;
	w->buf[w->len++] = '"';
	return w->buf + w->len;
}

void jw_key_commit(struct jw *w, size_t used)
{
	if (w->failed)
		return;
	w->len += used;
	w->buf[w->len++] = '"';
	w->buf[w->len++] = ':';
}

char *jw_value_space(struct jw *w, size_t max)
{
	value_sep(w);
	return reserve(w, max) ? w->buf + w->len : NULL;
}

void jw_value_commit(struct jw *w, size_t used)
{
	if (!w->failed)
		w->len += used;
}

void jw_string(struct jw *w, const char *s, size_t n)
{
	value_sep(w);
	escaped(w, s ? s : "", s ? n : 0);
}

void jw_string_c(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_string(w, s, strlen(s));
}

void jw_hex(struct jw *w, const void *p, size_t n)
{
	const unsigned char *b = p;
	value_sep(w);
	if (n > (SIZE_MAX - 3) / 2 || !reserve(w, n * 2 + 2)) {
		w->failed = true;
		return;
	}
	char *o = w->buf + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		*o++ = hexdigits[b[i] >> 4];
		*o++ = hexdigits[b[i] & 15];
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char d[SM_U64_STRLEN];
	value_sep(w);
	put(w, d, sm_u64_format(v, d, sizeof(d)));
}

void jw_int(struct jw *w, int64_t v)
{
	char d[SM_U64_STRLEN + 1];
	value_sep(w);
	if (v < 0) {
		d[0] = '-';
		put(w, d, 1 + sm_u64_format((uint64_t)0 - (uint64_t)v, d + 1, sizeof(d) - 1));
	} else {
		put(w, d, sm_u64_format((uint64_t)v, d, sizeof(d)));
	}
}

void jw_bool(struct jw *w, bool v)
{
	value_sep(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jw_null(struct jw *w)
{
	value_sep(w);
	put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	value_sep(w);
	put(w, s, n);
}
