/* test_conformance_dsmr.c — every plain DSMR case of the corpus decodes to its case.json values
 * (and every negative DSMR case is rejected). Skips (77) when the corpus is absent. */
#include <stdbool.h>
#include <string.h>

#include "corpus.h"

static bool want(const char *name, json_object *cj)
{
	json_object *f, *enc;
	(void)name;
	if (!json_object_object_get_ex(cj, "framing", &f) || strcmp(json_object_get_string(f), "dsmr") != 0)
		return false;
	return !json_object_object_get_ex(cj, "encrypted", &enc) || !json_object_get_boolean(enc);
}

int main(void)
{
	return corpus_run_group("conformance_dsmr", want);
}
