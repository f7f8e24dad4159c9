//! One memory-mapped safetensors file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors};
use vitrs_kernels::mmap::MappedFile;
use vitrs_tensor::{decode, DType, Shape};

use crate::ModelError;

struct Entry {
    dtype: Result<DType, String>,
    dims: Vec<usize>,
    range: std::ops::Range<usize>,
}

/// A safetensors file, mapped read-only. The header is validated when it is opened (offsets
/// inside the file, byte counts matching shapes); tensor bytes are decoded only when asked.
pub struct SafetensorsFile {
    path: PathBuf,
    map: MappedFile,
    entries: HashMap<String, Entry>,
}

fn dtype_of(d: Dtype) -> Result<DType, String> {
    match d {
        Dtype::F32 => Ok(DType::F32),
        Dtype::F16 => Ok(DType::F16),
        Dtype::BF16 => Ok(DType::BF16),
        other => Err(format!("{other:?}")),
    }
}

impl SafetensorsFile {
    /// Maps and validates the file at `path`.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        // A regular file only: mapping a FIFO or a device would block or never end.
        let map = vitrs_tensor::file::open_regular(path)
            .and_then(|(file, _)| MappedFile::map(file))
            .map_err(|e| ModelError::io(path, e))?;
        let bad = |message: String| ModelError::Safetensors {
            path: path.to_path_buf(),
            message,
        };
        if map.len() < 8 {
            return Err(bad(format!(
                "{} bytes is too short for a header",
                map.len()
            )));
        }
        let st = SafeTensors::deserialize(&map).map_err(|e| bad(format!("{e:?}")))?;
        let base = map.as_ptr() as usize;
        let mut entries = HashMap::new();
        for (name, view) in st.tensors() {
            let dims = view.shape().to_vec();
            let data = view.data();
            let start = data.as_ptr() as usize - base;
            let dtype = dtype_of(view.dtype());
            if matches!(&dtype, Err(s) if s == "I8") {
                let numel = Shape::new(&dims)
                    .map_err(|e| bad(format!("tensor `{name}`: {e}")))?
                    .numel();
                if numel != data.len() {
                    return Err(bad(format!(
                        "tensor `{name}`: shape {dims:?} of I8 needs {numel} bytes, found {}",
                        data.len()
                    )));
                }
            }
            if let Ok(dt) = dtype {
                let numel = Shape::new(&dims)
                    .map_err(|e| bad(format!("tensor `{name}`: {e}")))?
                    .numel();
                if numel.checked_mul(dt.size()) != Some(data.len()) {
                    return Err(bad(format!(
                        "tensor `{name}`: shape {dims:?} of {dt} needs {} bytes, found {}",
                        numel.saturating_mul(dt.size()),
                        data.len()
                    )));
                }
            }
            entries.insert(
                name,
                Entry {
                    dtype,
                    dims,
                    range: start..start + data.len(),
                },
            );
        }
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            map,
            entries,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Tensor names in the file.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Shape of `name`.
    pub fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.entries.get(name).map(|e| e.dims.clone())
    }

    /// Distinct dtype names in the file.
    pub fn dtypes(&self) -> Vec<String> {
        self.entries
            .values()
            .map(|e| match &e.dtype {
                Ok(d) => d.name().to_string(),
                Err(s) => s.clone(),
            })
            .collect()
    }

    /// Bytes of tensor data.
    pub fn data_bytes(&self) -> usize {
        self.entries.values().map(|e| e.range.len()).sum()
    }

    /// Decodes `name` to `f32`. Panics never; a missing name is a [`ModelError::MissingTensor`].
    pub fn load(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| ModelError::MissingTensor {
                checkpoint: self.path.display().to_string(),
                name: name.to_string(),
            })?;
        let dtype = entry.dtype.clone().map_err(|found| ModelError::DType {
            path: self.path.clone(),
            name: name.to_string(),
            found,
        })?;
        if !self.map.still_whole() {
            return Err(ModelError::Safetensors {
                path: self.path.clone(),
                message: "the file shrank while it was being read; was it being rewritten?".into(),
            });
        }
        let values =
            decode(&self.map[entry.range.clone()], dtype).map_err(|e| ModelError::Safetensors {
                path: self.path.clone(),
                message: format!("tensor `{name}`: {e}"),
            })?;
        self.map.release(entry.range.clone());
        Ok(values)
    }

    /// The values of `name` if it is stored as `I8` (an int8 checkpoint's quantized weight),
    /// `None` for any other dtype.
    pub fn load_i8(&self, name: &str) -> Result<Option<Vec<i8>>, ModelError> {
        let Some(entry) = self.entries.get(name) else {
            return Ok(None);
        };
        if !matches!(&entry.dtype, Err(s) if s == "I8") {
            return Ok(None);
        }
        if !self.map.still_whole() {
            return Err(ModelError::Safetensors {
                path: self.path.clone(),
                message: "the file shrank while it was being read; was it being rewritten?".into(),
            });
        }
        let values = self.map[entry.range.clone()]
            .iter()
            .map(|&b| b as i8)
            .collect();
        self.map.release(entry.range.clone());
        Ok(Some(values))
    }
}
