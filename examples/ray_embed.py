"""Embed a folder of images with vitrs on Ray Data, one actor per node using its cores.

    pip install ./python "ray[data]"
    python examples/ray_embed.py IMAGES_DIR [MODEL] [OUT.parquet]
"""

import sys
from pathlib import Path

import ray

import vitrs.ray

images = sorted(str(p) for p in Path(sys.argv[1]).rglob("*") if p.is_file())
model = sys.argv[2] if len(sys.argv) > 2 else "random:vit-base-patch16-224"
out = sys.argv[3] if len(sys.argv) > 3 else "embeddings.parquet"

ray.init()  # or ray.init(address="auto") on a cluster
ds = ray.data.from_items([{"path": p} for p in images])
# Decoding stays in vitrs: paths (or read_binary_files' bytes), not read_images.
ds = vitrs.ray.embed(ds, model, column="path", batch_size=64)
ds.write_parquet(out)
print(f"{len(images)} images -> {out}")
