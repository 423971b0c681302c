/* The counters' side of a sampling window: how much each counter of the
 * facts document grew between the reading at the start of the window and
 * the one at its end, and per second (sample.deltas, sample.rates of
 * doc/facts.md).  See sample.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "facts/facts.h"
#include "facts/sample.h"

/* Values of the snmp files that are settings or gauges, not counters: no
 * rate for them. */
static bool is_gauge(const char *prefix, const char *name)
{
	static const char *const gauges[][2] = {
		{ "Tcp", "RtoAlgorithm" }, { "Tcp", "RtoMin" }, { "Tcp", "RtoMax" },
		{ "Tcp", "MaxConn" }, { "Tcp", "CurrEstab" },
		{ "Ip", "Forwarding" }, { "Ip", "DefaultTTL" },
	};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(gauges[i][0], prefix) && !strcmp(gauges[i][1], name))
			return true;
	return false;
}

#define MAX_BACKWARD_NOTES 5

/* Per second, to the thousandth. */
static json_t *rate_real(uint64_t delta, uint64_t dur_ms)
{
	return json_real((double)(int64_t)((double)delta * 1e6 / (double)dur_ms + 0.5) / 1e3);
}

/* The row of CPU cpu in a softnet "cpus" array; rows usually keep their
 * places, so look at index i first. */
static const json_t *softnet_cpu(const json_t *cpus, size_t i, json_int_t cpu)
{
	const json_t *row = json_array_get(cpus, i);
	size_t j;

	if (json_integer_value(json_object_get(row, "cpu")) == cpu && json_object_get(row, "cpu"))
		return row;
	json_array_foreach(cpus, j, row)
		if (json_object_get(row, "cpu") && json_integer_value(json_object_get(row, "cpu")) == cpu)
			return row;
	return NULL;
}

/* deltas.softnet and rates.softnet: softnet_stat counts per CPU in 32 bits
 * that wrap, so the window's count of a CPU is the difference modulo 2^32
 * (right as long as a CPU counts fewer than 2^32 in the window), summed
 * over the CPUs present at both ends. */
static int softnet_rates(const json_t *start_softnet, json_t *doc, json_t *deltas, json_t *rates,
			 uint64_t dur_ms)
{
	static const char *const fields[] = { "processed", "dropped", "time_squeeze", "received_rps",
					      "flow_limit_count" };
	const json_t *a = json_object_get(start_softnet, "cpus");
	const json_t *b = json_object_get(json_object_get(doc, "softnet"), "cpus");
	json_t *dg = NULL, *rg = NULL;
	int err = 0;

	if (!json_is_array(a) || !json_is_array(b))
		return 0;
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		uint64_t sum = 0;
		bool have = false;
		const json_t *row;
		size_t i;

		json_array_foreach(b, i, row) {
			const json_t *cpu = json_object_get(row, "cpu"), *start, *vb, *va;

			if (!json_is_integer(cpu) || !(start = softnet_cpu(a, i, json_integer_value(cpu))))
				continue;
			vb = json_object_get(row, fields[f]);
			va = json_object_get(start, fields[f]);
			if (!json_is_integer(va) || !json_is_integer(vb))
				continue;
			sum += (uint32_t)((uint32_t)json_integer_value(vb) - (uint32_t)json_integer_value(va));
			have = true;
		}
		if (!have)
			continue;
		if (!dg) {
			dg = json_object();
			rg = json_object();
			err |= facts_set(deltas, "softnet", dg);
			err |= facts_set(rates, "softnet", rg);
			if (err)
				return -ENOMEM;
		}
		err |= facts_set(dg, fields[f], json_integer((json_int_t)sum));
		err |= facts_set(rg, fields[f], rate_real(sum, dur_ms));
	}
	return err ? -ENOMEM : 0;
}

int sample_rates_json(const json_t *start_counters, const json_t *start_softnet, json_t *doc,
		      json_t *out, uint64_t dur_ms)
{
	const json_t *end = json_object_get(doc, "counters");
	json_t *deltas = json_object(), *rates = json_object();
	const char *prefix, *name;
	json_t *group, *v;
	unsigned long backward = 0;
	int err = 0;

	if (!deltas || !rates)
		goto fail;
	json_object_foreach((json_t *)start_counters, prefix, group) {
		const json_t *eg = json_object_get(end, prefix);
		json_t *dg = NULL, *rg = NULL;

		if (!json_is_object(eg))
			continue;
		json_object_foreach(group, name, v) {
			const json_t *ev = json_object_get(eg, name);
			json_int_t a, b;

			/* counters above 2^63-1 are strings: no rate */
			if (!json_is_integer(v) || !json_is_integer(ev) || is_gauge(prefix, name))
				continue;
			a = json_integer_value(v);
			b = json_integer_value(ev);
			if (b < a) {
				if (backward++ < MAX_BACKWARD_NOTES)
					facts_note(doc, "sample: counter %s.%s went backwards during the "
						   "window (%lld, then %lld): no rate", prefix, name,
						   (long long)a, (long long)b);
				continue;
			}
			if (!dg) {
				dg = json_object();
				rg = json_object();
				err |= facts_set(deltas, prefix, dg);
				err |= facts_set(rates, prefix, rg);
				if (err)
					goto fail;
			}
			err |= facts_set(dg, name, json_integer(b - a));
			err |= facts_set(rg, name, rate_real((uint64_t)(b - a), dur_ms));
		}
	}
	if (softnet_rates(start_softnet, doc, deltas, rates, dur_ms) < 0)
		goto fail;
	if (backward > MAX_BACKWARD_NOTES)
		facts_note(doc, "sample: %lu more counters went backwards: no rate for them",
			   backward - MAX_BACKWARD_NOTES);
	err |= facts_set(out, "deltas", deltas);
	err |= facts_set(out, "rates", rates);
	return err ? -ENOMEM : 0;
fail:
	json_decref(deltas);
	json_decref(rates);
	return -ENOMEM;
}

