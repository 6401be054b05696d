/*
 * fuzz_net.c - libFuzzer harness for the graph executor: arbitrary bytes
 * as a featmodel file (from an aligned copy, as a mapping would be);
 * a model the loader accepts is built into a network, run over a
 * deterministic input of its declared shape and, when it is an SSD,
 * detected on (runnet.h: the caps and the properties held).
 *
 *   make fuzz
 *   build-fuzz/fuzz_net t/fuzz/corpus/net   (by hand)
 */
#include <stdlib.h>
#include <string.h>

#include "runnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = NULL;
	struct feat_model m;
	char detail[256];

	if (posix_memalign(&buf, 64, size ? size : 1))
		return 0;
	memcpy(buf, data, size);
	if (feat_model_parse(&m, buf, size, detail, sizeof detail) == 0)
		fuzz_run_model(&m, fuzz_salt(data, size));
	free(buf);
	return 0;
}
