/*
 * groups.h - the text output featdedup and featmatch share (and featsearch
 * in part): the -f tsv|jsonl option, keys, pair lines, -c/--cluster,
 * -a/--all, -p/--pairs, and groups written in the order of their
 * representatives, members in input order.  The formats are those of
 * featdedup(1).
 */
#ifndef FEAT_CLI_GROUPS_H
#define FEAT_CLI_GROUPS_H

#include <stdint.h>
#include <stdio.h>

#include "common/cli.h"

/* -f FMT: 0 for tsv, 1 for jsonl; dies with a usage error otherwise. */
int feat_cli_format(const char *arg);

/* A key in tsv (escaped, feat_put_tsv) or as a JSON string. */
void feat_cli_put_key(FILE *f, const char *k, size_t n, int jsonl);

/* One pair: "key1 TAB key2 TAB value" or
 * {"key1":..,"key2":..,"FIELD":value}. */
void feat_cli_put_pair(FILE *f, const char *k1, size_t n1, const char *k2, size_t n2,
	const char *field, uint64_t value, int jsonl);

/* What featdedup and featmatch do with the pairs they find. */
struct feat_cli_groups {
	int cluster;            /* FEAT_GROUP_COMPONENTS (default) or _LEADER */
	int all;                /* -a: groups of one too */
	int pairs;              /* -p: the pairs, not the groups */
	int jsonl;              /* -f jsonl */
};

#define FEAT_CLI_GROUPS_LONGOPTS \
	{ "cluster", required_argument, NULL, 'c' }, \
	{ "all", no_argument, NULL, 'a' }, \
	{ "pairs", no_argument, NULL, 'p' }, \
	{ "format", required_argument, NULL, 'f' }
#define FEAT_CLI_GROUPS_SHORTOPTS "c:apf:"

/* Handle -c, -a, -p or -f; returns 1 when c was one of them. */
int feat_cli_groups_opt(struct feat_cli_groups *g, int c, const char *arg);
/* After the options: --all goes with groups, not with --pairs. */
void feat_cli_groups_check(const struct feat_cli_groups *g);

/*
 * The groups of n records, rep[i] the representative of record i (a
 * record of its group; the representative of a representative is
 * itself): numbered from 1 in the order of their representatives, each
 * member in input order on a line "group TAB key TAB value" or
 * {"group":..,"key":..,"FIELD":value}; groups of one only with all.
 * key(ctx, i, &len) and value(ctx, i) give record i's key and value.
 * Returns the number of groups written; dies when out of memory.
 */
uint64_t feat_cli_write_groups(FILE *f, uint64_t n, const uint32_t *rep, int all, int jsonl,
	const char *field, const char *(*key)(const void *ctx, uint32_t i, size_t *len),
	uint64_t (*value)(const void *ctx, uint32_t i), const void *ctx);

/*
 * Duplicate keys: two records with one key are two records (each is kept,
 * searched and grouped on its own), but a user who meant keys to name
 * records one-to-one is to hear of it.  Counts the keys that n records
 * (key(ctx, i, &len) the key of record i) hold more than once and, when
 * there are any, warns once: "N keys appear more than once (first: KEY)",
 * KEY the first in record order to be met a second time, escaped as in
 * tsv.  Returns the count; with too little memory to count, says so and
 * returns 0.
 */
uint64_t feat_cli_repeated_keys(uint64_t n,
	const char *(*key)(const void *ctx, uint32_t i, size_t *len), const void *ctx);
/* The same over the records of an index. */
uint64_t feat_cli_index_repeated_keys(const feat_index *ix);

/* Standard output, or FILE (-o) written whole or not at all
 * (feat_cli_create); *file receives the file to pass to
 * feat_cli_text_close (NULL for standard output). */
FILE *feat_cli_text_open(const char *path, struct feat_outfile **file);
/* Flush, check for a write error (dies, exit 4) and commit the file. */
void feat_cli_text_close(FILE *out, const char *path, struct feat_outfile *file);

#endif
