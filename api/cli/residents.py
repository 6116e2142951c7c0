"""`wangge residents`: the register from and to the CSV and XLSX sheets grid workers keep, and overdue visits."""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from api.cli.common import now_option, report_options, table
from store.engine import get_engine

SHEETS = (".csv", ".xlsx")


def _sheet_rows(path: Path) -> list[dict[str, str]]:
    """The first sheet's rows under its header row, every cell as text."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        cells = [
            ["" if c is None else str(c) for c in row]
            for row in book.worksheets[0].iter_rows(values_only=True)
        ]
        book.close()
        if not cells:
            return []
        header = [h.strip() for h in cells[0]]
        return [dict(zip(header, row, strict=False)) for row in cells[1:] if any(c.strip() for c in row)]
    raw = path.read_bytes()
    try:  # Excel writes CSV in UTF-8 with a BOM, or in GB18030 on Chinese Windows
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return [row for row in csv.DictReader(io.StringIO(text)) if any((v or "").strip() for v in row.values())]


def _write_sheet(path: Path, rows: list[dict[str, str]], header: list[str]) -> None:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("居民 residents")
        sheet.append(header)
        for row in rows:
            sheet.append([row[h] for h in header])
        book.save(path)
        return
    with path.open("w", encoding="utf-8-sig", newline="") as out:  # the BOM lets Excel read Chinese
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _sheet_path(path: str) -> Path:
    if Path(path).suffix.lower() not in SHEETS:
        raise click.BadParameter(f"{path}: a .csv or .xlsx file")
    return Path(path)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("residents", help="居民登记 The residents' register: import, export, overdue visits.")
def residents_group() -> None:
    pass


@residents_group.command("import", help="导入居民 Add a sheet's people to the register (all or nothing).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--grid", help="网格 The grid whose buildings the rows name (by id or name).")
@click.option("--building", help="楼栋 The one building of every row.")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="COL=FIELD",
    help="列映射 A column of the file and our field it holds (name, sex, birth_year, phone, id_number, …).",
)
def import_cmd(file, grid, building, mappings) -> None:
    from core.resident_import import import_register

    mapping = {}
    for item in mappings:
        col, sep, field = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: write COL=FIELD", param_hint="--map")
        mapping[col.strip()] = field.strip()
    rows = _sheet_rows(_sheet_path(file))
    with get_engine().begin() as conn:
        done = import_register(
            conn, rows, grid=grid, building=building, mapping=mapping, actor=_actor(), now=datetime.now(UTC)
        )
    click.echo(f"已导入 imported {done['residents']} residents in {done['households']} households")


@residents_group.command(
    "export", help="导出居民 Write the register (in full; each person logged) to CSV or XLSX."
)
@click.argument("file")
@click.option("--grid", help="网格 Only this grid's register.")
def export_cmd(file, grid) -> None:
    from core.resident_import import COLUMNS, export_register

    path = _sheet_path(file)
    with get_engine().begin() as conn:
        rows = export_register(conn, grid=grid, actor=_actor(), now=datetime.now(UTC))
    _write_sheet(path, rows, list(COLUMNS.values()))
    click.echo(f"已导出 exported {len(rows)} residents to {path}")


@residents_group.command("overdue", help="逾期走访 Households whose visit is overdue, most overdue first.")
@click.option("--grid", help="网格 One grid.")
@click.option("--worker", help="网格员 One grid worker's grid.")
@click.option("--now", "now_raw", help="当前时间 The time to judge at (ISO; Beijing time without a zone).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def overdue_cmd(grid, worker, now_raw, as_json) -> None:
    from core.resident_visits import overdue_visits
    from core.vocabulary import beijing_iso

    with get_engine().connect() as conn:
        found = overdue_visits(conn, None, now_option(now_raw), grid=grid, worker=worker)
    rows = found["households"]
    for row in rows:
        row["groups"] = "、".join(g["name"] for g in row["groups"])
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, default=beijing_iso, indent=1))
        return
    table(
        rows,
        [
            "grid_id",
            "worker_name",
            "building_name",
            "unit",
            "room",
            "groups",
            "last_visit",
            "due_at",
            "days_overdue",
        ],
    )
    click.echo(f"逾期 overdue: {len(rows)} households")


@residents_group.command("demo", help="演示登记 Draw the demo register for buildings that have none yet.")
@click.option("--community", help="社区 Only this community's buildings.")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 Random seed.")
@click.option("--days", type=int, default=365, show_default=True, help="走访天数 Days of visits.")
def demo_cmd(community, seed, days) -> None:
    from boundaries.demo_residents import load_register
    from store.residents import unregistered_buildings

    with get_engine().begin() as conn:
        buildings = unregistered_buildings(conn, community)
        if buildings.empty:
            raise click.ClickException("没有未登记的楼栋 no building without a register to draw one for")
        done = load_register(conn, buildings, now=datetime.now(UTC), seed=seed, days=days)
    click.echo(
        f"演示登记 demo register: {done['residents']} residents in {done['households']} households, "
        f"{done['visits']} visits, {done['teams']} volunteer teams, {done['informants']} informants"
    )


@residents_group.command(
    "informants", help="网格信息员 Informants per grid worker, flagging who has too few."
)
@click.option("--worker", help="网格员 One grid worker.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def informants_cmd(worker, as_json) -> None:
    from core.informants import list_informants
    from core.vocabulary import beijing_iso

    with get_engine().connect() as conn:
        found = list_informants(conn, None, worker)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, default=beijing_iso, indent=1))
        return
    table(found["workers"], ["grid_id", "worker_id", "worker_name", "informants", "below_minimum"])
    short = sum(w["below_minimum"] for w in found["workers"])
    click.echo(
        f"少于 {found['minimum']} 名 fewer than {found['minimum']}: {short} of {len(found['workers'])} workers"
    )


@residents_group.command("groups", help="特殊群体目录 The catalogue of special groups and their visit plans.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def groups_cmd(as_json) -> None:
    from core.residents import list_groups

    with get_engine().connect() as conn:
        groups = list_groups(conn, None)
    if as_json:
        click.echo(json.dumps(groups, ensure_ascii=False, indent=1))
        return
    table(groups, ["code", "name_zh", "name_en", "visit_days", "active"])


@residents_group.command("group", help="修改特殊群体 Add or change a special group and its visit plan.")
@click.argument("code")
@click.option("--name-zh", required=True, help="中文名 Chinese name, e.g. 独居老人.")
@click.option("--name-en", required=True, help="英文名 English name.")
@click.option("--visit-days", type=int, help="走访周期（天） Visit every N days; none: no plan.")
@click.option("--inactive", is_flag=True, help="停用 No longer offered for new tags.")
def group_cmd(code, name_zh, name_en, visit_days, inactive) -> None:
    from core.inputs import SpecialGroupIn, parse
    from core.residents import put_group

    body = {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "visit_days": visit_days,
        "active": not inactive,
    }
    with get_engine().begin() as conn:
        group = put_group(conn, None, parse(SpecialGroupIn, body))
    plan = f"every {group['visit_days']} days" if group["visit_days"] else "no visit plan"
    click.echo(
        f"已保存 saved: {group['code']} {group['name_zh']} ({plan}{'' if group['active'] else ', inactive'})"
    )


@residents_group.command("teams", help="志愿者队伍 Volunteer teams with their members and skills.")
@click.option("--street", help="街道 One street's teams.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def teams_cmd(street, as_json) -> None:
    from core.vocabulary import beijing_iso
    from core.volunteers import list_teams

    with get_engine().connect() as conn:
        teams = list_teams(conn, None, street)
    if as_json:
        click.echo(json.dumps(teams, ensure_ascii=False, indent=1, default=beijing_iso))
        return
    rows = [{**t, "members": ", ".join(m["name"] for m in t["members"])} for t in teams]
    table(rows, ["id", "name", "kind_label", "street_id", "members"])


@residents_group.command("hours", help="志愿服务时长 Hours given per volunteer and team in a period.")
@click.option("--street", help="街道 One street.")
@report_options
def hours_cmd(since, until, street, as_json) -> None:
    from core.inputs import HoursQuery, parse
    from core.vocabulary import beijing_iso
    from core.volunteers import volunteer_hours

    query = parse(HoursQuery, {"from": since, "to": until, "street": street})
    with get_engine().connect() as conn:
        report = volunteer_hours(conn, None, query, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=beijing_iso, indent=1))
        return
    table(report["teams"], ["team_id", "team_name", "hours"])
    table(report["volunteers"], list(report["volunteers"][0]) if report["volunteers"] else ["volunteer_id"])
