//! Embedding collections of images: which files, how tokens are pooled, how results are
//! written.

pub mod inputs;
pub mod manifest;
pub mod pool;
pub mod rows;
pub mod shard;
pub mod stream;
pub mod write;

pub use pool::Pool;
