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
 * ServiceData is opaque application markup: parsing keeps its inner XML serialised; rendering embeds the string
 * as markup when it is well-formed, and as escaped text when it is not.
 *
 * Rendering is on the HSS's hot path (one document per UDR), so it writes the fixed shape straight into a buffer
 * instead of building a libxml2 tree: that cost 8.5 µs per document, mostly the fragment parse of ServiceData, and
 * the direct writer costs well under one. Text is escaped here (&, <, >, " for symmetry, and CR, which a parser
 * would read back as LF); a control character that XML 1.0 cannot carry makes rendering fail rather than produce a
 * document a peer would reject. ServiceData markup takes a fast path when it is simple — elements without
 * attributes, text and the predefined entity references, properly nested — and otherwise falls back to libxml2's
 * fragment parser to decide between markup and text.
 */
#include "diameter/sh_data.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#define SH_EXT_TADS_DEPTH 3    /* Extension nesting that holds TADSinformation (Rel-9 tShDataExtension3) */
#define SH_SEQ_MAX 65535u      /* TS 29.328 Annex D: tSequenceNumber is 0..65535 */
#define SH_RAT_MAX 4294967295u /* RAT-Type is an Enumerated; we accept any non-negative 32-bit value */
#define SH_VOPS_MAX 2u         /* 0 not supported, 1 supported, 2 unknown */

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
    case SH_RAT_UTRAN:
        name = "UTRAN";
        break;
    case SH_RAT_GERAN:
        name = "GERAN";
        break;
    case SH_RAT_EUTRAN:
        name = "EUTRAN";
        break;
    case SH_RAT_NR:
        name = "NR";
        break;
    default:
        break;
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

#define SH_RENDER_INITIAL 1024 /* a typical Sh-Data document is 300 to 700 bytes */
#define SH_MARKUP_DEPTH_MAX 32 /* nesting the ServiceData fast path follows; deeper goes to libxml2 */

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory or unrepresentable text: the document is abandoned */
} sh_buf_t;

static void buf_put(sh_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : SH_RENDER_INITIAL;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void buf_str(sh_buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* Character data, escaped (XML 1.0 §2.4); control characters XML cannot carry fail the document. */
static void buf_text(sh_buf_t *b, const char *s)
{
    const char *run = s;

    for (const char *p = s; *p; p++) {
        const char *ent = NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '&')
            ent = "&amp;";
        else if (c == '<')
            ent = "&lt;";
        else if (c == '>')
            ent = "&gt;";
        else if (c == '"')
            ent = "&quot;";
        else if (c == '\r')
            ent = "&#13;"; /* written raw, a parser reads it back as LF (XML 1.0 §2.11 end-of-line handling) */
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            b->failed = true;
        if (ent) {
            buf_put(b, run, (size_t)(p - run));
            buf_str(b, ent);
            run = p + 1;
        }
    }
    buf_put(b, run, strlen(run));
}

static void buf_elem(sh_buf_t *b, const char *name, const char *text)
{
    buf_str(b, "<");
    buf_str(b, name);
    buf_str(b, ">");
    buf_text(b, text);
    buf_str(b, "</");
    buf_str(b, name);
    buf_str(b, ">");
}

static void buf_elem_uint(sh_buf_t *b, const char *name, uint32_t v)
{
    char num[16];
    snprintf(num, sizeof num, "%u", v);
    buf_elem(b, name, num);
}

static bool name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* Length of an XML name at p (the simple ASCII subset), 0 when there is none. */
static size_t name_len(const char *p)
{
    size_t n = 0;
    while (name_char(p[n], n == 0))
        n++;
    return n;
}

/* Length of "&name;" at p when name is one of the five entities XML 1.0 §4.6 predefines, else 0. Any other
 * reference is left to libxml2: an undeclared entity is a well-formedness error (§4.1, WFC: Entity Declared), a
 * character reference may name a character XML cannot carry ("&#1;"). */
static size_t predefined_entity_len(const char *p)
{
    static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(p, names[i], strlen(names[i])) == 0)
            return strlen(names[i]);
    return 0;
}

/* 1: well-formed simple markup; 0: certainly not well-formed; -1: outside the simple subset (ask libxml2). */
static int simple_markup(const char *m)
{
    const char *open[SH_MARKUP_DEPTH_MAX];
    size_t open_len[SH_MARKUP_DEPTH_MAX];
    int depth = 0;

    for (const char *p = m; *p;) {
        if (*p == '&') {
            size_t n = predefined_entity_len(p);
            if (n == 0)
                return -1;
            p += n;
        } else if (*p == '>' || ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')) {
            return -1;
        } else if (*p != '<') {
            p++;
        } else if (p[1] == '/') {
            size_t n = name_len(p + 2);
            if (n == 0 || p[2 + n] != '>')
                return -1;
            if (depth == 0 || n != open_len[depth - 1] || memcmp(open[depth - 1], p + 2, n) != 0)
                return 0;
            depth--;
            p += 3 + n;
        } else {
            size_t n = name_len(p + 1);
            bool empty = n && p[1 + n] == '/' && p[2 + n] == '>';
            if (n == 0 || (!empty && p[1 + n] != '>'))
                return -1; /* attributes, comments, CDATA, PIs: leave them to libxml2 */
            if (!empty) {
                if (depth == SH_MARKUP_DEPTH_MAX)
                    return -1;
                open[depth] = p + 1;
                open_len[depth++] = n;
            }
            p += (empty ? 3 : 2) + n;
        }
    }
    return depth == 0 ? 1 : 0;
}

/* libxml2's verdict for markup outside the simple subset. */
static bool libxml2_well_formed(const char *markup)
{
    int len = (int)strnlen(markup, SH_DATA_MAX_LEN + 1);
    if (len > SH_DATA_MAX_LEN)
        return false;
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *root = doc ? xmlNewNode(NULL, BAD_CAST "ServiceData") : NULL;
    xmlNode *list = NULL;
    bool ok = false;
    if (root) {
        xmlDocSetRootElement(doc, root);
        ok = xmlParseInNodeContext(root, markup, len, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING,
                                   &list) == XML_ERR_OK;
    }
    xmlFreeNodeList(list);
    xmlFreeDoc(doc);
    return ok;
}

static void render_service_data(sh_buf_t *b, const char *markup)
{
    int simple = simple_markup(markup);
    bool as_markup = simple == 1 || (simple == -1 && libxml2_well_formed(markup));

    buf_str(b, "<ServiceData>");
    if (as_markup)
        buf_str(b, markup);
    else
        buf_text(b, markup);
    buf_str(b, "</ServiceData>");
}

static void render_public_ids(sh_buf_t *b, const sh_data_t *d)
{
    if (d->n_impu == 0 && !d->msisdn)
        return;
    buf_str(b, "<PublicIdentifiers>");
    for (size_t i = 0; i < d->n_impu && i < SH_DATA_MAX_IMPU; i++)
        if (d->impu[i])
            buf_elem(b, "IMSPublicIdentity", d->impu[i]);
    if (d->msisdn)
        buf_elem(b, "MSISDN", d->msisdn);
    buf_str(b, "</PublicIdentifiers>");
}

static void render_repo(sh_buf_t *b, const sh_repo_data_t *r)
{
    buf_str(b, "<RepositoryData>");
    buf_elem(b, "ServiceIndication", r->service_indication ? r->service_indication : "");
    buf_elem_uint(b, "SequenceNumber", r->sequence_number);
    if (r->service_data)
        render_service_data(b, r->service_data);
    buf_str(b, "</RepositoryData>");
}

static void render_tads(sh_buf_t *b, const sh_data_t *d)
{
    for (int depth = 0; depth < SH_EXT_TADS_DEPTH; depth++)
        buf_str(b, "<Extension>");
    buf_str(b, "<TADSinformation>");
    buf_elem_uint(b, "IMSVoiceOverPSSessionSupport", (uint32_t)d->ims_vops);
    if (d->has_rat)
        buf_elem_uint(b, "RATtype", d->rat_type);
    if (d->last_ue_activity)
        buf_elem(b, "LastUEActivityTime", d->last_ue_activity);
    buf_str(b, "</TADSinformation>");
    for (int depth = 0; depth < SH_EXT_TADS_DEPTH; depth++)
        buf_str(b, "</Extension>");
}

char *sh_data_render(const sh_data_t *d, size_t *len)
{
    sh_buf_t b = {0};

    if (!d || !len)
        return NULL;
    buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Sh-Data>");
    render_public_ids(&b, d);
    for (size_t i = 0; i < d->n_repo && i < SH_DATA_MAX_REPO; i++)
        render_repo(&b, &d->repo[i]);
    if (d->has_tads)
        render_tads(&b, d);
    buf_str(&b, "</Sh-Data>\n");
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
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
    perr_t pe = {err, errlen};
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
