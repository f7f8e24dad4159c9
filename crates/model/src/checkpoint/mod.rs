//! Where weights come from.
//!
//! [`WeightSource`] is anything that can hand out named `f32` tensors: a [`Checkpoint`] of
//! memory-mapped safetensors files (one file or a sharded set), or weights made in memory.

mod safetensors_file;
mod sharded;

use std::path::{Path, PathBuf};

pub use safetensors_file::SafetensorsFile;

use crate::ModelError;

/// A named collection of tensors, decoded to `f32` on request.
pub trait WeightSource {
    /// Names of every tensor, sorted.
    fn names(&self) -> Vec<String>;
    /// The shape of `name`, if present.
    fn dims(&self, name: &str) -> Option<Vec<usize>>;
    /// The values of `name` as `f32`, row-major, or `None` if absent.
    fn load(&self, name: &str) -> Result<Option<Vec<f32>>, ModelError>;
    /// How errors should name this source (a file or folder).
    fn describe(&self) -> String;
    /// The values of `name` if it is stored as `i8` (a quantized weight), else `None`.
    fn load_i8(&self, name: &str) -> Result<Option<Vec<i8>>, ModelError> {
        let _ = name;
        Ok(None)
    }
}

/// The safetensors weights of a checkpoint folder: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json`.
pub struct Checkpoint {
    dir: PathBuf,
    files: Vec<SafetensorsFile>,
}

impl Checkpoint {
    /// Opens the weights in `dir`, preferring a single `model.safetensors`.
    pub fn open_dir(dir: &Path) -> Result<Self, ModelError> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let files = if single.exists() {
            vec![SafetensorsFile::open(&single)?]
        } else if index.exists() {
            sharded::open_shards(&index)?
        } else {
            return Err(ModelError::io(
                &single,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no model.safetensors or model.safetensors.index.json in the folder",
                ),
            ));
        };
        Ok(Checkpoint {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Opens one safetensors file.
    pub fn open_file(path: &Path) -> Result<Self, ModelError> {
        Ok(Checkpoint {
            dir: path.to_path_buf(),
            files: vec![SafetensorsFile::open(path)?],
        })
    }

    /// Bytes of tensor data over all files.
    pub fn data_bytes(&self) -> usize {
        self.files.iter().map(|f| f.data_bytes()).sum()
    }

    /// The dtype names present (`"F32"`, ...), deduplicated.
    pub fn dtypes(&self) -> Vec<String> {
        let mut d: Vec<String> = self.files.iter().flat_map(|f| f.dtypes()).collect();
        d.sort();
        d.dedup();
        d
    }

    fn find(&self, name: &str) -> Option<&SafetensorsFile> {
        self.files.iter().find(|f| f.contains(name))
    }
}

impl WeightSource for Checkpoint {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.files.iter().flat_map(|f| f.names()).collect();
        names.sort();
        names
    }

    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.find(name).and_then(|f| f.dims(name))
    }

    fn load(&self, name: &str) -> Result<Option<Vec<f32>>, ModelError> {
        match self.find(name) {
            Some(f) => f.load(name).map(Some),
            None => Ok(None),
        }
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn load_i8(&self, name: &str) -> Result<Option<Vec<i8>>, ModelError> {
        match self.find(name) {
            Some(f) => f.load_i8(name),
            None => Ok(None),
        }
    }
}
