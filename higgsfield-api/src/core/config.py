"""The one settings object: environment variables first, then the repository's `.env`. What each
setting means is in docs/configuration.md."""

import json
from contextlib import suppress
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import quote

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICE_DIR = Path(__file__).resolve().parents[2]  # higgsfield-api/
REPO_DIR = SERVICE_DIR.parent
# The v2 model path of each API model (HF_V2_MODELS overrides); Higgsfield's docs name none for turbo.
DEFAULT_V2_MODELS: dict[str, str] = {
    "standard": "higgsfield-ai/dop/standard",
    "lite": "higgsfield-ai/dop/preview",
}
API_MODELS = ("lite", "standard", "turbo")
SANDBOX_PREFIX = "/sandbox"
SANDBOX_CREDENTIAL = "sandbox"
# The account of HF_API_KEY/HF_API_SECRET, and of the sandbox without SANDBOX_ACCOUNTS; migration
# 0013 gives this name to the tasks sent before accounts existed.
SHORTHAND_ACCOUNT = "default"
ACCOUNT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"

MIB = 1024 * 1024
MIN_ADMIN_TOKEN_LENGTH = 32
# The placeholders of .env.example: a copy of that file must never run with them as secrets.
EXAMPLE_SECRETS = frozenset({"change-me"})


def _seconds_or_iso(value: object) -> object:
    """Durations as seconds ("3600", "0.5") or ISO 8601 ("PT6H", "P1D")."""
    if isinstance(value, str):
        with suppress(ValueError):
            return timedelta(seconds=float(value))
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]
AccountName = Annotated[str, StringConstraints(pattern=ACCOUNT_NAME_PATTERN)]


def _json_list(value: object) -> object:
    """HF_ACCOUNTS as the environment gives it: JSON text (a bad one is a one-line error too)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(
                'must be a JSON list of accounts: [{"name": ..., "key": ..., "secret": ...}]'
            ) from None
    return value


def _sandbox_accounts(value: object) -> object:
    """SANDBOX_ACCOUNTS="a:2,b:3": account names and their caps."""
    if not isinstance(value, str):
        return value
    accounts: dict[str, object] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, _, cap = entry.partition(":")
        if name.strip() in accounts:
            raise ValueError(f"names the account {name.strip()!r} twice")
        accounts[name.strip()] = cap.strip() or None
    return accounts


def reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


class Account(BaseModel):
    """One Higgsfield account: an entry of HF_ACCOUNTS (`api_version` and `max_concurrency` default
    to HF_API_VERSION and HF_MAX_CONCURRENCY), the HF_API_KEY shorthand, or a sandbox account.
    A `retired` account gets no new task; the tasks it has are still followed to their end."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: AccountName
    key: SecretStr
    secret: SecretStr
    api_version: Literal["v1", "v2"] | None = None
    max_concurrency: int | None = Field(None, ge=1)
    retired: bool = False

    @field_validator("key", "secret")
    @classmethod
    def _set(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @property
    def cap(self) -> int:
        assert self.max_concurrency is not None  # noqa: S101 - Settings.accounts fills it in
        return self.max_concurrency

    @property
    def version(self) -> str:
        assert self.api_version is not None  # noqa: S101 - Settings.accounts fills it in
        return self.api_version


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_DIR / ".env",
        env_ignore_empty=True,
        extra="ignore",
        # A refused value may be a secret (a short ADMIN_TOKEN, a DB password): never echo it.
        hide_input_in_errors=True,
    )

    # Database
    database_url: str | None = None
    db_host: str | None = None
    db_port: int = Field(3306, ge=1, le=65535)
    db_socket: str | None = None
    db_user: str = "root"
    db_password: SecretStr = SecretStr("")
    db_name: str = "higgsfield"
    sqlite_path: Path = SERVICE_DIR / "data" / "higgsfield.sqlite3"
    blob_dir: Path = SERVICE_DIR / "data" / "blobs"
    # A blob no task needs is swept once it is this old (a create writes its blob before its row).
    blob_orphan_grace: Duration = timedelta(minutes=15)
    blob_s3_bucket: str | None = None
    blob_s3_prefix: str = ""
    blob_s3_endpoint_url: str | None = None
    blob_s3_region: str | None = None
    blob_s3_access_key_id: SecretStr | None = None
    blob_s3_secret_access_key: SecretStr | None = None

    # Copies of the outputs (src/outputs/): each completed task's video and thumbnail, kept in the
    # blob store and served by the gateway; OUTPUT_RETENTION_DAYS=0 keeps them for ever.
    output_copy: bool = True
    output_retention_days: int = Field(30, ge=0)
    output_max_bytes: int = Field(512 * MIB, ge=1)
    output_timeout_seconds: float = Field(600.0, gt=0)  # one download and its store, whole
    output_concurrency: int = Field(2, ge=1)  # downloads at once, per process

    # Secrets
    admin_token: SecretStr | None = None
    uuid_test_check: SecretStr | None = None

    # Upstream
    hf_api_key: SecretStr | None = None
    hf_api_secret: SecretStr | None = None
    hf_base_url: str = "https://platform.higgsfield.ai"
    # The generation of Higgsfield's API new tasks are sent with; tasks already sent keep theirs.
    hf_api_version: Literal["v1", "v2"] = "v2"
    hf_v2_models: dict[str, str] = Field(default_factory=dict)
    hf_timeout_seconds: float = Field(30.0, gt=0)
    # A status read's own timeout: the poller's claim on a task being read lasts this plus a margin.
    hf_status_timeout_seconds: float = Field(5.0, gt=0)
    hf_max_concurrency: int = Field(4, ge=1)
    # Several accounts (a JSON list of `Account`s); instead of HF_API_KEY/HF_API_SECRET.
    hf_accounts: Annotated[list[Account] | None, NoDecode, BeforeValidator(_json_list)] = None
    # A paused account (Higgsfield answered 401 or 403) is tried again after this long.
    hf_account_pause_seconds: float = Field(300.0, gt=0)

    # Scheduling
    poll_interval_seconds: float = Field(10.0, gt=0)
    submit_interval_seconds: float | None = Field(None, gt=0)
    motions_refresh_seconds: float = Field(3600.0, gt=0)
    lease_seconds: float = Field(120.0, gt=0)
    poll_batch_size: int = Field(500, ge=1)
    poll_concurrency: int = Field(100, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    task_submit_deadline: Duration = timedelta(hours=24)
    task_run_deadline: Duration = timedelta(hours=6)

    # Callbacks to clients (Standard Webhooks signatures)
    callback_timeout_seconds: float = Field(10.0, gt=0)
    callback_retry_window: Duration = timedelta(hours=24)  # keep retrying at least this long
    callback_retry_max_seconds: float = Field(3600.0, gt=0)  # the longest wait between two attempts
    idempotency_ttl: Duration = timedelta(hours=24)
    callback_allow_private: bool = False  # allow callback URLs on private/local addresses

    # Higgsfield webhooks (optional): both set = submissions ask Higgsfield to call us back
    public_base_url: str | None = None
    hf_webhook_secret: SecretStr | None = None

    # Limits
    rate_limit_per_minute: int = Field(60, ge=1)
    login_max_failures: int = Field(5, ge=1)
    login_failure_window: Duration = timedelta(minutes=15)

    # HTTP server
    # Loopback by default (the Docker image sets 0.0.0.0): /metrics and the sandbox are not for all.
    host: str = "127.0.0.1"
    port: int = Field(8018, ge=0, le=65535)
    web_concurrency: int = Field(1, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    prometheus_multiproc_dir: Path | None = None
    max_image_bytes: int = Field(10 * MIB, ge=1)
    upload_memory_bytes: int = Field(16 * MIB, ge=1)

    # Sandbox upstream (used only without Higgsfield credentials)
    sandbox_job_seconds: float = Field(6.0, ge=0)
    # "a:2,b:3": the sandbox runs these accounts, each with its cap (Higgsfield's 400 past it).
    sandbox_accounts: Annotated[
        dict[AccountName, Annotated[int, Field(ge=1)]] | None, NoDecode, BeforeValidator(_sandbox_accounts)
    ] = None

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        """Unset is allowed (admin calls answer 503); a guessable token is not."""
        token = reveal(value)
        if token is None:
            return value
        if token.strip() in EXAMPLE_SECRETS:
            raise ValueError(
                "ADMIN_TOKEN is the placeholder from .env.example; set a random one "
                "(`python -m src.cli init-env` writes a fresh .env)"
            )
        if len(token.strip()) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters long")
        return value

    @model_validator(mode="after")
    def _one_form_of_credentials(self) -> Self:
        if bool(self.hf_api_key) != bool(self.hf_api_secret):
            raise ValueError(
                "HF_API_KEY and HF_API_SECRET must be set together (or both left unset for the sandbox)"
            )
        if self.hf_accounts is not None and self.hf_api_key:
            raise ValueError("set either HF_ACCOUNTS or HF_API_KEY/HF_API_SECRET, not both")
        if self.hf_accounts is not None:
            if not self.hf_accounts:
                raise ValueError("HF_ACCOUNTS is an empty list: name at least one account")
            names = [account.name for account in self.hf_accounts]
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"HF_ACCOUNTS names {', '.join(twice)} more than once")
            if all(account.retired for account in self.hf_accounts):
                raise ValueError("HF_ACCOUNTS has only retired accounts: no new task could be sent")
        return self

    @field_validator("hf_v2_models")
    @classmethod
    def _v2_models_are_api_models(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(API_MODELS))
        if unknown:
            raise ValueError(f"HF_V2_MODELS names {unknown}; the API's models are {', '.join(API_MODELS)}")
        return value

    @property
    def v2_models(self) -> dict[str, str]:
        merged = {**DEFAULT_V2_MODELS, **self.hf_v2_models}
        return {name: path.strip().strip("/") for name, path in merged.items() if path.strip().strip("/")}

    @property
    def offered_models(self) -> tuple[str, ...]:
        """The API's model names a new task may ask for: those every account's generation offers,
        as any account may send it."""
        if "v2" not in self.api_versions:
            return API_MODELS
        return tuple(name for name in API_MODELS if name in self.v2_models)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sandbox(self) -> bool:
        """No Higgsfield credentials: talk to the built-in sandbox instead."""
        return not (self.hf_api_key and self.hf_api_secret) and not self.hf_accounts

    @property
    def accounts(self) -> tuple[Account, ...]:
        """Every account, in the order configured, each with its generation and cap filled in."""
        defaults = {"api_version": self.hf_api_version, "max_concurrency": self.hf_max_concurrency}
        if self.hf_accounts:
            given = self.hf_accounts
        elif not self.sandbox:
            given = [Account(name=SHORTHAND_ACCOUNT, key=self.hf_api_key, secret=self.hf_api_secret)]  # type: ignore[arg-type]
        elif self.sandbox_accounts:
            given = [
                Account(
                    name=name,
                    key=SecretStr(f"{SANDBOX_CREDENTIAL}-{name}"),
                    secret=SecretStr(SANDBOX_CREDENTIAL),
                    max_concurrency=cap,
                )
                for name, cap in self.sandbox_accounts.items()
            ]
        else:
            credential = SecretStr(SANDBOX_CREDENTIAL)
            given = [Account(name=SHORTHAND_ACCOUNT, key=credential, secret=credential)]
        return tuple(
            account.model_copy(update={k: v for k, v in defaults.items() if getattr(account, k) is None})
            for account in given
        )

    @property
    def api_versions(self) -> frozenset[str]:
        """The generations new tasks may be sent with (those of the accounts that take new tasks)."""
        return frozenset(account.version for account in self.accounts if not account.retired)

    @property
    def catalog_is_local(self) -> bool:
        """The motion catalog is the built-in list: the sandbox serves it, and v2 has no catalog."""
        return self.sandbox or "v1" not in self.api_versions

    @property
    def upstream_base_url(self) -> str:
        if self.sandbox:
            return f"http://127.0.0.1:{self.port}{SANDBOX_PREFIX}"
        return self.hf_base_url.rstrip("/")

    @property
    def max_concurrency(self) -> int:
        """Tasks with Higgsfield at once, all accounts together."""
        return sum(account.cap for account in self.accounts)

    @property
    def hf_webhook_url(self) -> str | None:
        if self.public_base_url and self.hf_webhook_secret:
            return self.public_base_url.rstrip("/") + "/api/higgsfield/webhook"
        return None

    @property
    def submit_interval(self) -> float:
        return self.submit_interval_seconds or self.poll_interval_seconds

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.db_socket or self.db_host:
            auth = f"{quote(self.db_user, safe='')}:{quote(self.db_password.get_secret_value(), safe='')}"
            if self.db_socket:
                return f"mysql://{auth}@localhost/{self.db_name}?unix_socket={quote(self.db_socket)}&charset=utf8mb4"
            return f"mysql://{auth}@{self.db_host}:{self.db_port}/{self.db_name}?charset=utf8mb4"
        return f"sqlite://{self.sqlite_path}"

    @property
    def db_is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")
