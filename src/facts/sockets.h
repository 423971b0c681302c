/* Listening sockets and per-state socket counts. */
#ifndef NK_SOCKETS_H
#define NK_SOCKETS_H

#include <stdbool.h>
#include <jansson.h>

#include "util/fileio.h"

/* see facts.h: sockets_collect() */

#endif
