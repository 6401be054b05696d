/*
 * fuzz_caffe.c - libFuzzer harness for the Caffe importer (lib/nn/import/caffe.c,
 * with the prototxt and protobuf readers under it).  An input is a
 * deploy.prototxt, a NUL byte, and a .caffemodel; whatever the importer
 * accepts must be a model the featmodel loader accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	size_t mlen = nul ? size - plen - 1 : 0;
	char *p = malloc(plen ? plen : 1);
	uint8_t *m = malloc(mlen ? mlen : 1);
	feat_model_builder *b = feat_model_builder_new();
	char detail[512];

	if (!p || !m || !b)
		goto out;
	memcpy(p, data, plen);
	if (mlen)
		memcpy(m, nul + 1, mlen);
	if (feat_import_caffe(b, p, plen, m, mlen, detail, sizeof detail) == 0) {
		unsigned char *f;
		size_t len;
		struct feat_model model;

		if (feat_mb_encode(b, &f, &len) == 0) {
			if (feat_model_parse(&model, f, len, detail, sizeof detail) == 0)
				feat_model_free(&model);
			free(f);
		}
	}
out:
	feat_model_builder_free(b);
	free(p);
	free(m);
	return 0;
}
