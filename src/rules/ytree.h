/* A YAML document as a small tree that remembers where every node stands,
 * so that the rule loader can name file:line:column in its messages.
 * Anchors and aliases are refused (they add nothing to rule files and are
 * the classic way to make a parser blow up), as are documents deeper than
 * YTREE_MAX_DEPTH or with more than YTREE_MAX_NODES nodes. */
#ifndef NK_YTREE_H
#define NK_YTREE_H

#include <stddef.h>

#define YTREE_MAX_DEPTH 32
#define YTREE_MAX_NODES 500000
#define YTREE_MAX_FILE (4u << 20) /* 4 MiB */

enum ynode_type { YNODE_SCALAR, YNODE_MAPPING, YNODE_SEQUENCE };

struct ynode {
	enum ynode_type type;
	unsigned line, col;     /* 1-based */
	int quoted;             /* scalar was quoted ('...' or "...") */
	int literal;            /* scalar used block style (| or >) */
	char *value;            /* scalar text (NUL-terminated), else NULL */
	size_t len;             /* scalar length (may contain NUL bytes) */
	size_t n;               /* children: sequences hold items; mappings hold
				   key, value, key, value ... (n is even) */
	struct ynode **kids;
};

/* Parse the file (or the buffer, named for messages).  On error logs
 * "FILE:LINE:COL: error: ..." and returns NULL.  An empty document gives a
 * NULL tree with *empty set. */
struct ynode *ytree_load_file(const char *path, int *empty);
struct ynode *ytree_load_buffer(const char *name, const char *buf, size_t len, int *empty);
/* Free a whole tree: root must be what ytree_load_*() returned (the nodes
 * of a tree are allocated together and cannot be freed one by one). */
void ytree_free(struct ynode *root);

/* Mapping lookup by key; NULL when absent. */
struct ynode *ytree_get(const struct ynode *map, const char *key);

/* Human name of a node's type ("a mapping", "a list", "a scalar"). */
const char *ytree_type_name(const struct ynode *n);

#endif
