/*
 * photocode - the binary code of each photo named on the command line,
 * through libfeat's photo-to-code API (feat_coder(3)): an example of
 * the library used from C, built and tested by make check.
 *
 *     photocode [-d DETECTOR | -w] [-m DESCRIPTOR] PHOTO...
 *
 * prints one line a photo, as featwrite -f tsv does for the pipeline
 *     PHOTO TAB ok TAB HEX             (and, with -v, the box described)
 *     PHOTO TAB error TAB REASON
 * Exit status: 0 all ok, 1 some photo failed, 2 usage, 3 a model that is
 * not a valid detector or descriptor, 4 a model that cannot be found or
 * read, or out of memory.
 *
 * Build: cc photocode.c $(pkg-config --cflags --libs libfeat)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <feat.h>

int main(int argc, char **argv)
{
	struct feat_coder_opts o;
	struct feat_coder_box box;
	feat_coder *c;
	unsigned char *buf = NULL;
	size_t cap = 0, len;
	uint8_t code[FEAT_CODES_MAX_BITS / 8];
	char why[512], hex[2 * sizeof code + 1];
	int opt, verbose = 0, failed = 0, e;

	feat_coder_opts_init(&o);
	while ((opt = getopt(argc, argv, "d:wm:v")) != -1) {
		switch (opt) {
		case 'd': o.detector = optarg; break;
		case 'w': o.detector = NULL; break;
		case 'm': o.descriptor = optarg; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: photocode [-d DETECTOR | -w] [-m DESCRIPTOR] [-v] PHOTO...\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: photocode [-d DETECTOR | -w] [-m DESCRIPTOR] [-v] PHOTO...\n");
		return 2;
	}
	if ((e = feat_coder_open(&c, &o, why, sizeof why))) {
		fprintf(stderr, "photocode: %s\n", why);
		return e == FEAT_E_IO || e == FEAT_E_NOMEM || e == FEAT_E_NOTFOUND ? 4 : 3;
	}
	for (int i = optind; i < argc; i++) {
		e = feat_file_load(argv[i], 0, 0, &buf, &cap, &len, why, sizeof why);
		if (e == FEAT_E_NOMEM)
			break;
		if (!e)
			e = feat_coder_photo(c, buf, len, code, &box, why, sizeof why);
		if (e == FEAT_E_NOMEM)
			break;
		if (e) {
			printf("%s\terror\t%s\n", argv[i], why);
			failed = 1;
			continue;
		}
		feat_hex_encode(code, (feat_coder_bits(c) + 7) / 8, hex);
		printf("%s\tok\t%s", argv[i], hex);
		if (verbose)
			printf("\t%g,%g,%g,%g\t%d\t%g", box.x0, box.y0, box.x1, box.y1,
			       box.label, box.score);
		putchar('\n');
	}
	free(buf);
	feat_coder_free(c);
	if (e == FEAT_E_NOMEM) {
		fprintf(stderr, "photocode: out of memory\n");
		return 4;
	}
	if (fflush(stdout) || ferror(stdout)) {
		perror("photocode: standard output");
		return 4;
	}
	return failed;
}
