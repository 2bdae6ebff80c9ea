/*
 * internal.h - what the files of server/promql share behind the door:
 *
 *   lex.c        tokens and the lexer (upstream's lex.go state machine)
 *   quote.c      Go-compatible unquoting of string literals and %q-style quoting
 *   parse.c      recursive-descent parser building the AST
 *   check.c      type checking of a finished AST (upstream's checkAST)
 *   print.c      the printer
 *   functions.c  the function table
 */
#ifndef PROMQL_INTERNAL_H
#define PROMQL_INTERNAL_H

#include "promql/promql.h"

/* Token kinds.  The groups match upstream's ranges: an item's description in
 * messages depends on its group ("<op:+>", "<aggr:sum>", "<by>", ...). */
typedef enum pql_tok {
    PQL_T_EOF,
    PQL_T_ERROR,
    PQL_T_COMMENT,
    PQL_T_IDENT,
    PQL_T_METRIC_IDENT,
    PQL_T_STRING,
    PQL_T_NUMBER,
    PQL_T_DURATION,
    PQL_T_LPAREN,
    PQL_T_RPAREN,
    PQL_T_LBRACE,
    PQL_T_RBRACE,
    PQL_T_LBRACKET,
    PQL_T_RBRACKET,
    PQL_T_COMMA,
    PQL_T_EQL,
    PQL_T_COLON,
    /* operators */
    PQL_T_OPS_START,
    PQL_T_ADD,
    PQL_T_SUB,
    PQL_T_MUL,
    PQL_T_DIV,
    PQL_T_MOD,
    PQL_T_POW,
    PQL_T_EQLC,
    PQL_T_NEQ,
    PQL_T_LTE,
    PQL_T_LSS,
    PQL_T_GTE,
    PQL_T_GTR,
    PQL_T_TRIM_UPPER,
    PQL_T_TRIM_LOWER,
    PQL_T_EQL_REGEX,
    PQL_T_NEQ_REGEX,
    PQL_T_AT,
    PQL_T_LAND,
    PQL_T_LOR,
    PQL_T_LUNLESS,
    PQL_T_ATAN2,
    PQL_T_OPS_END,
    /* aggregators, in pql_aggr_op order */
    PQL_T_AGGR_START,
    PQL_T_SUM,
    PQL_T_AVG,
    PQL_T_COUNT,
    PQL_T_MIN,
    PQL_T_MAX,
    PQL_T_GROUP,
    PQL_T_STDDEV,
    PQL_T_STDVAR,
    PQL_T_TOPK,
    PQL_T_BOTTOMK,
    PQL_T_QUANTILE,
    PQL_T_COUNT_VALUES,
    PQL_T_LIMITK,
    PQL_T_LIMIT_RATIO,
    PQL_T_AGGR_END,
    /* keywords */
    PQL_T_KW_START,
    PQL_T_BOOL,
    PQL_T_BY,
    PQL_T_GROUP_LEFT,
    PQL_T_GROUP_RIGHT,
    PQL_T_FILL,
    PQL_T_FILL_LEFT,
    PQL_T_FILL_RIGHT,
    PQL_T_IGNORING,
    PQL_T_OFFSET,
    PQL_T_SMOOTHED,
    PQL_T_ANCHORED,
    PQL_T_ON,
    PQL_T_WITHOUT,
    PQL_T_KW_END,
    /* preprocessors */
    PQL_T_START,
    PQL_T_END,
    PQL_T_STEP,
    PQL_T_RANGE,
    PQL_T_MAX_OF,
    PQL_T_MIN_OF,
} pql_tok;

typedef struct pql_item {
    pql_tok type;
    uint32_t pos;    /* byte offset of the token */
    const char *val; /* the token's text in the input; for PQL_T_ERROR the message */
    size_t len;
} pql_item;

typedef struct pql_lexer {
    const char *in;
    size_t len;
    size_t pos, start;
    int state; /* the next state function (lex.c) */
    int paren_depth;
    bool brace_open, bracket_open, got_colon, got_duration;
    char string_open;
    bool done;
    char errbuf[256]; /* message of an error item */
} pql_lexer;

void pql_lex_init(pql_lexer *l, const char *in, size_t len);
/* The next item; comments included.  After EOF or an error, EOF forever. */
void pql_lex_next(pql_lexer *l, pql_item *it);

/* The item as upstream describes it in "unexpected ..." messages. */
void pql_item_desc(const pql_item *it, core_sb *sb);

/* ---- quote.c */

/* Unquotes a '...', "..." or `...` literal with Go's rules, into arena memory.
 * Returns 0, or -1 with a message like Go's ("invalid syntax"). */
int pql_unquote(const char *s, size_t n, core_arena *a, char **out, size_t *outlen);
/* Appends s quoted as Go's strconv.Quote does; max_runes > 0 truncates first
 * (as %.10q). */
void pql_quote(core_sb *sb, const char *s, size_t n, size_t max_runes);
/* Appends the rune as Go's %q ('c', '\n', '\x00'). */
void pql_quote_rune(core_sb *sb, int32_t r);
/* Decodes one UTF-8 rune at s (n > 0 bytes); *w gets its width.  Returns
 * -1 for an invalid encoding (width 1). */
int32_t pql_utf8_decode(const char *s, size_t n, size_t *w);
/* Whether s is a name matching [a-zA-Z_][a-zA-Z0-9_]*. */
bool pql_is_legacy_name(const char *s, size_t n);

/* ---- print.c */

/* Go's strconv.FormatFloat(v, 'f', -1, 64). */
void pql_format_float_f(core_sb *sb, double v);

/* ---- check.c */

/* Type-checks the tree; on the first problem sets err (with position) and
 * returns -1. */
int pql_check(pql_node *root, const char *query, size_t len, core_err *err);
/* Sets err to "<line>:<col>: parse error: <msg>" for byte offset pos. */
int pql_error_at(core_err *err, const char *query, size_t len, size_t pos, const char *msg);

#endif
