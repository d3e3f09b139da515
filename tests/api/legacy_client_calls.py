"""Every call of SerpApi's legacy Python client (``google-search-results`` 2.4.2), unchanged but
for its base URL, against a running serpgate; what each returned, written as JSON to a file.

Run by ``test_legacy_serpapi_client.py`` with the Python of a throwaway venv that holds the
legacy package, whose module is named ``serpapi`` like the current client's: the two never share
a venv. The client prints every URL it asks, so the findings go to a file, not to stdout.

Usage: python legacy_client_calls.py BASE_URL API_KEY OUTPUT_FILE
"""

from __future__ import annotations

import json
import sys

from serpapi import BingSearch, DuckDuckGoSearch, GoogleSearch, SerpApiClient, YahooSearch


def main(base_url: str, key: str, output: str) -> None:
    SerpApiClient.BACKEND = base_url
    found: dict[str, object] = {}

    search = BingSearch({"q": "coffee", "api_key": key})
    as_dict = search.get_dict()
    found["get_dict"] = as_dict
    found["get_json"] = search.get_json()
    found["get_raw_json"] = json.loads(search.get_raw_json())
    response = search.get_object()
    found["get_object_titles"] = [r.title for r in response.organic_results]
    found["get_object_id"] = response.search_metadata.id
    # get_html sends no output: SerpApi answers its default, JSON, and so does serpgate.
    found["get_html_default"] = BingSearch({"q": "coffee", "api_key": key}).get_html()
    found["get_html"] = BingSearch({"q": "coffee", "api_key": key, "output": "html"}).get_html()

    search_id = as_dict["search_metadata"]["id"]
    found["archive_json"] = search.get_search_archive(search_id)
    found["archive_html"] = search.get_search_archive(search_id, "html")
    found["account"] = search.get_account()
    found["location"] = GoogleSearch({}).get_location("Austin", 3)

    found["google"] = GoogleSearch(
        {"q": "coffee", "location": "Austin, Texas", "hl": "en", "gl": "us", "api_key": key}
    ).get_dict()
    found["yahoo"] = YahooSearch({"p": "coffee", "api_key": key}).get_dict()
    found["duckduckgo"] = DuckDuckGoSearch(
        {"q": "coffee", "kl": "us-en", "api_key": key}
    ).get_dict()

    pages = BingSearch({"q": "espresso", "api_key": key}).pagination(0, 30, 10)
    found["pagination"] = list(pages)
    found["error"] = BingSearch({"q": "x", "num": "abc", "api_key": key}).get_dict()

    with open(output, "w", encoding="utf-8") as file:
        json.dump(found, file)


if __name__ == "__main__":
    main(*sys.argv[1:4])
