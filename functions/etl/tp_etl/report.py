"""What one file or request produced: counts per kind, and every rejected or dropped row with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tp_etl.cleaning import Notice
from tp_etl.formats import Rejection

MAX_LISTED = 200  # rows listed in a report; the counts cover all of them


@dataclass
class IngestReport:
    source: str
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    dropped: int = 0
    flagged: int = 0
    out_of_order: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED:
            self.rejections.append(rejection)

    def note(self, notice: Notice) -> None:
        if notice.dropped:
            self.dropped += 1
        elif notice.rule == "outlier":
            self.flagged += 1
        else:
            self.out_of_order += 1
        if len(self.notices) < MAX_LISTED:
            self.notices.append(notice)

    @property
    def total_accepted(self) -> int:
        return sum(self.accepted.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "accepted": self.total_accepted,  # the first version's member: how many rows went in
            "accepted_by_kind": dict(self.accepted),
            "rejected": self.rejected,
            "dropped": self.dropped,
            "flagged": self.flagged,
            "out_of_order": self.out_of_order,
            "rejections": [r.as_dict() for r in self.rejections],
            "notices": [n.as_dict() for n in self.notices],
        }
