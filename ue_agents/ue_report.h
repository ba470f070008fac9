/*
 * ue_report — what mihua-ue prints at hang-up: the summary a person reads ("encrypted: <SUITE>" or
 * "plain: <reason>", packet counts, audio fingerprints, setup milestones), the optional ladder, and the same as
 * one JSON line for scripts (--summary FILE, appended per call).
 */
#ifndef MIHUA_UE_REPORT_H
#define MIHUA_UE_REPORT_H

#include <stdio.h>

#include "ue_agent.h"

void ue_report_print(const ue_call_summary_t *s, FILE *out);
void ue_report_ladder(const ue_call_summary_t *s, const ue_conf_t *c, FILE *out);
/* Appends the summary as one JSON object line to path. 0 or -1. */
int ue_report_json(const ue_call_summary_t *s, const char *path);

#endif
