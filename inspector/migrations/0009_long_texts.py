"""Test ids, models, endpoints, hosts and tool names of any length: their btree indexes held
the whole text, and PostgreSQL refuses an index entry over 2,704 bytes (the row's insert
fails). They are indexed by a prefix now (models.Prefix); equality filters compare it too
(models.LongText)."""

import inspector.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inspector', '0008_search_partition_key'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='recording',
            name='recording_test_id_idx',
        ),
        migrations.RemoveIndex(
            model_name='recording',
            name='recording_test_file_idx',
        ),
        migrations.RemoveIndex(
            model_name='recording',
            name='recording_endpoint_idx',
        ),
        migrations.RemoveIndex(
            model_name='recording',
            name='recording_model_idx',
        ),
        migrations.RemoveIndex(
            model_name='recording',
            name='recording_provider_idx',
        ),
        migrations.RemoveIndex(
            model_name='toolcall',
            name='toolcall_name_idx',
        ),
        # The columns' type is unchanged (text): state only. On SQLite an AlterField would
        # remake the table, and with it drop the search triggers (0005).
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='recording',
                name='endpoint',
                field=inspector.models.LongText(blank=True),
            ),
            migrations.AlterField(
                model_name='recording',
                name='model',
                field=inspector.models.LongText(blank=True),
            ),
            migrations.AlterField(
                model_name='recording',
                name='provider',
                field=inspector.models.LongText(blank=True, help_text="host of the URL, or the tool's provider"),
            ),
            migrations.AlterField(
                model_name='recording',
                name='test_file',
                field=inspector.models.LongText(blank=True),
            ),
            migrations.AlterField(
                model_name='recording',
                name='test_id',
                field=inspector.models.LongText(blank=True, null=True),
            ),
            migrations.AlterField(
                model_name='toolcall',
                name='name',
                field=inspector.models.LongText(blank=True),
            ),
        ]),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(inspector.models.Prefix('test_id'), name='recording_test_id_prefix_idx'),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(inspector.models.Prefix('test_file'), name='recording_test_file_prefix_idx'),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(inspector.models.Prefix('endpoint'), name='recording_endpoint_prefix_idx'),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(inspector.models.Prefix('model'), name='recording_model_prefix_idx'),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(inspector.models.Prefix('provider'), name='recording_provider_prefix_idx'),
        ),
        migrations.AddIndex(
            model_name='toolcall',
            index=models.Index(inspector.models.Prefix('name'), name='toolcall_name_prefix_idx'),
        ),
    ]
