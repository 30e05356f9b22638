from django.db import migrations

from inspector import search


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(search.SQLITE_LIST_INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS recording_list_search_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0002_search"),
    ]

    operations = [migrations.RunPython(create, drop)]
