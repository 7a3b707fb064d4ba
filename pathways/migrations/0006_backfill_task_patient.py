# Every existing task is an episode task. Its own migration: on PostgreSQL an
# UPDATE and an ALTER TABLE of the same table cannot share a transaction while
# deferred FK checks are pending.

from django.db import migrations, models


def backfill_task_patient(apps, schema_editor):
    """Every existing task is an episode task: its patient and rule set are its episode's."""
    Task = apps.get_model("pathways", "FollowUpTask")
    Episode = apps.get_model("pathways", "Episode")
    episodes = Episode.objects.filter(pk=models.OuterRef("episode_id"))
    Task.objects.update(
        patient_id=models.Subquery(episodes.values("patient_id")[:1]),
        rule_set=models.Subquery(episodes.values("pathway_version")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("pathways", "0005_programme_and_patient_tasks")]

    operations = [
        migrations.RunPython(backfill_task_patient, migrations.RunPython.noop, elidable=False),
    ]
