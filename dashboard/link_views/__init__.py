"""What a one-tap link from a message shows, without a sign-in (issue 14): the check-in form
of a check-in link, setting a password with an invitation, stopping reminders, and the plain
page of a link that does not open. The page itself is ``app_pages/link.py``."""
