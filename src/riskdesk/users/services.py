from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskdesk.users.roles import ADMINISTRATOR, ROLE_PERMISSIONS


@transaction.atomic
def create_user(*, username: str, password: str, role: str, email: str = "", full_name: str = ""):
    """Create (or reset) a console user with exactly one role."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLE_PERMISSIONS)}")
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.email = email
    user.first_name = full_name
    user.is_staff = role == ADMINISTRATOR
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    return user
