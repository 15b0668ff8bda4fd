/* json_writer.h — a streaming JSON text writer into one reused, growing buffer.
 *
 * Why hand-rolled: json-c (which the project keeps for parsing) builds an object tree first; for a
 * telegram that tree costs 4-10x more instructions and ~300 heap allocations than decoding it did.
 * Here text is appended as it is produced: RFC 8259 string escaping (the same bytes json-c prints with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), numbers from their exact decimal text,
 * digit and hex emitters instead of printf. After the buffer has grown to the largest document once,
 * writing allocates nothing.
 *
 * Commas are the writer's job: jw_key() and every value inside an array insert them. Errors (out of
 * memory, nesting deeper than JW_MAX_DEPTH) are sticky: jw_ok() tells at the end.
 * Must never know what a telegram is (telegram_json.c does). */
#ifndef SMARTMETER_JSON_WRITER_H
#define SMARTMETER_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	bool failed;
	unsigned depth;
	bool need_comma[JW_MAX_DEPTH + 1];
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* Start a new document in the same buffer (keeps the memory). */
void jw_reset(struct jw *w);
static inline bool jw_ok(const struct jw *w)
{
	return !w->failed;
}
/* The text so far, NUL-terminated (an empty string after a failure). */
const char *jw_text(const struct jw *w, size_t *ret_len);

void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);

/* A member name; the value follows with one of the calls below. */
void jw_key(struct jw *w, const char *k, size_t n);
static inline void jw_key_c(struct jw *w, const char *k)
{
	jw_key(w, k, __builtin_strlen(k));
}
/* A member name the caller knows needs no escaping (a literal, an OBIS code): copied as it is. */
void jw_key_raw(struct jw *w, const char *k, size_t n);
#define JW_KEY(w, lit) jw_key_raw((w), (lit), sizeof(lit) - 1)

void jw_string(struct jw *w, const char *s, size_t n);
void jw_string_c(struct jw *w, const char *s); /* NULL writes null */
/* n bytes as a string of lowercase hex digits. */
void jw_hex(struct jw *w, const void *p, size_t n);
void jw_uint(struct jw *w, uint64_t v);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Formatting straight into the buffer: *_space returns room for max bytes (NULL after a failure),
 * *_commit takes the used bytes. A key written this way must need no escaping. */
char *jw_key_space(struct jw *w, size_t max);
void jw_key_commit(struct jw *w, size_t used);
char *jw_value_space(struct jw *w, size_t max);
void jw_value_commit(struct jw *w, size_t used);

/* Text that already is a JSON number (or any valid JSON value), copied as it is. */
void jw_raw(struct jw *w, const char *s, size_t n);

#endif
