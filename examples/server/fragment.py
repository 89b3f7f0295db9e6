"""Print a Flowkick feed fragment from a server (a Python backend, a static-site build, cron).

    FLOWKICK_URL=https://feeds.example.com FLOWKICK_SECRET_KEY=sk_... python fragment.py instagram

The secret key goes in the Authorization header, never in the URL: Flowkick answers a
secret key in a query string with 400, because proxies and server logs keep URLs.
Only the standard library is used.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
import urllib.request


def fragment(base_url: str, secret_key: str, platform: str, **options: str) -> str:
    query = urllib.parse.urlencode({"css": "none", **options})
    request = urllib.request.Request(f"{base_url.rstrip('/')}/embed/{urllib.parse.quote(platform)}?{query}",
                                     headers={"Authorization": f"Bearer {secret_key}", "Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return str(answer.read().decode("utf-8"))


if __name__ == "__main__":
    platform = sys.argv[1] if len(sys.argv) > 1 else "instagram"
    print(fragment(os.environ["FLOWKICK_URL"], os.environ["FLOWKICK_SECRET_KEY"], platform, limit="6"))
