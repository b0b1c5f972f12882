/*
 * Lead values: field access, copying, and the checks every lead passes
 * before it is stored (a deliverable-looking address in normal form, a
 * configured stage, a real time zone).
 */
#include <ctype.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nurture/lead.h"
#include "nurture/tz.h"

#include "banned.h"

const char *const nt_lead_std_fields[] = {
    "email", "stage", "timezone", "first_name", "last_name", "company",
    "title", "phone", "owner",    "source",     NULL,
};

void
nt_lead_init(nt_lead *l)
{
    memset(l, 0, sizeof(*l));
}

void
nt_lead_release(nt_lead *l)
{
    free(l->email);
    free(l->stage);
    free(l->timezone);
    free(l->first_name);
    free(l->last_name);
    free(l->company);
    free(l->title);
    free(l->phone);
    free(l->owner);
    free(l->source);
    for (size_t i = 0; i < l->nfields; i++) {
        free(l->fields[i].name);
        free(l->fields[i].value);
    }
    free(l->fields);
    memset(l, 0, sizeof(*l));
}

static char **
std_slot(nt_lead *l, const char *name)
{
    if (!strcmp(name, "email"))
        return &l->email;
    if (!strcmp(name, "stage"))
        return &l->stage;
    if (!strcmp(name, "timezone"))
        return &l->timezone;
    if (!strcmp(name, "first_name"))
        return &l->first_name;
    if (!strcmp(name, "last_name"))
        return &l->last_name;
    if (!strcmp(name, "company"))
        return &l->company;
    if (!strcmp(name, "title"))
        return &l->title;
    if (!strcmp(name, "phone"))
        return &l->phone;
    if (!strcmp(name, "owner"))
        return &l->owner;
    if (!strcmp(name, "source"))
        return &l->source;
    return NULL;
}

const char *
nt_lead_get(const nt_lead *l, const char *name)
{
    char **slot = std_slot((nt_lead *)l, name);
    size_t lo = 0, hi = l->nfields;

    if (slot)
        return *slot;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->fields[mid].name, name);
        if (c == 0)
            return l->fields[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static nt_err
set_custom(nt_lead *l, const char *name, const char *value)
{
    size_t i = 0;

    while (i < l->nfields && strcmp(l->fields[i].name, name) < 0)
        i++;
    if (i < l->nfields && strcmp(l->fields[i].name, name) == 0) {
        if (!value) {
            free(l->fields[i].name);
            free(l->fields[i].value);
            memmove(&l->fields[i], &l->fields[i + 1], (l->nfields - i - 1) * sizeof(nt_field));
            l->nfields--;
            return NT_OK;
        }
        char *v = strdup(value);
        if (!v)
            return NT_ENOMEM;
        free(l->fields[i].value);
        l->fields[i].value = v;
        return NT_OK;
    }
    if (!value)
        return NT_OK;
    if (l->nfields >= NT_LEAD_MAX_FIELDS)
        return NT_ELIMIT;
    nt_field *nf = realloc(l->fields, (l->nfields + 1) * sizeof(*nf));
    if (!nf)
        return NT_ENOMEM;
    l->fields = nf;
    memmove(&l->fields[i + 1], &l->fields[i], (l->nfields - i) * sizeof(nt_field));
    l->fields[i].name = strdup(name);
    l->fields[i].value = strdup(value);
    l->nfields++;
    if (!l->fields[i].name || !l->fields[i].value)
        return NT_ENOMEM;
    return NT_OK;
}

nt_err
nt_lead_set(nt_lead *l, const char *name, const char *value)
{
    char **slot = std_slot(l, name);

    if (value && !*value)
        value = NULL;
    if (value && strlen(value) > NT_LEAD_MAX_VALUE)
        return NT_ELIMIT;
    if (slot) {
        char *v = value ? strdup(value) : NULL;
        if (value && !v)
            return NT_ENOMEM;
        free(*slot);
        *slot = v;
        return NT_OK;
    }
    return set_custom(l, name, value);
}

nt_err
nt_lead_copy(nt_lead *dst, const nt_lead *src)
{
    nt_err err = NT_OK;

    nt_lead_init(dst);
    dst->id = src->id;
    dst->created_at = src->created_at;
    dst->updated_at = src->updated_at;
    dst->stage_changed_at = src->stage_changed_at;
    for (size_t i = 0; nt_lead_std_fields[i] && !err; i++)
        err = nt_lead_set(dst, nt_lead_std_fields[i], nt_lead_get(src, nt_lead_std_fields[i]));
    for (size_t i = 0; i < src->nfields && !err; i++)
        err = nt_lead_set(dst, src->fields[i].name, src->fields[i].value);
    if (err)
        nt_lead_release(dst);
    return err;
}

int
nt_field_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64 || !islower((unsigned char)name[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return 0;
    return 1;
}

/* RFC 5322 atext, plus '.' handled by the caller. */
static int
atext(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static nt_err
check_local(const char *s, size_t n, nt_diag *d)
{
    if (n == 0)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "nothing before the '@'");
    if (n > 64)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the part before the '@' is longer than 64 characters");
    if (s[0] == '.' || s[n - 1] == '.')
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the part before the '@' starts or ends with a dot");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' && s[i + 1] == '.')
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "two dots in a row before the '@'");
        if (c != '.' && !atext(c) && c < 0x80)
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "character '%c' is not allowed before the '@'", c >= 0x20 ? c : '?');
    }
    return NT_OK;
}

static nt_err
check_domain(const char *s, nt_diag *d)
{
    size_t n = strlen(s), label = 0;
    int dots = 0;

    if (n == 0)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "nothing after the '@'");
    if (n > 253)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the domain is too long");
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '\0') {
            if (label == 0)
                return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                                   "the domain has an empty part (two dots, or a dot at an end)");
            if (label > 63)
                return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                                   "a part of the domain is longer than 63 characters");
            if (s[i - 1] == '-' || s[i - label] == '-')
                return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                                   "a part of the domain starts or ends with '-'");
            dots += c == '.';
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-')
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "character '%c' is not allowed in the domain", c >= 0x20 ? c : '?');
        label++;
    }
    if (dots == 0)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the domain '%s' has no dot; a full domain such as example.com is "
                           "needed",
                           s);
    return NT_OK;
}

/*
 * True for an all-ASCII domain with no label that has "--" in its 3rd and
 * 4th places (punycode "xn--" labels and the reserved forms IDNA checks).
 * For these, idn2 does nothing but lower-case, and check_domain makes the
 * same checks, so the import of a million leads need not pay for idn2 on
 * each one.
 */
static int
plain_domain(const char *s)
{
    size_t label = 0;

    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return 0;
        if (*s == '.') {
            label = 0;
            continue;
        }
        if (label == 3 && s[0] == '-' && s[-1] == '-')
            return 0;
        label++;
    }
    return 1;
}

nt_err
nt_email_normalize(const char *s, size_t len, char **out, nt_diag *d)
{
    const char *at;
    char *local = NULL, *domain = NULL, *ascii = NULL, *res = NULL;
    int fast = 0;
    size_t llen;
    nt_err err;
    int rc;

    *out = NULL;
    while (len && isspace((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the email address is empty");
    if (len > 254)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                           "the email address is longer than 254 "
                           "characters");
    if (memchr(s, '\0', len))
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the email address contains a NUL byte");
    at = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = s + i;
    if (!at)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "'%.*s' has no '@'", (int)len, s);
    llen = (size_t)(at - s);
    if ((err = check_local(s, llen, d)) != NT_OK)
        return err;
    local = strndup(s, llen);
    domain = strndup(at + 1, len - llen - 1);
    if (!local || !domain) {
        err = NT_ENOMEM;
        goto out;
    }
    if (plain_domain(domain)) {
        /* IDNA would only lower-case it (below); skip the costly call. */
        ascii = domain;
        domain = NULL;
        fast = 1;
    } else if ((rc = idn2_to_ascii_8z(domain, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT)) !=
               IDN2_OK) {
        err = nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the domain '%s' is not valid: %s", domain,
                          idn2_strerror(rc));
        goto out;
    }
    for (char *p = ascii; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if ((err = check_domain(ascii, d)) != NT_OK)
        goto out;
    res = malloc(llen + 1 + strlen(ascii) + 1);
    if (!res) {
        err = NT_ENOMEM;
        goto out;
    }
    memcpy(res, local, llen);
    res[llen] = '@';
    memcpy(res + llen + 1, ascii, strlen(ascii) + 1);
    if (strlen(res) > 254) {
        free(res);
        err = nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "the email address is too long");
        goto out;
    }
    *out = res;
    err = NT_OK;
out:
    free(local);
    free(domain);
    if (fast)
        free(ascii);
    else
        idn2_free(ascii);
    return err;
}

const char *
nt_email_domain(const char *email)
{
    const char *at = strrchr(email, '@');
    return at ? at + 1 : "";
}

nt_err
nt_lead_check(nt_lead *l, char *const *stages, size_t nstages, nt_tzcache *zones, nt_diag *d)
{
    char *norm;
    nt_err err;

    if (!l->email)
        return nt_diag_set(d, NT_EINVAL, NULL, 0, 0, "no email address");
    if ((err = nt_email_normalize(l->email, strlen(l->email), &norm, d)) != NT_OK)
        return err;
    free(l->email);
    l->email = norm;
    if (l->stage && nstages) {
        size_t i;
        for (i = 0; i < nstages; i++)
            if (strcasecmp(stages[i], l->stage) == 0)
                break;
        if (i == nstages)
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "unknown stage '%s' (the configured stages are listed by "
                               "`nurture stages`)",
                               l->stage);
        if (strcmp(stages[i], l->stage) != 0 && (err = nt_lead_set(l, "stage", stages[i])))
            return err;
    }
    if (l->timezone) {
        nt_tz *tz = NULL;
        const nt_tz *cached;
        int ok = nt_tz_name_ok(l->timezone);
        if (ok && zones)
            ok = nt_tzcache_get(zones, l->timezone, &cached, NULL) == NT_OK;
        else if (ok)
            ok = nt_tz_load(l->timezone, &tz, NULL) == NT_OK;
        nt_tz_free(tz);
        if (!ok)
            return nt_diag_set(d, NT_EINVAL, NULL, 0, 0,
                               "unknown time zone '%s': use an IANA name such as Europe/Paris",
                               l->timezone);
    }
    return NT_OK;
}
