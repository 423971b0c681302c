/* The text of /proc files that owners.c reads for an owning process
 * (limits, stat, /proc/stat's btime, an epoll descriptor's fdinfo): pure
 * parsers, unit-tested in test-owners. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "facts/sockets.h"

static int parse_limit_value(const char *s, size_t len, long long *out)
{
	long long v = 0;

	if (len == 9 && memcmp(s, "unlimited", 9) == 0) {
		*out = -1;
		return 0;
	}
	if (len == 0 || len > 18)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int owners_parse_limits(const char *text, long long *soft, long long *hard)
{
	static const char key[] = "Max open files";
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *e = eol ? eol : line + strlen(line);

		if ((size_t)(e - line) > sizeof(key) - 1 &&
		    memcmp(line, key, sizeof(key) - 1) == 0 &&
		    (line[sizeof(key) - 1] == ' ' || line[sizeof(key) - 1] == '\t')) {
			const char *p = line + sizeof(key) - 1, *tok[2];
			size_t len[2];

			for (int k = 0; k < 2; k++) {
				while (p < e && (*p == ' ' || *p == '\t'))
					p++;
				tok[k] = p;
				while (p < e && *p != ' ' && *p != '\t')
					p++;
				len[k] = (size_t)(p - tok[k]);
			}
			if (parse_limit_value(tok[0], len[0], soft) < 0 ||
			    parse_limit_value(tok[1], len[1], hard) < 0)
				return -EINVAL;
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -EINVAL;
}

static const struct {
	char letter;
	const char *name;
} state_names[] = {
	{ 'R', "running" }, { 'S', "sleeping" }, { 'D', "disk-sleep" }, { 'T', "stopped" },
	{ 't', "tracing-stop" }, { 'Z', "zombie" }, { 'X', "dead" }, { 'x', "dead" },
	{ 'I', "idle" }, { 'P', "parked" }, { 'K', "wakekill" }, { 'W', "waking" },
};

const char *owners_state_name(char state)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (state_names[i].letter == state)
			return state_names[i].name;
	return NULL;
}

int owners_parse_stat(const char *text, size_t len, char *state, unsigned long long *starttime)
{
	const char *open = memchr(text, '(', len), *p = NULL, *e = text + len;
	unsigned long long v = 0;
	int field;

	if (!open)
		return -EINVAL;
	/* the name may hold ')': the last one ends it */
	for (const char *q = open + 1; q < e; q++)
		if (*q == ')')
			p = q;
	if (!p || p + 3 >= e || p[1] != ' ' || p[3] != ' ' || !owners_state_name(p[2]))
		return -EINVAL;
	*state = p[2];
	/* field 3 is the state; starttime is field 22 */
	p += 3;
	for (field = 3; field < 21; field++) {
		while (p < e && *p == ' ')
			p++;
		while (p < e && *p != ' ')
			p++;
		if (p == e)
			return -EINVAL;
	}
	while (p < e && *p == ' ')
		p++;
	if (p == e || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (p < e && *p != ' ' && *p != '\n')
		return -EINVAL;
	*starttime = v;
	return 0;
}

int owners_parse_btime(const char *text, long long *btime)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char num[24];
		size_t n;

		if (strncmp(l, "btime ", 6) != 0)
			continue;
		n = strcspn(l + 6, "\n");
		if (n == 0 || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, l + 6, n);
		num[n] = '\0';
		if (parse_int64(num, btime) < 0 || *btime < 0)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/* A decimal or hexadecimal number at p (before e); p is moved past it. */
static bool parse_num(const char **p, const char *e, int base, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	for (; s < e; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

size_t owners_parse_epoll(const char *text, size_t len,
			  void (*fn)(uint64_t ino, int tfd, void *data), void *data)
{
	const char *l = text, *end = text + len;

	for (;;) {
		const char *e = memchr(l, '\n', (size_t)(end - l)), *p;
		uint64_t tfd, ino = 0;

		if (!e)
			break;
		/* "tfd:        5 events:       19 data: ... pos:0 ino:d431 sdev:9" */
		if (e - l > 4 && memcmp(l, "tfd:", 4) == 0) {
			p = l + 4;
			while (p < e && *p == ' ')
				p++;
			if (parse_num(&p, e, 10, &tfd) && tfd <= INT32_MAX) {
				for (const char *q = p; q + 5 <= e; q++) {
					if (q[0] == ' ' && memcmp(q + 1, "ino:", 4) == 0) {
						q += 5;
						if (!parse_num(&q, e, 16, &ino))
							ino = 0;
						break;
					}
				}
				fn(ino, (int)tfd, data);
			}
		}
		l = e + 1;
	}
	return (size_t)(l - text);
}
