"""Volunteer teams, their members, and service requests in SQL. A step of a request is one UPDATE that
names the state it leaves, so two people taking the same step at once cannot both succeed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


def insert_team(conn: Connection, team: dict, members: list[dict]) -> int:
    """A team (name, kind, street_id, created_at) and its members (name, skills)."""
    team_id = conn.execute(
        text("""INSERT INTO volunteer_teams (name, kind, street_id, created_at)
                VALUES (:name, :kind, :street_id, :created_at) RETURNING id"""),
        team,
    ).scalar_one()
    if members:
        conn.execute(
            text("INSERT INTO volunteers (team_id, name, skills) VALUES (:t, :name, :skills)"),
            [{"t": team_id, **m} for m in members],
        )
    return team_id


def teams(conn: Connection, street_id: str | None) -> list[dict]:
    """Teams (of one street, or all) with their members."""
    sql = text("""
        SELECT t.id, t.name, t.kind, t.street_id, t.created_at,
               COALESCE(json_agg(json_build_object('id', v.id, 'name', v.name, 'skills', v.skills)
                                 ORDER BY v.id) FILTER (WHERE v.id IS NOT NULL), '[]') AS members
        FROM volunteer_teams t LEFT JOIN volunteers v ON v.team_id = t.id
        WHERE CAST(:s AS text) IS NULL OR t.street_id = :s
        GROUP BY t.id ORDER BY t.id""")
    return [dict(r) for r in conn.execute(sql, {"s": street_id}).mappings()]


def team_street(conn: Connection, team_id: int) -> str | None:
    return conn.execute(text("SELECT street_id FROM volunteer_teams WHERE id = :t"), {"t": team_id}).scalar()


def volunteer_team(conn: Connection, volunteer_id: int) -> int | None:
    return conn.execute(text("SELECT team_id FROM volunteers WHERE id = :v"), {"v": volunteer_id}).scalar()


def insert_request(conn: Connection, request: dict) -> int:
    """A request (household_id, need, skill, requested_at, requested_by), status ``requested``."""
    return conn.execute(
        text("""INSERT INTO service_requests (household_id, need, skill, requested_at, requested_by)
                VALUES (:household_id, :need, :skill, :requested_at, :requested_by) RETURNING id"""),
        request,
    ).scalar_one()


def request_row(conn: Connection, request_id: int) -> dict | None:
    """A request with its household's place (building, unit, room, grid, community, street)."""
    row = conn.execute(
        text("""
        SELECT s.id, s.household_id, s.need, s.skill, s.status, s.requested_at, s.requested_by, s.team_id,
               s.dispatched_at, s.dispatched_by, s.volunteer_id, s.accepted_at, s.completed_at,
               s.hours::float8 AS hours, s.note, b.id AS building_id, b.name AS building_name, h.unit, h.room,
               b.grid_id, g.community_id, c.street_id
        FROM service_requests s JOIN households h ON h.id = s.household_id
        JOIN buildings b ON b.id = h.building_id JOIN grids g ON g.id = b.grid_id
        JOIN communities c ON c.id = g.community_id WHERE s.id = :r"""),
        {"r": request_id},
    ).mappings()
    found = row.first()
    return dict(found) if found else None


# The columns each step sets (ours, never a caller's).
STEP_COLUMNS = {
    "dispatched": ("team_id", "dispatched_at", "dispatched_by"),
    "accepted": ("volunteer_id", "accepted_at"),
    "completed": ("completed_at", "hours", "note"),
}


def step(conn: Connection, request_id: int, leaving: str, entering: str, values: dict[str, Any]) -> bool:
    """Move a request from ``leaving`` to ``entering`` setting that step's columns; False if it was not
    in ``leaving`` (someone else took the step first)."""
    sets = ", ".join(f"{c} = :{c}" for c in STEP_COLUMNS[entering])
    sql = f"UPDATE service_requests SET status = :entering, {sets} WHERE id = :r AND status = :leaving"  # noqa: S608
    params = {"r": request_id, "leaving": leaving, "entering": entering, **values}
    return bool(conn.execute(text(sql), params).rowcount)


def hours_rows(conn: Connection, street_id: str | None, since: datetime, until: datetime) -> list[dict]:
    """Hours of service completed in [since, until), per volunteer, with their team."""
    sql = text("""
        SELECT t.id AS team_id, t.name AS team_name, t.kind, v.id AS volunteer_id, v.name AS volunteer_name,
               count(*) AS requests, sum(s.hours)::float8 AS hours
        FROM service_requests s JOIN volunteers v ON v.id = s.volunteer_id
        JOIN volunteer_teams t ON t.id = v.team_id
        WHERE s.status = 'completed' AND s.completed_at >= :a AND s.completed_at < :b
          AND (CAST(:s AS text) IS NULL OR t.street_id = :s)
        GROUP BY t.id, v.id ORDER BY t.id, v.id""")
    return [dict(r) for r in conn.execute(sql, {"s": street_id, "a": since, "b": until}).mappings()]
