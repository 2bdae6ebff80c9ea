/*
 * pretty.c - /api/v1/format_query's text: upstream's Pretty(0).
 *
 * A node whose canonical text (pql_print, upstream's String()) fits in 100
 * characters is written as that text, indented two spaces per level; a
 * longer one is split: an aggregation puts its parameter and argument on
 * their own lines inside "sum by (job) (" ... ")", a binary operation its
 * operands around the operator line, a call its arguments one per line, a
 * parenthesis its content; a subquery splits its inner expression and keeps
 * its "[5m:1m]" suffix; a unary operator sticks to its operand.
 *
 * The pieces between the operands (an aggregation's "sum by (job) ", a binary
 * operator with its bool and matching clauses, a subquery's suffix) are cut
 * out of the node's own canonical text, whose layout is fixed around the
 * operands' texts, so the printer's spelling rules live in one place.
 */
#include "web/internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LINE 100

static char *text(const pql_node *n, size_t *len)
{
    core_sb sb = CORE_SB_INIT;
    pql_print(n, &sb);
    if (!sb.buf) core_sb_adds(&sb, "");
    return core_sb_detach(&sb, len);
}

static void indent(core_sb *sb, int level)
{
    for (int i = 0; i < level; i++)
        core_sb_adds(sb, "  ");
}

static void pretty(const pql_node *n, int level, core_sb *sb);

/* Pretty of a child into its own buffer (for the unary operator's trim). */
static char *pretty_str(const pql_node *n, int level)
{
    core_sb sb = CORE_SB_INIT;
    pretty(n, level, &sb);
    if (!sb.buf) core_sb_adds(&sb, "");
    return core_sb_detach(&sb, NULL);
}

static void pretty(const pql_node *n, int level, core_sb *sb)
{
    size_t len;
    char *s = text(n, &len);
    bool split = len > MAX_LINE;
    switch (n->kind) {
    case PQL_NODE_AGGR:
        if (!split) break;
        {
            size_t elen, plen = 0;
            free(text(n->u.aggr.expr, &elen));
            if (n->u.aggr.param) {
                free(text(n->u.aggr.param, &plen));
                plen += 2; /* ", " */
            }
            size_t short_len = len - elen - plen - 2; /* "(" and ")" */
            indent(sb, level);
            core_sb_add(sb, s, short_len);
            core_sb_adds(sb, "(\n");
            if (n->u.aggr.param) {
                pretty(n->u.aggr.param, level + 1, sb);
                core_sb_adds(sb, ",\n");
            }
            pretty(n->u.aggr.expr, level + 1, sb);
            core_sb_addc(sb, '\n');
            indent(sb, level);
            core_sb_addc(sb, ')');
        }
        free(s);
        return;
    case PQL_NODE_BINARY:
        if (!split) break;
        {
            size_t llen, rlen;
            free(text(n->u.binary.lhs, &llen));
            free(text(n->u.binary.rhs, &rlen));
            pretty(n->u.binary.lhs, level + 1, sb);
            core_sb_addc(sb, '\n');
            indent(sb, level);
            core_sb_add(sb, s + llen + 1, len - llen - rlen - 2);
            core_sb_addc(sb, '\n');
            pretty(n->u.binary.rhs, level + 1, sb);
        }
        free(s);
        return;
    case PQL_NODE_CALL:
        if (!split) break;
        indent(sb, level);
        core_sb_adds(sb, n->u.call.func->name);
        core_sb_adds(sb, "(\n");
        for (size_t i = 0; i < n->u.call.nargs; i++) {
            if (i) core_sb_adds(sb, ",\n");
            pretty(n->u.call.args[i], level + 1, sb);
        }
        core_sb_addc(sb, '\n');
        indent(sb, level);
        core_sb_addc(sb, ')');
        free(s);
        return;
    case PQL_NODE_PAREN:
        if (!split) break;
        indent(sb, level);
        core_sb_adds(sb, "(\n");
        pretty(n->u.paren.expr, level + 1, sb);
        core_sb_addc(sb, '\n');
        indent(sb, level);
        core_sb_addc(sb, ')');
        free(s);
        return;
    case PQL_NODE_SUBQUERY:
        if (!split) {
            /* upstream writes an unsplit subquery without its indent */
            core_sb_add(sb, s, len);
        } else {
            size_t elen;
            free(text(n->u.subquery.expr, &elen));
            pretty(n->u.subquery.expr, level, sb);
            core_sb_add(sb, s + elen, len - elen);
        }
        free(s);
        return;
    case PQL_NODE_UNARY: {
        char *child = pretty_str(n->u.unary.expr, level);
        const char *c = child;
        size_t clen = strlen(c);
        while (clen && strchr(" \t\n\r\v\f", c[0]))
            c++, clen--;
        while (clen && strchr(" \t\n\r\v\f", c[clen - 1]))
            clen--;
        indent(sb, level);
        core_sb_adds(sb, n->u.unary.op == PQL_OP_SUB ? "-" : "+");
        core_sb_add(sb, c, clen);
        free(child);
        free(s);
        return;
    }
    default: break;
    }
    indent(sb, level);
    core_sb_add(sb, s, len);
    free(s);
}

void web_pretty(const pql_node *n, core_sb *sb)
{
    pretty(n, 0, sb);
}
