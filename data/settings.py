"""Settings read from the environment (``OUTCOMES_*``) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
