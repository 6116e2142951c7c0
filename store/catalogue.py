"""The incident catalogue's tables: departments and categories, upserted (never deleted: old incidents
point at them) and listed by code."""

from __future__ import annotations

from sqlalchemy import Connection, text

_UPSERT_DEPARTMENT = text("""
    INSERT INTO departments (code, name_zh, name_en, report_limit_min)
    VALUES (:code, :name_zh, :name_en, :report_limit_min)
    ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
        report_limit_min = excluded.report_limit_min""")
_UPSERT_CATEGORY = text("""
    INSERT INTO categories (code, name_zh, name_en, tier, road_related, departments,
                            response_limit_min, completion_limit_h, active,
                            public, public_text, after_photo_required)
    VALUES (:code, :name_zh, :name_en, :tier, :road_related, :departments,
            :response_limit_min, :completion_limit_h, :active, :public, :public_text, :after_photo_required)
    ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
        tier = excluded.tier, road_related = excluded.road_related, departments = excluded.departments,
        response_limit_min = excluded.response_limit_min,
        completion_limit_h = excluded.completion_limit_h, active = excluded.active,
        public = excluded.public, public_text = excluded.public_text,
        after_photo_required = excluded.after_photo_required""")


def department_codes(conn: Connection) -> set[str]:
    return set(conn.execute(text("SELECT code FROM departments")).scalars())


def upsert_department(conn: Connection, department: dict) -> None:
    """Insert a department or update the one with its code (code, name_zh, name_en, report_limit_min)."""
    conn.execute(_UPSERT_DEPARTMENT, department)


def upsert_category(conn: Connection, category: dict) -> None:
    """Insert a category or update the one with its code (every column of ``categories``)."""
    conn.execute(_UPSERT_CATEGORY, category)


def category_count(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM categories")).scalar_one()


def categories(conn: Connection, *, include_inactive: bool = False) -> list[dict]:
    sql = text("SELECT * FROM categories WHERE active OR :all ORDER BY code")
    return [dict(r) for r in conn.execute(sql, {"all": include_inactive}).mappings()]


def departments(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text("SELECT * FROM departments ORDER BY code")).mappings()]
