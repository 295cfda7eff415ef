"""Serving-side forecasting: artifacts, the inference service, InterestForecast results, mix evaluation."""
