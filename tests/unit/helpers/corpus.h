/* corpus.h — reads ../shared/corpus (or $SMARTMETER_CORPUS) and checks decoder output against each
 * case.json. Test-only. The corpus is reference data: it is read in place, never copied. */
#ifndef SM_TEST_CORPUS_H
#define SM_TEST_CORPUS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartmeter/decoder.h"

struct corpus_case {
	char name[256];
	char dir[1024];
	json_object *cj;      /* case.json */
	uint8_t *frame;       /* frame.bin */
	size_t len;
};

struct corpus_result {
	json_object *telegrams;   /* array of smartmeter-decode objects */
	json_object *values;      /* merged "values" of all telegrams (later wins) */
	enum sm_err errors[64];   /* SM_EVENT_ERROR codes in order */
	size_t nerrors;
	char first_error[256];
};

/* Read another corpus than ../shared/corpus: $env, else ../shared/<sub> beside the source tree
 * (the SML cases: "SMARTMETER_CORPUS_SML", "corpus-sml"). Call before anything else. */
void corpus_use(const char *env, const char *sub);

/* Directory of the corpus, or NULL when absent (callers then skip with exit code 77). */
const char *corpus_dir(void);

/* Loads every case whose folder name passes `want` into a malloc'ed array; returns the count. */
typedef bool (*corpus_filter)(const char *name, json_object *cj);
size_t corpus_load(corpus_filter want, struct corpus_case **ret_cases);
void corpus_free(struct corpus_case *cases, size_t n);

/* Decodes the case's frame.bin in one go (keys from case.json). Caller frees with corpus_result_free. */
void corpus_decode(const struct corpus_case *c, bool crc_optional, struct corpus_result *res);
/* Same bytes fed one at a time: must give the same JSON. */
void corpus_decode_bytewise(const struct corpus_case *c, struct corpus_result *res);
void corpus_result_free(struct corpus_result *res);
/* Decodes the case's frame.bin (keys from case.json) and hands every telegram to fn, for tests of what
 * is built from telegrams (the daemon's discovery and state). Returns the number of telegrams. */
size_t corpus_each_telegram(const struct corpus_case *c, void (*fn)(void *ctx, const struct sm_telegram *t),
                            void *ctx);

/* Compares an "expect" object with decoded values. Returns true when every expected entry matches;
 * otherwise writes the first mismatches to why. */
bool corpus_compare(json_object *expect, json_object *values, char *why, size_t whysz);

/* Does the error class named in case.json ("crc", "auth", "truncated", "incomplete", "no-key")
 * match one of the reported errors? */
bool corpus_error_matches(const char *expect_error, const struct corpus_result *res);

/* Runs a cmocka group: one test per case passing `want`. Returns the cmocka result (77 when no corpus). */
int corpus_run_group(const char *group, corpus_filter want);

#endif
