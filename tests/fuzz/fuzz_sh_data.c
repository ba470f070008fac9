/*
 * fuzz_sh_data — libFuzzer target for the Sh-Data XML of the User-Data AVP (lib/diameter/sh_data.h; TS 29.328
 * §7.6 and Annex D, TS 29.329 §6.3.3): sh_data_parse, which mihua-as and mihua-probe run on every UDA, and
 * sh_data_render, which mihua-hss answers with.
 *
 * Properties checked on top of the sanitizers (libxml2 itself is not instrumented; the code around it is):
 *   - a refused document gives a reason and leaves nothing allocated in the output;
 *   - a document that parses renders, and the rendering parses back to the same model (identities, MSISDN,
 *     RepositoryData service indications and sequence numbers, ServiceData present or not, TADSinformation);
 *   - the input used as ServiceData markup (when it is ASCII without NUL) either fails to render or renders a
 *     document that parses with ServiceData present: the renderer's markup-or-text decision must never produce a
 *     document a peer would refuse.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "diameter/sh_data.h"

#define ERR_MAX 256
#define SERVICE_DATA_MAX 4096 /* ServiceData tried from the input; HSS_SERVICE_DATA is tens of bytes */

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same_model(const sh_data_t *a, const sh_data_t *b)
{
    FUZZ_CHECK(a->n_impu == b->n_impu && same_str(a->msisdn, b->msisdn));
    for (size_t i = 0; i < a->n_impu; i++)
        FUZZ_CHECK(same_str(a->impu[i], b->impu[i]));
    FUZZ_CHECK(a->n_repo == b->n_repo);
    for (size_t i = 0; i < a->n_repo; i++) {
        FUZZ_CHECK(same_str(a->repo[i].service_indication, b->repo[i].service_indication));
        FUZZ_CHECK(a->repo[i].sequence_number == b->repo[i].sequence_number);
        FUZZ_CHECK((a->repo[i].service_data == NULL) == (b->repo[i].service_data == NULL));
    }
    FUZZ_CHECK(a->has_tads == b->has_tads && a->ims_vops == b->ims_vops);
    FUZZ_CHECK(a->has_rat == b->has_rat && a->rat_type == b->rat_type);
    FUZZ_CHECK(same_str(a->last_ue_activity, b->last_ue_activity));
}

/* What the AS reads of a parsed answer (as_sh_path.c). */
static void run_queries(const sh_data_t *d)
{
    char rat[16];
    (void)sh_data_find_repo(d, "mihua-voice-encryption");
    (void)sh_rat_name(d->rat_type, rat, sizeof rat);
}

/* Parse → render → parse: the model survives. */
static void round_trip(const sh_data_t *d)
{
    size_t len = 0;
    char *xml = sh_data_render(d, &len);
    FUZZ_CHECK(xml != NULL && strlen(xml) == len);
    sh_data_t back;
    char err[ERR_MAX] = "";
    int rc = sh_data_parse(xml, len, &back, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "rendered Sh-Data refused: %s\n%s\n", err, xml);
    FUZZ_CHECK(rc == 0);
    check_same_model(d, &back);
    sh_data_clear(&back);
    free(xml);
}

static bool usable_as_service_data(const uint8_t *data, size_t size)
{
    if (size == 0 || size > SERVICE_DATA_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (data[i] == 0 || data[i] >= 0x80)
            return false; /* the renderer takes UTF-8 C strings; its callers hand it ASCII */
    return true;
}

/* The renderer's markup-or-text decision for arbitrary ServiceData. */
static void render_service_data(const uint8_t *data, size_t size)
{
    if (!usable_as_service_data(data, size))
        return;
    char *markup = strndup((const char *)data, size);
    if (!markup)
        return;
    sh_data_t d = {0};
    d.repo[0].service_indication = "mihua-voice-encryption";
    d.repo[0].service_data = markup;
    d.n_repo = 1;
    size_t len = 0;
    char *xml = sh_data_render(&d, &len);
    if (xml) {
        sh_data_t back;
        char err[ERR_MAX] = "";
        int rc = sh_data_parse(xml, len, &back, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "rendered Sh-Data refused: %s\n%s\n", err, xml);
        FUZZ_CHECK(rc == 0 && back.n_repo == 1 && back.repo[0].service_data != NULL);
        sh_data_clear(&back);
        free(xml);
    }
    free(markup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sh_data_t d;
    char err[ERR_MAX] = "";
    if (sh_data_parse((const char *)data, size, &d, err, sizeof err) == 0) {
        run_queries(&d);
        round_trip(&d);
        sh_data_clear(&d);
    } else {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(d.n_impu == 0 && d.n_repo == 0 && d.msisdn == NULL && d.last_ue_activity == NULL);
    }
    render_service_data(data, size);
    return 0;
}
