/* test_conformance_sml.c — every case of the SML corpus (../shared/corpus-sml or $SMARTMETER_CORPUS_SML,
 * real files of German meters) decodes to its case.json values, and every negative one is rejected with
 * the right error class. Beyond the shared harness: each good file is one telegram with
 * "protocol":"sml", "framing":"sml" and the meter id the case names (server id entry, else the
 * messages' serverId); each rejection is one line that names the SML file.
 * Skips (77) when the corpus is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"
#include "smartmeter/obis.h"

static bool want(const char *name, json_object *cj)
{
	json_object *f;
	(void)name;
	return json_object_object_get_ex(cj, "framing", &f) && strcmp(json_object_get_string(f), "sml") == 0;
}

static const char *get_str(json_object *o, const char *k1, const char *k2)
{
	json_object *a, *b;
	if (!json_object_object_get_ex(o, k1, &a))
		return NULL;
	if (!k2)
		return json_object_get_string(a);
	if (!json_object_object_get_ex(a, k2, &b))
		return NULL;
	return json_object_get_string(b);
}

/* The meter id the case implies: the server id entry, else the messages' serverId. */
static const char *expected_meter_id(json_object *cj)
{
	json_object *expect, *e;
	if (json_object_object_get_ex(cj, "expect", &expect)) {
		if (json_object_object_get_ex(expect, "1-0:0.0.9", &e))
			return get_str(e, "value", NULL);
		if (json_object_object_get_ex(expect, "1-0:96.1.0", &e))
			return get_str(e, "value", NULL);
	}
	return get_str(cj, "sml", "server_id");
}

static void sml_specifics(void **state)
{
	const struct corpus_case *c = *state;
	struct corpus_result res;
	json_object *err, *sml, *files;

	corpus_decode(c, false, &res);
	if (json_object_object_get_ex(c->cj, "expect_error", &err)) {
		assert_int_equal(json_object_array_length(res.telegrams), 0);
		if (res.nerrors == 0)
			fail_msg("%s: rejected without an error", c->name);
		if (strchr(res.first_error, '\n') || !strstr(res.first_error, "SML"))
			fail_msg("%s: error is not one line naming the SML file: \"%s\"", c->name, res.first_error);
		corpus_result_free(&res);
		return;
	}
	size_t want_files = 1;
	if (json_object_object_get_ex(c->cj, "sml", &sml) && json_object_object_get_ex(sml, "sml_files", &files))
		want_files = (size_t)json_object_get_int(files);
	if (json_object_array_length(res.telegrams) != want_files)
		fail_msg("%s: %zu telegrams, the case holds %zu SML files", c->name, json_object_array_length(res.telegrams),
		         want_files);
	const char *id = expected_meter_id(c->cj);
	for (size_t i = 0; i < want_files; i++) {
		json_object *t = json_object_array_get_idx(res.telegrams, i);
		const char *proto = get_str(t, "protocol", NULL), *framing = get_str(t, "framing", NULL);
		const char *mid = get_str(t, "meter_id", NULL);
		if (!proto || strcmp(proto, "sml") || !framing || strcmp(framing, "sml"))
			fail_msg("%s: protocol %s framing %s", c->name, proto ? proto : "-", framing ? framing : "-");
		if (!id || !mid || strcmp(id, mid) != 0)
			fail_msg("%s: meter_id %s, expected %s", c->name, mid ? mid : "(none)", id ? id : "(none)");
	}
	corpus_result_free(&res);
}

/* Every code the SML meters send is in the OBIS registry (state key, HA classes), except the
 * historic registers 1-0:x.8.0.96..100 (F != 255: past values, published under their OBIS slug). */
static void registry_covers_the_sml_corpus(void **state)
{
	const struct corpus_case *c = *state;
	json_object *expect;
	if (!json_object_object_get_ex(c->cj, "expect", &expect))
		return;
	json_object_object_foreach(expect, code, v)
	{
		(void)v;
		uint8_t o[6];
		assert_true(sm_obis_parse(code, strlen(code), o));
		if (o[5] >= 96 && o[5] <= 100)
			continue;
		if (!sm_obis_lookup(o))
			fail_msg("%s (case %s) is not in the registry", code, c->name);
	}
}

int main(void)
{
	corpus_use("SMARTMETER_CORPUS_SML", "corpus-sml");
	int rc = corpus_run_group("conformance_sml", want);
	if (rc == 77)
		return rc;

	struct corpus_case *cases;
	size_t n = corpus_load(want, &cases);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	assert_non_null(tests);
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = sml_specifics;
		tests[i].initial_state = &cases[i];
	}
	int rc2 = _cmocka_run_group_tests("conformance_sml_ids", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		tests[i].test_func = registry_covers_the_sml_corpus;
	rc2 |= _cmocka_run_group_tests("conformance_sml_registry", tests, n, NULL, NULL);
	free(tests);
	corpus_free(cases, n);
	return rc || rc2;
}
