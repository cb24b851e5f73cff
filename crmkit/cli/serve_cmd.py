"""``crmkit serve``: gunicorn in production, Flask's reloader with ``--dev``."""
from __future__ import annotations

import click

from crmkit.cli.context import cli_context
from crmkit.db import release_connections


def _gunicorn(app, bind: str, workers: int, threads: int, timeout: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": bind, "workers": workers, "threads": threads,
                               "timeout": timeout, "accesslog": "-", "preload_app": True}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds before a silent worker is restarted.")
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
def serve(bind, workers, threads, timeout, dev):
    """Serve the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    # Build the app before forking so a broken plugin stops here with one clear message.
    app = cli_context().app()
    if dev:
        host, _, port = bind.rpartition(":")
        app.run(host=host or "127.0.0.1", port=int(port), debug=True, use_reloader=True)
        return
    # The app was built in this process; no connection may be inherited by the workers.
    release_connections()
    _gunicorn(app, bind, workers, threads, timeout)


COMMANDS = [serve]
