"""Offline evaluation harness: splits, metrics, baselines, agent scenarios, reports."""
