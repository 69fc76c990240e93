"""Unified diff parsing on real and edge-case diffs."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

from reviewgate.core.changeset import ChangeSet, parse_unified_diff


@pytest.mark.parametrize("name", ["requests-6667-ssl-context", "requests-7328-redirect-history",
                                  "requests-7272-inline-types"])
def test_counts_match_git_shortstat(name):
    """Files, insertions and deletions agree with `git diff --shortstat` of the real change."""
    diff = (DATA / name / "diff.patch").read_text()
    meta = json.loads((DATA / name / "pr.json").read_text())
    files = parse_unified_diff(diff)
    stat = f"{len(files)} file{'s' if len(files) != 1 else ''} changed, " \
           f"{sum(f.added for f in files)} insertions(+), {sum(f.removed for f in files)} " \
           f"deletions(-)"
    assert stat == meta["shortstat"]
    assert "".join(f.text for f in files) == diff


def test_added_deleted_renamed_binary():
    """git headers for new, deleted, renamed and binary files set the status and paths."""
    diff = """diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+a
+b
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/x.py b/y.py
similarity index 100%
rename from x.py
rename to y.py
diff --git a/img.png b/img.png
Binary files a/img.png and b/img.png differ
"""
    files = parse_unified_diff(diff)
    assert [(f.path, f.status, f.added, f.removed) for f in files] == [
        ("new.py", "added", 2, 0), ("old.py", "deleted", 0, 1), ("y.py", "renamed", 0, 0),
        ("img.png", "binary", 0, 0)]
    assert files[2].old_path == "x.py"


def test_removed_line_that_looks_like_a_header():
    """A removed line '--- x' inside a hunk is content, not a new file header."""
    diff = "--- a/f.md\n+++ b/f.md\n@@ -1,2 +1,1 @@\n--- title\n keep\n"
    [f] = parse_unified_diff(diff)
    assert (f.path, f.added, f.removed) == ("f.md", 0, 1)


def test_plain_unified_diff_without_git_headers():
    """Two plain `diff -u` sections are two files."""
    diff = ("--- a.txt\t2024-01-01\n+++ a.txt\t2024-01-02\n@@ -1 +1 @@\n-x\n+y\n"
            "--- b.txt\n+++ b.txt\n@@ -1 +1,2 @@\n z\n+w\n")
    assert [(f.path, f.added, f.removed) for f in parse_unified_diff(diff)] == [
        ("a.txt", 1, 1), ("b.txt", 1, 0)]


def test_size_excludes_lockfiles():
    """Changed lines and files leave out lockfiles and generated files."""
    diff = ("--- a/poetry.lock\n+++ b/poetry.lock\n@@ -1 +1 @@\n-1\n+2\n"
            "--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1 @@\n-1\n+2\n")
    change = ChangeSet(diff=diff, files=parse_unified_diff(diff))
    assert change.size(["*.lock"]) == (2, 1)
    assert change.size([]) == (4, 2)
