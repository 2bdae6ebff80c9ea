/* Unit tests for the pcidevice collector. */
#include "proctest.h"
#include "sysfixture.h"

#include <unistd.h>

extern const nx_collector nx_collector_pcidevice;

#define LOC "segment=0000,bus=01,device=00,function=0"

static void test_fixture(void **state)
{
    pt_flags(&nx_collector_pcidevice, NULL);
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_pcidevice);
    assert_true(
        nt_value(o, "node_pcidevice_info",
                 LOC ",parent_segment=0000,parent_bus=00,parent_device=02,parent_function=1,"
                     "class_id=0x010802,vendor_id=0xc0a9,device_id=0x540a,"
                     "subsystem_vendor_id=0xc0a9,subsystem_device_id=0x5021,revision=0x01") == 1);
    assert_true(nt_value(o, "node_pcidevice_max_link_transfers_per_second", LOC) == 1.6e10);
    assert_true(nt_value(o, "node_pcidevice_power_state", LOC ",state=D0") == 1);
    assert_true(isnan(nt_value(o, "node_pcidevice_numa_node", LOC)));
    nt_free(o);
    char ids[1200];
    snprintf(ids, sizeof ids, "%s/pci.ids", nt_fixtures());
    pt_flags(&nx_collector_pcidevice, (const char *[]){"collector.pcidevice.names", "true",
                                                       "collector.pcidevice.idsfile", ids, NULL});
    o = nt_run(&nx_collector_pcidevice);
    const nx_fam *f = nt_family(o, "node_pcidevice_info");
    assert_int_equal(f->n_labels, 19);
    bool found = false;
    for (size_t i = 0; i < f->n_samples; i++)
        if (strcmp(f->samples[i].values[10], "0x1521") == 0) {
            assert_string_equal(f->samples[i].values[14], "Intel Corporation");
            assert_string_equal(f->samples[i].values[15], "I350 Gigabit Network Connection");
            assert_string_equal(f->samples[i].values[17],
                                "Ethernet Network Adapter I350-T4 for OCP NIC 3.0");
            assert_string_equal(f->samples[i].values[18], "Ethernet controller");
            found = true;
        }
    assert_true(found);
    nt_free(o);
    pt_flags(&nx_collector_pcidevice, NULL);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "pci");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_pcidevice, &rc);
    assert_true(o->no_data);
    nt_free(o);
    char link[128];
    nt_write(dir, "sys/devices/pci0000:00/0000:00:1f.0/vendor", "0x8086\n");
    nt_write(dir, "sys/bus/pci/devices/.keep", "");
    snprintf(link, sizeof link, "%s/sys/bus/pci/devices/0000:00:1f.0", dir);
    assert_int_equal(symlink("../../../devices/pci0000:00/0000:00:1f.0", link), 0);
    snprintf(link, sizeof link, "%s/sys/bus/pci/devices/.keep", dir);
    unlink(link);
    o = nt_run_rc(&nx_collector_pcidevice, &rc); /* class etc. missing */
    assert_int_equal(rc, -1);
    nt_free(o);
    static const char *const files[] = {"class", "device", "subsystem_vendor", "subsystem_device",
                                        "revision"};
    for (int i = 0; i < 5; i++) {
        char p[128];
        snprintf(p, sizeof p, "sys/devices/pci0000:00/0000:00:1f.0/%s", files[i]);
        nt_write(dir, p, "0x01\n");
    }
    nt_write(dir, "sys/devices/pci0000:00/0000:00:1f.0/max_link_speed", "Unknown\n");
    nt_write(dir, "sys/devices/pci0000:00/0000:00:1f.0/numa_node", "-1\n");
    o = nt_run(&nx_collector_pcidevice);
    assert_true(nt_value(o, "node_pcidevice_max_link_transfers_per_second",
                         "segment=0000,bus=00,device=1f,function=0") == -1);
    assert_null(nt_family(o, "node_pcidevice_numa_node"));
    assert_null(nt_family(o, "node_pcidevice_power_state"));
    nt_free(o);
    nt_write(dir, "sys/devices/pci0000:00/0000:00:1f.0/current_link_speed", "8.0 GT/s\n");
    o = nt_run_rc(&nx_collector_pcidevice, &rc);
    assert_int_equal(rc, -1);
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
