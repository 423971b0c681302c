/* The text of netknobs fix rendered from its documents alone: each case of
 * tests/fixtures/render/fix/cases is a document fix --json printed (NAME.json)
 * and the text netknobs fix printed in the same state (NAME.out on standard
 * output, NAME.err on standard error), with the options of the run:
 * "check" (--check -v), "verbose" (-v), "applied" (only the document's
 * "applied", as --apply prints it when it fails), "-" none. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "tap.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;

	while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	if (m)
		fclose(m);
	fclose(f);
	return buf;
}

static void run_case(const char *dir, const char *name, const char *opts)
{
	char path[4700], *got_out = NULL, *got_err = NULL, *want_out, *want_err;
	size_t lo = 0, le = 0;
	struct fix_text_opts o = { .verbose = strstr(opts, "verbose") != NULL,
				   .check = strstr(opts, "check") != NULL };
	json_error_t jerr;
	json_t *doc;
	FILE *out, *err;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	doc = json_load_file(path, 0, &jerr);
	if (!ok(doc != NULL, "%s: document loaded", name)) {
		printf("#   %s: %s\n", path, jerr.text);
		return;
	}
	out = open_memstream(&got_out, &lo);
	err = open_memstream(&got_err, &le);
	if (strstr(opts, "applied"))
		report_fix_applied_text(out, json_object_get(doc, "applied"));
	else
		report_fix_text(out, err, doc, &o);
	fclose(out);
	fclose(err);
	snprintf(path, sizeof(path), "%s/%s.out", dir, name);
	want_out = slurp(path);
	snprintf(path, sizeof(path), "%s/%s.err", dir, name);
	want_err = slurp(path);
	is_str(got_out, want_out, "%s: standard output as fix printed it", name);
	is_str(got_err, want_err, "%s: standard error as fix printed it", name);
	free(got_out);
	free(got_err);
	free(want_out);
	free(want_err);
	json_decref(doc);
}

int main(void)
{
	const char *top = getenv("TOP_SRCDIR");
	char dir[4096], path[4200], line[512];
	FILE *cases;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/render/fix", top ? top : ".");
	snprintf(path, sizeof(path), "%s/cases", dir);
	cases = fopen(path, "r");
	if (!ok(cases != NULL, "cases: %s opened", path))
		return tap_done();
	while (fgets(line, sizeof(line), cases)) {
		char *tab = strchr(line, '\t');

		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		tab[strcspn(tab + 1, "\n") + 1] = '\0';
		run_case(dir, line, tab + 1);
		n++;
	}
	fclose(cases);
	ok(n >= 10, "%d cases", n);
	return tap_done();
}
