"""The sandbox's state file: its chats (and so every PUT it accepted) kept across restarts."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable

# The state file is written at most this often (seconds) while PUTs arrive.
SAVE_DELAY = 1.0


def read_state(path: str) -> list[tuple[dict, bool]]:
    """(chat, is_lead) for every chat in the state file."""
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    return [(item["chat"], bool(item.get("is_lead", True))) for item in state.get("chats", [])]


def write_state(path: str, chats: list[tuple[dict, bool]]) -> None:
    """Replace the state file in one step (a crash leaves the old one whole)."""
    state = {"chats": [{"chat": chat, "is_lead": is_lead} for chat, is_lead in chats]}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sandbox-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False)
    os.replace(tmp, path)


class DelayedSave:
    """Calls `save` once, SAVE_DELAY seconds after the first of any number of requests: rewriting
    every chat on each PUT made a PUT cost hundreds of milliseconds with a few thousand chats."""

    def __init__(self, save: Callable[[], None]):
        self.save = save
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def request(self) -> None:
        with self.lock:
            if self.timer is not None:
                return
            self.timer = threading.Timer(SAVE_DELAY, self._run)
            self.timer.daemon = True
            self.timer.start()

    def now(self) -> None:
        """Save now (and cancel a pending delayed save)."""
        with self.lock:
            timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        self.save()

    def _run(self) -> None:
        with self.lock:
            self.timer = None
        self.save()
