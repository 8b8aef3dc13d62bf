"""After `load_demo`, every kind of demo account logs in through the login page and lands on its dashboard."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from projects.demo import DEMO_PASSWORD

ACCOUNTS = ["admin", "secretary", "committee1", "committee5", "expert1", "expert12", "unitadmin1", "unitadmin8",
            "applicant1", "applicant40"]


@pytest.mark.django_db
@pytest.mark.rolled_back
def test_each_demo_account_logs_in(client):
    call_command("load_demo", verbosity=0)
    assert client.get("/").status_code == 200
    for username in ACCOUNTS:
        response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302 and response["Location"] == reverse("dashboard"), username
        assert client.get(reverse("dashboard")).status_code == 200
        client.post(reverse("logout"))
    wrong = client.post(reverse("login"), {"username": "secretary", "password": "wrong"})
    assert wrong.status_code == 200 and not wrong.wsgi_request.user.is_authenticated
