/* make_seeds.c — writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
 * from the project's own frame builders, encrypted with the harnesses' keys (fuzz_keys.h), so that
 * fuzzing starts from frames that reach every layer. Run by hand after changing a builder:
 *   build-fuzz/make_seeds tests/fuzz/corpus
 * Deterministic: the same builders give the same files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_keys.h"
#include "helpers/dlmsbuild.c"
#include "helpers/gcmbuild.c"
#include "helpers/smlbuild.c"
#include "helpers/streambuild.c"

static const char *root;

static void write_seed(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* fuzz_decoder: its first byte is the harness's control byte (chunk size, auth key, time zone). */
static void decoder_seed(const char *name, uint8_t control, const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n + 1);
	b[0] = control;
	memcpy(b + 1, p, n);
	write_seed("fuzz_decoder", name, b, n + 1);
	free(b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	root = argv[1];
	if (memcmp(fuzz_key, sb_key, 16) != 0 || memcmp(fuzz_auth_key, sb_auth_key, 16) != 0) {
		fprintf(stderr, "make_seeds: fuzz_keys.h and streambuild.c disagree on the keys\n");
		return 1;
	}
	gcm_init();
	uint8_t buf[8192];
	uint64_t rng = 0x5EED;

	/* One good frame of each framing, with and without the auth key configured, in odd chunkings. */
	for (int k = 0; k < SB_KINDS; k++) {
		char name[64];
		size_t n = sb_message(buf, sizeof(buf), (enum sb_kind)k, 1000u + (unsigned)k, SB_GOOD, &rng);
		snprintf(name, sizeof(name), "good-%d", k);
		decoder_seed(name, 0x40 | 6, buf, n);
		snprintf(name, sizeof(name), "good-noauth-%d", k);
		decoder_seed(name, 0x80 | 0, buf, n);
		for (int d = 1; d < SB_DAMAGES; d++) {
			n = sb_message(buf, sizeof(buf), (enum sb_kind)k, 2000u + (unsigned)k, (enum sb_damage)d, &rng);
			size_t m = n + sb_message(buf + n, sizeof(buf) - n, (enum sb_kind)k, 3000u, SB_GOOD, &rng);
			snprintf(name, sizeof(name), "damaged-%d-%d", k, d);
			decoder_seed(name, 0x40 | 12, buf, m);
		}
	}
	/* A stream of every framing with damage, and segmented / block-transfer DLMS. */
	enum sb_kind all[SB_KINDS];
	for (int k = 0; k < SB_KINDS; k++)
		all[k] = (enum sb_kind)k;
	struct sb_stream st;
	sb_stream_build(&st, 24, all, SB_KINDS, 3, 99);
	decoder_seed("mixed", 0x40 | 30, st.buf, st.len);
	sb_stream_free(&st);
	uint8_t apdu[4096];
	size_t an = sb_notification(apdu, sizeof(apdu), 77, 30);
	size_t n = dlmsbuild_hdlc_segmented(buf, sizeof(buf), &dlmsbuild_hdlc_iskra, true, apdu, an, 200, NULL);
	decoder_seed("hdlc-segmented", 0x40 | 9, buf, n);
	n = dlmsbuild_hdlc_gbt(buf, sizeof(buf), &dlmsbuild_hdlc_lg, apdu, an, 180, NULL);
	decoder_seed("hdlc-gbt", 0x40 | 17, buf, n);
	n = dlmsbuild_mbus_segmented(buf, sizeof(buf), true, apdu, an, 200, NULL);
	decoder_seed("mbus-segmented", 0x40 | 3, buf, n);
	const char dsmr3[] = "/ISk5\\2MT382-1000\r\n\r\n0-0:96.1.1(4B384547303034303436333935353037)\r\n"
	                     "1-0:1.8.1(12345.678*kWh)\r\n0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n"
	                     "(00001.001)\r\n!\r\n";
	decoder_seed("dsmr3-nocrc", 0x80 | 5, (const uint8_t *)dsmr3, sizeof(dsmr3) - 1);

	/* fuzz_cosem: plaintext notifications (the harness forces byte 0 to 0F). */
	for (unsigned r = 2; r <= 40; r += 19) {
		char name[32];
		an = sb_notification(apdu, sizeof(apdu), r, r);
		snprintf(name, sizeof(name), "registers-%u", r);
		write_seed("fuzz_cosem", name, apdu, an);
	}
	an = dlmsbuild_sample_notification(apdu, sizeof(apdu), 5, 200);
	write_seed("fuzz_cosem", "octet-string-traps", apdu, an);

	/* fuzz_hexin: the forms --hex accepts, cut at a byte the first byte chooses. */
	const char hex1[] = "\x05" "7E A0 2A 41 08 83 13 0x0F,0x40 00:00:00 00\n0f;01 02 03";
	write_seed("fuzz_hexin", "separators", hex1, sizeof(hex1) - 1);
	const char hex2[] = "\x09" "DB0853595354454D4944820 1F23010000001";
	write_seed("fuzz_hexin", "odd-digit", hex2, sizeof(hex2) - 1);

	/* fuzz_daemon_config: a configuration that sets every section, and a key file's content. */
	const char conf[] = "# smartmeterd\n[serial]\nport = /dev/ttyUSB0\nbaud = 115200\n"
	                    "[meter]\nkey = 00112233445566778899AABBCCDDEEFF\ncrc_check = true\n"
	                    "[mqtt]\nhost = localhost\nport = 1883\ntopic_prefix = smartmeter\n"
	                    "[homeassistant]\ndiscovery = true\nexpire_after = 60\n[log]\nlevel = info\n";
	write_seed("fuzz_daemon_config", "full", conf, sizeof(conf) - 1);
	const char key[] = "00112233445566778899AABBCCDDEEFF\n";
	write_seed("fuzz_daemon_config", "keyfile", key, sizeof(key) - 1);

	/* fuzz_daemon_discovery: a retained config as the daemon publishes it (first byte: topic choice). */
	const char disc[] = "\x00{\"name\":\"Energy import\",\"unique_id\":\"meter1_1_0_1_8_0\",\"state_topic\":"
	                    "\"smartmeter/meter1/state\",\"availability\":[{\"topic\":\"smartmeter/fuzz/status\"},"
	                    "{\"topic\":\"smartmeter/meter1/availability\"}],\"origin\":{\"name\":\"smartmeterd\","
	                    "\"sw_version\":\"0.1.0\"},\"device\":{\"identifiers\":[\"meter1\"]}}";
	write_seed("fuzz_daemon_discovery", "entity", disc, sizeof(disc) - 1);
	return 0;
}
