"""Settings of the API, the database and OA delivery, read from the environment (prefix ``REIMBURSE_``).

``DATABASE_URL`` is honoured too (``REIMBURSE_DATABASE_URL`` wins when both are set). Default: a SQLite file
``./var/reimburse.db``; PostgreSQL with ``postgresql+psycopg://user@host/db``. The company's legal name and USCC
come from the organisation file (``org_file``, loaded into the database at start-up), not from here.
The pipeline's own settings stay in ``pipeline.config``.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REIMBURSE_", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///var/reimburse.db",
                              validation_alias=AliasChoices("REIMBURSE_DATABASE_URL", "DATABASE_URL"))
    database_echo: bool = False
    storage_dir: Path = Path("var/files")
    org_file: Path | None = Path("samples/org/company.yaml")  # loaded at start-up when the file exists
    # The company policy (pipeline.policy), validated at start-up: a bad file stops the app naming the rule.
    # Empty (REIMBURSE_POLICY_FILE=""): no policy, only the integrity rules R1/R3/R4/R5 run (api.policy_service).
    policy_file: Path | None = Path("samples/policy/policy.yaml")

    @field_validator("policy_file", mode="before")
    @classmethod
    def _no_policy(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    # Uploads: one request may carry up to max_upload_files files of up to max_upload_bytes each.
    max_upload_bytes: int = 30 * 1024 * 1024
    max_upload_files: int = 20

    # Delivery to OA.
    oa_adapter: str = "generic_webhook"
    oa_webhook_url: str | None = None
    oa_webhook_secret: str | None = None  # Standard Webhooks secret, "whsec_<base64>"
    oa_callback_secret: str | None = None  # secret the OA signs its callbacks with, "whsec_<base64>"
    oa_timeout_seconds: float = 10.0
    # Any adapter (api.oa_config): its options as JSON (REIMBURSE_OA_OPTIONS) over those of a YAML file
    # (oa_config_file: {adapter, mapping, options}), and the form's field mapping (oa_mapping_file).
    oa_options: dict[str, Any] = {}
    oa_config_file: Path | None = None
    oa_mapping_file: Path | None = None
    # Reconciliation with the OA (api.reconcile): a thread started with the app when oa_reconcile_enabled.
    oa_reconcile_enabled: bool = False
    oa_reconcile_interval_seconds: float = 300.0
    oa_reconcile_after_minutes: float = 30.0  # claims waiting this long since delivery are asked about
    oa_reconcile_batch_size: int = 200

    # Where slow jobs (OCR) run: "inprocess" (embedded default) or "celery" (workers behind a broker).
    jobs_backend: Literal["inprocess", "celery"] = "inprocess"
    celery_broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    celery_result_backend: str = "redis://127.0.0.1:6379/0"
    celery_timeout_seconds: float = 120.0

    # The outbox relay (an in-process thread started with the app when relay_enabled).
    relay_enabled: bool = False
    relay_poll_seconds: float = 2.0
    relay_batch_size: int = 20
    relay_max_attempts: int = 8
    relay_backoff_base_seconds: float = 2.0
    relay_backoff_max_seconds: float = 3600.0
    relay_lease_seconds: float = 300.0  # a message stuck in "sending" this long is picked up again
    relay_workers: int = 1  # relay threads in this process (several processes may relay too)

    # Voucher exports for 用友 / 金蝶 (api.exports): the account credited with what is owed to the employee,
    # the 凭证字 and the 制单人 written on every voucher.
    voucher_credit_account: str = "2241"
    voucher_credit_account_name: str = "其他应付款"
    voucher_word: str = "记"
    voucher_preparer: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
