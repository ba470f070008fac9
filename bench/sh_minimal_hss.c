/*
 * sh_minimal_hss — the reference point for bench/sh_udr.sh: the least a freeDiameter Sh server can do per UDR.
 *
 * Same freeDiameter node setup as mihua-hss (lib/diameter/diam_node), but the handler answers every UDR with
 * 2001 and one fixed Sh-Data document: no subscriber lookup, no XML rendering, no logging, no metrics. Running the
 * benchmark client against both in one run gives mihua-hss's cost as a ratio that does not depend on how busy
 * the machine happens to be. Benchmark only; never installed, never a test.
 * Usage: mihua-bench-sh-minimal PORT   (prints READY, stops on SIGTERM)
 */
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_msg.h"

static const char fixed_sh_data[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Sh-Data><RepositoryData><ServiceIndication>"
    "mihua-voice-encryption</ServiceIndication><SequenceNumber>1</SequenceNumber><ServiceData><VoiceEncryption>"
    "true</VoiceEncryption></ServiceData></RepositoryData><Extension><Extension><Extension><TADSinformation>"
    "<IMSVoiceOverPSSessionSupport>1</IMSVoiceOverPSSessionSupport><RATtype>1006</RATtype></TADSinformation>"
    "</Extension></Extension></Extension></Sh-Data>";

static int on_udr(struct msg **msg, struct avp *avp, struct session *sess, void *opaque, enum disp_action *act)
{
    const sh_dict_t *dict = opaque;

    (void)avp;
    (void)sess;
    if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0)
        return EINVAL;
    sh_uda_set_success(dict, *msg, fixed_sh_data, sizeof fixed_sh_data - 1);
    *act = DISP_ACT_SEND;
    return 0;
}

int main(int argc, char **argv)
{
    sh_dict_t dict;
    char err[256];
    sigset_t set;
    int sig;
    struct disp_hdl *hdl = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: mihua-bench-sh-minimal PORT\n");
        return 2;
    }
    log_set_level(LOG_LVL_WARN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before freeDiameter starts its threads, so they inherit it */
    diam_node_conf_t dc = {.identity = "hss.ims.test",
                           .realm = "ims.test",
                           .port = atoi(argv[1]),
                           .accept_realm = "ims.test",
                           .tc_timer = 6,
                           .tw_timer = 30};
    diam_node_t *node = diam_node_start(&dc, &dict, err, sizeof err);
    struct disp_when when = {.app = dict.app, .command = dict.cmd_udr};
    if (node == NULL || fd_disp_register(on_udr, DISP_HOW_CC, &when, &dict, &hdl) != 0) {
        fprintf(stderr, "mihua-bench-sh-minimal: %s\n", node ? "cannot register the handler" : err);
        return 1;
    }
    printf("READY mihua-bench-sh-minimal diameter=hss.ims.test@0.0.0.0:%s\n", argv[1]);
    fflush(stdout);
    sigwait(&set, &sig);
    fd_disp_unregister(&hdl, NULL);
    diam_node_stop(node);
    return 0;
}
