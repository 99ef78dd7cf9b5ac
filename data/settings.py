"""Settings read from the environment (``OUTCOMES_*``) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).resolve().parent
DEFAULT_DATABASE = DATA_DIR / "outcomes.db"


class Settings(BaseSettings):
    """Where the records live and how long a signed-in session may idle.

    ``OUTCOMES_DATABASE_URL`` chooses the database: an embedded SQLite file under ``data/``
    by default (git-ignored), or a PostgreSQL server, e.g.
    ``postgresql+psycopg://outcomes@db.clinic.example/outcomes``.
    """

    model_config = SettingsConfigDict(env_prefix="OUTCOMES_", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_DATABASE}"
    session_idle_minutes: float = 30
    # Behind the reverse proxy of docs/deployment.md every browser arrives from the proxy's
    # address; the proxy writes the browser's own into X-Forwarded-For (replacing whatever a
    # browser sent). Trust it only behind such a proxy: otherwise anyone could pick the
    # address the sign-in throttle counts.
    trust_forwarded_for: bool = False
    # Where patients and staff open the app: the start of every link a message carries
    # (issue 14). Behind the proxy of docs/deployment.md, its public https address.
    public_url: str = "http://127.0.0.1:8501"

    # --- Sending messages (issue 14: data/notify/worker.py and data/notify/channels/) -------
    # How messages leave: "local" (the embedded default: nothing leaves the machine, each
    # message is kept as sent in the app's "messages sent"), "smtp" (e-mail through the SMTP
    # server below; texts stay local, for a clinic without an SMS gateway) or "live" (e-mail
    # by SMTP and texts through the SMS gateway).
    messages_transport: Literal["local", "smtp", "live"] = "local"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str | None = None
    # SecretStr: never shown by repr() or a log of the settings.
    smtp_password: SecretStr | None = None
    smtp_from: str = "outcomes@localhost"
    smtp_timeout_seconds: float = 10
    # A CA certificate (PEM file) to trust for STARTTLS besides the system's: a clinic's own
    # mail relay signed by its own authority. The server's name is always checked.
    smtp_ca_file: str | None = None
    # Twilio's Messages API, or any gateway with its shape.
    sms_base_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: SecretStr | None = None
    sms_from: str = ""
    sms_timeout_seconds: float = 10
    # Messages a worker takes (leases) at a time; a killed worker's lease runs out after
    # messages_lease_seconds and another worker sends them.
    messages_batch_size: int = Field(default=20, ge=1, le=1000)
    messages_lease_seconds: float = Field(default=120, gt=0)
    # A message the server refused for now is tried again after 1, 2, 4, ... minutes (at most
    # messages_retry_cap_seconds apart) and given up after messages_max_attempts refusals. A
    # server that cannot be reached at all is tried again for as long as the message lives.
    messages_max_attempts: int = Field(default=8, ge=1)
    messages_retry_base_seconds: float = Field(default=60, gt=0)
    messages_retry_cap_seconds: float = Field(default=900, gt=0)
    # Seconds a long-running worker (`outcomes worker`) sleeps between passes.
    worker_interval_seconds: float = Field(default=30, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
