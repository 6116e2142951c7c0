"""The street office's vocabulary, written once: codes, their Chinese-first labels, and how people and
times are shown.

The database's CHECK constraints, the API's validation, the CLI's choices and the map legends all read
from here, so a tier, a role or a coordinate system cannot be spelled two ways. It imports only
``geo.coords``: map renderers may read it without pulling in the database or the web framework.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from geo.coords import COORD_SYSTEMS as COORD_SYSTEMS  # re-exported: the CLI, the API and pages read it here

# ---- places ----------------------------------------------------------------------------------

# Layers in load order (a parent before its children); `people` is a table, not a map layer.
LAYERS: tuple[str, ...] = ("streets", "communities", "grids", "buildings", "roads", "road_segments", "people")
SPATIAL_LAYERS: tuple[str, ...] = LAYERS[:-1]
LAYER_LABELS = {
    "streets": "街道 street",
    "communities": "社区 community",
    "grids": "网格 grid",
    "buildings": "楼栋 building",
    "roads": "道路 road",
    "road_segments": "责任路段 road segment",
    "people": "人员 people",
}

# Coordinate systems a point or a file may arrive in (storage is WGS-84; CGCS2000 equals it at this scale):
# the transforms in geo.coords define which exist.
COORD_SYSTEM_LABELS = {
    "wgs84": "WGS-84 (GPS)",
    "cgcs2000": "CGCS2000 国家大地坐标系",
    "gcj02": "GCJ-02 火星坐标 (高德 Amap, 腾讯 Tencent, 微信 WeChat)",
    "bd09": "BD-09 百度坐标 (Baidu)",
}

# ---- people ----------------------------------------------------------------------------------

ROLES: tuple[str, ...] = ("grid_worker", "grid_chief", "street_chief", "official")
ROLE_LABELS = {
    "grid_worker": "网格员 grid worker",
    "grid_chief": "网格长 grid chief",
    "street_chief": "街长 street chief",
    "official": "街道干部 official",
}
CHIEF_KINDS: tuple[str, ...] = ("party", "merchant")
CHIEF_LABELS = {"party": "党员街长 party chief", "merchant": "商户街长 merchant chief"}

# Who a token speaks for; admins see their area, workers and chiefs their grid or segment.
TOKEN_ROLES: tuple[str, ...] = (
    "citizen",
    "grid_worker",
    "street_chief",
    "community_admin",
    "street_admin",
    "district_admin",
    "department",
    "callback",
)
ADMIN_ROLES: tuple[str, ...] = ("community_admin", "street_admin", "district_admin")
TOKEN_ROLE_LABELS = {
    "citizen": "居民 citizen",
    "grid_worker": "网格员 grid worker",
    "street_chief": "街长 street chief",
    "community_admin": "社区管理员 community admin",
    "street_admin": "街道指挥中心 street admin",
    "district_admin": "区指挥中心 district admin",
    "department": "职能部门 department",
    "callback": "回访员 call-back",
}
# Who gave a rating. Satisfaction counts the reporter's and a call-back's (a role that belongs to no
# scored unit); ``staff`` marks ratings given by staff before that rule, kept but never counted.
RATERS: tuple[str, ...] = ("reporter", "callback", "staff")
COUNTED_RATERS: tuple[str, ...] = ("reporter", "callback")

# ---- the residents' register ------------------------------------------------------------------

SEXES: tuple[str, ...] = ("M", "F")
SEX_LABELS = {"M": "男 male", "F": "女 female"}
# A member's relation to the head of the household (户主), as the register books write it.
RELATIONS: tuple[str, ...] = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")
RELATION_LABELS = {
    "head": "户主 head",
    "spouse": "配偶 spouse",
    "child": "子女 child",
    "parent": "父母 parent",
    "grandchild": "孙辈 grandchild",
    "sibling": "兄弟姐妹 sibling",
    "other": "其他 other",
}
# Volunteer teams (seed 003) and the steps of a service request: 群众点单 → 政府派单 → 志愿者接单 → 完成.
TEAM_KINDS: tuple[str, ...] = ("patrol", "mediation", "service")
TEAM_KIND_LABELS = {"patrol": "巡逻队 patrol", "mediation": "调解队 mediation", "service": "服务队 service"}
REQUEST_STATES: tuple[str, ...] = ("requested", "dispatched", "accepted", "completed")
REQUEST_STATE_LABELS = {
    "requested": "已点单 requested",
    "dispatched": "已派单 dispatched",
    "accepted": "已接单 accepted",
    "completed": "已完成 completed",
}
# What a staff read of a person's record was, in the append-only access log.
RESIDENT_ACCESS: tuple[str, ...] = ("read", "list", "search", "write", "export")

# ---- incidents -------------------------------------------------------------------------------

TIERS: tuple[str, ...] = ("A", "B", "C", "D")
# Who handles each tier when no person is named (seed 001): the grid, the street, the district, the city.
LEVEL_OF_TIER = {"A": "grid", "B": "street", "C": "district", "D": "city"}
TIER_LABELS = {
    "A": "A类 网格处置 grid",
    "B": "B类 街道处置 street",
    "C": "C类 区级处置 district",
    "D": "D类 市级处置 city",
}
CHANNELS: tuple[str, ...] = ("app", "wechat", "hotline_12345", "patrol", "camera", "walk_in")
CHANNEL_LABELS = {
    "app": "手机应用 app",
    "wechat": "微信 WeChat",
    "hotline_12345": "12345热线 hotline",
    "patrol": "巡查发现 patrol",
    "camera": "视频监控 camera",
    "walk_in": "来访 walk-in",
}
STATUSES: tuple[str, ...] = (
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "verified",
    "closed",
    "returned",
    "escalated",
    "merged",
    "reopened",
)
FINISHED: tuple[str, ...] = ("resolved", "verified", "closed", "merged")
OPEN: tuple[str, ...] = tuple(s for s in STATUSES if s not in FINISHED)
STATUS_LABELS = {
    "reported": "已上报 reported",
    "accepted": "已受理 accepted",
    "dispatched": "已派单 dispatched",
    "in_progress": "处置中 in progress",
    "resolved": "已办结 resolved",
    "verified": "已核查 verified",
    "closed": "已结案 closed",
    "returned": "已退回 returned",
    "escalated": "已上报上级 escalated",
    "merged": "已合并 merged",
    "reopened": "已重办 reopened",
}
# Who holds a case when it is not one person: a level's command centre.
ASSIGNEE_LABELS = {
    "person": "个人 person",
    "community": "社区 community",
    "street": "街道指挥中心 street command centre",
    "district": "区指挥中心 district command centre",
    "city": "市指挥中心 city command centre",
}


def label(labels: dict[str, str], code: str | None) -> str:
    """A code's label, or the code itself when it has none (an office's own category, say)."""
    return labels.get(code or "", code or "")


# ---- map pages -------------------------------------------------------------------------------

MAP_KINDS: tuple[str, ...] = ("grids", "board", "heat", "resplit", "coverage")
# What the grid map may shade by: households (the band), incidents per 1,000 households, the score.
MEASURES: tuple[str, ...] = ("households", "incidents", "score")


# ---- how people are shown --------------------------------------------------------------------


def mask_phone(phone: str | None) -> str | None:
    """138****1234: enough to recognise, not enough to harvest."""
    if not phone:
        return None
    digits = str(phone).strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(number: str | None) -> str | None:
    """2101**********123X: the region and the last four, never the birth date between."""
    if not number:
        return None
    return (
        f"{number[:4]}{'*' * max(len(number) - 8, 0)}{number[-4:]}" if len(number) > 8 else "*" * len(number)
    )


# ---- how times are shown ---------------------------------------------------------------------

# Times are stored in UTC; people read Beijing time, always with its offset so nothing is ambiguous.
BEIJING = timezone(timedelta(hours=8), "北京时间")


def beijing(moment: datetime) -> datetime:
    """The same instant on Beijing's clock (a naive time is taken as UTC, as the database stores it)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BEIJING)


def beijing_iso(moment: datetime | None) -> str | None:
    """ISO 8601 in Beijing time with the offset: ``2026-12-02T22:49:00+08:00`` (the API and the CLI's JSON)."""
    return None if moment is None else beijing(moment).isoformat(timespec="seconds")


def beijing_text(moment: datetime | None, *, seconds: bool = False) -> str:
    """For tables and pages: ``2026-12-02 22:49 +08:00``."""
    if moment is None:
        return ""
    return beijing(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " +08:00"
