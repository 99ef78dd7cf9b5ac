"""Messages that leave the building (issue 14): the outbox, the worker that sends it, its
channels (SMTP e-mail, an SMS gateway, the embedded default's local outbox), reminders and
safety-alert notifications. Nothing here is imported by a page except through data."""
