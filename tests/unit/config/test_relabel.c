/*
 * test_relabel.c - relabel rules read from YAML: upstream's defaults, the
 * empty values a key without value gives, and the checks made when a config
 * is loaded (rules in scrape, metric, alert and write relabel lists).
 */
#include "unit/unit.h"

#include "config/config.h"

#include "helpers.h"

#define JOB "scrape_configs:\n  - job_name: a\n"

static void test_fields(void **state)
{
    (void)state;
    cfg_config *c =
        load_ok(JOB "    relabel_configs:\n"
                    "      - source_labels: [a, 'b.c']\n        separator: ','\n"
                    "        regex: 'x(.*)'\n        target_label: t\n"
                    "        replacement: 'y$1'\n        action: Replace\n"
                    "      - action: hashmod\n        modulus: 8\n"
                    "        source_labels: [__address__]\n        target_label: h\n"
                    "      - source_labels: []\n        target_label: e\n"
                    "      - target_label: n\n        separator:\n        replacement:\n");
    const model_relabel_cfg *r = c->scrape_configs[0].relabel_configs.v;
    assert_int_equal(r[0].n_source_labels, 2);
    assert_string_equal(r[0].source_labels[1], "b.c");
    assert_string_equal(r[0].separator, ",");
    assert_string_equal(model_regex_pattern(r[0].regex), "x(.*)");
    assert_true(r[0].regex_set);
    assert_string_equal(r[0].replacement, "y$1");
    assert_int_equal(r[0].action, MODEL_RELABEL_REPLACE);
    assert_int_equal(r[1].action, MODEL_RELABEL_HASHMOD);
    assert_int_equal(r[1].modulus, 8);
    assert_false(r[1].regex_set);
    assert_string_equal(model_regex_pattern(r[1].regex), "(.*)");
    assert_true(r[2].source_labels_set);
    assert_int_equal(r[2].n_source_labels, 0);
    assert_string_equal(r[3].separator, "");
    assert_string_equal(r[3].replacement, "");
    assert_false(r[3].source_labels_set);
    cfg_free(c);
}

static void test_invalid(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {JOB "    relabel_configs:\n      - regex: abc(def\n",
         "t.yml:4:16: error parsing regexp: missing closing ): `^(?s:abc(def)$`"},
        {JOB "    relabel_configs:\n      - regex: '(?=x)'\n        target_label: t\n",
         "t.yml:4:16: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
        {JOB "    relabel_configs:\n      - action: copy\n",
         "t.yml:4:17: unknown relabel action \"copy\""},
        {JOB "    relabel_configs:\n      - action:\n        target_label: t\n",
         "t.yml:4:9: relabel action cannot be empty"},
        {JOB "    relabel_configs:\n      - {}\n",
         "t.yml:4:9: relabel configuration for replace action requires 'target_label' value"},
        {JOB "    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
         "t.yml:4:9: relabel configuration for hashmod requires non-zero modulus"},
        {JOB "    relabel_configs:\n      - action: hashmod\n        modulus: 2\n",
         "t.yml:4:9: relabel configuration for hashmod action requires 'target_label' value"},
        {JOB "    relabel_configs:\n      - action: labeldrop\n        regex: x\n"
             "        source_labels: [a]\n",
         "t.yml:4:9: labeldrop action requires only 'regex', and no other fields"},
        {JOB "    relabel_configs:\n      - action: labelkeep\n        source_labels: []\n",
         "t.yml:4:9: labelkeep action requires only 'regex', and no other fields"},
        {JOB "    relabel_configs:\n      - action: labelkeep\n        replacement: x\n",
         "t.yml:4:9: labelkeep action requires only 'regex', and no other fields"},
        {JOB "    relabel_configs:\n      - action: dropequal\n        source_labels: [a]\n",
         "t.yml:4:9: relabel configuration for dropequal action requires 'target_label' value"},
        {JOB "    relabel_configs:\n      - action: keepequal\n        source_labels: [a]\n"
             "        target_label: b\n        regex: (.*)\n",
         "t.yml:4:9: keepequal action requires only 'source_labels' and `target_label`, and no "
         "other fields"},
        {JOB "    relabel_configs:\n      - action: lowercase\n        target_label: b\n"
             "        replacement: x\n",
         "t.yml:4:9: 'replacement' can not be set for lowercase action"},
        {JOB "    relabel_configs:\n      - source_labels: ['']\n        target_label: b\n",
         "t.yml:4:25: \"\" is not a valid label name"},
        {JOB "    relabel_configs:\n      - target_label: b\n        modulus: -1\n",
         "t.yml:5:18: cannot unmarshal -1 into an unsigned integer for modulus"},
        {JOB "    relabel_configs:\n      - target: b\n",
         "t.yml:4:9: unknown field \"target\" in relabel config"},
        {JOB "    metric_relabel_configs:\n      -\n",
         "t.yml:4:8: empty or null metric relabeling rule in scrape config"},
        /* Under the legacy scheme, a dotted target is refused (3.x). */
        {JOB "    metric_name_validation_scheme: legacy\n    relabel_configs:\n"
             "      - source_labels: [a]\n        target_label: x.y\n",
         "t.yml:5:9: \"x.y\" is invalid 'target_label' for replace action"},
        {"global:\n  metric_name_validation_scheme: legacy\n  metric_name_escaping_scheme: dots\n"
         "alerting:\n  alert_relabel_configs:\n    - action: labelmap\n      replacement: a.$1\n",
         "t.yml:6:7: \"a.$1\" is invalid 'replacement' for labelmap action"},
        {"remote_write:\n  - url: http://a/\n    write_relabel_configs:\n      - action: "
         "uppercase\n",
         "t.yml:4:9: relabel configuration for uppercase action requires 'target_label' value"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
