"""``reimburse train`` and ``reimburse model ...``: retraining from finance corrections and the runtime model store.

* ``reimburse train [--scale S] [--no-shared] [--force] [--max-f1-drop X] [--correction-weight W]
  [--database-url URL] [--runtime-dir DIR] [--corrections FILE] [--json] [--quiet]``: base dataset + the
  corrections stored in the database (plus any in ``--corrections``, JSON lines), trained, gated and swapped by
  ``models.registry.retrain`` into the runtime store (``REIMBURSE_MODEL_RUNTIME_DIR``, default ``var/models``).
  Exit code 0 when promoted or unchanged, 3 when the quality gate refused the candidate.
* ``reimburse train --baseline [models.train options]`` (or any of ``--out``/``--card``/``--keep-old``): the old
  meaning, ``python -m models.train``: rebuild the shipped model from the data in the repo.
* ``reimburse model list [--json]``, ``reimburse model rollback [--to VERSION]``, ``reimburse model promote
  VERSION``: list the stored versions, roll back (to the version current before, by default), promote one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.sources import DEFAULT_SHARED

BASELINE_FLAGS = ("--baseline", "--out", "--card", "--keep-old")
EXIT_REFUSED = 3


def _examples_from_db(url: str | None):
    from sqlmodel import Session

    from api.corrections import labelled_examples
    from api.db import init_db, make_engine
    from api.settings import get_settings

    engine = make_engine(url or get_settings().database_url)
    try:
        init_db(engine)
        with Session(engine) as session:
            return labelled_examples(session)
    finally:
        engine.dispose()


def train_command(argv: list[str]) -> int:
    if any(a == flag or a.startswith(flag + "=") for a in argv for flag in BASELINE_FLAGS):
        from models.train import main as baseline_main

        return baseline_main([a for a in argv if a != "--baseline"]) or 0
    p = argparse.ArgumentParser(prog="reimburse train", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="where the corrections are (default: the API's database)")
    p.add_argument("--runtime-dir", type=Path, help="the runtime model store (default REIMBURSE_MODEL_RUNTIME_DIR)")
    p.add_argument("--corrections", type=Path, help="extra labelled examples, JSON lines")
    p.add_argument("--no-db", action="store_true", help="do not read corrections from the database")
    p.add_argument("--scale", type=float, help="dataset size factor (default REIMBURSE_MODEL_RETRAIN_SCALE)")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    p.add_argument("--no-shared", action="store_true")
    p.add_argument("--max-f1-drop", type=float, help="quality gate (default REIMBURSE_MODEL_MAX_F1_DROP)")
    p.add_argument("--correction-weight", type=float)
    p.add_argument("--force", action="store_true", help="promote even when the quality gate refuses")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from models import registry
    from models.corrections import read_jsonl

    examples = [] if args.no_db else _examples_from_db(args.database_url)
    if args.corrections:
        examples += read_jsonl(args.corrections)
    outcome = registry.retrain(examples, runtime_dir=args.runtime_dir, shared=None if args.no_shared else args.shared,
                               scale=args.scale, max_f1_drop=args.max_f1_drop,
                               correction_weight=args.correction_weight, force=args.force, actor="cli")
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False))
    elif not args.quiet:
        f1 = "" if outcome.macro_f1 is None else \
            f", held-out macro-F1 {outcome.macro_f1:.4f} (previous model {outcome.previous_macro_f1:.4f})"
        print(f"{outcome.status}: {outcome.version} from {len(examples)} correction(s){f1} in {outcome.seconds:.1f}s"
              + (f"; {outcome.reason}" if outcome.reason else ""))
    return EXIT_REFUSED if outcome.status == "refused" else 0


def _cmd_list(args: argparse.Namespace) -> int:
    from models import registry

    rows = registry.versions(args.runtime_dir)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], ensure_ascii=False))
        return 0
    if not rows:
        print(f"no runtime models in {registry.store_dir(args.runtime_dir)}: the shipped model is in use")
    for r in rows:
        f1 = "-" if r.macro_f1 is None else f"{r.macro_f1:.4f}"
        print(f"{'*' if r.current else ' '} {r.version}  {r.status:9s} macro-F1 {f1}  corrections {r.corrections:4d}"
              f"  {r.trained_at or ''}")
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from models import registry

    try:
        previous, current = registry.rollback(args.to, args.runtime_dir, actor="cli")
    except (registry.UnknownVersion, registry.StoreBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"rolled back: {previous} -> {current}")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from models import registry

    try:
        previous = registry.promote(args.version, args.runtime_dir, actor="cli")
    except (registry.UnknownVersion, registry.StoreBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"promoted: {previous} -> {args.version}")
    return 0


def add_model_parser(sub) -> None:
    """Register ``reimburse model ...`` on the CLI's subparsers."""
    m = sub.add_parser("model", help="the runtime expense-category model store: list, rollback, promote")
    msub = m.add_subparsers(dest="model_command", required=True)
    for name, func, helptext in (("list", _cmd_list, "list stored versions (* = current)"),
                                 ("rollback", _cmd_rollback, "return to the previous version (or --to VERSION)"),
                                 ("promote", _cmd_promote, "make a stored version current")):
        s = msub.add_parser(name, help=helptext)
        s.add_argument("--runtime-dir", type=Path, help="default REIMBURSE_MODEL_RUNTIME_DIR (var/models)")
        if name == "list":
            s.add_argument("--json", action="store_true")
        if name == "rollback":
            s.add_argument("--to", help="a stored version (default: the one current before)")
        if name == "promote":
            s.add_argument("version")
        s.set_defaults(func=func)
