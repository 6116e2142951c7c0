"""`wangge`: the command line. One click group per topic, each in its own module; every refusal from
``core`` (a ``ServiceError``) is printed as its detail with exit code 1, never as a traceback."""

from __future__ import annotations

from typing import Any

import click

from api.cli import (
    catalogue,
    db,
    demo,
    grids,
    incidents,
    layers,
    locate,
    maps,
    outbox,
    patrol,
    residents,
    serve,
    users,
)
from core.errors import ServiceError
from core.outages import database_refusal


class WanggeGroup(click.Group):
    """The top-level group: translates the service's refusals once for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ServiceError as exc:
            raise click.ClickException(exc.detail) from None
        except Exception as exc:  # a database away or a lost race is a message, not a traceback
            refusal = database_refusal(exc)
            if refusal is None:
                raise
            raise click.ClickException(refusal.detail) from None


@click.group(cls=WanggeGroup, help="网格化管理服务 Wangge: 街道 > 社区 > 网格 > 楼栋 grid management.")
def main() -> None:
    pass


for command in (
    db.db_group,
    layers.import_cmd,
    layers.export_cmd,
    layers.validate_cmd,
    demo.demo_cmd,
    locate.locate_cmd,
    grids.grids_group,
    maps.assets_cmd,
    maps.map_cmd,
    serve.serve_cmd,
    users.users_group,
    catalogue.catalogue_group,
    incidents.incidents_group,
    incidents.scores_cmd,
    incidents.stats_cmd,
    outbox.outbox_group,
    patrol.patrol_group,
    residents.residents_group,
):
    main.add_command(command)
