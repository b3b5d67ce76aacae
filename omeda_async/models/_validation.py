"""``validate``: every documented rule a payload breaks, with its JSON path.

Rules are checked on Omeda's WIRE form (PascalCase keys, the values sent):
a dict is checked as given, a model as the dict it unstructures to; the fake
server validates the bodies it receives with this same code. One walk
collects every violation: it never stops at the first and never raises for a
bad payload.

The same walk builds the wire dict that is sent (:func:`checked_wire`, which
the request builders use), so checking and serializing cost one pass:

* from a model, it reads the attributes and converts each value with the
  converter's own hook, giving exactly ``payload_converter().unstructure``
  (key order included);
* from a dict, it keeps values already in wire form and converts the rest as
  structuring then unstructuring would (digit-string ids -> int, money to its
  exact text, dates to Omeda's formats), so a dict and the model it describes
  are sent as the same bytes, whatever the key order of the dict.

The rules come from the :class:`~._payloads.FieldSpec` table the converter is
built from. Each payload class's rules are compiled once, on first use, into
two straight-line Python functions (as attrs and cattrs generate theirs), one
per input, from the same per-field snippets: the common case, a value of the
right type within its limits, costs an attribute read or a dict lookup, a
type test and a store, and only a broken rule calls out to build its message.
``_RULES[cls].source`` shows the generated code. As in cattrs, each generated
function has its own file name in ``linecache`` and its locals are named after
the wire fields, so a traceback through a pass (and ``inspect.getsource``)
shows the line, e.g. ``if len(Company) > 255: too_long(...)``. A class with
many optional fields also gets wire passes made for one set of keys
(``_Shapes``): a job's records mostly share a few, and such a pass skips the
absent fields.

Rule codes: ``required``, ``conditional`` (a rule between fields), ``type``,
``max_length``, ``choice``, ``date_format``, ``email``, ``format`` (country and
region codes), ``range``, ``duplicate``, ``unknown_field`` and ``extra_fields``
(a key of a model's ``extra_fields`` that shadows a documented field).
Messages use Omeda's own wording where its pages list an error for the rule,
and never quote a card number, security code or expiration date.
"""

from __future__ import annotations

import difflib
import itertools
import keyword
import linecache
import math
import re
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs
from cattrs.fns import identity

from omeda_async._errors import Violation

from ._converter import (
    INT_TEXT,
    is_decimal_text,
    is_int_text,
    payload_converter,
    scalar_unstructure_hook,
    spec_fields,
    wire_normalizer,
)
from ._payloads import (
    PAYLOAD_CLASSES,
    CustomerAndOrder,
    FieldSpec,
    Kind,
    OneOf,
    Payload,
    TextFormat,
)

__all__ = ["STRUCTURAL_RULES", "Violation", "checked_wire", "validate"]

#: Rule codes about the shape of the data (as opposed to Omeda's business rules).
STRUCTURAL_RULES: Final = frozenset({"type", "unknown_field", "date_format"})

_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z"
)
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
    """The state of one pass: what was found, and what spans the submission.

    ``root`` is the submission's wire dict; the model pass points it at the
    dict it is building, whose top-level ids are in place before any nested
    rule reads them (see ``_compile``).
    """

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
        for item in v:  # a loop, not all(): this runs for every demographic list
            if type(item) is not int and type(item) is not str and not _is_int_or_str(item):
                return False
        return True
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


def _as_int(walk: _Walk, path: _Path, spec: FieldSpec, v: Any) -> int | None:
    """An integer field's ``v`` that is not a plain int, as the int sent; None once reported.

    Digit strings and IntEnum members are accepted (the pages send ids both
    ways); a digit string longer than ``int()`` reads is a type violation.
    """
    if _is_int(v):
        try:
            return int(v)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            pass
    _bad_type(walk, path, spec, v)
    return None


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
    if spec.invalid is not None:
        # Omeda's own message quotes the value bare (999, not '999').
        text = "***" if spec.secret else str(v)
        shown = text if len(text) <= 60 else text[:57] + "..."
        walk.add(path, spec.wire, spec.invalid.format(value=shown), "choice")
        return
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


def _unique(walk: _Walk, path: _Path, spec: FieldSpec, v: int) -> None:
    if v in walk.seen:
        walk.add(
            path,
            spec.wire,
            f"{spec.wire} {v} cannot be included more than once in a submission.",
            "duplicate",
        )
    else:
        walk.seen.add(v)


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
    """One payload class's rules, compiled into its two passes.

    ``from_wire(node, path, walk, model)`` checks a wire dict and returns it as
    it is sent (``model``: the model it was unstructured from, if any);
    ``from_model(model, path, walk)`` checks a model and returns exactly
    ``unstructure(model)``, the converter's hook for the class.
    """

    name: str
    known: frozenset[str]
    folded: dict[str, str]
    from_wire: Callable[[Mapping[Any, Any], _Path, _Walk, Any], dict[Any, Any]]
    from_model: Callable[[Any, _Path, _Walk], dict[Any, Any]]
    unstructure: Callable[[Any], dict[Any, Any]]
    source: str
    shapes: _Shapes | None = None


_WirePass = Callable[[Mapping[Any, Any], _Path, _Walk, Any], dict[Any, Any]]

#: Classes with at least this many optional fields get wire passes specialized by shape.
_SPECIALIZE_FROM: Final = 8
#: At most this many specialized passes per class, and shapes counted towards one.
_MAX_SHAPES: Final = 32
_MAX_SEEN: Final = 1024


class _Shapes(dict[tuple[Any, ...], "_WirePass | None"]):
    """A class's wire passes specialized to one shape of dict, keyed by its keys in order.

    Most fields of a payload class are optional, and most records of a job have
    the same few: the general wire pass tests each field for presence, while a
    pass made for one set of keys reads the present ones and does nothing for the
    rest (a required one is reported missing). Both come from the same per-field
    snippets, so they find the same violations, in the same order, and build the
    same dict. A set of keys gets its pass the ``sightings``-th time it is seen
    (a one-off record costs no compile), for at most ``_MAX_SHAPES`` sets per
    class; one with an unknown key never does (the general pass reports it).

    ``shapes[tuple(node)]`` is the pass for ``node``, or None: use the general one.
    """

    sightings = 2

    def __init__(self, known: frozenset[str], make: Callable[[frozenset[str]], _WirePass]) -> None:
        super().__init__()
        self._known = known
        self._make = make
        self._by_keys: dict[frozenset[str], _WirePass] = {}
        self._seen: dict[frozenset[str], int] = {}

    def clear(self) -> None:
        """Forget every shape: seen, and specialized."""
        super().clear()
        self._by_keys.clear()
        self._seen.clear()

    def __missing__(self, shape: tuple[Any, ...]) -> _WirePass | None:
        if len(self) >= _MAX_SHAPES or not self._known.issuperset(shape):
            return None
        keys = frozenset(shape)
        special = self._by_keys.get(keys)
        if special is None:
            if len(self._by_keys) >= _MAX_SHAPES:
                return None
            seen = self._seen.get(keys, 0) + 1
            if seen < self.sightings:
                if len(self._seen) < _MAX_SEEN:
                    self._seen[keys] = seen
                return None
            special = self._by_keys[keys] = self._make(keys)
            self._seen.pop(keys, None)
        self[shape] = special
        return special


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


def _through_the_converter(rules: _Rules, model: Any, path: _Path, walk: _Walk) -> dict[Any, Any]:
    """The model pass when extra_fields is not a plain dict, or shadows a documented field.

    Merged extras then change what the wire dict holds under a documented
    name, so the converter unstructures the model and that dict is checked,
    paired with its model. Rare: it is a violation but for a read-only mapping.
    """
    wire = rules.unstructure(model)
    if path is None:
        walk.root = wire
    rules.from_wire(wire, path, walk, model)
    return wire


# No model behind any element: zipped with a wire list, it pairs each with None.
_UNPAIRED: Final = itertools.repeat(None)


def _paired(models: Any, items: Any, cls: type[Payload]) -> Any:
    """The model behind each element of a wire list (None where there is none)."""
    if not isinstance(models, list | tuple) or len(models) != len(items):
        return _UNPAIRED
    return [c if isinstance(c, cls) else None for c in models]


def _paired_one(model: Any, cls: type[Payload]) -> Any:
    return model if isinstance(model, cls) else None


# ------------------------------------------------------------- code generation

_HELPERS: Final[dict[str, Any]] = {
    "Mapping": Mapping,
    "date": date,
    "datetime": datetime,
    "Decimal": Decimal,
    "SEQUENCES": (list, tuple),
    "POSTAL_COUNTRIES": _POSTAL_COUNTRIES,
    "as_int": _as_int,
    "int_text": INT_TEXT.match,
    # Digit strings shorter than this always convert, whatever int()'s digit limit is set to.
    "SAFE_DIGITS": sys.int_info.str_digits_check_threshold,
    "is_decimal": _is_decimal,
    "is_int_or_str": _is_int_or_str,
    "is_values": _is_values,
    "is_response": _is_response,
    "is_real_date": _is_real_date,
    "email_match": _EMAIL.match,
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
    "through_the_converter": _through_the_converter,
    "paired": _paired,
    "paired_one": _paired_one,
}
# The locals every pass uses besides the fields' own (see _local).
_PASS_LOCALS: Final = frozenset(
    {"node", "path", "walk", "model", "get", "out", "special", "m", "extra"}
    | {"items", "item", "i", "c", "n"}
)

# Which Python objects a date field takes besides text (a date field given a
# datetime sends its date; BehaviorDate needs a time of day).
_DATE_OBJECTS: Final = {
    Kind.DATE: "date",
    Kind.DATE_TIME: "date",
    Kind.BEHAVIOR_DATE_TIME: "datetime",
}
# Model values whose wire form is of the right type by construction, so the model
# pass only checks their limits: the test (``{v}``: the field's local), and whether
# the kind's hook converts them (a date's text is in the documented shape, a
# finite Decimal's is a plain number, an int is sent as it is).
_WIRE_TYPED: Final = {
    Kind.INT: ("type({v}) is int", False),
    Kind.DATE: ("type({v}) is date or type({v}) is datetime", True),
    Kind.DATE_TIME: ("type({v}) is date or type({v}) is datetime", True),
    Kind.BEHAVIOR_DATE_TIME: ("type({v}) is datetime", True),
    Kind.DECIMAL: ("type({v}) is Decimal and {v}.is_finite()", True),
}
# Kinds whose unstructure hook is the identity: the model pass sends their values as given.
_AS_GIVEN: Final = frozenset(
    kind
    for kind in Kind
    if kind not in (Kind.OBJECT, Kind.LIST) and scalar_unstructure_hook(kind) is identity
)


# Names in the generated code, all made from the field's wire name, so a traceback
# line reads as the rule it checks: ``if len(Company) > 255: too_long(walk, path,
# SPEC_Company, Company)``. The passes' own locals are lower case, the namespace's
# constants upper case, and a wire name is PascalCase: they cannot collide
# (``_compile`` checks).


def _local(spec: FieldSpec) -> str:
    """The local that holds the field's value in a pass: its wire name."""
    return spec.wire


def _const(kind: str, spec: FieldSpec) -> str:
    """A namespace constant of the field: ``SPEC_Company``, ``HOOK_SignupDate`` ..."""
    return f"{kind}_{spec.wire}"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _branch(test: str, then: list[str], otherwise: list[str] | None = None) -> list[str]:
    """``if test: then [else: otherwise]``, or ``if not (test): otherwise`` if ``then`` is empty."""
    if not then:
        return [f"if not ({test}):", *_indent(otherwise)] if otherwise else []
    return [f"if {test}:", *_indent(then)] + (["else:", *_indent(otherwise)] if otherwise else [])


def _blank_test(var: str) -> str:
    """Python source that is true when ``var`` holds nothing: None, "" or an empty list.

    Truthiness first: a present value (the common case) costs one test.
    """
    return f"(not {var} and ({var} is None or {var} == '' or type({var}) in SEQUENCES))"


def _value_checks(spec: FieldSpec, sent: str | None = None) -> list[str]:
    """Checks on a value of the right type, one statement each.

    ``sent`` names the value in wire form where it differs from the field's
    local (an integer field's digit string as its int); messages quote the
    value as given.
    """
    v, f = _local(spec), _const("SPEC", spec)
    w = sent or v
    checks: list[str] = []
    if spec.max_length is not None:
        checks.append(f"if len({v}) > {spec.max_length}: too_long(walk, path, {f}, {v})")
    if spec.choices is not None:
        choices = _const("CHOICES", spec)
        checks.append(f"if {w} not in {choices}: bad_choice(walk, path, {f}, {v})")
    if spec.text_format is TextFormat.EMAIL:
        checks.append(f"if email_match({v}) is None: bad_email(walk, path, {f}, {v})")
    if spec.text_format is TextFormat.COUNTRY_CODE:
        # Three ASCII letters: str tests cost half a regex match.
        letters = f"len({v}) == 3 and {v}.isascii() and {v}.isalpha()"
        checks.append(f"if not ({letters}): bad_country(walk, path, {f}, {v})")
    if spec.minimum is not None:
        checks.append(f"if {w} < {spec.minimum}: too_low(walk, path, {f}, {v})")
    if spec.unique:
        checks.append(f"unique(walk, path, {f}, {w})")
    if spec.needs_root is not None:
        checks.append(f"if walk.root_lacks({spec.needs_root!r}): needs_root(walk, path, {f})")
    return checks


def _scalar_source(spec: FieldSpec, store: bool) -> list[str]:
    """Check the field's present scalar value; with ``store``, put its wire form in ``out``.

    The first test is for the wire form itself, so the common case costs a
    type test; any other value the kind accepts is sent as ``NORMAL_<field>``
    makes it (the converter's structure hook, then its unstructure hook).
    """
    v, f = _local(spec), _const("SPEC", spec)

    def put(expr: str) -> list[str]:
        return [f"out[{spec.wire!r}] = {expr}"] if store else []

    bad = [f"bad_type(walk, path, {f}, {v})"]
    kind = spec.kind
    if kind is Kind.INT:
        # Inline for an int or digit-string id (the pages send both); as_int for the rest.
        w = f"{v}_int"
        digits = f"type({v}) is str and int_text({v}) is not None and len({v}) < SAFE_DIGITS"
        convert = [
            f"if type({v}) is int: {w} = {v}",
            f"elif {digits}: {w} = int({v})",
            f"else: {w} = as_int(walk, path, {f}, {v})",
        ]
        return convert + _branch(f"{w} is not None", put(w) + _value_checks(spec, w))
    checks = _value_checks(spec)
    normal = _const("NORMAL", spec)
    if kind is Kind.STR:
        return _branch(f"type({v}) is str or isinstance({v}, str)", put(v) + checks, bad)
    if kind is Kind.BOOL:
        return _branch(f"type({v}) is bool", put(v) + checks, bad)
    if kind is Kind.INT_OR_STR:
        test = f"type({v}) is str or type({v}) is int or is_int_or_str({v})"
        return _branch(test, put(v) + checks, bad)
    if kind is Kind.DECIMAL:
        return _branch(f"is_decimal({v})", put(f"{normal}({v})") + checks, bad)
    assert not checks, f"{spec.wire}: the table gives {kind} no value checks"
    if kind in _DATE_OBJECTS:
        # Text of a documented shape is sent as written: it reads back as itself.
        text = _branch(
            f"{_const('SHAPE', spec)}({v}) is None or not is_real_date({v})",
            [f"bad_date(walk, path, {f}, {v})"],
            put(v),
        )
        objects = _branch(f"isinstance({v}, {_DATE_OBJECTS[kind]})", put(f"{normal}({v})"), bad)
        return _branch(f"type({v}) is str", text, objects)
    if kind is Kind.DEMOGRAPHIC_VALUE:
        as_given, accepted = f"type({v}) is int or type({v}) is str", f"is_values({v})"
    elif kind is Kind.RESPONSE_VALUE:
        as_given, accepted = f"type({v}) is str or type({v}) is int", f"is_response({v})"
    else:  # pragma: no cover - every Kind is handled above
        raise AssertionError(kind)
    return _branch(as_given, put(v), _branch(accepted, put(f"{normal}({v})"), bad))


def _nested_source(spec: FieldSpec, attribute: str, store: bool, paired: bool) -> list[str]:
    """Check the field's present value, an object or a list of them, as wire dicts.

    ``paired``: ``model`` (the from_wire argument) may be the model the dict
    was unstructured from; its nested models are passed on with their dicts.
    """
    wire, v, f = spec.wire, _local(spec), _const("SPEC", spec)
    wire_pass, cls = _const("WIRE", spec), _const("CLS", spec)
    if spec.kind is Kind.OBJECT:
        c = f"None if model is None else paired_one(model.{attribute}, {cls})"
        call = f"{wire_pass}({v}, (path, {wire!r}, None), walk, {c if paired else 'None'})"
        return _branch(
            f"type({v}) is dict or isinstance({v}, Mapping)",
            [f"out[{wire!r}] = {call}" if store else call],
            [f"bad_nested(walk, path, {f}, {v})"],
        )

    def loop(header: str, c: str) -> list[str]:
        call = f"{wire_pass}(item, (path, {wire!r}, i), walk, {c})"
        return [
            header,
            *_indent(
                _branch(
                    "type(item) is dict or isinstance(item, Mapping)",
                    [f"items.append({call})" if store else call],
                    [f"bad_item(walk, path, {f}, i, item)"],
                )
            ),
        ]

    plain = loop(f"for i, item in enumerate({v}):", "None")
    if paired:
        # Only a dict unstructured from a model has models to pair its items with.
        pairs = f"paired(model.{attribute}, {v}, {cls})"
        plain = _branch(
            "model is None", plain, loop(f"for i, (item, c) in enumerate(zip({v}, {pairs})):", "c")
        )
    body = [f"if not {v}: empty(walk, path, {f})"] if spec.non_empty is not None else []
    body += [*(["items = []"] if store else []), *plain]
    body += [f"out[{wire!r}] = items"] if store else []
    return _branch(
        f"type({v}) is list or isinstance({v}, SEQUENCES)",
        body,
        [f"bad_nested(walk, path, {f}, {v})"],
    )


def _present_source(spec: FieldSpec, attribute: str, store: bool, paired: bool) -> list[str]:
    """Check a present (not None, not required-but-blank) value of one field."""
    if spec.model is not None:
        return _nested_source(spec, attribute, store, paired)
    return _scalar_source(spec, store)


def _absent_source(spec: FieldSpec, sent: bool) -> list[str]:
    """A field that is absent: missing if required; out of ``out`` if it opens it (``sent``)."""
    return ([f"missing(walk, path, {_const('SPEC', spec)})"] if spec.required else []) + (
        [f"del out[{spec.wire!r}]"] if sent else []
    )


def _wire_field_source(
    spec: FieldSpec, attribute: str, sent: bool, shape: frozenset[str] | None = None
) -> list[str]:
    """The wire pass over one field: read it from the node, check it, store its wire form.

    The field's local keeps the value as given, for the sibling rules too.
    ``shape``: the node's keys, for a pass specialized to them (None: any node).
    """
    v = _local(spec)
    present = _present_source(spec, attribute, store=True, paired=True)
    absent = _absent_source(spec, sent)
    read = f"{v} = node[{spec.wire!r}]"
    if shape is not None:
        # Whether the field is there is known: absent, it is what get() gives None.
        if spec.wire not in shape:
            return absent
        fetch = read
    else:
        fetch = f"{v} = get({spec.wire!r})"
    if spec.required:
        return [fetch, *_branch(f"{v} is None or {v} == ''", absent, present)]
    if absent:
        return [fetch, *_branch(f"{v} is None", absent, present)]
    if shape is not None:
        return [read, *_branch(f"{v} is not None", present)]
    # Most optional fields are absent from a given record: a membership test
    # costs less than get() and a None test. (Sibling-rule locals start as None.)
    return _branch(f"{spec.wire!r} in node", [read, *_branch(f"{v} is not None", present)])


def _model_field_source(spec: FieldSpec, attribute: str, sent: bool) -> list[str]:
    """The model pass over one field: read the attribute, store its wire form, check that.

    A nested model (or a list of them) goes through its own class's model
    pass; any other value is stored as the converter's hook makes it and
    checked as the wire pass would check it. The field's local ends holding
    the wire value (None if absent), which the sibling rules read.
    """
    wire, v, f = spec.wire, _local(spec), _const("SPEC", spec)
    cls, model_pass, wire_pass = _const("CLS", spec), _const("MODEL", spec), _const("WIRE", spec)
    # A value that is not a model of the field's class is sent as given by the nested hooks.
    hook = spec.model is None and spec.kind not in _AS_GIVEN
    stored = [f"out[{wire!r}] = {v}"]
    if hook:
        stored = [f"{v} = {_const('HOOK', spec)}({v})", *stored]
    checked = _present_source(spec, attribute, store=False, paired=False)
    if spec.required:
        checked = _branch(f"{v} == ''", [f"missing(walk, path, {f})"], checked)
    as_hooked = stored + checked
    if spec.kind is Kind.OBJECT:
        present = _branch(
            f"type({v}) is {cls} or isinstance({v}, {cls})",
            [f"out[{wire!r}] = {model_pass}({v}, (path, {wire!r}, None), walk)"],
            as_hooked,
        )
    elif spec.kind is Kind.LIST:
        # The converter's list hook: exact lists and tuples only; other items as they are.
        item = _branch(
            "type(item) is dict or isinstance(item, Mapping)",
            [f"{wire_pass}(item, (path, {wire!r}, i), walk, None)"],
            [f"bad_item(walk, path, {f}, i, item)"],
        )
        loop = [
            *([f"if not {v}: empty(walk, path, {f})"] if spec.non_empty is not None else []),
            "items = []",
            f"for i, item in enumerate({v}):",
            *_indent(
                _branch(
                    f"type(item) is {cls} or isinstance(item, {cls})",
                    [f"items.append({model_pass}(item, (path, {wire!r}, i), walk))"],
                    ["items.append(item)", *item],
                )
            ),
            f"out[{wire!r}] = items",
        ]
        present = _branch(f"type({v}) is list or type({v}) is tuple", loop, as_hooked)
    elif spec.kind in _WIRE_TYPED:
        test, hooked = _WIRE_TYPED[spec.kind]
        typed = [f"{v} = {_const('HOOK', spec)}({v})"] if hooked else []
        typed += [f"out[{wire!r}] = {v}", *_value_checks(spec)]
        present = _branch(test.format(v=v), typed, as_hooked)
    else:
        present = as_hooked
    return [
        f"{v} = m.{attribute}",
        *_branch(f"{v} is not None", present, _absent_source(spec, sent)),
    ]


def _sibling_fields(
    specs: tuple[tuple[str, FieldSpec], ...], groups: tuple[OneOf, ...]
) -> set[str]:
    """The fields the rules between siblings read (their locals must always be set)."""
    wires: set[str] = set()
    for _, spec in specs:
        for other in (spec.required_with, spec.required_in_country, spec.region_of):
            if other is not None:
                wires |= {spec.wire, other}
    for group in groups:
        wires |= {*group.fields, *group.when_any}
    return wires


def _sibling_source(
    specs: tuple[tuple[str, FieldSpec], ...], groups: tuple[OneOf, ...]
) -> list[str]:
    """The lines for the rules between sibling fields (the page's "conditional" rows).

    Each field's local (its wire name) holds its value, None if absent.
    """
    by_wire = {spec.wire: spec for _, spec in specs}
    lines: list[str] = []
    for _, spec in specs:
        if spec.required_with is not None:
            other = by_wire[spec.required_with]
            o, v = _local(other), _local(spec)
            lines += [
                f"if not {_blank_test(o)} and {_blank_test(v)}:",
                f"    dependent_missing(walk, path, {_const('SPEC', spec)}, "
                f"{_const('SPEC', other)}, {o})",
            ]
    countries = [c for _, s in specs if (c := s.required_in_country or s.region_of) is not None]
    for country_field in dict.fromkeys(countries):
        o = _local(by_wire[country_field])
        lines += [f"if type({o}) is str and {o}.upper() in POSTAL_COUNTRIES:"]
        for _, spec in specs:
            f, v = _const("SPEC", spec), _local(spec)
            if spec.required_in_country == country_field:
                lines += [f"    if {_blank_test(v)}: country_missing(walk, path, {f})"]
            if spec.region_of == country_field:
                # two ASCII letters
                lines += [
                    f"    if type({v}) is str and {v} and not "
                    f"(len({v}) == 2 and {v}.isascii() and {v}.isalpha()):",
                    f"        bad_region(walk, path, {f}, {v})",
                ]
    for index, group in enumerate(groups):
        g = f"ONE_OF_{index}"
        count = [
            "n = " + " + ".join(f"(not {_blank_test(wire)})" for wire in group.fields),
            f"if n == 0: group_missing(walk, path, {g})",
            *([f"elif n > 1: group_conflict(walk, path, {g})"] if group.conflict else []),
        ]
        if group.when_any:
            triggers = " or ".join(f"not {_blank_test(wire)}" for wire in group.when_any)
            count = [f"if {triggers}:", *_indent(count)]
        lines += count
    return lines


def _root_fields_come_first(specs: tuple[tuple[str, FieldSpec], ...]) -> bool:
    """The model pass builds the root dict as nested rules read it: ids must precede children."""
    wires = [spec.wire for _, spec in specs]
    read = {s.needs_root for c in PAYLOAD_CLASSES for _, s in spec_fields(c) if s.needs_root}
    first_nested = min((i for i, (_, s) in enumerate(specs) if s.model), default=len(specs))
    return all(wires.index(w) < first_nested for w in read if w in wires)


def _source_file(title: str, source: str) -> str:
    """A unique file name for generated ``source``, registered in ``linecache``.

    As cattrs does for its generated functions (``cattrs/gen/_lc.py``): a
    traceback through a pass, and ``inspect.getsource`` of one, then show its
    lines. A name already registered with other text gets a number.
    """
    lines = source.splitlines(keepends=True)
    filename = f"<omeda_async {title}>"
    number = 1
    while True:
        entry = (len(source), None, lines, filename)
        # A None mtime: linecache.checkcache keeps the entry (there is no file to check).
        if linecache.cache.setdefault(filename, entry) == entry:
            return filename
        number += 1
        filename = f"<omeda_async {title} #{number}>"


def _define(function: str, source: str, title: str, namespace: dict[str, Any]) -> Any:
    """Compile one generated function under its own registered file name."""
    defined: dict[str, Any] = {}
    exec(compile(source, _source_file(title, source), "exec"), namespace, defined)
    return defined[function]


def _compile(cls: type[Payload], compiled: Mapping[type[Payload], _Rules]) -> _Rules:
    """Generate, compile and register ``cls``'s passes (its children's from ``compiled``)."""
    namespace: dict[str, Any] = dict(_HELPERS)
    specs = spec_fields(cls)
    assert _root_fields_come_first(specs), cls
    defaults = attrs.fields_dict(cls)
    # Fields with a default other than None are always sent and open the dict,
    # as in cattrs' generated unstructure function (DoCharge).
    sent = [spec.wire for name, spec in specs if defaults[name].default is not None]
    groups = cls._omeda_rules
    siblings = _sibling_fields(specs, groups)
    assert siblings <= {spec.wire for _, spec in specs}, cls
    locals_ = set(_PASS_LOCALS)
    wire_fields: list[tuple[FieldSpec, str, bool]] = []
    model_body: list[str] = []
    for attribute, spec in specs:
        # The field's locals must clash with nothing the passes name.
        assert spec.wire.isidentifier(), spec.wire
        assert not keyword.iskeyword(spec.wire), spec.wire
        mine = {_local(spec), f"{_local(spec)}_int"}
        assert locals_.isdisjoint(mine), spec.wire
        locals_ |= mine
        namespace[_const("SPEC", spec)] = spec
        if spec.model is not None:
            namespace[_const("WIRE", spec)] = compiled[spec.model].from_wire
            namespace[_const("MODEL", spec)] = compiled[spec.model].from_model
            namespace[_const("CLS", spec)] = spec.model
        else:
            namespace[_const("HOOK", spec)] = scalar_unstructure_hook(spec.kind)
            namespace[_const("NORMAL", spec)] = wire_normalizer(spec)
        if spec.choices is not None:
            namespace[_const("CHOICES", spec)] = frozenset(spec.choices)
        if spec.kind in _DATE_SHAPES:
            namespace[_const("SHAPE", spec)] = _DATE_SHAPES[spec.kind].match
        wire_fields.append((spec, attribute, spec.wire in sent))
        model_body += _model_field_source(spec, attribute, spec.wire in sent)
    for index, group in enumerate(groups):
        namespace[f"ONE_OF_{index}"] = group
    rules_between = _sibling_source(specs, groups)
    opening = "out = {" + ", ".join(f"{wire!r}: None" for wire in sent) + "}"
    name = cls.__name__
    optional = sum(1 for _, spec in specs if not spec.required)
    specialized = optional >= _SPECIALIZE_FROM

    def wire_source(function: str, shape: frozenset[str] | None) -> str:
        """The wire pass: for any node (``shape`` None), else for nodes with those keys."""
        body = [_wire_field_source(*field, shape) for field in wire_fields]
        if shape is None:
            head = [
                *(
                    [
                        "    if type(node) is dict:",
                        "        special = SHAPES[tuple(node)]",
                        "        if special is not None:",
                        "            return special(node, path, walk, model)",
                    ]
                    if specialized
                    else []
                ),
                "    if not KNOWN.issuperset(node):",
                "        unknown_keys(RULES, node, path, walk, model)",
                "    get = node.get",
            ]
        else:
            head = []  # its keys are known ones: the general pass made sure
        return "\n".join(
            [
                f"def {function}(node, path, walk, model):",
                *head,
                *(["    " + " = ".join(sorted(siblings)) + " = None"] if siblings else []),
                "    " + opening,
                *_indent([line for lines in body for line in lines] + rules_between),
                "    if model is not None and model.extra_fields is not None:",
                "        check_extras(RULES, model.extra_fields, path, walk)",
                "    return out",
                "",
            ]
        )

    model_source = "\n".join(
        [
            f"def model_{name}(m, path, walk):",
            "    extra = m.extra_fields",
            "    if extra is not None and (",
            "        type(extra) is not dict or not KNOWN.isdisjoint(extra)",
            "    ):",
            "        return through_the_converter(RULES, m, path, walk)",
            "    " + opening,
            "    if path is None:",
            "        walk.root = out",
            *_indent(model_body + rules_between),
            "    if extra:",
            "        out.update(extra)",
            "        check_extras(RULES, extra, path, walk)",
            "    return out",
            "",
        ]
    )
    known = frozenset(spec.wire for _, spec in specs)
    namespace["KNOWN"] = known
    assert locals_.isdisjoint(namespace), cls
    shape_numbers = itertools.count(1)

    def special_pass(shape: frozenset[str]) -> _WirePass:
        """The wire pass for nodes with exactly the keys ``shape``."""
        function = f"wire_{name}_for_shape"
        title = f"wire pass for a {name} shape, {next(shape_numbers)}"
        special: _WirePass = _define(function, wire_source(function, shape), title, namespace)
        return special

    shapes = namespace["SHAPES"] = _Shapes(known, special_pass) if specialized else None
    wire_text = wire_source(f"wire_{name}", None)
    rules = _Rules(
        name=name,
        known=known,
        folded={_fold(w): w for w in sorted(known)},
        from_wire=_define(f"wire_{name}", wire_text, f"wire pass for {name}", namespace),
        from_model=_define(f"model_{name}", model_source, f"model pass for {name}", namespace),
        unstructure=payload_converter().get_unstructure_hook(cls),
        source=wire_text + "\n" + model_source,
        shapes=shapes,
    )
    namespace["RULES"] = rules
    return rules


class _RulesCache(dict[type[Payload], _Rules]):
    """Each payload class's rules, compiled on first use: ``_RULES[cls]``.

    One subscript on the hot path; a class's nested classes are compiled first,
    through the same cache (their passes are constants of its own).
    """

    def __missing__(self, cls: type[Payload]) -> _Rules:
        rules = self[cls] = _compile(cls, self)
        return rules


_RULES: Final = _RulesCache()


# ----------------------------------------------------------------- public API


def _not_a_mapping(payload: Any, schema: type[Payload]) -> Violation:
    return Violation(
        "",
        f"a {schema.__name__} payload must be a JSON object (a mapping); "
        f"got {_describe(payload, True)}.",
        "type",
    )


def checked_wire(
    payload: Any, schema: type[Payload]
) -> tuple[dict[Any, Any] | None, list[Violation]]:
    """One pass over ``payload``: its wire dict, as sent, and every rule it breaks.

    A model must be of class ``schema``; its wire dict is exactly ``to_dict``'s.
    A dict that breaks no rule gives what ``from_dict`` then ``to_dict`` would
    (in the field order of the model, whatever the dict's). The wire dict is
    None when ``payload`` is neither a mapping nor a ``schema`` model.
    """
    if type(payload) is dict or (not isinstance(payload, Payload) and isinstance(payload, Mapping)):
        rules = _RULES[schema]
        walk = _Walk(payload, rules.known)
        return rules.from_wire(payload, None, walk, None), walk.out
    if not isinstance(payload, Payload):
        return None, [_not_a_mapping(payload, schema)]
    if type(payload) is not schema:
        message = f"expected a {schema.__name__} payload, got a {type(payload).__name__} model."
        return None, [Violation("", message, "type")]
    rules = _RULES[schema]
    walk = _Walk({}, rules.known)
    return rules.from_model(payload, None, walk), walk.out


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
        return checked_wire(payload, schema or type(payload))[1]
    return checked_wire(payload, schema or CustomerAndOrder)[1]
