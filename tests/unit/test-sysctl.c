/* sysctl key validation and value typing. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "facts/sysctl.h"
#include "tap.h"

static const struct {
	const char *in, *path, *key; /* path NULL: must be rejected */
} keys[] = {
	{ "net.core.somaxconn", "net/core/somaxconn", "net.core.somaxconn" },
	{ "net/core/somaxconn", "net/core/somaxconn", "net.core.somaxconn" },
	{ "net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter",
	  "net.ipv4.conf.eth0/100.rp_filter" },
	{ "net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter",
	  "net.ipv4.conf.eth0/100.rp_filter" },
	{ "fs.file-max", "fs/file-max", "fs.file-max" },
	{ "net.ipv4.conf.*.rp_filter", "net/ipv4/conf/*/rp_filter", "net.ipv4.conf.*.rp_filter" },
	{ "kernel", "kernel", "kernel" },
	{ "", NULL, NULL },
	{ ".net.core", NULL, NULL },
	{ "/net/core", NULL, NULL },
	{ "net..core", NULL, NULL },
	{ "net.core.", NULL, NULL },
	{ "net/../../etc/shadow", NULL, NULL },
	{ "net/./core", NULL, NULL },
	{ "net.ipv4.conf.//.x", NULL, NULL },    /* ".." via the dotted form */
	{ "net.ipv4.conf./.x", NULL, NULL },     /* "." via the dotted form */
	{ "net.core.some key", NULL, NULL },
	{ "net.core.\x1b[2J", NULL, NULL },
	{ "net.core.caf\xc3\xa9", NULL, NULL },
	{ "net.core.a\tb", NULL, NULL },
	{ "net//core", NULL, NULL },
};

/* keys through which the kernel runs programs: never recommended */
static const struct {
	const char *key;
	bool runs;
} programs[] = {
	{ "kernel.core_pattern", true },
	{ "kernel.modprobe", true },
	{ "kernel.hotplug", true },
	{ "kernel.poweroff_cmd", true },
	{ "kernel.reboot_cmd", true },
	{ "fs.binfmt_misc", true },
	{ "fs.binfmt_misc.register", true },
	{ "fs.binfmt_misc.status", true },
	{ "kernel.usermodehelper.bset", true },
	{ "net.core.somaxconn", false },
	{ "kernel.core_pattern_x", false },
	{ "kernel.core_uses_pid", false },
	{ "fs.binfmt_miscx", false },
	{ "fs.nr_open", false },
	{ "kernel.pid_max", false },
};

static const struct {
	const char *text, *json;
} values[] = {
	{ "4096\n", "4096" },
	{ "4096\t131072\t6291456\n", "[4096, 131072, 6291456]" },
	{ "32768\t60999\n", "[32768, 60999]" },
	{ "-1\n", "-1" },
	{ "0\n", "0" },
	{ "9223372036854775807\n", "9223372036854775807" },
	{ "18446744073709551615\n", "\"18446744073709551615\"" },
	{ "cubic\n", "\"cubic\"" },
	{ "reno cubic\n", "\"reno cubic\"" },
	{ "\n", "\"\"" },
	{ "12abc\n", "\"12abc\"" },
	{ "1 2 x\n", "\"1 2 x\"" },
	{ "\x1b[31m\n", "\"\\\\x1b[31m\"" },
	{ "-\n", "\"-\"" },
};

int main(void)
{
	char long_key[SYSCTL_KEY_MAX + 2];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char path[SYSCTL_KEY_MAX + 1], key[SYSCTL_KEY_MAX + 1];
		const char *why = NULL;
		int r = sysctl_key_parse(keys[i].in, path, key, &why);

		if (keys[i].path) {
			ok(r == 0, "key '%s' accepted", keys[i].in);
			if (r == 0) {
				is_str(path, keys[i].path, "key '%s' -> path", keys[i].in);
				is_str(key, keys[i].key, "key '%s' -> canonical key", keys[i].in);
			}
		} else {
			ok(r == -EINVAL && why && *why, "key #%zu rejected with a reason (%s)", i,
			   why ? why : "none");
		}
	}
	memset(long_key, 'a', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	ok(sysctl_key_parse(long_key, NULL, NULL, NULL) == -EINVAL, "overlong key rejected");

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		ok(!sysctl_key_runs_program(programs[i].key) == !programs[i].runs, "%s: %s", programs[i].key,
		   programs[i].runs ? "runs programs" : "an ordinary key");

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_t *v = sysctl_value_parse(values[i].text);
		json_t *want = json_loads(values[i].json, JSON_DECODE_ANY, NULL);
		char *got = json_dumps(v, JSON_ENCODE_ANY);

		if (!ok(v && want && json_equal(v, want), "value %zu types as %s", i, values[i].json))
			printf("#   got: %s\n", got ? got : "(null)");
		free(got);
		json_decref(v);
		json_decref(want);
	}
	return tap_done();
}
