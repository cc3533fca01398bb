"""One settings object, read once from the environment."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class Settings(BaseSettings):
    """Service configuration; every field maps to an environment variable."""

    # Only the documented variable names (aliases) are read, never bare field names like HOME.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    admin_token: SecretStr | None = Field(default=None, alias="POSTBACK_ADMIN_TOKEN")
    timezone: str = Field(default="Asia/Kuala_Lumpur", alias="POSTBACK_TIMEZONE")
    home: Path = Field(default=Path("data"), alias="POSTBACK_HOME")
    # Where acknowledged postbacks wait while the database is away (default <home>/spool).
    spool_dir: Path | None = Field(default=None, alias="POSTBACK_SPOOL_DIR")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    debug: bool = Field(default=False, alias="DEBUG")
    environment: Literal["development", "production"] = Field(
        default="development", alias="POSTBACK_ENV"
    )
    host: str = Field(default="127.0.0.1", alias="POSTBACK_HOST")
    # Cloud Run (and most container platforms) name the port in PORT.
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("POSTBACK_PORT", "PORT")
    )
    # Set by Cloud Run in every instance: logs become Cloud Logging's JSON, and the service
    # listens on every interface unless POSTBACK_HOST says otherwise.
    cloud_run_service: str | None = Field(default=None, alias="K_SERVICE")
    # The Google Cloud project, for the trace field of log lines (Cloud Logging links them to
    # the request's trace when it is set).
    gcp_project: str | None = Field(
        default=None, validation_alias=AliasChoices("POSTBACK_GCP_PROJECT", "GOOGLE_CLOUD_PROJECT")
    )
    public_url: str | None = Field(default=None, alias="POSTBACK_PUBLIC_URL")
    redis_url: SecretStr | None = Field(default=None, alias="REDIS_URL")
    # Browsers on these origins may call the API (comma-separated); unset, CORS stays off.
    cors_origins: str | None = Field(default=None, alias="POSTBACK_CORS_ORIGINS")

    # Write path: a batch commits as soon as the previous one is done, up to this size.
    batch_max_size: int = Field(default=500, ge=1, le=10_000, alias="POSTBACK_BATCH_MAX_SIZE")
    batch_queue_limit: int = Field(default=20_000, ge=1, alias="POSTBACK_BATCH_QUEUE_LIMIT")
    write_pool_size: int = Field(default=2, ge=1, le=32, alias="POSTBACK_WRITE_POOL_SIZE")
    read_pool_size: int = Field(default=5, ge=1, le=64, alias="POSTBACK_READ_POOL_SIZE")
    max_body_bytes: int = Field(default=65_536, ge=1024, alias="POSTBACK_MAX_BODY_BYTES")
    max_query_bytes: int = Field(default=16_384, ge=256, alias="POSTBACK_MAX_QUERY_BYTES")
    strict_tokens: bool = Field(default=False, alias="POSTBACK_STRICT_TOKENS")
    tenant_cache_seconds: float = Field(default=5.0, ge=0, alias="POSTBACK_TENANT_CACHE_SECONDS")
    # Retention: how often each instance tries to run the cleanup (one at a time, by an
    # advisory lock); 0 leaves it to `postback cleanup` from cron or Cloud Scheduler.
    cleanup_interval: int = Field(default=3600, ge=0, alias="POSTBACK_CLEANUP_INTERVAL")
    # The audit log (who changed what) keeps entries this many days; its pruning runs with
    # the cleanup's interval.
    audit_days: int = Field(default=730, ge=1, alias="POSTBACK_AUDIT_DAYS")
    # History: how many days a conversion's first row (without its payload) and the rollups
    # are kept, after the partner's retention days have removed the detail.
    history_days: int = Field(default=400, ge=1, le=36_500, alias="POSTBACK_HISTORY_DAYS")
    # Natural-language questions: an OpenAI-compatible endpoint (Vertex AI, Ollama, vLLM...)
    # asked for SQL when the offline engine cannot parse a question; unset, no LLM is used.
    nlq_llm_base_url: str | None = Field(default=None, alias="NLQ_LLM_BASE_URL")
    nlq_llm_model: str = Field(default="gpt-4o-mini", alias="NLQ_LLM_MODEL")
    nlq_llm_api_key: SecretStr | None = Field(default=None, alias="NLQ_LLM_API_KEY")
    # "key": NLQ_LLM_API_KEY as the bearer token; "google": the service account's access token
    # from the metadata server (Vertex AI from Cloud Run, no key to keep).
    nlq_llm_auth: Literal["key", "google"] = Field(default="key", alias="NLQ_LLM_AUTH")
    nlq_llm_timeout: float = Field(default=20.0, gt=0, le=300, alias="NLQ_LLM_TIMEOUT")
    # Rollups: how often pending deltas are folded (readers are exact either way).
    compaction_interval: float = Field(default=5.0, ge=0, alias="POSTBACK_COMPACTION_INTERVAL")
    # Anomaly scans: how often each instance tries one (one at a time, by an advisory lock;
    # 0 leaves it to `postback anomalies scan`), and how many hours a conversion-time hour is
    # given for its late postbacks before it is judged.
    anomaly_interval: float = Field(default=60.0, ge=0, alias="POSTBACK_ANOMALY_INTERVAL")
    anomaly_settle_hours: int = Field(default=2, ge=0, le=48, alias="POSTBACK_ANOMALY_SETTLE_HOURS")
    # Scheduled reports: how often each instance looks for due ones (claimed with SKIP LOCKED,
    # so each is sent once; 0 leaves it to `postback reports send-due`).
    report_interval: float = Field(default=60.0, ge=0, alias="POSTBACK_REPORT_INTERVAL")
    # Forwarding to partners: retries after the first attempt (seconds, comma-separated; the
    # first attempt is at once), each attempt's time limit, and whether targets on this
    # network (loopback, private, link-local) are allowed (on-prem installs, tests).
    forward_retry_seconds: str = Field(
        default="10,60,600,3600,21600,86400", alias="POSTBACK_FORWARD_RETRY_SECONDS"
    )
    forward_timeout: float = Field(default=10.0, gt=0, le=120, alias="POSTBACK_FORWARD_TIMEOUT")
    forward_allow_private: bool = Field(default=False, alias="POSTBACK_FORWARD_ALLOW_PRIVATE")
    # Attempts this instance sends at once; 0: this instance sends none (others do).
    forward_concurrency: int = Field(default=16, ge=0, le=512, alias="POSTBACK_FORWARD_CONCURRENCY")
    forward_poll_interval: float = Field(
        default=1.0, gt=0, le=60, alias="POSTBACK_FORWARD_POLL_INTERVAL"
    )
    # A forward is flagged as failing once this many of its deliveries in a row died.
    forward_flag_after: int = Field(default=3, ge=1, alias="POSTBACK_FORWARD_FLAG_AFTER")
    # Email alert channels (postback/alerting): the SMTP server they send through, STARTTLS
    # after connecting (port 587) unless turned off, a login when a user is set, and the
    # From address. Unset host or From: email channels fail with that said.
    smtp_host: str | None = Field(default=None, alias="POSTBACK_SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65535, alias="POSTBACK_SMTP_PORT")
    smtp_user: str | None = Field(default=None, alias="POSTBACK_SMTP_USER")
    smtp_password: SecretStr | None = Field(default=None, alias="POSTBACK_SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=True, alias="POSTBACK_SMTP_STARTTLS")
    smtp_from: str | None = Field(default=None, alias="POSTBACK_SMTP_FROM")
    smtp_timeout: float = Field(default=20.0, gt=0, le=120, alias="POSTBACK_SMTP_TIMEOUT")
    # Browser sessions (postback/web/session.py): signed out after this long in any case, and
    # after this long without a request.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90, alias="POSTBACK_SESSION_HOURS")
    session_idle_minutes: float = Field(
        default=60.0, gt=0, le=24 * 60 * 90, alias="POSTBACK_SESSION_IDLE_MINUTES"
    )
    # Warehouse sync (postback/sync): where every instance tries to copy what changed (one at a
    # time, by an advisory lock), and how often; unset, nothing is synced on a schedule.
    sync_to: str | None = Field(default=None, alias="POSTBACK_SYNC_TO")
    sync_interval: float = Field(default=900.0, ge=0, alias="POSTBACK_SYNC_INTERVAL")
    # Sign-in with an OpenID Connect provider (Google Workspace: https://accounts.google.com);
    # unset issuer, it is off. Only verified emails of these domains (comma-separated) sign in;
    # with OIDC_CREATE_USERS, a first sign-in from one of them creates an analyst.
    oidc_issuer: str | None = Field(default=None, alias="POSTBACK_OIDC_ISSUER")
    oidc_client_id: str | None = Field(default=None, alias="POSTBACK_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(default=None, alias="POSTBACK_OIDC_CLIENT_SECRET")
    oidc_allowed_domains: str | None = Field(default=None, alias="POSTBACK_OIDC_ALLOWED_DOMAINS")
    oidc_create_users: bool = Field(default=False, alias="POSTBACK_OIDC_CREATE_USERS")
    oidc_timeout: float = Field(default=10.0, gt=0, le=60, alias="POSTBACK_OIDC_TIMEOUT")

    @field_validator("forward_retry_seconds")
    @classmethod
    def _retry_schedule(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            delays = [-1.0]
        if any(d < 0 or d != d or d == float("inf") for d in delays):
            raise ValueError(
                f"POSTBACK_FORWARD_RETRY_SECONDS: {value!r} is not a comma-separated list of "
                "seconds such as 10,60,600 (empty: no retries)"
            )
        return ",".join(format(d, "g") for d in delays)

    @field_validator("sync_to")
    @classmethod
    def _sync_destination(cls, value: str | None) -> str | None:
        from postback.sync.schemas import Destination

        if value is None or not value.strip():
            return None
        try:
            return Destination.parse(value).name
        except ValueError as exc:
            raise ValueError(f"POSTBACK_SYNC_TO: {exc}") from exc

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        if value is None:
            return None
        origins = [origin.strip() for origin in value.split(",") if origin.strip()]
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"POSTBACK_CORS_ORIGINS: {origin!r} is not an origin such as "
                    "https://dashboard.example.com (scheme, host and port only, no path)"
                )
        return ",".join(origins) or None

    @field_validator("nlq_llm_base_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://\S+", value):
            raise ValueError(
                f"NLQ_LLM_BASE_URL: {value!r} is not an http(s) URL such as "
                "http://127.0.0.1:11434/v1"
            )
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _oidc_issuer(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s?#]+", value):
            raise ValueError(
                f"POSTBACK_OIDC_ISSUER: {value!r} is not an issuer URL such as "
                "https://accounts.google.com"
            )
        return value

    @field_validator("oidc_allowed_domains")
    @classmethod
    def _oidc_domains(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domains = [d.strip().lower().lstrip("@") for d in value.split(",") if d.strip()]
        for domain in domains:
            if not DOMAIN.fullmatch(domain):
                raise ValueError(
                    f"POSTBACK_OIDC_ALLOWED_DOMAINS: {domain!r} is not an email domain such "
                    "as example.com"
                )
        return ",".join(domains) or None

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer is None:
            return self
        missing = [
            name
            for name, value in (
                ("POSTBACK_OIDC_CLIENT_ID", self.oidc_client_id),
                ("POSTBACK_OIDC_CLIENT_SECRET", self.oidc_client_secret),
                ("POSTBACK_OIDC_ALLOWED_DOMAINS", self.oidc_allowed_domains),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                "POSTBACK_OIDC_ISSUER is set, so " + ", ".join(missing) + " must be set too "
                "(the allowed domains say whose Google accounts may sign in)"
            )
        return self

    @property
    def oidc_domains(self) -> tuple[str, ...]:
        return tuple(self.oidc_allowed_domains.split(",")) if self.oidc_allowed_domains else ()

    @model_validator(mode="after")
    def _listen_everywhere_on_cloud_run(self) -> Settings:
        if self.cloud_run_service and "host" not in self.model_fields_set:
            self.host = "0.0.0.0"
        return self

    @property
    def json_logs(self) -> bool:
        """Log lines as JSON (Cloud Logging's fields) in production and on Cloud Run."""
        return self.environment == "production" or self.cloud_run_service is not None

    @model_validator(mode="after")
    def _secure_outside_development(self) -> Settings:
        if self.environment == "production":
            if self.admin_token is None or len(self.admin_token.get_secret_value()) < 24:
                raise ValueError(
                    "POSTBACK_ADMIN_TOKEN must be set to a random value of at least 24 "
                    "characters when POSTBACK_ENV=production"
                )
            if self.debug:
                raise ValueError("DEBUG must be off when POSTBACK_ENV=production")
        return self

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def cors_origin_list(self) -> list[str]:
        return self.cors_origins.split(",") if self.cors_origins else []

    @property
    def spool_path(self) -> Path:
        return (self.spool_dir or self.home_dir / "spool").expanduser().resolve()

    @property
    def forward_retry_delays(self) -> tuple[float, ...]:
        return tuple(float(d) for d in self.forward_retry_seconds.split(",") if d)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def public_summary(self) -> dict[str, object]:
        """Settings safe to show: secrets reduced to whether they are set."""
        return {
            "database": "external" if self.database_url else "embedded",
            "admin_token_source": "environment" if self.admin_token else "data folder",
            "timezone": self.timezone,
            "home": str(self.home_dir),
            "spool_dir": str(self.spool_path),
            "environment": self.environment,
            "debug": self.debug,
            "log_level": self.log_level,
            "public_url": self.public_url,
            "batch_max_size": self.batch_max_size,
            "max_body_bytes": self.max_body_bytes,
            "strict_tokens": self.strict_tokens,
            "cleanup_interval": self.cleanup_interval,
            "audit_days": self.audit_days,
            "history_days": self.history_days,
            "rate_limits": "redis" if self.redis_url else "in-process",
            "cors_origins": self.cors_origin_list,
            "forwarding": {
                "retry_seconds": self.forward_retry_delays,
                "timeout": self.forward_timeout,
                "allow_private": self.forward_allow_private,
                "concurrency": self.forward_concurrency,
            },
            "smtp": {
                "host": self.smtp_host,
                "port": self.smtp_port,
                "starttls": self.smtp_starttls,
                "from": self.smtp_from,
            }
            if self.smtp_host
            else None,
            "sync": {"to": self.sync_to, "interval": self.sync_interval} if self.sync_to else None,
            "oidc": {"issuer": self.oidc_issuer, "allowed_domains": self.oidc_domains}
            if self.oidc_issuer
            else None,
            "nlq_llm": {"model": self.nlq_llm_model} if self.nlq_llm_base_url else None,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
