/* The history of sysctl values (src/report/history.c): sightings noted by
 * report and fix --apply, and the facts' history section made from them.
 * Each case is a list of steps on one document, then the history section
 * the facts of its last line would get. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "report/history.h"
#include "util/timestamp.h"
#include "tap.h"

#define NS "net:[4026531840]"
#define NS2 "net:[4026532000]"
#define BOOT "b0"

/* facts of a namespace and boot at a time with somaxconn v (v < 0: absent) */
static json_t *facts(const char *ns, const char *boot, const char *when, int v)
{
	json_t *f = json_pack("{s:s,s:{s:{s:s}},s:{s:s}}", "collected_at", when, "host", "netns", "id", ns,
			      "sysctl", STATE_BOOT_ID_KEY, boot);

	if (v >= 0)
		json_object_set_new(json_object_get(f, "sysctl"), "net.core.somaxconn", json_integer(v));
	return f;
}

struct step {
	char kind;              /* 'r' report sighting, 'f' fix --apply change */
	const char *ns, *boot, *when;
	int value, before;      /* fix: before -> value */
};

struct tcase {
	const char *name;
	struct step steps[8];
	struct step at;         /* the facts the section is made for */
	const char *prev;       /* the previous report's state, or NULL */
	const char *want;       /* the history section, compact JSON, or NULL */
};

/* times: T = 2026-11-24T06:00:00Z = 1795500000 */
static const struct tcase cases[] = {
	{ "one sighting, read again later: one period up to now",
	  { { 'r', NS, BOOT, "2026-11-24T06:00:00Z", 64, 0 } },
	  { 0, NS, BOOT, "2026-11-24T07:00:00Z", 64, 0 }, NULL,
	  "{\"sysctl\":{\"net.core.somaxconn\":[{\"value\":64,\"since\":1795500000,\"until\":1795503600,"
	  "\"since_at\":\"2026-11-24T06:00:00Z\",\"until_at\":\"2026-11-24T07:00:00Z\"}]}}" },
	{ "a change seen by the next report: two periods",
	  { { 'r', NS, BOOT, "2026-11-24T06:00:00Z", 64, 0 }, { 'r', NS, BOOT, "2026-11-24T06:30:00Z", 64, 0 },
	    { 'r', NS, BOOT, "2026-11-25T06:00:00Z", 4096, 0 } },
	  { 0, NS, BOOT, "2026-11-25T06:00:00Z", 4096, 0 }, NULL,
	  "{\"sysctl\":{\"net.core.somaxconn\":[{\"value\":64,\"since\":1795500000,\"until\":1795501800,"
	  "\"since_at\":\"2026-11-24T06:00:00Z\",\"until_at\":\"2026-11-24T06:30:00Z\"},"
	  "{\"value\":4096,\"since\":1795586400,\"until\":1795586400,"
	  "\"since_at\":\"2026-11-25T06:00:00Z\",\"until_at\":\"2026-11-25T06:00:00Z\"}]}}" },
	{ "fix --apply: the replaced value up to the write, the new one from it",
	  { { 'f', NS, BOOT, "2026-11-24T06:00:00Z", 4096, 64 } },
	  { 0, NS, BOOT, "2026-11-24T08:00:00Z", 4096, 0 }, NULL,
	  "{\"sysctl\":{\"net.core.somaxconn\":[{\"value\":64,\"since\":1795500000,\"until\":1795500000,"
	  "\"since_at\":\"2026-11-24T06:00:00Z\",\"until_at\":\"2026-11-24T06:00:00Z\"},"
	  "{\"value\":4096,\"since\":1795500000,\"until\":1795507200,"
	  "\"since_at\":\"2026-11-24T06:00:00Z\",\"until_at\":\"2026-11-24T08:00:00Z\"}]}}" },
	{ "the facts' own reading is a sighting: a change since the last report",
	  { { 'r', NS, BOOT, "2026-11-24T06:00:00Z", 64, 0 } },
	  { 0, NS, BOOT, "2026-11-24T07:00:00Z", 4096, 0 }, NULL,
	  "{\"sysctl\":{\"net.core.somaxconn\":[{\"value\":64,\"since\":1795500000,\"until\":1795500000,"
	  "\"since_at\":\"2026-11-24T06:00:00Z\",\"until_at\":\"2026-11-24T06:00:00Z\"},"
	  "{\"value\":4096,\"since\":1795503600,\"until\":1795503600,"
	  "\"since_at\":\"2026-11-24T07:00:00Z\",\"until_at\":\"2026-11-24T07:00:00Z\"}]}}" },
	{ "another namespace's history is not this one's",
	  { { 'r', NS2, BOOT, "2026-11-24T06:00:00Z", 64, 0 } },
	  { 0, NS, BOOT, "2026-11-24T07:00:00Z", 4096, 0 }, NULL, NULL },
	{ "nor another boot's",
	  { { 'r', NS, "b-1", "2026-11-24T06:00:00Z", 64, 0 } },
	  { 0, NS, BOOT, "2026-11-24T07:00:00Z", 4096, 0 }, NULL, NULL },
	{ "an older sighting of another value cannot be placed: left out",
	  { { 'r', NS, BOOT, "2026-11-24T07:00:00Z", 4096, 0 }, { 'r', NS, BOOT, "2026-11-24T06:00:00Z", 64, 0 } },
	  { 0, NS, BOOT, "2026-11-24T07:00:00Z", 4096, 0 }, NULL,
	  "{\"sysctl\":{\"net.core.somaxconn\":[{\"value\":4096,\"since\":1795503600,\"until\":1795503600,"
	  "\"since_at\":\"2026-11-24T07:00:00Z\",\"until_at\":\"2026-11-24T07:00:00Z\"}]}}" },
	{ "the previous report of the same boot and namespace: its counters",
	  { { 0 } },
	  { 0, NS, BOOT, "2026-11-25T12:00:00Z", -1, 0 },
	  "{\"state_version\":1,\"time\":\"2026-11-24T12:00:00Z\",\"boot_id\":\"b0\",\"netns\":\"" NS "\","
	  "\"counters\":{\"TcpExt.ListenOverflows\":12,\"TcpExt.ListenDrops\":15,\"softnet.dropped\":3,"
	  "\"Bad\":1,\"Tcp.X\":-1},\"findings\":[]}",
	  "{\"previous\":{\"time\":\"2026-11-24T12:00:00Z\",\"seconds_ago\":86400,\"counters\":{\"TcpExt\":"
	  "{\"ListenOverflows\":12,\"ListenDrops\":15},\"softnet\":{\"dropped\":3}}}}" },
	{ "a previous report of another boot: nothing",
	  { { 0 } },
	  { 0, NS, BOOT, "2026-11-25T12:00:00Z", -1, 0 },
	  "{\"state_version\":1,\"time\":\"2026-11-24T12:00:00Z\",\"boot_id\":\"b-1\",\"netns\":\"" NS "\","
	  "\"counters\":{\"TcpExt.ListenOverflows\":12},\"findings\":[]}", NULL },
	{ "a previous report from the future: nothing",
	  { { 0 } },
	  { 0, NS, BOOT, "2026-11-25T12:00:00Z", -1, 0 },
	  "{\"state_version\":1,\"time\":\"2026-11-26T12:00:00Z\",\"boot_id\":\"b0\",\"netns\":\"" NS "\","
	  "\"counters\":{},\"findings\":[]}", NULL },
};

static void run(const struct tcase *c)
{
	json_t *doc = NULL, *f, *prev = NULL, *h;
	char err[128] = "";
	char *got;

	for (size_t i = 0; i < sizeof(c->steps) / sizeof(c->steps[0]) && c->steps[i].kind; i++) {
		const struct step *s = &c->steps[i];
		json_t *nd;

		f = facts(s->ns, s->boot, s->when, s->kind == 'r' ? s->value : -1);
		if (s->kind == 'r') {
			nd = history_note_facts(doc, f, "report");
		} else {
			time_t t = 0;
			json_t *b = json_integer(s->before), *a = json_integer(s->value);

			timestamp_parse(s->when, &t);
			nd = history_note_change(doc, f, "net.core.somaxconn", b, a, t);
			json_decref(b);
			json_decref(a);
		}
		json_decref(doc);
		json_decref(f);
		doc = nd;
	}
	if (doc && history_validate(doc, err, sizeof(err)) != 0)
		ok(0, "%s: the document is valid: %s", c->name, err);
	f = facts(c->at.ns, c->at.boot, c->at.when, c->at.value);
	if (c->prev)
		prev = json_loads(c->prev, 0, NULL);
	h = history_facts(doc, prev, f);
	got = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	is_str(got, c->want, "%s", c->name);
	free(got);
	json_decref(h);
	json_decref(prev);
	json_decref(f);
	json_decref(doc);
}

static void bounded(void)
{
	json_t *doc = NULL;
	char when[TIMESTAMP_LEN];

	for (int i = 0; i < 200; i++) {
		json_t *f, *nd;

		timestamp_format(1795500000 + i * 60, when, sizeof(when));
		f = facts(NS, BOOT, when, 64 + i);
		nd = history_note_facts(doc, f, "report");
		json_decref(doc);
		json_decref(f);
		doc = nd;
	}
	is_int(json_array_size(json_object_get(json_array_get(json_object_get(doc, "records"), 0), "periods")),
	       HISTORY_MAX_PERIODS, "periods per record are bounded");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(json_array_get(
		       json_object_get(doc, "records"), 0), "periods"), HISTORY_MAX_PERIODS - 1), "value")),
	       64 + 199, "the newest are kept");
	json_decref(doc);
	for (int i = 0; i < 100; i++) {
		json_t *f, *nd;
		char ns[32];

		snprintf(ns, sizeof(ns), "net:[%d]", i);
		timestamp_format(1795500000 + i * 60, when, sizeof(when));
		f = facts(ns, BOOT, when, 64);
		nd = history_note_facts(i ? doc : NULL, f, "report");
		if (i)
			json_decref(doc);
		json_decref(f);
		doc = nd;
	}
	is_int(json_array_size(json_object_get(doc, "records")), HISTORY_MAX_RECORDS, "records are bounded");
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(doc, "records"),
							       HISTORY_MAX_RECORDS - 1), "netns")),
	       "net:[99]", "the records seen last are kept");
	json_decref(doc);
}

static void invalid(void)
{
	static const char *const docs[] = {
		"[]", "{\"history_version\":2,\"records\":[]}", "{\"history_version\":1}",
		"{\"history_version\":1,\"records\":[{\"key\":\"k\",\"netns\":null,\"boot_id\":null}]}",
		"{\"history_version\":1,\"records\":[{\"key\":\"k\",\"netns\":1,\"boot_id\":null,\"periods\":[]}]}",
		"{\"history_version\":1,\"records\":[{\"key\":\"k\",\"netns\":null,\"boot_id\":null,"
		"\"periods\":[{\"value\":1,\"since\":5,\"until\":4}]}]}",
	};
	char err[128];

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *d = json_loads(docs[i], 0, NULL);

		ok(history_validate(d, err, sizeof(err)) == -EINVAL, "refused: %s (%s)", docs[i], err);
		json_decref(d);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
	bounded();
	invalid();
	return tap_done();
}
