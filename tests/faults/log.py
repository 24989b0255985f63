"""The tally of injected faults, for a scenario's figures (docs/reliability.md)."""

from __future__ import annotations

from collections import Counter


class FaultLog:
    """Counts faults by kind; `since(mark)` gives what one scenario injected."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def record(self, kind: str) -> None:
        self.counts[kind] += 1

    def mark(self) -> Counter[str]:
        return Counter(self.counts)

    def since(self, mark: Counter[str]) -> Counter[str]:
        return self.counts - mark

    @property
    def total(self) -> int:
        return sum(self.counts.values())


FAULTS = FaultLog()  # one per test process: every proxy and process fault records here
