import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pathways", "0006_backfill_task_patient")]

    operations = [
        migrations.AlterField(
            model_name="followuptask",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tasks",
                to="patients.patient",
            ),
        ),
    ]
