/* Kernel counters: /proc/net/netstat, snmp, snmp6, sockstat{,6}, softnet_stat.
 *
 * The parsers are pure functions of the file's text.  Values are JSON
 * integers; a counter above INT64_MAX is stored as a decimal string.
 *
 * Errors: a file whose lines are not in the expected shape at all (no
 * "Prefix:" where one must be, binary data) adds nothing.  A problem confined
 * to one prefix (header and value counts differ, a header without its value
 * line, a value that is not a number, a name given twice) drops that whole
 * prefix, never part of it; the other prefixes are still added.  In both
 * cases the parser returns -EINVAL and err describes the first problem and
 * names the prefixes that were dropped.  A prefix that out already holds is
 * not overwritten: it counts as a problem.  -ENOMEM when out of memory.
 *
 * Reference rule (jansson): out is borrowed and filled in place; the object
 * returned by counters_parse_softnet is a new reference. */
#ifndef NK_COUNTERS_H
#define NK_COUNTERS_H

#include <stddef.h>
#include <jansson.h>

/* Parse the header/value line pairs of /proc/net/netstat or /proc/net/snmp
 * ("TcpExt: A B\nTcpExt: 1 2\n") into out[prefix][name] = integer, by name.
 * A prefix may come in several pairs (IcmpMsg is printed 16 types per pair);
 * they are merged.  Returns 0, -EINVAL or -ENOMEM as described above. */
int counters_parse_netstat(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/snmp6 ("Ip6InReceives 123") into out["Ip6"]["InReceives"]:
 * the prefix is the leading alphabetic part of the name followed by "6"
 * (Ip6, Icmp6, Udp6, UdpLite6). */
int counters_parse_snmp6(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/sockstat or sockstat6 ("TCP: inuse 1 orphan 0 ...") into
 * out["TCP"]["inuse"] = 1, ... */
int counters_parse_sockstat(const char *text, json_t *out, char *err, size_t errlen);

/* Parse /proc/net/softnet_stat into a new object {"columns", "cpus",
 * "total"} (see doc/facts.md).  Returns NULL with a message in err on
 * malformed input (any bad row rejects the file) or when out of memory. */
json_t *counters_parse_softnet(const char *text, char *err, size_t errlen);

#endif
