/* vs_write VALUE: writes VALUE to VARISTORE_ID with swrite and prints the server's answer line.
 * Exit status: 0 success, 1 another result code, 2 usage, 3 network or not a Varistore answer,
 * 4 error_cooldown. */
#include "cli.h"

int main(int argc, char **argv) {
    char buf[BUFFER_SIZE];
    vs_config cfg;
    const char *id;
    vs_status status;

    if (argc != 2) {
        fprintf(stderr, "usage: vs_write VALUE  (writes VALUE to the variable VARISTORE_ID)\n");
        return EXIT_USAGE;
    }
    if (!config_from_env("vs_write", &cfg, &id)) return EXIT_USAGE;
    status = vs_swrite(&cfg, id, argv[1], buf, sizeof buf);
    if (status == VS_OK || status == VS_REFUSED) printf("%s\n", buf);
    return status == VS_OK ? 0 : report("vs_write", &cfg, status, buf);
}
