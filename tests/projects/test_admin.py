"""The admin, as the secretariat uses it: steps through ``perform``, never an editable state."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from projects.models import Call, ChangeRequest, NumberSequence, Project, TransitionLog
from projects.services import available_transitions, perform
from projects.workflow import STEP_LABELS
from tests.factories import CallClassFactory, CallFactory, MemberFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_secretary(secretary):
    secretary.is_staff = True
    secretary.save()
    return secretary


@pytest.fixture
def en_client(client):
    """Messages in English, whatever catalogue is installed later."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def secretary_client(en_client, staff_secretary):
    en_client.force_login(staff_secretary)
    return en_client


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.org", "keti-demo-2023")


@pytest.fixture
def superuser_client(en_client, superuser):
    en_client.force_login(superuser)
    return en_client


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def step_url(obj, name):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_step", args=[obj.pk, name])


def english(message):
    with translation.override("en"):
        return str(message)


# ---- (1) the change page: the buttons of exactly the available steps, no state field ----------


def test_project_change_page_shows_exactly_the_available_steps(secretary_client, staff_secretary):
    project = ProjectFactory(state="active")
    expected = available_transitions(project, staff_secretary)
    assert set(expected) == {"terminate", "revoke_project"}

    response = secretary_client.get(change_url(project))

    assert response.status_code == 200
    html = response.content.decode()
    for name in expected:
        assert f'href="{step_url(project, name)}"' in html
        assert english(STEP_LABELS[name]) in html
    step_prefix = step_url(project, "x")[: -len("x/")]
    assert html.count(step_prefix) == len(expected)
    assert "submit_midterm" not in html  # the PI's step, not the secretariat's
    assert 'name="state"' not in html


def test_steps_with_a_page_of_their_own_link_there_and_are_not_taken_in_the_admin(secretary_client):
    """The formal check needs its checklist and the appraisal its panel: the admin sends the secretariat there."""
    endorsed = ProjectFactory(state="endorsed")
    html = secretary_client.get(change_url(endorsed)).content.decode()
    assert reverse("formal-check", args=[endorsed.pk]) in html
    assert "/step/" not in html
    response = secretary_client.post(step_url(endorsed, "pass_formal_check"), {"reason": "材料齐全"})
    assert response.status_code == 302 and response["Location"] == reverse("formal-check", args=[endorsed.pk])
    endorsed.refresh_from_db()
    assert endorsed.state == "endorsed"
    appraised = ProjectFactory(state="completion_review")
    response = secretary_client.post(step_url(appraised, "appraise"), {"reason": "", "grade": "good"})
    assert response["Location"] == reverse("project-completion", args=[appraised.pk])
    appraised.refresh_from_db()
    assert appraised.state == "completion_review"


def test_no_state_field_for_a_superuser_either_and_a_posted_state_is_ignored(superuser_client):
    call = CallFactory(state="draft")
    response = superuser_client.get(change_url(call))
    assert response.status_code == 200
    assert 'name="state"' not in response.content.decode()

    data = {
        "year": call.year,
        "title": call.title,
        "description": "",
        "state": "archived",
        "opens_at_0": "2023-03-01",
        "opens_at_1": "08:00:00",
        "deadline_0": "2023-05-31",
        "deadline_1": "17:00:00",
        "notice_days": 7,
        "classes-TOTAL_FORMS": 0,
        "classes-INITIAL_FORMS": 0,
        "topics-TOTAL_FORMS": 0,
        "topics-INITIAL_FORMS": 0,
    }
    response = superuser_client.post(change_url(call), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    call.refresh_from_db()
    assert call.state == "draft"
    assert call.notice_days == 7


def test_the_pi_step_shows_no_button_to_the_secretariat(secretary_client):
    project = ProjectFactory(state="draft")
    response = secretary_client.get(change_url(project))
    assert response.status_code == 200
    assert "/step/" not in response.content.decode()


# ---- (2) a valid step through the confirmation page -----------------------------------------


def test_confirmation_page_asks_for_a_reason(secretary_client):
    project = ProjectFactory(state="active")
    response = secretary_client.get(step_url(project, "terminate"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="reason"' in html
    assert 'name="grade"' not in html
    assert english(STEP_LABELS["terminate"]) in html


def test_posting_a_valid_step_changes_the_state_and_writes_one_log_row(secretary_client, staff_secretary):
    project = ProjectFactory(state="active")
    before = TransitionLog.objects.count()

    response = secretary_client.post(step_url(project, "terminate"), {"reason": "逾期未结题"}, follow=True)

    assert response.redirect_chain == [(change_url(project), 302)]
    project.refresh_from_db()
    assert project.state == "terminated"
    assert TransitionLog.objects.count() == before + 1
    log = TransitionLog.objects.get(project=project)
    assert (log.transition, log.from_state, log.to_state) == ("terminate", "active", "terminated")
    assert log.actor == staff_secretary
    assert log.reason == "逾期未结题"
    assert "Done: Terminate." in response.content.decode()


def test_a_call_is_published_from_its_change_page(secretary_client):
    call = CallFactory(state="draft")
    CallClassFactory(call=call)
    html = secretary_client.get(change_url(call)).content.decode()
    assert f'href="{step_url(call, "publish")}"' in html

    response = secretary_client.post(step_url(call, "publish"), {"reason": ""})

    assert response.status_code == 302
    call.refresh_from_db()
    assert call.state == "published"
    assert TransitionLog.objects.filter(transition="publish", object_id=call.pk).count() == 1


def make_change_request(project, state="pending"):
    return ChangeRequest.objects.create(
        project=project,
        kind="extension",
        state=state,
        requested_by=project.pi,
        explanation="调研对象所在社区受疫情影响，需延期半年。",
        extension_months=6,
        created_at=timezone.now(),
    )


def test_the_secretariat_rejects_a_change_request_from_its_page(secretary_client):
    change = make_change_request(ProjectFactory(state="active"), state="endorsed")
    html = secretary_client.get(change_url(change)).content.decode()
    assert f'href="{step_url(change, "approve")}"' in html
    assert f'href="{step_url(change, "reject")}"' in html
    assert 'name="state"' not in html

    response = secretary_client.post(step_url(change, "reject"), {"reason": "延期理由不充分"})

    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == "rejected"
    log = TransitionLog.objects.get(transition="reject", object_id=change.pk)
    assert (log.project_id, log.reason) == (change.project_id, "延期理由不充分")


# ---- (3) a refused step ----------------------------------------------------------------------


def test_a_refused_step_shows_why_and_changes_nothing(secretary_client):
    project = ProjectFactory(state="active")
    before = TransitionLog.objects.count()

    response = secretary_client.post(step_url(project, "terminate"), {"reason": "   "})

    assert response.status_code == 200
    assert "Please give a reason for this step." in response.content.decode()
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    project.refresh_from_db()
    assert project.state == "active"
    assert TransitionLog.objects.count() == before


def test_a_stale_step_says_it_is_no_longer_possible(secretary_client, staff_secretary):
    project = ProjectFactory(state="active")
    perform(project, "terminate", by=staff_secretary, reason="自愿终止")
    response = secretary_client.get(step_url(project, "revoke_project"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not possible while the record is" in html
    assert 'name="reason"' not in html


def test_an_unknown_step_is_404(secretary_client):
    project = ProjectFactory(state="endorsed")
    assert secretary_client.get(step_url(project, "explode")).status_code == 404
    assert secretary_client.post(step_url(project, "explode"), {"reason": "x"}).status_code == 404
    # "request" has a label but is not a step of the project's machine.
    assert secretary_client.get(step_url(project, "request")).status_code == 404


def test_steps_need_the_admin_view_permission(en_client):
    project = ProjectFactory(state="endorsed")
    url = step_url(project, "pass_formal_check")

    response = en_client.get(url)  # anonymous: the admin's login page
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]

    en_client.force_login(UserFactory(username="clerk", is_staff=True))  # staff, no permission
    assert en_client.get(url).status_code == 403
    assert en_client.post(url, {"reason": "x"}).status_code == 403
    project.refresh_from_db()
    assert project.state == "endorsed"


def test_non_staff_pi_is_sent_to_the_login_page(en_client):
    project = ProjectFactory(state="draft")
    en_client.force_login(project.pi)
    response = en_client.post(step_url(project, "withdraw"), {"reason": ""})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.state == "draft"


# ---- (4) the transition log is read-only for everybody -----------------------------------------


def test_transition_log_admin_refuses_add_change_and_delete_even_to_a_superuser(superuser_client, superuser):
    project = ProjectFactory(state="endorsed")
    perform(project, "pass_formal_check", by=superuser, reason="ok")
    entry = TransitionLog.objects.get(project=project)
    base = "admin:projects_transitionlog"

    assert superuser_client.get(reverse(f"{base}_changelist")).status_code == 200
    assert superuser_client.get(reverse(f"{base}_add")).status_code == 403
    assert superuser_client.post(reverse(f"{base}_add"), {"transition": "x"}).status_code == 403
    assert superuser_client.post(reverse(f"{base}_change", args=[entry.pk]), {"reason": "x"}).status_code == 403
    assert superuser_client.get(reverse(f"{base}_delete", args=[entry.pk])).status_code == 403
    assert superuser_client.post(reverse(f"{base}_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    # Viewing is allowed, read-only: no form fields, no delete action.
    page = superuser_client.get(reverse(f"{base}_change", args=[entry.pk])).content.decode()
    assert 'name="reason"' not in page
    listing = superuser_client.get(reverse(f"{base}_changelist")).content.decode()
    assert "delete_selected" not in listing
    entry.refresh_from_db()
    assert entry.reason == "ok"


def test_transition_log_search_and_filters(secretary_client, staff_secretary):
    first = ProjectFactory(state="endorsed", title="社区教育治理研究")
    second = ProjectFactory(state="endorsed", title="学分银行建设研究")
    perform(first, "pass_formal_check", by=staff_secretary)
    perform(second, "reject_formal", by=staff_secretary, reason="不符合指南")
    url = reverse("admin:projects_transitionlog_changelist")

    found = secretary_client.get(url, {"q": "社区教育"}).context["cl"].result_list
    assert [e.project_id for e in found] == [first.pk]
    rejected = secretary_client.get(url, {"to_state": "ineligible"}).context["cl"].result_list
    assert [e.project_id for e in rejected] == [second.pk]
    assert secretary_client.get(url, {"transition": "pass_formal_check"}).context["cl"].result_count == 1


# ---- (5) the project list does a fixed number of queries ---------------------------------------


def test_project_changelist_query_count_does_not_grow_with_rows(secretary_client):
    url = reverse("admin:projects_project_changelist")
    first = ProjectFactory(state="endorsed")
    MemberFactory(project=first)
    secretary_client.get(url)  # warm up (content types, sessions)

    with CaptureQueriesContext(connection) as one:
        response = secretary_client.get(url)
    assert response.context["cl"].result_count == 1

    for state in ("submitted", "active"):
        MemberFactory(project=ProjectFactory(state=state, pi=UserFactory()))
    with CaptureQueriesContext(connection) as three:
        response = secretary_client.get(url)
    assert response.context["cl"].result_count == 3

    assert len(three) == len(one), [q["sql"] for q in three.captured_queries]


def test_project_changelist_search_and_filters(secretary_client):
    pi = UserFactory(username="ouyang", real_name="欧阳修远")
    mine = ProjectFactory(state="endorsed", pi=pi)
    other = ProjectFactory(state="draft")
    url = reverse("admin:projects_project_changelist")

    assert list(secretary_client.get(url, {"q": "欧阳修远"}).context["cl"].result_list) == [mine]
    assert list(secretary_client.get(url, {"state": "draft"}).context["cl"].result_list) == [other]
    assert list(secretary_client.get(url, {"call__id__exact": mine.call_id}).context["cl"].result_list) == [mine]


def test_milestones_are_read_only_on_the_project_page(superuser_client):
    project = ProjectFactory(state="endorsed")
    html = superuser_client.get(change_url(project)).content.decode()
    for name in ("state", "receipt_number", "number", "submitted_at", "endorsed_at", "grade", "end_date"):
        assert f'name="{name}"' not in html
    assert 'name="title"' in html
    assert 'name="members-TOTAL_FORMS"' in html


# ---- (6) every registered admin opens -------------------------------------------------------


def test_every_changelist_add_and_change_page_opens_for_a_superuser(superuser_client, superuser, rf):
    project = ProjectFactory(state="endorsed")
    MemberFactory(project=project)
    perform(project, "pass_formal_check", by=superuser)  # a log row
    NumberSequence.objects.create(key="SB2023", last=1)
    make_change_request(ProjectFactory(state="active", pi=UserFactory()))
    request = rf.get("/")
    request.user = superuser

    assert admin.site._registry, "no model is registered"
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        assert superuser_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
        expected_add = 200 if model_admin.has_add_permission(request) else 403
        assert superuser_client.get(reverse(f"admin:{name}_add")).status_code == expected_add, name
        obj = model._default_manager.first()
        if obj is not None:
            assert superuser_client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200, name


def test_the_registry_covers_the_models_of_accounts_and_projects():
    from accounts.models import Institution, User
    from projects.models import CallClass, GuideTopic, Member

    for model in (User, Institution, Call, CallClass, GuideTopic, Project, Member, ChangeRequest, TransitionLog, NumberSequence):
        assert model in admin.site._registry, model
    # Adding is refused where a row may only be born from its service.
    request = type("R", (), {"user": None})()
    for model in (TransitionLog, NumberSequence, ChangeRequest):
        assert not admin.site._registry[model].has_add_permission(request), model


def test_guide_topic_classes_are_those_of_their_call(superuser_client):
    call = CallFactory(state="draft")
    mine = CallClassFactory(call=call, code="A")
    theirs = CallClassFactory(call=CallFactory(), code="B")
    response = superuser_client.get(change_url(call))
    formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model._meta.model_name == "guidetopic")
    queryset = formset.formset.form.base_fields["call_class"].queryset
    assert list(queryset) == [mine]
    assert theirs not in queryset
