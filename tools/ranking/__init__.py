"""Fused ranking: ranking index, per-user signals, features, the fitted fusion ranker, hard constraints,
evidence and template rationales."""
