"""Receipt and project numbers are unique and never reused, also under concurrent confirmation."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts import roles
from projects.models import NumberSequence, Project
from projects.services import TransitionRefused, perform
from tests.factories import CallClassFactory, MemberFactory, ProjectFactory, UserFactory

THREADS = 20


def run_at_once(functions):
    """Start every function in its own thread behind one barrier; return their exceptions."""
    barrier = threading.Barrier(len(functions))
    errors = []

    def worker(fn):
        try:
            barrier.wait()
            fn()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_confirm_at_once(unit, other_unit):
    secretary = UserFactory(username="secretary", institution=other_unit, role=roles.SECRETARIAT)
    cls = CallClassFactory(code="A")
    started = timezone.now() - dt.timedelta(days=8)
    projects = [
        ProjectFactory(call_class=cls, pi=UserFactory(institution=unit), state="publicity",
                       publicity_started_at=started, receipt_number=f"SB2023{i:05d}")
        for i in range(THREADS)
    ]
    errors = run_at_once([lambda p=p: perform(p, "confirm", by=secretary) for p in projects])
    assert errors == []
    numbers = sorted(Project.objects.values_list("number", flat=True))
    assert numbers == [f"CAEA2023A{i:03d}" for i in range(1, THREADS + 1)]
    assert NumberSequence.objects.get(key="CAEA2023A").last == THREADS
    print(f"\n{connection.vendor}: {THREADS} concurrent confirmations -> {len(set(numbers))} distinct numbers")


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_submit_at_once(unit):
    cls = CallClassFactory(code="B")
    projects = []
    for _ in range(THREADS):
        project = ProjectFactory(call_class=cls, pi=UserFactory(institution=unit))
        MemberFactory(project=project)
        projects.append(project)
    errors = run_at_once([lambda p=p: perform(p, "submit", by=p.pi) for p in projects])
    assert errors == []
    year = timezone.localtime().year
    receipts = sorted(Project.objects.values_list("receipt_number", flat=True))
    assert receipts == [f"SB{year}{i:05d}" for i in range(1, THREADS + 1)]


@pytest.mark.django_db(transaction=True)
def test_one_application_per_pi_holds_under_a_race(unit):
    """Two drafts of one PI submitted at the same moment: exactly one gets through."""
    cls = CallClassFactory(code="B")
    pi = UserFactory(institution=unit)
    drafts = [ProjectFactory(call_class=cls, pi=pi, title=f"社区教育治理研究{i}") for i in range(2)]
    for draft in drafts:
        MemberFactory(project=draft)
    errors = run_at_once([lambda p=p: perform(p, "submit", by=pi) for p in drafts])
    assert len(errors) == 1 and isinstance(errors[0], TransitionRefused)
    assert Project.objects.filter(state="submitted").count() == 1


@pytest.mark.django_db
def test_a_number_is_never_given_twice(unit, secretary):
    project = ProjectFactory(pi=UserFactory(institution=unit))
    MemberFactory(project=project)
    perform(project, "submit", by=project.pi)
    first = project.receipt_number
    perform(project, "withdraw", by=project.pi)
    again = ProjectFactory(pi=project.pi, call_class=project.call_class)
    MemberFactory(project=again)
    perform(again, "submit", by=again.pi)
    assert again.receipt_number != first
    assert int(again.receipt_number[-5:]) == int(first[-5:]) + 1
