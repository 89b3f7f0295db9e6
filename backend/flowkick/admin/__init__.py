"""The operator's dashboard at /admin: sessions, read-only reports, pages and forms."""
