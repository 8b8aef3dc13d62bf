"""Security hardening: login lockout, Content-Security-Policy, production settings,
upload limits, and an access test for every view of the URL configuration."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, UUIDConverter

from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "keti-demo-2023"  # the factories' password
LOGIN = "/accounts/login/"


# ---- login lockout ---------------------------------------------------------------------------


def attempt(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client):
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_five_failed_logins_lock_the_username_out_from_that_address(client, english):
    UserFactory(username="zhang")
    UserFactory(username="li")

    for _ in range(4):
        response = attempt(client, "zhang", "wrong password")
        assert response.status_code == 200  # the login form again, with its error
    response = attempt(client, "zhang", "wrong password")  # the fifth failure locks
    assert response.status_code == 429

    # The right password no longer opens the account from this address …
    response = attempt(client, "zhang", PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    html = response.content.decode()
    assert "Too many failed logins" in html
    assert "Logging in failed 5 times in a row" in html
    assert "Please try again in 30 minutes." in html
    assert 'lang="en"' in html  # in the reader's language

    # … while another user from the same address, and the same user elsewhere, still log in.
    response = attempt(client, "li", PASSWORD)
    assert response.status_code == 302 and logged_in(client)
    client.logout()
    response = attempt(client, "zhang", PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302 and logged_in(client)


@pytest.mark.django_db
def test_the_lockout_page_is_in_chinese_by_default(client):
    UserFactory(username="wang")
    for _ in range(5):
        attempt(client, "wang", "wrong password")
    response = attempt(client, "wang", PASSWORD)
    assert response.status_code == 429
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(client):
    UserFactory(username="zhao")
    for _ in range(4):
        attempt(client, "zhao", "wrong password")
    assert attempt(client, "zhao", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "zhao", "wrong password").status_code == 200
    assert attempt(client, "zhao", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_is_locked_out_too(client):
    UserFactory(username="staff", is_staff=True)
    for _ in range(5):
        client.post("/admin/login/", {"username": "staff", "password": "wrong"}, REMOTE_ADDR="10.0.0.3")
    response = client.post("/admin/login/", {"username": "staff", "password": PASSWORD}, REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 429 and not logged_in(client)


def test_behind_proxies_the_address_is_the_one_the_outermost_proxy_saw(settings, rf):
    from accounts.lockout import client_ip

    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"
    settings.PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the forged left-hand entry is never read


# ---- Content-Security-Policy -----------------------------------------------------------------

CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
]


@pytest.mark.django_db
def test_pages_carry_the_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200
    directives = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    for directive in CSP_DIRECTIVES:
        assert directive in directives
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def template_files():
    folders = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    files = sorted(path for folder in folders for path in folder.rglob("*") if path.suffix in {".html", ".txt"})
    assert len(files) > 50
    return files


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_an_inline_script_handler_or_style():
    found = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(BASE_DIR)
        found += [f"{name}: <script{attrs}>" for attrs in SCRIPT_TAG.findall(text) if "src=" not in attrs]
        found += [f"{name}: {m.group().strip()}" for m in HANDLER.finditer(text)]
        found += [f"{name}: {m.group().strip()}" for m in STYLE.finditer(text)]
    assert found == []


# ---- production settings ---------------------------------------------------------------------

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "keti.example.org",
    # Several processes share the rate-limit counters (checks do not connect to it).
    "CACHE_URL": "rediscache://127.0.0.1:6379/2",
}


def run_with(env, *args):
    # The e2e tests' DJANGO_ALLOW_ASYNC_UNSAFE (a deployment error) and any security
    # variable of the test run's own environment stay out.
    environment = {
        k: v for k, v in os.environ.items()
        if k != "DJANGO_ALLOW_ASYNC_UNSAFE" and not k.startswith(("SECURE_", "SESSION_", "CSRF_", "CACHE_URL", "RATELIMIT_"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment,
        capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_with(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_refuses_a_cache_the_processes_do_not_share():
    # In-process counters would give each gunicorn worker its own rate limit.
    without_cache = {k: v for k, v in PRODUCTION_ENV.items() if k != "CACHE_URL"}
    result = run_with(without_cache, "check", "--deploy")
    assert result.returncode != 0
    assert "django_ratelimit.E003" in result.stderr + result.stdout


def test_production_settings_are_secure_and_overridable():
    names = [
        "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
    ]
    code = "from django.conf import settings; print(repr([getattr(settings, n) for n in %r]))" % names
    result = run_with(PRODUCTION_ENV, "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([True, True, True, 31536000, True, True, None])

    behind_proxy = {**PRODUCTION_ENV, "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
                    "SECURE_HSTS_PRELOAD": "false", "SECURE_HSTS_SECONDS": "3600"}
    result = run_with(behind_proxy, "shell", "--no-imports", "-c", code)
    assert result.stdout.strip() == repr([True, True, True, 3600, True, False, ("HTTP_X_FORWARDED_PROTO", "https")])


def test_development_defaults_stay_plain_http():
    # The test run uses the defaults of `make demo` (DEBUG true unless set).
    if os.environ.get("DEBUG", "true").lower() in {"false", "0", "no", "off"}:
        pytest.skip("the environment asks for production settings")
    assert not django_settings.SECURE_SSL_REDIRECT
    assert not django_settings.SESSION_COOKIE_SECURE
    assert django_settings.SECURE_HSTS_SECONDS == 0


def test_upload_limits_agree_with_the_file_limit():
    assert django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= django_settings.UPLOAD_MAX_BYTES
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= 1024 * 1024  # long text fields fit


# ---- every view needs its access -------------------------------------------------------------

# Pages an anonymous visitor may see (200). Every other view without arguments sends an
# anonymous visitor to the login page, or answers 403, 404 or 405.
PUBLIC = {
    "home",
    "health",
    "archive-search",
    "archive-export",
    "archive-statistics",
    "archive-statistics-xlsx",
    "archive-api-search",
    "archive-openapi",
    "login",
    "register",
    "register-done",
    "confirm-resend",
    "confirm-resend-done",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "admin:login",
}
# Public views with arguments: the call pages, the public notice (公示) and its objection
# form, the archive's project pages; reached here with made-up arguments, most answer 404.
PUBLIC_WITH_ARGUMENTS = {
    "call-detail",
    "call-notice",
    "call-publicity",
    "objection-submit",
    "objection-thanks",
    "archive-project",
    "archive-api-project",
    "confirm-email",  # an invalid link: the page that offers a new one
    "password_reset_confirm",  # an invalid link: Django's page that says so
}
# Answers with a redirect that is not the login page, on purpose.
OTHER_REDIRECTS = {
    "set_language": "/",  # no language was posted: back where the visitor came from
    "admin:logout": "/admin/",  # Django's admin; from there to its login page
}


def url_patterns(patterns=None, prefix="", namespace=None):
    """(route, name, pattern) of every view of the URL configuration."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, entry.pattern


ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


def made_up_url(route, pattern):
    """The route with a value that names nothing for each parameter; None for a regex route."""
    if route.startswith("^") or any(ch in route for ch in "()$"):
        return None
    converters = getattr(pattern, "converters", {})

    def value(match):
        converter = converters[match.group("parameter")]
        if isinstance(converter, IntConverter):
            return "987654"
        if isinstance(converter, UUIDConverter):
            return "00000000-0000-0000-0000-000000000000"
        return "nothing-here"

    return "/" + ROUTE_PARAMETER.sub(value, route)


def routes_without_arguments():
    return [(route, name) for route, name, pattern in url_patterns() if pattern.regex.groups == 0]


def routes_with_arguments():
    found = []
    for route, name, pattern in url_patterns():
        if pattern.regex.groups and name:
            url = made_up_url(route, pattern)
            if url is not None:
                found.append((url, name))
    return found


def check_anonymous_answer(client, url, name, public):
    response = client.get(url)
    status = response.status_code
    assert status != 500, f"{name} ({url}) failed"
    if status == 200:
        assert name in public, f"{name} ({url}) is open to anonymous visitors"
    elif status == 302:
        location = response["Location"]
        if name in OTHER_REDIRECTS:
            assert location == OTHER_REDIRECTS[name], (name, location)
        else:
            assert location.startswith((LOGIN, "/admin/login/")), f"{name} ({url}) redirects to {location}"
    else:
        assert status in {403, 404, 405}, f"{name} ({url}) answered {status}"
    return status


def test_the_walk_sees_the_whole_site():
    names = {name for _, name in routes_without_arguments()}
    assert {"home", "dashboard", "formal-check-queue", "expert-pool", "inbox", "admin:index"} <= names
    assert len(names) > 50
    assert PUBLIC <= names and set(OTHER_REDIRECTS) <= names
    with_arguments = {name for _, name in routes_with_arguments()}
    assert PUBLIC_WITH_ARGUMENTS <= with_arguments and len(with_arguments) > 50


@pytest.mark.django_db
def test_every_view_without_arguments_needs_its_access(client):
    answers = {}
    for route, name in routes_without_arguments():
        answers[name] = check_anonymous_answer(client, "/" + route, name, PUBLIC)
    # Every public page is in fact public: the list holds no stale entry.
    assert {name for name, status in answers.items() if status == 200} == PUBLIC


@pytest.mark.django_db
def test_every_view_with_arguments_refuses_anonymous_visitors_or_finds_nothing(client):
    for url, name in routes_with_arguments():
        check_anonymous_answer(client, url, name, PUBLIC_WITH_ARGUMENTS)
