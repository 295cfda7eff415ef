"""The training pipeline: what a home needs to serve a dataset (store ingest, forecaster, fusion ranker).

``prepare(settings, PrepareOptions(...))`` is the one training path; ``evorec train`` / ``train-fusion``,
the demo, the admin retrain job (a ``evorec train --delta FILE`` subprocess), tests and benchmarks run it.
"""

from evorec.tools.training.pipeline import PrepareOptions, PrepareReport, is_prepared, prepare, write_store_delta

__all__ = ["PrepareOptions", "PrepareReport", "is_prepared", "prepare", "write_store_delta"]
