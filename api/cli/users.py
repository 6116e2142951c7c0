"""`wangge users`: API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from api.cli.common import table
from core.vocabulary import TOKEN_ROLES
from store.engine import get_engine


@click.group("users", help="用户令牌 API tokens: add, list, revoke.")
def users_group() -> None:
    pass


@users_group.command("add", help="新增令牌 Create a token (printed once; only its hash is stored).")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(TOKEN_ROLES),
    help="角色 Role.",
)
@click.option(
    "--scope", "scope_id", help="范围 Grid, segment, community, street or department id of the role."
)
@click.option(
    "--person", "person_id", help="人员编号 The person (grid worker, street chief) the token belongs to."
)
@click.option("--phone", help="电话 A citizen's phone, used when they report.")
def users_add(name, role, scope_id, person_id, phone) -> None:
    from core.tokens import add_user

    with get_engine().begin() as conn:
        token_id, token = add_user(conn, name, role, scope_id=scope_id, person_id=person_id, phone=phone)
    click.echo(
        f"令牌 {token_id} 已创建 / token {token_id} created for {name} ({role}); keep it, it is shown once:"
    )
    click.echo(token)


@users_group.command("list", help="列出令牌 List tokens (never the secrets).")
def users_list() -> None:
    from core.tokens import list_users

    with get_engine().connect() as conn:
        table(list_users(conn), ["id", "name", "role", "scope_id", "person_id", "created_at", "revoked_at"])


@users_group.command("revoke", help="吊销令牌 Revoke a token by id; it stops working at once.")
@click.argument("token_id", type=int)
def users_revoke(token_id) -> None:
    from core.tokens import revoke_user

    with get_engine().begin() as conn:
        revoke_user(conn, token_id, datetime.now(UTC))
    click.echo(f"令牌 {token_id} 已吊销 / token {token_id} revoked")
