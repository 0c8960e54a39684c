"""Renderings of a WeeklySummary that are not pages: CSV, chart geometry, a self-contained HTML file."""

from __future__ import annotations

import csv
import io
import os

from flask import current_app, render_template

from app.summaries.services import COUNTS, OUTCOMES, WeeklySummary

CSV_COLUMNS = (
    ["week", "category", "category_zh", "category_en", "grid", "grid_name", *COUNTS]
    + [f"closed_{o}" for o in OUTCOMES]
    + [
        "hours_to_accept_median",
        "hours_to_accept_p90",
        "hours_to_resolve_median",
        "hours_to_resolve_p90",
        "accept_within_pct",
        "resolve_within_pct",
    ]
)


def csv_text(s: WeeklySummary) -> str:
    """One row per category x grid with the counts and times."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in s.by_category_grid:
        row = [
            s.week,
            r["category"],
            r["category_zh"],
            r["category_en"],
            r["grid"] or "",
            r["grid_name"],
            *(r[k] for k in COUNTS),
            *(r["closed_by_outcome"][o] for o in OUTCOMES),
            _blank(r["hours_to_accept"]["median"]),
            _blank(r["hours_to_accept"]["p90"]),
            _blank(r["hours_to_resolve"]["median"]),
            _blank(r["hours_to_resolve"]["p90"]),
            _blank(r["within_deadline_pct"]["accept"]),
            _blank(r["within_deadline_pct"]["resolve"]),
        ]
        w.writerow([spreadsheet_safe(v) for v in row])  # names come from admins and imported grid files
    return out.getvalue()


def trend_csv(t) -> str:
    """One row per week and group of a trend (every figure kept for the trends); weeks not published have none."""
    from app.summaries.archive import GROUP_FIGURES

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["week", t.by, "name_zh", "name_en", *GROUP_FIGURES])
    for r in t.rows:
        row = [r["week"], r["code"], r["name_zh"], r["name_en"], *(r.get(k) for k in GROUP_FIGURES)]
        w.writerow([spreadsheet_safe(v) for v in row])
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _blank(v):
    return "" if v is None else v


def bars(values: list[float], width: float = 100.0) -> list[float]:
    """Bar lengths scaled so the largest value fills `width`."""
    top = max(values) if values else 0
    return [round(width * v / top, 2) if top else 0 for v in values]


def standalone_html(s: WeeklySummary) -> str:
    """The week's page as one file with its styles inlined, for saving or forwarding."""
    css = []
    for name in ("app.css", "summary.css"):
        with open(os.path.join(current_app.static_folder, "css", name), encoding="utf-8") as fh:
            css.append(fh.read())
    return render_template("summaries/standalone.html", s=s, inline_css="\n".join(css))
