"""The one cattrs converter between payload models and Omeda's wire dicts.

Built once (:func:`payload_converter`, cached) from
``cattrs.preconf.json.make_converter()``; every hook is generated here, in one
place, from the :class:`~._payloads.FieldSpec` table: ``rename`` to the
PascalCase wire key, ``omit_if_default`` so absent fields are left out (never
``null``), and a per-kind hook for Omeda's formats:

* ``date`` -> ``yyyy-MM-dd``; ``datetime`` -> ``yyyy-MM-dd HH:mm`` where the
  table allows a time, else the date; ``BehaviorDate`` -> ``yyyy-MM-dd HH:mm:ss``;
* ``Decimal`` -> its exact string (``Decimal("65.00")`` -> ``"65.00"``);
* IntEnums -> plain ints; ``extra_fields`` merged into the dict.

Unstructuring is tolerant of wrong Python types (a value that cannot be
converted is passed through untouched) so the validator can report it as a
violation instead of the converter crashing on it. Structuring accepts both
forms the pages use (digit strings for integer fields, strings for money, date
strings in the documented formats) and rejects unknown keys.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import JsonConverter, make_converter

from omeda_async._errors import PayloadValidationError, Violation

from ._payloads import PAYLOAD_CLASSES, SPEC_KEY, FieldSpec, Kind, Payload

__all__ = [
    "INT_TEXT",
    "STRUCTURE_ERRORS",
    "from_dict",
    "is_decimal_text",
    "is_int_text",
    "parse_wire_date",
    "payload_converter",
    "scalar_unstructure_hook",
    "spec_fields",
    "to_dict",
    "wire_normalizer",
]

P = TypeVar("P", bound=Payload)

UnstructureHook = Callable[[Any], Any]
StructureHook = Callable[[Any, Any], Any]

#: A string of digits, optionally signed: the pages send ids this way.
INT_TEXT = re.compile(r"-?[0-9]+\Z")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATE_MINUTE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}\Z")
_DATE_SECOND_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")


def spec_fields(cls: type[Payload]) -> tuple[tuple[str, FieldSpec], ...]:
    """``(attribute name, FieldSpec)`` for every documented field of ``cls``, in order."""
    return tuple(
        (a.name, a.metadata[SPEC_KEY]) for a in attrs.fields(cls) if SPEC_KEY in a.metadata
    )


# --------------------------------------------------------------- text formats


def is_int_text(value: str) -> bool:
    """A string of digits (optionally signed): the pages send ids this way."""
    return INT_TEXT.match(value) is not None


def is_decimal_text(value: str) -> bool:
    """A plain decimal number such as ``"65.00"`` (no exponent, no NaN)."""
    return _DECIMAL_TEXT.match(value) is not None


def parse_wire_date(kind: Kind, text: str) -> date | None:
    """Parse ``text`` in a format ``kind`` allows; ``None`` if it is not one.

    ``DATE``: yyyy-MM-dd; ``DATE_TIME``: yyyy-MM-dd or yyyy-MM-dd HH:mm;
    ``BEHAVIOR_DATE_TIME``: yyyy-MM-dd HH:mm:ss. Impossible dates (Feb 30) are None.
    The shape is matched first: ``fromisoformat`` alone also takes forms Omeda does not.
    """
    if kind is Kind.BEHAVIOR_DATE_TIME:
        shape = _DATE_SECOND_TEXT
    elif _DATE_TEXT.match(text) is not None:
        shape = _DATE_TEXT
    elif kind is Kind.DATE_TIME or kind is Kind.RESPONSE_VALUE:
        shape = _DATE_MINUTE_TEXT
    else:
        return None
    if shape.match(text) is None:
        return None
    try:
        # The shape is checked above, so fromisoformat only judges the calendar.
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.date() if shape is _DATE_TEXT else moment


# --------------------------------------------------------- unstructure hooks


def _unstructure_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return value  # reported by the validator: a bool is not an id
    if isinstance(value, int):
        return int(value)  # IntEnum members go out as plain ints
    if type(value) is str and is_int_text(value):
        return int(value)
    return value


def _unstructure_decimal(value: Any) -> Any:
    if type(value) is Decimal:
        return format(value, "f")
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, int):
        return str(int(value))
    return value


def _naive(value: datetime) -> datetime:
    # Omeda's formats carry no offset: the wall-clock time given is sent.
    return value if value.tzinfo is None else value.replace(tzinfo=None)


def _unstructure_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _unstructure_date_time(value: Any) -> Any:
    if type(value) is datetime and value.tzinfo is None:
        return value.isoformat(" ", "minutes")
    if isinstance(value, datetime):
        return _naive(value).isoformat(" ", "minutes")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _unstructure_behavior_date_time(value: Any) -> Any:
    if type(value) is datetime and value.tzinfo is None:
        return value.isoformat(" ", "seconds")
    if isinstance(value, datetime):
        return _naive(value).isoformat(" ", "seconds")
    return value  # a bare date has no time of day: reported by the validator


def _unstructure_values(value: Any) -> Any:
    if type(value) is list or type(value) is tuple:
        return list(value)
    return value


def _object_hook(cls: type[Payload], hook: UnstructureHook) -> UnstructureHook:
    def unstructure_object(value: Any) -> Any:
        return hook(value) if isinstance(value, cls) else value

    return unstructure_object


def _list_hook(
    cls: type[Payload],
    generated: Callable[[Any], dict[str, Any]] | None,
    hook: UnstructureHook,
) -> UnstructureHook:
    if generated is None:  # the element class needs its full wrapper

        def unstructure_list(value: Any) -> Any:
            if type(value) is list or type(value) is tuple:
                return [hook(item) if isinstance(item, cls) else item for item in value]
            return value

        return unstructure_list

    def unstructure_list_inline(value: Any) -> Any:
        if type(value) is not list and type(value) is not tuple:
            return value
        result = []
        for item in value:
            if isinstance(item, cls):
                # The wrapper's work, inlined: this runs for every list element.
                unstructured = generated(item)
                extra = item.extra_fields
                if extra and isinstance(extra, Mapping):
                    unstructured.update(extra)
                result.append(unstructured)
            else:
                result.append(item)
        return result

    return unstructure_list_inline


_SCALAR_UNSTRUCTURE: dict[Kind, UnstructureHook] = {
    Kind.STR: identity,
    Kind.BOOL: identity,
    Kind.INT_OR_STR: identity,
    Kind.INT: _unstructure_int,
    Kind.DECIMAL: _unstructure_decimal,
    Kind.DATE: _unstructure_date,
    Kind.DATE_TIME: _unstructure_date_time,
    Kind.RESPONSE_VALUE: _unstructure_date_time,
    Kind.BEHAVIOR_DATE_TIME: _unstructure_behavior_date_time,
    Kind.DEMOGRAPHIC_VALUE: _unstructure_values,
}


def scalar_unstructure_hook(kind: Kind) -> UnstructureHook:
    """The converter's unstructure hook for a scalar field of ``kind`` (model value -> wire)."""
    return _SCALAR_UNSTRUCTURE[kind]


def _with_extras(
    generated: Callable[[Any], dict[str, Any]], always_sent: tuple[str, ...]
) -> Callable[[Any], dict[str, Any]]:
    if always_sent:

        def unstructure_with_defaults(instance: Any) -> dict[str, Any]:
            result = generated(instance)
            for key in always_sent:
                if result[key] is None:
                    del result[key]  # set to None on purpose: absent, never null
            extra = instance.extra_fields
            if extra and isinstance(extra, Mapping):
                result.update(extra)
            return result

        return unstructure_with_defaults

    def unstructure(instance: Any) -> dict[str, Any]:
        result = generated(instance)
        extra = instance.extra_fields
        if extra and isinstance(extra, Mapping):
            result.update(extra)
        return result

    return unstructure


# ----------------------------------------------------------- structure hooks


def _fail(spec: FieldSpec, got: Any) -> ValueError:
    # Never the value itself: it may be a card number.
    return ValueError(f"{spec.wire} must be {spec.kind.value}, not {type(got).__name__}")


def _absent_or_fail(spec: FieldSpec, value: Any) -> None:
    # A JSON null is an absent field, as the validator counts it; checked only
    # once a value failed, to keep the common path free of it.
    if value is not None:
        raise _fail(spec, value)


def _structure_scalar(spec: FieldSpec) -> StructureHook:
    kind = spec.kind

    def structure_str(value: Any, _: Any) -> Any:
        if isinstance(value, str):
            return value
        _absent_or_fail(spec, value)
        return None

    def structure_bool(value: Any, _: Any) -> Any:
        if isinstance(value, bool):
            return value
        _absent_or_fail(spec, value)
        return None

    def structure_int(value: Any, _: Any) -> Any:
        if type(value) is int:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and is_int_text(value):
            return int(value)
        _absent_or_fail(spec, value)
        return None

    def structure_int_or_str(value: Any, _: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        _absent_or_fail(spec, value)
        return None

    def structure_decimal(value: Any, _: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            return value
        if isinstance(value, str) and is_decimal_text(value):
            return Decimal(value)
        if isinstance(value, float):
            try:
                result = Decimal(str(value))
            except InvalidOperation:  # pragma: no cover - str(float) always parses
                raise _fail(spec, value) from None
            if result.is_finite():
                return result
        elif isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        _absent_or_fail(spec, value)
        return None

    def structure_date(value: Any, _: Any) -> Any:
        if isinstance(value, str):
            parsed = parse_wire_date(kind, value)
            if parsed is not None:
                return parsed
            raise ValueError(f"Your submission contained an invalid date: {spec.wire}")
        if kind is Kind.BEHAVIOR_DATE_TIME:
            if isinstance(value, datetime):
                return value
        elif isinstance(value, date):
            return value
        _absent_or_fail(spec, value)
        return None

    def structure_values(value: Any, _: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, list | tuple) and all(
            isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
        ):
            return list(value)
        _absent_or_fail(spec, value)
        return None

    def structure_response(value: Any, _: Any) -> Any:
        # Text in a documented date format is read as the date it is written
        # as (and written back identically); any other text stays text.
        if isinstance(value, str):
            parsed = parse_wire_date(kind, value)
            return value if parsed is None else parsed
        if isinstance(value, date) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        _absent_or_fail(spec, value)
        return None

    hooks: dict[Kind, StructureHook] = {
        Kind.STR: structure_str,
        Kind.BOOL: structure_bool,
        Kind.INT: structure_int,
        Kind.INT_OR_STR: structure_int_or_str,
        Kind.DECIMAL: structure_decimal,
        Kind.DATE: structure_date,
        Kind.DATE_TIME: structure_date,
        Kind.BEHAVIOR_DATE_TIME: structure_date,
        Kind.DEMOGRAPHIC_VALUE: structure_values,
        Kind.RESPONSE_VALUE: structure_response,
    }
    return hooks[kind]


def _structure_nested(spec: FieldSpec, hook: StructureHook) -> StructureHook:
    cls = spec.model

    def structure_object(value: Any, _: Any) -> Any:
        if isinstance(value, Mapping):
            return hook(value, cls)
        if value is None:
            return None
        raise _fail(spec, value)

    def structure_item(value: Any) -> Any:
        if isinstance(value, Mapping):
            return hook(value, cls)
        raise _fail(spec, value)

    def structure_list(value: Any, _: Any) -> Any:
        if isinstance(value, list | tuple):
            return [structure_item(item) for item in value]
        if value is None:
            return None
        raise _fail(spec, value)

    return structure_object if spec.kind is Kind.OBJECT else structure_list


def wire_normalizer(spec: FieldSpec) -> UnstructureHook:
    """What a dict's value for a scalar field becomes on the wire: structured, then unstructured.

    The validator's one-pass build calls this only for a value it has already
    accepted and that is not in wire form yet (``"0065.5"`` -> ``"65.5"``, a
    ``date`` -> its text), so the converter's own hooks decide the result.
    """
    structure = _structure_scalar(spec)
    unstructure = _SCALAR_UNSTRUCTURE[spec.kind]

    def normalize(value: Any) -> Any:
        return unstructure(structure(value, None))

    return normalize


# ---------------------------------------------------------------- the factory


@functools.cache
def payload_converter() -> JsonConverter:
    """The converter for every payload model, built once.

    It is not meant to be changed: each call returns the same instance, and the
    validator and the request builders rely on exactly these hooks.
    """
    # Detailed validation would collect cattrs' own error tree; from_dict reports
    # failures through the validator instead (wire paths, Omeda's wording), so
    # the faster plain structuring functions are enough.
    converter = make_converter(forbid_extra_keys=True, detailed_validation=False)
    unstructure_hooks: dict[type[Payload], UnstructureHook] = {}
    structure_hooks: dict[type[Payload], StructureHook] = {}
    # The bare generated function of each class whose wrapper only merges extras.
    generated_hooks: dict[type[Payload], Callable[[Any], dict[str, Any]] | None] = {}
    # PAYLOAD_CLASSES lists leaves first, so every nested hook already exists.
    for cls in PAYLOAD_CLASSES:
        overrides: dict[str, Any] = {"extra_fields": override(omit=True)}
        always_sent: list[str] = []
        for name, spec in spec_fields(cls):
            if spec.model is not None:
                inner = unstructure_hooks[spec.model]
                unstructure = (
                    _object_hook(spec.model, inner)
                    if spec.kind is Kind.OBJECT
                    else _list_hook(spec.model, generated_hooks[spec.model], inner)
                )
                structure = _structure_nested(spec, structure_hooks[spec.model])
            else:
                unstructure = _SCALAR_UNSTRUCTURE[spec.kind]
                structure = _structure_scalar(spec)
            default = attrs.fields_dict(cls)[name].default
            if default is not None:
                always_sent.append(spec.wire)
            overrides[name] = override(
                rename=spec.wire,
                omit_if_default=default is None,
                unstruct_hook=unstructure,
                struct_hook=structure,
            )
        generated_u = make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **overrides
        )
        generated_s = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=True, **overrides
        )
        generated_hooks[cls] = None if always_sent else generated_u
        unstructure_hooks[cls] = _with_extras(generated_u, tuple(always_sent))
        structure_hooks[cls] = generated_s
        converter.register_unstructure_hook(cls, unstructure_hooks[cls])
        converter.register_structure_hook(cls, generated_s)
    return converter


#: What structuring a dict the hooks cannot build raises (cattrs' own errors, the
#: hooks' ValueErrors, and TypeError/AttributeError for a payload that is not a mapping).
STRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    cattrs.BaseValidationError,
    cattrs.ForbiddenExtraKeysError,
    ValueError,
    TypeError,
    AttributeError,
)


def to_dict(model: Payload) -> dict[str, Any]:
    """Omeda's wire dict for ``model``: PascalCase keys, absent fields omitted.

    Wrong Python types in fields are passed through untouched (``validate``
    reports them); the result is not checked against Omeda's rules.
    """
    result: dict[str, Any] = payload_converter().unstructure(model)
    return result


def from_dict(cls: type[P], data: Any) -> P:
    """Build a ``cls`` model from a wire dict (as Omeda's examples write them).

    Digit strings become ints for integer fields, money strings Decimals, date
    strings dates. Raises :class:`PayloadValidationError` naming every key that
    is unknown or of the wrong type. Omeda's other rules (required fields and
    the like) are not checked here: call ``validate`` for those.
    """
    try:
        return payload_converter().structure(data, cls)
    except STRUCTURE_ERRORS as exc:
        from ._validation import STRUCTURAL_RULES, validate

        violations = [v for v in validate(data, schema=cls) if v.rule in STRUCTURAL_RULES]
        if not violations:  # pragma: no cover - validator and hooks agree on types
            violations = [Violation("", f"cannot build {cls.__name__} from this data", "type")]
        raise PayloadValidationError(violations) from exc
