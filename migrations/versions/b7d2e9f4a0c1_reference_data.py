"""The reference data comes with the schema: a bare `db upgrade` leaves an instance where a report can be filed

Revision ID: b7d2e9f4a0c1
Revises: a7d1e9c3f520
Create Date: 2026-12-07 07:00:00

Adds the departments, categories and response templates of app/catalog.py that are missing (by code;
the templates only when there are none), as `flask db seed` does; rows an admin edited are left alone.
The downgrade leaves the rows: they may be in use, and the schema they live in is unchanged.
"""

import sqlalchemy as sa
from alembic import op

from app.catalog import CATEGORIES, DEPARTMENTS, RESPONSE_TEMPLATES, deadlines

# revision identifiers, used by Alembic.
revision = "b7d2e9f4a0c1"
down_revision = "a7d1e9c3f520"
branch_labels = None
depends_on = None

department = sa.table(
    "department",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name_zh", sa.String),
    sa.column("name_en", sa.String),
)
category = sa.table(
    "category",
    *(
        sa.column(name)
        for name in (
            "code",
            "name_zh",
            "name_en",
            "icon",
            "color",
            "hazard",
            "sort_order",
            "description_zh",
            "description_en",
            "accept_hours",
            "resolve_hours",
            "default_department_id",
            "active",
        )
    ),
)
template = sa.table(
    "response_template",
    sa.column("id", sa.Integer),
    sa.column("target_status", sa.String),
    sa.column("text_zh", sa.Text),
    sa.column("text_en", sa.Text),
    sa.column("sort_order", sa.Integer),
)


def upgrade():
    seed(op.get_bind())


def seed(bind):
    """Insert the missing reference rows through this connection (also used by tests on older revisions)."""
    have = set(bind.scalars(sa.select(department.c.code)))
    rows = [{"code": code, "name_zh": zh, "name_en": en} for code, zh, en in DEPARTMENTS if code not in have]
    if rows:
        bind.execute(department.insert(), rows)
    dept_ids = dict(bind.execute(sa.select(department.c.code, department.c.id)).all())
    have = set(bind.scalars(sa.select(category.c.code)))
    rows = []
    for order, (code, zh, en, icon, colour, hazard, dept, dzh, den) in enumerate(CATEGORIES):
        if code in have:
            continue
        accept_hours, resolve_hours = deadlines(hazard)
        rows.append(
            {
                "code": code,
                "name_zh": zh,
                "name_en": en,
                "icon": icon,
                "color": colour,
                "hazard": hazard,
                "sort_order": order,
                "description_zh": dzh,
                "description_en": den,
                "accept_hours": accept_hours,
                "resolve_hours": resolve_hours,
                "default_department_id": dept_ids.get(dept),
                "active": True,
            }
        )
    if rows:
        bind.execute(category.insert(), rows)
    if bind.scalar(sa.select(template.c.id).limit(1)) is None:
        bind.execute(
            template.insert(),
            [
                {"target_status": status.value, "text_zh": zh, "text_en": en, "sort_order": order}
                for order, (status, zh, en) in enumerate(RESPONSE_TEMPLATES)
            ],
        )


def downgrade():
    pass
