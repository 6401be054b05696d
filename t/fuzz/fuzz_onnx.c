/*
 * fuzz_onnx.c - libFuzzer harness for the ONNX importer (lib/nn/import/onnx.c):
 * arbitrary bytes as a .onnx file; what it accepts is encoded, parsed by
 * the featmodel loader (which may still refuse it, with a reason), and
 * built and run as fuzz_net.c runs a model (runnet.h: the caps and the
 * properties held).
 *
 *   make fuzz
 *   build-fuzz/fuzz_onnx t/fuzz/corpus/onnx   (by hand)
 */
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "runnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feat_model_builder *b = feat_model_builder_new();
	uint8_t *copy = malloc(size ? size : 1);
	char detail[512];

	if (!b || !copy)
		goto out;
	memcpy(copy, data, size);
	if (feat_import_onnx(b, copy, size, detail, sizeof detail) == 0) {
		unsigned char *f;
		size_t len;
		struct feat_model m;

		if (feat_mb_encode(b, &f, &len) == 0) {
			/* the importer leaves some checks of the graph to the
			 * loader (a node reading a name nothing defines), as
			 * featmodel import does after it writes */
			detail[0] = 0;
			if (feat_model_parse(&m, f, len, detail, sizeof detail) == 0)
				fuzz_run_model(&m, fuzz_salt(data, size));
			else if (!detail[0])
				abort();  /* every refusal says why */
			free(f);
		}
	}
out:
	feat_model_builder_free(b);
	free(copy);
	return 0;
}
