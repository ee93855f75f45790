"""`mathtutor serve`: migrate the store, make sure an admin exists, build the web app and serve it.

The web app (and so gradio/fastapi) is imported inside the command only: `tutor/` never imports the
web framework at module level, and other commands stay fast.
"""

from __future__ import annotations

import os
import secrets

import click

from tutor.settings import SettingsError, load_settings


def ensure_admin(store, *, name: str, password: str | None) -> tuple[str, str] | None:
    """Create the first admin when the users table has none. Returns (name, password) when one was
    made with a generated password (to print once), None otherwise."""
    if store.list_users(role="admin"):
        return None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    store.create_user(name, "admin", password=password, display_name="Administrator")
    return (name, password) if generated else None


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: MATHTUTOR_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: MATHTUTOR_PORT, 7860).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web app: SQLite (or MATHTUTOR_DATABASE_URL) store, sandboxed kernels, the model backend."""
    try:
        settings = load_settings()
        settings.check_production()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    import logging.config

    from tutor.ops import startup
    from tutor.ops.logs import logging_config
    log_config = logging_config(settings.log_format, settings.log_level)
    logging.config.dictConfig(log_config)   # start-up lines too; uvicorn re-applies it for its own loggers

    from tutor.errors import TutorError
    from tutor.store import open_store
    store = open_store(settings)
    try:
        startup.migrate_store(settings, store, click.echo)   # an existing store is backed up first
    except TutorError as exc:
        store.close()
        raise click.ClickException(f"the store was not migrated: {exc.message}") from None
    recovered = store.recover_stale()
    if recovered:
        click.echo(f"Marked {len(recovered)} session(s) of a previous run as interrupted.")
    created = ensure_admin(store, name=settings.web.admin_name, password=settings.web.admin_password or None)
    if created:
        click.echo("Created the first admin account (shown only this once; change it after signing in):\n"
                   f"    user name: {created[0]}\n    password:  {created[1]}")

    pool = _start_sandbox(settings)

    import uvicorn

    from app.main import create_app
    from tutor.tutoring.service import TutorService
    service = TutorService.from_settings(settings, store=store, pool=pool)
    try:
        startup.check_model(settings, lambda line: click.echo(line, err=True))
        try:
            startup.preload(settings, service, click.echo)
        except TutorError as exc:
            raise click.ClickException(f"MATHTUTOR_PRELOAD: the model did not load: {exc.message}") from None
        app = create_app(settings, service=service, store=store, pool=pool)
        click.echo(f"Math tutor on http://{host or settings.web.host}:{port or settings.web.port}/")
        uvicorn.run(app, host=host or settings.web.host, port=port or settings.web.port, log_level=settings.log_level,
                    log_config=log_config, proxy_headers=True, timeout_graceful_shutdown=10)
    finally:
        service.close()
        pool.close()
        store.close()


def _start_sandbox(settings):
    """Start the kernel pool now, so its self-check runs at start-up and /healthz reports it. An unsafe
    sandbox does not stop the server: code runs are refused (students are told) and health says why."""
    from sandbox import KernelPool, SandboxError
    run_dir = settings.data_dir / "kernels"
    run_dir.mkdir(parents=True, exist_ok=True)
    pool = KernelPool(settings.sandbox, run_dir)
    try:
        pool.start()
    except SandboxError as exc:
        click.echo(f"WARNING: the code sandbox is not available: {exc}", err=True)
    return pool


def register(main: click.Group) -> None:
    main.add_command(serve)
