use std::fmt;

use crate::TensorError;

/// Dimensions of a row-major tensor.
///
/// The element count is checked for overflow when the shape is made, so code that holds a
/// `Shape` may multiply its dimensions freely.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: Vec<usize>,
    numel: usize,
}

impl Shape {
    /// Makes a shape, refusing dimensions whose product overflows `usize`.
    ///
    /// ```
    /// let s = vitrs_tensor::Shape::new(&[1, 197, 768]).unwrap();
    /// assert_eq!(s.numel(), 151_296);
    /// assert!(vitrs_tensor::Shape::new(&[usize::MAX, 2]).is_err());
    /// ```
    pub fn new(dims: &[usize]) -> Result<Self, TensorError> {
        let numel = checked_numel(dims).ok_or_else(|| TensorError::Overflow {
            dims: dims.to_vec(),
        })?;
        Ok(Shape {
            dims: dims.to_vec(),
            numel,
        })
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.numel
    }
}

/// The product of `dims`, or `None` if it overflows.
pub(crate) fn checked_numel(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims)
    }
}
