"""The one error every outside message sender (SMS, email, group robots) raises when a message did not get through."""

from __future__ import annotations

REASON_LIMIT = 300  # the admin's dead-letter page shows the reason in a table cell


class DeliveryFailed(Exception):
    """A message the channel did not accept: whether a retry can help, and how long the receiver asked us to wait."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        reason = " ".join(str(reason).split())[:REASON_LIMIT]
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        # A permanent failure has nothing to wait for: retrying cannot help.
        self.retry_after = None if permanent else retry_after

    def __repr__(self) -> str:
        return f"DeliveryFailed({self.reason!r}, permanent={self.permanent}, retry_after={self.retry_after})"
