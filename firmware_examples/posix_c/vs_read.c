/* vs_read: prints the value of VARISTORE_ID (the value part of sread's `success|value`).
 * Exit status: 0 success, 1 a result code (on stderr), 2 usage, 3 network or not a Varistore answer. */
#include "cli.h"

int main(int argc, char **argv) {
    char buf[BUFFER_SIZE];
    vs_config cfg;
    const char *id;
    vs_status status;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: vs_read  (prints the value of the variable VARISTORE_ID)\n");
        return EXIT_USAGE;
    }
    if (!config_from_env("vs_read", &cfg, &id)) return EXIT_USAGE;
    status = vs_sread(&cfg, id, buf, sizeof buf);
    if (status != VS_OK) return report("vs_read", &cfg, status, buf);
    printf("%s\n", buf);
    return 0;
}
