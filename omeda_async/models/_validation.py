"""``validate``: every documented rule a payload breaks, with its JSON path.

The validator checks Omeda's WIRE form (PascalCase keys), so a model is
unstructured first and a dict is checked as it is; the fake server validates
the bodies it receives with this same function. One walk collects every
violation: it never stops at the first and never raises for a bad payload.

The rules come from the :class:`~._payloads.FieldSpec` table the converter is
built from. Each payload class's rules are compiled once, on first use, into
one straight-line Python function (as attrs and cattrs generate theirs): the
common case, a value of the right type within its limits, costs a dict lookup
and a type test, and only a broken rule calls out to build its message.
``_rules_for(cls).source`` shows the generated code.

Rule codes: ``required``, ``conditional`` (a rule between fields), ``type``,
``max_length``, ``choice``, ``date_format``, ``email``, ``format`` (country and
region codes), ``range``, ``duplicate``, ``unknown_field`` and ``extra_fields``
(a key of a model's ``extra_fields`` that shadows a documented field).
Messages use Omeda's own wording where its pages list an error for the rule,
and never quote a card number, security code or expiration date.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from ._converter import is_decimal_text, is_int_text, payload_converter, spec_fields
from ._payloads import (
    PAYLOAD_CLASSES,
    CustomerAndOrder,
    FieldSpec,
    Kind,
    OneOf,
    Payload,
    TextFormat,
)

__all__ = ["STRUCTURAL_RULES", "Violation", "validate", "validate_wire"]

#: Rule codes about the shape of the data (as opposed to Omeda's business rules).
STRUCTURAL_RULES: Final = frozenset({"type", "unknown_field", "date_format"})

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z"
)
_COUNTRY_CODE = re.compile(r"[A-Za-z]{3}\Z")
_REGION_CODE = re.compile(r"[A-Za-z]{2}\Z")
# The documented date shapes; the calendar is checked by datetime.fromisoformat.
_DATE_SHAPES: Final = {
    Kind.DATE: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    Kind.DATE_TIME: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2})?\Z"),
    Kind.BEHAVIOR_DATE_TIME: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
}
_POSTAL_COUNTRIES: Final = frozenset({"USA", "CAN"})
_DATE_FORMATS: Final = {
    Kind.DATE: "yyyy-MM-dd",
    Kind.DATE_TIME: "yyyy-MM-dd or yyyy-MM-dd HH:mm",
    Kind.BEHAVIOR_DATE_TIME: "yyyy-MM-dd HH:mm:ss",
}


@attrs.frozen
class Violation:
    """One broken rule: where (``Products[1].Term``, ``""`` for the root), what, which rule."""

    path: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# A node's path, built only when a violation needs it: None for the root, else
# (parent path, wire name, list index or None).
_Path = tuple[Any, str, int | None] | None


def _render(path: _Path, leaf: str | None = None) -> str:
    parts: list[str] = [] if leaf is None else [leaf]
    while path is not None:
        path, wire, index = path
        parts.append(wire if index is None else f"{wire}[{index}]")
    return ".".join(reversed(parts))


class _Walk:
    """The state of one validation: what was found, and what spans the submission."""

    __slots__ = ("out", "root", "root_fields", "seen")

    def __init__(self, root: Mapping[Any, Any], root_fields: frozenset[str]) -> None:
        self.out: list[Violation] = []
        self.root = root
        self.root_fields = root_fields
        self.seen: set[Any] = set()

    def add(self, path: _Path, leaf: str | None, message: str, rule: str) -> None:
        self.out.append(Violation(_render(path, leaf), message, rule))

    def root_lacks(self, field: str) -> bool:
        # Only where the root is a whole submission that has such a field.
        return field in self.root_fields and _blank(self.root.get(field))


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _describe(value: Any, secret: bool) -> str:
    if not secret and isinstance(value, str | int | float | Decimal):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a value of type {type(value).__name__}"


# ---------------------------------------------------- type tests (the slow paths)


def _is_int(v: Any) -> bool:
    if isinstance(v, str):
        return is_int_text(v)
    return isinstance(v, int) and not isinstance(v, bool)


def _is_plain_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_decimal(v: Any) -> bool:
    if isinstance(v, str):
        return is_decimal_text(v)
    if isinstance(v, Decimal):
        return v.is_finite()
    if isinstance(v, float):
        return math.isfinite(v)
    return _is_plain_int(v)


def _is_int_or_str(v: Any) -> bool:
    return isinstance(v, str) or _is_plain_int(v)


def _is_values(v: Any) -> bool:
    if isinstance(v, list | tuple):
        return all(_is_int_or_str(item) for item in v)
    return _is_int_or_str(v)


def _is_response(v: Any) -> bool:
    return isinstance(v, str | date) or _is_plain_int(v)


def _is_real_date(text: str) -> bool:
    """A text already of a documented shape names a real day and time (no Feb 30)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------- violation builders


def _missing(walk: _Walk, path: _Path, spec: FieldSpec) -> None:
    walk.add(path, spec.wire, spec.missing or f"{spec.wire} is missing.", "required")


def _bad_type(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(
        path,
        spec.wire,
        f"{spec.wire} must be {spec.kind.value}; got {_describe(v, spec.secret)}.",
        "type",
    )


def _bad_date(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(
        path,
        spec.wire,
        f"Your submission contained an invalid date: {spec.wire} must be "
        f"{_DATE_FORMATS[spec.kind]}; got {_describe(v, spec.secret)}.",
        "date_format",
    )


def _too_long(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(
        path,
        spec.wire,
        f"{spec.wire} must be at most {spec.max_length} characters long; got {len(v)}.",
        "max_length",
    )


def _bad_choice(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    choices = spec.choices or ()
    shown = ", ".join(repr(c) for c in choices)
    wanted = f"must be {shown}" if len(choices) == 1 else f"must be one of {shown}"
    walk.add(path, spec.wire, f"{spec.wire} {wanted}; got {_describe(v, spec.secret)}.", "choice")


def _bad_email(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(path, spec.wire, f"{spec.wire} is not valid {v}", "email")


def _bad_country(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(
        path,
        spec.wire,
        f"{spec.wire} must be a 3-character country code; got {_describe(v, spec.secret)}.",
        "format",
    )


def _too_low(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    message = (
        f"{spec.wire} was a negative number."
        if spec.minimum == 0
        else f"{spec.wire} must be at least {spec.minimum}."
    )
    walk.add(path, spec.wire, message, "range")


def _unique(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    key = v if type(v) is int else int(v)
    if key in walk.seen:
        walk.add(
            path,
            spec.wire,
            f"{spec.wire} {key} cannot be included more than once in a submission.",
            "duplicate",
        )
    else:
        walk.seen.add(key)


def _needs_root(walk: _Walk, path: _Path, spec: FieldSpec) -> None:
    article = "an" if spec.wire[0] in "AEIOU" else "a"
    walk.add(
        path,
        spec.wire,
        f"To set {article} {spec.wire}, your submission must contain an {spec.needs_root}.",
        "conditional",
    )


def _bad_nested(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    name = spec.model.__name__ if spec.model is not None else "object"
    shape = "an object" if spec.kind is Kind.OBJECT else "a list of objects"
    walk.add(
        path, spec.wire, f"{spec.wire} must be {shape} ({name}); got {_describe(v, True)}.", "type"
    )


def _bad_item(walk: _Walk, path: _Path, spec: FieldSpec, index: int, v: Any) -> None:
    name = spec.model.__name__ if spec.model is not None else "object"
    walk.add(
        (path, spec.wire, index),
        None,
        f"each {spec.wire} element must be an object ({name}); got {_describe(v, True)}.",
        "type",
    )


def _empty(walk: _Walk, path: _Path, spec: FieldSpec) -> None:
    walk.add(path, spec.wire, spec.non_empty or f"{spec.wire} is empty.", "required")


def _dependent_missing(
    walk: _Walk, path: _Path, spec: FieldSpec, other: FieldSpec, other_value: Any
) -> None:
    message = spec.missing or f"{spec.wire} is required if {other.wire} is submitted."
    if "{other}" in message:
        # Quote the other field's value only if it is not a secret.
        message = message.format(other="***" if other.secret else other_value)
    walk.add(path, spec.wire, message, "conditional")


def _country_missing(walk: _Walk, path: _Path, spec: FieldSpec) -> None:
    walk.add(path, spec.wire, spec.missing or f"{spec.wire} is missing.", "conditional")


def _bad_region(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> None:
    walk.add(
        path,
        spec.wire,
        f"{spec.wire} must be the 2-character US state or Canadian code used by the "
        f"postal service when {spec.region_of} is USA or CAN; got {_describe(v, spec.secret)}.",
        "format",
    )


def _group_missing(walk: _Walk, path: _Path, group: OneOf) -> None:
    walk.add(path, group.missing_at, group.missing, "conditional")


def _group_conflict(walk: _Walk, path: _Path, group: OneOf) -> None:
    walk.add(path, group.conflict_at, group.conflict or "", "conditional")


# ------------------------------------------------------------ compiled classes


@attrs.frozen
class _Rules:
    """One payload class's rules, compiled: ``check`` walks one node of that class."""

    name: str
    known: frozenset[str]
    folded: dict[str, str]
    check: Callable[[Mapping[Any, Any], _Path, _Walk, Any], None]
    source: str


def _fold(key: str) -> str:
    return key.replace("_", "").replace(" ", "").lower()


def _unknown_keys(
    rules: _Rules, node: Mapping[Any, Any], path: _Path, walk: _Walk, model: Any
) -> None:
    extra = model.extra_fields if model is not None else None
    for key in node:
        if key in rules.known:
            continue
        if isinstance(extra, Mapping) and key in extra:
            continue  # the escape hatch: sent as given, never validated
        if not isinstance(key, str):
            walk.add(path, repr(key), f"field names must be strings; got {key!r}.", "type")
            continue
        suggestion = rules.folded.get(_fold(key))
        if suggestion is None:
            close = difflib.get_close_matches(_fold(key), rules.folded, n=1, cutoff=0.7)
            suggestion = rules.folded[close[0]] if close else None
        hint = f"; did you mean {suggestion!r}?" if suggestion is not None else "."
        walk.add(path, key, f"Unknown field {key!r} in {rules.name}{hint}", "unknown_field")


def _check_extras(rules: _Rules, extra: Any, path: _Path, walk: _Walk) -> None:
    if not isinstance(extra, Mapping):
        walk.add(
            path,
            "extra_fields",
            f"extra_fields must be a dict of wire names to values; got {_describe(extra, True)}.",
            "type",
        )
        return
    for key in extra:
        if not isinstance(key, str):
            walk.add(path, repr(key), f"extra_fields keys must be strings; got {key!r}.", "type")
        elif key in rules.known:
            walk.add(
                path,
                key,
                f"extra_fields key {key!r} shadows the documented field {key}; "
                "set the model's own attribute instead.",
                "extra_fields",
            )


# ------------------------------------------------------------- code generation

_HELPERS: Final[dict[str, Any]] = {
    "Mapping": Mapping,
    "date": date,
    "datetime": datetime,
    "SEQUENCES": (list, tuple),
    "POSTAL_COUNTRIES": _POSTAL_COUNTRIES,
    "is_int": _is_int,
    "is_decimal": _is_decimal,
    "is_int_or_str": _is_int_or_str,
    "is_values": _is_values,
    "is_response": _is_response,
    "is_real_date": _is_real_date,
    "email_match": _EMAIL.match,
    "country_match": _COUNTRY_CODE.match,
    "region_match": _REGION_CODE.match,
    "missing": _missing,
    "bad_type": _bad_type,
    "bad_date": _bad_date,
    "too_long": _too_long,
    "bad_choice": _bad_choice,
    "bad_email": _bad_email,
    "bad_country": _bad_country,
    "too_low": _too_low,
    "unique": _unique,
    "needs_root": _needs_root,
    "bad_nested": _bad_nested,
    "bad_item": _bad_item,
    "empty": _empty,
    "dependent_missing": _dependent_missing,
    "country_missing": _country_missing,
    "bad_region": _bad_region,
    "group_missing": _group_missing,
    "group_conflict": _group_conflict,
    "unknown_keys": _unknown_keys,
    "check_extras": _check_extras,
}

# A test that is true when ``v`` has the wrong type; the cheap exact-type test
# comes first so the common case never calls a function.
_BAD_TYPE: Final[dict[Kind, str]] = {
    Kind.STR: "type(v) is not str and not isinstance(v, str)",
    Kind.INT: "type(v) is not int and not is_int(v)",
    Kind.DECIMAL: "not is_decimal(v)",
    Kind.BOOL: "type(v) is not bool",
    Kind.INT_OR_STR: "type(v) is not str and type(v) is not int and not is_int_or_str(v)",
    Kind.DEMOGRAPHIC_VALUE: "type(v) is not int and not is_values(v)",
    Kind.RESPONSE_VALUE: "type(v) is not str and not is_response(v)",
}
# Which Python objects a date field takes besides text (a date field given a
# datetime sends its date; BehaviorDate needs a time of day).
_DATE_OBJECTS: Final = {
    Kind.DATE: "date",
    Kind.DATE_TIME: "date",
    Kind.BEHAVIOR_DATE_TIME: "datetime",
}


def _blank_test(var: str) -> str:
    """Python source that is true when ``var`` holds nothing: None, "" or an empty list."""
    return f"({var} is None or {var} == '' or (type({var}) in SEQUENCES and not {var}))"


def _value_checks(spec: FieldSpec, f: str) -> list[str]:
    """Checks on a value already of the right type, one statement each."""
    as_int = "(v if type(v) is int else int(v))"
    checks: list[str] = []
    if spec.max_length is not None:
        checks.append(f"if len(v) > {spec.max_length}: too_long(walk, path, {f}, v)")
    if spec.choices is not None:
        subject = as_int if spec.kind is Kind.INT else "v"
        checks.append(f"if {subject} not in {f}_CHOICES: bad_choice(walk, path, {f}, v)")
    if spec.text_format is TextFormat.EMAIL:
        checks.append(f"if email_match(v) is None: bad_email(walk, path, {f}, v)")
    if spec.text_format is TextFormat.COUNTRY_CODE:
        checks.append(f"if country_match(v) is None: bad_country(walk, path, {f}, v)")
    if spec.minimum is not None:
        checks.append(f"if {as_int} < {spec.minimum}: too_low(walk, path, {f}, v)")
    if spec.unique:
        checks.append(f"unique(walk, path, {f}, v)")
    if spec.needs_root is not None:
        checks.append(f"if walk.root_lacks({spec.needs_root!r}): needs_root(walk, path, {f})")
    return checks


def _field_source(spec: FieldSpec, attribute: str, f: str) -> list[str]:
    """The lines that check one field of a node."""
    lines = [f"v = get({spec.wire!r})"]
    if spec.required:
        lines += ["if v is None or v == '':", f"    missing(walk, path, {f})", "else:"]
    else:
        lines += ["if v is not None:"]
    body: list[str]
    if spec.kind is Kind.OBJECT:
        body = [
            "if type(v) is dict or isinstance(v, Mapping):",
            f"    c = model.{attribute} if model is not None else None",
            f"    {f}_CHECK(v, (path, {spec.wire!r}, None), walk, "
            f"c if isinstance(c, {f}_CLS) else None)",
            "else:",
            f"    bad_nested(walk, path, {f}, v)",
        ]
    elif spec.kind is Kind.LIST:
        body = ["if type(v) is list or isinstance(v, SEQUENCES):"]
        if spec.non_empty is not None:
            body += [f"    if not v: empty(walk, path, {f})"]
        body += [
            f"    ms = model.{attribute} if model is not None else None",
            "    if ms is not None and (not isinstance(ms, SEQUENCES) or len(ms) != len(v)):",
            "        ms = None",
            "    i = 0",
            "    for item in v:",
            "        if type(item) is dict or isinstance(item, Mapping):",
            "            if ms is None:",
            f"                {f}_CHECK(item, (path, {spec.wire!r}, i), walk, None)",
            "            else:",
            "                c = ms[i]",
            f"                {f}_CHECK(item, (path, {spec.wire!r}, i), walk, "
            f"c if isinstance(c, {f}_CLS) else None)",
            "        else:",
            f"            bad_item(walk, path, {f}, i, item)",
            "        i += 1",
            "else:",
            f"    bad_nested(walk, path, {f}, v)",
        ]
    elif spec.kind in _DATE_OBJECTS:
        body = [
            "if type(v) is str:",
            f"    if {f}_SHAPE(v) is None or not is_real_date(v):",
            f"        bad_date(walk, path, {f}, v)",
            f"elif not isinstance(v, {_DATE_OBJECTS[spec.kind]}):",
            f"    bad_type(walk, path, {f}, v)",
        ]
    else:
        checks = _value_checks(spec, f)
        body = [f"if {_BAD_TYPE[spec.kind]}:", f"    bad_type(walk, path, {f}, v)"]
        if len(checks) == 1 and checks[0].startswith("if "):
            body += ["el" + checks[0]]
        elif checks:
            body += ["else:"] + ["    " + check for check in checks]
    return lines + ["    " + line for line in body]


def _sibling_source(
    specs: tuple[tuple[str, FieldSpec], ...], names: dict[str, str], groups: tuple[OneOf, ...]
) -> list[str]:
    """The lines for the rules between sibling fields (the page's "conditional" rows)."""
    lines: list[str] = []
    by_wire = {spec.wire: spec for _, spec in specs}
    for _, spec in specs:
        if spec.required_with is not None:
            f, other = names[spec.wire], names[spec.required_with]
            lines += [
                f"o = get({spec.required_with!r})",
                f"if not {_blank_test('o')}:",
                f"    v = get({spec.wire!r})",
                f"    if {_blank_test('v')}: dependent_missing(walk, path, {f}, {other}, o)",
            ]
    for country_field in dict.fromkeys(
        s.required_in_country or s.region_of
        for _, s in specs
        if s.required_in_country or s.region_of
    ):
        assert country_field in by_wire, country_field
        lines += [
            f"o = get({country_field!r})",
            "if type(o) is str and o.upper() in POSTAL_COUNTRIES:",
        ]
        for _, spec in specs:
            f = names[spec.wire]
            if spec.required_in_country == country_field:
                lines += [
                    f"    v = get({spec.wire!r})",
                    f"    if {_blank_test('v')}: country_missing(walk, path, {f})",
                ]
            if spec.region_of == country_field:
                lines += [
                    f"    v = get({spec.wire!r})",
                    "    if type(v) is str and v and region_match(v) is None:",
                    f"        bad_region(walk, path, {f}, v)",
                ]
    for index, group in enumerate(groups):
        g = f"G{index}"
        indent = ""
        if group.when_any:
            triggers = " or ".join(
                f"not {_blank_test(f'o{i}')}" for i in range(len(group.when_any))
            )
            lines += [f"o{i} = get({w!r})" for i, w in enumerate(group.when_any)]
            lines += [f"if {triggers}:"]
            indent = "    "
        lines += [indent + "n = 0"]
        for wire in group.fields:
            lines += [indent + f"v = get({wire!r})", indent + f"if not {_blank_test('v')}: n += 1"]
        lines += [indent + f"if n == 0: group_missing(walk, path, {g})"]
        if group.conflict is not None:
            lines += [indent + f"elif n > 1: group_conflict(walk, path, {g})"]
    return lines


@functools.cache
def _compiled() -> dict[type[Payload], _Rules]:
    """Every payload class's rules, compiled once (leaves first: a check calls its children's)."""
    compiled: dict[type[Payload], _Rules] = {}
    for cls in PAYLOAD_CLASSES:
        compiled[cls] = _compile(cls, compiled)
    return compiled


def _rules_for(cls: type[Payload]) -> _Rules:
    return _compiled()[cls]


def _compile(cls: type[Payload], compiled: Mapping[type[Payload], _Rules]) -> _Rules:
    namespace: dict[str, Any] = dict(_HELPERS)
    specs = spec_fields(cls)
    names: dict[str, str] = {}
    body: list[str] = []
    for index, (attribute, spec) in enumerate(specs):
        f = names[spec.wire] = f"F{index}"
        namespace[f] = spec
        if spec.model is not None:
            namespace[f"{f}_CHECK"] = compiled[spec.model].check
            namespace[f"{f}_CLS"] = spec.model
        if spec.choices is not None:
            namespace[f"{f}_CHOICES"] = frozenset(spec.choices)
        if spec.kind in _DATE_SHAPES:
            namespace[f"{f}_SHAPE"] = _DATE_SHAPES[spec.kind].match
        body += _field_source(spec, attribute, f)
    groups = cls._omeda_rules
    for index, group in enumerate(groups):
        namespace[f"G{index}"] = group
    body += _sibling_source(specs, names, groups)
    body += [
        "if model is not None and model.extra_fields is not None:",
        "    check_extras(RULES, model.extra_fields, path, walk)",
    ]
    name = f"check_{cls.__name__}"
    source = "\n".join(
        [
            f"def {name}(node, path, walk, model):",
            "    if not KNOWN.issuperset(node):",
            "        unknown_keys(RULES, node, path, walk, model)",
            "    get = node.get",
            *("    " + line for line in body),
        ]
    )
    known = frozenset(names)
    namespace["KNOWN"] = known
    exec(compile(source, f"<omeda_async validator for {cls.__name__}>", "exec"), namespace)
    rules = _Rules(
        name=cls.__name__,
        known=known,
        folded={_fold(w): w for w in sorted(known)},
        check=namespace[name],
        source=source,
    )
    namespace["RULES"] = rules
    return rules


# ----------------------------------------------------------------- public API


def validate_wire(
    payload: Any, schema: type[Payload], model: Payload | None = None
) -> list[Violation]:
    """Check a wire dict against ``schema``'s rules (``model``: the model it came from)."""
    if not isinstance(payload, Mapping):
        return [
            Violation(
                "",
                f"a {schema.__name__} payload must be a JSON object (a mapping); "
                f"got {_describe(payload, True)}.",
                "type",
            )
        ]
    rules = _rules_for(schema)
    walk = _Walk(payload, rules.known)
    rules.check(payload, None, walk, model)
    return walk.out


def validate(payload: Any, *, schema: type[Payload] | None = None) -> list[Violation]:
    """Every documented Omeda rule ``payload`` breaks (an empty list if none).

    ``payload`` is a model or a wire dict (PascalCase keys, as Omeda's examples
    write them). A dict is a ``CustomerAndOrder`` (storecustomerandorder) payload
    unless ``schema`` names another model class, e.g. ``schema=Order`` for
    orderqueue. A model is checked against its own class. Never raises for a
    bad payload: anything that is not a mapping is one violation at ``""``.
    """
    if schema is not None and not (isinstance(schema, type) and issubclass(schema, Payload)):
        raise TypeError(f"schema must be a payload model class, not {schema!r}")
    if isinstance(payload, Payload):
        cls = type(payload)
        if schema is not None and schema is not cls:
            return [
                Violation(
                    "",
                    f"expected a {schema.__name__} payload, got a {cls.__name__} model.",
                    "type",
                )
            ]
        return validate_wire(payload_converter().unstructure(payload), cls, payload)
    return validate_wire(payload, schema or CustomerAndOrder)
