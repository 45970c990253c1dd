/* irhost.xml: an expat-backed XML reader for trusted Lua (bindings/bindings.h).
 *   parse(text) -> doc, or nil, "xml: line L:C: message"
 * The tree is compact because AWS responses are large and mostly leaves:
 *   doc = { root_name, root_value }
 *   a value is a string (an element with neither child elements nor attributes: its text),
 *   or a table { name1, value1, name2, value2, ...; attrs = {...} (only when present),
 *   text = ... (only for an element with attributes and no child elements) }.
 * Element names lose their namespace prefix; attribute names keep it ("xsi:type"), as the
 * API models name them; xmlns declarations are not attributes. Text of an element that has
 * child elements (layout whitespace) is dropped.
 * Refused: DTDs and entity declarations (no entity expansion at all, so no billion laughs
 * or external entities), nesting deeper than XML_MAX_DEPTH, documents over XML_MAX_BYTES. */
#include <stdlib.h>
#include <string.h>
#include <expat.h>
#include <lauxlib.h>
#include "bindings.h"

#define XML_MAX_DEPTH 128
#define XML_MAX_BYTES ((size_t)256 << 20)
#define PARSER_MT "irhost.xml.parser"

struct xml_state {
    XML_Parser parser;
    lua_State *L;
    char *text;          /* character data of the current run */
    size_t text_len, text_cap;
    int depth;
    int base;            /* stack index below the first open element */
    lua_Integer nchildren[XML_MAX_DEPTH + 1];
    char error[160];     /* set when a handler stops the parser */
};

/* Open element d (1-based) keeps its name at NAME_IDX(d) and its table (or nil while it
 * has neither children nor attributes) at VAL_IDX(d). */
#define NAME_IDX(st, d) ((st)->base + 2 * (d) - 1)
#define VAL_IDX(st, d) ((st)->base + 2 * (d))

static void free_state(struct xml_state *st)
{
    if (st->parser) { XML_ParserFree(st->parser); st->parser = NULL; }
    free(st->text);
    st->text = NULL;
}

static int parser_gc(lua_State *L)
{
    free_state(luaL_checkudata(L, 1, PARSER_MT));
    return 0;
}

static void stop(struct xml_state *st, const char *msg)
{
    if (!st->error[0]) {
        snprintf(st->error, sizeof st->error, "xml: line %lu:%lu: %s",
                 (unsigned long)XML_GetCurrentLineNumber(st->parser),
                 (unsigned long)XML_GetCurrentColumnNumber(st->parser) + 1, msg);
    }
    XML_StopParser(st->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_state *st = ud;
    lua_State *L = st->L;
    if (st->depth >= XML_MAX_DEPTH) { stop(st, "elements nested too deeply"); return; }
    if (!lua_checkstack(L, 6)) { stop(st, "out of stack"); return; }
    if (st->depth > 0 && lua_isnil(L, VAL_IDX(st, st->depth))) {
        lua_createtable(L, 8, 0);
        lua_replace(L, VAL_IDX(st, st->depth));
    }
    st->text_len = 0;                 /* text before a child element is layout */
    st->depth++;
    st->nchildren[st->depth] = 0;
    const char *colon = strchr(name, ':');
    lua_pushstring(L, colon ? colon + 1 : name);
    int has_attrs = 0;
    for (size_t i = 0; attrs[i]; i += 2) {
        if (strncmp(attrs[i], "xmlns", 5) == 0 && (attrs[i][5] == '\0' || attrs[i][5] == ':')) continue;
        if (!has_attrs) {
            lua_createtable(L, 4, 2);
            lua_newtable(L);
            has_attrs = 1;
        }
        lua_pushstring(L, attrs[i + 1]);
        lua_setfield(L, -2, attrs[i]);
    }
    if (has_attrs) lua_setfield(L, -2, "attrs");
    else lua_pushnil(L);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xml_state *st = ud;
    lua_State *L = st->L;
    int d = st->depth;
    (void)name;
    if (lua_isnil(L, VAL_IDX(st, d))) {
        lua_pushlstring(L, st->text ? st->text : "", st->text_len);
        lua_replace(L, VAL_IDX(st, d));
    } else if (st->nchildren[d] == 0) {
        lua_pushlstring(L, st->text ? st->text : "", st->text_len);
        lua_setfield(L, VAL_IDX(st, d), "text");
    }
    st->text_len = 0;
    if (d > 1) {
        int parent = VAL_IDX(st, d - 1);
        lua_Integer n = st->nchildren[d - 1];
        lua_rawseti(L, parent, 2 * n + 2);   /* pops the value */
        lua_rawseti(L, parent, 2 * n + 1);   /* pops the name */
        st->nchildren[d - 1] = n + 1;
    }
    st->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xml_state *st = ud;
    if (len <= 0 || st->depth == 0) return;
    size_t n = (size_t)len;
    if (st->text_cap - st->text_len < n) {
        size_t cap = st->text_cap ? st->text_cap : 256;
        while (cap - st->text_len < n) {
            if (cap > XML_MAX_BYTES) { stop(st, "text too long"); return; }
            cap *= 2;
        }
        char *p = realloc(st->text, cap);
        if (!p) { stop(st, "out of memory"); return; }
        st->text = p;
        st->text_cap = cap;
    }
    memcpy(st->text + st->text_len, s, n);
    st->text_len += n;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name; (void)sysid; (void)pubid; (void)has_internal_subset;
    stop(ud, "DTDs are not accepted");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    (void)name; (void)is_param; (void)value; (void)value_len; (void)base; (void)sysid;
    (void)pubid; (void)notation;
    stop(ud, "entity declarations are not accepted");
}

static int l_parse(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, len <= XML_MAX_BYTES, 1, "document over 256 MB");
    lua_settop(L, 1);
    /* The parser lives in a userdata so that a Lua error inside a handler cannot leak it. */
    struct xml_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    memset(st, 0, sizeof *st);
    luaL_setmetatable(L, PARSER_MT);
    st->L = L;
    st->parser = XML_ParserCreate(NULL);
    if (!st->parser) return luaL_error(L, "xml: out of memory");
    XML_SetUserData(st->parser, st);
    XML_SetElementHandler(st->parser, on_start, on_end);
    XML_SetCharacterDataHandler(st->parser, on_text);
    XML_SetStartDoctypeDeclHandler(st->parser, on_doctype);
    XML_SetEntityDeclHandler(st->parser, on_entity);
    XML_SetParamEntityParsing(st->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    st->base = lua_gettop(L);

    int ok = 1;
    const char *p = text;
    size_t left = len;
    do {  /* expat takes int lengths */
        int chunk = left > (1u << 30) ? (1 << 30) : (int)left;
        left -= (size_t)chunk;
        if (XML_Parse(st->parser, p, chunk, left == 0) != XML_STATUS_OK) { ok = 0; break; }
        p += chunk;
    } while (left > 0);

    if (!ok) {
        char msg[200];
        if (st->error[0]) snprintf(msg, sizeof msg, "%s", st->error);
        else snprintf(msg, sizeof msg, "xml: line %lu:%lu: %s",
                      (unsigned long)XML_GetCurrentLineNumber(st->parser),
                      (unsigned long)XML_GetCurrentColumnNumber(st->parser) + 1,
                      XML_ErrorString(XML_GetErrorCode(st->parser)));
        free_state(st);
        lua_settop(L, st->base);
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    free_state(st);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, NAME_IDX(st, 1));
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, VAL_IDX(st, 1));
    lua_rawseti(L, -2, 2);
    return 1;
}

static const luaL_Reg xml_funcs[] = {
    {"parse", l_parse},
    {NULL, NULL},
};

int luaopen_irhost_xml(lua_State *L)
{
    if (luaL_newmetatable(L, PARSER_MT)) {
        lua_pushcfunction(L, parser_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_newlib(L, xml_funcs);
    return 1;
}
