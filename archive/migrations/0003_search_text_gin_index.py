"""The GIN index of the PostgreSQL search backend (nothing on other databases).

Queries in ``archive/search/postgres_backend.py`` use the very same expression,
``to_tsvector('simple'::regconfig, search_text)``, so that the planner uses it.
"""

from django.db import migrations

INDEX = "archive_record_search_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON archive_record "
            "USING gin (to_tsvector('simple'::regconfig, search_text))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("archive", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
