"""Reference data of the book (PL-1): instruments. Clients and accounts are opened by the
account-opening system; here they arrive through the demo loader or an import."""

from django.db import transaction

from riskdesk.book.models import Instrument


@transaction.atomic
def create_instruments(rows: list[dict]) -> list[Instrument]:
    """Create new instruments; ``underlying`` is the code of an existing instrument."""
    created = []
    for row in rows:
        data = dict(row)
        underlying = data.pop("underlying", None)
        if underlying:
            data["underlying"] = Instrument.objects.get(code=underlying)
        instrument = Instrument(**{k: v for k, v in data.items() if v is not None})
        instrument.full_clean()
        instrument.save()
        created.append(instrument)
    return created
