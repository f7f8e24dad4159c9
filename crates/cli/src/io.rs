//! Reading and writing tensors in safetensors files, the exchange format of the commands.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, View};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_tensor::Tensor;

use crate::error::IoContext;
use crate::output::{Destination, Inputs, Target};
use crate::{Error, Result};

/// A tensor as an f32 safetensors view, for `safetensors::tensor::serialize`.
pub struct F32View<'a>(&'a Tensor);

/// The view of `t` to serialise.
pub fn f32_view(t: &Tensor) -> F32View<'_> {
    F32View(t)
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        self.0.dims()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(vitrs_tensor::encode(
            self.0.data(),
            vitrs_tensor::DType::F32,
        ))
    }
    fn data_len(&self) -> usize {
        self.0.data().len() * 4
    }
}

/// Writes `tensors` as f32 to `path` atomically: a temporary file in the same folder is
/// renamed over `path` only once it is complete, so a reader never sees half a file. `path`
/// is checked as [`crate::output::Target::check`] does (no inputs known here).
pub fn write_tensors(path: &Path, tensors: &[(String, &Tensor)]) -> Result<()> {
    let dest = Destination::File(Target::check(path, &Inputs::new())?);
    write_tensors_to(&dest, tensors, HashMap::new())
}

/// As [`write_tensors`], with string metadata in the header (`__metadata__`).
pub fn write_tensors_with_metadata(
    path: &Path,
    tensors: &[(String, &Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let dest = Destination::File(Target::check(path, &Inputs::new())?);
    write_tensors_to(&dest, tensors, metadata)
}

/// `tensors` as an f32 safetensors file to an already checked destination (a file, written
/// atomically, or stdout).
pub fn write_tensors_to(
    dest: &Destination,
    tensors: &[(String, &Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    dest.check_binary("safetensors")?;
    let views = tensors.iter().map(|(n, t)| (n.clone(), F32View(t)));
    let metadata = (!metadata.is_empty()).then_some(metadata);
    let bytes = safetensors::tensor::serialize(views, &metadata).map_err(|e| Error::Serialize {
        action: format!("serialising {}", dest.shown()),
        source: Box::new(e),
    })?;
    dest.write_all(&bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename, after the checks of
/// [`crate::output::Target::check`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Target::check(path, &Inputs::new())?
        .create()
        .and_then(|mut p| {
            p.write_all(bytes)
                .io_err(path, || format!("writing {}", path.display()))?;
            p.commit()
        })
}

pub use crate::output::remove_partial_files;

/// Reads tensor `name` from the safetensors file at `path`, as f32.
pub fn read_tensor(path: &Path, name: &str) -> Result<Tensor> {
    let file = SafetensorsFile::open(path)?;
    let Some(dims) = file.dims(name) else {
        let mut found = file.names();
        found.sort();
        return Err(Error::MissingTensor {
            path: path.to_path_buf(),
            name: name.to_string(),
            found,
        });
    };
    let data = file.load(name)?;
    Ok(Tensor::new(&dims, data)?)
}
