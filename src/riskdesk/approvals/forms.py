"""The one way a console page proposes a change: submit it, then go to the request — or show
why not (the field at fault, or the pending request in the way)."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from riskdesk.approvals import services


def try_submit(
    request,
    *,
    flow: str,
    target,
    payload: dict,
    note: str,
    on_refusal: Callable[[str | None, list[str]], None],
):
    """Submit a change request; on a refusal call ``on_refusal(field or None, messages)`` for
    each refused field and return None."""
    try:
        change = services.submit(
            flow=flow, target=target, payload=payload, maker=request.user, note=note
        )
    except services.ApprovalError as exc:
        on_refusal(None, [str(exc)])
        return None
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                on_refusal(field, errors)
        else:
            on_refusal(None, exc.messages)
        return None
    messages.success(request, _("Request #%(n)s submitted for approval.") % {"n": change.pk})
    return change


def submit_from_form(request, form, *, flow: str, target, payload: dict, note: str = ""):
    """Submit from a valid form. Returns a redirect to the new request, or None after adding
    the refusal to ``form`` (re-render it)."""

    def refuse(field, errors):
        form.add_error(field if field in form.fields else None, errors)

    change = try_submit(
        request, flow=flow, target=target, payload=payload, note=note, on_refusal=refuse
    )
    return None if change is None else redirect("approvals:detail", pk=change.pk)
