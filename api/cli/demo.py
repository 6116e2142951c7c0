"""`wangge demo`: the demo district modelled on Zhenxing street, with a year of incidents and a week of patrols."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from api.cli.common import fail, stage_bar
from core.vocabulary import beijing
from store.engine import get_engine, session_scope


@click.command(
    "demo", help="示范辖区 Write (and load) the demo district modelled on Zhenxing street, Panjin."
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="输出目录 Write DIR/district.gpkg.")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 Same seed, same district.")
@click.option(
    "--scale", type=int, default=1, show_default=True, help="倍数 Streets side by side (64 grids each)."
)
@click.option(
    "--load", "load", is_flag=True, help="载入数据库 Also load it into the database (skipped if present)."
)
@click.option(
    "--incidents",
    "n_incidents",
    type=int,
    default=12_000,
    show_default=True,
    help="历史事件数 A year of incidents with their lifecycles, loaded with --load (0: none).",
)
@click.option(
    "--track-days",
    type=int,
    default=7,
    show_default=True,
    help="巡查轨迹天数 Days of patrol GPS logs up to today, loaded with --load (0: none).",
)
def demo_cmd(out_dir, seed, scale, load, n_incidents, track_days) -> None:
    if not out_dir and not load:
        fail("say --out DIR, --load, or both", 2)
    if scale < 1:
        fail(f"--scale must be 1 or more, got {scale}", 2)
    if n_incidents < 0:
        fail(f"--incidents must be 0 or more, got {n_incidents}", 2)
    if not 0 <= track_days <= 31:
        fail(f"--track-days must be 0 to 31, got {track_days}", 2)
    from boundaries.layers import LAYERS

    # Stages of the demo (on a terminal only): the district, each layer, the incidents, the patrol logs.
    stages = 1 + bool(out_dir) + (len(LAYERS) + 2 * bool(n_incidents) + 3 * bool(track_days)) * load
    with stage_bar(stages) as step:
        step("生成辖区 drawing the district")
        layers = _demo(out_dir, seed, scale, load, step)
        if load and n_incidents:
            _demo_history(layers, seed, n_incidents, step)
        if load and track_days:
            _demo_tracks(layers, seed, track_days, step)


def _demo(out_dir: Path | None, seed: int, scale: int, load: bool, step: Callable[[str], None]) -> dict:
    """Draw the district, write it, load it (once: a database holding it keeps it); its layers."""
    from tqdm import tqdm

    from boundaries.demo import make_district, write_district
    from boundaries.load import load_layers
    from store.hierarchy import stored_ids
    from store.models import Street

    layers = make_district(seed=seed, scale=scale)
    if out_dir:
        step("写出 writing the district")
        path = write_district(layers, out_dir)
        tqdm.write(f"示范辖区已写入 / demo district written: {path}")
    if not load:
        return layers
    with session_scope() as session:
        ids = set(layers["streets"]["id"])
        present = stored_ids(session, Street) & ids
        if present == ids:
            tqdm.write("示范辖区已在库中 / demo district already loaded")
        elif present:
            fail(
                f"some demo streets are already stored ({', '.join(sorted(present))}); "
                "use another --seed/--scale or a fresh database",
                1,
            )
        else:
            counts = load_layers(session, layers, progress=lambda name: step(f"载入 loading {name}"))
            tqdm.write("已载入 / loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return layers


def _demo_history(layers: dict, seed: int, n: int, step: Callable[[str], None]) -> None:
    """A year of incidents up to now, once: a database that has incidents keeps them."""
    from tqdm import tqdm

    from boundaries.demo_incidents import load_history, make_history
    from core.catalogue import ensure_default_catalogue, list_categories, list_departments
    from store.incidents import any_incident

    with get_engine().begin() as conn:
        if any_incident(conn):
            tqdm.write("已有事件 / incidents already present: demo history skipped")
            return
        ensure_default_catalogue(conn)
        categories = list_categories(conn)
        departments = {d["code"]: d["report_limit_min"] for d in list_departments(conn)}
        tqdm.write(f"生成一年事件 / generating a year of incidents ({n:,}) …")
        step("生成事件 generating incidents")
        incidents, events = make_history(layers, categories, end=datetime.now(UTC), n=n, seed=seed)
        step("载入事件 loading incidents")
        stored = load_history(conn, incidents, events, departments)
    tqdm.write(f"已载入事件 / incidents loaded: {stored:,} with {len(events):,} events")


def _demo_tracks(layers: dict, seed: int, days: int, step: Callable[[str], None]) -> None:
    """Patrol logs for the days up to today (Beijing midnight), once: a database with logs keeps them."""
    from tqdm import tqdm

    from boundaries.demo_tracks import load_tracks, make_tracks
    from store.tracks import any_track

    with get_engine().begin() as conn:
        if any_track(conn):
            tqdm.write("已有巡查轨迹 / patrol logs already present: demo tracks skipped")
            return
        today = beijing(datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        end = (today + timedelta(days=1)).astimezone(UTC)
        step("生成轨迹 generating patrol logs")
        tracks = make_tracks(layers, end=end, days=days, seed=seed)
        step("载入轨迹 storing patrol logs")
        stored = load_tracks(conn, tracks, progress=step)
    tqdm.write(f"已载入巡查轨迹 / patrol logs loaded: {stored:,} over {days} days")
