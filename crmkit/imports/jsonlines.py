"""Reading a JSON Lines import file: one JSON object per line, keyed by the import's field names.

A JSON Lines file feeds the same row pipeline as a CSV file (:mod:`crmkit.imports.csvfile`): each
object becomes the cells a CSV row with a column per field would hold, so every rule of the
importers applies unchanged. What only JSON can get wrong is found here, line by line, and
reported as that row's problem while the other lines go in: a line that is not UTF-8 or not
JSON, a value that is not an object, a key that is not a field, a value of the wrong JSON type
(the API's types: strings for text, whole numbers for ids, arrays for lists, an object for a
payload). Rows are the file's line numbers; the column of a problem is the key to blame.

Keys are the fields' names as a CSV header names them (``custom.<name>`` for custom fields); an
export's nested ``"custom": {...}`` object is read as those keys, so an export imports back.
``--map KEY=FIELD`` renames keys and ``--map KEY=`` ignores them. ``null`` is a missing value.
"""
from __future__ import annotations

import codecs
import decimal
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from crmkit.imports.base import Outcome, failed, join_list
from crmkit.imports.csvfile import CHUNK, FieldSet, FileProblem, Layout, codec_name

EXTENSIONS = (".jsonl", ".ndjson")
# One record per line: a longer line is reported, not read into memory whole.
MAX_LINE_BYTES = 16 << 20
# Lines looked at to tell a JSON Lines file from something else (a CSV file named .jsonl).
_SAMPLE_LINES = 1000

# What the JSON of a field must be, as the API's load schemas have it.
TEXT, WHOLE, STRINGS, OBJECT, OBJECTS, AMOUNT, CUSTOM, CUSTOM_LIST = (
    "text", "whole", "strings", "object", "objects", "amount", "custom", "custom_list")
_KINDS = {
    "customer": {"id": WHOLE, "company_id": WHOLE, "owner_id": WHOLE, "other_emails": STRINGS,
                 "other_phones": STRINGS, "tags": STRINGS},
    "interaction": {"customer_id": WHOLE, "payload": OBJECT, "lines": OBJECTS,
                    "amount": AMOUNT},
}
_MESSAGES = {
    TEXT: "Not a valid string.",
    WHOLE: "Not a valid integer.",
    STRINGS: "Not a valid list of strings.",
    OBJECT: "Must be a JSON object.",
    OBJECTS: "Must be a JSON list of line items (objects).",
    AMOUNT: "Not a valid amount: give a number or a string such as \"12.50\".",
    CUSTOM: "Not a valid value: give a string, number or true/false.",
    CUSTOM_LIST: "Not a valid list of choices.",
}


def is_jsonl(filename: str) -> bool:
    return filename.lower().endswith(EXTENSIONS)


@dataclass
class JsonLayout(Layout):
    """A :class:`Layout` whose "header" names the key each field is read from."""

    entity: str = ""
    index: dict[str, int] = field(default_factory=dict)  # key -> position among the fields
    kinds: list[str] = field(default_factory=list)  # per position, the JSON wanted
    skipped: frozenset[str] = frozenset()  # keys read as nothing (exports' timestamps, --map K=)
    # Without ids in the first record, ``company_id`` names a company of this installation,
    # and an ``id`` further down the file cannot change that.
    reads_ids: bool = True
    # Field names a record may hold as keys yet are not read: another key is mapped to the
    # field, or the search for keys did not find the name (written with escapes).
    mapped_away: frozenset[str] = frozenset()
    escaped: frozenset[str] = frozenset()


def _codec(encoding: str | None) -> str:
    codec = codec_name(encoding)
    if codec.startswith(("utf-16", "utf-32")):
        raise FileProblem("A JSON Lines file must be UTF-8 (or another encoding in which a line "
                          "ends with a newline byte, such as cp1252); save it as UTF-8.",
                          "encoding")
    return codec


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _parse(text: str) -> tuple[object, str | None, str | None]:
    """(value, key to blame, problem)."""
    try:
        # Decimals, not floats: an amount of 0.10 stays exactly 0.10.
        return json.loads(text.rstrip(), parse_float=decimal.Decimal, parse_constant=_constant,
                          object_pairs_hook=_pairs), None, None
    except _Duplicate as exc:
        return None, str(exc), f"Key {str(exc)!r} appears twice in the object."
    except json.JSONDecodeError as exc:
        return None, None, f"Not valid JSON: {exc.msg} (column {exc.colno})."
    except (ValueError, RecursionError) as exc:
        return None, None, f"Not valid JSON: {exc}."


def _lines(f, limit: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
    """The file's lines as bytes; None for a line longer than ``limit`` (skipped unread)."""
    while True:
        raw = f.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:
                rest = f.readline(CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield raw


def _decode(raw: bytes, codec: str) -> tuple[str | None, str | None]:
    raw = raw.rstrip(b"\r\n")
    try:
        return raw.decode(codec), None
    except UnicodeDecodeError as exc:
        shown = " ".join(f"0x{b:02X}" for b in raw[exc.start:exc.start + 4])
        name = "UTF-8" if codec == "utf-8-sig" else codec
        return None, (f"Not {name} text: bytes {shown} at byte {exc.start + 1} do not decode. "
                      "Save the file as UTF-8 (or name its encoding, e.g. --encoding cp1252).")


def _first_object(path: str, codec: str, label: str) -> dict:
    """The first line that is a JSON object; refuses a file that has none near its start."""
    seen, example, undecodable = 0, None, None
    with open(path, "rb") as f:
        start = f.read(4)
        if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise FileProblem(f"{label} is UTF-16 text; a JSON Lines file must be UTF-8.",
                              "encoding")
        f.seek(0)
        for number, raw in enumerate(_lines(f), start=1):
            if raw is None or not raw.strip():
                continue
            seen += 1
            text, problem = _decode(raw, codec)
            value = _parse(text)[0] if text is not None else None
            if isinstance(value, dict):
                return value
            example = example or (number, (text or "").strip()[:60])
            undecodable = undecodable or (problem and f"line {number}: {problem}")
            if seen >= _SAMPLE_LINES:
                break
    if undecodable:  # nothing near the start can be read: the encoding, not the lines
        raise FileProblem(f"{label} cannot be read as JSON Lines; {undecodable}", "encoding")
    if example is None:
        raise FileProblem("The file is empty: each line must hold one JSON object "
                          '(e.g. {"first_name": "Ada", "email": "ada@example.com"}).')
    raise FileProblem(f"{label} is not a JSON Lines file: none of its first {seen} lines is a "
                      f"JSON object (line {example[0]}: {example[1]!r}). A CSV file is imported "
                      "with format csv (--format csv).")


def count_rows(path: str, encoding: str | None = None, label: str | None = None) -> int:
    """The number of lines (each a row), once the file is found to be JSON Lines at all."""
    label = label or os.path.basename(path)
    _first_object(path, _codec(encoding), label)
    lines, last = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk
    return lines + (1 if last and not last.endswith(b"\n") else 0)


def _custom_kinds(fields: FieldSet) -> dict[str, str]:
    names = [n[7:] for n in fields.names if n.startswith("custom.")]
    if not names:
        return {}
    from crmkit import custom_fields
    defined = custom_fields.fields_for(fields.entity)
    return {f"custom.{n}": CUSTOM_LIST if defined[n].type == "multi_choice" else CUSTOM
            for n in names if n in defined}


def _named_keys(path: str, keys: set[str], codec: str) -> set[str]:
    """Which of ``keys`` appear in the file as ``"key"``: a byte search, no parsing. A key
    written with ``\\u`` escapes is not found (its records then report it)."""
    forms: dict[str, set[bytes]] = {}
    for key in keys:
        forms[key] = {json.dumps(key).encode()}
        try:
            forms[key].add(f'"{key}"'.encode(codec))
        except UnicodeEncodeError:
            pass
    overlap = max((len(f) for found in forms.values() for f in found), default=0)
    found: set[str] = set()
    tail = b""
    with open(path, "rb") as f:
        while forms and (chunk := f.read(CHUNK)):
            window = tail + chunk
            for key in [k for k, patterns in forms.items() if any(p in window for p in patterns)]:
                found.add(key)
                del forms[key]
            tail = chunk[-overlap:]
    return found


def layout_of(path: str, mapping: Mapping[str, str], fields: FieldSet,
              encoding: str | None = None) -> JsonLayout:
    """Which key fills each field, from ``mapping`` (key -> field, "" to ignore the key) and the
    field names; the file's first record says whether ``id`` keys are read.

    Only fields whose key the file names somewhere are read: an importer then does (and
    stores) no more for a file of three keys than for a CSV file of three columns.
    """
    codec = _codec(encoding)
    valid = set(fields.names)
    problems = [("mapping", f"{key}={target}: {target!r} is not a {fields.entity} field; "
                            f"fields: {', '.join(fields.names)}.")
                for key, target in mapping.items() if target and target not in valid]
    givers: dict[str, str] = {}
    for key, target in mapping.items():
        if target and target in givers:
            problems.append(("mapping", f"Keys {givers[target]!r} and {key!r} both give "
                                        f"{target}; map one of them elsewhere or to nothing."))
        elif target:
            givers[target] = key
    if problems:
        raise FileProblem(problems)
    first = _first_object(path, codec, os.path.basename(path))
    reads_ids = "id" in valid and any(mapping.get(key, key) == "id" for key in first)
    key_of = {name: givers.get(name, name if name not in mapping else None)
              for name in fields.names if name != "id" or reads_ids}
    wanted_keys = {key for key in key_of.values() if key is not None}
    present = _named_keys(path, wanted_keys | {"custom"}, codec)
    nested_custom = "custom" in present and "custom" not in mapping
    kinds = {**_KINDS.get(fields.entity, {}), **_custom_kinds(fields)}
    header, names, index, wanted = [], [], {}, []
    for name, key in key_of.items():
        if key not in present and not (nested_custom and name.startswith("custom.")):
            continue
        header.append(key)
        names.append(name)
        wanted.append(kinds.get(name, TEXT))
        index[key] = len(names) - 1
    for alternatives in fields.needs_one_of:
        if not any(a in names for a in alternatives):
            problems.append(("mapping", f"No key gives {' or '.join(alternatives)}; every "
                                        f"{fields.entity} needs one."))
    if problems:
        raise FileProblem(problems)
    skipped = frozenset({k for k, target in mapping.items() if not target}
                        | {n for n in fields.ignored if n not in mapping})
    mapped_away = frozenset(name for name, key in givers.items() if key != name)
    escaped = frozenset(key for key in wanted_keys if key not in present)
    return JsonLayout(header, names, encoding or "utf-8", ",", fields.entity, index, wanted,
                      skipped, reads_ids, mapped_away, escaped)


def _cell(kind: str, value) -> str | None:
    """The value as the CSV cell the importers read, or None when it has the wrong type."""
    if kind == TEXT:
        return value if isinstance(value, str) else None
    if kind == WHOLE:  # and one a database column holds
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1 << 63:
            return str(value)
        return None
    if kind == AMOUNT:
        if isinstance(value, (str, int, decimal.Decimal)) and not isinstance(value, bool):
            return str(value)
        return None
    if kind in (STRINGS, CUSTOM_LIST):
        # Items are escaped as in a CSV list cell, so one holding | stays one item.
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return join_list(value)
        if kind == CUSTOM_LIST and isinstance(value, str):
            return value
        return None
    if kind == OBJECT:
        return _dumps(value) if isinstance(value, dict) else None
    if kind == OBJECTS:
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return _dumps(value)
        return None
    if isinstance(value, bool):  # CUSTOM: what the field's definition reads from a CSV cell
        return "true" if value else "false"
    if isinstance(value, (str, int, decimal.Decimal)):
        return str(value)
    return None


def _dumps(value) -> str:
    # Numbers inside a payload or line items reach the importer as the API would get them.
    return json.dumps(value, default=float, ensure_ascii=False)


def cells_of(record: dict, layout: JsonLayout) -> tuple[list[str], list[tuple[str, str]]]:
    """A record as cells in the layout's field order, and its (key, message) problems."""
    cells = [""] * len(layout.fields)
    problems: list[tuple[str, str]] = []
    given: dict[int, str] = {}
    items = list(record.items())
    custom = record.get("custom")
    if "custom" in record and "custom" not in layout.index and "custom" not in layout.skipped:
        items = [(k, v) for k, v in items if k != "custom"]
        if isinstance(custom, dict):
            items += [(f"custom.{name}", value) for name, value in custom.items()]
        elif custom is not None:
            problems.append(("custom", "Must be an object of custom field name to value."))
    for key, value in items:
        position = layout.index.get(key)
        if position is None:
            if key in layout.skipped:
                continue
            if key == "id" and not layout.reads_ids:
                problems.append((key, "Read only when the file's first record has an id too "
                                      "(then company_id names a company by its id in the file)."))
            elif key.startswith("custom.") and layout.entity == "customer":
                problems.append((key, "Not a custom field of customers."))
            elif key in layout.mapped_away:
                problems.append((key, f"The mapping reads {key} from another key; map this "
                                      f"one elsewhere or ignore it (--map '{key}=')."))
            elif key in layout.escaped:
                problems.append((key, "Write this key without \\u escapes: keys are found "
                                      "by name."))
            else:
                problems.append((key, f"Not a {layout.entity} field. Map it (--map "
                                      f"'{key}=FIELD') or ignore it (--map '{key}=')."))
            continue
        if value is None:
            continue
        if position in given:
            problems.append((key, f"{given[position]!r} gives {layout.fields[position]} "
                                  "already."))
            continue
        given[position] = key
        kind = layout.kinds[position]
        cell = _cell(kind, value)
        if cell is None:
            problems.append((key, _MESSAGES[kind]))
        else:
            cells[position] = cell
    return cells, problems


def read_rows(path: str, layout: JsonLayout,
              skip: int = 0) -> Iterator[tuple[int, list[str] | Outcome, int]]:
    """(line number, cells or the line's problems, bytes read so far) for each line after the
    first ``skip``."""
    codec = codec_name(layout.encoding)
    width = len(layout.fields)
    with open(path, "rb") as f:
        for number, raw in enumerate(_lines(f), start=1):
            if number <= skip:
                continue
            position = f.tell()
            if raw is None:
                yield number, failed(number, [(None, f"The line is longer than "
                                                     f"{MAX_LINE_BYTES >> 20} MiB.")]), position
                continue
            if not raw.strip():
                yield number, [""] * width, position
                continue
            text, problem = _decode(raw, codec)
            if problem is not None:
                yield number, failed(number, [(None, problem)]), position
                continue
            value, key, problem = _parse(text)
            if problem is None and not isinstance(value, dict):
                problem = (f"Not a JSON object: each line must hold one {{...}} record, not "
                           f"{_json_kind(value)}.")
            if problem is not None:
                yield number, failed(number, [(key, problem)]), position
                continue
            cells, problems = cells_of(value, layout)
            yield number, (failed(number, problems) if problems else cells), position


def _json_kind(value) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


__all__ = ["EXTENSIONS", "JsonLayout", "cells_of", "count_rows", "is_jsonl", "layout_of",
           "read_rows"]
