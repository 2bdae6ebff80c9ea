/*
 * aws.c - AWS credentials and region from the places the AWS SDK for Go v2
 * looks (upstream's EC2 discovery builds its client with LoadDefaultConfig).
 *
 * Credentials, first found wins:
 *   1. access_key and secret_key of the config (both given);
 *   2. unless the config names a profile: AWS_ACCESS_KEY_ID (or
 *      AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY),
 *      AWS_SESSION_TOKEN;
 *   3. the profile (the config's, else AWS_PROFILE, AWS_DEFAULT_PROFILE or
 *      "default"): aws_access_key_id / aws_secret_access_key /
 *      aws_session_token in the shared credentials file
 *      (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, section [name]),
 *      then in the shared config file (AWS_CONFIG_FILE or ~/.aws/config,
 *      section [profile name] or [default]);
 *   4. the role credentials of the EC2 instance metadata service (IMDSv2,
 *      then v1; AWS_EC2_METADATA_SERVICE_ENDPOINT moves it,
 *      AWS_EC2_METADATA_DISABLED=true turns it off).
 * Not supported: role_arn (STS AssumeRole), web identity, SSO, credential
 * processes and container credentials; a config with role_arn is refused by
 * ec2.c with a message saying so.
 *
 * Region: the config's, else AWS_REGION / AWS_DEFAULT_REGION, else `region`
 * of the AWS_PROFILE (or default) profile in the shared config file, else
 * the instance metadata service, as upstream's loadRegion.
 */
#include "discovery/internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *home_file(const char *env_name, const char *rel)
{
    const char *p = env(env_name);
    if (p) return core_strdup(p);
    const char *home = env("HOME");
    if (!home) return NULL;
    core_sb sb = CORE_SB_INIT;
    core_sb_addf(&sb, "%s/%s", home, rel);
    return core_sb_detach(&sb, NULL);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* 1: section found (*value set or left NULL), 0: no such section. */
static int ini_lookup(const char *path, const char *section, const char *key, char **value)
{
    *value = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    char line[2048];
    bool in = false, found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        char *l = trim(line);
        if (*l == '#' || *l == ';' || *l == '\0') continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (end) *end = '\0';
            in = strcmp(trim(l + 1), section) == 0;
            found |= in;
            continue;
        }
        if (!in) continue;
        char *eq = strchr(l, '=');
        if (eq == NULL) continue;
        *eq = '\0';
        if (strcasecmp(trim(l), key) == 0 && *value == NULL) *value = core_strdup(trim(eq + 1));
    }
    fclose(f);
    return found;
}

char *disc_aws_ini_get(const char *path, const char *section, const char *key)
{
    char *v;
    ini_lookup(path, section, key, &v);
    return v;
}

/* The section of `profile` in the shared config file. */
static void config_section(core_sb *out, const char *profile)
{
    if (strcmp(profile, "default") == 0)
        core_sb_adds(out, "default");
    else
        core_sb_addf(out, "profile %s", profile);
}

static const char *env_profile(void)
{
    const char *p = env("AWS_PROFILE");
    if (!p) p = env("AWS_DEFAULT_PROFILE");
    return p ? p : "default";
}

/* ---- The instance metadata service */

static bool imds_disabled(void)
{
    const char *d = env("AWS_EC2_METADATA_DISABLED");
    return d && strcasecmp(d, "true") == 0;
}

static int imds_get(const char *path, const char *token, core_sb *out, core_err *err)
{
    const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base) base = "http://169.254.169.254";
    core_sb url = CORE_SB_INIT, hdr = CORE_SB_INIT;
    size_t bl = strlen(base);
    core_sb_add(&url, base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
    core_sb_adds(&url, path);
    const char *hdrs[1];
    size_t nh = 0;
    if (token) {
        core_sb_addf(&hdr, "X-aws-ec2-metadata-token: %s", token);
        hdrs[nh++] = hdr.buf;
    }
    disc_http_req req = {.method = "GET",
                         .url = url.buf,
                         .headers = hdrs,
                         .n_headers = nh,
                         .timeout_ms = 2000,
                         .max_body = 1 << 20,
                         .user_agent = "prom-server"};
    disc_http_resp resp;
    int rc = disc_http_do(&req, &resp, err);
    if (rc == 0) {
        if (resp.status != 200)
            rc = core_err_set(err, "instance metadata %s: HTTP status %s", path, resp.status_text);
        else
            core_sb_add(out, resp.body.buf ? resp.body.buf : "", resp.body.len);
        disc_http_resp_destroy(&resp);
    }
    core_sb_destroy(&url);
    core_sb_destroy(&hdr);
    return rc;
}

/* IMDSv2's session token, or NULL (then IMDSv1 is tried). */
static char *imds_token(void)
{
    const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base) base = "http://169.254.169.254";
    core_sb url = CORE_SB_INIT;
    size_t bl = strlen(base);
    core_sb_add(&url, base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
    core_sb_adds(&url, "/latest/api/token");
    const char *hdrs[] = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"};
    disc_http_req req = {.method = "PUT",
                         .url = url.buf,
                         .headers = hdrs,
                         .n_headers = 1,
                         .timeout_ms = 2000,
                         .max_body = 1 << 16,
                         .user_agent = "prom-server"};
    disc_http_resp resp;
    char *tok = NULL;
    if (disc_http_do(&req, &resp, NULL) == 0) {
        if (resp.status == 200 && resp.body.len) tok = core_strdup(trim(resp.body.buf));
        disc_http_resp_destroy(&resp);
    }
    core_sb_destroy(&url);
    return tok;
}

static int imds_region(char **out, core_err *err)
{
    if (imds_disabled()) return core_err_set(err, "region not found in AWS config or IMDS");
    char *tok = imds_token();
    core_sb body = CORE_SB_INIT;
    int rc = imds_get("/latest/meta-data/placement/region", tok, &body, err);
    free(tok);
    if (rc == 0 && (body.len == 0 || *trim(body.buf) == '\0'))
        rc = core_err_set(err, "region not found in AWS config or IMDS");
    if (rc == 0)
        *out = core_strdup(trim(body.buf));
    else
        core_err_prefix(err, "failed to get region from IMDS");
    core_sb_destroy(&body);
    return rc;
}

static int imds_credentials(disc_aws_creds *out, core_err *err)
{
    if (imds_disabled()) return core_err_set(err, "the instance metadata service is disabled");
    char *tok = imds_token();
    core_sb role = CORE_SB_INIT, body = CORE_SB_INIT;
    int rc = imds_get("/latest/meta-data/iam/security-credentials/", tok, &role, err);
    if (rc == 0) {
        char *name = trim(role.buf ? role.buf : (char *)"");
        name[strcspn(name, "\r\n")] = '\0';
        if (*name == '\0') {
            rc = core_err_set(err, "no EC2 IMDS role found");
        } else {
            core_sb path = CORE_SB_INIT;
            core_sb_addf(&path, "/latest/meta-data/iam/security-credentials/%s", name);
            rc = imds_get(path.buf, tok, &body, err);
            core_sb_destroy(&path);
        }
    }
    if (rc == 0) {
        json_t *j = json_loadb(body.buf ? body.buf : "", body.len, 0, NULL);
        const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
        const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
        const char *st = json_string_value(json_object_get(j, "Token"));
        if (ak && sk) {
            out->access_key = core_strdup(ak);
            out->secret_key = core_strdup(sk);
            out->token = st && *st ? core_strdup(st) : NULL;
        } else {
            rc = core_err_set(err, "unexpected instance metadata credentials");
        }
        json_decref(j);
    }
    free(tok);
    core_sb_destroy(&role);
    core_sb_destroy(&body);
    return rc;
}

/* ---- Region and credentials */

int disc_aws_region(const char *configured, const char *profile, char **out, core_err *err)
{
    if (configured && *configured) {
        *out = core_strdup(configured);
        return 0;
    }
    const char *e = env("AWS_REGION");
    if (!e) e = env("AWS_DEFAULT_REGION");
    if (e) {
        *out = core_strdup(e);
        return 0;
    }
    char *cfgfile = home_file("AWS_CONFIG_FILE", ".aws/config");
    if (cfgfile) {
        core_sb sec = CORE_SB_INIT;
        config_section(&sec, profile && *profile ? profile : env_profile());
        char *r = disc_aws_ini_get(cfgfile, sec.buf, "region");
        core_sb_destroy(&sec);
        free(cfgfile);
        if (r && *r) {
            *out = r;
            return 0;
        }
        free(r);
    }
    if (imds_region(out, err) == 0) return 0;
    return core_err_prefix(err, "could not determine AWS region");
}

/* Keys of `profile` from the shared files: 1 found, 0 none, -1 no such profile
 * when `must_exist`. */
static int profile_creds(const char *profile, bool must_exist, disc_aws_creds *out, core_err *err)
{
    char *credfile = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    char *cfgfile = home_file("AWS_CONFIG_FILE", ".aws/config");
    core_sb sec = CORE_SB_INIT;
    config_section(&sec, profile);
    bool exists = false;
    int rc = 0;
    const char *files[2] = {credfile, cfgfile};
    const char *sections[2] = {profile, sec.buf};
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (files[i] == NULL) continue;
        char *ak = NULL, *sk = NULL, *tok = NULL;
        int found = ini_lookup(files[i], sections[i], "aws_access_key_id", &ak);
        exists |= found;
        if (found) {
            ini_lookup(files[i], sections[i], "aws_secret_access_key", &sk);
            ini_lookup(files[i], sections[i], "aws_session_token", &tok);
        }
        if (ak && *ak && sk && *sk) {
            out->access_key = ak;
            out->secret_key = sk;
            out->token = tok && *tok ? tok : NULL;
            if (!out->token) free(tok);
            rc = 1;
        } else {
            free(ak);
            free(sk);
            free(tok);
        }
    }
    if (rc == 0 && must_exist && !exists)
        rc = core_err_set(err, "failed to get shared config profile, %s", profile);
    core_sb_destroy(&sec);
    free(credfile);
    free(cfgfile);
    return rc;
}

int disc_aws_credentials(const char *access_key, const char *secret_key, const char *profile,
                         disc_aws_creds *out, core_err *err)
{
    memset(out, 0, sizeof *out);
    if (access_key && *access_key && secret_key && *secret_key) {
        out->access_key = core_strdup(access_key);
        out->secret_key = core_strdup(secret_key);
        return 0;
    }
    bool named = profile && *profile;
    if (!named) {
        const char *ak = env("AWS_ACCESS_KEY_ID");
        if (!ak) ak = env("AWS_ACCESS_KEY");
        const char *sk = env("AWS_SECRET_ACCESS_KEY");
        if (!sk) sk = env("AWS_SECRET_KEY");
        if (ak && sk) {
            out->access_key = core_strdup(ak);
            out->secret_key = core_strdup(sk);
            const char *t = env("AWS_SESSION_TOKEN");
            out->token = t ? core_strdup(t) : NULL;
            return 0;
        }
    }
    int rc = profile_creds(named ? profile : env_profile(), named, out, err);
    if (rc < 0) return -1;
    if (rc > 0) return 0;
    core_err e;
    if (imds_credentials(out, &e) == 0) return 0;
    return core_err_set(err,
                        "no AWS credentials: none in the config, the environment or the shared "
                        "credentials files, and the instance metadata service failed: %s",
                        e.msg);
}
