"""HTTP routes, one module per audience: the JSON API, pages, and (later) embeds and hooks."""
