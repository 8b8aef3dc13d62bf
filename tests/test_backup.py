"""``manage.py backup`` / ``restore``: backup → wipe → restore gives the same counts, files and search results.

The tests run on whichever database the suite runs on: SQLite by default, PostgreSQL when
DATABASE_URL points at it (CI's second run, or ``.ci/with-postgres.sh``), where the dump and
restore go through ``pg_dump`` / ``pg_restore`` into the test database itself. They are
``transaction=True`` tests: the backup is read by another connection (SQLite's backup API, or
pg_dump), which only sees committed rows.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from archive import search
from archive.search import whoosh_backend
from projects import backup
from projects.models import Attachment, AttachmentPart, Project
from tests.archive.factories import RecordFactory
from tests.factories import MemberFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The commands speak the site's language (Chinese); the assertions read the English msgids."""
    with translation.override("en"):
        yield

PDF = b"%PDF-1.4\n% Keti backup test\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"

if connection.vendor == "postgresql" and not shutil.which("pg_dump"):  # pragma: no cover - depends on the machine
    pytest.skip("pg_dump / pg_restore are not installed (install the PostgreSQL client)", allow_module_level=True)


@pytest.fixture(params=["whoosh", "postgres"])
def search_backend(request, settings):
    if request.param == "postgres" and connection.vendor != "postgresql":
        pytest.skip(f"the 'postgres' search backend needs PostgreSQL; this run uses {connection.vendor}")
    settings.SEARCH_BACKEND = request.param
    return request.param


@pytest.fixture
def data():
    """A small data set: users, projects with members, an uploaded file, indexed archive records."""
    whoosh_backend._close()
    projects = [ProjectFactory() for _ in range(3)]
    for project in projects:
        MemberFactory.create_batch(2, project=project)
    UserFactory.create_batch(2)
    attachment = Attachment.objects.create(
        project=projects[0], part=AttachmentPart.IDENTIFIED, file=ContentFile(PDF, name="application.pdf"),
        original_name="申请书.pdf", content_type="application/pdf", size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
    )
    records = [
        RecordFactory(title="学分银行建设研究", keywords=["学分银行", "终身学习"]),
        RecordFactory(),
        RecordFactory(title="乡村振兴中的农民培训研究", keywords=["乡村振兴"], field="农村教育"),
    ]
    search.index_records(records)
    return {"attachment": attachment}


def snapshot():
    counts = backup.row_counts()
    files = {
        str(path.relative_to(Path(backup.settings.MEDIA_ROOT))): path.read_bytes()
        for path in sorted(Path(backup.settings.MEDIA_ROOT).rglob("*")) if path.is_file()
    }
    results = {query: [hit.number for hit in search.search(query).hits] for query in ("学分银行", "老年教育", "乡村振兴", "")}
    return counts, files, results


def wipe(settings):
    """What a lost server looks like: empty tables, no uploaded files, no search index."""
    call_command("flush", "--noinput", verbosity=0)
    whoosh_backend._close()
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    shutil.rmtree(settings.SEARCH_INDEX_DIR, ignore_errors=True)


def make_backup(tmp_path):
    return backup.create_backup(tmp_path / "backups")


def test_backup_wipe_restore_gives_the_same_counts_files_and_search_results(search_backend, data, settings, tmp_path, capsys):
    counts, files, results = snapshot()
    assert counts["projects.Project"] == 3 and counts["archive.Record"] == 3 and counts["projects.Attachment"] == 1
    assert len(files) == 1 and list(files.values()) == [PDF]
    assert results["学分银行"] and results["乡村振兴"] and len(results[""]) == 3

    call_command("backup", str(tmp_path / "backups"))
    written = capsys.readouterr().out
    (path,) = (tmp_path / "backups").iterdir()
    assert path.name.startswith("keti-backup-") and str(path) in written
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["counts"] == counts
    assert manifest["media"] == {"files": 1, "bytes": len(PDF)}
    assert manifest["migrations"]["projects"].startswith("0")
    expected_parts = {"database", "media"} | ({"search_index"} if search_backend == "whoosh" else set())
    assert set(manifest["parts"]) == expected_parts

    wipe(settings)
    assert Project.objects.count() == 0 and not Path(settings.MEDIA_ROOT).exists()
    assert search.search("学分银行").count == 0

    call_command("restore", str(tmp_path / "backups"))  # the newest backup inside the directory
    printed = capsys.readouterr().out
    assert "projects.Project" in printed and "Restore complete" in printed

    assert snapshot() == (counts, files, results)
    attachment = Attachment.objects.get()
    with attachment.file.open("rb") as handle:
        assert handle.read() == PDF
    # Sequences came back too: a new row does not collide with a restored one.
    restored_pks = set(Project.objects.values_list("pk", flat=True))
    assert ProjectFactory().pk > max(restored_pks)


def test_restore_refuses_a_database_with_data_unless_yes(data, settings, tmp_path):
    path, manifest = make_backup(tmp_path)
    ProjectFactory()  # changed since the backup
    extra_file = Path(settings.MEDIA_ROOT) / "later.txt"
    extra_file.write_text("uploaded after the backup")

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(path))
    assert Project.objects.count() == 4 and extra_file.exists()

    call_command("restore", str(path), "--yes")
    assert Project.objects.count() == 3
    assert not extra_file.exists()
    assert backup.row_counts() == manifest["counts"]


def _edit_manifest(path):
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["counts"]["projects.Project"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))


def _flip_a_byte(name):
    def alter(path):
        part = path / name
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    return alter


def _remove(name):
    def alter(path):
        (path / name).unlink()
    return alter


def _database_file(path):
    return next(p.name for p in path.iterdir() if p.name.startswith("database."))


@pytest.mark.parametrize(
    "alter, message",
    [
        (_edit_manifest, "manifest.json was altered"),
        (_flip_a_byte("media.tar"), "media.tar was altered"),
        (lambda path: _flip_a_byte(_database_file(path))(path), "was altered"),
        (lambda path: _remove(_database_file(path))(path), "is missing"),
        (_remove("manifest.json"), "manifest.json is missing"),
        (_remove("SHA256SUMS"), "SHA256SUMS is missing"),
    ],
    ids=["manifest-edited", "media-altered", "database-altered", "database-missing", "no-manifest", "no-sums"],
)
def test_a_tampered_or_incomplete_backup_is_refused_and_changes_nothing(data, settings, tmp_path, alter, message):
    path, _manifest = make_backup(tmp_path)
    wipe(settings)
    ProjectFactory(title="在备份之后创建的课题")
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    kept = Path(settings.MEDIA_ROOT) / "kept.txt"
    kept.write_text("still here")
    before = backup.row_counts()

    alter(path)
    with pytest.raises(CommandError, match=message):
        call_command("restore", str(path), "--yes")
    assert backup.row_counts() == before
    assert Project.objects.get().title == "在备份之后创建的课题"
    assert [p.name for p in Path(settings.MEDIA_ROOT).iterdir()] == ["kept.txt"]
    assert not [p for p in Path(settings.MEDIA_ROOT).parent.iterdir() if ".restore-" in p.name]


def test_a_failed_database_restore_leaves_the_previous_data(data, settings, tmp_path, monkeypatch):
    path, _manifest = make_backup(tmp_path)
    ProjectFactory()
    kept = Path(settings.MEDIA_ROOT) / "kept.txt"
    kept.write_text("still here")
    before = backup.row_counts()
    hits = [hit.number for hit in search.search("学分银行").hits]

    def fail(*args, **kwargs):
        raise backup.BackupError("the disk is full")

    monkeypatch.setattr(backup, "_restore_sqlite", fail)
    monkeypatch.setattr(backup, "_restore_postgres", fail)
    with pytest.raises(CommandError, match="the disk is full"):
        call_command("restore", str(path), "--yes")
    assert backup.row_counts() == before and kept.exists()
    assert [hit.number for hit in search.search("学分银行").hits] == hits
    leftovers = [p for p in Path(settings.MEDIA_ROOT).parent.iterdir() if ".restore-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_check_only_verifies(data, tmp_path, capsys):
    path, _manifest = make_backup(tmp_path)
    call_command("restore", "--check", str(path))
    assert "intact" in capsys.readouterr().out
    _flip_a_byte("media.tar")(path)
    with pytest.raises(CommandError, match="altered"):
        call_command("restore", "--check", str(path))


def test_a_directory_without_a_backup_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="No backup found"):
        call_command("restore", str(tmp_path))
