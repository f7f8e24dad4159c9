//! The whole model on the portable kernels (no SIMD intrinsics anywhere), against
//! transformers' outputs for every committed model case, at the same tolerance as the SIMD
//! paths. One test per file: the choice of kernels is made once per process.

mod common;

#[test]
fn every_model_case_matches_transformers_on_the_portable_kernels() {
    common::every_model_case_matches_transformers_on(vitrs_kernels::gemm::Isa::Portable);
}
