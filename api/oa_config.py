"""Build the configured OA adapter from the settings, refusing a bad configuration at start-up.

Where the configuration comes from (``api.settings.Settings``, environment prefix ``REIMBURSE_``):

* ``OA_ADAPTER``: ``generic_webhook`` (default), ``weaver``, ``seeyon``, ``landray``, ``dingtalk``, ``wecom``,
  ``feishu`` or a name added with ``pipeline.sync.register``.
* ``OA_CONFIG_FILE``: optional YAML ``{adapter?, mapping?, options: {...}}``; ``mapping`` is relative to the file.
  A string value ``${NAME}`` in ``options`` is read from the environment variable NAME (keep secrets out of the
  file). When the file names an adapter and ``OA_ADAPTER`` is not set, the file's adapter is used; when both are
  set they must agree.
* ``OA_OPTIONS``: a JSON object of adapter options, laid over the file's (e.g.
  ``{"base_url": "https://oa.example.com", "app_id": "…", "user_id": "1", "callback_secret": "whsec_…"}``).
  The options are the adapter's constructor keywords (``pipeline.sync.<adapter>``), minus ``mapping``, ``client``
  and ``attachment_source``; ``timeout`` defaults to ``OA_TIMEOUT_SECONDS``.
* ``OA_MAPPING_FILE``: the form's field mapping (``samples/oa/<adapter>.yaml`` shape); it wins over the file's.
  Required by every adapter except ``generic_webhook``.
* The generic webhook also takes the older ``OA_WEBHOOK_URL``, ``OA_WEBHOOK_SECRET`` and ``OA_CALLBACK_SECRET``
  for ``url``, ``secret`` and ``callback_secret``; with neither URL nor secret anywhere, no OA is configured and
  ``build_adapter`` returns None (callbacks then answer 503).

Contract: ``resolve(settings) -> OaConfig`` (adapter name, options, mapping path; nothing built) and
``build_adapter(settings) -> OaAdapter | None`` raise ``OaConfigError`` naming the problem: an unknown adapter, an
unknown or missing option, a missing or invalid mapping (the ``MappingError`` text names file and key), a missing
environment variable, or the adapter's own refusal (e.g. an EncodingAESKey that is not 43 characters). Form
adapters get the file store (``StoreSource(settings.storage_dir)``) as their attachment source.
``describe(config)`` is the same configuration with secret-looking options masked, for ``reimburse oa check``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from api.settings import Settings
from pipeline.sync import base
from pipeline.sync.attachments import StoreSource
from pipeline.sync.common import FormAdapter
from pipeline.sync.mapping import MappingError, load_mapping

GENERIC = "generic_webhook"
_INTERNAL = frozenset({"self", "mapping", "client", "attachment_source"})
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SECRET_WORDS = ("secret", "password", "token", "key")


class OaConfigError(ValueError):
    """The OA configuration cannot work; the message names the setting at fault."""


@dataclass(frozen=True)
class OaConfig:
    adapter: str
    options: dict[str, Any] = field(default_factory=dict)
    mapping_file: Path | None = None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise OaConfigError(f"cannot read the OA config file {path} (REIMBURSE_OA_CONFIG_FILE): {exc}") from exc
    except yaml.YAMLError as exc:
        raise OaConfigError(f"the OA config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise OaConfigError(f"the OA config file {path} must be a mapping with adapter, mapping and options")
    unknown = sorted(set(data) - {"adapter", "mapping", "options"})
    if unknown:
        raise OaConfigError(f"the OA config file {path} has unknown keys {unknown}; allowed: adapter, mapping, "
                            "options")
    if not isinstance(data.get("options") or {}, dict):
        raise OaConfigError(f"the OA config file {path}: options must be a mapping")
    return data


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):
        match = _ENV_REF.match(value)
        if match:
            name = match.group(1)
            if name not in os.environ:
                raise OaConfigError(f"{where} refers to the environment variable {name}, which is not set")
            return os.environ[name]
    return value


def resolve(settings: Settings) -> OaConfig:
    file_data: dict[str, Any] = {}
    if settings.oa_config_file is not None:
        file_data = _read_file(Path(settings.oa_config_file))
    name = settings.oa_adapter
    file_adapter = file_data.get("adapter")
    if file_adapter:
        if "oa_adapter" in settings.model_fields_set and file_adapter != name:
            raise OaConfigError(f"REIMBURSE_OA_ADAPTER is {name!r} but the OA config file "
                                f"{settings.oa_config_file} says adapter: {file_adapter!r}")
        name = str(file_adapter)
    if name not in base.adapter_names():
        raise OaConfigError(f"unknown OA adapter {name!r} (REIMBURSE_OA_ADAPTER); known: "
                            f"{', '.join(base.adapter_names())}")
    options = {k: _expand(v, f"OA option {k!r}") for k, v in (file_data.get("options") or {}).items()}
    options.update(settings.oa_options)
    mapping_file = settings.oa_mapping_file
    if mapping_file is None and file_data.get("mapping"):
        mapping_file = Path(settings.oa_config_file).parent / str(file_data["mapping"])
    if name == GENERIC:
        for option, legacy in (("url", settings.oa_webhook_url), ("secret", settings.oa_webhook_secret),
                               ("callback_secret", settings.oa_callback_secret)):
            if legacy and not options.get(option):
                options[option] = legacy
    return OaConfig(name, options, mapping_file)


def _keywords(function: Any) -> tuple[set[str], set[str], bool]:
    params = inspect.signature(function).parameters.values()
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in _INTERNAL]
    return ({p.name for p in named}, {p.name for p in named if p.default is p.empty},
            any(p.kind == p.VAR_KEYWORD for p in params))


def _accepted(factory: Any) -> tuple[set[str], set[str], bool]:
    """(accepted keywords, required keywords, takes any keyword) of an adapter class or factory function."""
    if not inspect.isclass(factory):
        return _keywords(factory)
    accepted, required, open_ended = _keywords(factory.__init__)
    if issubclass(factory, FormAdapter):  # its **options go to FormAdapter.__init__, which takes no **kwargs
        accepted |= _keywords(FormAdapter.__init__)[0]
        open_ended = False
    return accepted, required, open_ended


def _factory(name: str) -> Any:
    """The class (or factory) ``pipeline.sync.create_adapter`` would call for ``name``."""
    if name in base._REGISTERED:
        return base._REGISTERED[name]
    return getattr(importlib.import_module(base.builtin_module(name)), base._BUILTIN[name].split(":")[1])


def build_adapter(settings: Settings) -> base.OaAdapter | None:
    config = resolve(settings)
    options = dict(config.options)
    if config.adapter == GENERIC and not (options.get("url") or options.get("secret")):
        return None  # no OA configured
    factory = _factory(config.adapter)
    accepted, required, open_ended = _accepted(factory)
    unknown = sorted(set(options) - accepted)
    if unknown and not open_ended:
        raise OaConfigError(f"unknown option(s) {unknown} for the {config.adapter} adapter; it takes "
                            f"{', '.join(sorted(accepted))}")
    missing = sorted(k for k in required if options.get(k) in (None, ""))
    if missing:
        raise OaConfigError(f"the {config.adapter} adapter needs option(s) {missing} (REIMBURSE_OA_OPTIONS or "
                            "options: in the OA config file)")
    if "timeout" in accepted and "timeout" not in options:
        options["timeout"] = settings.oa_timeout_seconds
    is_form = inspect.isclass(factory) and issubclass(factory, FormAdapter)
    if is_form:
        if config.mapping_file is None:
            raise OaConfigError(f"the {config.adapter} adapter needs a field mapping: set "
                                "REIMBURSE_OA_MAPPING_FILE or mapping: in the OA config file")
        try:
            options["mapping"] = load_mapping(config.mapping_file)
        except MappingError as exc:
            raise OaConfigError(f"bad OA field mapping (REIMBURSE_OA_MAPPING_FILE): {exc}") from exc
        if options["mapping"].adapter != config.adapter:
            raise OaConfigError(f"the OA field mapping {config.mapping_file} is for adapter "
                                f"{options['mapping'].adapter!r}, not {config.adapter!r}")
        options["attachment_source"] = StoreSource(settings.storage_dir)
    try:
        return factory(**options)
    except MappingError as exc:
        raise OaConfigError(f"bad OA field mapping: {exc}") from exc
    except Exception as exc:  # the adapter's own validation (missing credentials, bad keys, bad URL)
        raise OaConfigError(f"the {config.adapter} adapter refused its configuration: {exc}") from exc


def describe(config: OaConfig) -> dict[str, Any]:
    def mask(key: str, value: Any) -> Any:
        if value and any(word in key.lower() for word in _SECRET_WORDS):
            return "***"
        return value

    return {"adapter": config.adapter, "mapping_file": str(config.mapping_file) if config.mapping_file else None,
            "options": {k: mask(k, v) for k, v in sorted(config.options.items())}}


def adapter_label(adapter: base.OaAdapter | None) -> str:
    return "none" if adapter is None else str(getattr(adapter, "name", "unknown"))


__all__ = ["OaConfig", "OaConfigError", "adapter_label", "build_adapter", "describe", "resolve"]
