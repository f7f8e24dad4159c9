use thiserror::Error;

/// What can go wrong when building or converting a tensor.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TensorError {
    /// The product of the dimensions does not fit in `usize`.
    #[error("shape {dims:?} has more elements than fit in memory")]
    Overflow {
        /// The dimensions that overflowed.
        dims: Vec<usize>,
    },
    /// Data length does not match the shape.
    #[error("shape {dims:?} needs {expected} elements, found {found}")]
    LengthMismatch {
        /// The dimensions.
        dims: Vec<usize>,
        /// Elements the shape needs.
        expected: usize,
        /// Elements provided.
        found: usize,
    },
    /// A byte buffer is not a whole number of elements of the dtype.
    #[error("{len} bytes is not a whole number of {dtype} elements ({size} bytes each)")]
    ByteLength {
        /// Dtype name.
        dtype: &'static str,
        /// Bytes per element.
        size: usize,
        /// Bytes provided.
        len: usize,
    },
    /// A dtype name that vitrs does not store.
    #[error("unsupported dtype {found}; expected one of F32, F16, BF16")]
    UnsupportedDType {
        /// The name found.
        found: String,
    },
}
