# The dashboard's cohort facts for an existing panel. Its own migration, not
# atomic: the fill commits every 2,000 episodes (a 100,000-episode panel is
# 50 short transactions holding only their episodes' row locks, so the sweep
# and the web app keep working while it runs). Until a row is written the
# board computes that episode live, so an interrupted fill is only slower;
# `manage.py cohort_facts` finishes it.

from django.core.management import call_command
from django.db import migrations


def fill(apps, schema_editor):
    call_command("cohort_facts", verbosity=0)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("pathways", "0010_cohort_facts")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
