/*
 * feat.h - the public interface of libfeat, one header per part:
 *
 *   feat/base.h     the export macro, the version, the error codes
 *   feat/stream.h   tensors, records, the featstream reader and writer
 *   feat/image.h    decoding, preparation, crops, class names
 *   feat/keys.h     local binary keypoint features
 *   feat/kern.h     the compute path and GEMM
 *   feat/codes.h    hex, CRC, Hamming distance, featcodes, the code index
 *   feat/pipe.h     the detector, the describer, photo to code
 *   feat/match.h    near-duplicate photos by their keypoints
 *   feat/nn.h       networks: inspect, time, run; codes fitted to a layer
 *
 * libfeat holds all of featkit's logic; the programs in cmd/ only parse
 * options and wire these calls together.  Include <feat.h> (it includes
 * them all) or only the parts used: each includes what it needs.
 * libfeat.so exports the functions these headers declare (FEAT_API) and
 * nothing else.  Conventions: see feat/base.h.
 */
#ifndef FEAT_H
#define FEAT_H

#include "feat/base.h"
#include "feat/stream.h"
#include "feat/image.h"
#include "feat/keys.h"
#include "feat/kern.h"
#include "feat/codes.h"
#include "feat/pipe.h"
#include "feat/match.h"
#include "feat/nn.h"

#endif /* FEAT_H */
