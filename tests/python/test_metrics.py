"""/metrics read by Prometheus's own Python client: the text parses, the families Skein
documents are there with their types, and counters move when the server works."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import Server


def scrape(server, token):
    request = urllib.request.Request(f"{server.url}/metrics",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def total(family, suffix="_total"):
    return sum(s.value for s in family.samples if s.name.endswith(suffix))


def test_metrics_parse_and_move():
    server = Server(extra=["--metrics-token", "scraper-secret"])
    try:
        before = scrape(server, "scraper-secret")
        expected = {
            "skein_websocket_connections": "gauge",
            "skein_messages_sent": "counter",
            "skein_store_flush_seconds": "histogram",
            "skein_index_lag": "gauge",
            "skein_store_sequence": "gauge",
            "skein_ttl_deletions": "counter",
        }
        for name, kind in expected.items():
            assert before[name].type == kind, name
        # A thread written through the REST face syncs the store.
        from langgraph_sdk import get_sync_client
        client = get_sync_client(url=server.url, api_key=server.token)
        client.threads.create(metadata={"purpose": "metrics"})
        after = scrape(server, server.token)
        flushes = lambda families: total(families["skein_store_flush_seconds"], "_count")
        assert flushes(after) > flushes(before)
        assert after["skein_store_sequence"].samples[0].value > before["skein_store_sequence"].samples[0].value
    finally:
        server.stop()
