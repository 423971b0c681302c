/* Kernel counters: /proc/net/netstat, snmp, snmp6, sockstat{,6}, softnet_stat. */
#ifndef NK_COUNTERS_H
#define NK_COUNTERS_H

#include <jansson.h>

/* Parse the header/value line pairs of /proc/net/netstat or /proc/net/snmp
 * ("TcpExt: A B\nTcpExt: 1 2\n") into out[prefix][name] = integer.
 * Returns 0 or -EINVAL with a message in err. */
int counters_parse_netstat(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/snmp6 ("Ip6InReceives 123") into out["Ip6"]["InReceives"]. */
int counters_parse_snmp6(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/sockstat or sockstat6 ("TCP: inuse 1 orphan 0 ...") into
 * out["TCP"]["inuse"] = 1, ... */
int counters_parse_sockstat(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/softnet_stat into a new object (see doc/facts.md), by
 * column count.  Returns NULL with a message in err on malformed input. */
json_t *counters_parse_softnet(const char *text, char *err, size_t errlen);

#endif
