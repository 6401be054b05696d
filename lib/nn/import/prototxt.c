/*
 * prototxt.c - protocol buffers text format, parsed into a tree (see
 * prototxt.h).
 *
 * Grammar (what Caffe's files use; also what protobuf's TextFormat writes):
 *   message := field*
 *   field   := NAME ( ':' scalar | ':'? '{' message '}' | ':'? '<' message '>' ) [';' | ',']
 *   scalar  := STRING+ | WORD          (adjacent strings concatenate)
 *   comments run from '#' to the end of the line.
 * Nesting is limited (64 levels) and so is the total number of fields, so
 * that no input can exhaust the stack or memory out of proportion to its
 * size.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/internal.h"
#include "nn/import/prototxt.h"

#define MAX_DEPTH 64

struct lex {
	const char *p, *end, *line_start;
	int line;
	char *why;
	size_t whylen;
	size_t nodes, max_nodes;
};

static int lfail(struct lex *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lfail(struct lex *l, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	feat_fmt(l->why, l->whylen, "line %d, column %d: %s", l->line,
		 (int)(l->p - l->line_start) + 1, msg);
	return FEAT_E_FORMAT;
}

static void skip_space(struct lex *l)
{
	while (l->p < l->end) {
		char c = *l->p;

		if (c == '\n') {
			l->line++;
			l->p++;
			l->line_start = l->p;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			l->p++;
		} else if (c == '#') {
			while (l->p < l->end && *l->p != '\n')
				l->p++;
		} else {
			break;
		}
	}
}

static int word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '+';
}

static struct feat_ptx *new_node(struct lex *l)
{
	struct feat_ptx *n;

	if (++l->nodes > l->max_nodes)
		return NULL;
	n = calloc(1, sizeof *n);
	if (n)
		n->line = l->line;
	return n;
}

/* One or more adjacent quoted strings, escapes resolved, into a fresh
 * NUL-terminated buffer. */
static int string(struct lex *l, struct feat_ptx *f)
{
	size_t cap = 0, n = 0;
	char *out = NULL;

	while (l->p < l->end && (*l->p == '"' || *l->p == '\'')) {
		char q = *l->p++;

		for (;;) {
			int c;

			if (l->p >= l->end || *l->p == '\n') {
				free(out);
				return lfail(l, "string not closed");
			}
			c = (unsigned char)*l->p++;
			if (c == q)
				break;
			if (c == '\\') {
				if (l->p >= l->end) {
					free(out);
					return lfail(l, "string not closed");
				}
				c = (unsigned char)*l->p++;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case '0': case '1': case '2': case '3':
				case '4': case '5': case '6': case '7': {
					int v = c - '0';

					for (int k = 0; k < 2 && l->p < l->end && *l->p >= '0' && *l->p <= '7'; k++)
						v = v * 8 + (*l->p++ - '0');
					c = v & 0xff;
					break;
				}
				case 'x': {
					int v = 0, k = 0;

					for (; k < 2 && l->p < l->end && isxdigit((unsigned char)*l->p); k++) {
						char h = *l->p++;

						v = v * 16 + (h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
					}
					if (!k) {
						free(out);
						return lfail(l, "\\x without hex digits");
					}
					c = v;
					break;
				}
				}
			}
			if (n + 2 > cap) {
				char *o;

				cap = cap ? cap * 2 : 32;
				if (!(o = realloc(out, cap))) {
					free(out);
					return FEAT_E_NOMEM;
				}
				out = o;
			}
			out[n++] = (char)c;
		}
		skip_space(l);
	}
	if (!out && !(out = calloc(1, 1)))
		return FEAT_E_NOMEM;
	out[n] = 0;
	f->kind = FEAT_PTX_STRING;
	f->value = out;
	f->len = n;
	return 0;
}

static int message(struct lex *l, struct feat_ptx *parent, char close, int depth);

static int field(struct lex *l, struct feat_ptx *f, int depth)
{
	const char *s = l->p;
	char *name;
	int colon = 0;

	while (l->p < l->end && word_char(*l->p))
		l->p++;
	if (l->p == s)
		return lfail(l, "expected a field name, found '%c'", *l->p);
	if (!(name = malloc((size_t)(l->p - s) + 1)))
		return FEAT_E_NOMEM;
	memcpy(name, s, (size_t)(l->p - s));
	name[l->p - s] = 0;
	f->name = name;
	skip_space(l);
	if (l->p < l->end && *l->p == ':') {
		colon = 1;
		l->p++;
		skip_space(l);
	}
	if (l->p < l->end && (*l->p == '{' || *l->p == '<')) {
		char close = *l->p == '{' ? '}' : '>';

		l->p++;
		f->kind = FEAT_PTX_MESSAGE;
		if (depth >= MAX_DEPTH)
			return lfail(l, "messages nested more than %d deep", MAX_DEPTH);
		return message(l, f, close, depth + 1);
	}
	if (!colon)
		return lfail(l, "expected ':' or '{' after '%s'", name);
	if (l->p < l->end && (*l->p == '"' || *l->p == '\''))
		return string(l, f);
	s = l->p;
	while (l->p < l->end && word_char(*l->p))
		l->p++;
	if (l->p == s)
		return lfail(l, "expected a value for '%s'", name);
	{
		char *v = malloc((size_t)(l->p - s) + 1);

		if (!v)
			return FEAT_E_NOMEM;
		memcpy(v, s, (size_t)(l->p - s));
		v[l->p - s] = 0;
		f->kind = FEAT_PTX_WORD;
		f->value = v;
		f->len = (size_t)(l->p - s);
	}
	return 0;
}

static int message(struct lex *l, struct feat_ptx *parent, char close, int depth)
{
	struct feat_ptx **tail = &parent->child;
	int e;

	for (;;) {
		struct feat_ptx *f;

		skip_space(l);
		if (l->p >= l->end) {
			if (close)
				return lfail(l, "message not closed with '%c'", close);
			return 0;
		}
		if (close && *l->p == close) {
			l->p++;
			return 0;
		}
		if (!(f = new_node(l)))
			return l->nodes > l->max_nodes ? lfail(l, "too many fields") : FEAT_E_NOMEM;
		*tail = f;
		tail = &f->next;
		if ((e = field(l, f, depth)))
			return e;
		skip_space(l);
		if (l->p < l->end && (*l->p == ';' || *l->p == ','))
			l->p++;
	}
}

int feat_ptx_parse(const char *text, size_t len, struct feat_ptx **root, char *why,
	size_t whylen)
{
	struct lex l = { text, text + len, text, 1, why, whylen, 0, len / 2 + 16 };
	struct feat_ptx *r = calloc(1, sizeof *r);
	int e;

	*root = NULL;
	if (!r)
		return FEAT_E_NOMEM;
	r->kind = FEAT_PTX_MESSAGE;
	e = message(&l, r, 0, 0);
	if (e) {
		feat_ptx_free(r);
		return e;
	}
	*root = r;
	return 0;
}

void feat_ptx_free(struct feat_ptx *n)
{
	/* iterative over siblings, recursive over children (depth is bounded) */
	while (n) {
		struct feat_ptx *next = n->next;

		feat_ptx_free(n->child);
		free((char *)n->name);
		free((char *)n->value);
		free(n);
		n = next;
	}
}

const struct feat_ptx *feat_ptx_get(const struct feat_ptx *msg, const char *name,
	const struct feat_ptx *after)
{
	const struct feat_ptx *f = after ? after->next : msg->child;

	for (; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

int feat_ptx_long(const struct feat_ptx *f, long long *v, char *why, size_t whylen)
{
	char *end;

	if (f->kind != FEAT_PTX_WORD) {
		feat_fmt(why, whylen, "line %d: %s: expected an integer", f->line, f->name);
		return FEAT_E_FORMAT;
	}
	errno = 0;
	*v = strtoll(f->value, &end, 0);
	if (errno || *end) {
		feat_fmt(why, whylen, "line %d: %s: '%s' is not an integer", f->line, f->name,
			 f->value);
		return FEAT_E_FORMAT;
	}
	return 0;
}

int feat_ptx_double(const struct feat_ptx *f, double *v, char *why, size_t whylen)
{
	char *end;

	if (f->kind != FEAT_PTX_WORD) {
		feat_fmt(why, whylen, "line %d: %s: expected a number", f->line, f->name);
		return FEAT_E_FORMAT;
	}
	errno = 0;
	*v = strtod(f->value, &end);
	if (errno == EINVAL || *end || end == f->value) {
		feat_fmt(why, whylen, "line %d: %s: '%s' is not a number", f->line, f->name,
			 f->value);
		return FEAT_E_FORMAT;
	}
	return 0;
}
