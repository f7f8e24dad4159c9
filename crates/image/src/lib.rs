//! Image decoding and `ViTImageProcessor`-exact preprocessing.
