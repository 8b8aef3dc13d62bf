"""The call's own machine: draft → published → closed → reviewing → decided → archived."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from projects.models import TransitionLog
from projects.services import TransitionRefused, perform
from tests.factories import CallClassFactory, CallFactory

pytestmark = pytest.mark.django_db


def test_call_goes_through_its_life(secretary):
    call = CallFactory(state="draft")
    with translation.override("en"), pytest.raises(TransitionRefused) as empty:
        perform(call, "publish", by=secretary)
    assert empty.value.messages == ["Add at least one project class (A, B, …) before publishing."]
    CallClassFactory(call=call, code="A")
    perform(call, "publish", by=secretary)
    with pytest.raises(TransitionRefused):
        perform(call, "close", by=secretary)  # before the deadline
    after = call.deadline + dt.timedelta(minutes=1)
    for step in ("close", "start_reviewing", "decide", "archive"):
        perform(call, step, by=secretary, now=after)
    assert call.state == "archived"
    assert list(TransitionLog.objects.filter(object_id=call.pk, content_type__model="call")
                .values_list("to_state", flat=True)) == ["published", "closed", "reviewing", "decided", "archived"]


def test_only_the_secretariat_runs_a_call(applicant):
    call = CallFactory(state="draft")
    CallClassFactory(call=call)
    with pytest.raises(TransitionRefused):
        perform(call, "publish", by=applicant)
    call.refresh_from_db()
    assert call.state == "draft" and not TransitionLog.objects.exists()


def test_publishing_needs_a_window(secretary):
    now = timezone.now()
    call = CallFactory(state="draft", opens_at=now, deadline=now - dt.timedelta(days=1))
    CallClassFactory(call=call)
    with translation.override("en"), pytest.raises(TransitionRefused) as refusal:
        perform(call, "publish", by=secretary)
    assert refusal.value.messages == ["Set an opening time before the deadline."]
