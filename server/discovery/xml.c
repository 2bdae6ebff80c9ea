/*
 * xml.c - a small XML reader for the answers of the EC2 Query API.
 *
 * The EC2 API answers in plain, namespace-qualified XML: elements, text,
 * the five predefined entities and character references, no DTD.  A tree of
 * elements with their direct text is all ec2.c needs, so this reads exactly
 * that into an arena, skipping attributes (their values are still scanned, so
 * a '>' inside one does no harm), comments, processing instructions, a
 * doctype, and keeping CDATA as text.  Element names lose their namespace
 * prefix.  Mismatched tags, unterminated constructs, unknown entities and
 * nesting deeper than 256 levels are errors with the byte offset.  The
 * project's dependencies have no XML library, and this subset is smaller than
 * the glue one would need.
 */
#include "discovery/internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

typedef struct xr {
    const char *s, *end, *start;
    core_arena *a;
    core_err *err;
} xr;

static int fail(xr *x, const char *what)
{
    return core_err_set(x->err, "XML syntax error at offset %zu: %s", (size_t)(x->s - x->start),
                        what);
}

static bool at(const xr *x, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(x->end - x->s) >= n && memcmp(x->s, lit, n) == 0;
}

static int skip_past(xr *x, const char *lit, const char *what)
{
    size_t n = strlen(lit);
    while ((size_t)(x->end - x->s) >= n) {
        if (memcmp(x->s, lit, n) == 0) {
            x->s += n;
            return 0;
        }
        x->s++;
    }
    return fail(x, what);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool name_char(char c)
{
    return !is_space(c) && c != '>' && c != '/' && c != '=' && c != '<' && c != '"' && c != '\'';
}

static void utf8(core_sb *out, unsigned long cp)
{
    if (cp < 0x80) {
        core_sb_addc(out, (char)cp);
    } else if (cp < 0x800) {
        core_sb_addc(out, (char)(0xc0 | cp >> 6));
        core_sb_addc(out, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        core_sb_addc(out, (char)(0xe0 | cp >> 12));
        core_sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
        core_sb_addc(out, (char)(0x80 | (cp & 0x3f)));
    } else {
        core_sb_addc(out, (char)(0xf0 | cp >> 18));
        core_sb_addc(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
        core_sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
        core_sb_addc(out, (char)(0x80 | (cp & 0x3f)));
    }
}

static int entity(xr *x, core_sb *out)
{
    const char *semi =
        memchr(x->s, ';', (size_t)(x->end - x->s) < 12 ? (size_t)(x->end - x->s) : 12);
    if (semi == NULL) return fail(x, "unterminated entity");
    const char *e = x->s + 1;
    size_t n = (size_t)(semi - e);
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    if (n > 1 && e[0] == '#') {
        char digits[12];
        bool hex = e[1] == 'x';
        size_t dl = n - (hex ? 2 : 1);
        if (dl == 0 || dl >= sizeof digits) return fail(x, "bad character reference");
        memcpy(digits, e + (hex ? 2 : 1), dl);
        digits[dl] = '\0';
        char *endp;
        unsigned long cp = strtoul(digits, &endp, hex ? 16 : 10);
        if (*endp != '\0' || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(x, "bad character reference");
        utf8(out, cp);
    } else {
        size_t i = 0;
        for (; i < sizeof named / sizeof named[0]; i++)
            if (strlen(named[i].name) == n && memcmp(named[i].name, e, n) == 0) break;
        if (i == sizeof named / sizeof named[0]) return fail(x, "unknown entity");
        core_sb_addc(out, named[i].c);
    }
    x->s = semi + 1;
    return 0;
}

/* Comments, processing instructions and a doctype. */
static int skip_misc(xr *x, bool *skipped)
{
    *skipped = true;
    if (at(x, "<!--")) return skip_past(x, "-->", "unterminated comment");
    if (at(x, "<?")) return skip_past(x, "?>", "unterminated processing instruction");
    if (at(x, "<!DOCTYPE")) return skip_past(x, ">", "unterminated doctype");
    *skipped = false;
    return 0;
}

static disc_xml *element(xr *x, int depth);

static int content(xr *x, disc_xml *el, int depth)
{
    core_sb text = CORE_SB_INIT;
    int rc = -1;
    for (;;) {
        if (x->s >= x->end) {
            fail(x, "unexpected end of document");
            goto out;
        }
        if (*x->s == '&') {
            if (entity(x, &text) < 0) goto out;
            continue;
        }
        if (*x->s != '<') {
            core_sb_addc(&text, *x->s++);
            continue;
        }
        if (at(x, "<![CDATA[")) {
            x->s += 9;
            const char *start = x->s;
            if (skip_past(x, "]]>", "unterminated CDATA") < 0) goto out;
            core_sb_add(&text, start, (size_t)(x->s - 3 - start));
            continue;
        }
        bool skipped;
        if (skip_misc(x, &skipped) < 0) goto out;
        if (skipped) continue;
        if (at(x, "</")) {
            x->s += 2;
            const char *name = x->s;
            while (x->s < x->end && name_char(*x->s))
                x->s++;
            size_t nl = (size_t)(x->s - name);
            const char *colon = memchr(name, ':', nl);
            if (colon) {
                nl -= (size_t)(colon + 1 - name);
                name = colon + 1;
            }
            if (nl != strlen(el->name) || memcmp(name, el->name, nl) != 0) {
                fail(x, "mismatched end tag");
                goto out;
            }
            while (x->s < x->end && is_space(*x->s))
                x->s++;
            if (x->s >= x->end || *x->s != '>') {
                fail(x, "bad end tag");
                goto out;
            }
            x->s++;
            break;
        }
        disc_xml *child = element(x, depth + 1);
        if (child == NULL) goto out;
        if (el->last)
            el->last->next = child;
        else
            el->child = child;
        el->last = child;
    }
    el->text = core_arena_strndup(x->a, text.buf ? text.buf : "", text.len);
    rc = 0;
out:
    core_sb_destroy(&text);
    return rc;
}

static disc_xml *element(xr *x, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(x, "nesting too deep");
        return NULL;
    }
    if (x->s >= x->end || *x->s != '<') {
        fail(x, "expected an element");
        return NULL;
    }
    x->s++;
    const char *name = x->s;
    while (x->s < x->end && name_char(*x->s))
        x->s++;
    size_t nl = (size_t)(x->s - name);
    if (nl == 0) {
        fail(x, "expected an element name");
        return NULL;
    }
    const char *colon = memchr(name, ':', nl);
    if (colon) {
        nl -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    disc_xml *el = core_arena_calloc(x->a, 1, sizeof *el);
    el->name = core_arena_strndup(x->a, name, nl);
    /* Attributes: scanned, not kept. */
    for (;;) {
        while (x->s < x->end && is_space(*x->s))
            x->s++;
        if (x->s >= x->end) {
            fail(x, "unterminated start tag");
            return NULL;
        }
        if (*x->s == '>') {
            x->s++;
            return content(x, el, depth) < 0 ? NULL : el;
        }
        if (at(x, "/>")) {
            x->s += 2;
            el->text = "";
            return el;
        }
        while (x->s < x->end && name_char(*x->s))
            x->s++;
        while (x->s < x->end && is_space(*x->s))
            x->s++;
        if (x->s >= x->end || *x->s != '=') {
            fail(x, "bad attribute");
            return NULL;
        }
        x->s++;
        while (x->s < x->end && is_space(*x->s))
            x->s++;
        if (x->s >= x->end || (*x->s != '"' && *x->s != '\'')) {
            fail(x, "unquoted attribute value");
            return NULL;
        }
        char q = *x->s++;
        const char *close = memchr(x->s, q, (size_t)(x->end - x->s));
        if (close == NULL) {
            fail(x, "unterminated attribute value");
            return NULL;
        }
        x->s = close + 1;
    }
}

disc_xml *disc_xml_parse(core_arena *a, const char *buf, size_t len, core_err *err)
{
    xr x = {buf, buf + len, buf, a, err};
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) x.s += 3;
    for (;;) {
        while (x.s < x.end && is_space(*x.s))
            x.s++;
        bool skipped;
        if (skip_misc(&x, &skipped) < 0) return NULL;
        if (!skipped) break;
    }
    disc_xml *root = element(&x, 0);
    if (root == NULL) return NULL;
    for (;;) {
        while (x.s < x.end && is_space(*x.s))
            x.s++;
        if (x.s >= x.end) break;
        bool skipped;
        if (skip_misc(&x, &skipped) < 0) return NULL;
        if (!skipped) {
            fail(&x, "content after the root element");
            return NULL;
        }
    }
    return root;
}

const disc_xml *disc_xml_child(const disc_xml *n, const char *name)
{
    if (n == NULL) return NULL;
    for (const disc_xml *c = n->child; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

const char *disc_xml_text(const disc_xml *n, const char *name)
{
    const disc_xml *c = disc_xml_child(n, name);
    return c ? c->text : NULL;
}
