/* SPDX-License-Identifier: Apache-2.0 */
/* schsm: URI parser and formatter. The parser is pure, so it is compiled straight into the test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../provider/uri.c"
#include "helper_run.h"

static char err[256];

static int parse(const char *s, schsm_uri *u)
{
    return schsm_uri_parse(s, u, err, sizeof(err));
}

static void expect_error(const char *s, const char *needle)
{
    schsm_uri u;
    ck_assert_msg(parse(s, &u) == 0, "accepted: %s", s);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s': error '%s' lacks '%s'", s, err, needle);
    schsm_uri_clear(&u);
}

START_TEST(bare_scheme)
{
    schsm_uri u;
    ck_assert_int_eq(parse("schsm:", &u), 1);
    ck_assert_ptr_null(u.reader);
    ck_assert_ptr_null(u.object);
    ck_assert_int_eq(u.has_id, 0);
    ck_assert_int_eq(u.type, SCHSM_URI_ANY);
    schsm_uri_clear(&u);
    ck_assert_int_eq(parse("SCHSM:object=a", &u), 1);
    ck_assert_str_eq(u.object, "a");
    schsm_uri_clear(&u);
}
END_TEST

START_TEST(all_attributes)
{
    schsm_uri u;
    ck_assert_int_eq(parse("schsm:reader=sim:/tmp/a%20b/card.state;token=My%20HSM;serial=DENK0200834;"
                           "object=web%3Bkey;id=%01%a0%FF;type=private?pin-source=file:/run/pin", &u), 1);
    ck_assert_str_eq(u.reader, "sim:/tmp/a b/card.state");
    ck_assert_str_eq(u.token, "My HSM");
    ck_assert_str_eq(u.serial, "DENK0200834");
    ck_assert_str_eq(u.object, "web;key");
    ck_assert_int_eq(u.has_id, 1);
    ck_assert_uint_eq(u.id_len, 3);
    ck_assert_uint_eq(u.id[0], 0x01);
    ck_assert_uint_eq(u.id[1], 0xa0);
    ck_assert_uint_eq(u.id[2], 0xff);
    ck_assert_int_eq(u.type, SCHSM_URI_PRIVATE);
    ck_assert_str_eq(u.pin_source, "file:/run/pin");
    ck_assert_ptr_null(u.pin_value);
    schsm_uri_clear(&u);

    ck_assert_int_eq(parse("schsm:type=cert?pin-value=648219", &u), 1);
    ck_assert_int_eq(u.type, SCHSM_URI_CERT);
    ck_assert_str_eq(u.pin_value, "648219");
    schsm_uri_clear(&u);
    ck_assert_ptr_null(u.pin_value);
    ck_assert_int_eq(parse("schsm:type=public", &u), 1);
    ck_assert_int_eq(u.type, SCHSM_URI_PUBLIC);
    schsm_uri_clear(&u);
}
END_TEST

START_TEST(malformed)
{
    expect_error("pkcs11:object=a", "not a schsm: URI");
    expect_error("schsm://object=a", "no '//'");
    expect_error("schsm:object", "no '=value'");
    expect_error("schsm:=a", "malformed attribute name");
    expect_error("schsm:object=a;;type=private", "empty attribute");
    expect_error("schsm:object=a;", "empty attribute");
    expect_error("schsm:object=", "empty value");
    expect_error("schsm:object=a?", "empty query");
    expect_error("schsm:object=a?pin-value=1?x", "more than one '?'");
    expect_error("schsm:object=a;object=b", "given twice");
    expect_error("schsm:id=%01;id=%02", "given twice");
    expect_error("schsm:type=secret", "must be private, public or cert");
    expect_error("schsm:type=private;type=cert", "given twice");
    expect_error("schsm:object=a b", "must be percent-encoded");
    expect_error("schsm:object=a%00b", "NUL byte");
    expect_error("schsm:id=", "must be 1 to 64 bytes");
    expect_error("schsm:?pin-source=pin.txt", "file:PATH or env:NAME");
    expect_error("schsm:?pin-source=env:", "names no file");
    expect_error("schsm:?pin-value=1&pin-source=env:X", "not both");
    expect_error("schsm:?pin-value=1&pin-value=2", "given twice");
}
END_TEST

START_TEST(percent_encoding)
{
    expect_error("schsm:object=a%2", "bad percent-encoding in attribute 'object'");
    expect_error("schsm:object=a%zz", "bad percent-encoding");
    expect_error("schsm:id=%0g", "bad percent-encoding in attribute 'id'");
    /* 65 bytes of ID */
    char buf[6 + 3 + 65 * 3 + 1] = "schsm:id=";
    for (int i = 0; i < 65; i++)
        strcat(buf, "%41");
    expect_error(buf, "must be 1 to 64 bytes");
    /* a bad escape in pin-value must not echo the secret */
    schsm_uri u;
    ck_assert_int_eq(parse("schsm:?pin-value=12%3x4567", &u), 0);
    ck_assert_ptr_null(strstr(err, "12"));
    ck_assert_ptr_null(strstr(err, "4567"));
    ck_assert_ptr_nonnull(strstr(err, "pin-value"));
    schsm_uri_clear(&u);
    /* the message for a non-secret attribute stays inside that attribute */
    ck_assert_int_eq(parse("schsm:?pin-source=file:%zz&pin-value=987654", &u), 0);
    ck_assert_ptr_null(strstr(err, "987654"));
    schsm_uri_clear(&u);
}
END_TEST

START_TEST(unknown_attributes)
{
    expect_error("schsm:label=web", "unknown path attribute 'label'");
    expect_error("schsm:object=web?module-path=/x", "unknown query attribute 'module-path'");
    expect_error("schsm:pin-value=1", "belongs in the query");
    expect_error("schsm:?object=web", "belongs in the path");
}
END_TEST

START_TEST(format_round_trip)
{
    schsm_uri u, v;
    ck_assert_int_eq(parse("schsm:object=web%20key%2Fa;id=%00%01;reader=sim:/x/y;type=private?pin-value=1", &u), 1);
    char *s = schsm_uri_format(&u);
    ck_assert_ptr_nonnull(s);
    /* canonical order, pin-value never written */
    ck_assert_str_eq(s, "schsm:reader=sim:/x/y;object=web%20key%2Fa;id=%00%01;type=private");
    ck_assert_int_eq(parse(s, &v), 1);
    ck_assert_str_eq(v.object, "web key/a");
    ck_assert_uint_eq(v.id_len, 2);
    ck_assert_mem_eq(v.id, u.id, 2);
    free(s);
    schsm_uri_clear(&u);
    schsm_uri_clear(&v);

    uint8_t id[2] = {0xab, 0x01};
    s = schsm_uri_for_key(NULL, "DENK0100001", "web", id, 2);
    ck_assert_str_eq(s, "schsm:serial=DENK0100001;object=web;id=%AB%01;type=private");
    free(s);
    s = schsm_uri_for_key(NULL, NULL, "", id, 1);
    ck_assert_str_eq(s, "schsm:id=%AB;type=private");
    free(s);

    ck_assert_int_eq(parse("schsm:?pin-source=file:/a%20b", &u), 1);
    s = schsm_uri_format(&u);
    ck_assert_str_eq(s, "schsm:?pin-source=file:/a%20b");
    free(s);
    schsm_uri_clear(&u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uri");
    TCase *tc = tcase_create("uri");
    tcase_add_test(tc, bare_scheme);
    tcase_add_test(tc, all_attributes);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, percent_encoding);
    tcase_add_test(tc, unknown_attributes);
    tcase_add_test(tc, format_round_trip);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
