"""Load a scenario: safe YAML → pydantic → checks against the device profile (``checks``).

Every failure becomes one ScenarioError naming the file, the key path and the YAML line.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from pumpsim.errors import ScenarioError, ScenarioErrors, raise_all
from pumpsim.scenario import dates, schema
from pumpsim.scenario.checks import check_against_profile, check_fit_inputs
from pumpsim.scenario.clinic_log import ClinicLog, read_clinic_log
from pumpsim.scenario.yamlsafe import LocatedYaml

ScenarioT = TypeVar("ScenarioT", bound=schema.ScenarioFile)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every model an annotation can hold, through Optional, lists, dicts, unions, Annotated."""
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            found.append(item)
        else:
            stack.extend(get_args(item))
    return found


def _pick(models: list[type[BaseModel]], node: Any) -> type[BaseModel] | None:
    """The model of a mapping among candidates: the only one, or the event of its ``type``."""
    if len(models) == 1:
        return models[0]
    kind = node.get("type") if isinstance(node, dict) else None
    for model in models:
        field = model.model_fields.get("type")
        if field is not None and kind in get_args(field.annotation):
            return model
    return None


def _model_at(path: tuple[object, ...], data: Any) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``path`` (for did-you-mean), read from the
    schema's own annotations, at any depth (``events[0].therapy.steps[1]``)."""
    models: list[type[BaseModel]] = [schema.ScenarioFile]
    node = data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        model = _pick(models, node)
        field = model.model_fields.get(str(part)) if model is not None else None
        if field is None:
            return None
        models = _models_in(field.annotation)
        node = node.get(part) if isinstance(node, dict) else None
    return _pick(models, node)


#: A number YAML 1.1 leaves as text: an exponent without a dot or a sign (``1e308``).
_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")

#: Names pydantic gives the members of a union (``float | Literal["fit"]``): not user keys.
_UNION_TAGS = frozenset({"float", "int", "str", "bool", "none"})


def _is_key(part: str) -> bool:
    """Whether a pydantic location part can be a scenario key (not a union member's tag)."""
    return re.fullmatch(r"[a-z_][a-z0-9_]*", part) is not None and part not in _UNION_TAGS


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[object, ...]:
    """Map a pydantic error location onto the data's key path (drops union/discriminator tags)."""
    path: list[object] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and part == node.get("type"):
            continue  # the discriminator tag of an event
        elif i == len(loc) - 1 and isinstance(part, str) and _is_key(part):
            path.append(part)  # a missing or unknown key
        # else: a union member or discriminator tag: not part of the user's path
    return tuple(path)


def unknown_key_message(key: str, known: list[str]) -> str:
    """``unknown key 'x'`` with a did-you-mean, or the list of known keys.

    A key that is a known key without its unit (``concentration`` for
    ``concentration_mcg_per_ml``) suggests that key before any spelling match.
    """
    with_unit = [k for k in known if k.startswith(key + "_")]
    close = with_unit[:1] or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = f" (known keys: {', '.join(known)})" if known and not close else ""
    return f"unknown key {key!r}{hint}{listing}"


#: Top-level keys of a sweep file that no scenario has.
_SWEEP_KEYS = frozenset({"base", "vary", "grid", "patients", "faults", "on_invalid"})


def _message(err: dict[str, Any], path: tuple[object, ...], data: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        owner = _model_at(path[:-1], data)
        known = list(owner.model_fields) if owner is not None else []
        if len(path) == 1 and key in _SWEEP_KEYS:
            return (
                f"unknown key {key!r}: this looks like a sweep file, not a scenario "
                "(check it with: pumpsim sweep FILE --check)"
            )
        return unknown_key_message(key, known)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        given = err.get("input", {}).get("type")
        return f"unknown event type {given!r}; known: {', '.join(schema.EVENT_TYPES)}"
    if kind == "union_tag_not_found":
        return "event needs a type: (one of " + ", ".join(schema.EVENT_TYPES) + ")"
    if kind in ("float_type", "bool_type"):  # numbers and booleans are never converted
        given = err.get("input")
        want = "a number" if kind == "float_type" else "true or false"
        if isinstance(given, str) and _EXPONENT.match(given):  # YAML 1.1 reads 1e308 as text
            return (
                f"{given!r} is text to YAML, not a number: write it with a dot and a signed "
                "exponent (1.0e+308)"
            )
        if isinstance(given, str):
            return f"{given!r} is text, not {want}: write it without quotes"
        return f"{given!r} is not {want}"
    if kind == "literal_error":
        allowed = err["msg"].replace("Input should be ", "expected ")
        return f"{err['input']!r} is not allowed: {allowed}"
    if kind == "string_pattern_mismatch" and path and path[-1] == "name":
        return (
            f"{err['input']!r}: a name is lower-case letters, digits and hyphens "
            "(e.g. 'missed-refill')"
        )
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if kind in ("less_than", "less_than_equal"):
        bound = err.get("ctx", {}).get("le", err.get("ctx", {}).get("lt"))
        word = "at most" if kind == "less_than_equal" else "below"
        msg = (
            f"{err['input']!r} is too large: must be {word} {bound!r} "
            "(input limits: docs/reference.md)"
        )
    elif kind in ("greater_than", "greater_than_equal"):
        msg = f"{err['input']!r}: {msg.replace('Input should be', 'must be')}"
    return msg


def error_from_validation(
    exc: ValidationError,
    data: Any,
    *,
    file: str | None = None,
    located: LocatedYaml | None = None,
    prefix: tuple[object, ...] = (),
) -> ScenarioError:
    """One ScenarioError from a pydantic error: the deepest, most specific error, with its key
    path mapped onto ``data`` (the input that was validated, found at ``prefix``)."""
    errors = exc.errors(include_url=False)
    # Report the deepest, most specific error first (a union's members add noise).
    # At equal depth an unknown key goes first: a typo also explains the key it makes missing.
    err = max(
        errors,
        key=lambda e: (len(_data_path(tuple(e["loc"]), data)), e["type"] == "extra_forbidden"),
    )
    path = _data_path(tuple(err["loc"]), data)
    full = (*prefix, *path)
    message = _message(err, path, data) if not prefix else _message(err, full, {})
    line = located.line_of(full) if located is not None else None
    return ScenarioError(message, file=file, path=full, line=line)


def _reservoir_ml(data: dict[str, Any]) -> float | None:
    """The raw scenario's reservoir size (its default when not given; None when not a number:
    validation reports it)."""
    pump = data.get("pump", {})
    size = (
        pump.get("reservoir_ml", schema.Pump.model_fields["reservoir_ml"].default)
        if isinstance(pump, dict)
        else None
    )
    ok = isinstance(size, int | float) and not isinstance(size, bool)
    return float(size) if ok else None


def _with_clinic_log(
    data: dict[str, Any], located: LocatedYaml, file: str, base_dir: str | None
) -> ClinicLog | None:
    """Append the rows of ``clinic_log:`` to ``events``/``expect`` of ``data`` (in place)."""
    name = data.get("clinic_log")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            "clinic_log is the path of a CSV file, relative to the scenario file",
            file=file,
            path=("clinic_log",),
            line=located.line_of(("clinic_log",)),
        )
    clock = dates.scenario_clock(data)
    if clock is None:
        return None  # validation reports the bad start:
    path = os.path.join(base_dir if base_dir is not None else os.getcwd(), name)
    shown = os.path.normpath(os.path.join(os.path.dirname(file), name)) if base_dir else name
    try:
        log = read_clinic_log(
            path, clock, dates.scenario_end_h(data), shown=shown, reservoir_ml=_reservoir_ml(data)
        )
    except ScenarioError as exc:
        if exc.line is not None:
            raise  # a bad row: the log's file, line and column say where
        # the log as a whole cannot be read: the scenario's clinic_log key says which
        raise ScenarioError(
            f"{shown}: {exc.message}",
            file=file,
            path=("clinic_log",),
            line=located.line_of(("clinic_log",)),
        ) from None
    for key, rows in (("events", log.events), ("expect", log.expectations)):
        existing = data.get(key)
        if existing is None:
            data[key] = []
        elif not isinstance(existing, list):
            return log  # validation reports the bad key
        data[key] = [*data[key], *rows]
    return log


def _check_start(data: dict[str, Any], located: LocatedYaml, file: str) -> None:
    """A bad ``start:`` is reported on its own line, before any instant read on its clock
    (otherwise a calendar date elsewhere, unreadable without a clock, would take the blame)."""
    if "start" not in data:
        return
    try:
        dates.parse_start(data["start"])
    except dates.InstantError as exc:
        raise ScenarioError(
            str(exc), file=file, path=("start",), line=located.line_of(("start",))
        ) from None


def parse_scenario(
    located: LocatedYaml,
    file: str,
    model: type[ScenarioT],
    *,
    base_dir: str | None = None,
) -> ScenarioT:
    """Validate parsed data into a checked scenario of class ``model`` (a ``ScenarioFile``;
    ``pumpsim.scenario.checked.Scenario``): the schema, then the device profile.

    The one path for YAML files, YAML text and mappings (``Scenario.from_dict``).

    Calendar instants are placed on the clock of ``start:`` first, and the rows of a
    ``clinic_log:`` (read relative to ``base_dir``; default: the working folder) join the
    scenario's events and expectations.
    """
    if not isinstance(located.data, dict):
        raise ScenarioError("a scenario is a YAML mapping of keys", file=file, line=1)
    data = copy.deepcopy(located.data)
    _check_start(data, located, file)
    dates.resolve_instants(data, line_of=located.line_of, file=file)
    n_own_events = len(data["events"]) if isinstance(data.get("events"), list) else 0
    n_own_expect = len(data["expect"]) if isinstance(data.get("expect"), list) else 0
    log = _with_clinic_log(data, located, file, base_dir)
    view = LocatedYaml(data=data, lines=located.lines)
    rows: list[ScenarioError] = []  # a clinic log's rows found bad by the scenario's checks
    while True:
        try:
            scenario = _checked(data, view, located, file, model)
            break
        except ScenarioError as exc:
            moved = log.relocate(exc, n_own_events, n_own_expect) if log is not None else None
            if moved is None:
                raise_all([exc, *rows])
            rows.append(moved)
            if len(rows) > ScenarioErrors.MAX_SHOWN:
                break  # enough to show: the rest is "... and more"
            # every bad row is reported (contract section 11): set this one aside, check again
            assert log is not None
            log.set_aside(data, exc.path, n_own_events, n_own_expect)
    if rows:
        rows.sort(key=lambda e: e.line or 0)
        raise ScenarioErrors(rows, complete=len(rows) <= ScenarioErrors.MAX_SHOWN)
    scenario._checked = True
    return scenario


def _checked(
    data: dict[str, Any], view: LocatedYaml, located: LocatedYaml, file: str, model: type[ScenarioT]
) -> ScenarioT:
    """The schema, then the device profile (and a fit's inputs). Raises ScenarioError."""
    try:
        scenario = model.model_validate(data)
    except ValidationError as exc:
        raise error_from_validation(exc, data, file=file, located=view) from None
    try:
        check_against_profile(scenario)
        check_fit_inputs(scenario)
    except ScenarioError as exc:
        raise exc.located(file, located.line_of(exc.path)) from None
    return scenario
