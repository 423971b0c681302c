#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "rules/ytree.h"
#include "util/array.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"

/* A tree lives in a chain of blocks (nodes, scalar text, arrays of
 * children), freed at once with the root. */
struct yblock {
	struct yblock *next;
	size_t used, size;
	uint64_t data[];
};

#define YBLOCK_MIN 4096
#define YBLOCK_MAX (4u << 20)

/* The root node, with what ytree_free() needs to find the blocks. */
struct yroot {
	struct yblock *blocks;
	struct ynode node;
};

struct loader {
	const char *name;
	yaml_parser_t parser;
	size_t nodes;
	struct yblock *blocks;  /* newest first */
	size_t next_size;       /* of the next block */
	struct ynode **stack;   /* children of the collections being parsed */
	size_t top, cap;
};

static void blocks_free(struct yblock *b)
{
	while (b) {
		struct yblock *next = b->next;

		free(b);
		b = next;
	}
}

static void *yalloc(struct loader *L, size_t n)
{
	struct yblock *b = L->blocks;

	n = (n + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1);
	if (!b || b->size - b->used < n) {
		size_t size = L->next_size > n ? L->next_size : n;

		b = malloc(sizeof(*b) + size);
		if (!b) {
			log_error("%s: out of memory", L->name);
			return NULL;
		}
		b->used = 0;
		b->size = size;
		b->next = L->blocks;
		L->blocks = b;
		if (L->next_size < YBLOCK_MAX)
			L->next_size *= 2;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static struct ynode *node_new(struct loader *L, enum ynode_type t, const yaml_mark_t *m,
			      int root)
{
	struct ynode *n;

	if (++L->nodes > YTREE_MAX_NODES) {
		log_syntax(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1,
			   "too many YAML nodes (more than %d)", YTREE_MAX_NODES);
		return NULL;
	}
	if (root) {
		struct yroot *r = yalloc(L, sizeof(*r));

		n = r ? &r->node : NULL;
	} else {
		n = yalloc(L, sizeof(*n));
	}
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static int push_kid(struct loader *L, struct ynode *k)
{
	if (ARRAY_GROW(L->stack, L->cap, L->top, 64) < 0) {
		log_error("%s: out of memory", L->name);
		return -ENOMEM;
	}
	L->stack[L->top++] = k;
	return 0;
}

void ytree_free(struct ynode *n)
{
	if (n)
		blocks_free(((struct yroot *)((char *)n - offsetof(struct yroot, node)))->blocks);
}

static void parser_error(struct loader *L)
{
	yaml_parser_t *p = &L->parser;
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
	const char *problem = p->problem ? p->problem : "YAML syntax error";

	if (p->error == YAML_MEMORY_ERROR) {
		log_error("%s: out of memory while parsing YAML", L->name);
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		log_syntax(L->name, 0, 0, "%s (at byte %zu)", problem, p->problem_offset);
		return;
	}
	if (p->context)
		log_syntax(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, "%s %s", problem,
			   p->context);
	else
		log_syntax(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, "%s", problem);
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a, *y = *(struct ynode *const *)b;
	int c = strcmp(x->value, y->value);

	if (c)
		return c;
	return x->line != y->line ? (x->line < y->line ? -1 : 1) : (x->col < y->col ? -1 : 1);
}

static void duplicate_error(struct loader *L, const struct ynode *first, const struct ynode *again)
{
	char *esc = escape_untrusted_str(again->value);

	log_syntax(L->name, again->line, again->col,
		   "duplicate key '%s' (first at line %u, column %u)", esc ? esc : "?",
		   first->line, first->col);
	free(esc);
}

/* Duplicate keys in a mapping are an error naming both places.  Sorting
 * keeps this O(n log n) for hostile files with huge mappings; small
 * mappings (most of them) are compared pair by pair, with the same result:
 * the smallest duplicated key, at its second place, naming its first. */
static int check_duplicates(struct loader *L, const struct ynode *map)
{
	size_t nk = map->n / 2;
	struct ynode **keys;
	int ret = 0;

	if (nk < 2)
		return 0;
	if (nk <= 16) {
		const struct ynode *first = NULL, *again = NULL;

		for (size_t i = 1; i < nk; i++) {
			const struct ynode *k = map->kids[2 * i];

			if (again && strcmp(k->value, again->value) >= 0)
				continue;
			for (size_t j = 0; j < i; j++)
				if (!strcmp(map->kids[2 * j]->value, k->value)) {
					first = map->kids[2 * j];
					again = k;
					break;
				}
		}
		if (!again)
			return 0;
		duplicate_error(L, first, again);
		return -EINVAL;
	}
	keys = malloc(nk * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < nk; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nk; i++)
		if (!strcmp(keys[i - 1]->value, keys[i]->value)) {
			duplicate_error(L, keys[i - 1], keys[i]);
			ret = -EINVAL;
			break;
		}
	free(keys);
	return ret;
}

/* Parse one node whose first event is ev (consumed by the caller). */
static struct ynode *parse_node(struct loader *L, yaml_event_t *ev, int depth)
{
	struct ynode *n = NULL;
	size_t base;

	if (depth > YTREE_MAX_DEPTH) {
		log_syntax(L->name, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
			   "nesting deeper than %d levels", YTREE_MAX_DEPTH);
		return NULL;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		log_syntax(L->name, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
			   "YAML aliases (*name) are not supported in rule files");
		return NULL;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor) {
			log_syntax(L->name, (unsigned)ev->start_mark.line + 1,
				   (unsigned)ev->start_mark.column + 1,
				   "YAML anchors (&name) are not supported in rule files");
			return NULL;
		}
		n = node_new(L, YNODE_SCALAR, &ev->start_mark, depth == 1);
		if (!n)
			return NULL;
		n->len = ev->data.scalar.length;
		n->value = yalloc(L, n->len + 1);
		if (!n->value)
			return NULL;
		memcpy(n->value, ev->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
			    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		n->literal = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			     ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
		return n;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
		const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
						   : ev->data.sequence_start.anchor;

		if (anchor) {
			log_syntax(L->name, (unsigned)ev->start_mark.line + 1,
				   (unsigned)ev->start_mark.column + 1,
				   "YAML anchors (&name) are not supported in rule files");
			return NULL;
		}
		n = node_new(L, is_map ? YNODE_MAPPING : YNODE_SEQUENCE, &ev->start_mark, depth == 1);
		if (!n)
			return NULL;
		/* the children gather on L->stack above base, then move to
		 * an array of the exact size; on failure the loader frees
		 * every block */
		base = L->top;
		for (;;) {
			yaml_event_t child;
			struct ynode *k;

			if (!yaml_parser_parse(&L->parser, &child)) {
				parser_error(L);
				return NULL;
			}
			if (child.type == end) {
				yaml_event_delete(&child);
				break;
			}
			k = parse_node(L, &child, depth + 1);
			yaml_event_delete(&child);
			if (!k || push_kid(L, k) < 0)
				return NULL;
			if (is_map && (L->top - base) % 2 == 1 && k->type != YNODE_SCALAR) {
				log_syntax(L->name, k->line, k->col, "mapping keys must be plain words");
				return NULL;
			}
		}
		n->n = L->top - base;
		if (n->n) {
			n->kids = yalloc(L, n->n * sizeof(*n->kids));
			if (!n->kids)
				return NULL;
			memcpy(n->kids, L->stack + base, n->n * sizeof(*n->kids));
		}
		L->top = base;
		if (is_map && check_duplicates(L, n) < 0)
			return NULL;
		return n;
	}
	default:
		log_syntax(L->name, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
			   "unexpected YAML event");
		return NULL;
	}
}

struct ynode *ytree_load_buffer(const char *name, const char *buf, size_t len, int *empty)
{
	struct loader L = { .name = name };
	struct ynode *root = NULL;
	size_t first = len * 2;
	yaml_event_t ev;
	int stage = 0; /* 0 before document, 1 in, 2 after */

	*empty = 0;
	if (memchr(buf, '\0', len)) {
		log_syntax(name, 0, 0, "not a text file (it contains NUL bytes)");
		return NULL;
	}
	if (!yaml_parser_initialize(&L.parser)) {
		log_error("%s: cannot initialise the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&L.parser, (const unsigned char *)buf, len);
	/* a rule file takes 6 to 8 bytes of tree per byte of text: start
	 * with a block for a good part of it, the next ones double */
	L.next_size = first < YBLOCK_MIN ? YBLOCK_MIN : first > YBLOCK_MAX / 4 ? YBLOCK_MAX / 4 : first;
	for (;;) {
		if (!yaml_parser_parse(&L.parser, &ev)) {
			parser_error(&L);
			goto fail;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (stage > 0) {
				log_syntax(name, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
					   "only one YAML document per file");
				yaml_event_delete(&ev);
				goto fail;
			}
			stage = 1;
			yaml_event_delete(&ev);
			continue;
		}
		root = parse_node(&L, &ev, 1);
		yaml_event_delete(&ev);
		if (!root)
			goto fail;
	}
	yaml_parser_delete(&L.parser);
	free(L.stack);
	if (!root) {
		*empty = 1;
		blocks_free(L.blocks);
		return NULL;
	}
	((struct yroot *)((char *)root - offsetof(struct yroot, node)))->blocks = L.blocks;
	return root;
fail:
	yaml_parser_delete(&L.parser);
	free(L.stack);
	blocks_free(L.blocks);
	return NULL;
}

struct ynode *ytree_load_file(const char *path, int *empty)
{
	struct nk_root cwd = { .dirfd = AT_FDCWD, .path = (char *)".", .live = 1 };
	char *buf;
	size_t len;
	struct ynode *n;
	int r;

	*empty = 0;
	r = root_read_file(&cwd, path, YTREE_MAX_FILE, &buf, &len);
	if (r == -EFBIG) {
		log_syntax(path, 0, 0, "file too large (the limit is %u MiB)", YTREE_MAX_FILE >> 20);
		return NULL;
	}
	if (r < 0) {
		log_syntax(path, 0, 0, "cannot read: %s", fileio_strerror(-r));
		return NULL;
	}
	n = ytree_load_buffer(path, buf, len, empty);
	free(buf);
	return n;
}

struct ynode *ytree_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->value[0] == key[0] && !strcmp(map->kids[i]->value, key))
			return map->kids[i + 1];
	return NULL;
}

const char *ytree_type_name(const struct ynode *n)
{
	switch (n->type) {
	case YNODE_SCALAR: return "a scalar";
	case YNODE_MAPPING: return "a mapping";
	case YNODE_SEQUENCE: return "a list";
	}
	return "?";
}
