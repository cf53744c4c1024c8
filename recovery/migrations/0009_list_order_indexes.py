# The soreness-report and massage-session lists' keyset orders, as 0007 gave the training list's:
# without them PostgreSQL sorts every visible row for each page (backend/api/pagination.py).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0008_athlete_recovery_state"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="sorenessreport",
            index=models.Index(fields=["reported_at", "id"], name="soreness_list_order"),
        ),
        migrations.AddIndex(
            model_name="massagesession",
            index=models.Index(fields=["scheduled_at", "id"], name="massage_list_order"),
        ),
    ]
