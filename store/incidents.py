"""Every SQL statement of the incident workflow: intake in one round trip, reading with who-sees-what,
the lifecycle's updates and its append-only events, the clock's sweep.

Who may see what is decided in ``core.access``; it arrives here as a ``Visible`` (which conditions
admit an incident) and is turned into a WHERE clause with bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from store.engine import driver_rows
from store.outbox import INTAKE_CTE


@dataclass(frozen=True)
class Visible:
    """The incidents a caller may see: those meeting any condition given (``everything``: all of them)."""

    everything: bool = False
    street_id: str | None = None
    community_id: str | None = None
    grid_id: str | None = None
    segment_id: str | None = None
    assignee_person: str | None = None
    reporter_token: int | None = None
    summoned_department: str | None = None
    public: bool = False  # incidents of categories the public may see


EVERYTHING = Visible(everything=True)
PUBLIC = Visible(public=True)


def visibility_sql(visible: Visible, alias: str = "i") -> tuple[str, dict]:
    """A SQL condition (with its parameters) admitting exactly the incidents ``visible`` describes."""
    if visible.everything:
        return "true", {}
    a = alias
    conditions = {
        "street_id": f"{a}.street_id = :v_street",
        "community_id": f"{a}.community_id = :v_community",
        "grid_id": f"{a}.grid_id = :v_grid",
        "segment_id": f"{a}.segment_id = :v_segment",
        "assignee_person": f"({a}.assignee_kind = 'person' AND {a}.assignee_id = :v_person)",
        "reporter_token": f"{a}.reporter_token_id = :v_token",
        "summoned_department": f"EXISTS (SELECT 1 FROM summons sm WHERE sm.incident_id = {a}.id "  # noqa: S608
        "AND sm.department_code = :v_department)",
    }
    names = {
        "street_id": "v_street",
        "community_id": "v_community",
        "grid_id": "v_grid",
        "segment_id": "v_segment",
        "assignee_person": "v_person",
        "reporter_token": "v_token",
        "summoned_department": "v_department",
    }
    given = [f for f in conditions if getattr(visible, f) is not None]
    admitted = [conditions[f] for f in given]
    if visible.public:
        admitted.append(
            f"EXISTS (SELECT 1 FROM categories pc WHERE pc.code = {a}.category_code "  # noqa: S608
            "AND pc.public)"
        )
    if not admitted:
        return "false", {}
    return "(" + " OR ".join(admitted) + ")", {names[f]: getattr(visible, f) for f in given}


# ---- intake -----------------------------------------------------------------------------------

# Degree boxes and planar degree distances (cheap, conservative) narrow each list before the exact
# metric test, which needs a transform of the candidate polygon; OFFSET 0 keeps the planner from
# reordering that. Duplicates are points (cheap to transform), read by category and time (the last
# 48 hours), never by place: a busy market has years of reports; the newest 20 are enough to show.
# The same CTEs serve a move (alone) and intake (inside the insert, saving a round trip).
_NEARBY_CTES = """
box AS (SELECT p.g, ST_Expand(p.g, :dlon, :dlat) AS b, ST_Transform(p.g, :srid) AS m
        FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) p),
near AS (
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'grids', CASE WHEN jsonb_array_length(ng.ids) > 1 THEN ng.ids END,
           'segments', CASE WHEN jsonb_array_length(ns.ids) > 1 THEN ns.ids END)) AS candidates,
         nd.ids AS duplicates
  FROM
  (SELECT coalesce(jsonb_agg(g.id ORDER BY g.id), '[]') AS ids
    FROM (SELECT g.id, g.geom FROM grids g, box WHERE g.valid_to IS NULL AND g.geom && box.b
          AND ST_DWithin(g.geom, box.g, :dlon) OFFSET 0) g, box
    WHERE ST_DWithin(ST_Transform(g.geom, :srid), box.m, :near)) ng,
  (SELECT CASE WHEN :road THEN (
     SELECT coalesce(jsonb_agg(s.id ORDER BY s.d, s.id), '[]') FROM (
       SELECT s.id, s.d, min(s.d) OVER () AS dmin FROM (
         SELECT s.id, ST_Distance(ST_Transform(s.geom, :srid), box.m) AS d
         FROM road_segments s, box WHERE s.geom && ST_Expand(box.g, :dlon_s, :dlat_s)
           AND ST_DWithin(s.geom, box.g, :dlon_s)) s
       WHERE s.d <= :search) s WHERE s.d <= s.dmin + :near)
   ELSE '[]' END AS ids) ns,
  (SELECT coalesce(jsonb_agg(d.id ORDER BY d.id), '[]') AS ids FROM (
    SELECT i.id FROM incidents i, box
    WHERE i.category_code = :category AND i.status <> 'merged' AND i.reported_at BETWEEN :since AND :now
      -- a box test before the metric one, in plain numbers so that no plan turns it into a scan by place
      AND abs(ST_X(i.geom) - :x) <= :dlon_d AND abs(ST_Y(i.geom) - :y) <= :dlat_d
      AND ST_DWithin(ST_Transform(i.geom, :srid), box.m, :dup)  -- by time first: see migration 0004
    ORDER BY i.reported_at DESC LIMIT 20) d) nd)
"""
_NEARBY_SQL = text(f"WITH {_NEARBY_CTES} SELECT candidates, duplicates FROM near")  # noqa: S608 (our SQL)

_INSERT_SQL = text(f"""  -- one round trip: nearby checks, the incident, its first event
WITH {_NEARBY_CTES},
ins AS (
  INSERT INTO incidents (category_code, description, channel, reporter_name, reporter_phone, reporter_token_id,
      photo_urls, input_location, street_id, community_id, grid_id, building_id, segment_id, chief_id, worker_id,
      tier, status, assignee_kind, assignee_id, near_boundary, boundary_candidates, possible_duplicates,
      reported_at, response_due, completion_due, due_at, idempotency_scope, idempotency_key, request_hash, geom,
      external_source, external_ref)
  SELECT :category, :description, :channel, :reporter_name, :reporter_phone, :token_id,
      CAST(:photos AS jsonb), CAST(:input AS jsonb), :street, :community, :grid, :building, :segment, :chief,
      :worker, :tier, 'reported', :assignee_kind, :assignee_id, near.candidates <> '{{}}',
      NULLIF(near.candidates, '{{}}'), NULLIF(near.duplicates, '[]'), :now, :response_due, :completion_due,
      :completion_due, :scope, :key, :hash, box.g, :external_source, :external_ref
  FROM near, box
  ON CONFLICT DO NOTHING  -- the same idempotency key, or the same external ticket
  RETURNING id, boundary_candidates, possible_duplicates),
ev AS (
  INSERT INTO incident_events (incident_id, at, actor, role, action, from_status, to_status, data)
  SELECT id, :now, :actor, :role, 'report', NULL, 'reported', CAST(:event AS jsonb) FROM ins),
{INTAKE_CTE}
SELECT id, boundary_candidates, possible_duplicates FROM ins
""")  # noqa: S608 (composed of our SQL only)


def insert_incident(conn: Connection, params: dict) -> dict | None:
    """The new incident's id, boundary candidates and possible duplicates; None when a concurrent request
    with the same idempotency key inserted first. ``params`` holds the row, the first event, the
    nearby-check parameters (see ``nearby``) and ``messages`` (a JSON array) for the outbox."""
    rows = driver_rows(conn, _INSERT_SQL, params)  # the hot path: the driver's cursor, a generic plan
    return rows[0] if rows else None


def nearby(conn: Connection, params: dict) -> tuple[dict | None, list[int] | None]:
    """(grid and segment candidates near a point, possible duplicates) for the nearby-check parameters."""
    row = conn.execute(_NEARBY_SQL, params).one()
    return row.candidates, row.duplicates


def by_idempotency_key(conn: Connection, scope: str, key: str) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT id, request_hash FROM incidents WHERE idempotency_scope = :s AND idempotency_key = :k"
            ),
            {"s": scope, "k": key},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def by_external_ref(conn: Connection, source: str, ref: str) -> int | None:
    """The case made from another system's ticket, if one was."""
    return conn.execute(
        text("SELECT id FROM incidents WHERE external_source = :s AND external_ref = :r"),
        {"s": source, "r": ref},
    ).scalar()


def active_category(conn: Connection, code: str) -> dict | None:
    row = conn.execute(text("SELECT * FROM categories WHERE code = :c AND active"), {"c": code}).mappings()
    return dict(row.first() or {}) or None


def any_category(conn: Connection, code: str) -> dict:
    """A category by code, retired ones included (old incidents point at them)."""
    return dict(conn.execute(text("SELECT * FROM categories WHERE code = :c"), {"c": code}).mappings().one())


# ---- reading ----------------------------------------------------------------------------------

_VIEW_SQL = """
SELECT i.*, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
       c.name_zh AS category_name_zh, c.name_en AS category_name_en, c.road_related,
       c.public AS category_public, c.public_text AS category_public_text,
       st.name AS street_name, cm.name AS community_name, gr.name AS grid_name, b.name AS building_name,
       seg.name AS segment_name, seg.road_name,
       row_to_json(ch) AS chief, row_to_json(wk) AS worker, row_to_json(ap) AS assignee_person,
       (SELECT coalesce(json_agg(json_build_object('department', s.department_code, 'name', d.name_zh,
                        'summoned_at', s.summoned_at, 'due_at', s.due_at, 'reported_at', s.reported_at)
                        ORDER BY s.department_code), '[]')
          FROM summons s JOIN departments d ON d.code = s.department_code WHERE s.incident_id = i.id) AS summons,
       (SELECT coalesce(json_agg(json_build_object('stage', ph.stage, 'sha256', ph.sha256,
                        'media_type', ph.media_type, 'width', ph.width, 'height', ph.height)
                        ORDER BY ph.uploaded_at, ph.id), '[]')
          FROM incident_photos ph WHERE ph.incident_id = i.id) AS photos
FROM incidents i
JOIN categories c ON c.code = i.category_code
LEFT JOIN streets st ON st.id = i.street_id
LEFT JOIN communities cm ON cm.id = i.community_id
LEFT JOIN grids gr ON gr.id = i.grid_id
LEFT JOIN buildings b ON b.id = i.building_id
LEFT JOIN road_segments seg ON seg.id = i.segment_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) ch ON ch.id = i.chief_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) wk ON wk.id = i.worker_id
LEFT JOIN (SELECT id, name, role, chief_kind, phone FROM people) ap
       ON i.assignee_kind = 'person' AND ap.id = i.assignee_id
"""

_FINISHED_SQL = "'resolved', 'verified', 'closed', 'merged'"
# Filters a list may take, and the column each reads.
LIST_COLUMNS = {
    "status": "status",
    "tier": "tier",
    "category": "category_code",
    "channel": "channel",
    "grid": "grid_id",
    "community": "community_id",
    "street": "street_id",
}


def incident_row(conn: Connection, incident_id: int, visible: Visible, *, lock: bool = False) -> dict | None:
    """The bare row, if visible; ``lock`` takes it FOR UPDATE for a lifecycle step."""
    where, params = visibility_sql(visible)
    # ``where`` comes from visibility_sql(): fixed SQL with bound parameters.
    sql = f"SELECT * FROM incidents i WHERE i.id = :id AND {where}{' FOR UPDATE' if lock else ''}"  # noqa: S608
    row = conn.execute(text(sql), {"id": incident_id, **params}).mappings().first()
    return dict(row) if row else None


def view_row(conn: Connection, incident_id: int, visible: Visible) -> dict | None:
    """The row with every name and person the view shows, if visible."""
    where, params = visibility_sql(visible)
    sql = text(_VIEW_SQL + f" WHERE i.id = :id AND {where}")  # noqa: S608
    row = conn.execute(sql, {"id": incident_id, **params}).mappings().first()
    return dict(row) if row else None


@dataclass(frozen=True)
class IncidentQuery:
    """Which incidents a list asks for: fields (``LIST_COLUMNS``) equal to values, reported in
    [since, until), in one of ``statuses``; newest first, a page of ``limit`` from ``offset``."""

    filters: dict[str, str | tuple[str, ...]] = field(default_factory=dict)  # a tuple: any of its values
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0
    statuses: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None  # lon/lat: min x, min y, max x, max y
    duban: bool = False  # only cases under supervision (督办)
    overdue_at: datetime | None = None  # only cases open past their deadline at this time
    not_overdue_at: datetime | None = None  # only cases that are not


def _where(visible: Visible, query: IncidentQuery) -> tuple[str, dict]:
    """The WHERE clause (and its parameters) of the incidents ``visible`` admits and ``query`` asks for."""
    where, params = visibility_sql(visible)
    clauses = [where]
    if query.statuses is not None:
        clauses.append("i.status = ANY(:statuses)")
        params["statuses"] = list(query.statuses)
    for name, value in query.filters.items():
        values = list(value) if isinstance(value, tuple) else [value]
        if name == "grid":
            # Reported in this grid, or (after a re-split) lying inside it now: old incidents stay findable.
            clauses.append(
                "(i.grid_id = ANY(:f_grid) OR EXISTS (SELECT 1 FROM grids ng WHERE ng.id = ANY(:f_grid) "
                "AND ng.valid_to IS NULL AND ST_Covers(ng.geom, i.geom)))"
            )
        else:
            clauses.append(f"i.{LIST_COLUMNS[name]} = ANY(:f_{name})")
        params[f"f_{name}"] = values
    if query.since is not None:
        clauses.append("i.reported_at >= :since")
        params["since"] = query.since
    if query.until is not None:
        clauses.append("i.reported_at < :until")
        params["until"] = query.until
    if query.duban:
        clauses.append("i.duban")
    for at, negate in ((query.overdue_at, ""), (query.not_overdue_at, "NOT ")):
        if at is not None:
            clauses.append(f"{negate}(i.status NOT IN ({_FINISHED_SQL}) AND i.due_at < :overdue_at)")
            params["overdue_at"] = at
    if query.bbox is not None:
        clauses.append("i.geom && ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326)")
        params.update(dict(zip(("bx0", "by0", "bx1", "by1"), query.bbox, strict=True)))
    return " AND ".join(clauses), params


def view_rows(conn: Connection, visible: Visible, query: IncidentQuery) -> list[dict]:
    """Visible rows matching ``query``, newest first (ties by id: a stable order for paging)."""
    where, params = _where(visible, query)
    sql = _VIEW_SQL + f" WHERE {where} ORDER BY i.reported_at DESC, i.id DESC LIMIT :limit OFFSET :offset"
    rows = conn.execute(text(sql), {**params, "limit": query.limit, "offset": query.offset}).mappings()
    return [dict(r) for r in rows]


def count_rows(conn: Connection, visible: Visible, query: IncidentQuery) -> int:
    """How many visible rows match ``query`` (every page together)."""
    where, params = _where(visible, query)
    return conn.execute(text(f"SELECT count(*) FROM incidents i WHERE {where}"), params).scalar_one()  # noqa: S608


def events_of(conn: Connection, incident_ids: list[int]) -> list[dict]:
    """The events of many incidents at once (an export), by incident then in order."""
    rows = conn.execute(
        text(
            "SELECT incident_id, at, actor, role, action, from_status, to_status, note, data "
            "FROM incident_events WHERE incident_id = ANY(:ids) ORDER BY incident_id, id"
        ),
        {"ids": incident_ids},
    ).mappings()
    return [dict(r) for r in rows]


def event_rows(conn: Connection, incident_id: int) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT at, actor, role, action, from_status, to_status, note, data "
            "FROM incident_events WHERE incident_id = :i ORDER BY id"
        ),
        {"i": incident_id},
    ).mappings()
    return [dict(r) for r in rows]


# ---- the lifecycle ----------------------------------------------------------------------------


def record_step(
    conn: Connection,
    incident_id: int,
    changes: dict,
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    from_status: str,
    note: str | None,
    data: dict | None,
) -> None:
    """Apply a step's changes and append its event: the story is never rewritten."""
    sets = ", ".join(f"{k} = :c_{k}" for k in changes)
    conn.execute(
        text(f"UPDATE incidents SET {sets} WHERE id = :id"),  # noqa: S608 (keys are ours)
        {"id": incident_id, **{f"c_{k}": v for k, v in changes.items()}},
    )
    conn.execute(
        text("""
        INSERT INTO incident_events (incident_id, at, actor, role, action, from_status, to_status, note, data)
        VALUES (:i, :at, :actor, :role, :action, :from, :to, :note, CAST(:data AS jsonb))"""),
        {
            "i": incident_id,
            "at": at,
            "actor": actor,
            "role": role,
            "action": action,
            "from": from_status,
            "to": changes["status"],
            "note": note,
            "data": json.dumps(data, default=str) if data else None,
        },
    )


def lock_incidents(conn: Connection, ids: Iterable[int]) -> None:
    """Lock these incidents FOR UPDATE in id order (PostgreSQL locks rows as the sort hands them over), so
    that two transactions locking overlapping sets wait for each other instead of deadlocking."""
    conn.execute(
        text("SELECT id FROM incidents WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": sorted(set(ids))},
    )


def waiting_summons(conn: Connection, incident_id: int) -> list[str]:
    """Departments summoned to the incident that have not reported yet."""
    return list(
        conn.execute(
            text(
                "SELECT department_code FROM summons WHERE incident_id = :i AND reported_at IS NULL "
                "ORDER BY department_code"
            ),
            {"i": incident_id},
        ).scalars()
    )


def report_limits(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    """Each known department's time to report, in minutes."""
    rows = conn.execute(
        text("SELECT code, report_limit_min FROM departments WHERE code = ANY(:c)"), {"c": list(codes)}
    )
    return {r.code: r.report_limit_min for r in rows}


def add_summons(conn: Connection, incident_id: int, dues: dict[str, datetime], now: datetime) -> list[str]:
    """Summon departments (吹哨报到); a department already summoned keeps its first due time. Returns the
    departments newly summoned."""
    added = []
    for code, due in dues.items():
        done = conn.execute(
            text("""
            INSERT INTO summons (incident_id, department_code, summoned_at, due_at)
            VALUES (:i, :d, :now, :due) ON CONFLICT ON CONSTRAINT summons_once DO NOTHING"""),
            {"i": incident_id, "d": code, "now": now, "due": due},
        ).rowcount
        if done:
            added.append(code)
    return added


def report_summons(conn: Connection, incident_id: int, department: str, now: datetime, actor: str) -> bool:
    """Mark a department's open summons reported; False when it had none open."""
    done = conn.execute(
        text("""
        UPDATE summons SET reported_at = :now, reported_by = :actor
        WHERE incident_id = :i AND department_code = :d AND reported_at IS NULL"""),
        {"now": now, "actor": actor, "i": incident_id, "d": department},
    ).rowcount
    return bool(done)


def point_of(conn: Connection, incident_id: int) -> tuple[float, float]:
    row = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE id = :i"), {"i": incident_id})
    x, y = row.one()
    return x, y


def move_point(conn: Connection, incident_id: int, x: float, y: float, candidates: dict | None) -> None:
    conn.execute(
        text(
            "UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
            "boundary_candidates = CAST(:bc AS jsonb) WHERE id = :i"
        ),
        {"x": x, "y": y, "bc": json.dumps(candidates or None), "i": incident_id},
    )


def overdue_ids(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Open incidents past their deadline below tier D, locked; SKIP LOCKED lets two sweeps share them."""
    ids = conn.execute(
        text(f"""
        SELECT id FROM incidents
        WHERE status NOT IN ({_FINISHED_SQL}) AND due_at < :now AND tier <> 'D'
        ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED"""),  # noqa: S608 (a constant list)
        {"now": now, "limit": limit},
    ).scalars()
    return list(ids)


def any_incident(conn: Connection) -> bool:
    """Whether the database holds any incident at all (the demo loads its year once)."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM incidents)")).scalar_one()
