"""Rules of the house read from the source: roles only through models.Role and the access helpers (no role
written as a bare string outside the Role enum), the way docs/ARCHITECTURE.md says."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"rider", "handler", "coordinator", "admin"}
WAIVER = "# not a role"  # a line whose string is something else spelt alike (a user name, say)


def _enum_bodies(tree) -> set[int]:
    """ids of the constants that define StrEnum members (where the names are meant to be written)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "StrEnum" for b in node.bases):
            ids |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return ids


def _exempt(tree) -> set[int]:
    """Docstrings and the names given to Flask blueprints."""
    ids = _enum_bodies(tree)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            ids.add(id(body[0].value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Blueprint" and node.args:
            ids.add(id(node.args[0]))
    return ids


def bare_strings(words: set[str], waiver: str) -> list[str]:
    """file:line of every string literal in app/ that is one of `words`, outside the exemptions."""
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree, lines = ast.parse(source), source.splitlines()
        exempt = _exempt(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in words
                and id(node) not in exempt
                and waiver not in lines[node.lineno - 1]
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_roles_are_named_through_the_role_enum_and_the_access_helpers():
    assert bare_strings(ROLES, WAIVER) == []


def test_templates_ask_the_user_not_the_role_string():
    offenders = [
        f"{p.relative_to(ROOT)}"
        for p in (ROOT / "templates").rglob("*.html")
        if ".role ==" in p.read_text() or ".role in" in p.read_text() or ".role !=" in p.read_text()
    ]
    assert offenders == []


STATUSES = {"submitted", "accepted", "assigned", "in_progress", "resolved", "closed", "rejected", "duplicate"}


def test_statuses_are_named_only_through_the_workflow():
    """app/triage/workflow.py is the one place a status is spelt (the migrations, outside app/, too)."""
    found = [f for f in bare_strings(STATUSES, "# not a status") if not f.startswith("app/triage/workflow.py")]
    assert found == []
