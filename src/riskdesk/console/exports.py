"""Export of a list page's filtered rows to .xlsx (PL-6).

Written with openpyxl's write-only workbook into a temporary file, so memory stays flat;
amounts keep their Decimal value and a number format, never a float's rounding.
"""

import tempfile
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

NUMBER_FORMATS = {
    "amount": "#,##0.00",
    "price": "#,##0.000###",
    "rate": "0.00000000",
    "quantity": "#,##0",
}


def xlsx_response(request, page):
    """Stream the rows the page's filters select as an .xlsx download."""
    from riskdesk.console.listing import FilterError

    try:
        rows = page.export_rows(request.GET, request.user)
    except FilterError as exc:
        messages.error(request, str(exc))
        return redirect(request.path.rsplit("/", 1)[0] + "/")
    limit = settings.RISKDESK_EXPORT_MAX_ROWS
    if rows[: limit + 1].count() > limit:
        messages.error(
            request,
            _("The filters select more than %(n)s rows; narrow them to export.")
            % {"n": f"{limit:,}"},
        )
        return redirect(request.path.rsplit("/", 1)[0] + "/?" + request.GET.urlencode())
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    write_workbook(handle, str(page.title), page.columns, rows.iterator(chunk_size=2000))
    handle.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return FileResponse(handle, as_attachment=True, filename=f"{page.name}-{stamp}.xlsx")


def write_workbook(handle, title: str, columns, rows) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "rows")
    header = []
    for col in columns:
        cell = WriteOnlyCell(sheet, value=str(col.label))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(
            [
                _cell(sheet, col, col.derive(row) if col.derive else row.get(col.key))
                for col in columns
            ]
        )
    book.save(handle)


def _cell(sheet, col, value):
    if col.choices is not None and value in col.choices:
        value = str(col.choices[value])
    if isinstance(value, datetime):
        # Excel has no time zones: write the console's local time, as shown on the page.
        value = timezone.localtime(value).replace(tzinfo=None)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal | int) and col.kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[col.kind]
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    return cell
