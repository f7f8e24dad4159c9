"""Embed a folder of images with vitrs on Spark: an iterator pandas UDF, one model per worker.

    pip install ./python pyspark "pandas<3" pyarrow
    python examples/spark_embed.py IMAGES_DIR [MODEL] [OUT.parquet]
"""

import sys

from pyspark.sql import SparkSession

from vitrs.spark import embed_udf

folder = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 else "random:vit-base-patch16-224"
out = sys.argv[3] if len(sys.argv) > 3 else "embeddings.parquet"

spark = SparkSession.builder.appName("vitrs-embed").getOrCreate()
# Raw bytes, decoded by vitrs: binaryFile, not the image data source.
files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(folder)
embed = embed_udf(model, batch_size=32)
files.select("path", embed("content").alias("embedding")).write.mode("overwrite").parquet(out)
spark.stop()
