/*
 * photo.c - the pipeline of the README on one photo, in-process (see
 * photo.h).  Each stage calls what its program calls, with that program's
 * defaults: feat_file_load + feat_image_decode (imgdecode), feat_prep from
 * the model's metadata (imgprep -m), the net and feat_ssd_detect with the
 * boxes mapped back through `xform` (ssd-detect), the best box by
 * feat_crop_boxes, the whole photo when there is none (cropbox), and the
 * code as bits of sigmoid > 0.5, averaged with the mirror image when the
 * model says code.mirror (deepbit-extract).  t/t6300 holds its codes to
 * the programs' output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/photo.h"
#include "img/crop.h"
#include "img/prep.h"
#include "nn/net.h"
#include "nn/ssd.h"

struct feat_cli_photo {
	struct feat_net *det, *desc;
	struct feat_ssd ssd;
	struct feat_prep_opts det_prep, desc_prep;
	int mirror, bits;
	struct feat_rec r;
	unsigned char *buf;
	size_t cap;
	struct feat_det *dets;
	size_t detcap;
	float *act;
};

static struct feat_net *load(const char *name, struct feat_prep_opts *prep)
{
	char path[4096], why[512];
	struct feat_net *n = NULL;
	const struct feat_blob *b;
	int e;

	if (feat_cli_model_path(name, path, sizeof path, why, sizeof why))
		feat_die(FEAT_EXIT_SYSTEM, "%s", why);
	if ((e = feat_net_load(&n, path, why, sizeof why)))
		feat_die(e == FEAT_E_IO || e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM
							     : FEAT_EXIT_STREAM, "%s", why);
	if (n->ninput != 1)
		feat_die(FEAT_EXIT_STREAM, "%s: the model has %d inputs; an image model has one",
			 path, n->ninput);
	b = &n->blob[n->input[0]];
	if (b->ndim != 4)
		feat_die(FEAT_EXIT_STREAM, "%s: the model's input has %d dimensions; an image input has 4 (N, C, H, W)",
			 path, b->ndim);
	/* imgprep -m MODEL: its settings from the metadata alone */
	memset(prep, 0, sizeof *prep);
	prep->scale[0] = prep->scale[1] = prep->scale[2] = 1;
	if ((e = feat_prep_from_model(prep, 0, &n->model, why, sizeof why)) ||
	    (e = feat_prep_check(prep, why, sizeof why)))
		feat_die(FEAT_EXIT_STREAM, "%s: %s", path, why);
	if ((int)b->dims[1] != (prep->gray ? 1 : 3) || (int)b->dims[2] != prep->height ||
	    (int)b->dims[3] != prep->width)
		feat_die(FEAT_EXIT_STREAM, "%s: the input settings do not fit the network's input", path);
	if ((e = feat_net_reserve(n, 1)))
		feat_die(FEAT_EXIT_SYSTEM, "%s: %s", path, feat_strerror(e));
	return n;
}

struct feat_cli_photo *feat_cli_photo_open(const char *detector, const char *descriptor)
{
	struct feat_cli_photo *p = calloc(1, sizeof *p);
	const struct feat_value *v;
	const struct feat_blob *b;
	char why[512];
	double m = 0, bits;
	int e;

	if (!p)
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	feat_rec_init(&p->r);
	if (detector) {
		p->det = load(detector, &p->det_prep);
		if ((e = feat_ssd_setup(&p->ssd, p->det, why, sizeof why)))
			feat_die(e == FEAT_E_NOMEM ? FEAT_EXIT_SYSTEM : FEAT_EXIT_STREAM,
				 "%s: %s", detector, why);
	}
	p->desc = load(descriptor, &p->desc_prep);
	if (p->desc->noutput != 1)
		feat_die(FEAT_EXIT_STREAM, "%s: the model has %d outputs; a descriptor has one",
			 descriptor, p->desc->noutput);
	b = &p->desc->blob[p->desc->output[0]];
	if (b->count < 1 || b->count > FEAT_CODES_MAX_BITS)
		feat_die(FEAT_EXIT_STREAM, "%s: the model's output has %zu values; a code has 1 to %d bits",
			 descriptor, b->count, FEAT_CODES_MAX_BITS);
	p->bits = (int)b->count;
	if ((v = feat_model_meta(&p->desc->model, "code.bits")) &&
	    (feat_meta_numbers(v, &bits, 1) != 1 || bits != p->bits))
		feat_die(FEAT_EXIT_STREAM, "%s: metadata 'code.bits' does not match the output's %d values",
			 descriptor, p->bits);
	p->mirror = (v = feat_model_meta(&p->desc->model, "code.mirror")) &&
		    feat_meta_numbers(v, &m, 1) == 1 && m != 0;
	if (!(p->act = malloc((size_t)p->bits * sizeof *p->act)))
		feat_die(FEAT_EXIT_SYSTEM, "out of memory");
	return p;
}

int feat_cli_photo_bits(const struct feat_cli_photo *p)
{
	return p->bits;
}

/* r's `input` into the net's input (one image). */
static float *net_input(struct feat_net *n, struct feat_rec *r)
{
	struct feat_tensor *t = feat_rec_find(r, "input");
	float *in = feat_net_data(n, n->input[0]);

	memcpy(in, t->data, t->nbytes);
	return in;
}

/* ssd-detect then cropbox on p->r: the best box cut out, or the whole
 * image kept when there is none. */
static int detect_crop(struct feat_cli_photo *p, char *why, size_t whylen)
{
	struct feat_net *n = p->det;
	struct feat_tensor *t;
	const float *loc, *conf, *xf = NULL;
	size_t nl = n->blob[p->ssd.loc_blob].count, nc = n->blob[p->ssd.conf_blob].count;
	float *dets = NULL, xform[8];
	struct feat_box *boxes = NULL;
	struct feat_crop_opts copts = { 0 };
	int e, nd = 0, w, h, rect[4];
	float score = FEAT_CROP_FALLBACK, label = FEAT_CROP_FALLBACK;

	if ((e = feat_prep(&p->r, &p->det_prep, why, whylen)))
		return e;
	t = feat_rec_find(&p->r, "input");
	if (feat_f32_nonfinite(t->data, (size_t)feat_tensor_count(t)) < feat_tensor_count(t)) {
		snprintf(why, whylen, "ssd-detect: non-finite input");
		return FEAT_E_RANGE;
	}
	memcpy(xform, feat_rec_find(&p->r, "xform")->data, sizeof xform);
	net_input(n, &p->r);
	if ((e = feat_net_forward(n, 1))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	loc = feat_net_data(n, p->ssd.loc_blob);
	conf = feat_net_data(n, p->ssd.conf_blob);
	if (feat_f32_nonfinite(loc, nl) < nl || feat_f32_nonfinite(conf, nc) < nc ||
	    (nd = feat_ssd_detect(&p->ssd, loc, conf, &p->dets, &p->detcap)) == FEAT_E_RANGE) {
		snprintf(why, whylen, "ssd-detect: network output is not finite");
		return FEAT_E_RANGE;
	}
	if (nd < 0) {
		snprintf(why, whylen, "out of memory");
		return nd;
	}
	t = feat_rec_find(&p->r, "image");
	h = (int)t->dims[0];
	w = (int)t->dims[1];
	if (nd && (!(dets = malloc((size_t)nd * 6 * sizeof *dets)) ||
		   !(boxes = malloc((size_t)nd * sizeof *boxes)))) {
		free(dets);
		snprintf(why, whylen, "out of memory");
		return FEAT_E_NOMEM;
	}
	xf = xform;
	for (int i = 0; i < nd; i++) {
		float *o = dets + 6 * i, sw = xf[0], sh = xf[1];

		o[0] = p->dets[i].label;
		o[1] = p->dets[i].score;
		o[2] = p->dets[i].x0, o[3] = p->dets[i].y0;
		o[4] = p->dets[i].x1, o[5] = p->dets[i].y1;
		/* to image pixels, as ssd-detect maps them */
		for (int j = 2; j < 6; j += 2) {
			float x = (o[j] * (float)p->det_prep.width - xf[6]) / xf[4];
			float y = (o[j + 1] * (float)p->det_prep.height - xf[7]) / xf[5];

			o[j] = x < 0 ? 0 : x > sw ? sw : x;
			o[j + 1] = y < 0 ? 0 : y > sh ? sh : y;
		}
		if (feat_f32_nonfinite(o + 2, 4) < 4) {
			snprintf(why, whylen, "ssd-detect: a box of class %d, score %g, decodes to a non-finite corner",
				 (int)p->dets[i].label, p->dets[i].score);
			free(dets);
			free(boxes);
			return FEAT_E_RANGE;
		}
	}
	rect[0] = rect[1] = 0;
	rect[2] = w;
	rect[3] = h;
	if (nd && feat_crop_boxes(dets, nd, w, h, &copts, boxes) > 0) {
		feat_crop_rect(&boxes[0], w, h, &copts, rect);
		score = boxes[0].score;
		label = boxes[0].label;
	}
	free(dets);
	free(boxes);
	return feat_crop_apply(&p->r, rect, score, label, 0, why, whylen);
}

int feat_cli_photo_code(struct feat_cli_photo *p, const char *path, uint8_t *code,
	char *why, size_t whylen)
{
	struct feat_decode_opts dopt = { .max_pixels = FEAT_DEFAULT_MAX_PIXELS };
	struct feat_net *n = p->desc;
	struct feat_tensor *t;
	const struct feat_blob *b = &n->blob[n->input[0]];
	size_t len, k;
	float *in, *out;
	int e;

	feat_rec_clear(&p->r);
	if ((e = feat_file_load(path, FEAT_DEFAULT_MAX_BYTES, 0, &p->buf, &p->cap, &len,
				why, whylen)) ||
	    (e = feat_image_decode(p->buf, len, &dopt, &p->r, NULL, why, whylen)))
		return e;
	if (p->det && (e = detect_crop(p, why, whylen)))
		return e;
	if ((e = feat_prep(&p->r, &p->desc_prep, why, whylen)))
		return e;
	t = feat_rec_find(&p->r, "input");
	if (feat_f32_nonfinite(t->data, (size_t)feat_tensor_count(t)) < feat_tensor_count(t)) {
		snprintf(why, whylen, "deepbit-extract: non-finite input");
		return FEAT_E_RANGE;
	}
	in = net_input(n, &p->r);
	if ((e = feat_net_forward(n, 1))) {
		snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
		return e;
	}
	out = feat_net_data(n, n->output[0]);
	memcpy(p->act, out, (size_t)p->bits * sizeof *out);
	if (p->mirror) {
		/* as deepbit-extract: the mean with the mirrored input's */
		const float *src = t->data;
		uint32_t c = b->dims[1], h = b->dims[2], w = b->dims[3];

		for (size_t row = 0; row < (size_t)c * h; row++)
			for (uint32_t a = 0; a < w; a++)
				in[row * w + a] = src[row * w + w - 1 - a];
		if ((e = feat_net_forward(n, 1))) {
			snprintf(why, whylen, "forward pass: %s", feat_strerror(e));
			return e;
		}
		out = feat_net_data(n, n->output[0]);
		for (int i = 0; i < p->bits; i++)
			p->act[i] = 0.5f * (p->act[i] + out[i]);
	}
	if ((k = feat_f32_nonfinite(p->act, (size_t)p->bits)) < (size_t)p->bits) {
		snprintf(why, whylen, "deepbit-extract: network output is not finite");
		return FEAT_E_RANGE;
	}
	memset(code, 0, ((size_t)p->bits + 7) / 8);
	for (int i = 0; i < p->bits; i++)
		if (p->act[i] > 0.5f)
			code[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return 0;
}

void feat_cli_photo_free(struct feat_cli_photo *p)
{
	if (!p)
		return;
	if (p->det) {
		feat_ssd_free(&p->ssd);
		feat_net_free(p->det);
	}
	feat_net_free(p->desc);
	feat_rec_free(&p->r);
	free(p->buf);
	free(p->dets);
	free(p->act);
	free(p);
}
