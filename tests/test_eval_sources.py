"""``reviewgate eval`` on a downloaded dataset: diff files are read only inside its folder, URLs
are fetched only with ``--allow-urls`` (same-origin redirects, a size cap), and nothing refused
reaches a model."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from pathlib import Path

import pytest
from conftest import DATA
from loopback import Loopback, Reply
from test_eval import live_config, serve_live

from reviewgate.cli import main
from reviewgate.quality import sources

DIFF = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
PRIVATE = "PRIVATE-NOTE-7f3a"
PRIVATE_DIFF = (f"diff --git a/notes.txt b/notes.txt\n--- a/notes.txt\n+++ b/notes.txt\n"
                f"@@ -1 +1,2 @@\n notes\n+{PRIVATE}\n")


def downloaded(tmp_path: Path, *diffs: str) -> Path:
    """A dataset folder as downloaded: one pull request per ``diff`` entry, a good diff at
    ``diffs/good.patch``, and a private file next to the folder (``../private/notes.txt``)."""
    folder = tmp_path / "download"
    (folder / "diffs").mkdir(parents=True)
    (folder / "diffs" / "good.patch").write_text(DIFF)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "notes.txt").write_text(PRIVATE_DIFF)
    prs = [{"id": f"p{n}", "title": "t", "golden": [{"id": "g1", "comment": "CA bundle"}],
            "diff": diff} for n, diff in enumerate(diffs, 1)]
    (folder / "dataset.json").write_text(json.dumps({"name": "downloaded", "prs": prs}))
    return folder


def run_eval(tmp_path: Path, loopback: Loopback, folder: Path, *extra: str) -> int:
    serve_live(loopback, [])
    return main(["eval", str(folder), "--config", live_config(tmp_path, loopback.url),
                 "--format", "json", *extra])


def model_prompts(loopback: Loopback) -> list[str]:
    return [json.dumps(s.body) for s in loopback.requests_to("/v1/chat/completions")]


def assert_refused(code: int, capsys, loopback: Loopback, *says: str) -> str:
    """Exit 2, the error names the pull request and the reason, and no model was asked."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert all(s in err for s in says), err
    assert model_prompts(loopback) == []
    return err


@pytest.mark.parametrize("entry, reason", [
    ("../private/notes.txt", "'..' segment"),
    ("diffs/../../private/notes.txt", "'..' segment"),
    ("/etc/hostname", "absolute"),
    ("diffs\\..\\..\\private\\notes.txt", "backslash"),
    ("file:///etc/hostname", "only http and https"),
    ("ftp://127.0.0.1/notes.txt", "only http and https"),
])
def test_entries_outside_the_folder_are_refused(tmp_path, loopback, capsys, entry, reason):
    """A path leaving the folder, an absolute path, another URL scheme: refused by name, before
    any model call."""
    folder = downloaded(tmp_path, entry)
    err = assert_refused(run_eval(tmp_path, loopback, folder), capsys, loopback, "p1", reason)
    assert PRIVATE not in err


@pytest.mark.parametrize("link", ["file", "folder"])
def test_symlinks_out_of_the_folder_are_refused(tmp_path, loopback, capsys, link):
    """A symbolic link inside the folder, to a file or a folder outside it: refused."""
    folder = downloaded(tmp_path, "diffs/notes.txt" if link == "file" else "notes/notes.txt")
    if link == "file":
        (folder / "diffs" / "notes.txt").symlink_to(tmp_path / "private" / "notes.txt")
    else:
        (folder / "notes").symlink_to(tmp_path / "private")
    assert_refused(run_eval(tmp_path, loopback, folder), capsys, loopback, "p1",
                   "symbolic link leads out of the dataset's folder")


def test_symlink_inside_the_folder_and_a_folder_entry(tmp_path, loopback, capsys):
    """A link that stays inside the folder is read; a folder is not a regular file."""
    folder = downloaded(tmp_path, "diffs/alias.patch")
    (folder / "diffs" / "alias.patch").symlink_to(folder / "diffs" / "good.patch")
    assert run_eval(tmp_path, loopback, folder) == 0
    assert len(model_prompts(loopback)) == 6
    folder2 = tmp_path / "second"
    folder.rename(folder2)
    (folder2 / "diffs" / "alias.patch").unlink()
    (folder2 / "diffs" / "alias.patch").mkdir()
    assert main(["eval", str(folder2), "--config", str(tmp_path / "reviewgate.toml")]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_every_entry_is_checked_before_the_first_model_call(tmp_path, loopback, capsys):
    """A good first pull request and a bad second one: nothing is reviewed (no money spent on
    a run that cannot finish)."""
    folder = downloaded(tmp_path, "diffs/good.patch", "../private/notes.txt")
    assert_refused(run_eval(tmp_path, loopback, folder), capsys, loopback, "p2", "'..'")


def test_a_file_over_the_size_cap_is_refused(tmp_path, loopback, capsys, monkeypatch):
    """A diff file longer than MAX_DIFF_BYTES is not read."""
    monkeypatch.setattr(sources, "MAX_DIFF_BYTES", 1000)
    folder = downloaded(tmp_path, "diffs/good.patch")
    assert_refused(run_eval(tmp_path, loopback, folder), capsys, loopback, "p1",
                   "larger than 1,000 bytes")


@pytest.fixture
def web():
    """A web server for the dataset's URLs (another loopback than the models')."""
    server = Loopback()
    server.route("GET", "/pr/1.diff", lambda seen: Reply(200, DIFF))
    yield server
    server.close()


def test_urls_are_fetched_only_with_allow_urls(tmp_path, loopback, capsys, web):
    """Without --allow-urls a URL entry is refused and never requested; with it, fetched."""
    folder = downloaded(tmp_path, f"{web.url}/pr/1.diff")
    assert_refused(run_eval(tmp_path, loopback, folder), capsys, loopback, "p1",
                   "--allow-urls")
    assert web.seen == []
    assert run_eval(tmp_path, loopback, folder, "--allow-urls") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"]["recall"] == 1.0
    assert len(web.seen) == 1 and len(model_prompts(loopback)) == 6


def test_same_origin_redirect_is_followed(tmp_path, loopback, capsys, web):
    """A redirect on the URL's own origin is followed."""
    web.route("GET", "/pr/old.diff", lambda seen: Reply(301, "", headers={
        "Location": "/pr/1.diff"}))
    folder = downloaded(tmp_path, f"{web.url}/pr/old.diff")
    assert run_eval(tmp_path, loopback, folder, "--allow-urls") == 0
    assert [s.path for s in web.seen] == ["/pr/old.diff", "/pr/1.diff"]


def test_redirect_to_another_origin_is_refused(tmp_path, loopback, capsys, web):
    """A public URL redirecting to 127.0.0.1 on another port (an internal service): refused,
    the target never requested."""
    internal = Loopback()
    internal.route("GET", "/private", lambda seen: Reply(200, PRIVATE_DIFF))
    try:
        web.route("GET", "/pr/2.diff", lambda seen: Reply(302, "", headers={
            "Location": f"{internal.url}/private"}))
        folder = downloaded(tmp_path, f"http://user:pw@{web.url.removeprefix('http://')}"
                                      "/pr/2.diff")
        err = assert_refused(run_eval(tmp_path, loopback, folder, "--allow-urls"), capsys,
                             loopback, "p1", "another origin",
                             internal.url.removeprefix("http://"))
        assert internal.seen == [] and "pw@" not in err
    finally:
        internal.close()


def test_a_compressed_body_is_counted_after_decoding(tmp_path, loopback, capsys, web,
                                                     monkeypatch):
    """A 1 MB body sent gzip-compressed (Content-Length about 1 kB) is cut at the cap, counted
    while reading."""
    monkeypatch.setattr(sources, "MAX_DIFF_BYTES", 100_000)
    bomb = gzip.compress(DIFF.encode() + b"+" * 1_000_000)
    web.route("GET", "/pr/bomb.diff", lambda seen: Reply(200, bomb, headers={
        "Content-Encoding": "gzip"}))
    folder = downloaded(tmp_path, f"{web.url}/pr/bomb.diff")
    assert_refused(run_eval(tmp_path, loopback, folder, "--allow-urls"), capsys, loopback,
                   "p1", "larger than 100,000 bytes")


def test_a_body_without_length_is_cut_while_reading(tmp_path, loopback, capsys, monkeypatch):
    """A server that sends no Content-Length (read until close) and 5 MB, 50 times the cap:
    the fetch stops at the cap, counted while reading."""
    monkeypatch.setattr(sources, "MAX_DIFF_BYTES", 100_000)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + DIFF.encode())
            try:
                for _ in range(80):  # 5 MB
                    if stop.is_set():
                        break
                    conn.sendall(b"+" * 65536)
            except OSError:
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        folder = downloaded(tmp_path, f"http://127.0.0.1:{port}/endless.diff")
        assert_refused(run_eval(tmp_path, loopback, folder, "--allow-urls"), capsys,
                       loopback, "p1", "larger than 100,000 bytes")
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
