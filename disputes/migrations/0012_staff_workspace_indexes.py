"""Indexes named for the staff workspace's queries: the queue's tabs in keyset order
(disputes/selectors/queue.py) and the dashboard's figures (disputes/selectors/dashboard.py)."""

import datetime
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('disputes', '0011_verification'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(django.db.models.functions.comparison.Least(django.db.models.functions.comparison.Coalesce('sla_due_at', 'final_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), django.db.models.functions.comparison.Coalesce('final_due_at', 'sla_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), output_field=models.DateTimeField()), models.F('id'), condition=models.Q(('state__in', ['submitted', 'verifying', 'awaiting_customer', 'merchant_contact', 'processor_inquiry', 'refund_pending'])), name='case_queue_open_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(models.F('assignee'), django.db.models.functions.comparison.Least(django.db.models.functions.comparison.Coalesce('sla_due_at', 'final_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), django.db.models.functions.comparison.Coalesce('final_due_at', 'sla_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), output_field=models.DateTimeField()), models.F('id'), condition=models.Q(('state__in', ['submitted', 'verifying', 'awaiting_customer', 'merchant_contact', 'processor_inquiry', 'refund_pending'])), name='case_queue_mine_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(django.db.models.functions.comparison.Least(django.db.models.functions.comparison.Coalesce('sla_due_at', 'final_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), django.db.models.functions.comparison.Coalesce('final_due_at', 'sla_due_at', models.Value(datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.timezone.utc), output_field=models.DateTimeField())), output_field=models.DateTimeField()), models.F('id'), condition=models.Q(('state__in', ['submitted', 'verifying', 'awaiting_customer', 'merchant_contact', 'processor_inquiry', 'refund_pending']), ('assignee__isnull', True)), name='case_queue_unassigned_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(models.OrderBy(django.db.models.functions.comparison.Coalesce('ended_at', 'created_at', output_field=models.DateTimeField()), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('state__in', ['refunded', 'resolved', 'rejected', 'withdrawn', 'closed'])), name='case_queue_ended_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(models.F('state'), models.F('created_at'), condition=models.Q(('state__in', ['submitted', 'verifying', 'awaiting_customer', 'merchant_contact', 'processor_inquiry', 'refund_pending'])), name='case_dash_open_age_idx'),
        ),
        migrations.AddIndex(
            model_name='caseevent',
            index=models.Index(condition=models.Q(('kind__in', ['filed', 'transition'])), fields=['created_at'], include=('to_state',), name='caseevent_dash_steps_idx'),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(condition=models.Q(('status', 'executed')), fields=['executed_at'], name='refund_dash_paid_idx'),
        ),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(condition=models.Q(('status__in', ['proposed', 'approved'])), fields=['status'], name='refund_dash_unpaid_idx'),
        ),
        migrations.AddIndex(
            model_name='slaalert',
            index=models.Index(condition=models.Q(('kind', 'breach')), fields=['created_at'], name='slaalert_dash_breach_idx'),
        ),
    ]
