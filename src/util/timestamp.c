#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/timestamp.h"

bool timestamp_parse(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	if (!s)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	*t = timegm(&tm);
	return true;
}

void timestamp_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}
