"""The engines behind the routes, opened once per app.

Opening is lazy (first request, or :meth:`Engines.warm_up` at startup) so ``/healthz``
answers, and says what is wrong, even while the store is down; a failed open is retried on
the next request. Opening also warms the history store (every event in the process cache),
so history reads after it are sub-millisecond. Tests pass ready-made engines in.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from evorec.settings import Settings

if TYPE_CHECKING:
    from evorec.agent import AgentService
    from evorec.tools import Toolbox

log = logging.getLogger("evorec.api")


class Engines:
    def __init__(self, settings: Settings, toolbox: Toolbox | None = None, agent: AgentService | None = None,
                 llm: Any = None, warm_store: bool = True) -> None:
        self.settings = settings
        self.warm_store = warm_store
        self._toolbox = toolbox
        self._agent = agent
        self._llm = llm
        self._lock = threading.RLock()
        # Writes (ingest, forget) are serialised: each is a read-modify-write of caches in the toolbox.
        self.write_lock = threading.Lock()

    @property
    def toolbox(self) -> Toolbox:
        if self._toolbox is None:
            with self._lock:
                if self._toolbox is None:
                    from evorec.tools import Toolbox

                    log.info("opening toolbox for dataset %s", self.settings.dataset)
                    self._toolbox = Toolbox.open(self.settings, self.settings.dataset, warm=self.warm_store)
        return self._toolbox

    @property
    def agent(self) -> AgentService:
        if self._agent is None:
            with self._lock:
                if self._agent is None:
                    from evorec.agent import AgentService

                    self._agent = AgentService(self.toolbox, self.settings, llm=self._llm)
        return self._agent

    def warm_up(self) -> bool:
        """Open the engines now (store warmed), e.g. at server startup, so the first requests are fast. A failure
        is logged and left to the first request to retry and report; returns whether the engines are open."""
        from evorec.errors import EvorecError

        try:
            self.toolbox  # noqa: B018 - opening is the point
        except EvorecError as e:
            log.warning("warm-up: engines not opened yet: %s", e)
        return self.opened

    @property
    def opened(self) -> bool:
        return self._toolbox is not None

    def close(self) -> None:
        """Release what the engines hold (the store client); safe to call twice."""
        for engine in (self._agent, self._toolbox):
            close = getattr(engine, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # shutdown must not fail on a half-open engine
                    log.exception("closing %s", type(engine).__name__)

    def reload(self) -> None:
        """Reopen the engines (after a retrain wrote new artifacts); requests in flight keep the old ones."""
        from evorec.agent import AgentService
        from evorec.tools import Toolbox

        with self._lock:
            toolbox = Toolbox.open(self.settings, self.settings.dataset, warm=self.warm_store)
            agent = AgentService(toolbox, self.settings, llm=self._llm)
            self._toolbox, self._agent = toolbox, agent
