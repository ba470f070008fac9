/*
 * mihua-ue — a caller or callee UE agent (DESIGN §1, §2, §4; patent claims 1-7).
 *
 * Wiring only: settings (ue_conf), the audio to send (ue_wav: a WAV file or a tone), and the command on one
 * libevent loop (ue_run, on ue_agent).
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "core/log.h"
#include "ue_conf.h"
#include "ue_run.h"
#include "ue_wav.h"

#define UE_TONE_HZ 440
#define UE_TONE_MS 1000 /* looped: 50 frames */

int main(int argc, char **argv)
{
    ue_conf_t conf;
    ue_audio_t audio = {0};
    char err[512];
    ue_conf_result_t cr = ue_conf_parse(&conf, argc, argv);
    int rc = cr == UE_CONF_EXIT_OK ? 0 : 2;
    if (cr == UE_CONF_OK && conf.wav && ue_wav_read(conf.wav, &audio, err, sizeof err) != 0)
        fprintf(stderr, "mihua-ue: wav: %s\n", err), cr = UE_CONF_BAD;
    else if (cr == UE_CONF_OK && !conf.wav && ue_audio_tone(&audio, UE_TONE_MS, UE_TONE_HZ) != 0)
        fprintf(stderr, "mihua-ue: out of memory\n"), cr = UE_CONF_BAD;
    if (cr == UE_CONF_OK && audio.len < 160)
        fprintf(stderr, "mihua-ue: wav: %s: shorter than one 20 ms frame\n", conf.wav), cr = UE_CONF_BAD;
    struct event_base *base = cr == UE_CONF_OK ? event_base_new() : NULL;
    if (base) {
        log_set_level(conf.log_level);
        signal(SIGPIPE, SIG_IGN);
        struct rlimit rl; /* one media socket per call in progress: a load run or a busy callee needs many */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        rc = ue_run(base, &conf, &audio);
        event_base_free(base);
    } else if (cr == UE_CONF_OK) {
        rc = 1;
    }
    ue_audio_free(&audio);
    ue_conf_free(&conf);
    return rc;
}
