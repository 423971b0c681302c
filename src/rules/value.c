/* Values of the expression language. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/expr.h"
#include "rules/expr-int.h"

#ifdef JANSSON_THREAD_SAFE_REFCOUNT
/* (size_t)-1 marks jansson's static values (true, false, null), which are
 * never counted */
json_t *value_json_ref(json_t *j)
{
	if (j && __atomic_load_n(&j->refcount, __ATOMIC_RELAXED) != (size_t)-1)
		__atomic_add_fetch(&j->refcount, 1, __ATOMIC_ACQUIRE);
	return j;
}

void value_json_unref(json_t *j)
{
	if (j && __atomic_load_n(&j->refcount, __ATOMIC_RELAXED) != (size_t)-1 &&
	    __atomic_sub_fetch(&j->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		json_delete(j);
}
#else
/* not shared among threads then (see rules_evaluate) */
json_t *value_json_ref(json_t *j)
{
	return json_incref(j);
}

void value_json_unref(json_t *j)
{
	json_decref(j);
}
#endif

void value_release(struct value *v)
{
	if (v->owned) {
		if (v->type == VALUE_STRING)
			free((char *)v->s.ptr);
		else if (v->type == VALUE_LIST || v->type == VALUE_OBJECT)
			value_json_unref(v->json);
	}
	*v = VALUE_ABSENT_INIT;
}

int value_from_json(const json_t *j, struct value *out)
{
	*out = VALUE_ABSENT_INIT;
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_NULL:
		return 0;
	case JSON_TRUE:
		out->type = VALUE_BOOL;
		out->b = true;
		return 0;
	case JSON_FALSE:
		out->type = VALUE_BOOL;
		out->b = false;
		return 0;
	case JSON_INTEGER:
		out->type = VALUE_INT;
		out->i = json_integer_value(j);
		return 0;
	case JSON_STRING:
		out->type = VALUE_STRING;
		out->s.ptr = json_string_value(j);
		out->s.len = json_string_length(j);
		return 0;
	case JSON_ARRAY:
		out->type = VALUE_LIST;
		out->json = (json_t *)j;
		return 0;
	case JSON_OBJECT:
		out->type = VALUE_OBJECT;
		out->json = (json_t *)j;
		return 0;
	case JSON_REAL:
		break;
	}
	return -EINVAL;
}

int value_dup(const struct value *v, struct value *out)
{
	*out = *v;
	out->owned = false;
	switch (v->type) {
	case VALUE_STRING: {
		char *p = malloc(v->s.len + 1);

		if (!p) {
			*out = VALUE_ABSENT_INIT;
			return -ENOMEM;
		}
		memcpy(p, v->s.ptr, v->s.len);
		p[v->s.len] = '\0';
		out->s.ptr = p;
		out->owned = true;
		break;
	}
	case VALUE_LIST:
	case VALUE_OBJECT:
		value_json_ref(v->json);
		out->owned = true;
		break;
	default:
		break;
	}
	return 0;
}

json_t *value_to_json(const struct value *v)
{
	switch (v->type) {
	case VALUE_ABSENT:
		return json_null();
	case VALUE_BOOL:
		return json_boolean(v->b);
	case VALUE_INT:
		return json_integer(v->i);
	case VALUE_STRING:
		return json_stringn(v->s.ptr, v->s.len);
	case VALUE_LIST:
	case VALUE_OBJECT:
		return value_json_ref(v->json);
	}
	return NULL;
}

static char *format_sysctl_list(const json_t *list)
{
	size_t n = json_array_size(list), i;
	char *buf, *p;
	json_t *e;

	json_array_foreach(list, i, e)
		if (!json_is_integer(e))
			return NULL;
	/* "-9223372036854775808" is 20 characters, plus a blank */
	buf = malloc(n * 21 + 1);
	if (!buf)
		return NULL;
	p = buf;
	*p = '\0';
	json_array_foreach(list, i, e)
		p += sprintf(p, "%s%" PRId64, i ? " " : "", (int64_t)json_integer_value(e));
	return buf;
}

char *value_format(const struct value *v, unsigned flags)
{
	char num[32], *s;

	switch (v->type) {
	case VALUE_ABSENT:
		return strdup("n/a");
	case VALUE_BOOL:
		return strdup(v->b ? "true" : "false");
	case VALUE_INT:
		snprintf(num, sizeof(num), "%" PRId64, v->i);
		return strdup(num);
	case VALUE_STRING:
		s = malloc(v->s.len + 1);
		if (s) {
			memcpy(s, v->s.ptr, v->s.len);
			s[v->s.len] = '\0';
		}
		return s;
	case VALUE_LIST:
		if ((flags & VALUE_FORMAT_SYSCTL) && json_array_size(v->json) > 0) {
			s = format_sysctl_list(v->json);
			if (s)
				return s;
		}
		/* fall through */
	case VALUE_OBJECT:
		return json_dumps(v->json, JSON_ENCODE_ANY);
	}
	return NULL;
}

const char *value_type_name(enum value_type t)
{
	switch (t) {
	case VALUE_ABSENT:
		return "absent";
	case VALUE_BOOL:
		return "a boolean";
	case VALUE_INT:
		return "an integer";
	case VALUE_STRING:
		return "a string";
	case VALUE_LIST:
		return "a list";
	case VALUE_OBJECT:
		return "an object";
	}
	return "?";
}

void expr_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = strlen(buf);

#define PUT(c)                               \
	do {                                 \
		if (o + 1 < size)            \
			buf[o++] = (c);      \
	} while (0)
	if (size == 0 || o >= size)
		return;
	PUT('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c == '\t') {
			PUT('\\');
			PUT('t');
		} else if (c < 0x20 || c == 0x7f) {
			char hex[5];

			snprintf(hex, sizeof(hex), "\\x%02x", c);
			for (int k = 0; hex[k]; k++)
				PUT(hex[k]);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
	buf[o] = '\0';
#undef PUT
}
