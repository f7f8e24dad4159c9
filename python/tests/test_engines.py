"""vitrs through Ray Data and Spark local clusters, each equal to the CLI.

Run inside a private network namespace (`unshare --net`, only `lo` up): Ray's servers bind
every interface. Skipped when ray or pyspark is not installed.
"""

import os
import tempfile

import numpy as np
import pytest

from conftest import SPEC

TOL = 1e-5


def test_ray_map_batches_equals_the_cli(images, cli_reference):
    ray = pytest.importorskip("ray")
    import vitrs.ray

    # A short temp dir: Ray's unix sockets must fit in 107 bytes.
    tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=tmp,
        _node_ip_address="127.0.0.1",
        configure_logging=False,
    )
    try:
        rows = [{"path": p, "i": i} for i, p in enumerate(images * 2)]
        ds = ray.data.from_items(rows)
        out = vitrs.ray.embed(ds, SPEC, column="path", batch_size=8).take_all()
        paths = ray.data.from_items([{"bytes": open(p, "rb").read(), "i": i} for i, p in enumerate(images)])
        out_bytes = vitrs.ray.embed(paths, SPEC, column="bytes", batch_size=8).take_all()
    finally:
        ray.shutdown()
    got = np.stack([r["embedding"] for r in sorted(out, key=lambda r: r["i"])])
    want = np.concatenate([cli_reference, cli_reference])
    assert got.shape == want.shape and np.max(np.abs(got - want)) <= TOL
    got = np.stack([r["embedding"] for r in sorted(out_bytes, key=lambda r: r["i"])])
    assert np.max(np.abs(got - cli_reference)) <= TOL


def test_spark_pandas_udf_equals_the_cli(images, cli_reference):
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from vitrs.spark import embed_udf

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "8")
        .getOrCreate()
    )
    try:
        rows = [(i, p, bytearray(open(p, "rb").read())) for i, p in enumerate(images * 2)]
        df = spark.createDataFrame(rows, "i int, path string, content binary")
        embed = embed_udf(SPEC, batch_size=8)
        out = df.select("i", embed("path").alias("a"), embed("content").alias("b")).orderBy("i").collect()
    finally:
        spark.stop()
    want = np.concatenate([cli_reference, cli_reference])
    for col in ["a", "b"]:
        got = np.array([r[col] for r in out], dtype=np.float32)
        assert got.shape == want.shape and np.max(np.abs(got - want)) <= TOL, col
