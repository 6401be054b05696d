/*
 * table.c - the reference table: every kernel family in plain C, the
 * oracle the other tables are held to and the start of each of them
 * (dispatch.c copies it, then blas.c and avx512/table.c override what they
 * have).  Its routes keep FEAT_KERNEL=ref on the direct loops, one thread.
 */
#include "kern/kern.h"
#include "kern/bf16.h"
#include "kern/conv3.h"
#include "kern/convk.h"
#include "kern/dwconv.h"
#include "kern/int8.h"
#include "kern/nchwc.h"
#include "kern/popcount.h"
#include "kern/winograd.h"

static int always(void)
{
	return 1;
}

static void no_workspace(void)
{
}

const struct feat_kern feat_kern_ref_table = {
	.id = FEAT_KERN_REF,
	.name = "ref",
	.desc = "plain C reference",
	.supported = always,
	.routes = FEAT_ROUTE_DIRECT,
	.sgemm = feat_sgemm_ref,
	.blocks = NULL,
	.sgemm_pack_a = NULL,
	.workspace_free = no_workspace,
	.conv3 = feat_conv3_ref,
	.convk = feat_convk_ref,
	.dwconv = feat_dwconv_ref,
	.wino_u_floats = feat_wino_u_floats_ref,
	.wino_u_pack = feat_wino_u_pack_ref,
	.wino_input = feat_wino_input_ref,
	.wino_gemm = feat_wino_gemm_ref,
	.wino_output = feat_wino_output_ref,
	/* 16x16 maps and up: where the GEMM paths measured it pay
	 * (lib/nn/passes.c); avx512/table.c lowers it on Zen 4 */
	.wino_min_px = 256,
	.nchwc_from = feat_nchwc_from,
	.nchwc_to = feat_nchwc_to,
	.nchwc_mean = feat_nchwc_mean_ref,
	.nchwc_mul = feat_nchwc_mul_ref,
	.maxpoolc = feat_maxpoolc_ref,
	.convc = feat_convc_ref,
	.dwc = feat_dwc_ref,
	.conv3c = feat_conv3c_ref,
	.maxpool2x2 = feat_maxpool2x2_ref,
	.act = feat_act_ref,
	.maxpool = feat_maxpool_ref,
	.rowmean = feat_rowmean_ref,
	.softmax = feat_softmax_ref,
	.layernorm = feat_layernorm_ref,
	.pc_filter = feat_pc_filter_ref,
	.pc_scan = feat_pc_scan_ref,
	.pc_supported = always,
	.peak = feat_kern_peak_ref,
	.qgemm = feat_qgemm_ref,
	.qgemv = feat_qgemv_ref,
	.quant_c4 = feat_quant_c4_ref,
	.qpack_b = feat_qpack_b_conv,
	.bgemm = feat_bgemm_ref,
	.bf16_c2 = feat_bf16_c2_ref,
	.bgemv = feat_bgemv_ref,
};
