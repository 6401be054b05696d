/* crop.h - lib/img's cropping helpers shared inside libfeat (keys.c) */
#ifndef FEAT_IMG_CROP_H
#define FEAT_IMG_CROP_H

/* A rectangle of the photo's ow x oh frame as pixels of the iw x ih image
 * that shows it (see crop.c). */
void feat_crop_frame_to_image(const int fr[4], int ow, int oh, int iw, int ih, int out[4]);

#endif
