"""One typed settings class for the web app, the worker and the CLI."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"  # noqa: S105  (the value refused in production)


class Settings(BaseSettings):
    """Read from CANDOR_* environment variables; embedded defaults need no services."""

    model_config = SettingsConfigDict(env_prefix="CANDOR_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = PLACEHOLDER_SECRET
    data_dir: Path = Path("candor-data")
    # Empty means the embedded default under data_dir (SQLite, kombu's SQLAlchemy transport).
    database_url: str = ""
    broker_url: str = ""
    base_url: str = "http://127.0.0.1:8000"

    # Limits on what panelists and designers may upload.
    max_chunk_bytes: int = 8 * 1024 * 1024
    max_clip_bytes: int = 300 * 1024 * 1024
    max_ad_bytes: int = 500 * 1024 * 1024
    # Panelist session tokens are short-lived.
    session_token_ttl_seconds: int = 4 * 3600
    # The sweeper deletes any clip or chunk older than this, whatever its state.
    clip_ttl_seconds: int = Field(default=30 * 60, ge=1)
    # A clip still uploading with no chunk for this long (the tab closed before "finish") is
    # finished by the periodic job from the chunks that arrived; below clip_ttl_seconds.
    upload_idle_seconds: int = Field(default=120, ge=1)
    # ...and only once its whole session has shown no sign of life for this long: a recorder
    # offline for a while still holds the rest (in its page's memory) and sends it when back.
    # (A session idle for session_token_ttl_seconds, nothing uploading, is "abandoned".)
    session_idle_seconds: int = Field(default=15 * 60, ge=1)
    # A clip in a session whose page said it left (its beacon) waits only this long for a
    # chunk: time enough for a reload to resume and offer a cut-off ad again.
    left_idle_seconds: int = Field(default=30, ge=1)
    sweep_interval_seconds: int = Field(default=60, ge=1)
    # Segments smaller than this are never shown.
    min_cell_size: int = Field(default=10, ge=1)
    # The organisation norm is shown only when at least this many ads have results: quartiles
    # of two ads of one study say nothing about "usual".
    min_norm_ads: int = Field(default=5, ge=2)

    # Panel uploads and the pipeline.
    max_chunks_per_clip: int = Field(default=3600, ge=1)
    # A clip is bounded by its ad (web/clips/bounds.py): at most the ad's duration plus this
    # margin of recording, in chunks of at least 1/clip_max_chunks_per_s s (the recorder's
    # chunkMs is 1000, at least 250), at most clip_max_bitrate_bps on average (the recorder
    # asks for 1 Mbit/s). Beyond it chunks and events are 413 and the worker decodes nothing.
    clip_margin_s: float = Field(default=10.0, ge=0)
    clip_max_chunks_per_s: float = Field(default=4.0, gt=0)
    clip_max_bitrate_bps: int = Field(default=4_000_000, ge=1)
    task_queue: str = "candor"
    # Redis redelivers an unacknowledged task after this; it must exceed the longest analysis.
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=1)
    # A worker's claim on a clip; an expired claim (worker died) can be taken over.
    analysis_lease_seconds: int = Field(default=600, ge=1)
    # A queued clip still not analysed after this is handed to the broker again.
    requeue_after_seconds: int = Field(default=600, ge=1)
    # Rate limits (429 + Retry-After). Counters live in Redis (this URL, else the broker's when
    # it is Redis) or, on one machine without Redis, in data_dir/ratelimits.db.
    rate_limit_url: str = ""
    rate_limit_namespace: str = "candor"
    session_starts_per_client_per_minute: int = Field(default=60, ge=1)
    session_starts_per_integration_per_minute: int = Field(default=600, ge=1)
    erase_attempts_per_client_per_hour: int = Field(default=20, ge=1)
    logins_per_client_per_minute: int = Field(default=30, ge=1)
    # Forwarded headers (X-Forwarded-For, Forwarded, X-Forwarded-Proto) are believed only from
    # these addresses or networks (the TLS proxy's): none by default, so a client reaching the
    # app directly cannot choose the address its limits are counted under (web/proxy.py).
    # Comma-separated or a JSON list: CANDOR_TRUSTED_PROXIES=172.16.0.0/12,10.0.0.5
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Signed respondent ids (web/studies/signing.py): how far ahead an `exp` may lie, and how
    # long the integration page's preview link lasts.
    respondent_signature_max_days: int = Field(default=31, ge=1)
    preview_token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # Per web process: SQLAlchemy pool for PostgreSQL (SQLite ignores these).
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)

    # Where sealed chunks are kept: "local" (under data_dir, one host) or "s3" (any
    # S3-compatible object store, so web nodes and workers can sit on different hosts).
    clip_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str = ""  # empty: AWS S3 itself
    s3_bucket: str = ""
    s3_prefix: str = "clips/"
    s3_region: str = "us-east-1"
    # Empty: boto3's own credential chain (environment, instance role).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Path-style URLs (endpoint/bucket/key): what MinIO, SeaweedFS and Ceph expect by default.
    s3_path_style: bool = True
    # Create the bucket on first use if it is missing (never with versioning).
    s3_create_bucket: bool = False
    # Where ad files (videos, posters, pictures) are kept (web/ad_store.py): empty follows
    # clip_store, so with "s3" every web process serves the same ads from the clips' bucket.
    ad_store: Literal["", "local", "s3"] = ""
    s3_ads_prefix: str = "ads/"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"CANDOR_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from exc
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "CANDOR_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.clip_store == "s3" and not self.s3_bucket:
            raise ValueError("CANDOR_S3_BUCKET must name a bucket when CANDOR_CLIP_STORE=s3")
        if self.ad_store == "s3" and not self.s3_bucket:
            raise ValueError("CANDOR_S3_BUCKET must name a bucket when CANDOR_AD_STORE=s3")
        return self

    @model_validator(mode="after")
    def _idle_before_ttl(self) -> Settings:
        # An idle clip must be finished before the TTL sweeper deletes it as abandoned.
        if self.upload_idle_seconds >= self.clip_ttl_seconds:
            raise ValueError(
                f"CANDOR_UPLOAD_IDLE_SECONDS ({self.upload_idle_seconds}) must be less than "
                f"CANDOR_CLIP_TTL_SECONDS ({self.clip_ttl_seconds})"
            )
        if self.left_idle_seconds >= self.clip_ttl_seconds:
            raise ValueError(
                f"CANDOR_LEFT_IDLE_SECONDS ({self.left_idle_seconds}) must be less than "
                f"CANDOR_CLIP_TTL_SECONDS ({self.clip_ttl_seconds})"
            )
        if self.session_idle_seconds >= self.clip_ttl_seconds:
            raise ValueError(
                f"CANDOR_SESSION_IDLE_SECONDS ({self.session_idle_seconds}) must be less than "
                f"CANDOR_CLIP_TTL_SECONDS ({self.clip_ttl_seconds})"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'candor.db').resolve()}"

    @property
    def engine_options(self) -> dict[str, int]:
        """Pool sizing for server databases; SQLite keeps SQLAlchemy's own defaults."""
        if self.resolved_database_url.startswith("sqlite"):
            return {}
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow}

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.db').resolve()}"

    @property
    def clips_dir(self) -> Path:
        """Where sealed panelist chunks live, briefly, with the local clip store."""
        return self.data_dir / "clips"

    @property
    def ads_dir(self) -> Path:
        return self.data_dir / "ads"
