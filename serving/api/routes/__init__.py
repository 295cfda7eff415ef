"""One router per concern; ``evorec.serving.api.app`` includes them all."""
