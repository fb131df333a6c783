from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("learning", "0001_i17_project_models"),
    ]

    operations = [
        migrations.AlterField(
            model_name="recordingscore",
            name="priority",
            field=models.FloatField(
                help_text="Place in the active-learning order (apps/learning/active.py), counted down: higher first."
            ),
        ),
    ]
