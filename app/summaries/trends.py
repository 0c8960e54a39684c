"""Trends across weeks, drawn from the published records alone: one weekly series per category, grid or
department (or the whole county) of one figure, over a chosen range of up to two years."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import local_zone
from app.models import utcnow
from app.summaries.archive import GROUP_FIGURES, GROUPINGS, P, check_range, iter_weeks
from app.summaries.weeks import last_complete_week, parse_week

MAX_WEEKS = 105  # two years hold 104 or 105 ISO weeks
BY = ("total", *GROUPINGS)
WHOLE = ("全县", "Whole county")  # the one series of by=total, named in both languages like the groups
CHART_SERIES = 8  # the chart draws the largest series; the table and the CSV have them all


@dataclass
class Series:
    """One line: a group's values per week (None: the week is not in the archive)."""

    code: str
    name_zh: str
    name_en: str
    values: list[int | None]
    total: int = 0

    @property
    def cells(self) -> str:
        """The values as table cells' text joined by "</td><td>" (numbers and dashes only: safe as HTML);
        a grid's two years are thousands of cells, too many for a template loop."""
        return "</td><td>".join("—" if v is None else str(int(v)) for v in self.values)


@dataclass
class Trend:
    weeks: list[str]
    by: str
    figure: str
    series: list[Series] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # weeks of the range with no published record
    rows: list[dict[str, Any]] = field(default_factory=list)  # every figure per week and group, for the CSV


def default_range(now: datetime | None = None) -> tuple[str, str]:
    """The last 26 complete weeks."""
    last = last_complete_week(local_zone(), now or utcnow())
    return last.shifted(-25).name, last.name


def trend(first: str, last: str, by: str = "category", figure: str = "received", now: datetime | None = None) -> Trend:
    """Weekly series of `figure` per group of `by` from the published weeks first..last (at most two years)."""
    if by not in BY:
        raise ValidationFailed(_l("Trends are by total, category, grid or department."), code="invalid_grouping")
    if figure not in GROUP_FIGURES:
        raise ValidationFailed(_l("That figure has no trend."), code="invalid_figure")
    zone, now = local_zone(), now or utcnow()
    a, b = parse_week(first, zone, now), parse_week(last, zone, now)
    check_range(a, b, MAX_WEEKS)
    weeks = [w.name for w in iter_weeks(a, b)]
    column = P.headline if by == "total" else P.groups[by]  # one grouping's part of the JSON, not all three
    found = dict(
        db.session.execute(select(P.week, column).where(P.current.is_(True), P.week >= a.name, P.week <= b.name)).all()
    )
    out = Trend(weeks=weeks, by=by, figure=figure, missing=[w for w in weeks if w not in found])
    if by == "total":
        values = [found[w].get(figure) if w in found else None for w in weeks]
        out.series = [Series("", *WHOLE, values, sum(v or 0 for v in values))]
        out.rows = [
            {"week": w, "code": "", "name_zh": WHOLE[0], "name_en": WHOLE[1], **found[w]} for w in weeks if w in found
        ]
        return out
    names: dict[str, tuple[str, str]] = {}
    for w in weeks:  # the latest names win (a department renamed shows its new name across the range)
        for code, g in (found.get(w) or {}).items():
            names[code] = (g["zh"], g["en"])
    for code, (zh, en) in names.items():
        values = [((found[w] or {}).get(code, {}).get(figure, 0) if w in found else None) for w in weeks]
        out.series.append(Series(code, zh, en, values, sum(v or 0 for v in values)))
    out.series.sort(key=lambda s: (-s.total, s.code == "", s.code))
    for w in weeks:
        for code, g in (found.get(w) or {}).items():
            out.rows.append({"week": w, "code": code, "name_zh": g["zh"], "name_en": g["en"], **g})
    return out


def chart(t: Trend, width: int = 700, height: int = 260) -> dict[str, Any]:
    """Polyline geometry for the largest series (server-rendered SVG: no script, prints anywhere)."""
    drawn = t.series[:CHART_SERIES]
    top = max([1] + [v for s in drawn for v in s.values if v is not None])
    left, right, top_pad, bottom = 40, 10, 10, 30
    span_x, span_y = width - left - right, height - top_pad - bottom
    step = span_x / max(1, len(t.weeks) - 1)
    lines = []
    for i, s in enumerate(drawn):
        points, segment = [], []
        for j, v in enumerate(s.values):
            if v is None:  # a gap where a week is not published
                if segment:
                    points.append(segment)
                segment = []
                continue
            segment.append((round(left + j * step, 1), round(top_pad + span_y * (1 - v / top), 1)))
        if segment:
            points.append(segment)
        lines.append(
            {
                "series": s,
                "index": i,
                "paths": [" ".join(f"{x},{y}" for x, y in seg) for seg in points],
                "dots": [p for seg in points for p in seg] if len(t.weeks) <= 30 else [],
            }
        )
    ticks = sorted({0, len(t.weeks) - 1, *range(0, len(t.weeks), max(1, len(t.weeks) // 6))})
    return {
        "width": width,
        "height": height,
        "top": top,
        "lines": lines,
        "base": height - bottom,
        "left": left,
        "x_labels": [(round(left + j * step, 1), t.weeks[j]) for j in ticks],
    }
