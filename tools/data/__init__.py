"""Datasets: readers that produce one typed interaction table plus an item catalog."""

from evorec.tools.data.schema import Dataset

__all__ = ["Dataset"]
