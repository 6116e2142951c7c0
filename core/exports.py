"""Cases and rankings as tables people open in Excel: one row per incident (and a sheet of their events),
one row per ranked unit; Chinese headers with English beside, times in Beijing time, the caller's view.

What a caller may see is what they may export: the same visibility and the same phone masking as the
API's lists, and a citizen's events without staff notes.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection

from core.access import Principal
from core.incidents.views import IncidentQuery, list_incidents, seen_events
from core.scores import scores
from core.vocabulary import CHANNEL_LABELS, STATUS_LABELS, TIER_LABELS
from store import incidents as store

MAX_EXPORT = 1_000_000  # rows in one export: a city's year

INCIDENT_HEADERS = {
    "id": "编号 id",
    "status": "状态 status",
    "tier": "级别 tier",
    "category": "类别 category",
    "description": "描述 description",
    "channel": "渠道 channel",
    "street": "街道 street",
    "community": "社区 community",
    "grid": "网格 grid",
    "building": "楼栋 building",
    "segment": "责任路段 segment",
    "assignee": "处置 assignee",
    "reported_at": "上报时间 reported (UTC+8)",
    "accepted_at": "受理时间 accepted (UTC+8)",
    "resolved_at": "办结时间 resolved (UTC+8)",
    "closed_at": "关闭时间 closed (UTC+8)",
    "completion_due": "办结时限 due (UTC+8)",
    "escalations": "升级次数 escalations",
    "rating": "评价 rating",
    "rated_by": "评价来源 rated by",
    "reporter": "上报人 reporter",
    "phone": "电话 phone",
    "lon": "经度 lon",
    "lat": "纬度 lat",
}
EVENT_HEADERS = {
    "incident_id": "事件编号 incident",
    "at": "时间 at (UTC+8)",
    "role": "角色 role",
    "action": "动作 action",
    "from_status": "原状态 from",
    "to_status": "新状态 to",
    "note": "备注 note",
    "reply": "回复 reply",
}


def _row(i: dict) -> dict:
    name = {level: (i[level] or {}).get("name") for level in ("street", "community", "grid", "building")}
    person = i["assignee"].get("person", {}).get("name")
    return {
        "id": i["id"],
        "status": STATUS_LABELS[i["status"]],
        "tier": TIER_LABELS[i["tier"]],
        "category": f"{i['category']['code']} {i['category']['name_zh']}",
        "description": i["description"],
        "channel": CHANNEL_LABELS.get(i["channel"], i["channel"]),
        **name,
        "segment": (i["segment"] or {}).get("name"),
        "assignee": person or i["assignee"]["kind"],
        **i["times"],
        "completion_due": i["deadlines"]["completion_due"],
        "escalations": i["escalations"],
        "rating": i["rating"],
        "rated_by": i["rated_by"],
        "reporter": i["reporter"]["name"],
        "phone": i["reporter"]["phone"],
        "lon": i["location"]["lon"],
        "lat": i["location"]["lat"],
    }


def incident_sheets(conn: Connection, p: Principal | None, query: IncidentQuery) -> dict[str, pd.DataFrame]:
    """``事件 incidents`` (one row each, newest first) and ``过程 events`` (every step of those incidents)."""
    asked = dataclasses.replace(query, limit=MAX_EXPORT, offset=0)
    incidents = list_incidents(conn, p, asked)
    events = seen_events(store.events_of(conn, [i["id"] for i in incidents]), p)
    rows = [
        {
            **{k: e.get(k) for k in EVENT_HEADERS},
            "reply": e.get("reply") or (e.get("data") or {}).get("reply"),
        }
        for e in events
    ]
    return {
        "事件 incidents": pd.DataFrame([_row(i) for i in incidents], columns=list(INCIDENT_HEADERS)).rename(
            columns=INCIDENT_HEADERS
        ),
        "过程 events": pd.DataFrame(rows, columns=list(EVENT_HEADERS)).rename(columns=EVENT_HEADERS),
    }


SCORE_HEADERS = {
    "rank": "名次 rank",
    "id": "编号 id",
    "name": "名称 name",
    "incidents": "事件数 incidents",
    "response_rate": "响应率 response rate",
    "completion_rate": "办结率 completion rate",
    "satisfaction_rate": "满意率 satisfaction rate",
    "score": "得分 score",
    "citizen_satisfaction_rate": "群众满意率 citizens' satisfaction",
    "callback_satisfaction_rate": "回访满意率 call-back satisfaction",
    "overdue_visits": "逾期走访户数 overdue visits",  # grid workers only
}


def score_sheets(
    conn: Connection, unit: str, *, since: datetime, until: datetime, now: datetime, scope: tuple | None
) -> dict[str, pd.DataFrame]:
    """The three-rate ranking of ``unit`` over a period, one row per unit, best first."""
    ranking = scores(conn, unit, since=since, until=until, now=now, scope=scope)
    columns = [c for c in SCORE_HEADERS if unit == "worker" or c != "overdue_visits"]
    frame = pd.DataFrame(ranking, columns=columns).rename(columns=SCORE_HEADERS)
    return {"三率排名 scores": frame}
