"""vitrs on Ray Data: a callable class for ``Dataset.map_batches``.

Decoding stays in vitrs: feed a column of paths or of raw encoded bytes (``read_binary_files``),
not ``read_images``, whose PIL resize is not the model's preprocessing.

The documented default is one actor per node using that node's cores::

    import ray, vitrs.ray
    ds = ray.data.from_items([{"path": p} for p in paths])
    out = vitrs.ray.embed(ds, "google/vit-base-patch16-224-in21k", column="path")
    # or, by hand:
    out = ds.map_batches(vitrs.ray.Embedder, fn_constructor_args=("random:vit-base-patch16-224",),
                         compute=ray.data.ActorPoolStrategy(size=n_nodes),
                         num_cpus=cores_per_node, batch_size=64)

Ray sets ``OMP_NUM_THREADS`` to the actor's ``num_cpus``, and vitrs sizes its worker pool from
it, so an actor with all of a node's CPUs runs one pool over all the node's cores. With
several actors per node, ``share_weights=True`` lets them map one read-only copy of the
weights (see :class:`vitrs.Model`).
"""

from typing import Any, Dict, Optional

import numpy as np

from ._native import Model


class Embedder:
    """Loads the model once per actor; each batch's ``column`` (paths or encoded bytes) gets an
    ``output_column`` of float32 embeddings (one row per input row; ``errors="nan"`` keeps
    rows aligned when an image cannot be read)."""

    def __init__(
        self,
        model: str,
        *,
        column: str = "path",
        output_column: str = "embedding",
        pool: str = "cls",
        normalize: bool = False,
        batch_size: int = 32,
        errors: str = "nan",
        seed: int = 0,
        threads: Optional[int] = None,
        share_weights: Any = None,
        dtype: str = "f32",
    ) -> None:
        if errors == "skip":
            raise ValueError('errors="skip" would misalign rows: use "raise" or "nan"')
        self.model = Model(
            model, dtype=dtype, seed=seed, threads=threads, share_weights=share_weights
        )
        self.column = column
        self.output_column = output_column
        self.kwargs = dict(pool=pool, normalize=normalize, batch_size=batch_size, errors=errors)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        images = [_image(v) for v in batch[self.column]]
        out = dict(batch)
        out[self.output_column] = self.model.embed(images, **self.kwargs)
        return out


def _image(v: Any) -> Any:
    """A numpy cell as vitrs takes it: str or bytes."""
    if isinstance(v, (bytes, bytearray, str)):
        return v
    if isinstance(v, np.ndarray) and v.dtype == np.uint8:
        return v.tobytes()
    return str(v)


def embed(
    ds: Any,
    model: str,
    *,
    column: str = "path",
    output_column: str = "embedding",
    concurrency: Optional[int] = None,
    num_cpus: Optional[float] = None,
    batch_size: int = 64,
    **kwargs: Any,
) -> Any:
    """``ds.map_batches(Embedder, ...)`` with one actor per alive node (``concurrency``, the
    size of the actor pool) using the smallest node's CPU count (``num_cpus``) unless given."""
    import ray
    import ray.data

    if concurrency is None or num_cpus is None:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        cpus = [n["Resources"].get("CPU", 1.0) for n in nodes] or [1.0]
        concurrency = concurrency or len(cpus)
        num_cpus = num_cpus or min(cpus)
    return ds.map_batches(
        Embedder,
        fn_constructor_args=(model,),
        fn_constructor_kwargs=dict(column=column, output_column=output_column, **kwargs),
        batch_format="numpy",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
    )
