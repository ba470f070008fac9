/*
 * mihua-probe — talk to a core-network node the way mihua does, and print what comes back. Integrators use it on
 * their own HSS before wiring mihua-as to it. One subcommand per interface.
 */
#include <stdio.h>
#include <string.h>

#include "probe_sh.h"
#include "probe_suite.h"
#include "probe_udm.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: mihua-probe COMMAND [OPTIONS]\n"
                 "Talks to a core-network node (HSS, UDM/UDR, KMS) the way mihua does and prints what comes back.\n"
                 "\n"
                 "Commands:\n"
                 "  sh     send a Diameter Sh User-Data-Request to an HSS and print the answer\n"
                 "  udm    the three SBI reads of the AS against a UDM/UDR, printed decoded\n"
                 "  kms    issue and retrieve a session key at a KMS, answering its Digest challenges\n"
                 "  suite  run a conformance suite against any HSS (Sh) and/or UDM/UDR (SBI); text, TAP or JUnit\n"
                 "\n"
                 "  mihua-probe COMMAND --help   options of one command\n"
                 "  mihua-probe --version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("mihua-probe %s\n", MIHUA_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "sh") == 0)
        return probe_sh_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "udm") == 0)
        return probe_udm_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "kms") == 0)
        return probe_kms_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "suite") == 0)
        return probe_suite_main(argc - 1, argv + 1);
    fprintf(stderr, "mihua-probe: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
