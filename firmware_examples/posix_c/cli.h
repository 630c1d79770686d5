/* What vs_write and vs_read share: the configuration from the environment, and exit statuses. */
#ifndef VS_CLI_H
#define VS_CLI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "varistore.h"

/* Room for a request and its answer: a 1,024-character string value, URL-encoded, fits.
 * A board writing numbers does with 512 bytes. */
#define BUFFER_SIZE 8192

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_NETWORK = 3, EXIT_COOLDOWN = 4 };

/* VARISTORE_HOST, VARISTORE_PORT (80 unless set), VARISTORE_KEY and VARISTORE_ID; 0 when one is missing. */
static int config_from_env(const char *program, vs_config *cfg, const char **id) {
    const char *port = getenv("VARISTORE_PORT");
    char *end = NULL;
    unsigned long number = 80;

    if (port != NULL && *port != '\0') number = strtoul(port, &end, 10);
    cfg->host = getenv("VARISTORE_HOST");
    cfg->port = (unsigned)number;
    cfg->key = getenv("VARISTORE_KEY");
    cfg->timeout_s = 10;
    *id = getenv("VARISTORE_ID");
    if (cfg->host == NULL || *cfg->host == '\0' || cfg->key == NULL || *cfg->key == '\0' || *id == NULL ||
        **id == '\0' || (end != NULL && *end != '\0') || number == 0 || number > 65535) {
        fprintf(stderr, "%s: set VARISTORE_HOST, VARISTORE_KEY, VARISTORE_ID and optionally VARISTORE_PORT (80)\n",
                program);
        return 0;
    }
    return 1;
}

/* Says on stderr why a call failed and returns the exit status for it. */
static int report(const char *program, const vs_config *cfg, vs_status status, const char *buf) {
    if (status == VS_REFUSED) {
        fprintf(stderr, "%s: %s: %s\n", program, buf, vs_explain(buf));
        return strcmp(buf, "error_cooldown") == 0 ? EXIT_COOLDOWN : EXIT_REFUSED;
    }
    fprintf(stderr, "%s: %s (http://%s:%u/)\n", program, buf, cfg->host, cfg->port);
    return EXIT_NETWORK;
}

#endif
