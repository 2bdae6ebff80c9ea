/*
 * fuzz_model.c - libFuzzer target for server/model: every parser over the
 * input, every accessor on every entry.
 *
 * The input is parsed as text, OpenMetrics and protobuf in turn, from an
 * exactly sized copy, so that AddressSanitizer catches a read past the end
 * (the parsers promise never to need a NUL after the buffer).  Besides "no
 * crash, no leak, no undefined behaviour", it checks what must hold for any
 * input: the parse ends in EOF or ERROR within one entry per input byte
 * (protobuf may yield a few series per byte: a histogram bucket is 2
 * bytes), an error message starts with the input's name, slices of the
 * input stay inside it, and model_format_float reads back exactly.
 */
#include "model/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) abort();
}

/* A slice is inside the input or somewhere else entirely (scratch). */
static void check_slice(model_str s, const char *buf, size_t len)
{
    uintptr_t p = (uintptr_t)s.p, b = (uintptr_t)buf;
    if (p >= b && p <= b + len) check(p + s.len <= b + len);
}

static void check_labels(const model_label *l, size_t n, const char *buf, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        check_slice(l[i].name, buf, len);
        check_slice(l[i].value, buf, len);
        check_slice(l[i].raw, buf, len);
        check(l[i].value.len <= l[i].raw.len);
    }
}

static void visit_series(model_parser *p, const char *buf, size_t len)
{
    size_t n;
    const model_label *l = model_parser_labels(p, &n);
    check_labels(l, n, buf, len);
    check_slice(model_parser_name(p), buf, len);
    check_slice(model_parser_series_key(p), buf, len);
    (void)model_parser_value(p);
    (void)model_parser_timestamp(p, NULL);
    core_err err;
    free(model_parser_labels_new(p, NULL, &err));
    model_exemplar ex;
    if (model_parser_exemplar(p, &ex)) {
        check_labels(ex.labels, ex.n_labels, buf, len);
        free(model_parser_exemplar_labels_new(p, NULL, &err));
    }
}

static void run(model_format fmt, const char *buf, size_t len)
{
    model_parser *p = model_parser_new(fmt, buf, len, "fuzz");
    core_err err;
    size_t limit = 4 * len + 8;
    for (size_t i = 0;; i++) {
        check(i < limit);
        model_entry e = model_parser_next(p, &err);
        if (e == MODEL_ENTRY_EOF) break;
        if (e == MODEL_ENTRY_ERROR) {
            check(strncmp(err.msg, "fuzz", 4) == 0);
            check(model_parser_next(p, NULL) == MODEL_ENTRY_ERROR);
            break;
        }
        if (e == MODEL_ENTRY_SERIES) visit_series(p, buf, len);
        check_slice(model_parser_help_raw(p), buf, len);
        check_slice(model_parser_unit(p), buf, len);
        check_slice(model_parser_comment(p), buf, len);
        (void)model_parser_help(p);
        (void)model_parser_type(p);
    }
    model_parser_free(p);
}

static void check_float(const uint8_t *data, size_t size)
{
    if (size < 8) return;
    double v;
    memcpy(&v, data, sizeof v);
    char buf[MODEL_FLOAT_BUFSZ];
    size_t n = model_format_float(v, buf);
    check(n == strlen(buf) && n < MODEL_FLOAT_BUFSZ);
    if (isnan(v)) return;
    double back = strtod(buf[0] == '+' ? buf + 1 : buf, NULL);
    check(memcmp(&back, &v, sizeof v) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (size) memcpy(buf, data, size);
    run(MODEL_FORMAT_TEXT, buf, size);
    run(MODEL_FORMAT_OPENMETRICS, buf, size);
    run(MODEL_FORMAT_PROTOBUF, buf, size);
    free(buf);
    check_float(data, size);
    return 0;
}
