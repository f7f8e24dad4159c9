import os
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

Images = Union[Sequence[Union[str, "os.PathLike[str]"]], Sequence[Union[bytes, bytearray]], npt.NDArray[np.uint8]]
Pool = Literal["cls", "mean", "pooler", "none"]

__version__: str

class VitrsError(ValueError):
    """Base of vitrs's errors on bad input."""

class ImageError(VitrsError):
    """An image could not be decoded or preprocessed."""

class ModelError(VitrsError):
    """A model could not be found, loaded or run on the input."""

class FileError(OSError):
    """A file could not be read."""

class Model:
    """A Vision Transformer with its image processor.

    ``spec`` is a model folder in the Hugging Face layout, a Hub id (``org/name[@revision]``)
    or ``random:NAME`` (seeded random weights, ``seed``). ``dtype``: ``"f32"`` (f16 and
    bf16 checkpoints are widened on load) or ``"int8"`` (the encoder's linear layers in int8,
    as the CLI's ``--dtype int8``; an f32 checkpoint is quantized on load). ``threads`` sizes the
    process's worker pool on the first model (default: ``OMP_NUM_THREADS``, else the cores).
    ``jpeg_draft=True`` decodes large JPEGs already shrunk by libjpeg's DCT scaling (as Pillow's
    ``Image.draft``, the CLI's ``--jpeg-draft``): faster on photos, **not exact** to
    transformers (off by default). A model pickles as its spec, seed, dtype, threads,
    ``share_weights`` folder and ``jpeg_draft`` and loads again where it is unpickled.

    ``share_weights``: with several worker processes on one machine (Spark's Python workers,
    Ray actors), ``True`` (or a folder) puts the packed weights in a read-only file that every
    process loading the same weights memory-maps, so the machine holds one copy instead of one
    per process (ViT-B/16: ~330 MB each). The file, named by a hash of the weights, is written
    by the first process into ``VITRS_CACHE_DIR``, else ``$XDG_CACHE_HOME/vitrs``, else
    ``~/.cache/vitrs`` (or the folder given), and used only where it equals the weights this
    process loaded, bit for bit. Delete the folder's files when no process uses them. With
    ``dtype="int8"`` the int8 layers are shared too (ViT-B/16: ~86 MB each).
    """

    def __init__(
        self,
        spec: str,
        *,
        dtype: Literal["f32", "int8"] = "f32",
        threads: Optional[int] = None,
        seed: int = 0,
        share_weights: Union[bool, str, "os.PathLike[str]", None] = None,
        jpeg_draft: bool = False,
    ) -> None: ...
    @property
    def spec(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def jpeg_draft(self) -> bool:
        """Whether large JPEGs are decoded shrunk (not exact to transformers)."""
    @property
    def threads(self) -> int:
        """Worker threads of this process's pool."""
    @property
    def shared_weights(self) -> Optional[Path]:
        """The read-only file the weights are shared through, or None (a private copy)."""
    @property
    def hidden_size(self) -> int: ...
    @property
    def labels(self) -> Optional[List[str]]:
        """``id2label`` in order, or None without a classifier."""
    @property
    def path(self) -> Optional[Path]:
        """The model folder, or None for ``random:`` models."""
    def embed(
        self,
        images: Images,
        *,
        pool: Pool = "cls",
        normalize: bool = False,
        batch_size: int = 32,
        errors: Literal["raise", "skip", "nan"] = "raise",
    ) -> npt.NDArray[np.float32]:
        """One embedding per image, float32 ``[N, D]`` (``[N, T, D]`` with ``pool="none"``).

        ``pool``: ``"cls"`` (final-normed CLS token), ``"mean"`` (mean of the patch tokens),
        ``"pooler"`` (the pooler output) or ``"none"`` (every token). ``normalize`` scales each
        vector to unit L2 norm. ``batch_size`` images go through the model at once. An image
        that cannot be read raises (``"raise"``), is left out (``"skip"``) or gets a row of NaN
        (``"nan"``, which keeps rows aligned with the inputs).
        """
    def forward(
        self,
        pixel_values: npt.NDArray[np.float32],
        *,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        interpolate_pos_encoding: bool = False,
    ) -> Dict[str, Any]:
        """The model on ``pixel_values`` ``[N, 3, H, W]``: a dict named as transformers names
        the outputs: ``last_hidden_state``, ``pooler_output`` (with a pooler), ``logits``
        (with a classifier), ``hidden_states`` and ``attentions`` (tuples, when asked)."""
    def classify(
        self, images: Images, *, top_k: int = 5, batch_size: int = 32
    ) -> List[List[Dict[str, Any]]]:
        """Per image, the ``top_k`` classes, most likely first: dicts with ``index``,
        ``label``, ``probability`` (softmax) and ``logit``."""
    def preprocess(self, images: Images) -> npt.NDArray[np.float32]:
        """``pixel_values`` ``[N, 3, H, W]`` as this model's image processor makes them."""

def preprocess(
    images: Images, *, model: Union[Model, str, "os.PathLike[str]", None] = None
) -> npt.NDArray[np.float32]:
    """``pixel_values`` ``[N, 3, H, W]`` float32, as ``model`` (a Model, or a folder with a
    ``preprocessor_config.json``) preprocesses, or with transformers' ViT defaults."""

def pool_threads() -> int:
    """Worker threads of this process's pool (started on first use)."""

def _rebuild(
    spec: str,
    dtype: str,
    threads: Optional[int],
    seed: int,
    share_weights: Optional[str] = None,
    jpeg_draft: bool = False,
) -> Model: ...
