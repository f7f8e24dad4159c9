"""vitrs: Vision Transformers on a CPU, exact to transformers, from Python.

>>> import vitrs
>>> model = vitrs.Model("random:deit-tiny-patch16-224")
>>> model.embed(["cat.png"]).shape      # doctest: +SKIP
(1, 192)

``Model(spec)`` takes what the ``vitrs`` command's ``--model`` takes: a model folder in the
Hugging Face layout, a Hub id (from the Hugging Face cache, or downloaded into it) or
``random:NAME`` (an architecture with seeded random weights). Images are a list of paths, a
list of encoded bytes (PNG, JPEG, ...), or a uint8 ``[N, H, W, 3]`` array; vitrs decodes and
preprocesses them itself, as transformers' ViTImageProcessor does.

The GIL is released while images are decoded and the model runs. The worker threads come from
``threads``, else ``OMP_NUM_THREADS``, else the machine's cores; they are one pool per process,
sized by the first model, and rebuilt in a forked child.

Errors are typed: :class:`ImageError` and :class:`ModelError` (both :class:`VitrsError`, a
:class:`ValueError`) and :class:`FileError` (an :class:`OSError`), each with the Rust message.

Engine adapters: :mod:`vitrs.ray` (Ray Data ``map_batches``) and :mod:`vitrs.spark` (an
iterator pandas UDF).
"""

from ._native import (
    FileError,
    ImageError,
    Model,
    ModelError,
    VitrsError,
    __version__,
    pool_threads,
    preprocess,
)

__all__ = [
    "FileError",
    "ImageError",
    "Model",
    "ModelError",
    "VitrsError",
    "__version__",
    "pool_threads",
    "preprocess",
]
