//! `vitrs._native`: the Python module behind the `vitrs` package (see `python/vitrs/`).
//!
//! A thin layer over the `vitrs` crate's [`Pipeline`]: Python values in (paths, encoded bytes,
//! uint8 arrays, float32 `pixel_values`), numpy arrays out, the GIL released while images are
//! decoded and the model runs, and every Rust error raised as a typed Python exception that
//! carries its message.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArray4, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyTuple};
use vitrs::embed::Pool;
use vitrs::load::Source;
use vitrs::pipeline::{top_k_of, Pipeline, Skipped};
use vitrs_image::{ImageProcessor, RgbImage};
use vitrs_model::{ComputeDtype, ForwardOptions};
use vitrs_tensor::Tensor;

create_exception!(
    vitrs,
    VitrsError,
    PyValueError,
    "Base of vitrs's errors on bad input (a ValueError)."
);
create_exception!(
    vitrs,
    ImageError,
    VitrsError,
    "An image could not be decoded or preprocessed."
);
create_exception!(
    vitrs,
    ModelError,
    VitrsError,
    "A model could not be found, loaded or run on the input."
);
create_exception!(
    vitrs,
    FileError,
    PyOSError,
    "A file could not be read (an OSError)."
);

/// The Python exception for a Rust error: its full message (`{:#}`, every cause), typed by
/// what went wrong.
fn py_err(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    for cause in e.chain() {
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return FileError::new_err(message);
        }
        let img = match cause.downcast_ref::<vitrs::Error>() {
            Some(vitrs::Error::Io { .. }) => return FileError::new_err(message),
            Some(vitrs::Error::Image(img)) => Some(img.as_ref()),
            _ => cause.downcast_ref::<vitrs_image::ImageError>(),
        };
        if let Some(img) = img {
            return match img {
                vitrs_image::ImageError::Io { .. } => FileError::new_err(message),
                _ => ImageError::new_err(message),
            };
        }
    }
    ModelError::new_err(message)
}

/// One image as Python gave it.
enum Input {
    Path(PathBuf),
    Bytes(Vec<u8>, PathBuf),
    Rgb(RgbImage, PathBuf),
}

impl Input {
    fn name(&self) -> &Path {
        match self {
            Input::Path(p) | Input::Bytes(_, p) | Input::Rgb(_, p) => p,
        }
    }

    /// Decodes (if need be) and preprocesses into `[3, H, W]`: a file or encoded bytes as
    /// the CLI does a file (same pixel limit, EXIF orientation included).
    fn pixels(&self, processor: &ImageProcessor) -> vitrs::Result<Tensor> {
        Ok(match self {
            Input::Path(p) => processor.preprocess_path(p)?,
            Input::Bytes(bytes, name) => processor.preprocess_bytes(bytes, name)?,
            Input::Rgb(rgb, name) => processor.preprocess_named(rgb, name)?,
        })
    }
}

/// `images`: a list of paths (str or os.PathLike), a list of encoded bytes, or a uint8
/// `[N, H, W, 3]` array.
fn inputs(images: &Bound<'_, PyAny>) -> PyResult<Vec<Input>> {
    if let Ok(array) = images.extract::<PyReadonlyArray4<u8>>() {
        let shape = array.shape().to_vec();
        if shape[3] != 3 {
            return Err(ImageError::new_err(format!(
                "an image array must be uint8 [N, H, W, 3] (RGB); found shape {shape:?}"
            )));
        }
        let view = array.as_array();
        return Ok((0..shape[0])
            .map(|i| {
                let data: Vec<u8> = view
                    .index_axis(numpy::ndarray::Axis(0), i)
                    .iter()
                    .copied()
                    .collect();
                let rgb = RgbImage::new(shape[2], shape[1], data).expect("H·W·3 bytes");
                Input::Rgb(rgb, PathBuf::from(format!("<array image {i}>")))
            })
            .collect());
    }
    if images.hasattr("shape")? && images.hasattr("dtype")? {
        return Err(ImageError::new_err(format!(
            "an image array must be uint8 [N, H, W, 3] (RGB); found {} {}",
            images.getattr("dtype")?,
            images.getattr("shape")?
        )));
    }
    if images.is_instance_of::<PyBytes>() || images.extract::<PathBuf>().is_ok() {
        return Err(ImageError::new_err(
            "images must be a list (of paths or of encoded bytes) or a uint8 [N, H, W, 3] array, \
             not a single path or bytes object: wrap it in a list",
        ));
    }
    let mut out = Vec::new();
    for (i, item) in images.try_iter()?.enumerate() {
        let item = item?;
        let name = || PathBuf::from(format!("<bytes image {i}>"));
        if let Ok(b) = item.cast::<PyBytes>() {
            out.push(Input::Bytes(b.as_bytes().to_vec(), name()));
        } else if let Ok(b) = item.cast::<PyByteArray>() {
            out.push(Input::Bytes(b.to_vec(), name()));
        } else if let Ok(p) = item.extract::<PathBuf>() {
            out.push(Input::Path(p));
        } else {
            return Err(ImageError::new_err(format!(
                "image {i}: expected a path (str or os.PathLike) or encoded bytes, found {}",
                item.get_type().name()?
            )));
        }
    }
    Ok(out)
}

/// What to do with an image that cannot be read.
#[derive(Clone, Copy, PartialEq)]
enum OnError {
    Raise,
    Skip,
    Nan,
}

fn on_error(s: &str) -> PyResult<OnError> {
    match s {
        "raise" => Ok(OnError::Raise),
        "skip" => Ok(OnError::Skip),
        "nan" => Ok(OnError::Nan),
        _ => Err(PyValueError::new_err(format!(
            "errors={s:?}: expected \"raise\", \"skip\" or \"nan\""
        ))),
    }
}

/// Threads: `threads`, else `OMP_NUM_THREADS`, else the cores.
fn thread_count(threads: Option<usize>) -> PyResult<usize> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(PyValueError::new_err("threads must be at least 1"));
        }
        return Ok(n);
    }
    if let Ok(v) = std::env::var("OMP_NUM_THREADS") {
        if let Ok(n) = v.trim().parse::<usize>() {
            if n > 0 {
                return Ok(n);
            }
        }
    }
    Ok(vitrs_kernels::threads::available())
}

fn to_numpy<'py>(py: Python<'py>, dims: &[usize], data: Vec<f32>) -> Bound<'py, PyArrayDyn<f32>> {
    ArrayD::from_shape_vec(IxDyn(dims), data)
        .expect("dims match the data")
        .into_pyarray(py)
}

fn tensor_to_numpy<'py>(py: Python<'py>, t: &Tensor) -> Bound<'py, PyArrayDyn<f32>> {
    to_numpy(py, t.dims(), t.data().to_vec())
}

/// Where `share_weights=True` puts shared weight files: `VITRS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/vitrs`, else `~/.cache/vitrs`.
fn default_cache_dir() -> PyResult<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("VITRS_CACHE_DIR") {
        return Ok(d);
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Ok(d.join("vitrs"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".cache").join("vitrs")),
        None => Err(PyValueError::new_err(
            "share_weights=True needs a cache folder: set VITRS_CACHE_DIR (or HOME), or pass \
             share_weights=FOLDER",
        )),
    }
}

/// `share_weights`: False/None (private weights), True (the default cache folder) or a folder.
fn share_dir(share: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    let Some(v) = share else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return if b.is_true() {
            default_cache_dir().map(Some)
        } else {
            Ok(None)
        };
    }
    v.extract::<PathBuf>().map(Some).map_err(|_| {
        PyValueError::new_err(format!(
            "share_weights must be a bool or a folder (str or os.PathLike), found {}",
            v.get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))
    })
}

/// A Vision Transformer with its image processor.
///
/// `Model(spec, *, dtype="f32", threads=None, seed=0, share_weights=None, jpeg_draft=False)`:
/// `spec` is a model
/// folder in the Hugging Face layout, a Hub id (`org/name[@revision]`) or `random:NAME` (seeded
/// random weights, `seed`), as the `vitrs` command's `--model` takes it. `dtype`: "f32" (f16
/// and bf16 checkpoints are widened on load) or "int8" (the encoder's linear layers in int8, as
/// `--dtype int8`; an f32 checkpoint is quantized on load). `threads` sizes the process's
/// worker pool on the first model (default: `OMP_NUM_THREADS`, else the cores). `share_weights`
/// (True or a folder) memory-maps the packed weights from a read-only file shared by every
/// process loading the same weights. `jpeg_draft=True` decodes large JPEGs already shrunk by
/// libjpeg's DCT scaling, as the CLI's `--jpeg-draft` (faster; not exact to transformers). A
/// model pickles as its spec and loads again where it is unpickled.
#[pyclass(module = "vitrs", frozen)]
struct Model {
    pipe: Pipeline,
    spec: String,
    seed: u64,
    dtype: String,
    threads: Option<usize>,
    pool_threads: usize,
    /// The file the weights are shared through, if they are.
    shared: Option<PathBuf>,
    /// The folder asked for (kept for pickling).
    share_dir: Option<PathBuf>,
    jpeg_draft: bool,
}

impl Model {
    /// Embeds `inputs` in batches; one entry per input, `None` for one that failed (with
    /// its error).
    fn embed_all(
        &self,
        inputs: &[Input],
        how: Pool,
        batch_size: usize,
    ) -> Result<Vec<Result<Tensor, Skipped>>> {
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(batch_size.max(1)) {
            let pixels = chunk
                .iter()
                .map(|input| {
                    input
                        .pixels(self.pipe.processor())
                        .map_err(|error| Skipped {
                            path: input.name().to_path_buf(),
                            error,
                        })
                })
                .collect();
            for r in self.pipe.embed_preprocessed(pixels, how)? {
                out.push(r.map(|e| e.embedding));
            }
        }
        Ok(out)
    }
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (spec, *, dtype = "f32", threads = None, seed = 0, share_weights = None, jpeg_draft = false))]
    fn new(
        py: Python<'_>,
        spec: String,
        dtype: &str,
        threads: Option<usize>,
        seed: u64,
        share_weights: Option<&Bound<'_, PyAny>>,
        jpeg_draft: bool,
    ) -> PyResult<Self> {
        let share_dir = share_dir(share_weights)?;
        let compute: ComputeDtype = dtype.parse().map_err(|e| {
            PyValueError::new_err(format!(
                "dtype={dtype:?}: {e} (f16 and bf16 checkpoints are read and widened to f32 on \
                 load; int8 runs the encoder's linear layers in int8)"
            ))
        })?;
        let n = thread_count(threads)?;
        let builder = Pipeline::builder(spec.clone())
            .seed(seed)
            .dtype(compute)
            .jpeg_draft(jpeg_draft);
        let (pipe, pool_threads, shared) = py
            .detach(|| -> vitrs::Result<_> {
                let pool_threads = vitrs_kernels::threads::init(n);
                let mut pipe = builder.build()?;
                let shared = match &share_dir {
                    Some(dir) => Some(pipe.model_mut().share_weights(dir)?.path),
                    None => None,
                };
                Ok((pipe, pool_threads, shared))
            })
            .map_err(|e| py_err(e.into()))?;
        Ok(Model {
            pipe,
            spec,
            seed,
            dtype: dtype.to_string(),
            threads,
            pool_threads,
            shared,
            share_dir,
            jpeg_draft,
        })
    }

    /// What the model was loaded from.
    #[getter]
    fn spec(&self) -> &str {
        &self.spec
    }

    /// Seed of `random:` weights.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    /// Compute dtype.
    #[getter]
    fn dtype(&self) -> &str {
        &self.dtype
    }

    /// Whether large JPEGs are decoded shrunk (`jpeg_draft`; not exact to transformers).
    #[getter]
    fn jpeg_draft(&self) -> bool {
        self.jpeg_draft
    }

    /// The read-only file the weights are shared through (`share_weights`), or None when
    /// this process holds its own copy.
    #[getter]
    fn shared_weights(&self) -> Option<PathBuf> {
        self.shared.clone()
    }

    /// Worker threads of this process's pool.
    #[getter]
    fn threads(&self) -> usize {
        self.pool_threads
    }

    /// Width of the tokens (`hidden_size` in `config.json`).
    #[getter]
    fn hidden_size(&self) -> usize {
        self.pipe.model().config().hidden_size
    }

    /// Class labels (`id2label` in order), or None for a model without a classifier.
    #[getter]
    fn labels(&self) -> Option<Vec<String>> {
        self.pipe.model().labels().map(|l| l.to_vec())
    }

    /// Where the weights are: a folder, or None for `random:` models.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        match self.pipe.source() {
            Source::Dir(d) => Some(d.clone()),
            Source::Random(..) => None,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "vitrs.Model({:?}, dtype={:?}, threads={})",
            self.spec, self.dtype, self.pool_threads
        )
    }

    /// Pickles as its spec, seed, dtype, threads, weight-sharing folder and `jpeg_draft`: the
    /// worker loads the model again.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("vitrs._native")?.getattr("_rebuild")?;
        let args = (
            self.spec.clone(),
            self.dtype.clone(),
            self.threads,
            self.seed,
            self.share_dir.clone(),
            self.jpeg_draft,
        );
        PyTuple::new(py, [rebuild, args.into_pyobject(py)?.into_any()])
    }

    /// One embedding per image, float32 `[N, D]` (`[N, T, D]` with `pool="none"`).
    ///
    /// `images`: a list of paths, a list of encoded bytes, or a uint8 `[N, H, W, 3]` array.
    /// `pool`: "cls" (final-normed CLS token), "mean" (mean of the patch tokens), "pooler"
    /// or "none" (every token). `normalize` scales each vector to unit L2 norm. An image that
    /// cannot be read raises (`errors="raise"`), is left out ("skip") or gets a row of NaN
    /// ("nan", rows stay aligned with the inputs).
    #[pyo3(signature = (images, *, pool = "cls", normalize = false, batch_size = 32, errors = "raise"))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
        pool: &str,
        normalize: bool,
        batch_size: usize,
        errors: &str,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let how: Pool = pool.parse().map_err(PyValueError::new_err)?;
        let errors = on_error(errors)?;
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let inputs = inputs(images)?;
        let (dims, data) = py
            .detach(|| -> Result<(Vec<usize>, Vec<f32>)> {
                let mut results = self.embed_all(&inputs, how, batch_size)?;
                if errors == OnError::Raise {
                    if let Some(i) = results.iter().position(|r| r.is_err()) {
                        if let Err(s) = results.swap_remove(i) {
                            return Err(s.error.into());
                        }
                    }
                }
                let item: Option<Vec<usize>> = results
                    .iter()
                    .find_map(|r| r.as_ref().ok().map(|t| t.dims().to_vec()));
                let item = match item {
                    Some(item) => item,
                    None => match results.iter().find_map(|r| r.as_ref().err()) {
                        Some(s) if errors == OnError::Nan => {
                            return Err(anyhow!(
                                "no image could be read, so the embedding size is unknown: {s}"
                            ))
                        }
                        _ => self.empty_item(how),
                    },
                };
                let per: usize = item.iter().product();
                let mut data = Vec::with_capacity(results.len() * per);
                let mut n = 0;
                for r in results {
                    match r {
                        Ok(t) => data.extend_from_slice(t.data()),
                        Err(_) if errors == OnError::Nan => {
                            data.extend(std::iter::repeat_n(f32::NAN, per))
                        }
                        Err(_) => continue,
                    }
                    n += 1;
                }
                if normalize {
                    let last = *item.last().unwrap_or(&1);
                    for v in data.chunks_exact_mut(last.max(1)) {
                        let norm = v
                            .iter()
                            .map(|x| (*x as f64) * (*x as f64))
                            .sum::<f64>()
                            .sqrt();
                        if norm > 0.0 {
                            v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
                        }
                    }
                }
                let mut dims = vec![n];
                dims.extend(item);
                Ok((dims, data))
            })
            .map_err(py_err)?;
        Ok(to_numpy(py, &dims, data))
    }

    /// The model on `pixel_values` `[N, 3, H, W]` float32: a dict named as transformers names
    /// the outputs (`last_hidden_state`, `pooler_output` with a pooler, `logits` with a
    /// classifier, `hidden_states` and `attentions` as tuples when asked).
    #[pyo3(signature = (pixel_values, *, output_hidden_states = false, output_attentions = false, interpolate_pos_encoding = false))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        pixel_values: PyReadonlyArray4<'py, f32>,
        output_hidden_states: bool,
        output_attentions: bool,
        interpolate_pos_encoding: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dims = pixel_values.shape().to_vec();
        let data: Vec<f32> = pixel_values.as_array().iter().copied().collect();
        let opts = ForwardOptions {
            interpolate_pos_encoding,
            output_hidden_states,
            output_attentions,
            prefix_only: false,
        };
        let out = py
            .detach(|| -> Result<_> {
                let pixels = Tensor::new(&dims, data)?;
                Ok(self.pipe.forward(&pixels, &opts)?)
            })
            .map_err(py_err)?;
        let dict = PyDict::new(py);
        dict.set_item(
            "last_hidden_state",
            tensor_to_numpy(py, &out.last_hidden_state),
        )?;
        if let Some(p) = &out.pooler_output {
            dict.set_item("pooler_output", tensor_to_numpy(py, p))?;
        }
        if let Some(l) = &out.logits {
            dict.set_item("logits", tensor_to_numpy(py, l))?;
        }
        if output_hidden_states {
            let hs: Vec<_> = out
                .hidden_states
                .iter()
                .map(|t| tensor_to_numpy(py, t))
                .collect();
            dict.set_item("hidden_states", PyTuple::new(py, hs)?)?;
        }
        if output_attentions {
            let at: Vec<_> = out
                .attentions
                .iter()
                .map(|t| tensor_to_numpy(py, t))
                .collect();
            dict.set_item("attentions", PyTuple::new(py, at)?)?;
        }
        Ok(dict)
    }

    /// Per image, the `top_k` classes, most likely first: dicts with `index`, `label`,
    /// `probability` (softmax) and `logit`. Raises ModelError for a model without a
    /// classifier.
    #[pyo3(signature = (images, *, top_k = 5, batch_size = 32))]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
        top_k: usize,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let labels = self.pipe.model().labels().ok_or_else(|| {
            ModelError::new_err(
                "this model has no classifier (it is a ViTModel); use embed instead",
            )
        })?;
        let inputs = inputs(images)?;
        let predictions = py
            .detach(|| -> Result<Vec<_>> {
                let mut all = Vec::new();
                for chunk in inputs.chunks(batch_size.max(1)) {
                    let pixels = chunk
                        .iter()
                        .map(|i| i.pixels(self.pipe.processor()))
                        .collect::<vitrs::Result<Vec<_>>>()?;
                    let pixels = stack(&pixels)?;
                    let logits = self.pipe.logits(&pixels)?;
                    let n = logits.dims()[1];
                    for row in logits.data().chunks_exact(n) {
                        all.push(top_k_of(row, labels, top_k));
                    }
                }
                Ok(all)
            })
            .map_err(py_err)?;
        let out = PyList::empty(py);
        for image in predictions {
            let ranked = PyList::empty(py);
            for p in image {
                let d = PyDict::new(py);
                d.set_item("index", p.index)?;
                d.set_item("label", p.label)?;
                d.set_item("probability", p.probability)?;
                d.set_item("logit", p.logit)?;
                ranked.append(d)?;
            }
            out.append(ranked)?;
        }
        Ok(out)
    }

    /// `pixel_values` `[N, 3, H, W]` float32 as the model's image processor makes them.
    fn preprocess<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        preprocess_with(py, self.pipe.processor(), images)
    }
}

impl Model {
    /// The shape of one embedding when no image gave one (`skip` with every image bad).
    fn empty_item(&self, how: Pool) -> Vec<usize> {
        let c = self.pipe.model().config();
        match how {
            Pool::None => vec![0, c.hidden_size],
            _ => vec![c.hidden_size],
        }
    }
}

/// `[3, H, W]` images into `[N, 3, H, W]`; all must share a size.
fn stack(images: &[Tensor]) -> Result<Tensor> {
    let first = images[0].dims().to_vec();
    let mut data = Vec::with_capacity(images.len() * images[0].data().len());
    for img in images {
        if img.dims() != first.as_slice() {
            return Err(anyhow!(
                "images in one batch must share a size: {:?} and {:?}",
                first,
                img.dims()
            ));
        }
        data.extend_from_slice(img.data());
    }
    let mut dims = vec![images.len()];
    dims.extend(first);
    Ok(Tensor::new(&dims, data)?)
}

fn preprocess_with<'py>(
    py: Python<'py>,
    processor: &ImageProcessor,
    images: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let inputs = inputs(images)?;
    if inputs.is_empty() {
        return Err(ImageError::new_err("no images to preprocess"));
    }
    let t = py
        .detach(|| -> Result<Tensor> {
            let pixels = inputs
                .iter()
                .map(|i| i.pixels(processor))
                .collect::<vitrs::Result<Vec<_>>>()?;
            stack(&pixels)
        })
        .map_err(py_err)?;
    Ok(tensor_to_numpy(py, &t))
}

/// `pixel_values` `[N, 3, H, W]` float32 of `images`, preprocessed as `model` (a Model, or a
/// folder with a `preprocessor_config.json`) asks, or with transformers' ViT defaults.
#[pyfunction]
#[pyo3(signature = (images, *, model = None))]
fn preprocess<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    match model {
        None => preprocess_with(py, &ImageProcessor::default(), images),
        Some(m) => {
            if let Ok(m) = m.cast::<Model>() {
                return preprocess_with(py, m.get().pipe.processor(), images);
            }
            let dir: PathBuf = m.extract()?;
            let processor = ImageProcessor::from_dir(&dir).map_err(|e| py_err(e.into()))?;
            preprocess_with(py, &processor, images)
        }
    }
}

/// Unpickling: a model loaded again from its spec.
#[pyfunction]
#[pyo3(signature = (spec, dtype, threads, seed, share_weights = None, jpeg_draft = false))]
fn _rebuild(
    py: Python<'_>,
    spec: String,
    dtype: String,
    threads: Option<usize>,
    seed: u64,
    share_weights: Option<PathBuf>,
    jpeg_draft: bool,
) -> PyResult<Model> {
    let share = share_weights.map(|d| d.into_pyobject(py)).transpose()?;
    Model::new(py, spec, &dtype, threads, seed, share.as_ref(), jpeg_draft)
}

/// Worker threads of this process's pool (started on first use).
#[pyfunction]
fn pool_threads() -> usize {
    vitrs_kernels::threads::current()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(preprocess, m)?)?;
    m.add_function(wrap_pyfunction!(_rebuild, m)?)?;
    m.add_function(wrap_pyfunction!(pool_threads, m)?)?;
    m.add("VitrsError", py.get_type::<VitrsError>())?;
    m.add("ImageError", py.get_type::<ImageError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
