"""What leaves the system after commit: the outbox (a task queued by name once
the transaction commits), e-mails to customers, the call center's webhooks."""
