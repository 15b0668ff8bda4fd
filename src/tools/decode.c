/* decode.c — smartmeter-decode: the library plus JSON Lines output, nothing else.
 *
 *   smartmeter-decode [--hex] [--key HEX] [--auth-key HEX] [FILE|-]
 *   smartmeter-decode --c1218-table [FILE|-]     (C12.19 table bytes of a polled meter, as hex lines)
 *
 * Reads bytes as a serial port delivers them (or hex text with --hex) and prints one JSON object per
 * decoded telegram/notification on stdout; one line per rejected frame on stderr. The output format
 * is a fixed interface (see src/json/telegram_json.h). Exit: 0 all frames decoded, 1 any failed, 2 usage.
 * Must never print key material. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hexin.h"
#include "smartmeter/c1218.h"
#include "smartmeter/decoder.h"
#include "telegram_json.h"

struct run {
	struct jw out; /* one buffer for every telegram's text */
	unsigned long telegrams;
	unsigned long failures;
	bool lenient;
	bool line_buffered;
	uint8_t noted[SM_MAX_OVERRIDES][6]; /* codes already named as published raw */
	size_t nnoted;
};

static void usage(FILE *f)
{
	fputs("Usage: smartmeter-decode [--hex] [--key HEX] [--auth-key HEX] [--no-crc-check] [--timezone TZ]\n"
	      "                         [--scale OBIS=N] [--unit OBIS=UNIT] [FILE|-]\n"
	      "       smartmeter-decode --c1218-table [FILE|-]\n"
	      "Decode smart-meter P1/HAN/INFO data (DSMR telegrams, DLMS/COSEM push frames,\n"
	      "SML files, in any mix) to JSON Lines.\n"
	      "\n"
	      "  --hex            input is hex text (whitespace, 0x prefixes and commas ignored)\n"
	      "  --c1218-table    input is C12.19 table data of an optical-port meter, one table per line:\n"
	      "                   'st0|st1|st21|bt23|bt28 HEX'; BT23/BT28 are needed, ST0 defaults to\n"
	      "                   little-endian INT32 and ST21 to what the BT23/BT28 lengths say\n"
	      "  --key HEX        AES-128 encryption key (GUEK), 32 hex digits\n"
	      "  --auth-key HEX   authentication key (GAK), 32 hex digits; enables GCM tag checks\n"
	      "  --no-crc-check   publish telegrams, frames and SML files whose CRC does not match\n"
	      "                   (reported as warnings), and DSMR >= 4.0 telegrams without one\n"
	      "  --timezone TZ    zone of DSMR W/S timestamps: POSIX TZ (\"EET-2EEST\") or \"+02:00/+03:00\";\n"
	      "                   default CET/CEST\n"
	      "  --scale OBIS=N   multiply a value the meter sends without scaler by 10^N (-9..9), e.g.\n"
	      "                   --scale 1-0:31.7.0=-2; only for values named as published raw\n"
	      "  --unit OBIS=UNIT unit of such a value, e.g. --unit 1-0:31.7.0=A\n"
	      "  -h, --help       this text\n"
	      "  -V, --version    print the version\n"
	      "\n"
	      "One JSON object per decoded frame goes to standard output; one line per failed frame\n"
	      "(byte offset and reason) to standard error. Exit status: 0 every frame decoded, 1 a frame\n"
	      "failed or nothing was found, 2 usage error.\n", f);
}

static void on_telegram(void *ctx, const struct sm_telegram *t)
{
	struct run *run = ctx;
	size_t len;
	jw_reset(&run->out);
	if (!sm_json_telegram(&run->out, t)) {
		fprintf(stderr, "smartmeter-decode: offset %llu: out of memory formatting telegram\n",
		        (unsigned long long)t->offset);
		run->failures++;
		return;
	}
	const char *text = jw_text(&run->out, &len);
	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	/* A pipe from a live port must see each telegram as it is decoded; a replayed file need not. */
	if (run->line_buffered)
		fflush(stdout);
	run->telegrams++;
	/* Name each value published raw once, with the way to scale it. */
	for (size_t i = 0; i < t->nreadings; i++) {
		const struct sm_reading *r = &t->readings[i];
		size_t k = 0;
		if (!r->unscaled || !r->has_obis)
			continue;
		while (k < run->nnoted && memcmp(run->noted[k], r->obis, 6) != 0)
			k++;
		if (k < run->nnoted || run->nnoted == SM_MAX_OVERRIDES)
			continue;
		memcpy(run->noted[run->nnoted++], r->obis, 6);
		char code[SM_OBIS_STRLEN];
		sm_obis_format(r->obis, code, sizeof(code));
		fprintf(stderr,
		        "smartmeter-decode: note: %s has no scaler or unit on the wire and no rule for this meter: "
		        "published raw (--scale %s=N / --unit %s=UNIT if you know them)\n",
		        code, code, code);
	}
}

static void on_event(void *ctx, const struct sm_event *ev)
{
	struct run *run = ctx;
	const char *level = ev->level == SM_EVENT_ERROR ? "error" : ev->level == SM_EVENT_WARNING ? "warning" : "note";
	fprintf(stderr, "smartmeter-decode: %s: offset %llu (%s, %zu bytes): %s\n", level,
	        (unsigned long long)ev->offset, sm_framing_name(ev->framing), ev->length, ev->detail);
	if (ev->level == SM_EVENT_ERROR)
		run->failures++;
}

/* --c1218-table: "name hex..." lines (ST0/ST1/ST21/BT23/BT28) -> one telegram as the daemon would publish. */
static int decode_c1218_tables(FILE *in)
{
	static uint8_t t[5][SM_C1218_READ_MAX];
	static const char *const names[5] = { "st0", "st1", "st21", "bt23", "bt28" };
	size_t n[5] = { 0 };
	bool have[5] = { false };
	char line[8192];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), in)) {
		lineno++;
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		size_t k = strcspn(p, " \t:=");
		int which = -1;
		for (int i = 0; i < 5; i++)
			if (strlen(names[i]) == k && !strncasecmp(p, names[i], k))
				which = i;
		if (which < 0) {
			fprintf(stderr, "smartmeter-decode: line %u: expected st0, st1, st21, bt23 or bt28 before the hex\n", lineno);
			return 2;
		}
		struct hexin hs;
		hexin_init(&hs);
		p += k;
		p += strspn(p, " \t:=");
		size_t len = strcspn(p, "\r\n");
		if (len > 2 * SM_C1218_READ_MAX + 4096) {
			fprintf(stderr, "smartmeter-decode: line %u: table longer than %u bytes\n", lineno, SM_C1218_READ_MAX);
			return 2;
		}
		long m = hexin_convert(&hs, (unsigned char *)p, len);
		if (m < 0 || hs.hi >= 0 || (size_t)m > SM_C1218_READ_MAX) {
			fprintf(stderr, "smartmeter-decode: line %u: %s is not hex bytes (at most %u)\n", lineno, names[which],
			        SM_C1218_READ_MAX);
			return 2;
		}
		memcpy(t[which], p, (size_t)m);
		n[which] = (size_t)m;
		have[which] = true;
	}
	struct sm_c1219_config cfg = { .ni_format1 = 8, .ni_format2 = 8 };
	enum sm_err e = SM_OK;
	if (have[0] && (e = sm_c1219_decode_st0(t[0], n[0], &cfg)) != SM_OK)
		goto bad;
	if (have[1] && (e = sm_c1219_decode_st1(t[1], n[1], &cfg)) != SM_OK)
		goto bad;
	if (have[2]) {
		if ((e = sm_c1219_decode_st21(t[2], n[2], &cfg)) != SM_OK)
			goto bad;
	} else {
		size_t ni = sm_c1219_ni_size(cfg.ni_format1);
		if (!ni) {
			e = SM_E_UNSUPPORTED;
			goto bad;
		}
		cfg.nbr_summations = (uint8_t)(n[3] / ni > SM_C1219_MAX_SUMMATIONS ? SM_C1219_MAX_SUMMATIONS : n[3] / ni);
		cfg.nbr_present_values = (uint8_t)(n[4] / ni > SM_C1219_MAX_PRESENT_VALUES ? SM_C1219_MAX_PRESENT_VALUES : n[4] / ni);
	}
	static struct sm_c1219_telegram tg;
	if ((e = sm_c1219_telegram_build(&tg, &cfg, t[3], n[3], t[4], n[4])) != SM_OK)
		goto bad;
	struct run run = { 0 };
	on_telegram(&run, &tg.tg);
	jw_free(&run.out);
	return run.failures ? 1 : 0;
bad:
	fprintf(stderr, "smartmeter-decode: C12.19 tables: %s\n", sm_strerror(e));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "key", required_argument, NULL, 'k' },
		{ "auth-key", required_argument, NULL, 'a' },
		{ "no-crc-check", no_argument, NULL, 'C' },
		{ "timezone", required_argument, NULL, 'z' },
		{ "scale", required_argument, NULL, 's' },
		{ "unit", required_argument, NULL, 'u' },
		{ "c1218-table", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sm_decoder_config cfg = { 0 };
	static struct sm_override overrides[SM_MAX_OVERRIDES];
	size_t noverrides = 0;
	struct run run = { 0 };
	bool hex = false, tables = false;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			hex = true;
			break;
		case 'k':
			if (sm_key_parse(optarg, cfg.key) != SM_OK) {
				fprintf(stderr, "smartmeter-decode: --key must be 32 hex digits (an AES-128 key)\n");
				return 2;
			}
			cfg.has_key = true;
			break;
		case 'a':
			if (sm_key_parse(optarg, cfg.auth_key) != SM_OK) {
				fprintf(stderr, "smartmeter-decode: --auth-key must be 32 hex digits (an AES-128 key)\n");
				return 2;
			}
			cfg.has_auth_key = true;
			break;
		case 's':
		case 'u': {
			char key[64];
			const char *eq = strchr(optarg, '=');
			int kn = eq ? snprintf(key, sizeof(key), "%s.%.*s", c == 's' ? "scale" : "unit", (int)(eq - optarg),
			                       optarg)
			            : -1;
			if (kn < 0 || (size_t)kn >= sizeof(key) ||
			    sm_override_set(overrides, &noverrides, key, eq + 1) != SM_OK) {
				fprintf(stderr, "smartmeter-decode: --%s '%s': expected OBIS=%s\n", c == 's' ? "scale" : "unit",
				        optarg, c == 's' ? "N (-9..9)" : "UNIT");
				return 2;
			}
			cfg.overrides = overrides;
			cfg.noverrides = noverrides;
			break;
		}
		case 'z':
			if (sm_tz_parse(optarg, &cfg.dsmr_winter_offset_min, &cfg.dsmr_summer_offset_min) != SM_OK) {
				fprintf(stderr, "smartmeter-decode: --timezone '%s': expected a POSIX TZ such as EET-2EEST "
				                "or +02:00/+03:00\n", optarg);
				return 2;
			}
			cfg.has_dsmr_tz = true;
			break;
		case 'C':
			cfg.dsmr_crc_optional = true;
			break;
		case 'T':
			tables = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("smartmeter-decode %s\n", sm_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Do not leave keys readable in /proc/<pid>/cmdline longer than needed. */
	for (int i = 1; i < argc; i++)
		if (i > 1 && (!strcmp(argv[i - 1], "--key") || !strcmp(argv[i - 1], "--auth-key")))
			memset(argv[i], 'x', strlen(argv[i]));
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	const char *path = optind < argc ? argv[optind] : "-";
	FILE *in = stdin;
	if (strcmp(path, "-") != 0) {
		in = fopen(path, "rb");
		if (!in) {
			fprintf(stderr, "smartmeter-decode: cannot open '%s': %s\n", path, strerror(errno));
			return 2;
		}
	}

	if (tables) {
		rc = decode_c1218_tables(in);
		if (in != stdin)
			fclose(in);
		return rc;
	}

	struct stat st;
	run.line_buffered = fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode);
	enum sm_err err = SM_OK;
	struct sm_decoder *dec = sm_decoder_new(&cfg, on_telegram, on_event, &run, &err);
	memset(&cfg, 0, sizeof(cfg));
	if (!dec) {
		fprintf(stderr, "smartmeter-decode: cannot create decoder: %s\n", sm_strerror(err));
		return 2;
	}

	unsigned char buf[4096];
	struct hexin hs;
	hexin_init(&hs);
	unsigned long long total = 0;
	for (;;) {
		/* read(2), not fread: a pipe from a live serial port must be decoded as bytes arrive. */
		ssize_t n = read(fileno(in), buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "smartmeter-decode: read error: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (n == 0)
			break;
		long m = n;
		if (hex) {
			m = hexin_convert(&hs, buf, (size_t)n);
			if (m < 0) {
				fprintf(stderr, "smartmeter-decode: input offset %llu: '%c' is not a hex digit\n", hs.bad_pos,
				        (hs.bad_char >= 0x20 && hs.bad_char < 0x7F) ? hs.bad_char : '?');
				rc = 1;
				break;
			}
		}
		total += (unsigned long long)m;
		sm_decoder_feed(dec, buf, (size_t)m);
	}
	if (hex && hs.hi >= 0)
		fprintf(stderr, "smartmeter-decode: warning: odd number of hex digits, last half byte ignored\n");
	sm_decoder_flush(dec);
	sm_decoder_free(dec);
	jw_free(&run.out);
	if (in != stdin)
		fclose(in);

	if (run.failures > 0)
		rc = 1;
	if (rc == 0 && run.telegrams == 0 && total > 0) {
		fprintf(stderr, "smartmeter-decode: no frame found in %llu bytes\n", total);
		rc = 1;
	}
	return rc;
}
