//! Reading and writing tensors in safetensors files, the exchange format of the commands.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, View};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_tensor::Tensor;

struct F32View<'a>(&'a Tensor);

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
/// renamed over `path` only once it is complete, so a reader never sees half a file.
pub fn write_tensors(path: &Path, tensors: &[(String, &Tensor)]) -> Result<()> {
    write_tensors_with_metadata(path, tensors, HashMap::new())
}

/// As [`write_tensors`], with string metadata in the header (`__metadata__`).
pub fn write_tensors_with_metadata(
    path: &Path,
    tensors: &[(String, &Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let views = tensors.iter().map(|(n, t)| (n.clone(), F32View(t)));
    let metadata = (!metadata.is_empty()).then_some(metadata);
    let bytes = safetensors::tensor::serialize(views, &metadata)
        .with_context(|| format!("serialising {}", path.display()))?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".vitrs-partial-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file beside {}", path.display()))?;
    let partial = tmp.path().to_path_buf();
    in_progress()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(partial.clone());
    let result = tmp
        .write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))
        .and_then(|_| {
            tmp.persist(path)
                .map(|_| ())
                .with_context(|| format!("renaming the finished file to {}", path.display()))
        });
    in_progress()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| p != &partial);
    result
}

fn in_progress() -> &'static Mutex<Vec<PathBuf>> {
    static FILES: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    FILES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Removes the temporary files of writes still in progress. The command calls this when it
/// is interrupted (Ctrl-C), so an interrupted run leaves no partial file behind either.
pub fn remove_partial_files() {
    let files = in_progress().lock().unwrap_or_else(|e| e.into_inner());
    for f in files.iter() {
        let _ = std::fs::remove_file(f);
    }
}

/// Reads tensor `name` from the safetensors file at `path`, as f32.
pub fn read_tensor(path: &Path, name: &str) -> Result<Tensor> {
    let file = SafetensorsFile::open(path)?;
    let Some(dims) = file.dims(name) else {
        let mut names = file.names();
        names.sort();
        bail!(
            "{}: no tensor `{name}`; found [{}]",
            path.display(),
            names.join(", ")
        );
    };
    let data = file.load(name)?;
    Ok(Tensor::new(&dims, data)?)
}
