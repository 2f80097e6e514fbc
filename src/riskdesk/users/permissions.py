"""One way for pages to say which permission they need (PL-2)."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def requires(*perms: str):
    """Page decorator: 403 unless the user holds every permission named."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_permissions = perms
        return wrapped

    return decorate
