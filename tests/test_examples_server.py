"""The server-side examples fetch a real fragment with the secret key in a header, never a URL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import REPO, demo_app, live_app, warm

SERVER_EXAMPLES = REPO / "examples" / "server"
# A secret key, or a placeholder for one, as a query value.
SECRET_IN_URL = re.compile(r"api_key=(sk_|SK\b|YOUR_SECRET|\{?secret)", re.IGNORECASE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_app(demo_app(tmp_path_factory.mktemp("examples") / "flowkick.db")) as url:
        warm(url, ("google_reviews",))
        yield url


@pytest.mark.parametrize("command", [[sys.executable, "fragment.py"], ["php", "fragment.php"]])
def test_a_server_side_example_prints_the_feed(demo: str, command: list[str]) -> None:
    environment = os.environ | {"FLOWKICK_URL": demo, "FLOWKICK_SECRET_KEY": "sk_demo"}
    out = subprocess.run([*command, "google_reviews"], cwd=SERVER_EXAMPLES, env=environment, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    assert len(re.findall(r'data-item="google_reviews:', out)) == 6


HANDWRITTEN = [p for p in sorted((REPO / "examples").rglob("*.*"))
               if p.suffix in {".html", ".jsx", ".py", ".php", ".conf", ".sh"} and "dist" not in p.parts]


@pytest.mark.parametrize("path", [*HANDWRITTEN, REPO / "README.md"], ids=lambda p: str(p.relative_to(REPO)))
def test_no_example_puts_a_secret_key_in_a_url(path: Path) -> None:
    assert not SECRET_IN_URL.search(path.read_text(encoding="utf-8"))
