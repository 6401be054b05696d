/*
 * photo.h - a photo's code in one call: decode -> prepare -> detect ->
 * crop -> prepare -> describe, the pipeline of the README
 * (imgdecode | imgprep | ssd-detect | cropbox | imgprep | deepbit-extract)
 * run in-process on one file, with the same library calls and the same
 * defaults as those programs, so that a photo gets the code that the
 * pipeline gives it.  For programs that take a photo as a query
 * (featsearch --image).  Like cli.h, it prints nothing itself but dies on
 * faults of the run (a model that cannot be loaded).
 */
#ifndef FEAT_CLI_PHOTO_H
#define FEAT_CLI_PHOTO_H

#include <stddef.h>
#include <stdint.h>

struct feat_cli_photo;

/*
 * Load the models: detector (an SSD, e.g. "ssd"; NULL: the whole photo is
 * described, as in the dedup pipeline) and descriptor (e.g. "deepbit"),
 * names or paths as -m takes them.  Dies with exit 4 (cannot read) or 3
 * (not such a model) when one cannot be used.
 */
struct feat_cli_photo *feat_cli_photo_open(const char *detector,
	const char *descriptor);
/* Bits of the descriptor's codes. */
int feat_cli_photo_bits(const struct feat_cli_photo *p);
/*
 * The code of the photo in file path, packed MSB first, padding bits zero,
 * into code (room for (bits + 7) / 8 bytes).  0; FEAT_E_NOMEM (a fault of
 * the run); or another negative FEAT_E_* for a photo that cannot be coded,
 * with the one-line reason the pipeline would put in its error record.
 */
int feat_cli_photo_code(struct feat_cli_photo *p, const char *path,
	uint8_t *code, char *why, size_t whylen);
void feat_cli_photo_free(struct feat_cli_photo *p);

#endif
