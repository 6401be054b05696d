/*
 * imgkeys - local binary keypoint features of each record's decoded
 * `image` (feat_keys(3)): `keys` (x, y, size, angle, flag) and `kdesc`
 * (256-bit descriptors), for featmatch to pair re-uploads that changed the
 * frame (a banner, a letterbox, a crop, a new background).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"

static const char usage[] =
	"Usage: imgkeys [OPTION]...\n"
	"Read a featstream on standard input; for each record find the keypoints\n"
	"of its `image` (and of its mirror image) and add `keys` (f32 [N, 5]: x, y,\n"
	"size, angle, flag) and `kdesc` (u8 [N, 32]: 256-bit descriptors); write\n"
	"the stream on standard output.  When the record has ssd-detect's `dets`,\n"
	"the keypoints of its best box are added too, found as in a photo of its\n"
	"own, so that a product moved to a new background or shown small keeps\n"
	"keypoints of its own to match (featmatch matches them apart).\n"
	"\n"
	"  -n, --max N          at most N keypoints of the image and N of its\n"
	"                       mirror (default 300)\n"
	"      --side PX        resize the image so that its long side is PX\n"
	"                       (default 400; never enlarged)\n"
	"      --levels L       pyramid levels, each 1/1.3 of the last (default 8)\n"
	"      --no-mirror      only the image's keypoints, not the mirror's\n"
	"      --no-box         not the keypoints of the detector's box\n"
	"      --keep-image     keep `image` (default: removed)\n"
	FEAT_CLI_HELP
	"\n"
	"x, y and size are in the photo's pixels; flag 1 marks the mirror's\n"
	"keypoints, whose x, y are in the mirror image (x' = width - x); flag 2\n"
	"the box's, flag 3 those of the box's mirror (x' = x0 + x1 - x).\n"
	"Exit status: 0 success, 2 usage, 3 input not a featstream or corrupt,\n"
	"4 read or write error or out of memory.\n";

struct opts {
	struct feat_keys_opt keys;
	int keep_image;
};

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "max", required_argument, NULL, 'n' },
		{ "side", required_argument, NULL, 0x2001 },
		{ "levels", required_argument, NULL, 0x2002 },
		{ "no-mirror", no_argument, NULL, 0x2003 },
		{ "keep-image", no_argument, NULL, 0x2004 },
		{ "no-box", no_argument, NULL, 0x2005 },
		FEAT_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = feat_getopt(argc, argv, "n:", lo)) != -1) {
		if (feat_cli_common(c, usage))
			continue;
		switch (c) {
		case 'n': o->keys.max = (int)feat_cli_long("--max", optarg, 1, FEAT_KEYS_MAX_MAX); break;
		case 0x2001: o->keys.side = (int)feat_cli_long("--side", optarg, FEAT_KEYS_MIN_SIDE, FEAT_KEYS_MAX_SIDE); break;
		case 0x2002: o->keys.levels = (int)feat_cli_long("--levels", optarg, 1, FEAT_KEYS_MAX_LEVELS); break;
		case 0x2003: o->keys.no_mirror = 1; break;
		case 0x2004: o->keep_image = 1; break;
		case 0x2005: o->keys.no_box = 1; break;
		}
	}
	if (optind < argc)
		feat_die_usage("unexpected argument '%s' (imgkeys reads standard input)",
			       argv[optind]);
}

/* One ok record: a problem of the record marks it; only memory stops us. */
static int work(struct feat_rec *r, void *ctx, char *why, size_t whylen)
{
	const struct opts *o = ctx;
	int e = feat_keys_rec(r, &o->keys, o->keep_image, why, whylen);

	if (e == FEAT_E_NOMEM)
		return e;
	if (e < 0)
		return feat_rec_set_error(r, "imgkeys: %s", why) == FEAT_E_NOMEM
			       ? FEAT_E_NOMEM : 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { { 0 }, 0 };
	struct feat_filter f = { work, &o };

	feat_cli_init(argv[0]);
	parse(argc, argv, &o);
	feat_info("at most %d keypoints%s, side %d, %d levels%s",
		  o.keys.max ? o.keys.max : FEAT_KEYS_DEFAULT_MAX,
		  o.keys.no_mirror ? "" : " (and as many of the mirror)",
		  o.keys.side ? o.keys.side : FEAT_KEYS_DEFAULT_SIDE,
		  o.keys.levels ? o.keys.levels : FEAT_KEYS_DEFAULT_LEVELS,
		  o.keys.no_box ? "" : "; as many again in the detector's box (with `dets`)");
	return feat_filter_run(&f);
}
