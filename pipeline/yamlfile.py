"""Read a YAML configuration file, turning I/O and syntax errors into the caller's own error type.

``read_yaml(path, what, error)`` returns the parsed document; a missing or unreadable file raises
``error("cannot read {what} {path}: ...")`` and invalid YAML ``error("{path}: not valid YAML: ...")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: str | Path, what: str, error: type[Exception]) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
