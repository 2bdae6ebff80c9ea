/*
 * ui_embed.c - the build step that compiles the web UI's files into
 * prom-server: a small host program, run by CMake, that writes one C file
 * holding every file of server/web/ui/ as a byte array with its path, its
 * content type and an ETag, in the table ui.h declares.
 *
 *   ui_embed <out.c> <root dir> <file>...
 *
 * Each file's path in the table is its name relative to <root dir>, with a
 * leading '/'; the table is sorted by path so that web_ui_find can bisect.
 * The content type comes from the extension (a file with an unknown one is
 * an error, so nothing is served as the wrong type by accident).  The ETag
 * is FNV-1a 64 of the content: it only has to change when the content does.
 *
 * The arrays are written as decimal byte lists rather than string literals:
 * longer source, but no escaping rules and no compiler limit on literal
 * length.  Output goes to <out.c>.tmp first and is renamed, so an
 * interrupted build never leaves a half-written file behind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct file {
    char *path; /* "/assets/app.js" */
    const char *src;
    const char *ctype;
} file;

static const struct {
    const char *ext, *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(path + n - e, types[i].ext) == 0) return types[i].ctype;
    }
    return NULL;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const file *)a)->path, ((const file *)b)->path);
}

static unsigned char *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(name, "rb");
    if (!f) return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ui_embed <out.c> <root dir> <file>...\n");
        return 2;
    }
    const char *out = argv[1], *root = argv[2];
    size_t rootlen = strlen(root);
    while (rootlen > 1 && root[rootlen - 1] == '/')
        rootlen--;
    size_t nfiles = (size_t)argc - 3;
    file *files = calloc(nfiles, sizeof *files);
    if (!files) return 1;
    for (size_t i = 0; i < nfiles; i++) {
        const char *src = argv[i + 3];
        if (strncmp(src, root, rootlen) != 0 || src[rootlen] != '/') {
            fprintf(stderr, "ui_embed: %s is not under %s\n", src, root);
            return 1;
        }
        files[i].src = src;
        files[i].path = strdup(src + rootlen);
        files[i].ctype = content_type(src);
        if (!files[i].path) return 1;
        if (strspn(files[i].path,
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") !=
            strlen(files[i].path)) {
            fprintf(stderr, "ui_embed: %s: only [A-Za-z0-9._/-] in asset names\n", src);
            return 1;
        }
        if (!files[i].ctype) {
            fprintf(stderr, "ui_embed: %s: no content type for this extension\n", src);
            return 1;
        }
    }
    qsort(files, nfiles, sizeof *files, cmp_file);

    size_t tmplen = strlen(out) + 5;
    char *tmp = malloc(tmplen);
    if (!tmp) return 1;
    snprintf(tmp, tmplen, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return 1;
    }
    fprintf(f, "/* Written by ui_embed from server/web/ui/: do not edit. */\n"
               "#include \"web/ui.h\"\n\n");
    uint64_t *etags = calloc(nfiles ? nfiles : 1, sizeof *etags);
    size_t *lens = calloc(nfiles ? nfiles : 1, sizeof *lens);
    if (!etags || !lens) return 1;
    for (size_t i = 0; i < nfiles; i++) {
        size_t len = 0;
        unsigned char *data = slurp(files[i].src, &len);
        if (!data) {
            perror(files[i].src);
            return 1;
        }
        etags[i] = fnv1a(data, len);
        lens[i] = len;
        /* one spare byte: a NUL after the content, and never an empty array */
        fprintf(f, "static const unsigned char d%zu[%zu] = {", i, len + 1);
        for (size_t j = 0; j < len; j++)
            fprintf(f, "%s%u,", j % 24 ? "" : "\n", data[j]);
        fprintf(f, "0};\n\n");
        free(data);
    }
    fprintf(f, "const web_ui_asset web_ui_assets[] = {\n");
    for (size_t i = 0; i < nfiles; i++)
        fprintf(f, "    {\"%s\", \"%s\", \"\\\"%016llx\\\"\", d%zu, %zu},\n", files[i].path,
                files[i].ctype, (unsigned long long)etags[i], i, lens[i]);
    if (!nfiles) fprintf(f, "    {0},\n");
    fprintf(f, "};\n\nconst size_t web_ui_nassets = %zu;\n", nfiles);
    if (fclose(f) != 0 || rename(tmp, out) != 0) {
        perror(out);
        return 1;
    }
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].path);
    free(files);
    free(tmp);
    free(etags);
    free(lens);
    return 0;
}
