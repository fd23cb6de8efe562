"""The case's life: its vocabulary (names), who acts (actors, roles), what can
go wrong (errors), filing, the transitions and one service per step with rules
of its own, the audit trail (events), notes/assignment/attachments (casework),
references and tracking codes, and the workflow diagram."""
