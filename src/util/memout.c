/* Text made in memory (memout.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "util/memout.h"

int memout(memout_fn fn, const void *arg, char **buf, size_t *len)
{
	size_t n = 0;
	FILE *m;
	int r;

	*buf = NULL;
	m = open_memstream(buf, &n);
	if (!m)
		return -ENOMEM;
	r = fn(m, arg);
	if (fclose(m) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(*buf);
		*buf = NULL;
		return r;
	}
	if (len)
		*len = n;
	return 0;
}
