"""`python -m src.cli {init-env,migrate,serve}`: a configuration error ends the command with one
line naming the setting, not a traceback."""

import argparse
import asyncio
import atexit
import os
import secrets
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from pydantic import ValidationError

from src.core.config import REPO_DIR, SERVICE_DIR, Settings

ENV_FILE = REPO_DIR / ".env"
ENV_EXAMPLE = REPO_DIR / ".env.example"
DB_SETTINGS = "DATABASE_URL / DB_* settings"
MYSQL_UNKNOWN_DATABASE = 1049  # ER_BAD_DB_ERROR: the server answered, the database is not there
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def load_settings_or_exit() -> Settings:
    try:
        return Settings(_env_file=os.environ.get("ENV_FILE") or ENV_FILE)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        sys.exit(f"Configuration error: {problems}")


def init_env(env_file: Path = ENV_FILE, example: Path = ENV_EXAMPLE) -> None:
    """Writes .env from .env.example with fresh secrets, once; an existing .env is left alone."""
    if env_file.exists():
        print(f"Using the existing {env_file.name}")
        return
    values = {"ADMIN_TOKEN": secrets.token_urlsafe(32), "UUID_TEST_CHECK": str(uuid.uuid4())}
    lines = []
    for line in example.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        lines.append(f"{key}={values[key]}" if key in values and "=" in line else line)
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    print(f"Wrote {env_file.name} with fresh secrets:")
    print("\n".join(f"  {key}={value}" for key, value in values.items()))


def check_database(settings: Settings) -> None:
    """MySQL/MariaDB: stops with one line when the server cannot be reached, and says so apart
    when it answers that the database does not exist (the service never creates it)."""
    if settings.db_is_sqlite:
        return  # the file is made on first use
    import pymysql
    from tortoise.backends.base.config_generator import expand_db_url

    found = expand_db_url(settings.db_url)["credentials"]
    server = found.get("unix_socket") or f"{found.get('host')}:{found.get('port')}"
    name = found.get("database")
    try:
        pymysql.connect(
            host=found.get("host"),
            port=int(found.get("port") or 3306),
            user=found.get("user"),
            password=found.get("password") or "",
            database=name,
            unix_socket=found.get("unix_socket"),
            connect_timeout=10,
        ).close()
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] == MYSQL_UNKNOWN_DATABASE:
            sys.exit(
                f"Database error ({DB_SETTINGS}): the database {name!r} does not exist on {server}; "
                f"create it first: CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        sys.exit(f"Database error ({DB_SETTINGS}, database {name!r} on {server}): {exc}")


def migrate(settings: Settings) -> None:
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as apply_migrations

    from src.db.orm import tortoise_config

    async def run() -> None:
        try:
            await apply_migrations(config=tortoise_config(settings))
        finally:
            await Tortoise.close_connections()

    check_database(settings)
    try:
        asyncio.run(run())
    except Exception as exc:  # one clear line for the operator, not a traceback
        sys.exit(f"Migration failed ({DB_SETTINGS}, database {settings.db_url.split('@')[-1]}): {exc}")
    print("Database schema is up to date")


def serve(settings: Settings) -> None:
    import uvicorn

    from src.core.logs import logging_config

    check_database(settings)
    # prometheus-client's multiprocess mode, set before uvicorn starts the workers: prometheus-client
    # picks its storage from the environment when first imported. Even an empty value switches it.
    os.environ.pop(MULTIPROC_ENV, None)
    if configured := settings.prometheus_multiproc_dir:
        configured.mkdir(parents=True, exist_ok=True)
        for stale in configured.glob("*.db"):  # a previous run's counts would add to this one's
            stale.unlink()
        os.environ[MULTIPROC_ENV] = str(configured)
    elif settings.web_concurrency > 1:  # else one worker keeps its metrics in its memory
        path = tempfile.mkdtemp(prefix="higgsfield-metrics-")
        os.environ[MULTIPROC_ENV] = path
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    uvicorn.run(
        "src.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        proxy_headers=True,
        app_dir=str(SERVICE_DIR),
        access_log=False,  # the service writes its own access line
        log_config=logging_config(settings.log_level),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m src.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-env", help="write .env from .env.example with fresh secrets")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("serve", help="run the HTTP server")
    args = parser.parse_args(argv)
    if args.command == "init-env":
        init_env()
    else:
        {"migrate": migrate, "serve": serve}[args.command](load_settings_or_exit())


if __name__ == "__main__":
    main()
