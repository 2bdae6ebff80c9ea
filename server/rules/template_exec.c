/*
 * template_exec.c - executing a parsed template, as Go's text/template/exec.go.
 *
 * Design: a tree walk over the AST with the data as tagged values
 * (tmpl_val).  Go resolves fields, methods and function arguments through
 * reflection; here each kind of value knows its fields (the alert data
 * struct, a query sample, label maps), its methods (times and durations) and
 * its Go type name, and each function declares its parameter types, so the
 * same programs succeed and the same mistakes fail with the same words:
 * argument counts, "wrong type for value; expected string; got float64",
 * "can't evaluate field x in type ...", "error calling humanize: ...".
 *
 * Errors name the node being evaluated exactly where Go does: every place Go
 * calls state.at() records the node here too, so "template: X:1:42:
 * executing \"X\" at <humanize $value>: ..." points at the same column.
 * The option Prometheus sets, missingkey=zero, is the only behaviour: a
 * missing label is the empty string.
 *
 * HTML mode (console pages) approximates html/template: what an action
 * prints is escaped for HTML text unless it is a template.HTML (safeHtml,
 * tmpl); the contexts html/template tells apart inside attributes, scripts
 * and URLs are not.
 *
 * Everything allocated during an execution comes from the caller's arena.
 * Template recursion is limited to 1000 levels (Go allows 100000; a C stack
 * does not).
 */
#include "rules/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000

enum { X_OK = 0, X_ERR = -1, X_BREAK = 1, X_CONTINUE = 2 };

typedef struct var {
    const char *name;
    tmpl_val v;
} var;

struct tmpl_exec {
    const tmpl_set *set;
    const tmpl_tree *tmpl;
    core_arena *arena;
    core_sb *out;
    var *vars;
    size_t nvars, capvars;
    const tmpl_node *node;
    int depth;
    const rules_tmpl_opts *opts;
    core_err *err;
};

static const tmpl_val INVALID = {.k = TV_INVALID};

core_arena *tmpl_exec_arena(tmpl_exec *x)
{
    return x->arena;
}

const rules_tmpl_opts *tmpl_exec_opts(tmpl_exec *x)
{
    return x->opts;
}

/* ---- Errors */

static int xerrorf(tmpl_exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xerrorf(tmpl_exec *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_sb msg = CORE_SB_INIT;
    core_sb_addvf(&msg, fmt, ap);
    va_end(ap);
    core_sb full = CORE_SB_INIT;
    if (!x->node) {
        core_sb_addf(&full, "template: %s: %s", x->tmpl->name, msg.buf);
    } else {
        const tmpl_node *n = x->node;
        const tmpl_tree *tree = n->tree ? n->tree : x->tmpl;
        const char *text = tree->text;
        size_t pos = n->pos;
        int line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < pos; i++)
            if (text[i] == '\n') {
                line++;
                line_start = i + 1;
            }
        size_t col = line_start == 0 ? pos : pos - line_start;
        core_sb ctx = CORE_SB_INIT;
        tmpl_node_string(n, &ctx);
        core_sb_addf(&full, "template: %s:%d:%zu: executing ", tree->parse_name, line, col);
        core_sb_add_quoted(&full, x->tmpl->name, strlen(x->tmpl->name));
        core_sb_addf(&full, " at <%s>: %s", ctx.buf ? ctx.buf : "", msg.buf);
        core_sb_destroy(&ctx);
    }
    core_err_set(x->err, "%s", full.buf);
    core_sb_destroy(&full);
    core_sb_destroy(&msg);
    return X_ERR;
}

static void at(tmpl_exec *x, const tmpl_node *n)
{
    x->node = n;
}

static const char *node_str(tmpl_exec *x, const tmpl_node *n)
{
    core_sb sb = CORE_SB_INIT;
    tmpl_node_string(n, &sb);
    char *s = core_arena_strdup(x->arena, sb.buf ? sb.buf : "");
    core_sb_destroy(&sb);
    return s;
}

static const char *val_str(tmpl_exec *x, const tmpl_val *v)
{
    core_sb sb = CORE_SB_INIT;
    tmpl_sprint(v, 1, false, &sb);
    char *s = core_arena_strdup(x->arena, sb.buf ? sb.buf : "");
    core_sb_destroy(&sb);
    return s;
}

/* ---- Variables */

static void push_var(tmpl_exec *x, const char *name, const tmpl_val *v)
{
    if (x->nvars == x->capvars) {
        x->capvars = x->capvars ? x->capvars * 2 : 8;
        var *nv = core_arena_alloc(x->arena, x->capvars * sizeof *nv);
        if (x->nvars) memcpy(nv, x->vars, x->nvars * sizeof *nv);
        x->vars = nv;
    }
    x->vars[x->nvars++] = (var){name, *v};
}

static int set_var(tmpl_exec *x, const char *name, const tmpl_val *v)
{
    for (size_t i = x->nvars; i-- > 0;)
        if (strcmp(x->vars[i].name, name) == 0) {
            x->vars[i].v = *v;
            return 0;
        }
    return xerrorf(x, "undefined variable: %s", name);
}

static int var_value(tmpl_exec *x, const char *name, tmpl_val *out)
{
    for (size_t i = x->nvars; i-- > 0;)
        if (strcmp(x->vars[i].name, name) == 0) {
            *out = x->vars[i].v;
            return 0;
        }
    return xerrorf(x, "undefined variable: %s", name);
}

/* ---- Types */

static const char *ptype_name(tmpl_ptype t)
{
    switch (t) {
    case TP_ANY: return "interface {}";
    case TP_STRING: return "string";
    case TP_FLOAT: return "float64";
    case TP_INT: return "int";
    case TP_BOOL: return "bool";
    case TP_RESULT: return "template.queryResult";
    case TP_SAMPLE: return "*template.sample";
    case TP_DURATION: return "time.Duration";
    }
    return "?";
}

static bool can_be_nil(tmpl_ptype t)
{
    return t == TP_ANY || t == TP_RESULT || t == TP_SAMPLE;
}

static tmpl_val zero_of(tmpl_ptype t)
{
    tmpl_val v = {.k = TV_INVALID};
    if (t == TP_RESULT) v.k = TV_RESULT;
    if (t == TP_SAMPLE) v.k = TV_SAMPLE;
    return v;
}

static bool assignable(const tmpl_val *v, tmpl_ptype t)
{
    switch (t) {
    case TP_ANY: return true;
    case TP_STRING: return v->k == TV_STRING;
    case TP_FLOAT: return v->k == TV_FLOAT;
    case TP_INT: return v->k == TV_INT;
    case TP_BOOL: return v->k == TV_BOOL;
    case TP_RESULT: return v->k == TV_RESULT;
    case TP_SAMPLE: return v->k == TV_SAMPLE;
    case TP_DURATION: return v->k == TV_DURVAL;
    }
    return false;
}

/* `has_type`: false for the untyped interface of evalArg(dot, nil, ...). */
static int validate_type(tmpl_exec *x, const tmpl_val *v, bool has_type, tmpl_ptype t,
                         tmpl_val *out)
{
    if (v->k == TV_INVALID) {
        if (!has_type) {
            *out = INVALID;
            return 0;
        }
        if (can_be_nil(t)) {
            *out = zero_of(t);
            return 0;
        }
        return xerrorf(x, "invalid value; expected %s", ptype_name(t));
    }
    if (has_type && !assignable(v, t)) {
        /* one dereference: *time.Duration where time.Duration is wanted */
        if (t == TP_DURATION && v->k == TV_DURATION) {
            *out = *v;
            out->k = TV_DURVAL;
            return 0;
        }
        return xerrorf(x, "wrong type for value; expected %s; got %s", ptype_name(t),
                       tmpl_type_name(v));
    }
    *out = *v;
    return 0;
}

/* ---- Forward declarations */

static int eval_pipeline(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *pipe, tmpl_val *out);
static int eval_arg(tmpl_exec *x, const tmpl_val *dot, bool has_type, tmpl_ptype t,
                    const tmpl_node *n, tmpl_val *out);
static int walk(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *n);

/* ---- Calls */

typedef struct method {
    const char *name;
    tmpl_kind recv; /* TV_TIME also takes methods of time.Time values */
    tmpl_func f;
} method;

static const method *find_method(const tmpl_val *recv, const char *name);

/* evalCall: `args` are the command's arguments after the function itself
 * (nargs of them); `final` the value piped in, or NULL. */
static int eval_call(tmpl_exec *x, const tmpl_val *dot, const tmpl_func *f, const tmpl_val *recv,
                     const tmpl_node *node, const char *name, tmpl_node *const *args, size_t nargs,
                     const tmpl_val *final, tmpl_val *out)
{
    size_t num_in = nargs + (final ? 1 : 0);
    size_t nfixed = (size_t)f->nfixed;
    if (f->variadic) {
        if (num_in < nfixed)
            return xerrorf(x, "wrong number of args for %s: want at least %zu got %zu", name,
                           nfixed, nargs);
    } else if (num_in != nfixed) {
        return xerrorf(x, "wrong number of args for %s: want %zu got %zu", name, nfixed, num_in);
    }
    bool builtin = tmpl_builtin(name) == f;
    if (builtin && (strcmp(name, "and") == 0 || strcmp(name, "or") == 0)) {
        bool is_or = name[0] == 'o';
        tmpl_val v = INVALID;
        for (size_t i = 0; i < nargs; i++) {
            if (eval_arg(x, dot, true, TP_ANY, args[i], &v) < 0) return X_ERR;
            if (tmpl_truth(&v) == is_or) {
                *out = v;
                return 0;
            }
        }
        if (final) v = *final;
        *out = v;
        return 0;
    }
    size_t extra = recv ? 1 : 0;
    tmpl_val *argv = core_arena_calloc(x->arena, num_in + extra + 1, sizeof *argv);
    if (recv) argv[0] = *recv;
    size_t i = 0;
    for (; i < nfixed && i < nargs; i++)
        if (eval_arg(x, dot, true, f->fixed[i], args[i], &argv[extra + i]) < 0) return X_ERR;
    if (f->variadic)
        for (; i < nargs; i++)
            if (eval_arg(x, dot, true, f->var, args[i], &argv[extra + i]) < 0) return X_ERR;
    if (final) {
        tmpl_ptype t = nfixed ? f->fixed[nfixed - 1] : f->var;
        if (f->variadic) t = num_in - 1 < nfixed ? f->fixed[num_in - 1] : f->var;
        if (validate_type(x, final, true, t, &argv[extra + i]) < 0) return X_ERR;
    }
    core_sb msg = CORE_SB_INIT;
    *out = INVALID;
    int rc = f->call(x, argv, num_in + extra, out, &msg);
    if (rc < 0) {
        at(x, node);
        xerrorf(x, "error calling %s: %s", name, msg.buf ? msg.buf : "");
        core_sb_destroy(&msg);
        return X_ERR;
    }
    core_sb_destroy(&msg);
    return 0;
}

static int not_a_function(tmpl_exec *x, size_t nargs, const tmpl_node *first, const tmpl_val *final)
{
    if (nargs > 1 || final)
        return xerrorf(x, "can't give argument to non-function %s", node_str(x, first));
    return 0;
}

/* ---- Fields */

static bool hex_int(const char *s)
{
    return strlen(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !strpbrk(s, "pP");
}

static int ideal_constant(tmpl_exec *x, const tmpl_node *n, tmpl_val *out)
{
    at(x, n);
    const char *t = n->u.number.text;
    if (n->u.number.is_float && !hex_int(t) && t[0] != '\'' && strpbrk(t, ".eEpP")) {
        *out = (tmpl_val){.k = TV_FLOAT, .u.f = n->u.number.f};
        return 0;
    }
    if (n->u.number.is_int) {
        *out = (tmpl_val){.k = TV_INT, .u.i = n->u.number.i};
        return 0;
    }
    if (n->u.number.is_uint) return xerrorf(x, "%s overflows int", t);
    *out = INVALID;
    return 0;
}

static const char DATA_TYPE[] = "struct { Labels map[string]string; ExternalLabels "
                                "map[string]string; ExternalURL string; Value interface {} }";

static int eval_field(tmpl_exec *x, const tmpl_val *dot, const char *name, const tmpl_node *node,
                      tmpl_node *const *args, size_t nargs, const tmpl_val *final,
                      const tmpl_val *recv, tmpl_val *out)
{
    if (recv->k == TV_INVALID) {
        *out = INVALID;
        return 0;
    }
    const method *m = find_method(recv, name);
    if (m) {
        tmpl_node *const *rest = nargs ? args + 1 : NULL;
        return eval_call(x, dot, &m->f, recv, node, name, rest, nargs ? nargs - 1 : 0, final, out);
    }
    bool has_args = nargs > 1 || final;
    switch (recv->k) {
    case TV_DATA: {
        const tmpl_data *d = recv->u.data;
        tmpl_val v;
        if (strcmp(name, "Labels") == 0)
            v = (tmpl_val){.k = TV_STRMAP, .u.map = d->labels};
        else if (strcmp(name, "ExternalLabels") == 0)
            v = (tmpl_val){.k = TV_STRMAP, .u.map = d->external_labels};
        else if (strcmp(name, "ExternalURL") == 0)
            v = (tmpl_val){.k = TV_STRING, .u.s = {d->external_url, strlen(d->external_url)}};
        else if (strcmp(name, "Value") == 0)
            v = (tmpl_val){.k = TV_FLOAT, .iface = true, .u.f = d->value};
        else
            break;
        if (has_args) return xerrorf(x, "%s has arguments but cannot be invoked as function", name);
        *out = v;
        return 0;
    }
    case TV_SAMPLE: {
        bool known = strcmp(name, "Labels") == 0 || strcmp(name, "Value") == 0;
        if (!known) break;
        if (!recv->u.sample) return xerrorf(x, "nil pointer evaluating *template.sample.%s", name);
        if (has_args) return xerrorf(x, "%s has arguments but cannot be invoked as function", name);
        if (name[0] == 'L')
            *out = (tmpl_val){.k = TV_STRMAP, .u.map = recv->u.sample->labels};
        else
            *out = (tmpl_val){.k = TV_FLOAT, .iface = true, .u.f = recv->u.sample->value};
        return 0;
    }
    case TV_STRMAP: {
        if (has_args) return xerrorf(x, "%s is not a method but has arguments", name);
        const char *v = recv->u.map ? core_labels_get(recv->u.map, name) : NULL;
        if (!v) v = "";
        *out = (tmpl_val){.k = TV_STRING, .u.s = {v, strlen(v)}};
        return 0;
    }
    case TV_ANYMAP: {
        if (has_args) return xerrorf(x, "%s is not a method but has arguments", name);
        *out = INVALID;
        const tmpl_anymap *am = recv->u.amap;
        for (size_t i = 0; am && i < am->n; i++)
            if (strcmp(am->keys[i], name) == 0) {
                *out = am->vals[i];
                out->iface = out->k != TV_INVALID;
            }
        return 0;
    }
    default: break;
    }
    return xerrorf(x, "can't evaluate field %s in type %s", name,
                   recv->iface          ? "interface {}"
                   : recv->k == TV_DATA ? DATA_TYPE
                                        : tmpl_type_name(recv));
}

static int eval_field_chain(tmpl_exec *x, const tmpl_val *dot, tmpl_val recv, const tmpl_node *node,
                            const char *const *ident, size_t n, tmpl_node *const *args,
                            size_t nargs, const tmpl_val *final, tmpl_val *out)
{
    for (size_t i = 0; i + 1 < n; i++) {
        tmpl_val next;
        if (eval_field(x, dot, ident[i], node, NULL, 0, NULL, &recv, &next) < 0) return X_ERR;
        recv = next;
    }
    return eval_field(x, dot, ident[n - 1], node, args, nargs, final, &recv, out);
}

static int eval_field_node(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *field,
                           tmpl_node *const *args, size_t nargs, const tmpl_val *final,
                           tmpl_val *out)
{
    at(x, field);
    return eval_field_chain(x, dot, *dot, field, field->u.field.ident, field->u.field.n, args,
                            nargs, final, out);
}

static int eval_chain_node(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *chain,
                           tmpl_node *const *args, size_t nargs, const tmpl_val *final,
                           tmpl_val *out)
{
    at(x, chain);
    if (chain->u.chain.node->kind == TN_NIL)
        return xerrorf(x, "indirection through explicit nil in %s", node_str(x, chain));
    tmpl_val pipe;
    if (eval_arg(x, dot, false, TP_ANY, chain->u.chain.node, &pipe) < 0) return X_ERR;
    return eval_field_chain(x, dot, pipe, chain, chain->u.chain.field, chain->u.chain.n, args,
                            nargs, final, out);
}

static int eval_variable_node(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *v,
                              tmpl_node *const *args, size_t nargs, const tmpl_val *final,
                              tmpl_val *out)
{
    at(x, v);
    tmpl_val value;
    if (var_value(x, v->u.field.ident[0], &value) < 0) return X_ERR;
    if (v->u.field.n == 1) {
        if (args && not_a_function(x, nargs, args[0], final) < 0) return X_ERR;
        *out = value;
        return 0;
    }
    return eval_field_chain(x, dot, value, v, v->u.field.ident + 1, v->u.field.n - 1, args, nargs,
                            final, out);
}

static int eval_function(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *ident,
                         const tmpl_node *cmd, tmpl_node *const *args, size_t nargs,
                         const tmpl_val *final, tmpl_val *out)
{
    at(x, ident);
    const char *name = ident->u.ident.name;
    const tmpl_func *f = tmpl_prom_func(name);
    if (!f || (f->html_only && !x->set->html)) f = tmpl_builtin(name);
    if (!f) return xerrorf(x, "\"%s\" is not a defined function", name);
    tmpl_node *const *rest = nargs ? args + 1 : NULL;
    return eval_call(x, dot, f, NULL, cmd, name, rest, nargs ? nargs - 1 : 0, final, out);
}

/* ---- Arguments */

static int eval_empty_interface(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *n,
                                tmpl_val *out)
{
    at(x, n);
    switch (n->kind) {
    case TN_BOOL: *out = (tmpl_val){.k = TV_BOOL, .u.b = n->u.boolean}; return 0;
    case TN_NUMBER: return ideal_constant(x, n, out);
    case TN_STRING:
        *out = (tmpl_val){.k = TV_STRING, .u.s = {n->u.string.s, n->u.string.n}};
        return 0;
    default: (void)dot; break;
    }
    return xerrorf(x, "can't handle assignment of %s to empty interface argument", node_str(x, n));
}

static int eval_arg(tmpl_exec *x, const tmpl_val *dot, bool has_type, tmpl_ptype t,
                    const tmpl_node *n, tmpl_val *out)
{
    at(x, n);
    tmpl_val v;
    switch (n->kind) {
    case TN_DOT: return validate_type(x, dot, has_type, t, out);
    case TN_NIL:
        if (!has_type || can_be_nil(t)) {
            *out = has_type ? zero_of(t) : INVALID;
            return 0;
        }
        return xerrorf(x, "cannot assign nil to %s", ptype_name(t));
    case TN_FIELD: {
        tmpl_node *self[1] = {(tmpl_node *)n};
        if (eval_field_node(x, dot, n, self, 1, NULL, &v) < 0) return X_ERR;
        return validate_type(x, &v, has_type, t, out);
    }
    case TN_VARIABLE:
        if (eval_variable_node(x, dot, n, NULL, 0, NULL, &v) < 0) return X_ERR;
        return validate_type(x, &v, has_type, t, out);
    case TN_PIPE:
        if (eval_pipeline(x, dot, n, &v) < 0) return X_ERR;
        return validate_type(x, &v, has_type, t, out);
    case TN_IDENT:
        if (eval_function(x, dot, n, n, NULL, 0, NULL, &v) < 0) return X_ERR;
        return validate_type(x, &v, has_type, t, out);
    case TN_CHAIN:
        if (eval_chain_node(x, dot, n, NULL, 0, NULL, &v) < 0) return X_ERR;
        return validate_type(x, &v, has_type, t, out);
    default: break;
    }
    if (!has_type) return eval_empty_interface(x, dot, n, out);
    switch (t) {
    case TP_BOOL:
        if (n->kind == TN_BOOL) {
            *out = (tmpl_val){.k = TV_BOOL, .u.b = n->u.boolean};
            return 0;
        }
        return xerrorf(x, "expected bool; found %s", node_str(x, n));
    case TP_STRING:
        if (n->kind == TN_STRING) {
            *out = (tmpl_val){.k = TV_STRING, .u.s = {n->u.string.s, n->u.string.n}};
            return 0;
        }
        return xerrorf(x, "expected string; found %s", node_str(x, n));
    case TP_INT:
        if (n->kind == TN_NUMBER && n->u.number.is_int) {
            *out = (tmpl_val){.k = TV_INT, .u.i = n->u.number.i};
            return 0;
        }
        return xerrorf(x, "expected integer; found %s", node_str(x, n));
    case TP_FLOAT:
        if (n->kind == TN_NUMBER && n->u.number.is_float) {
            *out = (tmpl_val){.k = TV_FLOAT, .u.f = n->u.number.f};
            return 0;
        }
        return xerrorf(x, "expected float; found %s", node_str(x, n));
    case TP_DURATION:
        if (n->kind == TN_NUMBER && n->u.number.is_int) {
            *out = (tmpl_val){.k = TV_DURVAL, .u.i = n->u.number.i};
            return 0;
        }
        return xerrorf(x, "expected integer; found %s", node_str(x, n));
    case TP_ANY: return eval_empty_interface(x, dot, n, out);
    default: break;
    }
    return xerrorf(x, "can't handle %s for arg of type %s", node_str(x, n), ptype_name(t));
}

/* ---- Commands and pipelines */

static int eval_command(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *cmd,
                        const tmpl_val *final, tmpl_val *out)
{
    tmpl_node *const *args = cmd->u.cmd.args;
    size_t nargs = cmd->u.cmd.n;
    const tmpl_node *first = args[0];
    switch (first->kind) {
    case TN_FIELD: return eval_field_node(x, dot, first, args, nargs, final, out);
    case TN_CHAIN: return eval_chain_node(x, dot, first, args, nargs, final, out);
    case TN_IDENT: return eval_function(x, dot, first, cmd, args, nargs, final, out);
    case TN_PIPE:
        if (not_a_function(x, nargs, first, final) < 0) return X_ERR;
        return eval_pipeline(x, dot, first, out);
    case TN_VARIABLE: return eval_variable_node(x, dot, first, args, nargs, final, out);
    default: break;
    }
    at(x, first);
    if (not_a_function(x, nargs, first, final) < 0) return X_ERR;
    switch (first->kind) {
    case TN_BOOL: *out = (tmpl_val){.k = TV_BOOL, .u.b = first->u.boolean}; return 0;
    case TN_DOT: *out = *dot; return 0;
    case TN_NIL: return xerrorf(x, "nil is not a command");
    case TN_NUMBER: return ideal_constant(x, first, out);
    case TN_STRING:
        *out = (tmpl_val){.k = TV_STRING, .u.s = {first->u.string.s, first->u.string.n}};
        return 0;
    default: break;
    }
    return xerrorf(x, "can't evaluate command \"%s\"", node_str(x, first));
}

static int eval_pipeline(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *pipe, tmpl_val *out)
{
    *out = INVALID;
    if (!pipe) return 0;
    at(x, pipe);
    tmpl_val value = INVALID;
    bool have = false;
    for (size_t i = 0; i < pipe->u.pipe.ncmds; i++) {
        tmpl_val next;
        if (eval_command(x, dot, pipe->u.pipe.cmds[i], have ? &value : NULL, &next) < 0)
            return X_ERR;
        value = next;
        have = true;
    }
    value.iface = false; /* a pipeline's value is the dynamic one */
    for (size_t i = 0; i < pipe->u.pipe.ndecl; i++) {
        const char *name = pipe->u.pipe.decl[i]->u.field.ident[0];
        if (pipe->u.pipe.is_assign) {
            if (set_var(x, name, &value) < 0) return X_ERR;
        } else {
            push_var(x, name, &value);
        }
    }
    *out = value;
    return 0;
}

/* ---- Walking */

static void print_value(tmpl_exec *x, const tmpl_node *n, const tmpl_val *v)
{
    at(x, n);
    if (x->set->html && v->k != TV_HTML) {
        core_sb tmp = CORE_SB_INIT;
        tmpl_print_value(v, &tmp);
        tmpl_html_text_escape(tmp.buf ? tmp.buf : "", tmp.len, x->out);
        core_sb_destroy(&tmp);
        return;
    }
    tmpl_print_value(v, x->out);
}

static int walk_if_with(tmpl_exec *x, bool with, const tmpl_val *dot, const tmpl_node *n)
{
    size_t mark = x->nvars;
    tmpl_val val;
    int rc;
    if (eval_pipeline(x, dot, n->u.ctrl.pipe, &val) < 0) return X_ERR;
    if (tmpl_truth(&val))
        rc = walk(x, with ? &val : dot, n->u.ctrl.list);
    else if (n->u.ctrl.else_list)
        rc = walk(x, dot, n->u.ctrl.else_list);
    else
        rc = X_OK;
    x->nvars = mark;
    return rc;
}

static int one_iteration(tmpl_exec *x, const tmpl_node *r, size_t mark, const tmpl_val *index,
                         const tmpl_val *elem)
{
    const tmpl_node *pipe = r->u.ctrl.pipe;
    size_t nd = pipe->u.pipe.ndecl;
    if (nd > 0) {
        if (pipe->u.pipe.is_assign) {
            if (set_var(x, pipe->u.pipe.decl[0]->u.field.ident[0], nd > 1 ? index : elem) < 0)
                return X_ERR;
        } else {
            x->vars[x->nvars - 1].v = *elem;
        }
    }
    if (nd > 1) {
        if (pipe->u.pipe.is_assign) {
            if (set_var(x, pipe->u.pipe.decl[1]->u.field.ident[0], elem) < 0) return X_ERR;
        } else {
            x->vars[x->nvars - 2].v = *index;
        }
    }
    int rc = walk(x, elem, r->u.ctrl.list);
    x->nvars = mark;
    return rc;
}

static int walk_range(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *r)
{
    at(x, r);
    size_t outer = x->nvars;
    tmpl_val val;
    if (eval_pipeline(x, dot, r->u.ctrl.pipe, &val) < 0) return X_ERR;
    size_t mark = x->nvars;
    int rc = X_OK;
    bool ran = false;
    switch (val.k) {
    case TV_RESULT:
        for (size_t i = 0; i < val.u.res.n; i++) {
            ran = true;
            tmpl_val idx = {.k = TV_INT, .u.i = (int64_t)i};
            tmpl_val e = {.k = TV_SAMPLE, .u.sample = val.u.res.v[i]};
            rc = one_iteration(x, r, mark, &idx, &e);
            if (rc == X_ERR || rc == X_BREAK) break;
        }
        break;
    case TV_LIST:
        for (size_t i = 0; i < val.u.list.n; i++) {
            ran = true;
            tmpl_val idx = {.k = TV_INT, .u.i = (int64_t)i};
            rc = one_iteration(x, r, mark, &idx, &val.u.list.v[i]);
            if (rc == X_ERR || rc == X_BREAK) break;
        }
        break;
    case TV_STRMAP:
        for (size_t i = 0; val.u.map && i < val.u.map->len; i++) {
            ran = true;
            const core_label *l = &val.u.map->v[i];
            tmpl_val k = {.k = TV_STRING, .u.s = {l->name, strlen(l->name)}};
            tmpl_val e = {.k = TV_STRING, .u.s = {l->value, strlen(l->value)}};
            rc = one_iteration(x, r, mark, &k, &e);
            if (rc == X_ERR || rc == X_BREAK) break;
        }
        break;
    case TV_ANYMAP:
        for (size_t i = 0; val.u.amap && i < val.u.amap->n; i++) {
            ran = true;
            const char *key = val.u.amap->keys[i];
            tmpl_val k = {.k = TV_STRING, .u.s = {key, strlen(key)}};
            rc = one_iteration(x, r, mark, &k, &val.u.amap->vals[i]);
            if (rc == X_ERR || rc == X_BREAK) break;
        }
        break;
    case TV_INT:
    case TV_INT64:
        if (r->u.ctrl.pipe->u.pipe.ndecl > 1) {
            x->nvars = outer;
            return xerrorf(x, "can't use %s to iterate over more than one variable",
                           val_str(x, &val));
        }
        for (int64_t i = 0; i < val.u.i; i++) {
            ran = true;
            tmpl_val e = {.k = val.k, .u.i = i};
            rc = one_iteration(x, r, mark, &e, &e);
            if (rc == X_ERR || rc == X_BREAK) break;
        }
        break;
    case TV_INVALID: break;
    default: x->nvars = outer; return xerrorf(x, "range can't iterate over %s", val_str(x, &val));
    }
    if (rc == X_ERR) return X_ERR;
    rc = X_OK;
    if (!ran && r->u.ctrl.else_list) rc = walk(x, dot, r->u.ctrl.else_list);
    x->nvars = outer;
    return rc;
}

static int walk_template(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *t)
{
    at(x, t);
    const tmpl_tree *tree = tmpl_lookup(x->set, t->u.tmpl.name);
    if (!tree) return xerrorf(x, "template \"%s\" not defined", t->u.tmpl.name);
    if (x->depth == MAX_DEPTH) return xerrorf(x, "exceeded maximum template depth (%d)", MAX_DEPTH);
    tmpl_val newdot;
    if (eval_pipeline(x, dot, t->u.tmpl.pipe, &newdot) < 0) return X_ERR;
    var *saved = x->vars;
    size_t saved_n = x->nvars, saved_cap = x->capvars;
    const tmpl_tree *saved_tmpl = x->tmpl;
    x->vars = NULL;
    x->nvars = x->capvars = 0;
    push_var(x, "$", &newdot);
    x->tmpl = tree;
    x->depth++;
    int rc = walk(x, &newdot, tree->root);
    x->depth--;
    x->tmpl = saved_tmpl;
    x->vars = saved;
    x->nvars = saved_n;
    x->capvars = saved_cap;
    return rc == X_ERR ? X_ERR : X_OK;
}

static int walk(tmpl_exec *x, const tmpl_val *dot, const tmpl_node *n)
{
    at(x, n);
    switch (n->kind) {
    case TN_ACTION: {
        tmpl_val v;
        if (eval_pipeline(x, dot, n->u.action.pipe, &v) < 0) return X_ERR;
        if (n->u.action.pipe->u.pipe.ndecl == 0) print_value(x, n, &v);
        return X_OK;
    }
    case TN_BREAK: return X_BREAK;
    case TN_CONTINUE: return X_CONTINUE;
    case TN_IF: return walk_if_with(x, false, dot, n);
    case TN_WITH: return walk_if_with(x, true, dot, n);
    case TN_LIST:
        for (size_t i = 0; i < n->u.list.n; i++) {
            int rc = walk(x, dot, n->u.list.v[i]);
            if (rc != X_OK) return rc;
        }
        return X_OK;
    case TN_RANGE: return walk_range(x, dot, n);
    case TN_TEMPLATE: return walk_template(x, dot, n);
    case TN_TEXT: core_sb_add(x->out, n->u.text.s, n->u.text.n); return X_OK;
    default: return xerrorf(x, "unknown node: %s", node_str(x, n));
    }
}

int tmpl_execute(const tmpl_set *set, const tmpl_val *dot, const rules_tmpl_opts *o,
                 core_arena *arena, core_sb *out, core_err *err)
{
    tmpl_exec x = {.set = set, .arena = arena, .out = out, .opts = o, .err = err};
    x.tmpl = set->trees[0];
    push_var(&x, "$", dot);
    int rc = walk(&x, dot, x.tmpl->root);
    return rc == X_ERR ? -1 : 0;
}

int tmpl_exec_named(tmpl_exec *x, const char *name, const tmpl_val *dot, core_sb *out, core_sb *msg)
{
    const tmpl_tree *tree = tmpl_lookup(x->set, name);
    if (!tree) {
        core_sb_addf(msg, "html/template: \"%s\" is undefined", name);
        return -1;
    }
    tmpl_exec sub = {.set = x->set, .arena = x->arena, .out = out, .opts = x->opts};
    core_err e = {{0}};
    sub.err = &e;
    sub.tmpl = tree;
    sub.depth = x->depth + 1;
    if (sub.depth >= MAX_DEPTH) {
        core_sb_addf(msg, "exceeded maximum template depth (%d)", MAX_DEPTH);
        return -1;
    }
    push_var(&sub, "$", dot);
    if (walk(&sub, dot, tree->root) == X_ERR) {
        core_sb_adds(msg, e.msg);
        return -1;
    }
    return 0;
}

/* ---- Truth */

bool tmpl_truth(const tmpl_val *v)
{
    switch (v->k) {
    case TV_INVALID: return false;
    case TV_BOOL: return v->u.b;
    case TV_INT:
    case TV_INT64:
    case TV_DURVAL: return v->u.i != 0;
    case TV_UINT64: return v->u.u != 0;
    case TV_FLOAT: return v->u.f != 0;
    case TV_STRING:
    case TV_HTML: return v->u.s.n > 0;
    case TV_STRMAP: return v->u.map && v->u.map->len > 0;
    case TV_ANYMAP: return v->u.amap && v->u.amap->n > 0;
    case TV_DATA: return true;
    case TV_SAMPLE: return v->u.sample != NULL;
    case TV_RESULT: return v->u.res.n > 0;
    case TV_TIME:
    case TV_DURATION: return true;
    case TV_LIST: return v->u.list.n > 0;
    }
    return false;
}

/* ---- Builtins */

static int f_and_or(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)msg;
    *out = n ? a[n - 1] : INVALID;
    return 0;
}

static int f_not(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_BOOL, .u.b = !tmpl_truth(&a[0])};
    return 0;
}

static int f_len(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n;
    int64_t len;
    switch (a[0].k) {
    case TV_STRING:
    case TV_HTML: len = (int64_t)a[0].u.s.n; break;
    case TV_STRMAP: len = a[0].u.map ? (int64_t)a[0].u.map->len : 0; break;
    case TV_ANYMAP: len = a[0].u.amap ? (int64_t)a[0].u.amap->n : 0; break;
    case TV_RESULT: len = (int64_t)a[0].u.res.n; break;
    case TV_LIST: len = (int64_t)a[0].u.list.n; break;
    case TV_INVALID: core_sb_adds(msg, "len of untyped nil"); return -1;
    case TV_SAMPLE:
        if (!a[0].u.sample) {
            core_sb_adds(msg, "len of nil pointer");
            return -1;
        }
        core_sb_adds(msg, "len of type template.sample");
        return -1;
    case TV_TIME: core_sb_adds(msg, "len of type time.Time"); return -1;
    case TV_DURATION: core_sb_adds(msg, "len of type time.Duration"); return -1;
    default: core_sb_addf(msg, "len of type %s", tmpl_type_name(&a[0])); return -1;
    }
    *out = (tmpl_val){.k = TV_INT, .u.i = len};
    return 0;
}

static bool int_index(const tmpl_val *v, int64_t *i)
{
    switch (v->k) {
    case TV_INT:
    case TV_INT64: *i = v->u.i; return true;
    case TV_UINT64: *i = (int64_t)v->u.u; return true;
    default: return false;
    }
}

static int f_index(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    tmpl_val item = a[0];
    if (item.k == TV_INVALID) {
        core_sb_adds(msg, "index of untyped nil");
        return -1;
    }
    for (size_t k = 1; k < n; k++) {
        const tmpl_val *ix = &a[k];
        int64_t i;
        switch (item.k) {
        case TV_STRING:
        case TV_HTML:
        case TV_RESULT:
        case TV_LIST: {
            if (!int_index(ix, &i)) {
                core_sb_addf(msg, "cannot index slice/array with type %s", tmpl_type_name(ix));
                return -1;
            }
            size_t len = item.k == TV_RESULT ? item.u.res.n
                         : item.k == TV_LIST ? item.u.list.n
                                             : item.u.s.n;
            if (i < 0 || (uint64_t)i >= len) {
                core_sb_addf(msg, "index out of range: %lld", (long long)i);
                return -1;
            }
            if (item.k == TV_RESULT)
                item = (tmpl_val){.k = TV_SAMPLE, .u.sample = item.u.res.v[i]};
            else if (item.k == TV_LIST)
                item = item.u.list.v[i];
            else
                item = (tmpl_val){.k = TV_INT, .u.i = (unsigned char)item.u.s.p[i]};
            break;
        }
        case TV_STRMAP:
        case TV_ANYMAP: {
            if (ix->k != TV_STRING && ix->k != TV_INVALID) {
                core_sb_addf(msg, "value has type %s; should be string", tmpl_type_name(ix));
                return -1;
            }
            char *key = core_arena_strndup(x->arena, ix->k == TV_STRING ? ix->u.s.p : "",
                                           ix->k == TV_STRING ? ix->u.s.n : 0);
            if (item.k == TV_STRMAP) {
                const char *v = item.u.map ? core_labels_get(item.u.map, key) : NULL;
                if (!v) v = "";
                item = (tmpl_val){.k = TV_STRING, .u.s = {v, strlen(v)}};
            } else {
                const tmpl_anymap *am = item.u.amap;
                item = INVALID;
                for (size_t j = 0; am && j < am->n; j++)
                    if (strcmp(am->keys[j], key) == 0) item = am->vals[j];
            }
            break;
        }
        case TV_SAMPLE:
            if (!item.u.sample) {
                core_sb_adds(msg, "index of nil pointer");
                return -1;
            }
            core_sb_adds(msg, "can't index item of type template.sample");
            return -1;
        case TV_INVALID: core_sb_adds(msg, "index of untyped nil"); return -1;
        default: core_sb_addf(msg, "can't index item of type %s", tmpl_type_name(&item)); return -1;
        }
    }
    *out = item;
    return 0;
}

static int f_print(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    core_sb sb = CORE_SB_INIT;
    tmpl_sprint(a, n, false, &sb);
    *out = (tmpl_val){.k = TV_STRING,
                      .u.s = {core_arena_strndup(x->arena, sb.buf ? sb.buf : "", sb.len), sb.len}};
    core_sb_destroy(&sb);
    return 0;
}

static int f_println(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    core_sb sb = CORE_SB_INIT;
    tmpl_sprint(a, n, true, &sb);
    *out = (tmpl_val){.k = TV_STRING,
                      .u.s = {core_arena_strndup(x->arena, sb.buf ? sb.buf : "", sb.len), sb.len}};
    core_sb_destroy(&sb);
    return 0;
}

static int f_printf(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    core_sb sb = CORE_SB_INIT;
    tmpl_sprintf(a[0].u.s.p, a[0].u.s.n, a + 1, n - 1, &sb);
    *out = (tmpl_val){.k = TV_STRING,
                      .u.s = {core_arena_strndup(x->arena, sb.buf ? sb.buf : "", sb.len), sb.len}};
    core_sb_destroy(&sb);
    return 0;
}

/* text/template's evalArgs: the one string as is, else fmt.Sprint of the
 * values with pointers followed. */
static void eval_args(const tmpl_val *a, size_t n, core_sb *out)
{
    if (n == 1 && a[0].k == TV_STRING) {
        core_sb_add(out, a[0].u.s.p, a[0].u.s.n);
        return;
    }
    /* Sprint with printableValue: a sample prints as its struct. */
    for (size_t i = 0; i < n; i++) {
        bool str_prev = i > 0 && (a[i - 1].k == TV_STRING || a[i - 1].k == TV_HTML);
        bool str_cur = a[i].k == TV_STRING || a[i].k == TV_HTML;
        if (i > 0 && !str_prev && !str_cur) core_sb_addc(out, ' ');
        if (a[i].k == TV_INVALID)
            core_sb_adds(out, "<nil>");
        else
            tmpl_print_value(&a[i], out);
    }
}

static int escaper(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out,
                   void (*esc)(const char *, size_t, core_sb *))
{
    core_sb in = CORE_SB_INIT, sb = CORE_SB_INIT;
    eval_args(a, n, &in);
    esc(in.buf ? in.buf : "", in.len, &sb);
    *out = (tmpl_val){.k = TV_STRING,
                      .u.s = {core_arena_strndup(x->arena, sb.buf ? sb.buf : "", sb.len), sb.len}};
    core_sb_destroy(&in);
    core_sb_destroy(&sb);
    return 0;
}

static int f_html(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    return escaper(x, a, n, out, tmpl_html_escape);
}

static int f_js(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    return escaper(x, a, n, out, tmpl_js_escape);
}

static int f_urlquery(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)msg;
    return escaper(x, a, n, out, tmpl_query_escape);
}

/* Comparison kinds, as Go's basicKind. */
enum { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING, K_UINT };

static int basic_kind(const tmpl_val *v)
{
    switch (v->k) {
    case TV_BOOL: return K_BOOL;
    case TV_INT:
    case TV_INT64:
    case TV_DURVAL: return K_INT;
    case TV_UINT64: return K_UINT;
    case TV_FLOAT: return K_FLOAT;
    case TV_STRING:
    case TV_HTML: return K_STRING;
    default: return K_INVALID;
    }
}

static int str_cmp(const tmpl_val *a, const tmpl_val *b)
{
    size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
    int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
    if (c) return c;
    return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n ? 1 : 0;
}

static bool is_nil(const tmpl_val *v)
{
    return v->k == TV_INVALID || (v->k == TV_SAMPLE && !v->u.sample) ||
           (v->k == TV_STRMAP && !v->u.map) || (v->k == TV_RESULT && !v->u.res.v);
}

/* eq(a, b): 0/1, or -1 with the message. */
static int eq2(tmpl_exec *x, const tmpl_val *a, const tmpl_val *b, core_sb *msg)
{
    int k1 = basic_kind(a), k2 = basic_kind(b);
    if (k1 != k2) {
        if (k1 == K_INT && k2 == K_UINT) return a->u.i >= 0 && (uint64_t)a->u.i == b->u.u;
        if (k1 == K_UINT && k2 == K_INT) return b->u.i >= 0 && a->u.u == (uint64_t)b->u.i;
        if (a->k != TV_INVALID && b->k != TV_INVALID) {
            core_sb_adds(msg, "incompatible types for comparison");
            return -1;
        }
        return is_nil(a) == is_nil(b);
    }
    switch (k1) {
    case K_BOOL: return a->u.b == b->u.b;
    case K_INT: return a->u.i == b->u.i;
    case K_UINT: return a->u.u == b->u.u;
    case K_FLOAT: return a->u.f == b->u.f;
    case K_STRING: return str_cmp(a, b) == 0;
    default: break;
    }
    if (is_nil(a) || is_nil(b)) return is_nil(a) == is_nil(b);
    if (a->k == TV_SAMPLE && b->k == TV_SAMPLE) return a->u.sample == b->u.sample;
    if (a->k == TV_TIME && b->k == TV_TIME) return a->u.ns == b->u.ns;
    if (a->k == TV_DURATION && b->k == TV_DURATION) return a->u.ns == b->u.ns;
    if (a->k != b->k) {
        core_sb_addf(msg, "non-comparable types %s: %s, %s: %s", val_str(x, a), tmpl_type_name(a),
                     tmpl_type_name(b), val_str(x, b));
        return -1;
    }
    core_sb_addf(msg, "non-comparable type %s: %s", val_str(x, b), tmpl_type_name(b));
    return -1;
}

static int f_eq(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    if (n < 2) {
        core_sb_adds(msg, "missing argument for comparison");
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        int r = eq2(x, &a[0], &a[i], msg);
        if (r < 0) return -1;
        if (r) {
            *out = (tmpl_val){.k = TV_BOOL, .u.b = true};
            return 0;
        }
    }
    *out = (tmpl_val){.k = TV_BOOL, .u.b = false};
    return 0;
}

static int f_ne(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    int r = eq2(x, &a[0], &a[1], msg);
    if (r < 0) return -1;
    *out = (tmpl_val){.k = TV_BOOL, .u.b = !r};
    return 0;
}

static int lt2(const tmpl_val *a, const tmpl_val *b, core_sb *msg)
{
    int k1 = basic_kind(a), k2 = basic_kind(b);
    if (k1 == K_INVALID || k2 == K_INVALID) {
        core_sb_adds(msg, "invalid type for comparison");
        return -1;
    }
    if (k1 != k2) {
        if (k1 == K_INT && k2 == K_UINT) return a->u.i < 0 || (uint64_t)a->u.i < b->u.u;
        if (k1 == K_UINT && k2 == K_INT) return b->u.i >= 0 && a->u.u < (uint64_t)b->u.i;
        core_sb_adds(msg, "incompatible types for comparison");
        return -1;
    }
    switch (k1) {
    case K_BOOL: core_sb_adds(msg, "invalid type for comparison"); return -1;
    case K_INT: return a->u.i < b->u.i;
    case K_UINT: return a->u.u < b->u.u;
    case K_FLOAT: return a->u.f < b->u.f;
    default: return str_cmp(a, b) < 0;
    }
}

static int f_cmp(tmpl_exec *x, const tmpl_val *a, tmpl_val *out, core_sb *msg, char op)
{
    int lt = lt2(&a[0], &a[1], msg);
    if (lt < 0) return -1;
    bool r;
    if (op == '<') {
        r = lt;
    } else if (op == 'G') {
        r = !lt;
    } else {
        int le = lt;
        if (!lt) {
            le = eq2(x, &a[0], &a[1], msg);
            if (le < 0) return -1;
        }
        r = op == 'L' ? le : !le;
    }
    *out = (tmpl_val){.k = TV_BOOL, .u.b = r};
    return 0;
}

static int f_lt(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    return f_cmp(x, a, out, msg, '<');
}

static int f_le(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    return f_cmp(x, a, out, msg, 'L');
}

static int f_gt(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    return f_cmp(x, a, out, msg, '>');
}

static int f_ge(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n;
    return f_cmp(x, a, out, msg, 'G');
}

static const tmpl_func BUILTINS[] = {
    {"and", 1, {TP_ANY}, true, TP_ANY, f_and_or, false},
    {"eq", 1, {TP_ANY}, true, TP_ANY, f_eq, false},
    {"ge", 2, {TP_ANY, TP_ANY}, false, TP_ANY, f_ge, false},
    {"gt", 2, {TP_ANY, TP_ANY}, false, TP_ANY, f_gt, false},
    {"html", 0, {TP_ANY}, true, TP_ANY, f_html, false},
    {"index", 1, {TP_ANY}, true, TP_ANY, f_index, false},
    {"js", 0, {TP_ANY}, true, TP_ANY, f_js, false},
    {"le", 2, {TP_ANY, TP_ANY}, false, TP_ANY, f_le, false},
    {"len", 1, {TP_ANY}, false, TP_ANY, f_len, false},
    {"lt", 2, {TP_ANY, TP_ANY}, false, TP_ANY, f_lt, false},
    {"ne", 2, {TP_ANY, TP_ANY}, false, TP_ANY, f_ne, false},
    {"not", 1, {TP_ANY}, false, TP_ANY, f_not, false},
    {"or", 1, {TP_ANY}, true, TP_ANY, f_and_or, false},
    {"print", 0, {TP_ANY}, true, TP_ANY, f_print, false},
    {"printf", 1, {TP_STRING}, true, TP_ANY, f_printf, false},
    {"println", 0, {TP_ANY}, true, TP_ANY, f_println, false},
    {"urlquery", 0, {TP_ANY}, true, TP_ANY, f_urlquery, false},
};

const tmpl_func *tmpl_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
        if (strcmp(BUILTINS[i].name, name) == 0) return &BUILTINS[i];
    return NULL;
}

bool tmpl_func_exists(const char *name, bool html)
{
    const tmpl_func *f = tmpl_prom_func(name);
    if (f && (!f->html_only || html)) return true;
    return tmpl_builtin(name) != NULL;
}

/* ---- Methods of times and durations */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static tmpl_val str_val(tmpl_exec *x, core_sb *sb)
{
    tmpl_val v = {.k = TV_STRING};
    v.u.s.p = core_arena_strndup(x->arena, sb->buf ? sb->buf : "", sb->len);
    v.u.s.n = sb->len;
    core_sb_destroy(sb);
    return v;
}

static int m_format(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    core_sb sb = CORE_SB_INIT;
    tmpl_time_format(a[0].u.ns, a[1].u.s.p, a[1].u.s.n, &sb);
    *out = str_val(x, &sb);
    return 0;
}

static int m_time_string(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)n, (void)msg;
    core_sb sb = CORE_SB_INIT;
    if (a[0].k == TV_TIME)
        tmpl_time_string(a[0].u.ns, &sb);
    else
        core_sb_add_go_duration(&sb, a[0].k == TV_DURVAL ? a[0].u.i : a[0].u.ns);
    *out = str_val(x, &sb);
    return 0;
}

static int m_unix(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_INT64, .u.i = floor_div(a[0].u.ns, 1000000000)};
    return 0;
}

static int m_unix_milli(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_INT64, .u.i = floor_div(a[0].u.ns, 1000000)};
    return 0;
}

static int m_unix_nano(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_INT64, .u.i = a[0].u.ns};
    return 0;
}

static int m_utc(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = a[0];
    return 0;
}

static int m_add(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_TIME, .u.ns = a[0].u.ns + a[1].u.i};
    return 0;
}

static int m_part(const tmpl_val *a, tmpl_val *out, char which)
{
    int64_t ns = a[0].u.ns;
    int64_t secs = floor_div(ns, 1000000000);
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    int64_t v = 0;
    switch (which) {
    case 'Y': v = y; break;
    case 'D': v = d; break;
    case 'M': v = m; break;
    case 'h': v = sod / 3600; break;
    case 'm': v = sod / 60 % 60; break;
    case 's': v = sod % 60; break;
    case 'n': v = ns - secs * 1000000000; break;
    }
    *out = (tmpl_val){.k = TV_INT, .u.i = v};
    return 0;
}

#define PART(fn, c)                                                                       \
    static int fn(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg) \
    {                                                                                     \
        (void)x, (void)n, (void)msg;                                                      \
        return m_part(a, out, c);                                                         \
    }
PART(m_year, 'Y')
PART(m_day, 'D')
PART(m_hour, 'h')
PART(m_minute, 'm')
PART(m_second, 's')
PART(m_nanosecond, 'n')

static int64_t dur_ns(const tmpl_val *v)
{
    return v->k == TV_DURVAL ? v->u.i : v->u.ns;
}

static int m_seconds(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    int64_t d = dur_ns(&a[0]);
    int64_t sec = d / 1000000000, nsec = d % 1000000000;
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = (double)sec + (double)nsec / 1e9};
    return 0;
}

static int m_minutes(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    int64_t d = dur_ns(&a[0]);
    int64_t min = d / 60000000000LL, nsec = d % 60000000000LL;
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = (double)min + (double)nsec / 60e9};
    return 0;
}

static int m_hours(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    int64_t d = dur_ns(&a[0]);
    int64_t h = d / 3600000000000LL, nsec = d % 3600000000000LL;
    *out = (tmpl_val){.k = TV_FLOAT, .u.f = (double)h + (double)nsec / 3600e9};
    return 0;
}

static int m_milliseconds(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_INT64, .u.i = dur_ns(&a[0]) / 1000000};
    return 0;
}

static int m_nanoseconds(tmpl_exec *x, const tmpl_val *a, size_t n, tmpl_val *out, core_sb *msg)
{
    (void)x, (void)n, (void)msg;
    *out = (tmpl_val){.k = TV_INT64, .u.i = dur_ns(&a[0])};
    return 0;
}

static const method METHODS[] = {
    {"Format", TV_TIME, {"Format", 1, {TP_STRING}, false, TP_ANY, m_format, false}},
    {"String", TV_TIME, {"String", 0, {TP_ANY}, false, TP_ANY, m_time_string, false}},
    {"Unix", TV_TIME, {"Unix", 0, {TP_ANY}, false, TP_ANY, m_unix, false}},
    {"UnixMilli", TV_TIME, {"UnixMilli", 0, {TP_ANY}, false, TP_ANY, m_unix_milli, false}},
    {"UnixNano", TV_TIME, {"UnixNano", 0, {TP_ANY}, false, TP_ANY, m_unix_nano, false}},
    {"UTC", TV_TIME, {"UTC", 0, {TP_ANY}, false, TP_ANY, m_utc, false}},
    {"Add", TV_TIME, {"Add", 1, {TP_DURATION}, false, TP_ANY, m_add, false}},
    {"Year", TV_TIME, {"Year", 0, {TP_ANY}, false, TP_ANY, m_year, false}},
    {"Day", TV_TIME, {"Day", 0, {TP_ANY}, false, TP_ANY, m_day, false}},
    {"Hour", TV_TIME, {"Hour", 0, {TP_ANY}, false, TP_ANY, m_hour, false}},
    {"Minute", TV_TIME, {"Minute", 0, {TP_ANY}, false, TP_ANY, m_minute, false}},
    {"Second", TV_TIME, {"Second", 0, {TP_ANY}, false, TP_ANY, m_second, false}},
    {"Nanosecond", TV_TIME, {"Nanosecond", 0, {TP_ANY}, false, TP_ANY, m_nanosecond, false}},
    {"String", TV_DURATION, {"String", 0, {TP_ANY}, false, TP_ANY, m_time_string, false}},
    {"Seconds", TV_DURATION, {"Seconds", 0, {TP_ANY}, false, TP_ANY, m_seconds, false}},
    {"Minutes", TV_DURATION, {"Minutes", 0, {TP_ANY}, false, TP_ANY, m_minutes, false}},
    {"Hours", TV_DURATION, {"Hours", 0, {TP_ANY}, false, TP_ANY, m_hours, false}},
    {"Milliseconds",
     TV_DURATION,
     {"Milliseconds", 0, {TP_ANY}, false, TP_ANY, m_milliseconds, false}},
    {"Nanoseconds", TV_DURATION, {"Nanoseconds", 0, {TP_ANY}, false, TP_ANY, m_nanoseconds, false}},
};

static const method *find_method(const tmpl_val *recv, const char *name)
{
    tmpl_kind k = recv->k == TV_DURVAL ? TV_DURATION : recv->k;
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (METHODS[i].recv == k && strcmp(METHODS[i].name, name) == 0) return &METHODS[i];
    return NULL;
}
