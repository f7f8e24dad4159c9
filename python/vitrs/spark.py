"""vitrs on Spark: an iterator pandas UDF that loads the model once per Python worker.

Decoding stays in vitrs: apply it to a column of paths (strings) or of raw encoded bytes
(``spark.read.format("binaryFile")``'s ``content``)::

    from vitrs.spark import embed_udf
    embed = embed_udf("google/vit-base-patch16-224-in21k")
    df = spark.read.format("binaryFile").load("images/").select("path", embed("content").alias("embedding"))

The model is cached per worker process (Spark reuses Python workers between tasks), and the
worker pool takes its size from ``OMP_NUM_THREADS``, which Spark sets to the task's cores
(``spark.task.cpus``), unless ``threads`` is given. An executor runs one Python worker per
task slot, each with its own model: ``share_weights=True`` lets them map one read-only copy
of the weights instead (see :class:`vitrs.Model`).
"""

from typing import Any, Dict, Iterator, Optional, Tuple

from ._native import Model

_MODELS: Dict[Tuple[str, int, Optional[int], Any, str], Model] = {}


def cached_model(
    spec: str,
    seed: int = 0,
    threads: Optional[int] = None,
    share_weights: Any = None,
    dtype: str = "f32",
) -> Model:
    """This process's model for ``spec``, loaded on first use."""
    key = (spec, seed, threads, share_weights, dtype)
    if key not in _MODELS:
        _MODELS[key] = Model(
            spec, dtype=dtype, seed=seed, threads=threads, share_weights=share_weights
        )
    return _MODELS[key]


def embed_udf(
    model: Any,
    *,
    pool: str = "cls",
    normalize: bool = False,
    batch_size: int = 32,
    errors: str = "nan",
    seed: int = 0,
    threads: Optional[int] = None,
    share_weights: Any = None,
    dtype: str = "f32",
) -> Any:
    """A ``pandas_udf`` (``array<float>``) embedding a column of paths or encoded bytes.

    ``model`` is a spec (or a :class:`vitrs.Model`, whose spec, seed and dtype are used). With
    ``errors="nan"`` (the default) an unreadable image gets a row of NaN, so rows stay aligned.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    if isinstance(model, Model):
        spec, seed, dtype = model.spec, model.seed, model.dtype
    else:
        spec = str(model)
    if errors == "skip":
        raise ValueError('errors="skip" would misalign rows: use "raise" or "nan"')
    kwargs = dict(pool=pool, normalize=normalize, batch_size=batch_size, errors=errors)

    @pandas_udf("array<float>")  # type: ignore[call-overload]
    def vitrs_embed(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        m = cached_model(spec, seed, threads, share_weights, dtype)
        for batch in batches:
            images = [v if isinstance(v, (str, bytes)) else bytes(v) for v in batch]
            yield pd.Series(list(m.embed(images, **kwargs)))

    return vitrs_embed
