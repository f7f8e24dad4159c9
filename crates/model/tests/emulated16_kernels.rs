//! The whole model on the emulated sixteen-lane kernels (`VITRS_ISA=emu16`: the AVX-512
//! path's generic code — 6 × 64 tiles, 128-deep packing, 16-lane exp/erf/tanh, softmax and
//! LayerNorm — on plain arrays), against transformers' outputs for every committed model
//! case, at the same tolerance as the other paths. It runs on any CPU, so the 16-lane logic
//! is checked end to end where no AVX-512 exists. One test per file: the choice of kernels is
//! made once per process.

mod common;

#[test]
fn every_model_case_matches_transformers_on_the_emulated_16_lane_kernels() {
    common::every_model_case_matches_transformers_on(vitrs_kernels::gemm::Isa::Emulated16);
}
