use crate::{Shape, TensorError};

/// An owned, row-major `f32` tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: Vec<f32>,
}

/// A borrowed, row-major `f32` tensor.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    shape: &'a Shape,
    data: &'a [f32],
}

impl Tensor {
    /// Wraps `data` with `dims`, checking that the lengths agree.
    ///
    /// ```
    /// let t = vitrs_tensor::Tensor::new(&[2, 3], vec![0.0; 6]).unwrap();
    /// assert_eq!(t.dims(), &[2, 3]);
    /// ```
    pub fn new(dims: &[usize], data: Vec<f32>) -> Result<Self, TensorError> {
        let shape = Shape::new(dims)?;
        if shape.numel() != data.len() {
            return Err(TensorError::LengthMismatch {
                dims: dims.to_vec(),
                expected: shape.numel(),
                found: data.len(),
            });
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of zeros.
    pub fn zeros(dims: &[usize]) -> Result<Self, TensorError> {
        let shape = Shape::new(dims)?;
        let data = vec![0.0; shape.numel()];
        Ok(Tensor { shape, data })
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Gives up the elements.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// A borrowed view.
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            shape: &self.shape,
            data: &self.data,
        }
    }

    /// Same elements, new dimensions with the same element count.
    pub fn reshape(self, dims: &[usize]) -> Result<Self, TensorError> {
        Tensor::new(dims, self.data)
    }

    /// Largest absolute element-wise difference from `other`, or `None` if shapes differ.
    pub fn max_abs_diff(&self, other: &Tensor) -> Option<f32> {
        (self.dims() == other.dims()).then(|| {
            self.data
                .iter()
                .zip(&other.data)
                .map(|(a, b)| {
                    if a.is_nan() || b.is_nan() {
                        f32::INFINITY
                    } else {
                        (a - b).abs()
                    }
                })
                .fold(0.0f32, f32::max)
        })
    }
}

impl<'a> TensorView<'a> {
    /// The dimensions.
    pub fn dims(&self) -> &'a [usize] {
        self.shape.dims()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The `i`-th sub-tensor along the first axis, as a slice.
    pub fn outer(&self, i: usize) -> Option<&'a [f32]> {
        let first = *self.shape.dims().first()?;
        if i >= first {
            return None;
        }
        let inner = self.data.len() / first;
        Some(&self.data[i * inner..(i + 1) * inner])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_length_names_both_counts() {
        let err = Tensor::new(&[2, 3], vec![0.0; 5]).unwrap_err();
        assert_eq!(err.to_string(), "shape [2, 3] needs 6 elements, found 5");
    }

    #[test]
    fn outer_slices_rows() {
        let t = Tensor::new(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.view().outer(1), Some(&[3.0, 4.0][..]));
        assert_eq!(t.view().outer(2), None);
    }

    #[test]
    fn nan_makes_diff_infinite() {
        let a = Tensor::new(&[1], vec![f32::NAN]).unwrap();
        let b = Tensor::new(&[1], vec![0.0]).unwrap();
        assert_eq!(a.max_abs_diff(&b), Some(f32::INFINITY));
    }
}
