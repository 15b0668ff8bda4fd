/* fuzz_daemon_discovery.c — libFuzzer entry point for the retained Home Assistant configs the daemon
 * reads back from the broker at start (discovery_collect: JSON from anyone who can publish there). The
 * first input byte picks the topic; the rest is the payload. Must never crash, leak, or count a config
 * as ours that does not name our origin and status topic. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const topics[] = {
		"homeassistant/sensor/meter1/1_0_1_8_0/config",
		"homeassistant/device/meter1/config",
		"homeassistant/sensor/meter1/1_0_1_8_0/config", /* twice: the duplicate path */
		"other/sensor/x/config",
	};
	if (size == 0 || size > (1u << 16))
		return 0;
	struct discovery_options o = {
		.discovery_prefix = "homeassistant", .topic_prefix = "smartmeter", .instance = "fuzz"};
	struct discovery *d = discovery_new(&o);
	if (!d)
		return 0;
	const char *topic = topics[data[0] % 4];
	discovery_collect(d, topic, data + 1, size - 1);
	discovery_collect(d, topics[2], data + 1, size - 1);
	(void)discovery_collected(d);
	struct discovery_batch b = {0};
	discovery_sweep(d, true, &b);
	discovery_batch_free(&b);
	discovery_free(d);
	return 0;
}
