#!/usr/bin/python3
"""Makes the test fixtures that need Python itself as the oracle (run by hand, not in CI):

  tests/fixtures/content_hashes.json  Python's sha256(content.strip().lower()) for hard cases
  tests/fixtures/iso_times.json       Python's datetime.utcfromtimestamp(t).isoformat() + "Z"

tests/fixtures/python_service.db is made by scripts/make-python-db-fixture.py.

Usage: /usr/bin/python3 scripts/make-fixtures.py
"""
import datetime
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures")

HASH_CASES = [
    "hello world", "Hello World", "  Hello World  ", "\tTabs and\nnewlines\n", "inner   spaces kept",
    "Straße", "STRASSE", "İstanbul", "ISTANBUL", "ıi", "ΣΑΣ", "ΌΣΟΣ ΣΑΣ.", "Σ", "aΣ", "aΣb", "aΣ.",
    "ΑΣ'", "ΑΣ\u0301", "\u3000ideographic space\u3000", "\u00a0nbsp\u00a0", "\u2028line sep\u2029",
    "\u0085next line\u0085", "\u1680ogham\u1680", "\u200bzero width\u200b", "\ufeffbom\ufeff",
    "\u2003em space\u2002", "\x1cfile sep\x1f", "emoji 😀 ÉCOLE", "Привет МИР", "ԱՐԵՎ Armenian",
    "ᲐᲑᲒ Georgian mtavruli", "ᏣᎳᎩ Cherokee", "ǅ Dž titlecase ǈ", "e\u0301 combining É", "",
    "   ", "\u3000\u3000", "Ⅻ roman ⅻ", "ＦＵＬＬＷＩＤＴＨ", "ẞ capital sharp s", "Ω Ohm sign Ω",
    "K Kelvin sign", "ﬁ ligature", "Ǆ", "ΐ", "ᾈ iota subscript",
]

ISO_CASES = [0.0, 1.0, 0.5, 1732492800.0, 1732492800.5, 1732492800.123456, 1732492800.1234565,
             1732492800.9999995, 1732492800.9999994, 1e9 + 0.9999995, 1e9 + 0.0000005,
             0.1234565, 4102444800.25, 1795574951.304647, 1600000000.000001, 1600000000.0000015,
             1700000000.999999, 951782400.0, 1709164800.75, 86399.9999999]


def make_hashes():
    cases = []
    for text in HASH_CASES:
        stripped = text.strip().lower()
        cases.append({"content": text, "strip_lower": stripped,
                      "hash": hashlib.sha256(stripped.encode("utf-8")).hexdigest()})
    with open(os.path.join(OUT, "content_hashes.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


def make_iso():
    cases = [{"ts": t, "iso": datetime.datetime.utcfromtimestamp(t).isoformat() + "Z"}
             for t in ISO_CASES]
    with open(os.path.join(OUT, "iso_times.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_hashes()
    make_iso()
    print("fixtures written to", OUT)
