"""Streaming free text while a tool call may be starting: what can be sent now, what must be held back."""

from __future__ import annotations

from evorec.serving.llm.chat_format import TOOL_CALL_OPEN


class StreamSplitter:
    """Streams free text as it comes but holds back anything that may be the start of a ``<tool_call>``."""

    def __init__(self, hold_json: bool = False) -> None:
        self.text = ""
        self.emitted = 0
        self.in_call = False
        self.hold_json = hold_json  # tools offered: output starting like JSON may be a botched call; hold it
        self.held_json = False

    def feed(self, piece: str) -> str:
        self.text += piece
        if self.in_call:
            return ""
        if self.hold_json and self.emitted == 0:
            head = self.text.lstrip()
            if not head:
                return ""
            if head[0] in "{`":
                self.in_call = self.held_json = True
                return ""
        pending = self.text[self.emitted :]
        at = pending.find(TOOL_CALL_OPEN)
        if at >= 0:
            self.in_call = True
            out = pending[:at]
        else:
            keep = 0  # longest suffix of pending that is a prefix of the tag
            for k in range(min(len(TOOL_CALL_OPEN) - 1, len(pending)), 0, -1):
                if TOOL_CALL_OPEN.startswith(pending[-k:]):
                    keep = k
                    break
            out = pending[: len(pending) - keep]
        self.emitted += len(out)
        return out

    def flush(self) -> str:
        if self.in_call:
            return ""
        out = self.text[self.emitted :]
        self.emitted = len(self.text)
        return out
