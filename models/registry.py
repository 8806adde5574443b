"""The runtime model store: versioned artefacts trained from corrections, a quality gate, atomic swap, rollback.

Layout of the store (``ModelSettings.runtime_dir``, default ``var/models``; never the shipped ``models/artefacts``):
``category-<version>.joblib`` with its ``.metrics.json`` and ``.card.md``; ``CURRENT`` (the promoted artefact's
file name, replaced with ``os.replace`` so a reader sees the old or the new name, never a torn one);
``HISTORY.jsonl`` (one JSON line per event: adopt, promote, refuse, rollback); ``.lock`` (an exclusive ``flock``
held while the store changes, so two processes or threads never retrain or swap at once). ``load_model()`` reads
``CURRENT`` on every call, so the running API uses a promoted or rolled-back model from its next request.

Contract:
* ``retrain(examples, ...) -> Outcome``: adopts the shipped model into an empty store first (so there is always a
  version to roll back to), trains a candidate on the base dataset + ``examples`` (``models.train.build``),
  evaluates it and the current model on the same held-out split, writes the candidate's artefact, metrics and card,
  and promotes it unless its held-out macro-F1 (rules + model) is more than ``max_f1_drop`` below the current
  model's (``force=True`` promotes anyway). Same inputs give the same version: retraining on the data of the
  current model changes nothing (status ``unchanged``). A store already locked raises ``StoreBusy``.
* ``promote(version)``, ``rollback(to=None)``: point ``CURRENT`` at a stored version. ``rollback()`` without ``to``
  returns to the version that was current before the current one (repeatable, back to the adopted baseline).
* ``versions()`` lists the stored versions (newest first) with their metrics and status; ``history()`` the events;
  ``current_version()`` the promoted one (``None`` while the store is empty and the shipped model is in use).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from models.category import ARTEFACT_DIR, CURRENT_FILE, artefact_name, load_model
from models.corrections import LabelledExample, examples_hash
from models.evaluation import evaluate
from models.settings import get_model_settings
from models.sources import DEFAULT_SHARED

HISTORY_FILE = "HISTORY.jsonl"
LOCK_FILE = ".lock"


class StoreBusy(RuntimeError):
    """Another retrain or swap holds the store."""


class UnknownVersion(LookupError):
    pass


@dataclass
class Outcome:
    status: str  # promoted | refused | unchanged
    version: str
    previous: str
    macro_f1: float | None = None
    previous_macro_f1: float | None = None  # the previous model on the same held-out split
    max_f1_drop: float | None = None
    corrections: int = 0  # corrections the candidate learnt from
    corrections_reproduced: int | None = None
    seconds: float = 0.0
    reason: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class VersionInfo:
    version: str
    current: bool
    status: str  # promoted (was current at some point) | refused | candidate | adopted
    trained_at: str | None
    macro_f1: float | None
    data_hash: str | None
    corrections: int
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def store_dir(runtime_dir: Path | None = None) -> Path:
    return Path(runtime_dir) if runtime_dir is not None else get_model_settings().runtime_dir


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def locked(runtime_dir: Path | None = None) -> Iterator[Path]:
    folder = store_dir(runtime_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(f"the model store {folder} is busy (a retrain or swap is running)") from None
        try:
            yield folder
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- pointer and history

def _version_of(name: str) -> str:
    return name.removeprefix("category-").removesuffix(".joblib")


def current_version(runtime_dir: Path | None = None) -> str | None:
    pointer = store_dir(runtime_dir) / CURRENT_FILE
    return _version_of(pointer.read_text(encoding="utf-8").strip()) if pointer.is_file() else None


def _write_current(folder: Path, version: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{CURRENT_FILE}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(artefact_name(version) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / CURRENT_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record(folder: Path, event: str, version: str, **detail) -> None:
    entry = {"at": _now(), "event": event, "version": version, **detail}
    with open(folder / HISTORY_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def history(runtime_dir: Path | None = None) -> list[dict]:
    path = store_dir(runtime_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _chain(events: Sequence[dict]) -> list[str]:
    """The versions that were made current, as a stack that rollbacks pop."""
    stack: list[str] = []
    for e in events:
        v = e["version"]
        if e["event"] in ("adopt", "promote"):
            stack.append(v)
        elif e["event"] == "rollback":
            if v in stack:
                del stack[stack.index(v) + 1:]
            else:
                stack.append(v)
    return stack


def _artefact(folder: Path, version: str) -> Path:
    return folder / artefact_name(version)


def _metrics_file(folder: Path, version: str) -> Path:
    return folder / artefact_name(version).replace(".joblib", ".metrics.json")


def _card_file(folder: Path, version: str) -> Path:
    return folder / artefact_name(version).replace(".joblib", ".card.md")


def adopt_baseline(runtime_dir: Path | None = None) -> str | None:
    """Copy the shipped model into an empty store and make it current; returns its version (None if the store
    already had one). Call with the store locked."""
    folder = store_dir(runtime_dir)
    if (folder / CURRENT_FILE).is_file():
        return None
    shipped_pointer = ARTEFACT_DIR / CURRENT_FILE
    name = shipped_pointer.read_text(encoding="utf-8").strip()
    version = _version_of(name)
    folder.mkdir(parents=True, exist_ok=True)
    for src in (ARTEFACT_DIR / name, ARTEFACT_DIR / name.replace(".joblib", ".metrics.json")):
        if src.is_file() and not (folder / src.name).is_file():
            shutil.copy2(src, folder / src.name)
    _write_current(folder, version)
    _record(folder, "adopt", version, source=str(ARTEFACT_DIR))
    return version


# ---------------------------------------------------------------- swap and rollback

def promote(version: str, runtime_dir: Path | None = None, actor: str = "system", reason: str = "") -> str:
    """Make a stored version current; returns the version it replaced."""
    with locked(runtime_dir) as folder:
        return _promote(folder, version, "promote", actor, reason)


def _promote(folder: Path, version: str, event: str, actor: str, reason: str) -> str:
    if not _artefact(folder, version).is_file():
        raise UnknownVersion(f"no model {version} in {folder}")
    load_model(_artefact(folder, version))  # refuse an artefact that does not load before pointing at it
    previous = current_version(folder) or ""
    _write_current(folder, version)
    _record(folder, event, version, previous=previous, actor=actor, reason=reason)
    return previous


def rollback(to: str | None = None, runtime_dir: Path | None = None, actor: str = "system",
             reason: str = "") -> tuple[str, str]:
    """Point CURRENT back at ``to`` or at the version current before this one; returns (previous, now)."""
    with locked(runtime_dir) as folder:
        if to is None:
            chain = [v for v in _chain(history(folder)) if _artefact(folder, v).is_file()]
            current = current_version(folder)
            while chain and chain[-1] == current:
                chain.pop()
            if not chain:
                raise UnknownVersion(f"nothing to roll back to in {folder}")
            to = chain[-1]
        previous = _promote(folder, to, "rollback", actor, reason)
        return previous, to


# ---------------------------------------------------------------- listing

def _read_metrics(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def versions(runtime_dir: Path | None = None) -> list[VersionInfo]:
    folder = store_dir(runtime_dir)
    if not folder.is_dir():
        return []
    events = history(folder)
    status: dict[str, str] = {}
    for e in events:
        status[e["version"]] = {"adopt": "adopted", "promote": "promoted", "rollback": "promoted",
                                "refuse": "refused"}.get(e["event"], status.get(e["version"], "candidate"))
    current = current_version(folder)
    out = []
    for path in sorted(folder.glob("category-*.joblib"), key=lambda p: p.stat().st_mtime, reverse=True):
        version = _version_of(path.name)
        metrics = _read_metrics(_metrics_file(folder, version))
        system = metrics.get("eval", {}).get("system", {})
        out.append(VersionInfo(
            version=version, current=version == current, status=status.get(version, "candidate"),
            trained_at=metrics.get("trained_at"), macro_f1=system.get("macro_f1"),
            data_hash=metrics.get("data_hash"), corrections=(metrics.get("corrections") or {}).get("used", 0),
            extra={"gate": metrics.get("gate")} if metrics.get("gate") else {}))
    return out


def _prune(folder: Path, keep: int) -> None:
    protected = set(_chain(history(folder))[-2:]) | {current_version(folder)}
    stored = sorted(folder.glob("category-*.joblib"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in stored[keep:]:
        version = _version_of(path.name)
        if version in protected:
            continue
        for f in (path, _metrics_file(folder, version), _card_file(folder, version)):
            f.unlink(missing_ok=True)


# ---------------------------------------------------------------- retraining

def retrain(examples: Sequence[LabelledExample], *, runtime_dir: Path | None = None,
            shared: Path | None = DEFAULT_SHARED, scale: float | None = None, max_f1_drop: float | None = None,
            correction_weight: float | None = None, force: bool = False, actor: str = "system") -> Outcome:
    from models.train import (  # train imports scikit-learn's fitting code: only when needed
        build,
        write_version,
    )

    settings = get_model_settings()
    scale = settings.retrain_scale if scale is None else scale
    max_f1_drop = settings.max_f1_drop if max_f1_drop is None else max_f1_drop
    if shared is not None and not settings.retrain_use_shared:
        shared = None
    t0 = time.perf_counter()
    with locked(runtime_dir) as folder:
        adopt_baseline(folder)
        previous = current_version(folder) or ""
        current_model = load_model(_artefact(folder, previous))
        trained = build(shared, scale, examples, correction_weight, trained_at=_now())
        version = trained.model.model_version
        fit_ = (trained.report.get("corrections") or {}).get("fit") or {}
        outcome = Outcome("unchanged", version, previous, corrections=fit_.get("n", 0),
                          corrections_reproduced=fit_.get("reproduced"))
        if version == previous:
            outcome.reason = "the current model was trained on exactly these data"
            outcome.seconds = round(time.perf_counter() - t0, 2)
            return outcome
        new_f1 = trained.report["eval"]["system"]["macro_f1"]
        old_f1 = evaluate(current_model, trained.held_out)["macro_f1"]
        passed = new_f1 >= old_f1 - max_f1_drop
        trained.report["gate"] = {"previous_version": previous, "previous_macro_f1": old_f1, "macro_f1": new_f1,
                                  "max_f1_drop": max_f1_drop, "passed": passed, "forced": force and not passed}
        write_version(trained, folder, _card_file(folder, version))
        outcome.macro_f1, outcome.previous_macro_f1, outcome.max_f1_drop = new_f1, old_f1, max_f1_drop
        detail = {"previous": previous, "macro_f1": new_f1, "previous_macro_f1": old_f1,
                  "corrections_hash": examples_hash(examples), "corrections": outcome.corrections, "actor": actor}
        if passed or force:
            _write_current(folder, version)
            _record(folder, "promote", version, **detail, reason="forced" if not passed else "")
            outcome.status = "promoted"
        else:
            outcome.status = "refused"
            outcome.reason = (f"held-out macro-F1 {new_f1:.4f} is more than {max_f1_drop} below the current "
                              f"model's {old_f1:.4f}")
            _record(folder, "refuse", version, **detail, reason=outcome.reason)
        _prune(folder, max(2, settings.keep_versions))
    outcome.seconds = round(time.perf_counter() - t0, 2)
    return outcome


def last_attempt_hash(runtime_dir: Path | None = None) -> str | None:
    """The corrections hash of the last promote or refuse (what the scheduler already tried)."""
    for e in reversed(history(runtime_dir)):
        if e["event"] in ("promote", "refuse") and "corrections_hash" in e:
            return e["corrections_hash"]
    return None
