/*
 * netpass - a featmodel network through feat_net(3): its layer table,
 * and one forward pass on raw input, as featmodel info and run do; an
 * example of the library's network calls from C, built and tested by
 * make check.
 *
 *     netpass MODEL [IN.f32 OUTPREFIX]
 *
 * prints one line a layer (index, type, name, parameters, MACs, and
 * "folded" for a layer folded into an earlier one); with IN (raw float32,
 * a whole number of inputs) it runs one pass over them and writes each
 * output to OUTPREFIX.NAME.f32.  MODEL is a path or a name (feat_model_find).
 * Exit status: 0 done, 1 a pass or a file failed, 2 usage, 3 the model
 * cannot be loaded.
 *
 * Build: cc netpass.c $(pkg-config --cflags --libs libfeat)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <feat.h>

int main(int argc, char **argv)
{
	struct feat_net_layer l;
	struct feat_net_tensor t;
	feat_net *n;
	char path[4096], why[512];
	FILE *f;
	long size;
	int batch, e;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: netpass MODEL [IN.f32 OUTPREFIX]\n");
		return 2;
	}
	if ((e = feat_model_find(argv[1], path, sizeof path, why, sizeof why)) ||
	    (e = feat_net_load(&n, path, why, sizeof why))) {
		fprintf(stderr, "netpass: %s\n", why);
		return 3;
	}
	for (int i = 0; feat_net_layer(n, i, &l) == 0; i++)
		printf("%d\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "%s\n", i, l.type, l.name, l.params,
		       l.macs, l.folded ? "\tfolded" : "");
	if (argc == 2) {
		feat_net_free(n);
		return 0;
	}
	feat_net_input(n, 0, &t);
	if (!(f = fopen(argv[2], "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 ||
	    (size_t)size % (t.count * sizeof(float)) || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "netpass: %s: cannot read whole inputs of %zu floats\n", argv[2],
			t.count);
		return 1;
	}
	batch = (int)((size_t)size / (t.count * sizeof(float)));
	if ((e = feat_net_reserve(n, batch))) {
		fprintf(stderr, "netpass: batch %d: %s\n", batch, feat_strerror(e));
		return 1;
	}
	feat_net_input(n, 0, &t);     /* the data moved with the reserve */
	if (fread(t.data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "netpass: %s: short read\n", argv[2]);
		return 1;
	}
	fclose(f);
	if ((e = feat_net_forward(n, batch))) {
		fprintf(stderr, "netpass: forward pass: %s\n", feat_strerror(e));
		return 1;
	}
	for (int i = 0; feat_net_output(n, i, &t) == 0; i++) {
		char out[4096];
		FILE *w;

		snprintf(out, sizeof out, "%s.%s.f32", argv[3], t.name);
		if (!(w = fopen(out, "wb")) ||
		    fwrite(t.data, sizeof(float), t.count * (size_t)batch, w) != t.count * (size_t)batch ||
		    fclose(w)) {
			fprintf(stderr, "netpass: %s: cannot write\n", out);
			return 1;
		}
	}
	feat_net_free(n);
	return 0;
}
