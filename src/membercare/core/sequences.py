from django.db import transaction

from .models import NumberSequence


@transaction.atomic
def reserve_numbers(name: str, count: int = 1) -> range:
    """Reserve `count` consecutive numbers of the named sequence; the row lock serialises callers."""
    NumberSequence.objects.get_or_create(name=name)
    seq = NumberSequence.objects.select_for_update().get(name=name)
    start = seq.last + 1
    seq.last += count
    seq.save(update_fields=["last"])
    return range(start, start + count)


def advance_to_at_least(name: str, value: int) -> None:
    """Used by bulk loaders that write numbers themselves."""
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        seq = NumberSequence.objects.select_for_update().get(name=name)
        if seq.last < value:
            seq.last = value
            seq.save(update_fields=["last"])
