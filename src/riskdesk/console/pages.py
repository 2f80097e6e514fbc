"""Console pages that belong to no domain: dashboard, and the shared batch-import flow."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from riskdesk.book import selectors
from riskdesk.console import imports
from riskdesk.console.models import ImportBatch


def dashboard(request):
    return render(request, "console/dashboard.html", {"figures": selectors.headline_figures()})


def _spec(key: str, user) -> imports.ImportSpec:
    spec = imports.REGISTRY.get(key)
    if spec is None:
        raise Http404
    if not user.has_perm(spec.permission):
        raise PermissionDenied
    return spec


def import_template(request, key):
    spec = _spec(key, request.user)
    response = HttpResponse(
        imports.template_workbook(spec),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{spec.key}-template.xlsx"'
    return response


@require_http_methods(["GET", "POST"])
def import_upload(request, key):
    spec = _spec(key, request.user)
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file to upload.")
        else:
            try:
                rows = imports.read_rows(spec, upload.name, upload.read())
            except imports.ImportFileError as exc:
                error = str(exc)
            else:
                batch = ImportBatch.objects.create(
                    spec=spec.key,
                    filename=upload.name,
                    uploaded_by=request.user,
                    rows=imports.validate(spec, rows),
                )
                return redirect("import-preview", batch_id=batch.id)
    return render(request, "console/import_upload.html", {"spec": spec, "error": error})


@require_http_methods(["GET", "POST"])
def import_preview(request, batch_id):
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    spec = _spec(batch.spec, request.user)
    if batch.uploaded_by_id != request.user.id and request.method == "POST":
        raise PermissionDenied
    if request.method == "POST" and batch.status == ImportBatch.Status.PREVIEW:
        if request.POST.get("action") == "discard":
            batch.status = ImportBatch.Status.DISCARDED
            batch.save(update_fields=["status"])
            messages.info(request, _("Batch discarded; nothing was applied."))
            return redirect("import-upload", key=spec.key)
        try:
            checked, result = imports.apply_batch(spec, batch.rows, user=request.user)
        except imports.ImportFileError as exc:  # the batch as a whole was refused on confirmation
            messages.error(request, str(exc))
            return redirect("import-preview", batch_id=batch.id)
        batch.rows = checked
        if result is None:
            batch.save(update_fields=["rows"])
            messages.error(
                request, _("Nothing was applied: fix the rows marked below and upload again.")
            )
        else:
            batch.status = ImportBatch.Status.APPLIED
            batch.result = result
            batch.applied_at = timezone.now()
            batch.save()
            messages.success(
                request, result.get("message") or _("Applied %(n)s rows.") % {"n": len(checked)}
            )
            return redirect(result.get("redirect") or spec.done_url)
    fields = [f.key for f in spec.fields]
    return render(
        request,
        "console/import_preview.html",
        {
            "spec": spec,
            "batch": batch,
            "fields": fields,
            "rows": [
                {**row, "cells": [row["values"].get(k, "") for k in fields]} for row in batch.rows
            ],
            "bad": len(batch.bad_rows),
        },
    )
