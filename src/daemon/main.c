/* main.c — smartmeterd's command line: options, --check-config, --list-ports, then app_run() (app.c
 * holds everything the daemon does). Must never print key material. */
#include <getopt.h>
#include <stdio.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "serial.h"
#include "smartmeter/decoder.h"

static void usage(FILE *f)
{
	fputs("Usage: smartmeterd [-c FILE] [-i NAME] [-v] [--check-config] [--list-ports]\n"
	      "Read a smart meter's consumer port (DSMR P1, DLMS/COSEM push; or poll an ANSI C12.18\n"
	      "optical port with [meter] protocol = c1218) and publish to MQTT.\n"
	      "\n"
	      "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	      "  -i, --instance NAME MQTT instance name, instead of [mqtt] instance (smartmeterd@NAME)\n"
	      "  -v, --verbose       frame-level detail (log level debug)\n"
	      "      --check-config  validate the configuration and exit (0 = valid)\n"
	      "      --list-ports    list serial ports with USB vendor/product/serial and exit\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       print the version\n"
	      "\n"
	      "Runs in the foreground and logs to standard error. SIGHUP reloads the configuration (only if it\n"
	      "is valid); SIGTERM/SIGINT publish 'offline' and exit. See smartmeterd(8), smartmeter.conf(5).\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "list-ports", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct app_options o = { .config_path = CONFIG_DEFAULT_PATH };
	bool check_only = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:i:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case 'i':
			o.instance = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'C':
			check_only = true;
			break;
		case 'L':
			return serial_list_ports(stdout) == 0 ? 0 : 1;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("smartmeterd %s (libsmartmeter %s)\n", SMARTMETER_VERSION, sm_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	log_setup();
	if (check_only)
		return app_check_config(o.config_path, o.instance, stdout, stderr);
	return app_run(&o);
}
