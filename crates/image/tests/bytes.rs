//! Encoded bytes go through the same steps as a file, EXIF orientation included: for every
//! committed preprocessing image (the eight EXIF orientations among them), the bytes give the
//! file's `pixel_values` bit for bit (and the file's are checked against transformers by
//! `cargo xtask verify`).

use std::path::Path;

use vitrs_image::{Backend, ImageProcessor};

#[test]
fn bytes_preprocess_as_their_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/preprocess/images");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    paths.sort();
    assert!(paths.iter().any(|p| p.ends_with("exif_6.jpg")));
    for backend in [Backend::Torchvision, Backend::Pil] {
        let mut processor = ImageProcessor::default();
        processor.set_backend(backend).unwrap();
        for path in &paths {
            let from_file = processor.preprocess_path(path).unwrap();
            let bytes = std::fs::read(path).unwrap();
            let from_bytes = processor.preprocess_bytes(&bytes, path).unwrap();
            assert_eq!(from_bytes.dims(), from_file.dims(), "{}", path.display());
            assert!(
                from_bytes
                    .data()
                    .iter()
                    .zip(from_file.data())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}",
                path.display()
            );
        }
    }
}
