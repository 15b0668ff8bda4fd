/* test_conformance_gcm.c — every encrypted case of the corpus decrypts with its key (and auth key) to
 * its case.json values; wrong auth keys and missing keys give the right error. Skips (77) without
 * the corpus. */
#include <stdbool.h>
#include <string.h>

#include "corpus.h"

static bool want(const char *name, json_object *cj)
{
	json_object *enc;
	(void)name;
	return json_object_object_get_ex(cj, "encrypted", &enc) && json_object_get_boolean(enc);
}

int main(void)
{
	return corpus_run_group("conformance_gcm", want);
}
