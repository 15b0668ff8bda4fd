/* test_conformance_dlms.c — every non-encrypted DLMS case of the corpus (HDLC, M-Bus, bare APDU)
 * decodes to its case.json values, and every negative one is rejected with the right error class.
 * Skips (77) when the corpus is absent. */
#include <stdbool.h>
#include <string.h>

#include "corpus.h"

static bool want(const char *name, json_object *cj)
{
	json_object *f, *enc;
	(void)name;
	if (!json_object_object_get_ex(cj, "framing", &f) || strcmp(json_object_get_string(f), "dsmr") == 0)
		return false;
	return !json_object_object_get_ex(cj, "encrypted", &enc) || !json_object_get_boolean(enc);
}

int main(void)
{
	return corpus_run_group("conformance_dlms", want);
}
