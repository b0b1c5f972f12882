/*
 * Strict UTF-8: every boundary of the well-formed byte sequences table
 * (Unicode 15, table 3-7), overlongs, surrogates, truncation, and the
 * U+FFFD replacement used for lead data.
 */
#include "nurture/utf8.h"
#include "t.h"

static size_t
seq(const char *s)
{
    return nt_utf8_seq((const unsigned char *)s, strlen(s));
}

static void
test_boundaries(void)
{
    CHECK_INT(seq("A"), 1);
    CHECK_INT(seq("\x7f"), 1);
    CHECK_INT(seq("\xc2\x80"), 2);
    CHECK_INT(seq("\xdf\xbf"), 2);
    CHECK_INT(seq("\xe0\xa0\x80"), 3);
    CHECK_INT(seq("\xed\x9f\xbf"), 3); /* U+D7FF */
    CHECK_INT(seq("\xee\x80\x80"), 3); /* U+E000 */
    CHECK_INT(seq("\xef\xbf\xbf"), 3);
    CHECK_INT(seq("\xf0\x90\x80\x80"), 4);
    CHECK_INT(seq("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
}

static void
test_invalid(void)
{
    CHECK_INT(seq("\x80"), 0);             /* lone continuation */
    CHECK_INT(seq("\xc0\xaf"), 0);         /* overlong '/' */
    CHECK_INT(seq("\xc1\xbf"), 0);         /* overlong */
    CHECK_INT(seq("\xe0\x9f\xbf"), 0);     /* overlong 3-byte */
    CHECK_INT(seq("\xed\xa0\x80"), 0);     /* surrogate U+D800 */
    CHECK_INT(seq("\xf0\x8f\xbf\xbf"), 0); /* overlong 4-byte */
    CHECK_INT(seq("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
    CHECK_INT(seq("\xf5\x80\x80\x80"), 0);
    CHECK_INT(seq("\xff"), 0);
    CHECK_INT(nt_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0); /* truncated */
    CHECK_INT(seq("\xe2\x28\xa1"), 0);                                   /* bad continuation */
}

static void
test_valid_and_replace(void)
{
    nt_buf b;

    CHECK(nt_utf8_valid("Zoë Müller, 東京", strlen("Zoë Müller, 東京")));
    CHECK(nt_utf8_valid("", 0));
    CHECK(!nt_utf8_valid("caf\xe9", 4)); /* Latin-1 */
    nt_buf_init(&b, 0);
    nt_utf8_add_valid(&b, "caf\xe9 ok", 7);
    CHECK_STR(nt_buf_cstr(&b), "caf\xef\xbf\xbd ok");
    nt_buf_reset(&b);
    nt_utf8_add_valid(&b, "\xed\xa0\x80", 3);
    CHECK_STR(nt_buf_cstr(&b), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    nt_buf_release(&b);
}

int
main(void)
{
    RUN(test_boundaries);
    RUN(test_invalid);
    RUN(test_valid_and_replace);
    return t_done();
}
