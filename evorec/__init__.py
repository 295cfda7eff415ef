"""evorec: an LLM-agent recommender that forecasts how interests evolve and says why.

The repository's top-level folders are installed as subpackages of this namespace:
``evorec.tools`` (engines), ``evorec.agent`` (orchestration), ``evorec.serving``
(API, CLI, LLM launchers), ``evorec.evals`` (offline harness), ``evorec.prompts`` (text).
"""

__version__ = "0.1.0"
