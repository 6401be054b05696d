/*
 * avx512/table.c - the AVX-512 table: a copy of the reference table (the
 * caller's) with every family this path has overridden.  What is not set
 * here runs the plain C twin.
 */
#include "kern/kern.h"
#include "kern/avx512/avx512.h"
#include "kern/bf16.h"
#include "kern/int8.h"

/* The products of the Winograd phases, over U packed in panels
 * (feat_wino_pack) at a->up. */
static int wino_gemm(const struct feat_wino_args *a, int xi, const float *v, int ldv,
	float *m, int ldm, int nt)
{
	size_t pp = feat_wino_packed(a->cout, a->cin) / FEAT_WINO_XI;

	feat_wino_gemm_avx512(a->up + xi * pp, a->cout, a->cin, v, ldv, m, ldm, nt);
	return 0;
}

void feat_kern_fill_avx512(struct feat_kern *k)
{
	k->desc = "AVX-512 packed SGEMM, 12x32 microkernel";
	k->supported = feat_kern_cpu_avx512;
	k->routes = FEAT_ROUTE_WINO | FEAT_ROUTE_CONV3 | FEAT_ROUTE_NCHWC | FEAT_ROUTE_POOL2;
	k->sgemm = feat_sgemm_avx512;
	k->blocks = &feat_kern_blocks_avx512;
	k->sgemm_pack_a = feat_sgemm_pack_a_avx512;
	k->sgemm_pack_b = feat_sgemm_pack_b_avx512;
	k->workspace_free = feat_sgemm_workspace_free_avx512;
	k->conv3 = feat_conv3_avx512;
	k->convk = feat_convk_avx512;
	k->dwconv = feat_dwconv_avx512;
	k->wino_u_floats = feat_wino_packed;
	k->wino_u_pack = feat_wino_pack;
	k->wino_input = feat_wino_input_avx512;
	k->wino_gemm = wino_gemm;
	k->wino_output = feat_wino_output_avx512;
	/* On a core whose 512-bit FMAs run at the 256-bit rate (Zen 4) the
	 * multiplies Winograd saves are worth twice as much, and it pays
	 * from 13x13 maps (16 tiles of 4x4, as many as a 16x16 map): on a
	 * Zen 4 core (featmodel bench -b 1, FEAT_WINOGRAD=1 against the
	 * default), DeepBit VGG16's three 14x14 layers (512 -> 512) 8.6-8.7
	 * ms -> 6.9-7.1, ResNet-50's five 14x14 ones (256 -> 256) 2.13-2.21
	 * -> 1.76-1.83; 10x10 maps still lose (SSD300's 256 -> 512 extra:
	 * 1.08 -> 1.82 ms), 7x7 ones more (ResNet-50's layer4: 2.4 -> 6.8).
	 * Elsewhere the bar measured on the full-width core stays. */
	k->wino_min_px = feat_kern_cpu_zmm_half() ? 169 : 256;
	k->nchwc_from = feat_nchwc_from_avx512;
	k->nchwc_to = feat_nchwc_to_avx512;
	k->nchwc_mean = feat_nchwc_mean_avx512;
	k->nchwc_mul = feat_nchwc_mul_avx512;
	k->maxpoolc = feat_maxpoolc_avx512;
	k->convc = feat_convc_avx512;
	k->dwc = feat_dwc_avx512;
	k->conv3c = feat_conv3c_avx512;
	k->maxpool2x2 = feat_maxpool2x2_avx512;
	k->act = feat_act_avx512;
	k->maxpool = feat_maxpool_avx512;
	k->softmax = feat_softmax_avx512;
	k->layernorm = feat_layernorm_avx512;
	k->rowmean = feat_rowmean_avx512;
	k->pc_filter = feat_pc_filter_avx512;
	k->pc_scan = feat_pc_scan_avx512;
	k->pc_supported = feat_pc_cpu_avx512;
	k->peak = feat_kern_peak_avx512;
	/* int8: VNNI or none (the layers then run fp32) */
	k->qgemm = feat_kern_cpu_vnni() ? feat_qgemm_avx512 : NULL;
	k->qgemv = feat_kern_cpu_vnni() ? feat_qgemv_avx512 : NULL;
	k->quant_c4 = feat_quant_c4_avx512;
	k->qpeak = feat_kern_cpu_vnni() ? feat_kern_qpeak_avx512 : NULL;
	/* bf16: AVX512_BF16 or none (the layers then run fp32) */
	k->bgemm = feat_kern_cpu_bf16() ? feat_bgemm_avx512 : NULL;
	k->bgemv = feat_kern_cpu_bf16() ? feat_bgemv_avx512 : NULL;
	k->bf16_c2 = feat_kern_cpu_bf16() ? feat_bf16_c2_avx512 : feat_bf16_c2_ref;
	k->bpeak = feat_kern_cpu_bf16() ? feat_kern_bpeak_avx512 : NULL;
}
