/*
 * TXT lookups through the system resolver (see dns.h), with short timeouts
 * so that `nurture doctor` on a machine without DNS answers quickly.
 */
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "nurture/dns.h"

#include "banned.h"

nt_err
nt_dns_txt(const char *name, nt_dns_txt_cb cb, void *ctx, nt_diag *d)
{
    struct __res_state rs;
    unsigned char answer[8192];
    ns_msg msg;
    int len, n, found = 0;

    memset(&rs, 0, sizeof(rs));
    if (res_ninit(&rs) != 0)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "no DNS resolver configured");
    rs.retrans = 2;
    rs.retry = 1;
    len = res_nquery(&rs, name, ns_c_in, ns_t_txt, answer, sizeof(answer));
    if (len < 0) {
        int herr = rs.res_h_errno;
        res_nclose(&rs);
        if (herr == HOST_NOT_FOUND || herr == NO_DATA)
            return nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "%s has no TXT record", name);
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "DNS did not answer for %s", name);
    }
    res_nclose(&rs);
    if (ns_initparse(answer, len, &msg) != 0)
        return nt_diag_set(d, NT_EIO, NULL, 0, 0, "unreadable DNS answer for %s", name);
    n = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < n; i++) {
        ns_rr rr;
        char txt[4096];
        size_t out = 0;
        const unsigned char *p, *end;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
            continue;
        p = ns_rr_rdata(rr);
        end = p + ns_rr_rdlen(rr);
        /* A TXT record is a list of <length><bytes> strings, read as one. */
        while (p < end) {
            size_t l = *p++;
            if (l > (size_t)(end - p))
                l = (size_t)(end - p);
            if (out + l >= sizeof(txt))
                l = sizeof(txt) - 1 - out;
            memcpy(txt + out, p, l);
            out += l;
            p += l;
        }
        txt[out] = '\0';
        found = 1;
        if (cb(ctx, txt))
            break;
    }
    return found ? NT_OK : nt_diag_set(d, NT_ENOTFOUND, NULL, 0, 0, "%s has no TXT record", name);
}
