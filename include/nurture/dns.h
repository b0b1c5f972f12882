/*
 * TXT records from DNS, for `nurture doctor`'s SPF, DKIM and DMARC checks.
 * The only module that includes <resolv.h>.
 */
#ifndef NURTURE_DNS_H
#define NURTURE_DNS_H

#include "nurture/error.h"

/* Called once per TXT record (its strings joined); return non-zero to stop. */
typedef int (*nt_dns_txt_cb)(void *ctx, const char *txt);

/*
 * Look up the TXT records of `name`.  NT_OK when there were records,
 * NT_ENOTFOUND when the name has none (or does not exist), NT_EIO when DNS
 * could not be asked (no resolver, no network, timeout): the caller says
 * the check was skipped.  A few seconds at most.
 */
nt_err nt_dns_txt(const char *name, nt_dns_txt_cb cb, void *ctx, nt_diag *d);

#endif
