/* Growing arrays (array.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"

int array_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t min)
{
	size_t nc = *cap ? *cap * 2 : min;
	void *arr, *na;

	if (n < *cap)
		return 0;
	if (nc <= n)
		nc = n + 1;
	if (size && nc > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&arr, arrp, sizeof(arr));
	na = realloc(arr, nc * size);
	if (!na)
		return -ENOMEM;
	memcpy(arrp, &na, sizeof(na));
	*cap = nc;
	return 0;
}
