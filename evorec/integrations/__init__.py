"""Adapters that let other agent frameworks use evorec's tools (each imports its framework lazily)."""
