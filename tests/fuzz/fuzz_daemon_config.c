/* fuzz_daemon_config.c — libFuzzer entry point for the daemon's configuration: the INI parser
 * (config_parse_buffer) on the input as it is, then the key-file reader on the input as the content of
 * a key_file and an auth_key_file. Diagnostics must be terminated strings and nothing may leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char keypath[64];

static void parse(const char *buf, size_t len)
{
	struct config cfg;
	struct config_diag diag;
	memset(&diag, 0, sizeof(diag));
	if (config_init(&cfg) != 0)
		return;
	if (config_parse_buffer(&cfg, "fuzz.conf", buf, len, &diag) != 0 && strlen(diag.error) >= sizeof(diag.error))
		abort();
	config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	parse((const char *)data, size);

	if (!keypath[0])
		snprintf(keypath, sizeof(keypath), "/tmp/smartmeter-fuzz-key.%ld", (long)getpid());
	FILE *f = fopen(keypath, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	char conf[256];
	int n = snprintf(conf, sizeof(conf), "[meter]\nkey_file = %s\nauth_key_file = %s\n", keypath, keypath);
	parse(conf, (size_t)n);
	unlink(keypath);
	return 0;
}
