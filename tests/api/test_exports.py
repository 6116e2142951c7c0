"""Cases people open in Excel and QGIS: exports of incidents (with their events) and scores from the CLI and
the API, as the caller may see them; and lists that say how many there are and link their pages."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pyogrio
import pytest

NOTE = "内部：请带梯子"


@pytest.fixture
def cases(world):
    """Three reports by two citizens in two grids; the first accepted with a staff note and a reply."""
    first, second = world.places[0], world.places[1]
    zhang = world.user("张三", "citizen", phone="13812345678")
    li = world.user("李四", "citizen", phone="13900001111")
    ids = [
        world.report(zhang, first, description="三号楼门口垃圾堆放").get_json()["id"],
        world.report(zhang, second, description="路灯不亮", category="A03").get_json()["id"],
        world.report(li, first, description="楼道堆物").get_json()["id"],
    ]
    worker = world.user("网格员", "grid_worker", person=first.worker_id)
    assert world.step(worker, ids[0], "accept", note=NOTE, reply="今天处理").status_code == 200
    return world, zhang, ids


def test_the_cli_exports_incidents_to_excel_csv_and_geopackage(cases, cli, tmp_path):
    world, _, ids = cases
    url = world.engine.url.render_as_string(hide_password=False)
    book = tmp_path / "cases.xlsx"
    r = cli(url, "export", "incidents", str(book), "--from", "2026-03-01", "--to", "2026-03-03")
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["事件 incidents", "过程 events"]
    rows = list(wb["事件 incidents"].values)
    assert rows[0][0] == "编号 id" and sorted(row[0] for row in rows[1:]) == sorted(ids)
    reported = rows[0].index("上报时间 reported (UTC+8)")
    assert all(str(row[reported]).endswith("+08:00") for row in rows[1:])
    events = list(wb["过程 events"].values)
    assert len(events) - 1 == world.sql("SELECT count(*) FROM incident_events")[0][0] == 4
    assert NOTE in str(events)  # the operator reads staff notes

    csv = tmp_path / "cases.csv"
    assert cli(url, f"export incidents {csv} --from 2026-03-01 --status reported").exit_code == 0
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel on a Chinese system reads UTF-8 only with a BOM
    frame = pd.read_csv(csv, encoding="utf-8-sig")
    assert set(frame["编号 id"]) == set(ids[1:]) and "楼道堆物" in set(frame["描述 description"])

    gpkg = tmp_path / "cases.gpkg"
    assert (
        cli(url, f"export incidents {gpkg} --from 2026-03-01 --grid {world.places[0].grid_id}").exit_code == 0
    )
    assert {name for name, _ in pyogrio.list_layers(gpkg)} == {"incidents", "events"}
    points = pyogrio.read_dataframe(gpkg, layer="incidents")
    assert (
        sorted(points["编号 id"]) == sorted([ids[0], ids[2]]) and points.geometry.geom_type.eq("Point").all()
    )
    refused = cli(url, f"export incidents {tmp_path / 'cases.shp'}")
    assert refused.exit_code == 1 and ".xlsx" in refused.output


def test_the_api_exports_what_the_caller_may_see(cases):
    world, zhang, ids = cases
    mine = world.get("/api/v1/incidents.csv?from=2026-03-01", zhang)
    assert mine.status_code == 200 and mine.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert mine.data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(mine.data), encoding="utf-8-sig")
    assert sorted(frame["编号 id"]) == sorted(ids[:2]) and set(frame["电话 phone"]) == {"138****5678"}
    book = openpyxl.load_workbook(io.BytesIO(world.get("/api/v1/incidents.xlsx?from=2026-03-01", zhang).data))
    assert NOTE not in str(list(book["过程 events"].values)) and "今天处理" in str(
        list(book["过程 events"].values)
    )
    everything = pd.read_csv(
        io.BytesIO(world.get("/api/v1/incidents.csv?from=2026-03-01", world.district).data), dtype=str
    )
    assert len(everything) == 3 and "13812345678" in set(everything["电话 phone"])
    scores = world.get("/api/v1/scores.xlsx?unit=grid&from=2026-03-01&to=2026-03-03", world.district)
    ranking = world.get("/api/v1/scores?unit=grid&from=2026-03-01&to=2026-03-03", world.district).get_json()
    sheet = list(openpyxl.load_workbook(io.BytesIO(scores.data))["三率排名 scores"].values)
    assert [row[1] for row in sheet[1:]] == [r["id"] for r in ranking["ranking"]]
    assert world.get("/api/v1/scores.csv", zhang).status_code == 403
    assert world.get("/api/v1/incidents.pdf", world.district).status_code == 404


def test_lists_count_their_matches_and_link_their_pages(cases):
    world, _, ids = cases
    first = world.get("/api/v1/incidents?limit=2&from=2026-03-01", world.district).get_json()
    assert first["total"] == 3 and len(first["incidents"]) == 2
    assert [link["rel"] for link in first["links"]] == ["next"]
    nxt = world.client.get(first["links"][0]["href"], headers={"Authorization": f"Bearer {world.district}"})
    second = nxt.get_json()
    assert [i["id"] for i in second["incidents"]] == [min(ids)] and [x["rel"] for x in second["links"]] == [
        "prev"
    ]
    assert [i["id"] for i in first["incidents"] + second["incidents"]] == sorted(ids, reverse=True)
