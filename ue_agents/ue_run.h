/*
 * ue_run — runs one mihua-ue command (register, call TARGET, answer) on a loop until it is done (ue_run.c).
 */
#ifndef MIHUA_UE_RUN_H
#define MIHUA_UE_RUN_H

#include "ue_conf.h"
#include "ue_wav.h"

struct event_base;

/* Returns the exit code: 0 the command worked, 1 it did not (see ue_conf's --help epilogue). */
int ue_run(struct event_base *base, const ue_conf_t *c, const ue_audio_t *audio);

#endif
