"""Backup and restore of a Keti installation: the database, the uploaded files, the search index.

A backup is one directory, ``keti-backup-<UTC timestamp>/``, made inside the directory given to
``manage.py backup DIR``. It holds:

    database.sqlite3 | database.pgdump   SQLite: a consistent copy made with sqlite3's online
                                         backup API; PostgreSQL: ``pg_dump --format=custom``
    media.tar                            every file under MEDIA_ROOT
    search-index.tar                     the Whoosh index (SEARCH_BACKEND "whoosh" only; the
                                         "postgres" backend lives in the database)
    manifest.json                        time, database vendor, latest migration per app, row
                                         count of every model, media file count and bytes, and
                                         the size and sha256 of each part
    SHA256SUMS                           sha256 of manifest.json and every part
                                         (``sha256sum -c SHA256SUMS`` checks it by hand)

``restore_backup`` checks every checksum before it touches anything, prepares the media and
index directories beside the live ones, restores the database in one transaction (SQLite: the
online backup API writing into the live file; PostgreSQL: ``pg_restore --clean --if-exists
--no-owner --single-transaction``), then swaps the directories in by renaming. A failure before
the swap leaves the previous database, files and index as they were.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _

FORMAT = 1
PREFIX = "keti-backup-"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
MEDIA_PART = "media.tar"
INDEX_PART = "search-index.tar"
# Rows that ``migrate`` (and ``flush``) create through post_migrate: content types, permissions
# and the role groups of ``accounts.roles``. A database holding only these counts as empty.
MIGRATE_MADE = {"contenttypes.ContentType", "auth.Permission", "auth.Group", "auth.Group_permissions"}
INDEX_LOCK_TIMEOUT = 120  # seconds to wait for a Whoosh writer of another process


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message is for the user."""


# ---- what is there ------------------------------------------------------------------------


def _connection(alias="default"):
    return connections[alias]


def _vendor(alias="default"):
    return _connection(alias).vendor


def row_counts(alias="default"):
    """{model label: rows} for every concrete model whose table exists (many-to-many tables included)."""
    connection = _connection(alias)
    tables = set(connection.introspection.table_names())
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed or opts.db_table not in tables:
            continue
        counts[opts.label] = model._default_manager.using(alias).count()
    return dict(sorted(counts.items()))


def has_data(alias="default"):
    return any(n for label, n in row_counts(alias).items() if label not in MIGRATE_MADE)


def migration_state(alias="default"):
    """{app label: name of its latest applied migration}."""
    recorder = MigrationRecorder(_connection(alias))
    if not recorder.has_table():
        return {}
    latest = {}
    for app, name in recorder.applied_migrations():
        if app not in latest or name > latest[app]:
            latest[app] = name
    return dict(sorted(latest.items()))


def tree_stats(root):
    """(file count, total bytes) of the regular files under ``root`` (0, 0 when it is missing)."""
    root = Path(root)
    files = size = 0
    if root.is_dir():
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                files += 1
                size += path.stat().st_size
    return files, size


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(alias="default"):
    name = str(_connection(alias).settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        raise BackupError(_("The SQLite database is in memory; there is no file to back up or restore."))
    return Path(name)


# ---- backup -------------------------------------------------------------------------------


def create_backup(target, alias="default", now=None):
    """Write a backup into a new directory inside ``target``; return (its path, the manifest)."""
    target = Path(target)
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(_("Cannot create the backup directory %(path)s: %(error)s") % {"path": target, "error": error})
    stamp = now.strftime("%Y%m%d-%H%M%S")
    final = target / f"{PREFIX}{stamp}"
    suffix = 1
    while final.exists():
        suffix += 1
        final = target / f"{PREFIX}{stamp}-{suffix}"
    # Written under a hidden name and renamed when complete: a half-written backup is never
    # mistaken for a good one.
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=target))
    try:
        parts = {}
        vendor = _vendor(alias)
        if vendor == "sqlite":
            parts["database"] = _backup_sqlite(work / "database.sqlite3", alias)
        elif vendor == "postgresql":
            parts["database"] = _backup_postgres(work / "database.pgdump", alias)
        else:
            raise BackupError(_("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": vendor})
        media_root = Path(settings.MEDIA_ROOT)
        media_files, media_bytes = tree_stats(media_root)
        parts["media"] = _tar_tree(media_root, work / MEDIA_PART)
        backend = getattr(settings, "SEARCH_BACKEND", "whoosh")
        if backend == "whoosh":
            with _whoosh_write_lock():
                parts["search_index"] = _tar_tree(Path(settings.SEARCH_INDEX_DIR), work / INDEX_PART)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(timespec="seconds"),
            "database_vendor": vendor,
            "search_backend": backend,
            "migrations": migration_state(alias),
            "counts": row_counts(alias),
            "media": {"files": media_files, "bytes": media_bytes},
            "parts": {
                name: {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path)}
                for name, path in parts.items()
            },
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        sums = [(sha256_of(work / MANIFEST), MANIFEST)] + [
            (part["sha256"], part["file"]) for part in manifest["parts"].values()
        ]
        (work / SUMS).write_text("".join(f"{digest}  {name}\n" for digest, name in sums), encoding="utf-8")
        for path in work.iterdir():
            _fsync(path)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final, manifest


def _backup_sqlite(destination, alias):
    source_path = _sqlite_path(alias)
    if not source_path.exists():
        raise BackupError(_("The database file %(path)s does not exist.") % {"path": source_path})
    timeout = _connection(alias).settings_dict.get("OPTIONS", {}).get("timeout", 20)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=timeout)
    copy = sqlite3.connect(destination)
    try:
        with copy:
            source.backup(copy)  # a consistent snapshot, even while the server writes
    finally:
        copy.close()
        source.close()
    return destination


def _pg_environment(alias):
    """(arguments naming the server and user, environment with PGPASSWORD and SSL options)."""
    conf = _connection(alias).settings_dict
    env = dict(os.environ)
    args = []
    if conf.get("HOST"):
        args += ["--host", str(conf["HOST"])]
    if conf.get("PORT"):
        args += ["--port", str(conf["PORT"])]
    if conf.get("USER"):
        args += ["--username", str(conf["USER"])]
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])  # never on the command line (visible in ps)
    options = conf.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"),
                             ("sslcert", "PGSSLCERT"), ("sslkey", "PGSSLKEY")):
        if options.get(option):
            env[variable] = str(options[option])
    return args, env, conf["NAME"]


def _pg_tool(name):
    directory = os.environ.get("KETI_PG_BIN")
    path = str(Path(directory) / name) if directory else shutil.which(name)
    if not path or not Path(path).exists():
        raise BackupError(
            _("%(tool)s was not found; install the PostgreSQL client (or set KETI_PG_BIN to its directory).")
            % {"tool": name}
        )
    return path


def _run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s") % {"tool": Path(command[0]).name, "error": result.stderr.strip()}
        )


def _backup_postgres(destination, alias):
    args, env, name = _pg_environment(alias)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination), *args,
          "--dbname", name], env)
    return destination


def _tar_tree(root, destination):
    """A tar of the files under ``root`` with paths relative to it (an empty tar when it is missing)."""
    root = Path(root)
    with tarfile.open(destination, "w") as tar:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_symlink():
                    continue
                if path.is_dir() or path.is_file():
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return destination


@contextmanager
def _whoosh_write_lock():
    """Hold the Whoosh index's write lock (this process's and the file lock) while it is copied."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.util.filelock import try_for

    from archive.search import whoosh_backend

    path = Path(settings.SEARCH_INDEX_DIR)
    with whoosh_backend._lock:
        if not path.is_dir():
            yield
            return
        lock = FileStorage(str(path)).lock("WRITELOCK")
        if not try_for(lock.acquire, INDEX_LOCK_TIMEOUT, 0.1):
            raise BackupError(_("The search index stayed locked by a writer; try again later."))
        try:
            yield
        finally:
            lock.release()


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- checking a backup --------------------------------------------------------------------


def find_backup(path):
    """The backup directory ``path`` names: itself, or the newest keti-backup-* inside it."""
    path = Path(path)
    if (path / MANIFEST).is_file() or (path.is_dir() and path.name.startswith(PREFIX)):
        return path
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
        if candidates:
            return max(candidates, key=lambda p: p.name)
    raise BackupError(_("No backup found in %(path)s (no manifest.json).") % {"path": path})


def verify_backup(path):
    """The manifest of the backup at ``path`` once every checksum matched; BackupError otherwise."""
    path = Path(path)
    manifest_path, sums_path = path / MANIFEST, path / SUMS
    for required in (manifest_path, sums_path):
        if not required.is_file():
            raise BackupError(_("The backup is incomplete: %(file)s is missing.") % {"file": required})
    sums = {}
    for line in sums_path.read_text(encoding="utf-8").splitlines():
        digest, _sep, name = line.partition("  ")
        if digest and name:
            sums[name.strip()] = digest.strip()
    if sums.get(MANIFEST) != sha256_of(manifest_path):
        raise BackupError(_("The backup's manifest.json was altered or damaged (its checksum does not match)."))
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError:
        raise BackupError(_("The backup's manifest.json is not valid JSON."))
    if manifest.get("format") != FORMAT:
        raise BackupError(_("This backup has format %(format)s; this version of Keti reads format %(ours)s.")
                          % {"format": manifest.get("format"), "ours": FORMAT})
    if "database" not in manifest.get("parts", {}) or "media" not in manifest["parts"]:
        raise BackupError(_("The backup's manifest lists no database or no media part."))
    for name, part in manifest["parts"].items():
        file = path / part["file"]
        if Path(part["file"]).name != part["file"]:
            raise BackupError(_("The backup's manifest names a file outside the backup: %(file)s") % {"file": part["file"]})
        if not file.is_file():
            raise BackupError(_("The backup is incomplete: %(file)s is missing.") % {"file": file})
        if sha256_of(file) != part["sha256"] or sums.get(part["file"]) != part["sha256"]:
            raise BackupError(_("%(file)s was altered or damaged (its checksum does not match the manifest).")
                              % {"file": file})
    return manifest


# ---- restore ------------------------------------------------------------------------------


def restore_backup(path, force=False, alias="default"):
    """Restore the backup at ``path``; return a report dict (counts, media, mismatches)."""
    path = find_backup(path)
    manifest = verify_backup(path)
    vendor = _vendor(alias)
    if manifest["database_vendor"] != vendor:
        raise BackupError(
            _("This backup holds a %(theirs)s database; the configured database is %(ours)s.")
            % {"theirs": manifest["database_vendor"], "ours": vendor}
        )
    unknown = _unknown_migrations(manifest.get("migrations", {}))
    if unknown:
        raise BackupError(
            _("The backup was made by a newer version of Keti (migrations unknown here: %(names)s); "
              "upgrade the code first.") % {"names": ", ".join(unknown)}
        )
    if not force and has_data(alias):
        raise BackupError(_("The database already holds data; run again with --yes to replace it."))

    media_root = Path(settings.MEDIA_ROOT)
    index_dir = Path(settings.SEARCH_INDEX_DIR)
    parts = manifest["parts"]
    staged = []  # (live directory, prepared directory)
    try:
        staged.append((media_root, _extract_beside(path / parts["media"]["file"], media_root)))
        if "search_index" in parts:
            staged.append((index_dir, _extract_beside(path / parts["search_index"]["file"], index_dir)))
        database = path / parts["database"]["file"]
        with _whoosh_quiet():
            if vendor == "sqlite":
                _restore_sqlite(database, alias)
            else:
                _restore_postgres(database, alias)
            _swap_in(staged)
            staged = []
    finally:
        for _live, prepared in staged:
            shutil.rmtree(prepared, ignore_errors=True)

    counts = row_counts(alias)
    expected = manifest["counts"]
    mismatches = {
        label: (expected.get(label), counts.get(label))
        for label in sorted(set(expected) | set(counts))
        if expected.get(label) != counts.get(label)
    }
    media_files, media_bytes = tree_stats(media_root)
    media = {"files": media_files, "bytes": media_bytes}
    if media != manifest["media"]:
        mismatches["media"] = (manifest["media"], media)
    return {
        "path": path,
        "manifest": manifest,
        "counts": counts,
        "media": media,
        "mismatches": mismatches,
        "behind": _pending_migrations(manifest.get("migrations", {})),
    }


def _disk_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return set(loader.disk_migrations)


def _unknown_migrations(latest):
    known = _disk_migrations()
    return sorted(f"{app}.{name}" for app, name in latest.items()
                  if (app, name) not in known and any(a == app for a, _n in known))


def _pending_migrations(latest):
    """True when this code has migrations newer than the backup's (run ``migrate`` after restoring)."""
    newest = {}
    for app, name in _disk_migrations():
        if name > newest.get(app, ""):
            newest[app] = name
    return any(newest[app] > latest.get(app, "") for app in newest)


def _extract_beside(archive, live):
    """Extract ``archive`` into a new hidden directory beside ``live``; return it."""
    live = Path(live)
    live.parent.mkdir(parents=True, exist_ok=True)
    prepared = Path(tempfile.mkdtemp(prefix=f".{live.name}.restore-", dir=live.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(prepared, filter="data")
    except BaseException:
        shutil.rmtree(prepared, ignore_errors=True)
        raise
    return prepared


def _swap_in(staged):
    """Rename each prepared directory into place; the old ones are removed only when all are in."""
    moved = []  # (live, old copy or None)
    try:
        for live, prepared in staged:
            old = None
            if live.exists():
                old = live.with_name(f".{live.name}.old-{os.getpid()}-{time.time_ns()}")
                os.rename(live, old)
            os.rename(prepared, live)
            moved.append((live, old))
    except BaseException:
        for live, old in reversed(moved):  # put the previous directories back
            shutil.rmtree(live, ignore_errors=True)
            if old is not None:
                os.rename(old, live)
        raise
    for _live, old in moved:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _whoosh_quiet():
    """No Whoosh writer or searcher of this process during the restore; reopened afterwards."""
    from archive.search import whoosh_backend

    with whoosh_backend._lock:
        whoosh_backend._close()
        try:
            yield
        finally:
            whoosh_backend._close()


def _restore_sqlite(source_path, alias):
    """Copy the backup into the live database file in one write transaction (atomic for readers).

    The online backup API writes through SQLite's own locking, so it is safe with WAL and with
    other processes that keep the file open (renaming a new file into place would leave them
    writing to the old, unlinked one).
    """
    target = _sqlite_path(alias)
    connections[alias].close()
    timeout = connections[alias].settings_dict.get("OPTIONS", {}).get("timeout", 20)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(_("The database in the backup is damaged: %(error)s") % {"error": check})
        destination = sqlite3.connect(target, timeout=timeout)
        try:
            source.backup(destination)
        except sqlite3.Error as error:
            raise BackupError(_("Restoring the database failed: %(error)s") % {"error": error})
        finally:
            destination.close()
    finally:
        source.close()


def _restore_postgres(dump, alias):
    args, env, name = _pg_environment(alias)
    connections[alias].close()  # our own connection would block the DROPs
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", *args, "--dbname", name, str(dump)], env)
