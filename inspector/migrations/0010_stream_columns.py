"""A stream's chunks are stored as columns (inspector.chunks) in the same text column: state
only. Rows written before keep their list of chunk dicts, which reads as the same columns; a
re-import writes the columns."""

import inspector.models
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('inspector', '0009_long_texts'),
    ]

    operations = [
        # The column's type is unchanged (text): on SQLite an AlterField would remake the table.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='stream',
                name='chunks',
                field=inspector.models.ChunksField(default=list),
            ),
        ]),
    ]
