/*
 * bench_keys.c - milliseconds per photo of feat_keys_detect (imgkeys's
 * work without the stream): each photo decoded and made grey once, then
 * described REPS times; the best run of each photo is kept, and the mean
 * of those bests printed.
 *
 *   bench_keys [-r REPS] [--no-mirror] PHOTO...
 *
 * Run it pinned to one core (taskset -c 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	struct feat_keys_opt o = { 0 };
	int reps = 20, photos = 0, i = 1;
	double sum = 0, keys = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-mirror"))
			o.no_mirror = 1;
		else {
			fprintf(stderr, "usage: bench_keys [-r REPS] [--no-mirror] PHOTO...\n");
			return 2;
		}
	}
	for (; i < argc; i++) {
		unsigned char *buf = NULL;
		size_t cap = 0, len = 0;
		struct feat_rec r;
		struct feat_tensor *t;
		struct feat_decode_opts d = { 0 };
		char why[256];
		double best = 1e9;
		uint8_t *grey;
		int w, h, c, n = 0;

		feat_rec_init(&r);
		if (feat_file_load(argv[i], 0, 0, &buf, &cap, &len, why, sizeof why) ||
		    feat_image_decode(buf, len, &d, &r, NULL, why, sizeof why)) {
			fprintf(stderr, "bench_keys: %s: %s\n", argv[i], why);
			return 1;
		}
		t = feat_rec_find(&r, "image");
		h = (int)t->dims[0];
		w = (int)t->dims[1];
		c = (int)t->dims[2];
		grey = malloc((size_t)w * h);
		for (size_t j = 0; j < (size_t)w * h; j++) {
			const uint8_t *p = (const uint8_t *)t->data + j * c;

			grey[j] = c == 1 ? p[0] : (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
		}
		for (int k = 0; k < reps; k++) {
			struct feat_keys *out;
			double t0 = now();

			if (feat_keys_detect(grey, w, h, (size_t)w, &o, &out, why, sizeof why)) {
				fprintf(stderr, "bench_keys: %s: %s\n", argv[i], why);
				return 1;
			}
			t0 = now() - t0;
			if (t0 < best)
				best = t0;
			n = out->n;
			feat_keys_free(out);
		}
		printf("%s\t%dx%d\t%d keys\t%.2f ms\n", argv[i], w, h, n, best * 1e3);
		sum += best;
		keys += n;
		photos++;
		free(grey);
		free(buf);
		feat_rec_free(&r);
	}
	if (photos)
		printf("mean\t%d photos\t%.0f keys\t%.2f ms per photo\n", photos, keys / photos,
		       sum / photos * 1e3);
	return 0;
}
