/*
 * test_xml.c - the XML reader on an EC2-shaped answer: nesting, namespace
 * prefixes, attributes, entities and character references, CDATA, comments
 * and the declaration; and the errors it reports.
 */
#include "unit/unit.h"

#include "discovery/internal.h"

static void test_parse(void **state)
{
    (void)state;
    const char *doc =
        "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- a comment -->\n"
        "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
        "  <requestId a='x>y'>r-1</requestId>\n"
        "  <reservationSet>\n"
        "    <item><ownerId>123</ownerId></item>\n"
        "    <item><ownerId>456</ownerId><empty/><x:pre>p</x:pre></item>\n"
        "  </reservationSet>\n"
        "  <text>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#xe9;&#x1F600;"
        "<![CDATA[<raw & stuff>]]></text>\n"
        "</DescribeInstancesResponse>\n<!-- trailing -->\n";
    core_arena a;
    core_arena_init(&a, 0);
    core_err err = {{0}};
    disc_xml *root = disc_xml_parse(&a, doc, strlen(doc), &err);
    assert_non_null(root);
    assert_string_equal(root->name, "DescribeInstancesResponse");
    assert_string_equal(disc_xml_text(root, "requestId"), "r-1");
    const disc_xml *set = disc_xml_child(root, "reservationSet");
    assert_non_null(set);
    const disc_xml *i1 = set->child, *i2 = i1->next;
    assert_string_equal(i1->name, "item");
    assert_string_equal(disc_xml_text(i1, "ownerId"), "123");
    assert_string_equal(disc_xml_text(i2, "ownerId"), "456");
    assert_string_equal(disc_xml_text(i2, "empty"), "");
    assert_string_equal(disc_xml_text(i2, "pre"), "p");
    assert_null(i2->next);
    assert_null(disc_xml_text(i2, "missing"));
    assert_string_equal(disc_xml_text(root, "text"),
                        "a & b <c> \"d\" 'e' AB\xc3\xa9\xf0\x9f\x98\x80<raw & stuff>");
    core_arena_destroy(&a);
}

static void test_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "<a>",
        "<a></b>",
        "<a>&nope;</a>",
        "<a>&#xd800;</a>",
        "<a b=c></a>",
        "<a></a><b/>",
        "<a><!-- x </a>",
        "text",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        core_arena a;
        core_arena_init(&a, 0);
        core_err err = {{0}};
        assert_null(disc_xml_parse(&a, bad[i], strlen(bad[i]), &err));
        assert_non_null(strstr(err.msg, "XML syntax error at offset"));
        core_arena_destroy(&a);
    }
    /* Nesting past 256 levels. */
    core_sb deep = CORE_SB_INIT;
    for (int i = 0; i < 300; i++)
        core_sb_adds(&deep, "<a>");
    core_arena a;
    core_arena_init(&a, 0);
    core_err err = {{0}};
    assert_null(disc_xml_parse(&a, deep.buf, deep.len, &err));
    assert_non_null(strstr(err.msg, "nesting too deep"));
    core_arena_destroy(&a);
    core_sb_destroy(&deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
