//! Reading named tensors, one at a time, from safetensors files and `.npz` archives.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors};
use vitrs_kernels::mmap::MappedFile;
use vitrs_tensor::DType;

use crate::npy;
use crate::ConvertError;

/// Largest `.npy` member accepted (4 GiB), checked against its header before reading.
pub const MAX_MEMBER_BYTES: u64 = 4 << 30;

/// A collection of named tensors, decoded to `f32` one at a time.
pub trait TensorSource {
    /// Every tensor name, sorted.
    fn names(&self) -> Vec<String>;
    /// The shape of `name`.
    fn dims(&self, name: &str) -> Option<Vec<usize>>;
    /// The values of `name` as `f32`.
    fn read(&self, name: &str) -> Result<Vec<f32>, ConvertError>;
    /// The file, for errors.
    fn path(&self) -> &Path;
}

/// A memory-mapped safetensors file.
pub struct SafetensorsSource {
    path: PathBuf,
    map: MappedFile,
    entries: BTreeMap<String, (DType, Vec<usize>, std::ops::Range<usize>)>,
}

impl SafetensorsSource {
    /// Maps and indexes `path`.
    pub fn open(path: &Path) -> Result<Self, ConvertError> {
        let map = MappedFile::open(path).map_err(|e| ConvertError::io(path, e))?;
        let bad = |message: String| ConvertError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let st = SafeTensors::deserialize(&map)
            .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
        let base = map.as_ptr() as usize;
        let mut entries = BTreeMap::new();
        for (name, view) in st.tensors() {
            let dtype = match view.dtype() {
                Dtype::F32 => DType::F32,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                other => {
                    return Err(bad(format!(
                        "tensor `{name}` has dtype {other:?}; expected F32, F16 or BF16"
                    )))
                }
            };
            let start = view.data().as_ptr() as usize - base;
            entries.insert(
                name,
                (
                    dtype,
                    view.shape().to_vec(),
                    start..start + view.data().len(),
                ),
            );
        }
        Ok(SafetensorsSource {
            path: path.to_path_buf(),
            map,
            entries,
        })
    }
}

impl TensorSource for SafetensorsSource {
    fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.entries.get(name).map(|e| e.1.clone())
    }

    fn read(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let (dtype, _, range) = self.entries.get(name).ok_or_else(|| ConvertError::Tensor {
            name: name.into(),
            expected: "present".into(),
            found: "missing".into(),
        })?;
        let values = vitrs_tensor::decode(&self.map[range.clone()], *dtype).map_err(|e| {
            ConvertError::Malformed {
                path: self.path.clone(),
                message: format!("tensor `{name}`: {e}"),
            }
        })?;
        self.map.release(range.clone());
        Ok(values)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// A `.npz` archive (a zip of `.npy` files), as the original JAX ViT code saves weights.
/// Headers are read once; each member is decompressed only when asked for.
pub struct Npz {
    path: PathBuf,
    members: BTreeMap<String, (String, npy::Header)>,
}

impl Npz {
    /// Opens `path` and reads every member's `.npy` header.
    pub fn open(path: &Path) -> Result<Self, ConvertError> {
        let file = std::fs::File::open(path).map_err(|e| ConvertError::io(path, e))?;
        let bad = |message: String| ConvertError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let mut zip =
            zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip archive: {e}")))?;
        let mut members = BTreeMap::new();
        for i in 0..zip.len() {
            let mut f = zip
                .by_index(i)
                .map_err(|e| bad(format!("member {i}: {e}")))?;
            let member = f.name().to_string();
            let name = member.strip_suffix(".npy").unwrap_or(&member).to_string();
            let mut head = vec![0u8; 10];
            f.read_exact(&mut head)
                .map_err(|e| bad(format!("{member}: {e}")))?;
            let len = npy::header_len(&head).map_err(|m| bad(format!("{member}: {m}")))?;
            let mut rest = vec![0u8; len];
            f.read_exact(&mut rest)
                .map_err(|e| bad(format!("{member}: {e}")))?;
            head.extend_from_slice(&rest);
            let header = npy::parse_header(&head).map_err(|m| bad(format!("{member}: {m}")))?;
            let want = header
                .data_bytes()
                .ok_or_else(|| bad(format!("{member}: shape overflows")))?;
            if want > MAX_MEMBER_BYTES || want + head.len() as u64 != f.size() {
                return Err(bad(format!(
                    "{member}: header says {want} data bytes, the member holds {} (limit {MAX_MEMBER_BYTES})",
                    f.size().saturating_sub(head.len() as u64)
                )));
            }
            members.insert(name, (member, header));
        }
        Ok(Npz {
            path: path.to_path_buf(),
            members,
        })
    }
}

impl TensorSource for Npz {
    fn names(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.members.get(name).map(|m| m.1.shape.clone())
    }

    fn read(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let bad = |message: String| ConvertError::Malformed {
            path: self.path.clone(),
            message,
        };
        let (member, header) = self.members.get(name).ok_or_else(|| ConvertError::Tensor {
            name: name.into(),
            expected: "present".into(),
            found: "missing".into(),
        })?;
        let file = std::fs::File::open(&self.path).map_err(|e| ConvertError::io(&self.path, e))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        let mut f = zip
            .by_name(member)
            .map_err(|e| bad(format!("{member}: {e}")))?;
        let mut bytes = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{member}: {e}")))?;
        npy::decode(header, &bytes[header.header_bytes..])
            .map_err(|m| bad(format!("{member}: {m}")))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
