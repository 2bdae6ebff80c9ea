/*
 * sigv4.c - AWS Signature Version 4, as the AWS documentation describes it
 * ("Create a signed AWS API request"), on OpenSSL's libcrypto.
 *
 *   canonical request = method \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n hex(SHA256(body))
 *   string to sign    = "AWS4-HMAC-SHA256" \n amz-date \n scope \n
 *                       hex(SHA256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region),
 *                       service), "aws4_request")
 *   signature         = hex(HMAC(signing key, string to sign))
 *
 * The caller passes every header it will send and wants signed (host and
 * x-amz-date at least, x-amz-security-token with temporary credentials) and
 * sends them exactly as given.  The path is encoded once more, as for every
 * service but S3; query parameters are decoded, re-encoded by RFC 3986 and
 * sorted.
 */
#include "discovery/internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

void disc_aws_creds_destroy(disc_aws_creds *c)
{
    free(c->access_key);
    free(c->secret_key);
    free(c->token);
    memset(c, 0, sizeof *c);
}

static void hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void disc_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex(md, n, out);
}

static void hmac(const void *key, size_t klen, const char *data, size_t dlen, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, dlen, out, &n);
}

void disc_aws_uri_encode(core_sb *out, const char *s, size_t n, bool keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            core_sb_addc(out, (char)c);
        } else {
            core_sb_addc(out, '%');
            core_sb_addc(out, digits[c >> 4]);
            core_sb_addc(out, digits[c & 15]);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) ('+' stays '+', as AWS reads it). */
static char *unescape(const char *s, size_t n)
{
    char *out = core_malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

typedef struct qpair {
    char *k, *v; /* encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static void canonical_query(core_sb *out, const char *q)
{
    if (q == NULL || *q == '\0') return;
    size_t n = 1;
    for (const char *p = q; *p; p++)
        n += *p == '&';
    qpair *v = core_calloc(n, sizeof *v);
    size_t k = 0;
    core_sb tmp = CORE_SB_INIT;
    for (const char *p = q; *p;) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            char *key = unescape(p, kl);
            char *val = eq ? unescape(eq + 1, len - kl - 1) : core_strdup("");
            core_sb_reset(&tmp);
            disc_aws_uri_encode(&tmp, key, strlen(key), false);
            v[k].k = core_strdup(tmp.buf ? tmp.buf : "");
            core_sb_reset(&tmp);
            disc_aws_uri_encode(&tmp, val, strlen(val), false);
            v[k].v = core_strdup(tmp.buf ? tmp.buf : "");
            k++;
            free(key);
            free(val);
        }
        p += len;
        if (*p == '&') p++;
    }
    core_sb_destroy(&tmp);
    qsort(v, k, sizeof *v, qpair_cmp);
    for (size_t i = 0; i < k; i++) {
        if (i) core_sb_addc(out, '&');
        core_sb_adds(out, v[i].k);
        core_sb_addc(out, '=');
        core_sb_adds(out, v[i].v);
        free(v[i].k);
        free(v[i].v);
    }
    free(v);
}

typedef struct hdr {
    char *name; /* lowercase */
    const char *value;
    size_t order;
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The value trimmed, runs of spaces collapsed to one. */
static void trimmed(core_sb *out, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space) core_sb_addc(out, ' ');
        space = false;
        core_sb_addc(out, *v);
    }
}

void disc_sigv4_sign(const disc_sigv4_req *req, const disc_aws_creds *creds, core_sb *authorization,
                     core_sb *canonical_out, core_sb *to_sign_out)
{
    core_sb canon = CORE_SB_INIT, signed_hdrs = CORE_SB_INIT;
    core_sb_adds(&canon, req->method);
    core_sb_addc(&canon, '\n');
    const char *path = req->path && *req->path ? req->path : "/";
    disc_aws_uri_encode(&canon, path, strlen(path), true);
    core_sb_addc(&canon, '\n');
    canonical_query(&canon, req->query);
    core_sb_addc(&canon, '\n');

    hdr *h = core_calloc(req->n_headers + 1, sizeof *h);
    for (size_t i = 0; i < req->n_headers; i++) {
        h[i].name = core_strdup(req->headers[i].name);
        for (char *p = h[i].name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        h[i].value = req->headers[i].value;
        h[i].order = i;
    }
    qsort(h, req->n_headers, sizeof *h, hdr_cmp);
    for (size_t i = 0; i < req->n_headers; i++) {
        bool same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
        if (same) {
            core_sb_truncate(&canon, canon.len - 1); /* the '\n' */
            core_sb_addc(&canon, ',');
        } else {
            core_sb_adds(&canon, h[i].name);
            core_sb_addc(&canon, ':');
            if (signed_hdrs.len) core_sb_addc(&signed_hdrs, ';');
            core_sb_adds(&signed_hdrs, h[i].name);
        }
        trimmed(&canon, h[i].value);
        core_sb_addc(&canon, '\n');
    }
    for (size_t i = 0; i < req->n_headers; i++)
        free(h[i].name);
    free(h);
    core_sb_addc(&canon, '\n');
    core_sb_adds(&canon, signed_hdrs.buf ? signed_hdrs.buf : "");
    core_sb_addc(&canon, '\n');
    char body_hash[65];
    disc_sha256_hex(req->body ? req->body : "", req->body_len, body_hash);
    core_sb_adds(&canon, body_hash);

    char date[9];
    memcpy(date, req->amz_date, 8);
    date[8] = '\0';
    core_sb scope = CORE_SB_INIT, sts = CORE_SB_INIT;
    core_sb_addf(&scope, "%s/%s/%s/aws4_request", date, req->region, req->service);
    char canon_hash[65];
    disc_sha256_hex(canon.buf, canon.len, canon_hash);
    core_sb_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", req->amz_date, scope.buf, canon_hash);

    core_sb k0 = CORE_SB_INIT;
    core_sb_addf(&k0, "AWS4%s", creds->secret_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(k0.buf, k0.len, date, strlen(date), k1);
    hmac(k1, 32, req->region, strlen(req->region), k2);
    hmac(k2, 32, req->service, strlen(req->service), k3);
    hmac(k3, 32, "aws4_request", 12, k4);
    hmac(k4, 32, sts.buf, sts.len, sig);
    char sighex[65];
    hex(sig, 32, sighex);
    core_sb_addf(authorization, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                 creds->access_key, scope.buf, signed_hdrs.buf ? signed_hdrs.buf : "", sighex);

    if (canonical_out) core_sb_add(canonical_out, canon.buf, canon.len);
    if (to_sign_out) core_sb_add(to_sign_out, sts.buf, sts.len);
    /* The derived key is as secret as the key itself. */
    memset(k0.buf, 0, k0.len);
    core_sb_destroy(&k0);
    core_sb_destroy(&canon);
    core_sb_destroy(&signed_hdrs);
    core_sb_destroy(&scope);
    core_sb_destroy(&sts);
}
