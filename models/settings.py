"""Settings of model retraining and of the runtime model store, read from the environment (prefix ``REIMBURSE_MODEL_``).

Contract: ``get_model_settings()`` builds a fresh ``ModelSettings`` on every call (no cache), so a changed
environment is seen at once; callers that need them often keep the object. The shipped baseline stays in
``models/artefacts``; models trained at run time (from finance corrections) go to ``runtime_dir``.
"""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REIMBURSE_MODEL_", extra="ignore")

    runtime_dir: Path = Path("var/models")  # versioned artefacts trained at run time, and their CURRENT pointer
    # A candidate whose held-out macro-F1 is more than this below the current model's (on the same split) is
    # kept on disk but not promoted.
    max_f1_drop: float = 0.01
    # Sample weight of one finance correction against one synthetic training line.
    correction_weight: float = 3.0
    # Dataset size factor for retraining (1.0 = the shipped recipe; tests use a small one).
    retrain_scale: float = 1.0
    retrain_use_shared: bool = True  # use the optional ../shared extras when present, as `make train` does
    # The in-process scheduler (started with the API when enabled): every interval it retrains when corrections
    # arrived since the current model (or since the last refused attempt).
    retrain_enabled: bool = False
    retrain_interval_hours: float = 24.0
    retrain_min_new_corrections: int = 1
    keep_versions: int = 10  # older runtime artefacts beyond this many are deleted (never the current one)


def get_model_settings() -> ModelSettings:
    return ModelSettings()
