"""One document per project and kind, also when two builds of it run at once."""

import threading

import pytest
from django.db import connection

from projects.models import DocumentKind, ProjectDocument
from projects.stored_documents import store_document
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_a_new_build_replaces_the_old_one_and_its_file(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    first = store_document(project, DocumentKind.APPLICATION, b"first")
    old_name = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        second = store_document(project, DocumentKind.APPLICATION, b"second")
    assert second.pk == first.pk and ProjectDocument.objects.filter(project=project).count() == 1
    second.file.open("rb")
    assert second.file.read() == b"second"
    second.file.close()
    assert second.file.name != old_name and not second.file.storage.exists(old_name)


@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_keep_one_row_and_both_succeed():
    project = ProjectFactory()
    barrier = threading.Barrier(4)
    errors = []

    def build(n):
        try:
            barrier.wait()
            store_document(project, DocumentKind.ANONYMOUS, f"build {n}".encode())
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=build, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [document] = ProjectDocument.objects.filter(project=project, kind=DocumentKind.ANONYMOUS)
    with document.file.open("rb") as handle:
        assert handle.read().startswith(b"build ")
