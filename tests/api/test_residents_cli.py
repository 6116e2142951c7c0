"""`wangge residents import` and `export`: the sheets grid workers keep, all or nothing, and the building's
household count following its register."""

from __future__ import annotations

import csv

from openpyxl import Workbook, load_workbook

from tests.residents_world import building_of, id_number, resident_key_file  # noqa: F401 (a fixture)

HEADER = ["楼栋", "单元", "房号", "姓名", "性别", "出生年份", "与户主关系", "电话", "身份证号", "特殊群体"]


def _rows(building: str) -> list[list[str]]:
    return [
        [building, "1", "101", "王秀英", "女", "1945", "户主", "13912345678", id_number(1), "独居老人、高龄"],
        [
            building,
            "1",
            "102",
            "李建国",
            "男",
            "1960",
            "户主",
            "13800000002",
            id_number(2, "19600101"),
            "低保",
        ],
        [building, "1", "102", "李小明", "男", "2015", "子女", "", id_number(3, "20150101"), "留守儿童"],
    ]


def _csv(path, rows: list[list[str]], header: list[str] = HEADER) -> str:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _count(world) -> int:
    return world.sql("SELECT count(*) FROM residents")[0][0]


def test_an_import_with_one_bad_row_changes_nothing_and_names_the_row(world, workflow_url, cli, tmp_path):
    grid = world.places[0].grid_id
    building = building_of(world, grid)
    rows = _rows(building)
    rows.insert(2, [building, "1", "103", "赵六", "女", "十九五零", "户主", "", id_number(4), ""])
    rows.append(
        [building, "1", "104", "钱七", "女", "1950", "户主", "", id_number(1), ""]
    )  # row 1's ID again
    households_before = world.sql("SELECT households FROM buildings WHERE id = :b", b=building)[0][0]
    done = cli(workflow_url, "residents", "import", _csv(tmp_path / "bad.csv", rows), "--grid", grid)
    assert done.exit_code == 1
    assert "第4行 row 4: birth_year" in done.output
    assert "第6行 row 6: 身份证号与第2行重复" in done.output
    assert "row 2:" not in done.output and "row 3:" not in done.output and "row 5:" not in done.output
    assert _count(world) == 0
    assert world.sql("SELECT count(*) FROM households")[0][0] == 0
    assert world.sql("SELECT households FROM buildings WHERE id = :b", b=building)[0][0] == households_before


def test_import_then_export_round_trip_and_the_building_counts_its_register(
    world, workflow_url, cli, tmp_path
):
    grid = world.places[0].grid_id
    building = building_of(world, grid)
    other_buildings = world.sql(
        "SELECT sum(households) FROM buildings WHERE grid_id = :g AND id <> :b", g=grid, b=building
    )[0][0]
    done = cli(
        workflow_url, "residents", "import", _csv(tmp_path / "in.csv", _rows(building)), "--grid", grid
    )
    assert done.exit_code == 0, done.output
    assert "imported 3 residents in 2 households" in done.output
    # The register holds two households in this building: its count, and its grid's, follow.
    assert world.sql("SELECT households FROM buildings WHERE id = :b", b=building)[0][0] == 2
    assert world.sql("SELECT households FROM grids WHERE id = :g", g=grid)[0][0] == other_buildings + 2
    groups = world.sql("SELECT group_code FROM resident_groups ORDER BY group_code")
    assert [g[0] for g in groups] == ["left_behind_child", "lonely_elder", "low_income", "very_old"]

    out = tmp_path / "out.xlsx"
    exported = cli(workflow_url, "residents", "export", str(out), "--grid", grid)
    assert exported.exit_code == 0, exported.output
    sheet = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert list(sheet[0]) == HEADER
    assert [list(r[:9]) for r in sheet[1:]] == [[c or None for c in r[:9]] for r in _rows(building)]
    assert sheet[1][9] == "独居老人、高龄"
    logged = world.sql("SELECT action, actor FROM resident_access_log ORDER BY resident_id")
    assert [a for a, _ in logged] == ["export"] * 3 and all(actor.startswith("cli:") for _, actor in logged)


def test_an_xlsx_with_its_own_headers_through_a_column_mapping(world, workflow_url, cli, tmp_path):
    building = building_of(world, world.places[0].grid_id)
    book = Workbook()
    sheet = book.active
    sheet.append(["Room", "Full name", "Born", "ID"])
    sheet.append(["201", "周八", 1938, id_number(8, "19380101")])
    path = tmp_path / "book.xlsx"
    book.save(path)
    args = [
        "--map",
        "Room=room",
        "--map",
        "Full name=name",
        "--map",
        "Born=birth_year",
        "--map",
        "ID=id_number",
    ]
    done = cli(workflow_url, "residents", "import", str(path), "--building", building, *args)
    assert done.exit_code == 0, done.output
    assert world.sql("SELECT name, birth_year FROM residents") == [("周八", 1938)]
    unknown = cli(
        workflow_url, "residents", "import", str(path), "--building", building, "--map", "ID=passport"
    )
    assert unknown.exit_code == 1 and "unknown field passport" in unknown.output
