"""A short paragraph in Chinese and in English written from a week's figures (both always)."""

from __future__ import annotations

from typing import Any

MIN_RISE = 3  # a category needs at least this many reports in a grid before a rise is news


def _change_en(n: int, before: int) -> str:
    if before == 0:
        return "none were filed the week before" if n else "as few as the week before"
    if n == before:
        return "as many as last week"
    diff = round(100 * abs(n - before) / before)
    return f"{diff}% {'more' if n > before else 'fewer'} than last week ({before})"


def _change_zh(n: int, before: int) -> str:
    if before == 0:
        return "上周无上报" if n else "与上周相同"
    if n == before:
        return "与上周持平"
    diff = round(100 * abs(n - before) / before)
    return f"比上周{'增加' if n > before else '减少'}{diff}%（上周{before}件）"


def _biggest_rise(rows: list[dict], prev_rows: list[dict]) -> dict | None:
    """The category x grid whose reports at least doubled with the largest increase."""
    before = {(r["category"], r["grid"]): r["received"] for r in prev_rows}
    best = None
    for r in rows:
        old = before.get((r["category"], r["grid"]), 0)
        new = r["received"]
        if new >= MIN_RISE and new >= 2 * old and new > old:
            if best is None or (new - old, new) > (best["new"] - best["old"], best["new"]):
                best = {**r, "old": old, "new": new}
    return best


def _rise_en(r: dict) -> str:
    where = f"in grid {r['grid']}" if r["grid"] else "outside all grids"
    what = f"{r['category_en'].lower()} reports"
    if r["old"] == 0:
        return f"{r['new']} new {what} came in {where}"
    factor = r["new"] / r["old"]
    verb = "doubled" if factor < 3 else "tripled" if factor < 4 else f"rose {factor:.0f}-fold"
    return f"{what} {verb} {where} (from {r['old']} to {r['new']})"


def _rise_zh(r: dict) -> str:
    where = f"{r['grid']}网格" if r["grid"] else "网格外"
    if r["old"] == 0:
        return f"{where}新增{r['category_zh']}{r['new']}件"
    factor = r["new"] / r["old"]
    verb = "翻了一番" if factor < 3 else "增至三倍" if factor < 4 else f"增至{factor:.0f}倍"
    return f"{where}{r['category_zh']}{verb}（由{r['old']}件增至{r['new']}件）"


def narrative(s: Any, prev_category_grid: list[dict]) -> dict[str, str]:
    """{"zh", "en"}: received and its change, outcomes, the biggest rise, overdue reports, speed, the top hotspot."""
    before = s.previous.get("received", 0)
    en: list[str] = []
    zh: list[str] = []
    if s.so_far:
        en.append(f"So far this week riders have filed {s.received} reports")
        zh.append(f"本周截至目前骑手共上报{s.received}件")
    else:
        en.append(f"This week riders filed {s.received} reports, {_change_en(s.received, before)}")
        zh.append(f"本周骑手共上报{s.received}件，{_change_zh(s.received, before)}")
    rise = _biggest_rise(s.by_category_grid, prev_category_grid)
    if rise:
        en[-1] += "; " + _rise_en(rise)
        zh[-1] += "；" + _rise_zh(rise)
    en[-1] += "."
    zh[-1] += "。"
    fixed = s.closed_by_outcome.get("fixed", 0)
    en.append(f"{s.accepted} were accepted, {s.resolved} resolved and {s.closed} closed ({fixed} fixed).")
    zh.append(f"受理{s.accepted}件，办结{s.resolved}件，结案{s.closed}件（其中已解决{fixed}件）。")
    if s.reopened:
        en.append(f"{s.reopened} closed or rejected reports were reopened.")
        zh.append(f"重新打开{s.reopened}件。")
    if s.overdue_at_end:
        when_en = "now" if s.so_far else "at the end of the week"
        when_zh = "目前" if s.so_far else "周末"
        dept = next(
            (
                d
                for d in sorted(s.by_department, key=lambda d: (-d.overdue_at_end, d.code or ""))
                if d.overdue_at_end and d.code
            ),
            None,
        )
        line_en = f"{s.overdue_at_end} reports are overdue {when_en} and {s.open_at_end} still open"
        line_zh = f"{when_zh}仍有{s.open_at_end}件未办结，其中{s.overdue_at_end}件逾期"
        if dept:
            line_en += f"; {dept.overdue_at_end} of the overdue are with {dept.name_zh} ({dept.name_en})"
            line_zh += f"，{dept.name_zh}{dept.overdue_at_end}件"
        en.append(line_en + ".")
        zh.append(line_zh + "。")
    elif s.open_at_end:
        en.append(f"{s.open_at_end} reports are still open, none overdue.")
        zh.append(f"仍有{s.open_at_end}件未办结，无逾期。")
    if s.hours_to_resolve.median is not None:
        within = s.within_deadline_pct.get("resolve")
        en.append(
            f"Half of the reports resolved this week took at most {s.hours_to_resolve.median:g} hours"
            + (f"; {within:g}% were resolved within their deadline." if within is not None else ".")
        )
        zh.append(
            f"本周办结用时中位数{s.hours_to_resolve.median:g}小时"
            + (f"，{within:g}%在时限内办结。" if within is not None else "。")
        )
    if s.hotspots:
        h = s.hotspots[0]
        # named by its place (an address or the grid's name), never by coordinates
        place = getattr(h, "place", None) or (h.grid if h.grid else None)
        where_en = f" at {place}" if place else ""
        where_zh = f"在{place}" if place else ""
        en.append(
            f"The largest hotspot{where_en} gathered {h.count} reports within 150 m, "
            f"mostly {h.category_en.lower()} ({h.category_count})."
        )
        zh.append(f"最集中的热点{where_zh}附近150米内，共{h.count}件，以{h.category_zh}为主（{h.category_count}件）。")
    return {"zh": "".join(zh), "en": " ".join(en)}
