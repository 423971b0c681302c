/* The facts document: sysctl collection below a root, validation of saved
 * documents, and the JSON round trip. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facts/facts.h"
#include "facts/sysctl.h"
#include "tap.h"

static char tmp[] = "/tmp/nk-facts-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512], dir[600];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(dir, sizeof(dir), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(dir) != 0)
		abort();
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static const struct {
	const char *doc, *err;
} bad_docs[] = {
	{ "[]", "must be a JSON object" },
	{ "{}", "missing \"schema_version\"" },
	{ "{\"schema_version\": \"1\"}", "must be an integer" },
	{ "{\"schema_version\": 2, \"host\": {}, \"sysctl\": {}, \"sockets\": {}}", "schema_version 2 is not supported" },
	{ "{\"schema_version\": 1}", "missing \"host\"" },
	{ "{\"schema_version\": 1, \"host\": [], \"sysctl\": {}, \"sockets\": {}}", "\"host\" must be an object" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {\"net..x\": 1}, \"sockets\": {\"source\": \"netlink\", \"listeners\": []}}", "invalid key" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {\"net.core.somaxconn\": 1.5}, \"sockets\": {\"source\": \"netlink\", \"listeners\": []}}", "must be an integer, a list" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {\"net.ipv4.tcp_rmem\": [1, \"x\"]}, \"sockets\": {\"source\": \"netlink\", \"listeners\": []}}", "integers only" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\"}}", "missing \"listeners\"" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [1]}}", "listeners[0] must be an object" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipx\", \"address\": \"a\", \"port\": 1, \"queue\": 0}]}}", "\"family\" must be" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 70000, \"queue\": 0}]}}", "\"port\" must be 0..65535" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": -1}]}}", "must not be negative" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"processes\": [{\"comm\": \"x\"}]}]}}", "missing \"pid\"" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": []}, \"counters\": {\"TcpExt\": {\"ListenOverflows\": true}}}", "must be an integer" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"processes\": [{\"pid\": 1, \"state\": 83}]}]}}", "processes[0]: \"state\" must be a string" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"processes\": [{\"pid\": 1, \"start_time\": \"x\"}]}]}}", "\"start_time\" must be an integer" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"processes\": [{\"pid\": 1, \"polls\": 1}]}]}}", "\"polls\" must be a boolean" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"reuseport\": {\"members\": 1, \"index\": 1}}]}}", "\"reuseport\" must be" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"reuseport\": {\"members\": 4, \"index\": 5}}]}}", "\"reuseport\" must be" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"reuseport\": [4, 1]}]}}", "\"reuseport\" must be" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"peak\": {\"queue\": 1, \"queue_min\": -1}}]}}", "\"queue_min\" must not be negative" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 80, \"queue\": 0, \"peak\": {\"queue\": 1, \"shrank\": 0}}]}}", "\"shrank\" must be a boolean" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": []}, \"sample\": {\"duration_ms\": 1, \"vanished\": [{\"port\": 1, \"processes\": [{\"comm\": \"x\"}]}]}}", "sample.vanished[0].processes[0]: missing \"pid\"" },
	/* UDP: the kernel's 32-bit fields, and counts that are never negative */
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 53, \"queue\": 9223372036854775807, \"rcvbuf\": 1}]}}", "sockets.udp[0]: \"queue\" must be at most 4294967295" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 53, \"queue\": 0, \"rcvbuf\": 4294967296}]}}", "sockets.udp[0]: \"rcvbuf\" must be at most 4294967295" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp\": [{\"family\": \"ipv4\", \"address\": \"a\", \"port\": 53, \"queue\": 0, \"drops\": 4294967296}]}}", "sockets.udp[0]: \"drops\" must be at most 4294967295" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp_stats\": {\"sockets\": -1}}}", "sockets.udp_stats: \"sockets\" must not be negative" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp_stats\": {\"unlisted_dropping\": \"x\"}}}", "\"unlisted_dropping\" must be an integer" },
	{ "{\"schema_version\": 1, \"host\": {}, \"sysctl\": {}, \"sockets\": {\"source\": \"netlink\", \"listeners\": [], \"udp_stats\": {\"source\": 1}}}", "\"source\" must be a string" },
};

int main(void)
{
	struct nk_root root;
	json_t *doc, *v, *again;
	const char *keys[] = { "net.core.somaxconn", "net.ipv4.tcp_rmem", "net.core.netdev_max_backlog",
			       "net.ipv4.conf.*.rp_filter", "net/../../etc/shadow", "net.core.loop" };
	char err[512] = "", *text;

	if (!mkdtemp(tmp))
		abort();
	put("proc/sys/net/core/somaxconn", "4096\n");
	put("proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");
	put("proc/sys/net/ipv4/conf/all/rp_filter", "0\n");
	put("proc/sys/net/ipv4/conf/eth0.100/rp_filter", "1\n");
	put("proc/sys/net/ipv4/conf/lo/rp_filter", "2\n");
	put("etc/shadow", "secret\n");
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/proc/sys/net/core/loop", tmp);
		if (symlink("loop", p) < 0)
			abort();
	}

	ok(root_open(&root, tmp) == 0, "open fixture root");
	doc = json_object();
	sysctl_collect(doc, &root, keys, sizeof(keys) / sizeof(keys[0]));
	v = json_object_get(doc, "sysctl");
	is_int(json_integer_value(json_object_get(v, "net.core.somaxconn")), 4096, "somaxconn read");
	is_int(json_array_size(json_object_get(v, "net.ipv4.tcp_rmem")), 3, "tcp_rmem is a list of 3");
	is_int(json_integer_value(json_object_get(v, "net.ipv4.conf.eth0/100.rp_filter")), 1,
	       "glob expands to an interface with a dot (dotted key uses '/')");
	is_int(json_integer_value(json_object_get(v, "net.ipv4.conf.lo.rp_filter")), 2, "glob: lo");
	is_int(json_integer_value(json_object_get(v, "net.ipv4.conf.all.rp_filter")), 0, "glob: all");
	ok(!json_object_get(v, "net.ipv4.conf.*.rp_filter"), "the pattern itself is not a key");
	v = json_object_get(doc, "sysctl_unavailable");
	is_str(json_string_value(json_object_get(json_object_get(v, "net.core.netdev_max_backlog"), "reason")),
	       "missing", "missing key recorded as missing");
	is_str(json_string_value(json_object_get(json_object_get(v, "net/../../etc/shadow"), "reason")),
	       "invalid-key", "hostile key recorded as invalid, not read");
	is_str(json_string_value(json_object_get(json_object_get(v, "net.core.loop"), "reason")),
	       "unreadable", "symlink loop recorded as unreadable");
	ok(json_object_get(json_object_get(v, "net.core.loop"), "error") != NULL, "unreadable has an error text");
	{
		json_t *val = NULL;

		is_int(sysctl_read(&root, "net/../../etc/shadow", &val), -EINVAL, "sysctl_read refuses '..'");
		is_int(sysctl_read(&root, "net.core.nope", &val), -ENOENT, "sysctl_read: missing is -ENOENT");
		is_int(sysctl_read(&root, "net.core", &val), -ENOENT, "sysctl_read: a directory is not a key");
	}

	/* host collector on the same root: no osrelease, but somaxconn
	 * without netdev_max_backlog says "not the initial namespace" */
	host_collect(doc, &root);
	v = json_object_get(json_object_get(doc, "host"), "netns");
	ok(json_is_false(json_object_get(v, "initial")), "host: netns not initial (no netdev_max_backlog)");
	is_str(json_string_value(json_object_get(v, "method")), "host-only-sysctl", "host: method named");
	ok(json_array_size(json_object_get(doc, "notes")) >= 1, "host: missing osrelease noted");

	/* round trip: a complete document survives dump + load unchanged */
	json_object_set_new(doc, "schema_version", json_integer(FACTS_SCHEMA_VERSION));
	json_object_set_new(doc, "sockets", json_pack("{s:s,s:{s:i},s:[{s:s,s:s,s:i,s:i,s:i,s:b,s:[{s:i,s:s,s:i}]}]}",
						      "source", "netlink", "states", "LISTEN", 1,
						      "listeners", "family", "ipv6", "address", "::",
						      "port", 443, "queue", 5, "limit", 4, "v6only", 0,
						      "processes", "pid", 42, "comm", "\\x1b[31mevil", "fds", 7));
	ok(facts_validate(doc, err, sizeof(err)) == 0, "built document validates (%s)", err);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	{
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/facts.json", tmp);
		f = fopen(path, "w");
		fputs(text, f);
		fclose(f);
		again = facts_load(path);
		ok(again && json_equal(doc, again), "round trip through a file is lossless");
		json_decref(again);

		f = fopen(path, "w");
		fputs("{\"schema_version\": 1, \"schema_version\": 1}", f);
		fclose(f);
		again = facts_load(path);
		ok(!again, "duplicate keys refused");

		f = fopen(path, "w");
		fputs("{\"schema_version\": 1,\n  \"host\": {,}", f);
		fclose(f);
		again = facts_load(path);
		ok(!again, "malformed JSON refused");
	}
	free(text);
	json_decref(doc);

	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		json_t *d = json_loads(bad_docs[i].doc, 0, NULL);

		err[0] = '\0';
		ok(d && facts_validate(d, err, sizeof(err)) == -EINVAL && strstr(err, bad_docs[i].err),
		   "invalid document %zu refused: %s", i, err);
		json_decref(d);
	}

	root_close(&root);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
