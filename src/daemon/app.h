/* app.h — smartmeterd's policy: what runs, in which order, and what a signal does to it (start,
 * SIGHUP reload, SIGTERM shutdown). main.c only parses the command line and calls these, so tests can
 * link the whole lifecycle. Must never print or log key material. */
#ifndef SMARTMETERD_APP_H
#define SMARTMETERD_APP_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

struct app_options {
	const char *config_path; /* CONFIG_DEFAULT_PATH when NULL */
	bool verbose;            /* log level debug whatever the file says */
	const char *instance;    /* --instance: replaces [mqtt] instance (smartmeterd@NAME.service); NULL = the file's */
};

/* Load a configuration the way the daemon would run it: config_load() plus what only shows at run time
 * (readable TLS and secret files), with --instance applied (instance may be NULL). --check-config and
 * SIGHUP both use it, so a file that passes the check is one the daemon can start with. 0, or -1 with
 * diag->error set. cfg is always initialised (free it). */
int app_load_config(struct config *cfg, const char *path, const char *instance, struct config_diag *diag);

/* --check-config: 0 valid (warnings on err, "<path>: configuration OK" on out), 1 invalid. */
int app_check_config(const char *path, const char *instance, FILE *out, FILE *err);

/* Run the daemon until SIGTERM/SIGINT: the process exit code (0 clean shutdown, 1 cannot start). */
int app_run(const struct app_options *o);

#endif
