//! config.json + model.safetensors from arbitrary bytes: loading and, if that succeeds, one
//! forward pass must return (Ok or Err) without panicking, hanging or allocating without bound.
//!
//! Input layout: `config bytes ‖ 0x00 ‖ safetensors bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs_model::{ForwardOptions, ViT};
use vitrs_tensor::Tensor;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (config, rest) = data.split_at(split);
    let weights = rest.get(1..).unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), weights).unwrap();
    if let Ok(vit) = ViT::load(dir.path()) {
        let c = vit.config();
        let [h, w] = c.image_size;
        if c.num_channels * h * w <= 1 << 16 {
            let pixels = Tensor::zeros(&[1, c.num_channels, h, w]).unwrap();
            let _ = vit.forward(&pixels, &ForwardOptions::default());
        }
    }
});
