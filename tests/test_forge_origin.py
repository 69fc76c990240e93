"""The bot token goes to the forge's own origin only: a next-page link or a redirect to another
origin (scheme, host, port) is refused before any request is sent there."""

from __future__ import annotations

import httpx
import pytest
from loopback import Loopback, Reply
from test_canary import HEAD, canary, forgejo  # noqa: F401 - the fixture
from test_cli import serve, write_config

from reviewgate.core.errors import ForgeError
from reviewgate.forge import make_forge
from reviewgate.forge.http import ForgeHTTP

TOKEN = "bot-token-4f1d9c"
FILES = "/api/v1/repos/owner/repo/pulls/7/files"
FILE = {"filename": "a.py", "status": "modified", "additions": 1, "deletions": 0}


@pytest.fixture
def other():
    """A second loopback server: another origin (another port of the same host)."""
    server = Loopback()
    server.route("GET", FILES, lambda seen: Reply(200, [FILE]))
    server.route("GET", "/api/v1/repos/owner/repo/pulls/7",
                 lambda seen: Reply(200, {"number": 7, "head": {"sha": HEAD}}))
    yield server
    server.close()


def forge_on(server: Loopback):
    return make_forge("forgejo", url=server.url, repo="owner/repo", token=TOKEN)


def first_page_links_to(loopback: Loopback, link: str) -> None:
    loopback.script("GET", FILES, Reply(200, [FILE], headers={"Link": f'<{link}>; rel="next"'}))


@pytest.mark.parametrize("link", [
    "{other}/api/v1/repos/owner/repo/pulls/7/files?limit=50&page=2",
    "http://someone:s3cret@{other_host}/api/v1/repos/owner/repo/pulls/7/files?page=2",
    "//{other_host}/api/v1/repos/owner/repo/pulls/7/files?page=2",
    "http://localhost:{port}/api/v1/repos/owner/repo/pulls/7/files?page=2",
    "https://127.0.0.1:{port}/api/v1/repos/owner/repo/pulls/7/files?page=2",
], ids=["other-port", "with-userinfo", "scheme-relative", "other-host", "other-scheme"])
def test_next_link_to_another_origin_is_refused(loopback, other, link):
    """A ``rel="next"`` link on another origin (as a Forgejo with a wrong ROOT_URL writes):
    ForgeError naming the URL without its userinfo; nothing is sent there, so no token."""
    port = loopback.server.server_address[1]
    other_host = other.url.removeprefix("http://")
    link = link.format(other=other.url, other_host=other_host, port=port)
    first_page_links_to(loopback, link)
    with pytest.raises(ForgeError, match="another origin") as caught:
        forge_on(loopback).list_files(7)
    message = str(caught.value)
    assert "s3cret" not in message and "someone" not in message
    assert link.split("?")[0].split("@")[-1].removeprefix("//").split("/")[0] in message
    assert other.seen == []
    assert len(loopback.requests_to(FILES)) == 1  # the first page only


def test_next_link_on_the_same_origin_is_followed(loopback):
    """A relative link, and an absolute one on the forge's origin, are followed."""
    first_page_links_to(loopback, "/api/v1/repos/owner/repo/pulls/7/files?page=2")
    loopback.script("GET", FILES,
                    Reply(200, [FILE], headers={"Link": f'<{loopback.url}{FILES}?page=3>; '
                                                        'rel="next"'}),
                    Reply(200, [FILE]))
    assert len(forge_on(loopback).list_files(7)) == 3
    assert all(s.headers["authorization"] == f"token {TOKEN}" for s in loopback.seen)


def test_redirect_to_another_origin_is_refused(loopback, other):
    """A 302 to another origin: no request reaches it (httpx would follow without the token;
    the gate does not follow at all) and the error names the target."""
    loopback.script("GET", "/api/v1/repos/owner/repo/pulls/7", Reply(302, "", headers={
        "Location": f"{other.url}/api/v1/repos/owner/repo/pulls/7"}))
    with pytest.raises(ForgeError, match="another origin") as caught:
        forge_on(loopback).get_pull(7)
    assert other.url.removeprefix("http://") in str(caught.value)
    assert other.seen == []
    assert all(TOKEN not in str(s.headers) for s in other.seen)


def test_redirect_on_the_same_origin_keeps_the_token(loopback):
    """A redirect within the forge (a renamed repository) is followed with the token."""
    loopback.script("GET", "/api/v1/repos/owner/repo/pulls/7", Reply(301, "", headers={
        "Location": f"{loopback.url}/api/v1/repos/owner/renamed/pulls/7"}))
    loopback.script("GET", "/api/v1/repos/owner/renamed/pulls/7",
                    Reply(200, {"number": 7, "head": {"sha": HEAD}}))
    assert forge_on(loopback).get_pull(7).head_sha == HEAD
    assert [s.headers["authorization"] for s in loopback.seen] == [f"token {TOKEN}"] * 2


def test_https_upgrade_redirect_does_not_carry_the_token():
    """http://forge.test -> https://forge.test is another origin: httpx on its own keeps the
    ``Authorization`` header on this one redirect (``_is_https_redirect``); the gate refuses."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": str(request.url.copy_with(
                scheme="https"))})
        return httpx.Response(200, json={"login": "bot"})
    http = ForgeHTTP("http://forge.test/api/v1", f"token {TOKEN}",
                     transport=httpx.MockTransport(handler))
    with pytest.raises(ForgeError, match="another origin"):
        http.json("GET", "/user")
    assert [str(r.url) for r in seen] == ["http://forge.test/api/v1/user"]
    http.close()


def test_canary_with_a_foreign_next_link_ends_in_error(
        forgejo, loopback, other, tmp_path, capsys, monkeypatch):  # noqa: F811 - the fixture
    """End to end: the fake Forgejo's file-list pages link to another origin; the gate ends
    in ``error`` naming the URL, and the other server never sees a request."""
    forgejo.prs[7].files = [{"filename": f"src/mod{i}.py", "status": "modified",
                             "additions": 1, "deletions": 0, "changes": 1} for i in range(60)]
    original = forgejo._page

    def foreign(items, query):
        status, chunk, headers = original(items, query)
        if "Link" in headers:
            headers["Link"] = headers["Link"].replace(forgejo.url, other.url)
        return status, chunk, headers
    monkeypatch.setattr(forgejo, "_page", foreign)
    serve(loopback, {})
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 12
    err = capsys.readouterr().err
    assert "another origin" in err and other.url.removeprefix("http://") in err
    assert other.seen == []


def test_absolute_url_on_another_origin_is_not_sent(loopback, other):
    """Any request the client is asked to send to another origin is refused before sending."""
    http = ForgeHTTP(f"{loopback.url}/api/v1", f"token {TOKEN}")
    with pytest.raises(ForgeError, match="another origin"):
        http.request("GET", f"http://x:y@{other.url.removeprefix('http://')}{FILES}")
    assert other.seen == [] and loopback.seen == []
    http.close()
