/*
 * Fuzz target for nt_token_check and nt_token_find (src/token.c), the
 * parsers that face forged tokens in replies, bounces and unsubscribe
 * requests.  With a fixed key, the input is checked as a token and searched
 * as an address, Message-ID or URL for each kind.  Nothing may verify that
 * nt_token_make did not produce: whatever verifies is re-made from the id it
 * gave and must equal the input (case aside), or appear in it.  The first 8
 * bytes are also used as a send id for a round trip through the builders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nurture/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seeds in tests/fuzz/corpus/token/ are made with this secret. */
static const char fuzz_secret[] = "nurture fuzzing secret, not for production";

static const nt_token_kind kinds[] = {NT_TOKEN_MSGID, NT_TOKEN_BOUNCE, NT_TOKEN_UNSUB};

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Does tok (lowercase) occur in s[0..n), case-insensitively? */
static int
contains_ci(const uint8_t *s, size_t n, const char *tok)
{
    size_t t = strlen(tok), i, j;

    for (i = 0; i + t <= n; i++) {
        for (j = 0; j < t && lower(s[i + j]) == tok[j]; j++)
            ;
        if (j == t)
            return 1;
    }
    return 0;
}

static void
round_trip(const nt_token_key *k, int64_t id)
{
    char out[NT_TOKEN_ADDR_MAX + 64];
    int64_t back;

    if (nt_token_message_id(k, id, "example.com", out, sizeof(out)) != NT_OK ||
        nt_token_find(k, NT_TOKEN_MSGID, out, strlen(out), &back) != NT_OK || back != id)
        abort();
    if (nt_token_verp(k, id, "bounces", "example.com", out, sizeof(out)) != NT_OK ||
        nt_token_find(k, NT_TOKEN_BOUNCE, out, strlen(out), &back) != NT_OK || back != id)
        abort();
    if (nt_token_unsub_mailto(k, id, "example.com", out, sizeof(out)) != NT_OK ||
        nt_token_find(k, NT_TOKEN_UNSUB, out, strlen(out), &back) != NT_OK || back != id)
        abort();
    if (nt_token_unsub_url(k, id, "https://example.com/u?c=1", out, sizeof(out)) != NT_OK ||
        nt_token_find(k, NT_TOKEN_UNSUB, out, strlen(out), &back) != NT_OK || back != id)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nt_token_key key;
    static int ready;
    char *s, tok[NT_TOKEN_MAX];
    size_t i, c;

    if (!ready) {
        if (nt_token_key_init(&key, fuzz_secret, strlen(fuzz_secret), NULL) != NT_OK)
            abort();
        ready = 1;
    }
    /* An exact-size copy, so that ASan sees any read past the end. */
    s = malloc(size ? size : 1);
    if (!s)
        return 0;
    if (size)
        memcpy(s, data, size);

    for (c = 0; c < sizeof(kinds) / sizeof(kinds[0]); c++) {
        int64_t id = -1;
        nt_err err = nt_token_check(&key, kinds[c], s, size, &id);

        if (err == NT_OK) {
            if (id < 0 || nt_token_make(&key, kinds[c], id, tok, sizeof(tok)) != NT_OK ||
                strlen(tok) != size)
                abort();
            for (i = 0; i < size; i++)
                if (lower((unsigned char)s[i]) != tok[i])
                    abort();
        } else if (err != NT_EINVAL) {
            abort();
        }

        id = -1;
        err = nt_token_find(&key, kinds[c], s, size, &id);
        if (err == NT_OK) {
            if (id < 0 || nt_token_make(&key, kinds[c], id, tok, sizeof(tok)) != NT_OK ||
                !contains_ci(data, size, tok))
                abort();
        } else if (err != NT_EINVAL && err != NT_ENOTFOUND) {
            abort();
        }
    }

    if (size >= 8) {
        uint64_t u = 0;
        for (i = 0; i < 8; i++)
            u = u << 8 | data[i];
        round_trip(&key, (int64_t)(u >> 1));
        round_trip(&key, (int64_t)((u >> (u & 63)) & (uint64_t)INT64_MAX));
        if (nt_token_make(&key, kinds[u % 3], (int64_t)(u | (UINT64_C(1) << 63)), tok,
                          sizeof(tok)) != NT_EINVAL)
            abort();
    }
    free(s);
    return 0;
}
