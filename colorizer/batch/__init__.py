"""`python -m colorizer batch SRC DEST`: an archive of photos colorized with Ray Data (docs/batch.md).

plan.py      which files, and where each result goes (colorize's rules)
store.py     local folders and pyarrow filesystems (s3://...), written whole or not at all
manifest.py  one row per source: per-batch part files, consolidated into DEST/manifest.parquet
worker.py    the actor: the model loaded once, each batch through pipeline.colorize_files
run.py       the driver: resume, Ray, progress, summary
"""
