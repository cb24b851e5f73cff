"""Reading an import file: encoding, delimiter, header and column mapping, then rows.

Everything that makes a whole file unusable (wrong encoding, no header, a column nobody said what to
do with) is found before a single row is written, and reported as a :class:`FileProblem` that says
what to change. Rows are numbered as a spreadsheet numbers them: the header is row 1.

It also holds the rule that keeps a CSV export safe to open in a spreadsheet and still importable
(:func:`escape_formula`, undone by :func:`read_rows`).
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

CHUNK = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
# Values a cell of a header line would not hold: a sign the first line is data.
_LOOKS_LIKE_DATA = re.compile(r"@|^\+?[\d\s().-]{5,}$|^\d{4}-\d{2}-\d{2}")


# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number or a signed number: a spreadsheet may do sums with it, but it calls no
# function and reads no other cell, so it is written bare (a phone stays +442079460958).
_INERT = re.compile(r"[+-][\d ().,/-]*\Z")


def needs_escape(text: str) -> bool:
    """Whether a text cell is written with a leading ``'``: it starts like a formula (and is not
    a phone number or a signed number), or it is ``'`` before one (``'=x``, so that the escaped
    ``''=x`` reads back as ``'=x``). The same as ``text`` needing it without its leading ``'``."""
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_STARTS) and _INERT.match(bare) is None


def escape_formula(text: str) -> str:
    """A text value as an export's CSV cell: a spreadsheet shows it, never runs it.

    Only text: numbers, decimals and dates of typed columns are written as they are (a
    spreadsheet reads ``-5`` as the number it is). :func:`unescape_formula` undoes it exactly.
    """
    return "'" + text if needs_escape(text) else text


def unescape_formula(cell: str) -> str:
    """The value of a cell :func:`escape_formula` wrote: one leading ``'`` goes when the rest
    needs escaping. Any other cell is read as it is (``'plain`` stays ``'plain``)."""
    return cell[1:] if cell[:1] == "'" and needs_escape(cell[1:]) else cell


def _unescape_row(cells: list[str]) -> list[str]:
    # Most rows have no cell starting with ': one scan of the joined row (C speed) finds those
    # that may, and only they are read cell by cell.
    if "\0'" not in "\0" + "\0".join(cells):
        return cells
    return [unescape_formula(cell) for cell in cells]


class FileProblem(Exception):
    """The file as a whole cannot be imported. ``problems`` are (what, message) pairs, ``what``
    being ``file``, ``encoding`` or ``mapping``, the field an API answer names."""

    def __init__(self, problems: list[tuple[str, str]] | str, what: str = "file"):
        self.problems = [(what, problems)] if isinstance(problems, str) else problems
        super().__init__("\n".join(message for _, message in self.problems))


@dataclass
class FieldSet:
    """The fields a kind of import can fill."""

    entity: str  # "customer" or "interaction", for messages
    names: list[str]  # fields a column may map to (custom.<name> included)
    # Columns an export writes that an import does not set (ids, timestamps): skipped silently.
    ignored: frozenset[str] = frozenset()
    # Fields a column must give, as alternatives: [("first_name", "last_name", "name")].
    needs_one_of: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Layout:
    """How to read a file: its header and, per column, the field it fills (None: ignored)."""

    header: list[str]
    fields: list[str | None]
    encoding: str
    delimiter: str

    def column_of(self, field_name: str) -> str | None:
        """The header of the column that fills ``field_name`` (for error reports)."""
        base = field_name.split(".")[0] if not field_name.startswith("custom.") else field_name
        for column, target in zip(self.header, self.fields):
            if target in (field_name, base):
                return column
        return None


def normalise_header(name: str) -> str:
    """``" First Name "`` -> ``first_name``: headers match fields whatever their case or spacing."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["E-mail=email", "Notes="]`` -> ``{"E-mail": "email", "Notes": ""}``."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise FileProblem(f"{item!r} is not COLUMN=FIELD (leave FIELD empty to ignore the "
                              "column).", "mapping")
        mapping[column.strip()] = target.strip()
    return mapping


def codec_name(encoding: str | None) -> str:
    """The codec to open a file with; UTF-8 files may start with a byte order mark."""
    name = (encoding or "utf-8").strip()
    try:
        info = codecs.lookup(name)
        if not getattr(info, "_is_text_encoding", True):  # rot13, base64: not text encodings
            raise LookupError(name)
        canonical = info.name
    except LookupError:
        raise FileProblem(f"Unknown encoding {name!r}; use a Python codec name such as utf-8, "
                          "cp1252 or latin-1.", "encoding") from None
    return "utf-8-sig" if canonical in ("utf-8", "utf-8-sig") else canonical


def _bad_bytes_hint(data: bytes) -> str:
    shown = " ".join(f"0x{b:02X}" for b in data[:4])
    try:
        as_cp1252 = data[:4].decode("cp1252")
    except UnicodeDecodeError:
        return shown
    return f"{shown} ({as_cp1252!r} in cp1252)"


def check_encoding(path: str, encoding: str | None, label: str | None = None) -> int:
    """Decode the whole file once; returns its number of lines (an estimate of its rows).

    Raises :class:`FileProblem` naming the line of the first byte that does not decode, or when
    the file holds NUL bytes (a spreadsheet or other binary file, not CSV).
    """
    codec = codec_name(encoding)
    label = label or os.path.basename(path)
    decoder = codecs.getincrementaldecoder(codec)()
    lines, last = 0, b""
    with open(path, "rb") as f:
        if codec == "utf-8-sig":
            start = f.read(4)
            if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise FileProblem(f"{label} is UTF-16 text; import it with --encoding utf-16 "
                                  "(or save it as UTF-8).", "encoding")
            f.seek(0)
        while True:
            chunk = f.read(CHUNK)
            if b"\x00" in chunk and not codec.startswith(("utf-16", "utf-32")):
                raise FileProblem(f"{label} is not a CSV text file (it holds NUL bytes; a "
                                  "spreadsheet must be saved as CSV first).")
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk[:max(exc.start, 0)].count(b"\n") + 1
                raise FileProblem(
                    f"{label} is not {_display(codec)} text: line {line} holds bytes that do not "
                    f"decode ({_bad_bytes_hint(chunk[exc.start:exc.end + 3])}). Name the file's "
                    "encoding, e.g. --encoding cp1252 (Excel on Windows, Western Europe) or "
                    "--encoding latin-1, or save the file as UTF-8.", "encoding") from None
            if not chunk:
                break
            lines += chunk.count(b"\n")
            last = chunk
    if last and not last.endswith(b"\n"):
        lines += 1
    return lines


def _display(codec: str) -> str:
    return "UTF-8" if codec == "utf-8-sig" else codec


def open_text(path: str, encoding: str | None) -> io.TextIOWrapper:
    return open(path, encoding=codec_name(encoding), newline="")


def sniff_delimiter(first_line: str) -> str:
    """The delimiter of a header line: the candidate that splits it most (comma on a tie)."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def read_header(path: str, encoding: str | None,
                delimiter: str | None = None) -> tuple[list[str], str]:
    """(header, delimiter)."""
    with open_text(path, encoding) as f:
        try:
            first = f.readline()
        except UnicodeDecodeError:
            raise FileProblem(f"The header line is not {_display(codec_name(encoding))} text; "
                              "name the file's encoding, e.g. --encoding cp1252.",
                              "encoding") from None
        if not first.strip():
            raise FileProblem("The file is empty: the first line must name the columns "
                              "(e.g. first_name,last_name,email).")
        if first.lstrip().startswith("{"):
            raise FileProblem("The first line is a JSON object, not a header: import a JSON Lines "
                              "file with format jsonl (--format jsonl) or name it .jsonl.")
        delimiter = delimiter or sniff_delimiter(first)
        f.seek(0)
        _allow_long_cells()
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileProblem(f"The first lines cannot be read as CSV: {exc}.") from None
    return header, delimiter


def resolve_columns(header: list[str], mapping: Mapping[str, str],
                    fields: FieldSet) -> list[str | None]:
    """Which field each column fills; every problem at once in one :class:`FileProblem`."""
    problems: list[tuple[str, str]] = []
    by_name = {normalise_header(name): name for name in fields.names}
    valid = set(fields.names)
    stripped = [h.strip() for h in header]
    for column, target in mapping.items():
        if column not in stripped and normalise_header(column) not in map(normalise_header,
                                                                          stripped):
            problems.append(("mapping", f"The mapping names column {column!r}, which the header "
                                        f"does not have (it has: {', '.join(stripped)})."))
        if target and target not in valid:
            problems.append(("mapping", f"{column}={target}: {target!r} is not a {fields.entity} "
                                        f"field; fields: {', '.join(fields.names)}."))
    normalised_mapping = {normalise_header(k): v for k, v in mapping.items()}
    resolved: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for position, column in enumerate(stripped, start=1):
        if not column:
            problems.append(("file", f"Column {position} has no name in the header line."))
            resolved.append(None)
            continue
        if normalise_header(column) in seen.values():
            problems.append(("file", f"Column {column!r} appears twice in the header line."))
        seen[column] = normalise_header(column)
        if column in mapping or normalise_header(column) in normalised_mapping:
            target = mapping.get(column, normalised_mapping.get(normalise_header(column)))
            resolved.append(target if target in valid else None)
        elif normalise_header(column) in by_name:
            resolved.append(by_name[normalise_header(column)])
        elif normalise_header(column) in fields.ignored:
            resolved.append(None)
        else:
            unknown.append(column)
            resolved.append(None)
    if unknown and not any(resolved) and any(
            _LOOKS_LIKE_DATA.search(cell.strip()) for cell in header):
        raise FileProblem(
            f"The first line does not look like a header: it holds values such as "
            f"{next(c for c in header if _LOOKS_LIKE_DATA.search(c.strip()))!r}. The first line "
            f"must name the columns (e.g. {','.join(fields.names[:3])}).")
    for column in unknown:
        problems.append(("mapping", f"Column {column!r} is not a {fields.entity} field. Map it "
                                    f"(--map '{column}=FIELD') or ignore it (--map '{column}=')."))
    givers: dict[str, str] = {}
    for column, target in zip(stripped, resolved):
        if target is None:
            continue
        if target in givers:
            problems.append(("mapping", f"Columns {givers[target]!r} and {column!r} both give "
                                        f"{target}; map one of them elsewhere or to nothing."))
        givers.setdefault(target, column)
    if not problems:
        for alternatives in fields.needs_one_of:
            if not any(a in givers for a in alternatives):
                problems.append(("mapping", f"No column gives {' or '.join(alternatives)}; "
                                            f"every {fields.entity} needs one."))
    if problems:
        raise FileProblem(problems)
    return resolved


def layout_of(path: str, mapping: Mapping[str, str], fields: FieldSet,
              encoding: str | None = None, delimiter: str | None = None) -> Layout:
    header, delimiter = read_header(path, encoding, delimiter)
    resolved = resolve_columns(header, mapping, fields)
    return Layout([h.strip() for h in header], resolved, encoding or "utf-8", delimiter)


# The csv module refuses a cell over 128 KiB as a malformed file, which stopped the whole import
# at that row. Longer cells are read, so the field's own length check refuses that one row.
# (A process-wide setting; crmkit reads every CSV through here or read_header.)
CELL_LIMIT = 16 * 1024 * 1024


def _allow_long_cells() -> None:
    csv.field_size_limit(CELL_LIMIT)


def read_rows(path: str, layout: Layout, skip: int = 0) -> Iterator[tuple[int, list[str], int]]:
    """(row number, cells, bytes read so far) for each data row after the first ``skip``."""
    _allow_long_cells()
    with open_text(path, layout.encoding) as f:
        reader = csv.reader(f, delimiter=layout.delimiter)
        next(reader, None)
        index = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(f"Row {index + 2} cannot be read as CSV: {exc}.") from None
            index += 1
            if index > skip:
                # Cells an export escaped for spreadsheets read back as the values they were,
                # before any importer sees them (CSV only: JSON Lines is not escaped).
                yield index + 1, _unescape_row(cells), f.buffer.tell()


__all__ = ["FieldSet", "FileProblem", "Layout", "check_encoding", "escape_formula", "layout_of",
           "needs_escape", "parse_mapping", "read_rows", "resolve_columns", "unescape_formula"]
