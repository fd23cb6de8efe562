"""The SLA clocks: the business calendar (Chinese holidays, 调休, overrides),
each case's stage and overall clocks, the sweep that raises reminders and
breaches once, deadline extensions, and their admin."""
