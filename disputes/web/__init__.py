"""The web pages: the customers' public pages (file, track, reply, withdraw),
the staff pages, site-wide views (home, health, error pages), forms, and the
request guard middleware."""
