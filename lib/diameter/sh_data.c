/*
 * sh_data — Sh-Data XML (TS 29.328 §7.6, Annex D schema ShDataType) rendered and parsed with libxml2.
 *
 * Document shape (no namespace, DESIGN §3):
 *   <Sh-Data>
 *     <PublicIdentifiers><IMSPublicIdentity/>* <MSISDN/>?</PublicIdentifiers>
 *     <RepositoryData><ServiceIndication/><SequenceNumber/><ServiceData/>?</RepositoryData>*
 *     <Extension><Extension><Extension><TADSinformation>
 *       <IMSVoiceOverPSSessionSupport/> <RATtype/>? <LastUEActivityTime/>?
 *     </TADSinformation></Extension></Extension></Extension>
 *   </Sh-Data>
 * TADSinformation sits in the third Extension level because Rel-9 added it to tShDataExtension3; it is looked for
 * at exactly that depth. Elements are matched by local name, so a document that declares the schema namespace
 * still parses; unknown elements are skipped anywhere.
 *
 * The User-Data comes from a peer, so parsing is defensive: the size is capped (SH_DATA_MAX_LEN) before libxml2
 * sees it; any DOCTYPE stops the parser from its SAX callback before a single entity declaration is processed
 * (no XXE, no "billion laughs"), network access and entity substitution stay off; numbers are parsed strictly;
 * modelled lists have fixed maxima and overflowing them is an error, not a silent truncation.
 *
 * ServiceData is opaque application markup: parsing keeps its inner XML serialised; rendering parses the string
 * back as a fragment so the markup is embedded, and falls back to escaped text when it is not well-formed.
 * Rendering builds a tree and lets libxml2 serialise it, so escaping is libxml2's job, not ours.
 */
#include "diameter/sh_data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#define SH_EXT_TADS_DEPTH 3         /* Extension nesting that holds TADSinformation (Rel-9 tShDataExtension3) */
#define SH_SEQ_MAX 65535u           /* TS 29.328 Annex D: tSequenceNumber is 0..65535 */
#define SH_RAT_MAX 4294967295u      /* RAT-Type is an Enumerated; we accept any non-negative 32-bit value */
#define SH_VOPS_MAX 2u              /* 0 not supported, 1 supported, 2 unknown */

/* ---------------------------------------------------------------- common helpers */

static bool name_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const sh_repo_data_t *sh_data_find_repo(const sh_data_t *d, const char *service_indication)
{
    if (!d || !service_indication)
        return NULL;
    for (size_t i = 0; i < d->n_repo; i++)
        if (d->repo[i].service_indication && strcmp(d->repo[i].service_indication, service_indication) == 0)
            return &d->repo[i];
    return NULL;
}

void sh_data_clear(sh_data_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_impu; i++)
        free(d->impu[i]);
    free(d->msisdn);
    for (size_t i = 0; i < d->n_repo; i++) {
        free(d->repo[i].service_indication);
        free(d->repo[i].service_data);
    }
    free(d->last_ue_activity);
    memset(d, 0, sizeof *d);
}

const char *sh_rat_name(uint32_t rat, char *buf, size_t size)
{
    const char *name = NULL;
    switch (rat) {
    case SH_RAT_UTRAN: name = "UTRAN"; break;
    case SH_RAT_GERAN: name = "GERAN"; break;
    case SH_RAT_EUTRAN: name = "EUTRAN"; break;
    case SH_RAT_NR: name = "NR"; break;
    default: break;
    }
    if (!buf || !size)
        return name ? name : "";
    if (name)
        snprintf(buf, size, "%s", name);
    else
        snprintf(buf, size, "%u", rat);
    return buf;
}

/* ---------------------------------------------------------------- rendering */

static xmlNode *add_text(xmlNode *parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
}

static xmlNode *add_uint(xmlNode *parent, const char *name, uint32_t v)
{
    char num[16];
    snprintf(num, sizeof num, "%u", v);
    return add_text(parent, name, num);
}

/* Embeds `markup` under `parent`: as parsed nodes when it is a well-formed fragment, else as escaped text. */
static int add_markup(xmlNode *parent, const char *markup)
{
    xmlNode *list = NULL;
    int len = (int)strnlen(markup, SH_DATA_MAX_LEN + 1);
    if (len > SH_DATA_MAX_LEN)
        return -1;
    if (xmlParseInNodeContext(parent, markup, len, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING,
                              &list) == XML_ERR_OK) {
        if (list && !xmlAddChildList(parent, list)) {
            xmlFreeNodeList(list);
            return -1;
        }
        return 0;
    }
    xmlFreeNodeList(list);
    xmlNode *t = xmlNewText(BAD_CAST markup);
    if (!t)
        return -1;
    xmlAddChild(parent, t);
    return 0;
}

static int render_public_ids(xmlNode *root, const sh_data_t *d)
{
    if (d->n_impu == 0 && !d->msisdn)
        return 0;
    xmlNode *pi = xmlNewChild(root, NULL, BAD_CAST "PublicIdentifiers", NULL);
    if (!pi)
        return -1;
    for (size_t i = 0; i < d->n_impu && i < SH_DATA_MAX_IMPU; i++)
        if (d->impu[i] && !add_text(pi, "IMSPublicIdentity", d->impu[i]))
            return -1;
    if (d->msisdn && !add_text(pi, "MSISDN", d->msisdn))
        return -1;
    return 0;
}

static int render_repo(xmlNode *root, const sh_repo_data_t *r)
{
    xmlNode *rd = xmlNewChild(root, NULL, BAD_CAST "RepositoryData", NULL);
    if (!rd)
        return -1;
    if (!add_text(rd, "ServiceIndication", r->service_indication ? r->service_indication : ""))
        return -1;
    if (!add_uint(rd, "SequenceNumber", r->sequence_number))
        return -1;
    if (!r->service_data)
        return 0;
    xmlNode *sd = xmlNewChild(rd, NULL, BAD_CAST "ServiceData", NULL);
    if (!sd)
        return -1;
    return add_markup(sd, r->service_data);
}

static int render_tads(xmlNode *root, const sh_data_t *d)
{
    xmlNode *parent = root;
    for (int depth = 0; depth < SH_EXT_TADS_DEPTH; depth++) {
        parent = xmlNewChild(parent, NULL, BAD_CAST "Extension", NULL);
        if (!parent)
            return -1;
    }
    xmlNode *t = xmlNewChild(parent, NULL, BAD_CAST "TADSinformation", NULL);
    if (!t || !add_uint(t, "IMSVoiceOverPSSessionSupport", (uint32_t)d->ims_vops))
        return -1;
    if (d->has_rat && !add_uint(t, "RATtype", d->rat_type))
        return -1;
    if (d->last_ue_activity && !add_text(t, "LastUEActivityTime", d->last_ue_activity))
        return -1;
    return 0;
}

static int render_tree(xmlNode *root, const sh_data_t *d)
{
    if (render_public_ids(root, d) != 0)
        return -1;
    for (size_t i = 0; i < d->n_repo && i < SH_DATA_MAX_REPO; i++)
        if (render_repo(root, &d->repo[i]) != 0)
            return -1;
    if (d->has_tads && render_tads(root, d) != 0)
        return -1;
    return 0;
}

char *sh_data_render(const sh_data_t *d, size_t *len)
{
    if (!d || !len)
        return NULL;
    xmlInitParser();
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *root = doc ? xmlNewNode(NULL, BAD_CAST "Sh-Data") : NULL;
    char *out = NULL;
    if (!root)
        goto done;
    xmlDocSetRootElement(doc, root);
    if (render_tree(root, d) != 0)
        goto done;
    xmlChar *buf = NULL;
    int size = 0;
    xmlDocDumpMemoryEnc(doc, &buf, &size, "UTF-8");
    if (buf && size > 0 && (out = malloc((size_t)size + 1)) != NULL) {
        memcpy(out, buf, (size_t)size);
        out[size] = '\0';
        *len = (size_t)size;
    }
    xmlFree(buf);
done:
    xmlFreeDoc(doc);
    return out;
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
    char *err;
    size_t errlen;
} perr_t;

/* Trimmed text content of an element, malloc'd. NULL on ENOMEM. */
static char *text_of(const xmlNode *n)
{
    xmlChar *raw = xmlNodeGetContent(n);
    if (!raw)
        return strdup("");
    const char *s = (const char *)raw;
    size_t len = strlen(s);
    while (len && strchr(" \t\r\n", s[len - 1]))
        len--;
    while (len && strchr(" \t\r\n", *s)) {
        s++;
        len--;
    }
    char *out = strndup(s, len);
    xmlFree(raw);
    return out;
}

static int text_dup(const xmlNode *n, char **out, perr_t *pe)
{
    free(*out);
    *out = text_of(n);
    if (!*out) {
        set_err(pe->err, pe->errlen, "out of memory reading %s", (const char *)n->name);
        return -1;
    }
    return 0;
}

static int uint_of(const xmlNode *n, uint32_t max, uint32_t *out, perr_t *pe)
{
    char *s = text_of(n);
    if (!s) {
        set_err(pe->err, pe->errlen, "out of memory reading %s", (const char *)n->name);
        return -1;
    }
    uint64_t v = 0;
    int rc = *s ? 0 : -1;
    for (const char *p = s; rc == 0 && *p; p++) {
        if (*p < '0' || *p > '9')
            rc = -1;
        else if ((v = v * 10 + (uint64_t)(*p - '0')) > max)
            rc = -1;
    }
    free(s);
    if (rc != 0) {
        set_err(pe->err, pe->errlen, "%s is not a valid number", (const char *)n->name);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_public_ids(const xmlNode *pi, sh_data_t *out, perr_t *pe)
{
    for (const xmlNode *c = pi->children; c; c = c->next) {
        if (name_is(c, "IMSPublicIdentity")) {
            if (out->n_impu >= SH_DATA_MAX_IMPU) {
                set_err(pe->err, pe->errlen, "more than %d IMSPublicIdentity elements", SH_DATA_MAX_IMPU);
                return -1;
            }
            if (text_dup(c, &out->impu[out->n_impu], pe) != 0)
                return -1;
            out->n_impu++;
        } else if (name_is(c, "MSISDN") && !out->msisdn) {
            if (text_dup(c, &out->msisdn, pe) != 0)
                return -1;
        }
    }
    return 0;
}

/* Serialises the children of ServiceData (its inner XML). */
static int inner_xml(const xmlNode *n, char **out, perr_t *pe)
{
    xmlBuffer *buf = xmlBufferCreate();
    if (!buf)
        goto nomem;
    for (xmlNode *c = n->children; c; c = c->next)
        if (xmlNodeDump(buf, n->doc, c, 0, 0) < 0) {
            xmlBufferFree(buf);
            goto nomem;
        }
    free(*out);
    *out = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    if (*out)
        return 0;
nomem:
    set_err(pe->err, pe->errlen, "out of memory reading ServiceData");
    return -1;
}

static int parse_repo(const xmlNode *rd, sh_data_t *out, perr_t *pe)
{
    if (out->n_repo >= SH_DATA_MAX_REPO) {
        set_err(pe->err, pe->errlen, "more than %d RepositoryData elements", SH_DATA_MAX_REPO);
        return -1;
    }
    sh_repo_data_t *r = &out->repo[out->n_repo++]; /* counted now so sh_data_clear frees partial content */
    bool have_si = false;
    for (const xmlNode *c = rd->children; c; c = c->next) {
        int rc = 0;
        if (name_is(c, "ServiceIndication")) {
            rc = text_dup(c, &r->service_indication, pe);
            have_si = true;
        } else if (name_is(c, "SequenceNumber")) {
            rc = uint_of(c, SH_SEQ_MAX, &r->sequence_number, pe);
        } else if (name_is(c, "ServiceData")) {
            rc = inner_xml(c, &r->service_data, pe);
        }
        if (rc != 0)
            return -1;
    }
    if (!have_si || !r->service_indication[0]) {
        set_err(pe->err, pe->errlen, "RepositoryData without ServiceIndication");
        return -1;
    }
    return 0;
}

static int parse_tads(const xmlNode *t, sh_data_t *out, perr_t *pe)
{
    out->has_tads = true;
    out->ims_vops = SH_VOPS_UNKNOWN; /* mandatory in the schema; absent counts as unknown (= "no" for mihua) */
    for (const xmlNode *c = t->children; c; c = c->next) {
        int rc = 0;
        uint32_t v = 0;
        if (name_is(c, "IMSVoiceOverPSSessionSupport")) {
            if ((rc = uint_of(c, SH_VOPS_MAX, &v, pe)) == 0)
                out->ims_vops = (sh_vops_t)v;
        } else if (name_is(c, "RATtype")) {
            if ((rc = uint_of(c, SH_RAT_MAX, &out->rat_type, pe)) == 0)
                out->has_rat = true;
        } else if (name_is(c, "LastUEActivityTime")) {
            rc = text_dup(c, &out->last_ue_activity, pe);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* `ext` is an Extension element at nesting `depth` (1 = child of Sh-Data). */
static int parse_extension(const xmlNode *ext, int depth, sh_data_t *out, perr_t *pe)
{
    for (const xmlNode *c = ext->children; c; c = c->next) {
        int rc = 0;
        if (depth < SH_EXT_TADS_DEPTH && name_is(c, "Extension"))
            rc = parse_extension(c, depth + 1, out, pe);
        else if (depth == SH_EXT_TADS_DEPTH && name_is(c, "TADSinformation"))
            rc = parse_tads(c, out, pe);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int parse_root(const xmlNode *root, sh_data_t *out, perr_t *pe)
{
    if (!root || !name_is(root, "Sh-Data")) {
        set_err(pe->err, pe->errlen, "root element is %s, not Sh-Data", root ? (const char *)root->name : "missing");
        return -1;
    }
    for (const xmlNode *c = root->children; c; c = c->next) {
        int rc = 0;
        if (name_is(c, "PublicIdentifiers"))
            rc = parse_public_ids(c, out, pe);
        else if (name_is(c, "RepositoryData"))
            rc = parse_repo(c, out, pe);
        else if (name_is(c, "Extension"))
            rc = parse_extension(c, 1, out, pe);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* SAX hook: any DOCTYPE (internal subset or external reference) stops the parser before entities are declared. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    xmlParserCtxt *ctxt = ctx;
    ctxt->_private = ctxt; /* marker: stopped because of a DOCTYPE */
    xmlStopParser(ctxt);
}

static int parser_options(void)
{
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
#if LIBXML_VERSION >= 21300
    opts |= XML_PARSE_NO_XXE;
#endif
    return opts;
}

static xmlDoc *read_doc(const char *xml, size_t len, perr_t *pe)
{
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt || !ctxt->sax) {
        xmlFreeParserCtxt(ctxt);
        set_err(pe->err, pe->errlen, "out of memory");
        return NULL;
    }
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->_private = NULL;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "sh-data.xml", NULL, parser_options());
    if (ctxt->_private) {
        set_err(pe->err, pe->errlen, "DOCTYPE not allowed in Sh-Data");
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (!doc || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char reason[96];
        snprintf(reason, sizeof reason, "%s", e && e->message ? e->message : "unknown error");
        reason[strcspn(reason, "\n")] = '\0';
        set_err(pe->err, pe->errlen, "not well-formed XML: %s", reason);
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

int sh_data_parse(const char *xml, size_t len, sh_data_t *out, char *err, size_t errlen)
{
    perr_t pe = { err, errlen };
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!xml || len == 0) {
        set_err(err, errlen, "empty Sh-Data");
        return -1;
    }
    if (len > SH_DATA_MAX_LEN) {
        set_err(err, errlen, "Sh-Data of %zu bytes exceeds the limit of %d", len, SH_DATA_MAX_LEN);
        return -1;
    }
    xmlInitParser();
    xmlDoc *doc = read_doc(xml, len, &pe);
    if (!doc)
        return -1;
    int rc = parse_root(xmlDocGetRootElement(doc), out, &pe);
    xmlFreeDoc(doc);
    if (rc != 0)
        sh_data_clear(out);
    return rc;
}
