import os
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
    or ``random:NAME`` (seeded random weights, ``seed``). vitrs computes in f32: ``dtype``
    must be ``"f32"`` (f16 and bf16 checkpoints are widened on load). ``threads`` sizes the
    process's worker pool on the first model (default: ``OMP_NUM_THREADS``, else the cores).
    A model pickles as its spec, seed, dtype and threads and loads again where it is unpickled.
    """

    def __init__(
        self,
        spec: str,
        *,
        dtype: Literal["f32"] = "f32",
        threads: Optional[int] = None,
        seed: int = 0,
    ) -> None: ...
    @property
    def spec(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def threads(self) -> int:
        """Worker threads of this process's pool."""
    @property
    def hidden_size(self) -> int: ...
    @property
    def labels(self) -> Optional[List[str]]:
        """``id2label`` in order, or None without a classifier."""
    @property
    def path(self) -> Optional[str]:
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

def _rebuild(spec: str, dtype: str, threads: Optional[int], seed: int) -> Model: ...
