/*
 * Signed tokens that name a send.
 *
 * Every message the engine sends carries a token in its Message-ID, in its
 * VERP return path and in its List-Unsubscribe address and URL, so that a
 * reply, a bounce or an unsubscribe that comes back names the exact send it
 * answers.  What comes back is untrusted: only a token whose MAC verifies
 * under the configured secret may act on a lead; anything else is a forgery
 * to be recorded and ignored.
 *
 * A token is lowercase RFC 4648 base32 without padding of
 *
 *     version (1 byte) | send id (unsigned LEB128 varint, 1-9 bytes)
 *                      | MAC (first 10 bytes of HMAC-SHA256)
 *
 * where the MAC covers version | kind | varint under a subkey derived for
 * that kind, so a token of one kind never verifies as another.  Lowercase
 * because MTAs may lower-case local parts; base32 because it is safe in URLs,
 * local parts and Message-IDs unquoted.  Verification accepts either case.
 * Every accepted token is byte for byte one that nt_token_make produces
 * (canonical varint, zero pad bits), so a token cannot be altered and still
 * verify.
 *
 * The address helpers below are the one definition of where a token sits;
 * the sender builds with them and the inbound side finds with
 * nt_token_find.
 */
#ifndef NURTURE_TOKEN_H
#define NURTURE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "nurture/error.h"

/* Longest token (send id INT64_MAX: 20 bytes, 32 characters) plus its NUL. */
#define NT_TOKEN_MAX 33
/* Shortest token (send id below 128: 12 bytes, 20 characters). */
#define NT_TOKEN_MIN_LEN 20
/* Shortest secret accepted, in bytes. */
#define NT_TOKEN_SECRET_MIN 16
/* Longest text nt_token_find looks into; longer input is rejected. */
#define NT_TOKEN_FIND_MAX 4096
/* Longest base URL nt_token_unsub_url takes, in bytes. */
#define NT_TOKEN_URL_BASE_MAX 2000
/* Room for any address or Message-ID built here: a 64-byte local part, '@'
 * and a 253-byte domain, plus the NUL. */
#define NT_TOKEN_ADDR_MAX 320

typedef enum nt_token_kind {
    NT_TOKEN_MSGID = 'm',  /* left part of the Message-ID */
    NT_TOKEN_BOUNCE = 'b', /* VERP return path */
    NT_TOKEN_UNSUB = 'u',  /* List-Unsubscribe mailto and one-click URL */
} nt_token_kind;

/*
 * Subkeys derived from the secret, one per kind.  Embedded and copyable, no
 * heap: nt_token_key_init / nt_token_key_release.  The secret itself is not
 * kept.
 */
typedef struct nt_token_key {
    unsigned char msgid[32];
    unsigned char bounce[32];
    unsigned char unsub[32];
    int ready; /* set by a successful init, cleared by release */
} nt_token_key;

/*
 * Derive k from secret[0..len) (borrowed for the call; the caller wipes its
 * own copy).  NT_EINVAL when the secret is shorter than NT_TOKEN_SECRET_MIN
 * bytes, NT_ENOMEM when libcrypto fails; the diag (may be NULL) never
 * contains the secret.  On failure k is wiped and not ready.
 */
nt_err nt_token_key_init(nt_token_key *k, const char *secret, size_t len, nt_diag *d);

/* Wipe k (OPENSSL_cleanse).  Safe on a wiped or failed key. */
void nt_token_key_release(nt_token_key *k);

/*
 * Write the token of `kind` for send_id into out (NUL-terminated, at most
 * NT_TOKEN_MAX bytes with the NUL; give NT_TOKEN_MAX).  NT_EINVAL for a
 * negative id, an unknown kind or a key that is not ready; NT_ELIMIT when
 * outsz is too small; NT_ENOMEM when libcrypto fails.  On failure out is ""
 * (when outsz > 0).
 */
nt_err nt_token_make(const nt_token_key *k, nt_token_kind kind, int64_t send_id, char *out,
                     size_t outsz);

/*
 * Verify the token s[0..len) (not NUL-terminated; never read past len) as a
 * token of `kind`.  NT_OK and *send_id set only when it decodes (either
 * case), has a known version, is in canonical form and its MAC matches
 * (compared in constant time).  NT_EINVAL otherwise, including for inputs
 * longer than NT_TOKEN_MAX - 1; *send_id is then left alone.
 */
nt_err nt_token_check(const nt_token_key *k, nt_token_kind kind, const char *s, size_t len,
                      int64_t *send_id);

/*
 * Builders.  Each writes a NUL-terminated string into out (NT_TOKEN_ADDR_MAX
 * is enough for every address; a URL needs strlen(base_url) + 4 +
 * NT_TOKEN_MAX).  Domains must be ASCII host names (letters, digits, '-',
 * '.', at most 253 bytes; IDNs as A-labels), so nothing built here can carry
 * CR, LF, spaces or angle brackets into a header.  NT_EINVAL for a bad id,
 * domain, prefix or URL; NT_ELIMIT when out is too small; out is "" on
 * failure (when outsz > 0).
 */

/* "TOKEN@domain", kind NT_TOKEN_MSGID, without angle brackets. */
nt_err nt_token_message_id(const nt_token_key *k, int64_t send_id, const char *domain, char *out,
                           size_t outsz);

/* "local_prefix+TOKEN@domain", kind NT_TOKEN_BOUNCE.  local_prefix NULL
 * means "bounces"; it may hold letters, digits, '-', '_' and inner '.', but
 * no '+', and at most 31 bytes (the local part stays within 64). */
nt_err nt_token_verp(const nt_token_key *k, int64_t send_id, const char *local_prefix,
                     const char *domain, char *out, size_t outsz);

/* "unsubscribe+TOKEN@domain", kind NT_TOKEN_UNSUB (the mailto address of
 * List-Unsubscribe, without "mailto:"). */
nt_err nt_token_unsub_mailto(const nt_token_key *k, int64_t send_id, const char *domain, char *out,
                             size_t outsz);

/*
 * base_url + "?t=TOKEN", or + "&t=TOKEN" when base_url already has a query
 * (just "t=TOKEN" when it ends in '?' or '&'); kind NT_TOKEN_UNSUB.  base_url
 * must start with https:// (RFC 8058), be at most NT_TOKEN_URL_BASE_MAX
 * bytes, and hold only printable ASCII other than space, '"', '<', '>', '\\'
 * and '#' (it goes inside <> in a header, and the token must stay in the
 * query).
 */
nt_err nt_token_unsub_url(const nt_token_key *k, int64_t send_id, const char *base_url, char *out,
                          size_t outsz);

/*
 * Find and verify a token of `kind` in text[0..len) (not NUL-terminated):
 *
 *   - an http(s) URL: the value of its last "t" query parameter;
 *   - otherwise an address or Message-ID, with or without <> (the part
 *     inside the first <...> is used, so "Name <addr>" works too), with or
 *     without "mailto:" and a "?..." after it, surrounded by optional
 *     white space.  For NT_TOKEN_BOUNCE and NT_TOKEN_UNSUB the candidate is
 *     what lies between the first '+' and the last '@' ("Bounces+TOKEN@
 *     Example.COM" works); for NT_TOKEN_MSGID it is the whole left part,
 *     and only when it is made of base32 characters and has a token's
 *     length, so that the Message-IDs of other mailers in a References
 *     header are not taken for forgeries.
 *
 * An empty candidate ("bounces+@...", "?t=") counts as none.
 *
 * NT_ENOTFOUND when there is no candidate, NT_EINVAL when there is one and it
 * does not verify (a forgery, to be recorded and ignored), when len is over
 * NT_TOKEN_FIND_MAX, or for an unknown kind or a key that is not ready;
 * NT_OK with *send_id set when it verifies (left alone otherwise).
 */
nt_err nt_token_find(const nt_token_key *k, nt_token_kind kind, const char *text, size_t len,
                     int64_t *send_id);

#endif
