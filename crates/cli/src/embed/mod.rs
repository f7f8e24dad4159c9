//! Embedding collections of images: which files, how tokens are pooled, how results are
//! written.

pub mod inputs;
pub mod pool;
pub mod write;

pub use pool::Pool;
