//! Decode + preprocess of ~1000 px JPEG and PNG images to ViT-B/16's [3, 224, 224].

use criterion::{criterion_group, criterion_main, Criterion};
use vitrs_image::ImageProcessor;

fn preprocess(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("vitrs-bench-preprocess");
    std::fs::create_dir_all(&dir).unwrap();
    // A ~1000 px photo made from the committed cat: upscaled with Pillow's own LANCZOS (ours).
    let src = vitrs_image::decode::decode_file(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/images/chelsea.png"
        )),
        Default::default(),
    )
    .unwrap();
    let big = vitrs_image::resample::resize(&src, 1000, 665, vitrs_image::Filter::Lanczos);
    let img = image::RgbImage::from_raw(1000, 665, big.data).unwrap();
    let png = dir.join("cat-1000.png");
    let jpg = dir.join("cat-1000.jpg");
    img.save(&png).unwrap();
    img.save(&jpg).unwrap();
    let p = ImageProcessor::default();
    let mut g = c.benchmark_group("decode_preprocess_1000px");
    g.bench_function("jpeg", |b| b.iter(|| p.preprocess_path(&jpg).unwrap()));
    g.bench_function("png", |b| b.iter(|| p.preprocess_path(&png).unwrap()));
    g.finish();
}

criterion_group!(benches, preprocess);
criterion_main!(benches);
