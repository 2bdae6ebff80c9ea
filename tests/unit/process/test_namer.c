/*
 * test_namer.c - the process-exporter config (process_names), -procnames and
 * -namemapping, matching and group-name templates.
 */
#include "unit/unit.h"

#include "process.h"

static pe_namer *parse(const char *yaml, core_err *err)
{
    return pe_namer_parse("cfg.yml", yaml, strlen(yaml), err);
}

/* A process for matching: argv given with spaces standing for the NULs. */
typedef struct fake {
    pe_ident id;
    char argv[256];
} fake;

static void fake_init(fake *f, int pid, const char *comm, const char *argv)
{
    memset(f, 0, sizeof *f);
    f->id.pid = pid;
    f->id.comm = comm;
    size_t n = strlen(argv);
    memcpy(f->argv, argv, n);
    for (size_t i = 0; i < n; i++)
        if (f->argv[i] == ' ') f->argv[i] = '\0';
    f->id.cmdline = f->argv;
    f->id.cmdline_len = n ? n + 1 : 0;
}

/* The group name of the process, or NULL when nothing matches. */
static const char *name_of(pe_namer *n, fake *f)
{
    static core_sb sb;
    core_arena a = {0};
    bool ok = pe_namer_match(n, &f->id, &a, &sb);
    core_arena_destroy(&a);
    return ok ? (sb.buf ? sb.buf : "") : NULL;
}

static void expect_error(const char *yaml, const char *msg)
{
    core_err err = {{0}};
    pe_namer *n = parse(yaml, &err);
    assert_null(n);
    assert_string_equal(err.msg, msg);
}

static void test_config_comm_exe_cmdline(void **state)
{
    core_err err;
    pe_namer *n = parse("process_names:\n"
                        "  - comm: [bash]\n"
                        "  - name: \"{{.ExeFull}}:{{.Matches.Cfgfile}}\"\n"
                        "    exe: [/usr/local/bin/process-exporter]\n"
                        "    cmdline: ['-config.path\\s+(?P<Cfgfile>\\S+)']\n"
                        "  - name: \"{{.Matches.prog}}-{{.Comm}}\"\n"
                        "    cmdline:\n"
                        "      - 'python3? (?P<prog>[a-z]+)\\.py'\n",
                        &err);
    assert_non_null(n);
    assert_int_equal(pe_namer_rules(n), 3);
    assert_true(pe_namer_needs(n) & PE_NEED_CMDLINE);
    fake f;
    fake_init(&f, 10, "bash", "/bin/bash -l");
    assert_string_equal(name_of(n, &f), "bash"); /* default {{.ExeBase}} */
    fake_init(&f, 11, "process-exporte",
              "/usr/local/bin/process-exporter -config.path /etc/pe.yml");
    assert_string_equal(name_of(n, &f), "/usr/local/bin/process-exporter:/etc/pe.yml");
    fake_init(&f, 12, "process-exporte", "/opt/process-exporter -config.path /etc/pe.yml");
    assert_null(name_of(n, &f)); /* exe with a '/' wants that very path */
    fake_init(&f, 13, "python3", "python3 server.py --port 80");
    assert_string_equal(name_of(n, &f), "server-python3");
    fake_init(&f, 14, "sleep", "sleep 10");
    assert_null(name_of(n, &f));
    pe_namer_free(n);
}

static void test_first_match_wins(void **state)
{
    core_err err;
    pe_namer *n = parse("process_names:\n"
                        "  - name: first\n"
                        "    comm: [sleep]\n"
                        "  - name: second\n"
                        "    exe: [sleep]\n",
                        &err);
    assert_non_null(n);
    fake f;
    fake_init(&f, 1, "sleep", "/usr/bin/sleep 5");
    assert_string_equal(name_of(n, &f), "first");
    fake_init(&f, 2, "other", "/usr/bin/sleep 5");
    assert_string_equal(name_of(n, &f), "second");
    pe_namer_free(n);
}

static void test_all_matchers_must_match(void **state)
{
    core_err err;
    pe_namer *n = parse("process_names:\n"
                        "  - name: x\n"
                        "    comm: [app]\n"
                        "    cmdline: ['--role=web', 'port=(?P<port>\\d+)']\n",
                        &err);
    assert_non_null(n);
    fake f;
    fake_init(&f, 1, "app", "app --role=web port=80");
    assert_string_equal(name_of(n, &f), "x");
    fake_init(&f, 2, "app", "app --role=db port=80");
    assert_null(name_of(n, &f));
    fake_init(&f, 3, "ppa", "app --role=web port=80");
    assert_null(name_of(n, &f));
    pe_namer_free(n);
}

static void test_templates(void **state)
{
    core_err err;
    pe_namer *n = parse("process_names:\n"
                        "  - name: \"{{ .Comm }}|{{.PID}}|{{.Username}}|{{.Matches.none}}|"
                        "{{.StartTime}}|{{.Cgroups}}|{{- \"  \" -}}\"\n"
                        "    comm: [a]\n",
                        &err);
    assert_null(n); /* a string literal action is not supported */
    n = parse("process_names:\n"
              "  - name: \"{{ .Comm }}|{{.PID}}|{{.Username}}|{{.Matches.none}}|"
              "{{.StartTime}}|{{.Cgroups}}  {{- /* c */ -}}  !\"\n"
              "    comm: [a]\n",
              &err);
    assert_non_null(n);
    assert_true(pe_namer_needs(n) & PE_NEED_USERNAME);
    assert_true(pe_namer_needs(n) & PE_NEED_CGROUPS);
    fake f;
    fake_init(&f, 42, "a", "");
    f.id.username = "root";
    f.id.start_time = 1700000000.25;
    f.id.cgroups = "0::/system.slice/x.service\n1:cpu:/a\n";
    assert_string_equal(
        name_of(n, &f),
        "a|42|root|<no value>|2023-11-14 22:13:20.25 +0000 UTC|[/system.slice/x.service /a]!");
    pe_namer_free(n);
}

static void test_exe_base_without_cmdline(void **state)
{
    core_err err;
    pe_namer *n = parse("process_names:\n  - comm: [kworker]\n", &err);
    assert_non_null(n);
    fake f;
    fake_init(&f, 2, "kworker", "");
    assert_string_equal(name_of(n, &f), "kworker"); /* ExeBase falls back to comm */
    pe_namer_free(n);
}

static void test_template_unit(void **state)
{
    core_err err;
    pe_template *t = pe_template_parse("x{{.Foo}}", &err);
    assert_null(t);
    assert_string_equal(err.msg, "can't evaluate field Foo");
    t = pe_template_parse("{{range .X}}", &err);
    assert_null(t);
    assert_string_equal(err.msg, "unsupported action {{range .X}}");
    t = pe_template_parse("{{.Comm", &err);
    assert_null(t);
    assert_string_equal(err.msg, "unclosed action");
    size_t bl;
    const char *b = pe_basename("/usr/bin/", 9, &bl);
    assert_int_equal(bl, 3);
    assert_memory_equal(b, "bin", 3);
    b = pe_basename("", 0, &bl);
    assert_memory_equal(b, ".", 1);
    b = pe_basename("//", 2, &bl);
    assert_int_equal(bl, 1);
    assert_memory_equal(b, "/", 1);
}

static void test_config_errors(void **state)
{
    expect_error("process_names:\n  - name: x\n", "cfg.yml:2:5: no matchers provided");
    expect_error("process_names:\n  - comm: [a]\n    cmd: [b]\n",
                 "cfg.yml:3:5: unknown field \"cmd\" in process_names entry");
    expect_error("process_names:\n  - cmdline: ['a(']\n",
                 "cfg.yml:2:15: bad cmdline regex \"a(\": missing closing parenthesis at offset 2");
    expect_error("process_names:\n  - comm: [a]\n    name: \"{{.Nope}}\"\n",
                 "cfg.yml:3:11: bad name template \"{{.Nope}}\": can't evaluate field Nope");
    expect_error("process_names:\n  - comm: a\n",
                 "cfg.yml:2:11: expected a sequence of strings for comm, got a scalar");
    expect_error("process_names: {a: 1}\n",
                 "cfg.yml:1:16: expected a sequence for process_names, got a mapping");
    expect_error("procs: []\n", "cfg.yml:1:1: unknown field \"procs\" in config");
    expect_error("process_names:\n  - comm: [[a]]\n",
                 "cfg.yml:2:12: expected a scalar for comm, got a sequence");
    expect_error("process_names: [\n", "cfg.yml:2:1: did not find expected node content (while "
                                       "parsing a flow node that began at line 2, column 1)");
}

static void test_empty_config(void **state)
{
    core_err err;
    pe_namer *n = parse("", &err);
    assert_non_null(n);
    assert_int_equal(pe_namer_rules(n), 0);
    pe_namer_free(n);
    n = parse("process_names:\n", &err);
    assert_non_null(n);
    pe_namer_free(n);
}

static void test_load_file(void **state)
{
    core_err err;
    pe_namer *n = pe_namer_load_file("/nonexistent/pe.yml", &err);
    assert_null(n);
    assert_string_equal(err.msg, "open /nonexistent/pe.yml: No such file or directory");
}

static void test_procnames_and_mapping(void **state)
{
    core_err err;
    pe_namer *n = pe_namer_from_flags("bash,,sleep,java", "java,-jar\\s+([^/ ]+)\\.jar", &err);
    assert_non_null(n);
    assert_int_equal(pe_namer_rules(n), 3);
    fake f;
    fake_init(&f, 1, "sleep", "sleep 1");
    assert_string_equal(name_of(n, &f), "sleep");
    fake_init(&f, 2, "java", "java -Xmx1g -jar app.jar");
    assert_string_equal(name_of(n, &f), "java:app");
    fake_init(&f, 3, "java", "java -cp x Main");
    assert_null(name_of(n, &f));
    fake_init(&f, 4, "zsh", "zsh");
    assert_null(name_of(n, &f));
    pe_namer_free(n);
    assert_null(pe_namer_from_flags("", "a", &err));
    assert_string_equal(err.msg, "bad namemapper: odd number of tokens");
    assert_null(pe_namer_from_flags("", "a,", &err));
    assert_string_equal(err.msg, "bad namemapper: token 1 is empty");
    assert_null(pe_namer_from_flags("", "a,(", &err));
    assert_string_equal(err.msg, "error compiling regexp '(': missing closing parenthesis at "
                                 "offset 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_comm_exe_cmdline),
        cmocka_unit_test(test_first_match_wins),
        cmocka_unit_test(test_all_matchers_must_match),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_exe_base_without_cmdline),
        cmocka_unit_test(test_template_unit),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_empty_config),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_procnames_and_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
