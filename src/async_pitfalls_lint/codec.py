"""Plain-data encoding of the tool's records, for the on-disk cache.

What the cache reads back must never be able to run code, so records are written as JSON and
rebuilt by encoders and decoders derived from the dataclasses' own type hints. A decoder accepts
exactly the shape its type describes (lists of the right length, strings where strings go) and
raises `CodecError` on anything else, which the cache treats as a miss. Nothing is looked up by
a name found in the data: the type to build always comes from the caller.

Fields a dataclass lists in `__positions__` (source positions: line, column, offsets) are kept
apart from the rest, in one list after the record, in encoding order. Two records that differ
only by positions then encode to the same bytes up to that list, and `Codec.interface` digests
those bytes: "the same facts, moved" is told without decoding either record.

Symbolic refs and resolved values (`tuple[Any, ...]`, nested tuples of scalars) repeat a lot
within a module (`db`, `self.repo`, `Depends(get_db)`), so an entry stores each distinct tuple
once, in a table, children before parents; a record field holding one is the tuple's index in
that table. Each table row is `[mask, item, ...]`, where bit `i` of the mask says that item `i`
is the index of an earlier row rather than a scalar. Decoding builds every distinct tuple once,
without recursion, and equal refs come back as one shared object.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Refs(list[tuple[Any, ...]]):
    """The decoded table of distinct tuples, and the positions kept apart, in order."""

    __slots__ = ("positions",)

    def __init__(self) -> None:
        super().__init__()
        self.positions: list[int] = []


_Decoder = Callable[[Any, _Refs], Any]
_Encoder = Callable[[Any, "_Table"], Any]
_SCALAR_TYPES = (str, int, float, bool, type(None))


class CodecError(ValueError):
    """Data that is not exactly the shape of the record it should describe."""


class Codec(Generic[T]):
    """Encode one record type to JSON bytes and decode it back, validating every field."""

    def __init__(self, name: str, record_type: Any) -> None:
        self.name = name
        self._encode = _encoder(record_type)
        self._decode = _decoder(record_type)

    def dumps(self, value: T) -> bytes:
        table = _Table()
        body = self._encode(value, table)
        # ASCII escapes keep any string the source held (lone surrogates included) encodable,
        # and JSON text written so never holds a raw newline: it separates the positions.
        record = json.dumps([table.rows, body], separators=(",", ":")).encode("ascii")
        positions = json.dumps(table.positions, separators=(",", ":")).encode("ascii")
        return record + b"\n" + positions

    def loads(self, data: bytes) -> T:
        record, newline, positions = data.partition(b"\n")
        try:
            plain = json.loads(record)
            apart = json.loads(positions) if newline else []
        except (ValueError, RecursionError) as error:
            raise CodecError(f"not JSON: {error}") from None
        if type(plain) is not list or len(plain) != 2:
            raise CodecError("expected [table, record]")
        if type(apart) is not list or not all(type(item) is int for item in apart):
            raise CodecError("expected a list of positions")
        rows, body = plain
        refs = _build_table(rows)
        refs.positions = apart
        refs.positions.reverse()  # popped from the end, in encoding order
        value: T = self._decode(body, refs)
        if refs.positions:
            raise CodecError("more positions than the record holds")
        return value

    @staticmethod
    def interface(data: bytes) -> str:
        """A digest of an encoded record with its positions left out."""
        record = data.partition(b"\n")[0]
        return hashlib.blake2b(record, digest_size=16).hexdigest()


# -- the table of distinct tuples ----------------------------------------------------------------
class _Table:
    __slots__ = ("index", "positions", "rows")

    def __init__(self) -> None:
        self.index: dict[tuple[Any, ...], int] = {}
        self.rows: list[list[Any]] = []
        self.positions: list[int] = []

    def intern(self, value: tuple[Any, ...]) -> int:
        found = self.index.get(value)
        if found is not None:
            return found
        mask = 0
        row: list[Any] = [0]
        for position, item in enumerate(value):
            if type(item) is tuple:
                mask |= 1 << position
                row.append(self.intern(item))
            elif type(item) in _SCALAR_TYPES:
                row.append(item)
            else:
                raise TypeError(f"cannot encode {type(item).__name__} inside a ref")
        row[0] = mask
        self.index[value] = len(self.rows)
        self.rows.append(row)
        return len(self.rows) - 1


def _build_table(rows: Any) -> _Refs:
    if type(rows) is not list:
        raise CodecError("expected a table of refs")
    built = _Refs()
    for row in rows:
        if type(row) is not list or not row or type(row[0]) is not int or row[0] < 0:
            raise CodecError("expected a table row")
        mask = row[0]
        items = row[1:]
        position = 0
        while mask:
            if mask & 1:
                if position >= len(items):
                    raise CodecError("table row marks a missing item")
                items[position] = _row(items[position], built)
            mask >>= 1
            position += 1
        value = tuple(items)
        try:
            hash(value)  # only scalars and earlier rows: a list or an object fails here
        except TypeError:
            raise CodecError("a table row holds a non-scalar") from None
        built.append(value)
    return built


def _row(index: Any, refs: _Refs) -> tuple[Any, ...]:
    if type(index) is not int or not 0 <= index < len(refs):
        raise CodecError("expected the index of an earlier table row")
    return refs[index]


# -- encoding -------------------------------------------------------------------------------------
def _identity(value: Any, _table: _Table) -> Any:
    return value


@cache
def _encoder(record_type: Any) -> _Encoder:
    if record_type is Any:
        return _encode_ref
    if isinstance(record_type, type) and dataclasses.is_dataclass(record_type):
        return _dataclass_encoder(record_type)
    origin = typing.get_origin(record_type)
    arguments = typing.get_args(record_type)
    if origin in (typing.Union, types.UnionType):
        return _optional_encoder(_encoder(_single_option(arguments)))
    if origin in (list, set, frozenset) or (
        origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis
    ):
        if origin is tuple and arguments[0] is Any:
            return _encode_ref
        return _sequence_encoder(_encoder(arguments[0]), sort=origin in (set, frozenset))
    if origin is tuple:
        return _fixed_encoder(tuple(_encoder(argument) for argument in arguments))
    if origin is dict:
        return _dict_encoder(arguments[0] is str, _encoder(arguments[0]), _encoder(arguments[1]))
    if record_type in _SCALAR_TYPES:
        return _identity
    raise TypeError(f"no cache encoder for {record_type!r}")


def _encode_ref(value: Any, table: _Table) -> Any:
    if type(value) is not tuple:
        raise TypeError(f"expected a ref, found {type(value).__name__}")
    return table.intern(value)


def _single_option(arguments: tuple[Any, ...]) -> Any:
    options = [argument for argument in arguments if argument is not type(None)]
    if len(options) != 1 or len(arguments) != 2:
        raise TypeError(f"only `X | None` unions can be cached, not {arguments!r}")
    return options[0]


def _optional_encoder(inner: _Encoder) -> _Encoder:
    if inner is _identity:
        return _identity

    def encode(value: Any, table: _Table) -> Any:
        return None if value is None else inner(value, table)

    return encode


def _sequence_encoder(item: _Encoder, sort: bool) -> _Encoder:
    def encode(value: Any, table: _Table) -> Any:
        items = sorted(value) if sort else value
        if item is _identity:
            return list(items)
        return [item(element, table) for element in items]

    return encode


def _fixed_encoder(items: tuple[_Encoder, ...]) -> _Encoder:
    def encode(value: Any, table: _Table) -> Any:
        return [item(element, table) for item, element in zip(items, value, strict=True)]

    return encode


def _dict_encoder(string_keys: bool, key: _Encoder, value: _Encoder) -> _Encoder:
    if string_keys:

        def encode_object(mapping: Any, table: _Table) -> Any:
            return {name: value(item, table) for name, item in mapping.items()}

        return encode_object

    def encode_pairs(mapping: Any, table: _Table) -> Any:
        return [[key(name, table), value(item, table)] for name, item in mapping.items()]

    return encode_pairs


def _positions_of(record_type: type) -> frozenset[str]:
    apart = frozenset(getattr(record_type, "__positions__", ()))
    hints = typing.get_type_hints(record_type)
    if any(hints.get(name) is not int for name in apart):
        raise TypeError(f"{record_type.__name__}.__positions__ must name int fields")
    return apart


def _dataclass_encoder(record_type: type) -> _Encoder:
    hints = typing.get_type_hints(record_type)
    apart = _positions_of(record_type)
    fields = [
        (field.name, _encoder(hints[field.name]))
        for field in dataclasses.fields(record_type)
        if field.init and field.name not in apart
    ]
    # In field order, interleaved as the decoder reads them back.
    order = [
        (field.name, field.name in apart) for field in dataclasses.fields(record_type) if field.init
    ]
    if not apart:

        def encode(value: Any, table: _Table) -> Any:
            return [
                getattr(value, name) if field is _identity else field(getattr(value, name), table)
                for name, field in fields
            ]

        return encode
    encoders = dict(fields)

    def encode_apart(value: Any, table: _Table) -> Any:
        encoded = []
        for name, is_position in order:
            item = getattr(value, name)
            if is_position:
                table.positions.append(item)
            else:
                field = encoders[name]
                encoded.append(item if field is _identity else field(item, table))
        return encoded

    return encode_apart


# -- decoding -------------------------------------------------------------------------------------
def _fail(expected: str, data: Any) -> CodecError:
    return CodecError(f"expected {expected}, found {type(data).__name__}")


@cache
def _decoder(record_type: Any) -> _Decoder:
    if record_type is Any:
        return _row
    if isinstance(record_type, type) and dataclasses.is_dataclass(record_type):
        return _dataclass_decoder(record_type)
    origin = typing.get_origin(record_type)
    arguments = typing.get_args(record_type)
    if origin in (typing.Union, types.UnionType):
        return _optional_decoder(_decoder(_single_option(arguments)))
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        if arguments[0] is Any:
            return _row
        return _sequence_decoder(_decoder(arguments[0]), tuple)
    if origin in (list, set, frozenset):
        return _sequence_decoder(_decoder(arguments[0]), origin)
    if origin is tuple:
        return _fixed_decoder(tuple(_decoder(argument) for argument in arguments))
    if origin is dict:
        return _dict_decoder(arguments[0] is str, _decoder(arguments[0]), _decoder(arguments[1]))
    if record_type in _SCALAR_TYPES:
        return _scalar_decoder(record_type)
    raise TypeError(f"no cache decoder for {record_type!r}")


def _scalar_decoder(scalar: type) -> _Decoder:
    def decode(data: Any, _refs: _Refs) -> Any:
        # JSON has one number type: an int field must not take a bool, a float field takes ints.
        if scalar is float and type(data) is int:
            return float(data)
        if type(data) is not scalar:
            raise _fail(scalar.__name__, data)
        return data

    return decode


def _optional_decoder(inner: _Decoder) -> _Decoder:
    def decode(data: Any, refs: _Refs) -> Any:
        return None if data is None else inner(data, refs)

    return decode


def _sequence_decoder(item: _Decoder, kind: type) -> _Decoder:
    def decode(data: Any, refs: _Refs) -> Any:
        if type(data) is not list:
            raise _fail("a list", data)
        return kind([item(element, refs) for element in data])

    return decode


def _fixed_decoder(items: tuple[_Decoder, ...]) -> _Decoder:
    def decode(data: Any, refs: _Refs) -> Any:
        if type(data) is not list or len(data) != len(items):
            raise _fail(f"a list of {len(items)}", data)
        return tuple([item(element, refs) for item, element in zip(items, data, strict=True)])

    return decode


def _dict_decoder(string_keys: bool, key: _Decoder, value: _Decoder) -> _Decoder:
    if string_keys:

        def decode_object(data: Any, refs: _Refs) -> Any:
            if type(data) is not dict:
                raise _fail("an object", data)
            return {name: value(item, refs) for name, item in data.items()}

        return decode_object

    def decode_pairs(data: Any, refs: _Refs) -> Any:
        if type(data) is not list:
            raise _fail("a list of pairs", data)
        result = {}
        for pair in data:
            if type(pair) is not list or len(pair) != 2:
                raise _fail("a pair", pair)
            result[key(pair[0], refs)] = value(pair[1], refs)
        return result

    return decode_pairs


def _dataclass_decoder(record_type: type) -> _Decoder:
    """Fields are checked in one loop: scalars by exact type, inline (the common case), refs by
    their table index, other fields through their own decoder."""
    hints = typing.get_type_hints(record_type)
    apart = _positions_of(record_type)
    all_fields = [field for field in dataclasses.fields(record_type) if field.init]
    fields = [field for field in all_fields if field.name not in apart]
    plan: list[tuple[int, type | None, _Decoder | None]] = []
    for index, field in enumerate(fields):
        hint = hints[field.name]
        if hint in (str, int, bool):
            plan.append((index, hint, None))
        else:
            plan.append((index, None, _decoder(hint)))
    count = len(fields)
    name = record_type.__name__
    if apart:
        return _decoder_apart(record_type, all_fields, apart, plan, count)

    def decode(data: Any, refs: _Refs) -> Any:
        if type(data) is not list or len(data) != count:
            raise CodecError(f"expected {name} with {count} fields")
        values = list(data)
        for index, scalar, decoder in plan:
            if decoder is None:
                if type(values[index]) is not scalar:
                    raise _fail(f"{name} field {index} of type {scalar}", values[index])
            else:
                values[index] = decoder(values[index], refs)
        return record_type(*values)

    return decode


def _decoder_apart(
    record_type: type,
    all_fields: list[dataclasses.Field[Any]],
    apart: frozenset[str],
    plan: list[tuple[int, type | None, _Decoder | None]],
    count: int,
) -> _Decoder:
    """A record with positions kept apart: its other fields decoded in order, each position
    taken from the positions list at its place in that order (as the encoder wrote them)."""
    name = record_type.__name__
    # For each field in order: None for a position, else its plan entry.
    steps = []
    stored = iter(plan)
    for field in all_fields:
        steps.append(None if field.name in apart else next(stored))

    def decode(data: Any, refs: _Refs) -> Any:
        if type(data) is not list or len(data) != count:
            raise CodecError(f"expected {name} with {count} fields")
        values: list[Any] = []
        positions = refs.positions
        for step in steps:
            if step is None:
                if not positions:
                    raise CodecError(f"{name}: fewer positions than the record holds")
                values.append(positions.pop())
                continue
            index, scalar, decoder = step
            item = data[index]
            if decoder is None:
                if type(item) is not scalar:
                    raise _fail(f"{name} field {index} of type {scalar}", item)
                values.append(item)
            else:
                values.append(decoder(item, refs))
        return record_type(*values)

    return decode
