"""The official LangGraph Python client (`langgraph_sdk`) against the real Skein server."""

import uuid

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)


def test_create_get_update_delete(client):
    thread = client.threads.create(metadata={"project": "q3", "tags": ["sales"]})
    assert thread["status"] == "idle"
    assert thread["metadata"] == {"project": "q3", "tags": ["sales"]}
    assert thread["values"] == {"messages": []}
    assert uuid.UUID(thread["thread_id"])

    got = client.threads.get(thread["thread_id"])
    assert got["thread_id"] == thread["thread_id"]
    assert got["created_at"] == thread["created_at"]

    updated = client.threads.update(thread["thread_id"], metadata={"owner": "ana"})
    assert updated["metadata"] == {"project": "q3", "tags": ["sales"], "owner": "ana"}
    assert updated["updated_at"] > thread["updated_at"]

    client.threads.delete(thread["thread_id"])
    with pytest.raises(NotFoundError):
        client.threads.get(thread["thread_id"])


def test_ids_if_exists_and_ttl(client):
    chosen = str(uuid.uuid4())
    made = client.threads.create(thread_id=chosen, metadata={"v": 1})
    assert made["thread_id"] == chosen
    with pytest.raises(ConflictError):
        client.threads.create(thread_id=chosen)
    same = client.threads.create(thread_id=chosen, if_exists="do_nothing", metadata={"v": 2})
    assert same["metadata"] == {"v": 1}

    expiring = client.threads.create(ttl=60)
    with_ttl = client.threads.get(expiring["thread_id"], include=["ttl"])
    assert with_ttl["ttl"]["ttl_minutes"] == 60
    assert with_ttl["ttl"]["strategy"] == "delete"

    with pytest.raises(UnprocessableEntityError):
        client.threads.search(limit=1001)
    with pytest.raises(NotFoundError):
        client.threads.get(str(uuid.uuid4()))


def test_search_filters_sort_select_extract_and_count(client):
    made = []
    for n in range(4):
        thread = client.threads.create(metadata={"n": n, "team": "ops" if n % 2 else "sales", "tags": ["a", "b"][: n % 2 + 1]})
        client.threads.update_state(thread["thread_id"], {"messages": [
            {"type": "human", "content": f"question {n}"},
            {"type": "ai", "content": f"answer {n}"},
        ]})
        made.append(thread["thread_id"])

    newest_first = client.threads.search()
    assert [t["thread_id"] for t in newest_first] == made[::-1]

    ops = client.threads.search(metadata={"team": "ops"}, sort_by="created_at", sort_order="asc")
    assert [t["thread_id"] for t in ops] == [made[1], made[3]]
    assert [t["thread_id"] for t in client.threads.search(metadata={"tags": ["b"]}, sort_by="created_at", sort_order="asc")] == [made[1], made[3]]
    by_values = client.threads.search(values={"messages": [{"content": "answer 2"}]})
    assert [t["thread_id"] for t in by_values] == [made[2]]
    assert [t["thread_id"] for t in client.threads.search(ids=[made[0], made[2]], sort_by="created_at", sort_order="asc")] == [made[0], made[2]]
    assert len(client.threads.search(status="idle", limit=2, offset=1)) == 2

    projected = client.threads.search(
        ids=[made[0]],
        select=["thread_id", "status"],
        extract={"last": "values.messages[-1].content", "team": "metadata.team"},
    )
    assert projected == [{"thread_id": made[0], "status": "idle", "extracted": {"last": "answer 0", "team": "sales"}}]

    assert client.threads.count() == 4
    assert client.threads.count(metadata={"team": "sales"}) == 2
    assert client.threads.count(status="busy") == 0


def test_state_history_copy_and_prune(client):
    thread = client.threads.create()
    thread_id = thread["thread_id"]
    client.threads.update_state(thread_id, {"messages": [{"type": "human", "content": "how are sales?"}]})
    written = client.threads.update_state(thread_id, {"messages": [{"type": "ai", "content": "up 5%"}], "mood": "good"})
    assert written["checkpoint"]["thread_id"] == thread_id

    state = client.threads.get_state(thread_id)
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai"]
    assert state["values"]["messages"][1]["content"] == "up 5%"
    assert state["values"]["mood"] == "good"

    client.threads.update_state(thread_id, {"messages": [{"type": "human", "content": "and costs?"}]})
    history = client.threads.get_history(thread_id, limit=10)
    assert [len(h["values"]["messages"]) for h in history] == [3, 2]
    assert history[0]["parent_checkpoint"] == history[1]["checkpoint"]

    copy = client.threads.copy(thread_id)
    assert copy["thread_id"] != thread_id
    copied = client.threads.get_state(copy["thread_id"])
    assert [m["content"] for m in copied["values"]["messages"]] == ["how are sales?", "up 5%", "and costs?"]

    other = client.threads.create()
    result = client.threads.prune([copy["thread_id"], other["thread_id"]])
    assert result == {"pruned_count": 2}
    with pytest.raises(NotFoundError):
        client.threads.get(copy["thread_id"])
    assert client.threads.get(thread_id)["thread_id"] == thread_id


def test_users_see_only_their_own_threads(server, client):
    mine = client.threads.create(metadata={"private": True})
    token = server.add_user("Other", f"other-{uuid.uuid4().hex[:8]}@local.test")
    other = get_sync_client(url=server.url, api_key=token)
    assert other.threads.search() == []
    assert other.threads.count() == 0
    with pytest.raises(NotFoundError):
        other.threads.get(mine["thread_id"])
    with pytest.raises(NotFoundError):
        other.threads.update(mine["thread_id"], metadata={"x": 1})
    with pytest.raises(AuthenticationError):
        get_sync_client(url=server.url, api_key="skn_wrong").threads.search()
    assert client.threads.get(mine["thread_id"])["metadata"] == {"private": True}
