/* corpus.c — the corpus conformance harness: decode every captured frame, compare with case.json.
 *
 * Comparison rules follow the contract of smartmeter-decode and the corpus conventions (INDEX.md):
 * numbers within 1e-9 relative; strings exactly; a unitless text that the decoder prints as a number
 * ("0002" -> 2) is accepted, as the issue allows; a hex-encoded id that the decoder printed as text is
 * accepted when its "raw" field carries the telegram's hex; units and capture timestamps exactly. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "corpus.h"
#include "jsonref.h"

/* Which corpus: ../shared/corpus by default; the SML conformance test reads ../shared/corpus-sml. */
static const char *corpus_env = "SMARTMETER_CORPUS";
static const char *corpus_sub = "corpus";

void corpus_use(const char *env, const char *sub)
{
	corpus_env = env;
	corpus_sub = sub;
}

const char *corpus_dir(void)
{
	static char path[1024];
	struct stat st;
	const char *env = getenv(corpus_env);
	if (env && *env && stat(env, &st) == 0 && S_ISDIR(st.st_mode))
		return env;
	const char *src = getenv("SMARTMETER_SOURCE_DIR");
	if (src && *src) {
		snprintf(path, sizeof(path), "%s/../shared/%s", src, corpus_sub);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return path;
	}
	return NULL;
}

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*ret_len = len;
	return buf;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct corpus_case *)a)->name, ((const struct corpus_case *)b)->name);
}

size_t corpus_load(corpus_filter want, struct corpus_case **ret_cases)
{
	const char *dir = corpus_dir();
	*ret_cases = NULL;
	if (!dir)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct corpus_case *cases = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1200];
		snprintf(path, sizeof(path), "%s/%s/case.json", dir, e->d_name);
		json_object *cj = json_object_from_file(path);
		if (!cj)
			continue;
		if (want && !want(e->d_name, cj)) {
			json_object_put(cj);
			continue;
		}
		struct corpus_case *nc = realloc(cases, (n + 1) * sizeof(*cases));
		if (!nc) {
			json_object_put(cj);
			break;
		}
		cases = nc;
		struct corpus_case *c = &cases[n];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", e->d_name);
		snprintf(c->dir, sizeof(c->dir), "%s/%s", dir, e->d_name);
		c->cj = cj;
		snprintf(path, sizeof(path), "%s/%s/frame.bin", dir, e->d_name);
		c->frame = slurp(path, &c->len);
		n++;
	}
	closedir(d);
	if (n)
		qsort(cases, n, sizeof(*cases), cmp_names);
	*ret_cases = cases;
	return n;
}

void corpus_free(struct corpus_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object_put(cases[i].cj);
		free(cases[i].frame);
	}
	free(cases);
}

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	struct corpus_result *res = ctx;
	json_object *o = jsonref_written(t);
	json_object *vals;
	if (!o)
		return;
	json_object_array_add(res->telegrams, o);
	if (json_object_object_get_ex(o, "values", &vals)) {
		json_object_object_foreach(vals, k, v)
			json_object_object_add(res->values, k, json_object_get(v));
	}
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	struct corpus_result *res = ctx;
	if (ev->level != SM_EVENT_ERROR)
		return;
	if (res->nerrors == 0)
		snprintf(res->first_error, sizeof(res->first_error), "%s", ev->detail);
	if (res->nerrors < sizeof(res->errors) / sizeof(res->errors[0]))
		res->errors[res->nerrors++] = ev->err;
}

static void config_from_case(const struct corpus_case *c, bool crc_optional, struct sm_decoder_config *cfg)
{
	json_object *k;
	memset(cfg, 0, sizeof(*cfg));
	cfg->dsmr_crc_optional = crc_optional;
	if (json_object_object_get_ex(c->cj, "key", &k) && json_object_is_type(k, json_type_string))
		cfg->has_key = sm_key_parse(json_object_get_string(k), cfg->key) == SM_OK;
	if (json_object_object_get_ex(c->cj, "auth_key", &k) && json_object_is_type(k, json_type_string))
		cfg->has_auth_key = sm_key_parse(json_object_get_string(k), cfg->auth_key) == SM_OK;
}

static void decode_chunked(const struct corpus_case *c, bool crc_optional, size_t chunk, struct corpus_result *res)
{
	struct sm_decoder_config cfg;
	memset(res, 0, sizeof(*res));
	res->telegrams = json_object_new_array();
	res->values = json_object_new_object();
	config_from_case(c, crc_optional, &cfg);
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_telegram, on_event, res, NULL);
	assert_non_null(dec);
	for (size_t off = 0; off < c->len; off += chunk)
		sm_decoder_feed(dec, c->frame + off, c->len - off < chunk ? c->len - off : chunk);
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
}

void corpus_decode(const struct corpus_case *c, bool crc_optional, struct corpus_result *res)
{
	decode_chunked(c, crc_optional, c->len ? c->len : 1, res);
}

void corpus_decode_bytewise(const struct corpus_case *c, struct corpus_result *res)
{
	decode_chunked(c, false, 1, res);
}

struct each {
	void (*fn)(void *ctx, const struct sm_telegram *t);
	void *ctx;
	size_t n;
};

static void each_telegram(void *ctx, const struct sm_telegram *t)
{
	struct each *e = ctx;
	e->n++;
	e->fn(e->ctx, t);
}

static void ignore_event(void *ctx, const struct sm_event *ev)
{
	(void)ctx;
	(void)ev;
}

size_t corpus_each_telegram(const struct corpus_case *c, void (*fn)(void *ctx, const struct sm_telegram *t),
                            void *ctx)
{
	struct sm_decoder_config cfg;
	struct each e = { fn, ctx, 0 };
	config_from_case(c, false, &cfg);
	struct sm_decoder *dec = sm_decoder_new(&cfg, each_telegram, ignore_event, &e, NULL);
	assert_non_null(dec);
	sm_decoder_feed(dec, c->frame, c->len);
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
	return e.n;
}

void corpus_result_free(struct corpus_result *res)
{
	json_object_put(res->telegrams);
	json_object_put(res->values);
	memset(res, 0, sizeof(*res));
}

static bool parse_double(const char *s, double *ret)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	double d = strtod(s, &end);
	if (*end || errno)
		return false;
	*ret = d;
	return true;
}

static bool num_eq(double a, double b)
{
	double tol = 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
	return fabs(a - b) <= tol;
}

/* Is got an acceptable rendering of the expected value? */
static bool value_matches(json_object *exp, json_object *got, json_object *got_entry)
{
	double de, dg;
	if (json_object_is_type(exp, json_type_double) || json_object_is_type(exp, json_type_int)) {
		de = json_object_get_double(exp);
		if (json_object_is_type(got, json_type_double) || json_object_is_type(got, json_type_int))
			return num_eq(de, json_object_get_double(got));
		if (json_object_is_type(got, json_type_string) && parse_double(json_object_get_string(got), &dg))
			return num_eq(de, dg);
		return false;
	}
	if (json_object_is_type(exp, json_type_boolean))
		return json_object_is_type(got, json_type_boolean) &&
		       json_object_get_boolean(exp) == json_object_get_boolean(got);
	if (json_object_is_type(exp, json_type_string)) {
		const char *es = json_object_get_string(exp);
		json_object *raw;
		if (json_object_is_type(got, json_type_string) && strcmp(es, json_object_get_string(got)) == 0)
			return true;
		if (json_object_object_get_ex(got_entry, "raw", &raw) && strcmp(es, json_object_get_string(raw)) == 0)
			return true;
		/* Unitless numeric text given as a number ("0002" -> 2), as the contract allows. */
		if ((json_object_is_type(got, json_type_double) || json_object_is_type(got, json_type_int)) &&
		    parse_double(es, &de))
			return num_eq(de, json_object_get_double(got));
		if (json_object_is_type(got, json_type_boolean) && parse_double(es, &de))
			return (de != 0) == json_object_get_boolean(got);
		return false;
	}
	if (json_object_is_type(exp, json_type_null))
		return got == NULL || json_object_is_type(got, json_type_null);
	return json_object_equal(exp, got);
}

static void append(char *why, size_t whysz, const char *fmt, ...)
{
	size_t used = strlen(why);
	if (used + 1 >= whysz)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + used, whysz - used, fmt, ap);
	va_end(ap);
}

bool corpus_compare(json_object *expect, json_object *values, char *why, size_t whysz)
{
	bool ok = true;
	why[0] = '\0';
	json_object_object_foreach(expect, key, exp)
	{
		json_object *got_entry, *got = NULL, *ev, *eu, *gu, *et, *gt;
		if (!json_object_object_get_ex(values, key, &got_entry)) {
			append(why, whysz, " [%s missing]", key);
			ok = false;
			continue;
		}
		json_object_object_get_ex(got_entry, "value", &got);
		if (json_object_object_get_ex(exp, "value", &ev)) {
			if (!value_matches(ev, got, got_entry)) {
				append(why, whysz, " [%s: want %s got %s]", key, json_object_to_json_string(ev),
				       got ? json_object_to_json_string(got) : "null");
				ok = false;
			}
		} else if (json_object_object_get_ex(exp, "value_hex", &ev)) {
			const char *h = json_object_get_string(ev);
			json_object *raw;
			bool m = (got && json_object_is_type(got, json_type_string) &&
			          strcasecmp(h, json_object_get_string(got)) == 0) ||
			         (json_object_object_get_ex(got_entry, "raw", &raw) &&
			          strcasecmp(h, json_object_get_string(raw)) == 0);
			if (!m) {
				append(why, whysz, " [%s: want hex %.40s got %.40s]", key, h,
				       got ? json_object_to_json_string(got) : "null");
				ok = false;
			}
		}
		bool has_eu = json_object_object_get_ex(exp, "unit", &eu);
		bool has_gu = json_object_object_get_ex(got_entry, "unit", &gu);
		if (has_eu != has_gu || (has_eu && strcmp(json_object_get_string(eu), json_object_get_string(gu)) != 0)) {
			append(why, whysz, " [%s: unit want %s got %s]", key, has_eu ? json_object_get_string(eu) : "none",
			       has_gu ? json_object_get_string(gu) : "none");
			ok = false;
		}
		if (json_object_object_get_ex(exp, "timestamp", &et)) {
			if (!json_object_object_get_ex(got_entry, "timestamp", &gt) ||
			    strcmp(json_object_get_string(et), json_object_get_string(gt)) != 0) {
				append(why, whysz, " [%s: timestamp want %s got %s]", key, json_object_get_string(et),
				       json_object_object_get_ex(got_entry, "timestamp", &gt) ? json_object_get_string(gt)
				                                                             : "none");
				ok = false;
			}
		}
	}
	return ok;
}

bool corpus_error_matches(const char *expect_error, const struct corpus_result *res)
{
	for (size_t i = 0; i < res->nerrors; i++) {
		enum sm_err e = res->errors[i];
		if (!strcmp(expect_error, "crc") && (e == SM_E_CRC || e == SM_E_FCS || e == SM_E_HCS || e == SM_E_CHECKSUM))
			return true;
		if (!strcmp(expect_error, "auth") && e == SM_E_AUTH)
			return true;
		if (!strcmp(expect_error, "truncated") && e == SM_E_TRUNCATED)
			return true;
		if (!strcmp(expect_error, "incomplete") && (e == SM_E_INCOMPLETE || e == SM_E_SEQUENCE))
			return true;
		if (!strcmp(expect_error, "no-key") && e == SM_E_NO_KEY)
			return true;
	}
	return false;
}

/* ---- the cmocka group: one test per case ---- */

static void run_case(void **state)
{
	const struct corpus_case *c = *state;
	struct corpus_result res, res1;
	json_object *expect, *err, *lenient;
	char why[2048];

	corpus_decode(c, false, &res);
	if (json_object_object_get_ex(c->cj, "expect_error", &err)) {
		const char *cls = json_object_get_string(err);
		bool m = corpus_error_matches(cls, &res);
		if (!m)
			fail_msg("%s: expected a '%s' error, got %zu error(s)%s%s", c->name, cls, res.nerrors,
			         res.nerrors ? ": " : "", res.first_error);
		/* A frame that fails its check is never published. */
		if (strcmp(cls, "incomplete") != 0 && json_object_array_length(res.telegrams) != 0)
			fail_msg("%s: a rejected frame was published", c->name);
		/* With --no-crc-check the frame must decode to the values it would have had. */
		if (json_object_object_get_ex(c->cj, "expect_if_crc_ignored", &lenient)) {
			corpus_result_free(&res);
			corpus_decode(c, true, &res);
			if (!corpus_compare(lenient, res.values, why, sizeof(why)))
				fail_msg("%s (CRC ignored):%s", c->name, why);
		}
		corpus_result_free(&res);
		return;
	}
	if (json_object_object_get_ex(c->cj, "expect", &expect) && json_object_object_length(expect) > 0) {
		if (json_object_array_length(res.telegrams) == 0)
			fail_msg("%s: no telegram decoded (%zu errors%s%s)", c->name, res.nerrors,
			         res.nerrors ? ": " : "", res.first_error);
		if (!corpus_compare(expect, res.values, why, sizeof(why)))
			fail_msg("%s:%s", c->name, why);
	} else if (json_object_array_length(res.telegrams) == 0) {
		fail_msg("%s: no telegram decoded (%s)", c->name, res.nerrors ? res.first_error : "no error either");
	}
	if (res.nerrors)
		fail_msg("%s: unexpected error: %s", c->name, res.first_error);

	/* Any chunking must give the same result: feed the same bytes one at a time. */
	corpus_decode_bytewise(c, &res1);
	if (!json_object_equal(res.telegrams, res1.telegrams))
		fail_msg("%s: byte-at-a-time decoding differs from whole-buffer decoding", c->name);
	corpus_result_free(&res1);
	corpus_result_free(&res);
}

int corpus_run_group(const char *group, corpus_filter want)
{
	struct corpus_case *cases;
	if (!corpus_dir()) {
		printf("%s: corpus not found (set %s or put it at ../shared/%s): skipped\n", group, corpus_env, corpus_sub);
		return 77;
	}
	size_t n = corpus_load(want, &cases);
	if (n == 0) {
		printf("%s: no matching corpus cases: skipped\n", group);
		return 77;
	}
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	assert_non_null(tests);
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = &cases[i];
	}
	int rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
	corpus_free(cases, n);
	return rc;
}
