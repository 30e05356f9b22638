from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Coalesce, Concat, Lower

from inspector import search


def fill_and_index(apps, schema_editor):
    Recording = apps.get_model("inspector", "Recording")
    text = models.TextField()
    Recording.objects.update(
        search=Lower(
            Concat(
                Coalesce("test_id", Value(""), output_field=text),
                Value(" "),
                "path",
                output_field=text,
            )
        )
    )
    search.create_index(schema_editor.connection)


def drop_index(apps, schema_editor):
    search.drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("inspector", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="recording",
            name="search",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(fill_and_index, drop_index),
    ]
