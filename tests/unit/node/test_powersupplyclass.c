/* Unit tests for the powersupplyclass collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_powersupplyclass;

/* The value of the node_power_supply_info sample whose present labels are
 * exactly the comma-separated k=v list (absent labels are NULL values). */
static double info_value(const nx_out *o, const char *want)
{
    const nx_fam *f = nt_family(o, "node_power_supply_info");
    for (size_t i = 0; f != NULL && i < f->n_samples; i++) {
        char buf[1024];
        size_t n_present = 0, n_want = 0;
        bool ok = true;
        for (size_t k = 0; k < f->n_labels; k++)
            n_present += f->samples[i].values[k] != NULL;
        snprintf(buf, sizeof buf, "%s", want);
        for (char *save, *kv = strtok_r(buf, ",", &save); kv != NULL && ok;
             kv = strtok_r(NULL, ",", &save), n_want++) {
            char *eq = strchr(kv, '=');
            *eq = '\0';
            ok = false;
            for (size_t k = 0; k < f->n_labels && !ok; k++)
                ok = strcmp(f->labels[k], kv) == 0 && f->samples[i].values[k] != NULL &&
                     strcmp(f->samples[i].values[k], eq + 1) == 0;
        }
        if (ok && n_want == n_present) return f->samples[i].value;
    }
    return NAN;
}

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_powersupplyclass);
    assert_true(nt_value(o, "node_power_supply_energy_full", "power_supply=BAT0") == 45.07);
    assert_true(nt_value(o, "node_power_supply_voltage_volt", "power_supply=BAT0") == 11.66);
    assert_true(nt_value(o, "node_power_supply_online", "power_supply=AC") == 0);
    /* AC and BAT0 differ in labels: each sample has only its own */
    assert_true(info_value(o, "power_supply=AC,type=Mains") == 1);
    assert_true(info_value(o, "power_supply=BAT0,capacity_level=Normal,manufacturer=LGC,"
                              "model_name=LNV-45N1\xef\xbf\xbd\xef\xbf\xbd,serial_number=38109,"
                              "status=Discharging,technology=Li-ion,type=Battery") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "psu");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_powersupplyclass, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/power_supply/BAT1/capacity", "full\n");
    nt_write(dir, "sys/class/power_supply/BAT1/temp", "315\n");
    nt_write(dir, "sys/class/power_supply/BAT1/status", "Charging\n");
    nt_write(dir, "sys/class/power_supply/BAT1/model_name", "X\xff\xfeY\n");
    o = nt_run(&nx_collector_powersupplyclass);
    assert_null(nt_family(o, "node_power_supply_capacity"));
    assert_true(nt_value(o, "node_power_supply_temp_celsius", "power_supply=BAT1") == 31.5);
    assert_true(info_value(o, "power_supply=BAT1,model_name=X\xef\xbf\xbdY,status=Charging") == 1);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    st_fixture_remove();
    return rc;
}
