/*
 * test_crc32c.c - CRC-32C against the RFC 3720 (iSCSI) check values, chaining,
 * and the hardware path against the table path.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

static void test_known_values(void **state)
{
    uint8_t buf[32];
    assert_int_equal(tsdb_crc32c(0, "123456789", 9), 0xe3069283);
    assert_int_equal(tsdb_crc32c(0, "", 0), 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(tsdb_crc32c(0, buf, 32), 0x8a9136aa);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(tsdb_crc32c(0, buf, 32), 0x62a8ab43);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(tsdb_crc32c(0, buf, 32), 0x46dd794e);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(tsdb_crc32c(0, buf, 32), 0x113fdb5c);
    assert_int_equal(tsdb_crc32c_sw(0, "123456789", 9), 0xe3069283);
}

static void test_chaining_and_paths(void **state)
{
    enum { N = 4096 };
    static uint8_t buf[N + 8];
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rnd_next(&seed);
    for (int round = 0; round < 2000; round++) {
        size_t off = rnd_next(&seed) % 8, n = rnd_next(&seed) % N,
               cut = n ? rnd_next(&seed) % n : 0;
        uint32_t whole = tsdb_crc32c_sw(0, buf + off, n);
        assert_int_equal(tsdb_crc32c(0, buf + off, n), whole);
        uint32_t chained = tsdb_crc32c(tsdb_crc32c(0, buf + off, cut), buf + off + cut, n - cut);
        assert_int_equal(chained, whole);
        assert_int_equal(
            tsdb_crc32c_sw(tsdb_crc32c_sw(0, buf + off, cut), buf + off + cut, n - cut), whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_chaining_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
