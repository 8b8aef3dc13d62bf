"""Receipt numbers (SB{YYYY}{NNNNN}), project numbers ({ORG}{YYYY}{class}{NNN}) and
certificate numbers ({ORG}-JT{YYYY}{NNNN}).

A number comes from a per-series counter row locked for the rest of the
transaction, so that two requests at the same moment never get the same number
and a number, once given, is never given again (a rolled-back transaction gives
its number back only because nothing was ever committed with it).
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import NumberSequence


def next_in_series(key):
    """Increment and return the counter of ``key``; must run inside a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Numbers are handed out inside a transaction only.")
    NumberSequence.objects.bulk_create([NumberSequence(key=key, last=0)], ignore_conflicts=True)
    sequence = NumberSequence.objects.select_for_update().get(key=key)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


def receipt_number(now):
    year = timezone.localtime(now).year
    return f"SB{year}{next_in_series(f'SB{year}'):05d}"


def project_number(project):
    """The next free number of the call's year and class, skipping numbers the archive already holds."""
    from .signals import number_is_reserved

    prefix = f"{settings.PROJECT_NUMBER_PREFIX}{project.call.year}{project.call_class.code}"
    while True:
        number = f"{prefix}{next_in_series(prefix):03d}"
        if not any(answer for _receiver, answer in number_is_reserved.send(sender=type(project), number=number)):
            return number


def certificate_number(now):
    """The next completion certificate number (结题证书编号) of the year of ``now``: ``{ORG}-JT{YYYY}{NNNN}``."""
    year = timezone.localtime(now).year
    prefix = f"{settings.PROJECT_NUMBER_PREFIX}-JT{year}"
    return f"{prefix}{next_in_series(prefix):04d}"
