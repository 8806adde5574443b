"""Declarative field mapping per OA form: our 报销单 (DOMAIN §8.1) → the OA's field names, tables and codes.

A mapping file (YAML, one per OA form version; examples in ``samples/oa/``) says:

* ``adapter``: which OA it is for; ``version``: a label of the OA form version it matches.
* ``form``: the OA form's identity and fixed options, passed through to the adapter (``workflow_id`` for Weaver,
  ``template_code`` + ``main_table`` for Seeyon, ``template_id`` for Landray and WeCom, ``process_code`` for
  DingTalk, ``approval_code`` for Feishu; see ``ADAPTER_RULES``).
* ``title``: a template such as ``"差旅报销-{applicant.name}-{doc_no}"``; ``creator``: a field rule giving the
  applicant's user id in the OA (usually ``source: applicant.emp_no`` through a ``code_list``).
* ``main``: field rules for the main table; ``details``: tables, each with ``rows`` (a list in the document,
  default ``lines``) and field rules relative to one row (``$.`` prefixes a path from the document root).
* ``attachments``: where the invoice files go (``field``: the OA's attachment field / control id).
* ``code_lists``: named dictionaries our code → their code; ``status_map``: overrides of the OA's status codes
  (raw → one of ``OA_STATUSES``); ``doc_no_field``: the main field that carries ``doc_no`` (adapters that look a
  document up by searching form data need it).

A field rule has ``field`` (the OA's key) and exactly one of ``source`` (a path: ``applicant.name``,
``lines[0].invoice.date``), ``value`` (a constant) or ``template``; then optionally ``code_list``, ``transform``
(text, amount, upper, date, timestamp, rfc3339, int, join, json), ``format`` (strftime, for ``date``),
``upper_style`` (digital | legacy, for ``upper``: 大写 via ``pipeline.money.to_upper``), ``default``,
``required`` and ``type`` (the OA's control / widget type where its API wants one). Order: resolve the value,
map it through the code list, then transform it. A missing optional value leaves the field out.

Contract:
* ``load_mapping(path)`` / ``parse_mapping(data, origin)`` validate everything at start-up (schema, code-list
  references, transform options, the adapter's own rules) and raise ``MappingError`` naming the file and the
  offending key.
* ``render_form(document, mapping) -> RenderedForm``: values only, no OA shape; raises ``MappingError`` when a
  required value is missing or a code is not in its list (adapters turn that into a permanent delivery error).
* ``render_payload(adapter_name, document, mapping) -> dict``: the exact request body that adapter would send
  (attachments shown as placeholders), for ``reimburse oa dry-run``.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipeline.money import fmt_amount, to_upper
from pipeline.sync.base import OaStatus, builtin_module
from pipeline.yamlfile import read_yaml

Transform = Literal["text", "amount", "upper", "date", "timestamp", "rfc3339", "int", "join", "json"]
CHINA = timezone(timedelta(hours=8))
_TEMPLATE_SLOT = re.compile(r"\{([^{}]+)\}")
_PATH_PART = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


class MappingError(ValueError):
    """A mapping file is invalid, or a document cannot be rendered with it."""


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    source: str | None = None
    value: Any = None
    template: str | None = None
    code_list: str | None = None
    transform: Transform | None = None
    format: str | None = None
    upper_style: Literal["digital", "legacy"] = "digital"
    separator: str = "、"
    default: Any = None
    required: bool = False
    type: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldRule:
        given = [k for k in ("source", "value", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"field {self.field!r} needs exactly one of source, value or template (got "
                             f"{', '.join(given) or 'none'})")
        if self.format is not None and self.transform != "date":
            raise ValueError(f"field {self.field!r}: format only applies to transform: date")
        if self.format is not None:
            try:
                date(2026, 1, 2).strftime(self.format)
            except ValueError as exc:
                raise ValueError(f"field {self.field!r}: bad date format {self.format!r}: {exc}") from None
        return self


class DetailTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str
    rows: str = "lines"
    type: str | None = None
    fields: list[FieldRule]


class AttachmentRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str | None = None  # None: the adapter's default place (Seeyon: the collaboration's attachment list)
    type: str | None = None


class FormMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adapter: str
    version: str | int | None = None
    form: dict[str, Any] = {}
    title: str | None = None
    creator: FieldRule | None = None
    main: list[FieldRule]
    details: list[DetailTable] = []
    attachments: AttachmentRule | None = None
    code_lists: dict[str, dict[str, str]] = {}
    status_map: dict[str, OaStatus] = {}
    doc_no_field: str | None = None

    @model_validator(mode="after")
    def _references(self) -> FormMapping:
        rules = [("creator", self.creator)] if self.creator else []
        rules += [(f"main[{i}]", r) for i, r in enumerate(self.main)]
        rules += [(f"details[{t}].fields[{i}]", r) for t, table in enumerate(self.details)
                  for i, r in enumerate(table.fields)]
        for where, rule in rules:
            if rule.code_list and rule.code_list not in self.code_lists:
                raise ValueError(f"{where}: code_list {rule.code_list!r} is not defined under code_lists")
        seen: set[str] = set()
        for rule in self.main:
            if rule.field in seen:
                raise ValueError(f"main: field {rule.field!r} is mapped twice")
            seen.add(rule.field)
        if self.doc_no_field and not any(r.field == self.doc_no_field and r.source == "doc_no" for r in self.main):
            raise ValueError(f"doc_no_field {self.doc_no_field!r} must be a main field with source: doc_no")
        return self


# ---------------------------------------------------------------- per-adapter rules

def _require_form(m: FormMapping, *keys: str) -> list[str]:
    return [f"form.{k} is required for {m.adapter}" for k in keys if m.form.get(k) in (None, "")]


def _title_has_doc_no(m: FormMapping) -> list[str]:
    if not m.title or "{doc_no}" not in m.title:
        return [f"title must contain {{doc_no}} for {m.adapter}: the adapter finds an earlier document by it"]
    return []


def _needs_types(m: FormMapping, allowed: frozenset[str] | None) -> list[str]:
    errors = []
    rules = [(f"main field {r.field!r}", r) for r in m.main]
    rules += [(f"details {t.table!r} field {r.field!r}", r) for t in m.details for r in t.fields]
    for where, rule in rules:
        if not rule.type:
            errors.append(f"{where} needs a type (the {m.adapter} control / widget type)")
        elif allowed is not None and rule.type not in allowed:
            errors.append(f"{where}: type {rule.type!r} is not one of {sorted(allowed)}")
    return errors


def _weaver(m: FormMapping) -> list[str]:
    errors = _require_form(m, "workflow_id") + _title_has_doc_no(m)
    errors += [f"main field {r.field!r} is reserved in E9 (send it as requestName / requestLevel)"
               for r in m.main if r.field.lower() in ("requestname", "requestlevel")]
    errors += [f"details table {t.table!r} should be an E9 detail table name like formtable_main_88_dt1"
               for t in m.details if not re.fullmatch(r"formtable_main_\d+_dt\d+", t.table)]
    return errors


def _seeyon(m: FormMapping) -> list[str]:
    errors = _require_form(m, "template_code", "main_table") + _title_has_doc_no(m)
    if m.form.get("main_table") and not re.fullmatch(r"formmain_\d+", str(m.form["main_table"])):
        errors.append(f"form.main_table {m.form['main_table']!r} should look like formmain_0018")
    errors += [f"details table {t.table!r} should look like formson_0019"
               for t in m.details if not re.fullmatch(r"formson_\d+", t.table)]
    return errors


def _landray(m: FormMapping) -> list[str]:
    return _require_form(m, "template_id") + _title_has_doc_no(m)


def _dingtalk(m: FormMapping) -> list[str]:
    errors = _require_form(m, "process_code")
    if not m.doc_no_field:
        errors.append("doc_no_field is required for dingtalk: the adapter finds an earlier instance by it")
    return errors


WECOM_CONTROLS = frozenset({"Text", "Textarea", "Number", "Money", "Date", "Selector", "Contact", "Tips", "File",
                            "Table", "Vacation", "Attendance", "Location", "RelatedApproval", "Formula",
                            "DateRange", "PunchCorrection", "BankAccount"})


def _wecom(m: FormMapping) -> list[str]:
    errors = _require_form(m, "template_id") + _needs_types(m, WECOM_CONTROLS)
    if not m.doc_no_field:
        errors.append("doc_no_field is required for wecom: the adapter finds an earlier approval by it")
    return errors


def _feishu(m: FormMapping) -> list[str]:
    return _require_form(m, "approval_code") + _needs_types(m, None)


ADAPTER_RULES: dict[str, Callable[[FormMapping], list[str]]] = {
    "weaver": _weaver, "seeyon": _seeyon, "landray": _landray, "dingtalk": _dingtalk, "wecom": _wecom,
    "feishu": _feishu,
}


# ---------------------------------------------------------------- loading

def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_mapping(data: Any, origin: str = "<mapping>") -> FormMapping:
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        mapping = FormMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise MappingError(f"{origin}: invalid OA field mapping: {problems}") from None
    rule = ADAPTER_RULES.get(mapping.adapter)
    if rule is None and mapping.adapter not in ("generic_webhook",):
        raise MappingError(f"{origin}: adapter {mapping.adapter!r} has no field mapping; known: "
                           f"{', '.join(sorted(ADAPTER_RULES))}")
    errors = rule(mapping) if rule else []
    if errors:
        raise MappingError(f"{origin}: invalid {mapping.adapter} mapping: " + "; ".join(errors))
    return mapping


def load_mapping(path: str | Path) -> FormMapping:
    return parse_mapping(read_yaml(path, "OA field mapping", MappingError), str(path))


def coerce_mapping(mapping: FormMapping | Mapping[str, Any] | str | Path, adapter: str) -> FormMapping:
    """A validated mapping from a model, a dict or a file path; checks it is meant for ``adapter``."""
    if isinstance(mapping, FormMapping):
        result = mapping
    elif isinstance(mapping, (str, Path)):
        result = load_mapping(mapping)
    else:
        result = parse_mapping(dict(mapping))
    if result.adapter != adapter:
        raise MappingError(f"this mapping is for adapter {result.adapter!r}, not {adapter!r}")
    return result


# ---------------------------------------------------------------- rendering

@dataclass(frozen=True)
class RenderedField:
    field: str
    value: Any
    type: str | None = None


@dataclass(frozen=True)
class RenderedTable:
    table: str
    rows: list[list[RenderedField]]
    type: str | None = None


@dataclass(frozen=True)
class RenderedForm:
    title: str | None
    creator: str | None
    main: list[RenderedField]
    details: list[RenderedTable]
    form: dict[str, Any] = field(default_factory=dict)

    def main_value(self, key: str) -> Any:
        return next((f.value for f in self.main if f.field == key), None)


_MISSING = object()


def resolve(path: str, data: Any) -> Any:
    """``a.b[0].c`` in nested dicts/lists; ``_MISSING`` when any step is absent."""
    current = data
    for part in path.split("."):
        match = _PATH_PART.match(part)
        if not match:
            raise MappingError(f"bad path {path!r}")
        key, indexes = match.group(1), re.findall(r"\[(\d+)\]", match.group(2))
        if not isinstance(current, Mapping) or key not in current:
            return _MISSING
        current = current[key]
        for index in indexes:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
    return current


def _lookup(path: str, row: Any, document: Mapping[str, Any]) -> Any:
    if path.startswith("$."):
        return resolve(path[2:], document)
    return resolve(path, row)


def fill_template(text: str, document: Mapping[str, Any]) -> str:
    """``"{applicant.name}-{doc_no}"`` filled from the document; ``MappingError`` when a slot has no value."""
    return _template(text, document, document)


def _template(text: str, row: Any, document: Mapping[str, Any]) -> str:
    def slot(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), row, document)
        if value is _MISSING or value is None:
            raise MappingError(f"template {text!r}: {match.group(1)} has no value")
        return str(value)

    return _TEMPLATE_SLOT.sub(slot, text)


def _as_date(value: Any, rule: FieldRule) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MappingError(f"field {rule.field!r}: {value!r} is not a date") from None


def _as_decimal(value: Any, rule: FieldRule) -> Decimal:
    if isinstance(value, float):
        raise MappingError(f"field {rule.field!r}: amounts must not be floats ({value!r})")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"field {rule.field!r}: {value!r} is not an amount") from None


def _transform(value: Any, rule: FieldRule) -> Any:
    kind = rule.transform
    if kind is None:
        return value
    if kind == "text":
        return str(value)
    if kind == "amount":
        return fmt_amount(_as_decimal(value, rule))
    if kind == "upper":
        return to_upper(_as_decimal(value, rule), rule.upper_style)
    if kind == "date":
        return _as_date(value, rule).strftime(rule.format or "%Y-%m-%d")
    if kind == "timestamp":  # midnight China time, Unix seconds as text (WeCom Date controls)
        day = _as_date(value, rule)
        return str(int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp()))
    if kind == "rfc3339":  # midnight China time (Feishu date widgets)
        day = _as_date(value, rule)
        return datetime(day.year, day.month, day.day, tzinfo=CHINA).isoformat()
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise MappingError(f"field {rule.field!r}: {value!r} is not an integer") from None
    if kind == "join":
        return rule.separator.join(str(v) for v in (value if isinstance(value, list) else [value]))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # "json"


def render_value(rule: FieldRule, row: Any, document: Mapping[str, Any], code_lists: Mapping[str, Mapping[str, str]],
                 where: str) -> Any:
    """The rule's value for one row (the document itself for main fields); ``_MISSING`` when absent and optional."""
    if rule.value is not None:
        value = rule.value
    elif rule.template is not None:
        value = _template(rule.template, row, document)
    else:
        value = _lookup(rule.source, row, document)
    if value is _MISSING or value is None or value == "":
        if rule.default is not None:
            value = rule.default
        elif rule.required:
            raise MappingError(f"{where} field {rule.field!r}: {rule.source or rule.template} has no value in "
                               f"{document.get('doc_no') or 'the document'}")
        else:
            return _MISSING
    if rule.code_list:
        codes = code_lists[rule.code_list]
        if str(value) not in codes:
            raise MappingError(f"{where} field {rule.field!r}: {value!r} is not in code list {rule.code_list!r}")
        value = codes[str(value)]
    return _transform(value, rule)


def render_form(document: Mapping[str, Any], mapping: FormMapping) -> RenderedForm:
    def fields(rules: list[FieldRule], row: Any, where: str) -> list[RenderedField]:
        out = []
        for rule in rules:
            value = render_value(rule, row, document, mapping.code_lists, where)
            if value is not _MISSING:
                out.append(RenderedField(rule.field, value, rule.type))
        return out

    creator = None
    if mapping.creator is not None:
        value = render_value(mapping.creator, document, document, mapping.code_lists, "creator")
        creator = None if value is _MISSING else str(value)
    tables = []
    for table in mapping.details:
        rows = resolve(table.rows, document)
        if rows is _MISSING or rows is None:
            rows = []
        if not isinstance(rows, list):
            raise MappingError(f"details {table.table!r}: {table.rows} is not a list")
        tables.append(RenderedTable(table.table, [fields(table.fields, row, f"details {table.table!r} row {i + 1}")
                                                  for i, row in enumerate(rows)], table.type))
    title = _template(mapping.title, document, document) if mapping.title else None
    return RenderedForm(title=title, creator=creator, main=fields(mapping.main, document, "main"), details=tables,
                        form=dict(mapping.form))


def render_payload(adapter_name: str, document: Mapping[str, Any],
                   mapping: FormMapping | Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """The body the adapter would send for ``document`` (attachments as placeholders), without sending it."""
    module = importlib.import_module(builtin_module(adapter_name))
    if adapter_name == "generic_webhook":
        return module.build_payload(document)
    if mapping is None:
        raise MappingError(f"the {adapter_name} adapter needs a field mapping")
    form_mapping = coerce_mapping(mapping, adapter_name)
    return module.build_payload(document, form_mapping, module.placeholder_attachments(document, form_mapping))


__all__ = ["ADAPTER_RULES", "AttachmentRule", "DetailTable", "FieldRule", "FormMapping", "MappingError",
           "RenderedField", "RenderedForm", "RenderedTable", "WECOM_CONTROLS", "coerce_mapping", "fill_template",
           "load_mapping",
           "parse_mapping", "render_form", "render_payload", "render_value", "resolve"]
