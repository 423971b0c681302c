/* libFuzzer target: the rule loader (YAML, fields, templates) and the
 * expression parser it drives, then one evaluation of every rule it
 * accepted against a small facts document.  Build and run: tests/fuzz/run. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "rules/rules.h"
#include "util/log.h"

static json_t *facts;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rulebook rb;
	json_t *audit;

	if (!facts) {
		log_quiet(1);
		facts = json_loads("{\"schema_version\":1,\"host\":{\"kernel_release\":\"6.1.0\"},"
				   "\"sysctl\":{\"net.core.somaxconn\":4096,\"net.ipv4.tcp_rmem\":[1,2,3]},"
				   "\"counters\":{\"TcpExt\":{\"ListenOverflows\":3}},"
				   "\"sockets\":{\"source\":\"netlink\",\"listeners\":[{\"family\":\"ipv4\","
				   "\"address\":\"0.0.0.0\",\"port\":80,\"queue\":5,\"limit\":4}]}}",
				   0, NULL);
	}
	rulebook_init(&rb);
	rulebook_load_buffer(&rb, "fuzz.yaml", (const char *)data, size);
	rulebook_finish(&rb);
	if (!rb.errors) {
		audit = rules_evaluate(&rb, facts, NULL);
		json_decref(audit);
	}
	rulebook_free(&rb);
	return 0;
}
