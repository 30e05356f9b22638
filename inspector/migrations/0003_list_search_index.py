from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS recording_list_search_idx "
            "ON inspector_recording (imported DESC, id DESC, search)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS recording_list_search_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0002_search"),
    ]

    operations = [migrations.RunPython(create, drop)]
