"""Webhook endpoints the call center manages itself (docs/api.md, "Receive
webhooks"): who registered an endpoint, when it was removed (its delivery log
stays), ping deliveries (no case event), and how often a delivery was replayed."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('disputes', '0009_idempotency_key_hashed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookdelivery',
            name='replays',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='replays'),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='created_by',
            field=models.ForeignKey(blank=True, help_text='Empty when registered in the admin or by a command.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='registered by'),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='removed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='removed at'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='event',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='webhook_deliveries', to='disputes.caseevent', verbose_name='case event'),
        ),
    ]
