"""`wangge catalogue`: incident categories, tiers, departments and limits."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.cli.common import table
from store.engine import get_engine


@click.group("catalogue", help="事件目录 The incident catalogue: categories, tiers, departments, limits.")
def catalogue_group() -> None:
    pass


@catalogue_group.command(
    "load", help="载入目录 Validate a catalogue JSON file and add or update its entries."
)
@click.argument("file", type=click.Path(path_type=Path), required=False)
def catalogue_load(file) -> None:
    from core.catalogue import (
        DEFAULT_FILE,
        CatalogueError,
        known_departments,
        parse_catalogue,
        save_catalogue,
    )

    path = file or DEFAULT_FILE
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        with get_engine().begin() as conn:
            counts = save_catalogue(conn, parse_catalogue(data, known_departments(conn)))
    except (OSError, json.JSONDecodeError, CatalogueError) as exc:
        raise click.ClickException(f"目录无效 catalogue not loaded, nothing changed: {exc}") from None
    click.echo(f"已载入 / loaded: {counts['departments']} departments, {counts['categories']} categories")


@catalogue_group.command("list", help="列出类别 List the categories.")
def catalogue_list() -> None:
    from core.catalogue import list_categories

    with get_engine().connect() as conn:
        table(
            list_categories(conn),
            [
                "code",
                "tier",
                "name_zh",
                "name_en",
                "road_related",
                "departments",
                "response_limit_min",
                "completion_limit_h",
            ],
        )
