"""How a sync fails: messages are one line, for the sync log and the command's output."""

from __future__ import annotations

from leads.models import SyncRun


class SyncError(Exception):
    """A sync stopped part-way. The message is one line; `run` is the recorded SyncRun."""

    def __init__(self, message: str, run: SyncRun | None = None):
        super().__init__(message)
        self.run = run


class SyncBusy(SyncError):
    """Another sync holds the sync lease."""


class SyncLeaseLost(SyncError):
    """The lease expired while this sync ran (it stalled) and another sync took it over."""


class ListingUnbounded(SyncError):
    """A listing did not end within SYNC_MAX_PAGES pages, or a page repeated the one before."""


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__
