"""The HTTP API: ``create_app(settings, services=None)`` builds the FastAPI app."""

from evorec.serving.api.app import create_app

__all__ = ["create_app"]
