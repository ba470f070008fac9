/*
 * probe_suite — `mihua-probe suite`: the conformance run against any HSS (Sh) and UDM/UDR (SBI); see
 * probe_suite.c for the cases. Exit codes: 0 every case passed (or was skipped), 1 a case failed or errored,
 * 2 bad usage.
 */
#ifndef MIHUA_PROBE_SUITE_H
#define MIHUA_PROBE_SUITE_H

int probe_suite_main(int argc, char **argv);

#endif
