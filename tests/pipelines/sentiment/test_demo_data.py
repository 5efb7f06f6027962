"""The generated sentiment demo data: deterministic (recipes, notebooks and published demo numbers
depend on it)."""

import hashlib

from rnnapps.pipelines.sentiment import demo_data


def fingerprint(*lists):
    return hashlib.sha256("\n".join(item for items in lists for item in items).encode("utf-8")).hexdigest()


def test_sentiment_output_is_unchanged():
    # Recipes, notebooks and published demo numbers depend on these exact reviews.
    texts, labels = demo_data.sentiment_reviews()
    assert fingerprint(texts, labels) == "3a2c6c1033d8627600cb53b77e9ab6341df9da1a6deed429365ad671381766dc"
