"""`wangge serve`: the API and maps behind waitress."""

from __future__ import annotations

import click


@click.command("serve", help="启动服务 Serve the API and maps (waitress, a production WSGI server).")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="端口 Port.")
@click.option("--threads", default=8, show_default=True, type=int, help="线程数 Worker threads.")
def serve_cmd(host, port, threads) -> None:
    from waitress import serve

    from api.http.app import create_app

    app = create_app()
    base = f"http://{host}:{port}"
    click.echo(
        f"服务地址 / serving at {base}/\n  健康 health: {base}/api/v1/health\n"
        f"  定位 locate: {base}/api/v1/locate?lon=122.07&lat=41.12\n  网格图 grid map: {base}/maps/grids"
    )
    serve(app, host=host, port=port, threads=threads)
