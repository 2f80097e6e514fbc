"""The one batch-import flow of the console (PL-5).

template (.xlsx with field notes) → upload (.xlsx or .csv) → preview with every bad row and
its reason → confirm. Nothing is applied while any row is bad, and confirmation checks every
row again against the book as it is then, applying all rows in one transaction or none.

A domain app describes its file once as an ``ImportSpec`` and registers it; the pages, the
template and the parsing are shared.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font

MAX_ROWS = 50_000


class RowError(ValueError):
    """A row-level refusal; its message is shown beside the row."""


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong type, missing column, too many rows)."""


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    note: str
    example: str = ""
    required: bool = True
    parse: Callable[[str], Any] = str  # raises ValueError(reason) for a bad value


class ImportSpec:
    """Describe a batch file: its fields, the checks beyond one field, and how to apply it."""

    key: str = ""
    title: str = ""
    feature: str = ""
    permission: str = ""
    fields: tuple[Field, ...] = ()
    unique_together: tuple[str, ...] = ()  # fields whose values may appear once per file
    done_url: str = "dashboard"

    def check_row(self, values: dict) -> None:
        """Raise RowError for a row that parses but cannot be applied (e.g. already exists)."""

    def apply(self, rows: list[dict], *, user) -> dict:
        """Apply every (parsed) row; runs inside one transaction."""
        raise NotImplementedError


REGISTRY: dict[str, ImportSpec] = {}


def register(spec: ImportSpec) -> ImportSpec:
    REGISTRY[spec.key] = spec
    return spec


# --- reading files ------------------------------------------------------------------------------


def read_rows(spec: ImportSpec, filename: str, content: bytes) -> list[dict]:
    """Rows of raw strings keyed by field key, each with its line number in the file."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _xlsx_table(content)
    elif name.endswith(".csv"):
        table = _csv_table(content)
    else:
        raise ImportFileError(_("Upload an .xlsx or .csv file."))
    if not table:
        raise ImportFileError(_("The file is empty."))
    header, *body = table
    columns = _columns(spec, header)
    rows = []
    for line, cells in enumerate(body, start=2):
        if all(_text(c) == "" for c in cells):
            continue
        values = {key: _text(cells[i]) if i < len(cells) else "" for i, key in columns.items()}
        rows.append({"line": line, "values": values})
    if not rows:
        raise ImportFileError(_("The file has a header but no rows."))
    if len(rows) > MAX_ROWS:
        raise ImportFileError(_("At most %(n)s rows per file.") % {"n": f"{MAX_ROWS:,}"})
    return rows


def _xlsx_table(content: bytes) -> list[list]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ImportFileError(_("Not a readable .xlsx file: %(e)s") % {"e": exc}) from None
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _csv_table(content: bytes) -> list[list]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("A .csv file must be UTF-8.")) from None
    return [row for row in csv.reader(io.StringIO(text))]


def _columns(spec: ImportSpec, header: list) -> dict[int, str]:
    by_name = {}
    for f in spec.fields:
        by_name[f.key.lower()] = f.key
        by_name[str(f.label).lower()] = f.key
    columns, unknown = {}, []
    for i, cell in enumerate(header):
        name = _text(cell)
        if not name:
            continue
        key = by_name.get(name.lower())
        if key is None:
            unknown.append(name)
        else:
            columns[i] = key
    if unknown:
        raise ImportFileError(_("Unknown column(s): %(c)s") % {"c": ", ".join(unknown)})
    missing = [f.key for f in spec.fields if f.required and f.key not in columns.values()]
    if missing:
        raise ImportFileError(_("Missing column(s): %(c)s") % {"c": ", ".join(missing)})
    return columns


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float):
        # Excel keeps numbers as binary floats; repr gives back the shortest decimal that
        # round-trips, which is what the user typed.
        return str(Decimal(repr(cell))).removesuffix(".0") if cell.is_integer() else repr(cell)
    return str(cell).strip()


# --- validation ---------------------------------------------------------------------------------


def parse_row(spec: ImportSpec, values: dict) -> tuple[dict, list[str]]:
    parsed, errors = {}, []
    for f in spec.fields:
        raw = values.get(f.key, "")
        if raw == "":
            if f.required:
                errors.append(_("%(f)s: required") % {"f": f.key})
            parsed[f.key] = None
            continue
        try:
            parsed[f.key] = f.parse(raw)
        except (ValueError, ArithmeticError) as exc:
            errors.append(f"{f.key}: {exc}")
    if not errors:
        try:
            spec.check_row(parsed)
        except RowError as exc:
            errors.append(str(exc))
    return parsed, errors


def validate(spec: ImportSpec, rows: list[dict]) -> list[dict]:
    """Every row with its errors (field errors, then checks against the book, then duplicates
    within the file)."""
    seen: dict[tuple, int] = {}
    checked = []
    for row in rows:
        _parsed, errors = parse_row(spec, row["values"])
        if spec.unique_together:
            ident = tuple(row["values"].get(k, "").upper() for k in spec.unique_together)
            if ident in seen:
                errors.append(_("duplicate of line %(n)s") % {"n": seen[ident]})
            else:
                seen[ident] = row["line"]
        checked.append({**row, "errors": errors})
    return checked


def apply_batch(spec: ImportSpec, rows: list[dict], *, user) -> tuple[list[dict], dict | None]:
    """Validate again and apply all rows in one transaction; or apply none and return why."""
    checked = validate(spec, rows)
    if any(row["errors"] for row in checked):
        return checked, None
    with transaction.atomic():
        result = spec.apply([parse_row(spec, row["values"])[0] for row in checked], user=user)
    return checked, result


# --- imports that become change requests (PL-5) --------------------------------------------------


def row_error(exc) -> "RowError":
    """A flow's ValidationError as the row's error: "field: reason"."""
    from riskdesk.approvals.services import first_error

    field, reason = first_error(exc)
    return RowError(f"{field}: {reason}")


def submit_for_approval(*, flow: str, target, payload: dict, user, note: str = ""):
    """Submit the batch as a change request; a refusal of the batch as a whole (the role, a
    request submitted meanwhile, a stale row) is shown on the preview and nothing is submitted."""
    from django.core.exceptions import ValidationError

    from riskdesk.approvals import services

    try:
        return services.submit(flow=flow, target=target, payload=payload, maker=user, note=note)
    except services.ApprovalError as exc:
        raise ImportFileError(str(exc)) from None
    except ValidationError as exc:
        field, reason = services.first_error(exc)
        raise ImportFileError(f"{field}: {reason}") from None


def submitted(request_ids: list[int], rows: int) -> dict:
    """An import's result when it became requests: where to go, and what to say."""
    from django.urls import reverse

    numbers = ", ".join(f"#{n}" for n in request_ids)
    return {
        "requests": request_ids,
        "rows": rows,
        "message": _("Request %(n)s submitted for approval: %(rows)s rows.")
        % {"n": numbers, "rows": rows},
        "redirect": reverse("approvals:detail", args=[request_ids[0]]),
    }


# --- the template -------------------------------------------------------------------------------


def template_workbook(spec: ImportSpec) -> bytes:
    """An .xlsx with the header row (field keys, each with its note as a comment) and a
    second sheet listing every field, whether required, its note and an example. The data
    sheet holds no example row, so an untouched template cannot import a sample by mistake."""
    book = Workbook()
    data = book.active
    data.title = "data"
    for i, f in enumerate(spec.fields, start=1):
        cell = data.cell(row=1, column=i, value=f.key)
        cell.font = Font(bold=True)
        cell.comment = Comment(f"{f.label}: {f.note}", "RiskDesk")
        data.column_dimensions[cell.column_letter].width = max(12, len(f.key) + 4)
    notes = book.create_sheet("notes")
    notes.append([_("field"), _("label"), _("required"), _("note"), _("example")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for f in spec.fields:
        notes.append(
            [f.key, str(f.label), _("yes") if f.required else _("no"), str(f.note), f.example]
        )
    notes.column_dimensions["D"].width = 80
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
