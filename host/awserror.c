#include "awserror.h"
#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <expat.h>

#define MAX_DEPTH 32

static void copy_clean(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (!dstlen) return;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[o] = '\0';
    while (o && dst[o - 1] == ' ') dst[--o] = '\0';
    size_t lead = 0;
    while (dst[lead] == ' ') lead++;
    if (lead) memmove(dst, dst + lead, o - lead + 1);
}

void irh_awserror_trim_type(char *code)
{
    char *c = strchr(code, ':');
    if (c) *c = '\0';
    char *h = strrchr(code, '#');
    if (h) memmove(code, h + 1, strlen(h + 1) + 1);
}

/* ---------------------------------------------------------------- XML */

struct xml_state {
    XML_Parser p;
    const char *want;        /* irh_xml_first_text: the element to find */
    char *out;
    size_t outlen;
    int found;
    int depth;
    int in_error;            /* depth of the <Error> element we read, 0 when outside */
    int field;               /* 1 code, 2 message, 3 request id, 0 none */
    char text[1024];
    size_t tlen;
    struct irh_awserror *e;
    int have_code, have_msg, have_rid;
};

static const char *local_name(const char *n)
{
    const char *c = strrchr(n, '\x1f');   /* namespace separator */
    return c ? c + 1 : n;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_state *x = ud;
    (void)attrs;
    if (++x->depth > MAX_DEPTH) { XML_StopParser(x->p, XML_FALSE); return; }
    const char *n = local_name(name);
    x->field = 0;
    if (x->want) { x->field = !x->found && strcmp(n, x->want) == 0 ? 4 : 0; x->tlen = 0; return; }
    if (!x->in_error && strcmp(n, "Error") == 0 && !x->have_code) { x->in_error = x->depth; return; }
    if (x->in_error && x->depth == x->in_error + 1) {
        if (strcmp(n, "Code") == 0 && !x->have_code) x->field = 1;
        else if (strcmp(n, "Message") == 0 && !x->have_msg) x->field = 2;
    }
    if ((strcmp(n, "RequestId") == 0 || strcmp(n, "RequestID") == 0) && !x->have_rid) x->field = 3;
    x->tlen = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_state *x = ud;
    if (!x->field || len <= 0) return;
    size_t n = (size_t)len;
    if (n > sizeof x->text - 1 - x->tlen) n = sizeof x->text - 1 - x->tlen;
    memcpy(x->text + x->tlen, s, n);
    x->tlen += n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xml_state *x = ud;
    (void)name;
    switch (x->field) {
    case 1: copy_clean(x->e->code, sizeof x->e->code, x->text, x->tlen); x->have_code = x->e->code[0] != 0; break;
    case 2: copy_clean(x->e->message, sizeof x->e->message, x->text, x->tlen); x->have_msg = 1; break;
    case 3: copy_clean(x->e->request_id, sizeof x->e->request_id, x->text, x->tlen); x->have_rid = 1; break;
    case 4: copy_clean(x->out, x->outlen, x->text, x->tlen); x->found = 1; break;
    default: break;
    }
    x->field = 0;
    x->tlen = 0;
    if (x->in_error == x->depth) x->in_error = 0;
    x->depth--;
}

/* A DOCTYPE has no business in an AWS response; refusing it rules out entity expansion. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    struct xml_state *x = ud;
    (void)name; (void)sysid; (void)pubid; (void)has_internal;
    XML_StopParser(x->p, XML_FALSE);
}

static void parse_xml(struct xml_state *xs, const char *body, size_t len)
{
    struct xml_state x = *xs;
    x.p = XML_ParserCreateNS(NULL, '\x1f');
    if (!x.p) return;
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
    XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);
    /* Error bodies are small; a huge one is read in slices that expat accepts as int. */
    size_t off = 0;
    while (off < len) {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        if (XML_Parse(x.p, body + off, (int)n, 0) != XML_STATUS_OK) break;
        off += n;
    }
    if (off == len) XML_Parse(x.p, "", 0, 1);
    XML_ParserFree(x.p);
    xs->found = x.found;
}

int irh_xml_first_text(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
    if (!outlen) return -1;
    out[0] = '\0';
    struct xml_state x = { 0 };
    x.want = name;
    x.out = out;
    x.outlen = outlen;
    if (body && len) parse_xml(&x, body, len);
    return x.found ? 0 : -1;
}

/* ---------------------------------------------------------------- JSON */

static char *json_field(const char *body, size_t len, const char *a, const char *b)
{
    char err[8];
    char *v = irh_json_get(body, len, a, err, sizeof err);
    if (!v && b) v = irh_json_get(body, len, b, err, sizeof err);
    return v;
}

static void parse_json(const char *body, size_t len, const char *errortype, struct irh_awserror *e)
{
    char *code = NULL;
    if (errortype && *errortype) {
        code = strdup(errortype);
    } else {
        code = json_field(body, len, "__type", NULL);
        if (!code) code = json_field(body, len, "code", "Code");
    }
    if (code) {
        irh_awserror_trim_type(code);
        copy_clean(e->code, sizeof e->code, code, strlen(code));
        free(code);
    }
    char *msg = json_field(body, len, "message", "Message");
    if (!msg) msg = json_field(body, len, "errorMessage", NULL);
    if (msg) { copy_clean(e->message, sizeof e->message, msg, strlen(msg)); free(msg); }
}

/* ---------------------------------------------------------------- entry point */

static int looks_xml(const char *content_type, const char *body, size_t len)
{
    if (content_type && (strstr(content_type, "xml") != NULL)) return 1;
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i])) i++;
    return i < len && body[i] == '<';
}

static int looks_json(const char *content_type, const char *body, size_t len)
{
    if (content_type && strstr(content_type, "json")) return 1;
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i])) i++;
    return i < len && body[i] == '{';
}

int irh_awserror_parse(long status, const char *content_type, const char *errortype,
                       const char *query_error, const char *body, size_t len,
                       struct irh_awserror *e)
{
    memset(e, 0, sizeof *e);
    if (!body) len = 0;
    /* S3 can answer 200 with an <Error> body (CopyObject, CompleteMultipartUpload). */
    if (len && looks_xml(content_type, body, len)) {
        if (status >= 300 || (len >= 7 && memmem(body, len < 512 ? len : 512, "<Error>", 7))) {
            struct xml_state x = { 0 };
            x.e = e;
            parse_xml(&x, body, len);
        }
    } else if (status >= 300 && len && looks_json(content_type, body, len)) {
        parse_json(body, len, errortype, e);
    } else if (status >= 300 && errortype && *errortype) {
        copy_clean(e->code, sizeof e->code, errortype, strlen(errortype));
        irh_awserror_trim_type(e->code);
    }
    if (status >= 300 && query_error && *query_error) {
        /* awsQueryCompatible services: "Code;Sender" names the query-protocol code. */
        const char *semi = strchr(query_error, ';');
        if (semi && semi != query_error && !strchr(semi + 1, ';'))
            copy_clean(e->code, sizeof e->code, query_error, (size_t)(semi - query_error));
    }
    if (!e->code[0] && status >= 300) snprintf(e->code, sizeof e->code, "%ld", status);
    return e->code[0] != '\0';
}
