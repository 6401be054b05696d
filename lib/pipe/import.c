/*
 * import.c - featmodel import's library half: an ONNX model, or a Caffe
 * deploy.prototxt and its .caffemodel, to the bytes of a featmodel file,
 * with the metadata a user adds (KEY=VALUE, class names), checked to
 * build into a network before anyone writes it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "nn/model.h"
#include "nn/net.h"

/* KEY=VALUE (nn/model.h): numbers become ints or floats (lists when there
 * are commas), anything else text. */
int feat_mb_meta_kv(feat_model_builder *b, const char *kv, char *why, size_t whylen)
{
	const char *eq = strchr(kv, '=');
	char key[256], *val, *tok, *save = NULL, *end;
	int64_t iv[256];
	double fv[256];
	int n = 0, ints = 1, nums = 1, e;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
		feat_fmt(why, whylen, "metadata '%s': expected KEY=VALUE, the key 1 to 255 bytes",
			 kv);
		return FEAT_E_INVAL;
	}
	if (!(val = strdup(eq + 1)))
		return FEAT_E_NOMEM;
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	for (tok = strtok_r(val, ",", &save); tok && nums; tok = strtok_r(NULL, ",", &save)) {
		if (n == 256) {
			nums = 0;
			break;
		}
		errno = 0;
		iv[n] = strtoll(tok, &end, 10);
		if (errno || *end || end == tok) {
			ints = 0;
			fv[n] = strtod(tok, &end);
			if (*end || end == tok || !isfinite(fv[n]))
				nums = 0;
		} else {
			fv[n] = (double)iv[n];
		}
		n++;
	}
	if (nums && n == 1 && !strchr(eq + 1, ','))
		e = feat_mb_meta(b, key, ints ? &(struct feat_value){ .type = FEAT_V_INT, .n = 1, .u.i = iv[0] }
					     : &(struct feat_value){ .type = FEAT_V_FLOAT, .n = 1, .u.f = fv[0] });
	else if (nums && n)
		e = feat_mb_meta(b, key, ints ? &(struct feat_value){ .type = FEAT_V_INTS, .n = (uint32_t)n, .u.ints = iv }
					     : &(struct feat_value){ .type = FEAT_V_FLOATS, .n = (uint32_t)n, .u.floats = fv });
	else
		e = feat_mb_meta(b, key, &(struct feat_value){ .type = FEAT_V_STR, .n = 1, .u.s = eq + 1 });
	free(val);
	if (e)
		feat_fmt(why, whylen, "metadata '%s': cannot store it: %s", kv, feat_strerror(e));
	return e;
}

/* The class names of a file, one a line, as metadata `labels`. */
static int set_labels(feat_model_builder *b, const char *path, char *why, size_t whylen)
{
	struct feat_labels l = { 0 };
	int e;

	if ((e = feat_labels_load(&l, path, why, whylen)))
		return e;
	if ((e = feat_mb_meta(b, "labels", &(struct feat_value){ .type = FEAT_V_STRS,
				.n = (uint32_t)l.n, .u.strs = (const char *const *)l.names })))
		feat_fmt(why, whylen, "%s: cannot store the labels: %s", path, feat_strerror(e));
	feat_labels_free(&l);
	return e;
}

/* A model file's bytes: mapped, and not empty. */
static int source(struct feat_mapped *f, const char *path, char *why, size_t whylen)
{
	char reason[256];
	int e;

	if ((e = feat_map_file(f, path, FEAT_MAP_REGULAR, reason, sizeof reason)))
		return feat_fail_named(why, whylen, path, e, "%s", reason);
	if (!f->len) {
		feat_unmap(f);
		return feat_fail_named(why, whylen, path, FEAT_E_EMPTY, "empty file");
	}
	return 0;
}

int feat_model_import(const char *model, const char *weights, const char *const *set,
	int nset, const char *labels, unsigned char **out, size_t *outlen, int *layers,
	char *why, size_t whylen)
{
	feat_model_builder *b = feat_model_builder_new();
	struct feat_mapped map, map2;
	struct feat_model m;
	struct feat_net *n;
	char reason[400];
	int e;

	*out = NULL;
	*outlen = 0;
	if (!b)
		return feat_fail_named(why, whylen, model, FEAT_E_NOMEM, "out of memory");
	if ((e = source(&map, model, why, whylen)))
		goto done;
	if (weights) {
		if ((e = source(&map2, weights, why, whylen))) {
			feat_unmap(&map);
			goto done;
		}
		e = feat_import_caffe(b, (const char *)map.data, map.len, map2.data, map2.len,
				      reason, sizeof reason);
		feat_unmap(&map2);
	} else {
		e = feat_import_onnx(b, map.data, map.len, reason, sizeof reason);
	}
	feat_unmap(&map);
	if (e) {
		feat_fmt(why, whylen, "%s: %s", model, reason);
		goto done;
	}
	for (int i = 0; i < nset && !e; i++)
		e = feat_mb_meta_kv(b, set[i], why, whylen);
	if (!e && labels)
		e = set_labels(b, labels, why, whylen);
	if (e)
		goto done;
	if ((e = feat_mb_encode(b, out, outlen))) {
		feat_fmt(why, whylen, "%s: %s", model, feat_strerror(e));
		goto done;
	}
	/* only a model that builds is handed back to be written */
	if ((e = feat_model_parse(&m, *out, *outlen, reason, sizeof reason)) ||
	    (e = feat_net_build(&n, &m, reason, sizeof reason))) {
		feat_fmt(why, whylen, "%s: imported, but the network does not build: %s", model,
			 reason);
		goto done;
	}
	if (layers)
		*layers = n->nlayer;
	feat_net_free(n);
done:
	feat_model_builder_free(b);
	if (e) {
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
	return e;
}
