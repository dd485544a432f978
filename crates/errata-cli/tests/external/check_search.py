"""Loads the `errata docs --format html` page of the classroom catalog in headless Chromium
with `?q=…` and checks which entries the page's own search script leaves visible.

Usage: python3 check_search.py CHROMIUM page.html
"""

import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser

CASES = {
    "kakao": ["KAKAO_ACCOUNT_NOT_AVAILABLE", "KAKAO_QUOTA_EXCEEDED"],
    "token 401": ["TOKEN_EXPIRED", "TOKEN_BLACKLISTED", "TOKEN_INVALID"],
    "3101": ["ALREADY_ENROLLED"],
    "이미 수강": ["ALREADY_ENROLLED"],
    "no-such-error-anywhere": [],
}


class Visible(HTMLParser):
    def __init__(self):
        super().__init__()
        self.entries = []
        self.count = None
        self._in_count = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "hidden" not in a and "field" not in a.get("class", ""):
            self.entries.append(a.get("id"))
        self._in_count = a.get("id") == "count"

    def handle_data(self, data):
        if self._in_count:
            self.count = data.strip()
            self._in_count = False


def main(chromium: str, page: str) -> int:
    failures = 0
    for query, expected in CASES.items():
        url = "file://" + page + "?q=" + urllib.parse.quote(query)
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout
        parser = Visible()
        parser.feed(dom)
        if parser.entries != expected:
            print(f"search {query!r}: visible {parser.entries}, expected {expected}", file=sys.stderr)
            failures += 1
        want_count = f"{len(expected)} of "
        if not (parser.count or "").startswith(want_count):
            print(f"search {query!r}: counter says {parser.count!r}", file=sys.stderr)
            failures += 1
    if failures:
        return 1
    print(f"{len(CASES)} searches filter the page as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
