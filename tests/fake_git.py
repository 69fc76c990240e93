"""Git trees for the fake forges: what ``GET /repos/{o}/{r}/git/trees/{sha}`` serves.

The fakes know a pull request by its diff, not by a repository, so each side of the diff is
turned into the files of a commit (path -> mode and object id: the ``index OLD..NEW`` ids the
diff names, padded to 40 hex digits, or, when a section names none, an id derived from the
section's text) and those into nested tree objects with ids of their own. The sections are
read the way git writes them (split at ``\\n`` only), independently of the parser under test.
"""

from __future__ import annotations

import hashlib
from typing import Any

FileView = dict[str, tuple[str, str]]  # path -> (mode, object id)


def _unquote(path: str) -> str:
    if path.startswith('"'):
        from reviewgate.core.changeset import unquote_path
        return unquote_path(path)
    return path


def _side(token: str) -> str | None:
    token = _unquote(token.split("\t", 1)[0].strip())
    if token == "/dev/null":
        return None
    return token[2:] if token[:2] in ("a/", "b/") else token


def _pad(abbrev: str) -> str:
    return (abbrev + "0" * 40)[:40]


def _sections(diff: str) -> tuple[list[str], list[list[str]]]:
    """(lines before the first section, the sections' lines), split as git writes them."""
    lines = diff.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("diff --git ") or (
        line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        and (i == 0 or not any(lines[j].startswith("diff --git ") for j in range(
            max(0, i - 6), i))))]
    head = lines[:starts[0]] if starts else lines
    return head, [lines[start:starts[n + 1] if n + 1 < len(starts) else len(lines)]
                  for n, start in enumerate(starts)]


def git_blob(content: str | bytes) -> str:
    """The object id git gives a blob of ``content`` (``git hash-object``)."""
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def content_view(files: dict[str, str | bytes] | None) -> FileView:
    """The files of a commit the fake holds as texts, with git's blob ids."""
    return {path: ("100644", git_blob(text)) for path, text in (files or {}).items()}


def diff_views(diff: str | bytes, old_files: dict | None = None,
               new_files: dict | None = None) -> tuple[FileView, FileView]:
    """(files before, files after) of the paths a unified diff touches; a side whose text
    the fake holds (``old_files``/``new_files``) gets its real blob id."""
    if isinstance(diff, bytes):
        diff = diff.decode("utf-8", "surrogateescape")
    old: FileView = {}
    new: FileView = {}
    for section in _sections(diff)[1]:
        one_old, one_new = _section_views(section)
        for path, (mode, _) in one_old.items():
            if old_files and path in old_files:
                one_old[path] = (mode, git_blob(old_files[path]))
        for path, (mode, _) in one_new.items():
            if new_files and path in new_files:
                one_new[path] = (mode, git_blob(new_files[path]))
        old.update(one_old)
        new.update(one_new)
    return old, new


def pull_views(diff: str | bytes, listed: list[dict[str, Any]], old_files: dict | None,
               new_files: dict | None) -> tuple[FileView, FileView]:
    """The whole trees of a pull request's merge base and head: the files the fake holds as
    texts, the diff's sides (and the files list's) on top. A file the diff does not touch is
    the same in both (a test holding only some texts of a commit means the rest unchanged)."""
    old_d, new_d = with_listed(diff_views(diff, old_files, new_files), listed)
    base, head = content_view(old_files), content_view(new_files)
    touched = set(old_d) | set(new_d)
    for path, value in list(base.items()):
        if path not in touched:
            head[path] = value
    for path, value in list(head.items()):
        if path not in touched:
            base.setdefault(path, value)
    base.update(old_d)
    head.update(new_d)
    for path in touched:
        if path not in old_d:
            base.pop(path, None)  # added by the pull request
        if path not in new_d:
            head.pop(path, None)  # deleted by the pull request
    return base, head


def _section_views(section: list[str]) -> tuple[FileView, FileView]:
    """The files before and after of one section of a diff."""
    old: FileView = {}
    new: FileView = {}
    a = b = None
    head = section[0]
    if head.startswith("diff --git "):
        rest = head[len("diff --git "):]
        half = (len(rest) - 1) // 2
        a, b = _side(rest[:half]), _side(rest[half + 1:])
        if '"' in rest:
            parts = rest.split('" "') if '" "' in rest else rest.split(" ", 1)
            a = _side(parts[0] + ('"' if '" "' in rest else ""))
            b = _side(('"' if '" "' in rest else "") + parts[1])
    old_mode = new_mode = "100644"
    blobs = None
    for line in section[:8]:
        if line.startswith("--- "):
            a = _side(line[4:])
        elif line.startswith("+++ "):
            b = _side(line[4:])
        elif line.startswith("rename from "):
            a = _unquote(line[len("rename from "):])
        elif line.startswith("rename to "):
            b = _unquote(line[len("rename to "):])
        elif line.startswith("new file mode "):
            new_mode, a = line.split()[-1], None
        elif line.startswith("deleted file mode "):
            old_mode, b = line.split()[-1], None
        elif line.startswith("old mode "):
            old_mode = line.split()[-1]
        elif line.startswith("new mode "):
            new_mode = line.split()[-1]
        elif line.startswith("index ") and ".." in line:
            ids, _, mode = line[len("index "):].partition(" ")
            blobs = ids.split("..", 1)
            if mode:
                old_mode = new_mode = mode
        elif line.startswith("Binary files "):
            if " /dev/null and " in line:
                a = None
            if line.endswith(" and /dev/null differ"):
                b = None
    text = "\n".join(section)
    derived = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()
    if a is not None:
        old[a] = (old_mode, _pad(blobs[0]) if blobs and set(blobs[0]) != {"0"}
                  else hashlib.sha1(f"old\0{a}\0{derived}".encode()).hexdigest())
    if b is not None:
        new[b] = (new_mode, _pad(blobs[1]) if blobs and set(blobs[1]) != {"0"}
                  else hashlib.sha1(f"new\0{b}\0{derived}".encode()).hexdigest())
    if a is not None and b is not None and a == b and old[a] == new[b] and not any(
            line.startswith("similarity index 100%") for line in section[:4]) and any(
            line.startswith("@@") for line in section):
        new[b] = (new_mode, hashlib.sha1(f"changed\0{derived}".encode()).hexdigest())
    if a is not None and b is not None and not blobs and not any(
            line.startswith(("@@", "Binary files ")) for line in section):
        new[b] = (new_mode, old[a][1])  # a pure rename or a mode change: the same blob
    return old, new


def with_index(diff: str | bytes, old_files: dict | None = None,
               new_files: dict | None = None) -> str | bytes:
    """``diff`` as a forge serves it: every section with hunks and no ``index`` line gets
    one (git always writes it), naming the ids :func:`diff_views` gives its sides, and a
    section whose texts the fake holds (``old_files``/``new_files``) names their blobs; a
    plain unified diff section gets a ``diff --git`` header for it."""
    raw = isinstance(diff, bytes)
    text = diff.decode("utf-8", "surrogateescape") if raw else diff
    head, sections = _sections(text)
    out = list(head)
    for section in sections:
        has_index = any(line.startswith("index ") for line in section[:8])
        known = any(p in (old_files or {}) or p in (new_files or {})
                    for view in _section_views(section) for p in view)
        if not any(line.startswith(("@@", "Binary files ")) for line in section) or (
                has_index and not known):
            out.extend(section)
            continue
        old, new = diff_views("\n".join(section), old_files, new_files)
        a = next(iter(old.values()), ("100644", "0" * 40))
        b = next(iter(new.values()), ("100644", "0" * 40))
        index = f"index {a[1][:12] if old else '0' * 7}..{b[1][:12] if new else '0' * 7}"
        if has_index:  # the texts the fake holds name the blobs, as git would write them
            mode = next((line.split(" ")[2] for line in section[:8]
                         if line.startswith("index ") and line.count(" ") == 2), "")
            out.extend(f"{index} {mode}".rstrip() if line.startswith("index ") else line
                       for line in section)
        elif section[0].startswith("diff --git "):
            out.extend([section[0], index, *section[1:]])
        else:
            pa = next(iter(old), None) or next(iter(new))
            pb = next(iter(new), None) or pa
            out.extend([f"diff --git a/{pa} b/{pb}", index, *section])
    joined = "\n".join(out)
    return joined.encode("utf-8", "surrogateescape") if raw else joined


class Trees:
    """Tree objects by id, built from file views."""

    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {}

    def root(self, files: FileView) -> str:
        """The id of the root tree holding ``files`` (registered with its subtrees)."""
        nested: dict[str, Any] = {}
        for path, (mode, sha) in files.items():
            node = nested
            *dirs, name = path.split("/")
            for d in dirs:
                node = node.setdefault(d + "/", {})
            node[name] = (mode, sha)
        return self._tree(nested)

    def _tree(self, node: dict[str, Any]) -> str:
        entries = []
        for name in sorted(node):
            value = node[name]
            if isinstance(value, dict):
                entries.append({"path": name[:-1], "mode": "040000", "type": "tree",
                                "sha": self._tree(value)})
            else:
                mode, sha = value
                entries.append({"path": name, "mode": mode, "sha": sha,
                                "type": "commit" if mode == "160000" else "blob"})
        tree_id = hashlib.sha1(repr(entries).encode()).hexdigest()
        self.objects[tree_id] = entries
        return tree_id

    def listing(self, sha: str, views: dict[str, FileView], *, page: int = 1,
                per_page: int = 1000) -> dict[str, Any] | None:
        """The ``GET .../git/trees/{sha}`` answer for a commit in ``views`` (its root tree) or a
        tree id; None when unknown."""
        if sha in views:
            sha = self.root(views[sha])
        entries = self.objects.get(sha)
        if entries is None:
            return None
        chunk = entries[(page - 1) * per_page: page * per_page]
        return {"sha": sha, "url": f"https://forge.invalid/git/trees/{sha}",
                "tree": [{**e, "size": 0, "url": "https://forge.invalid/x"} for e in chunk],
                "truncated": False, "page": page, "total_count": len(entries)}


def with_listed(views: tuple[FileView, FileView],
                files: list[dict[str, Any]]) -> tuple[FileView, FileView]:
    """``views`` completed with the files a forge's files list names that the diff does not
    (a binary file, a patch left out, a diff the forge refused as too large)."""
    old, new = dict(views[0]), dict(views[1])
    for f in files:
        path = f["filename"]
        if path in old or path in new:
            continue
        status = f.get("status") or "modified"
        if status not in ("added",):
            prev = f.get("previous_filename") or path
            old[prev] = ("100644", listed_blob(f, "old"))
        if status not in ("removed", "deleted"):
            new[path] = ("100644", listed_blob(f, "new"))
    return old, new


def listed_blob(f: dict[str, Any], side: str) -> str:
    """The blob id of a files-list row the diff does not hold, on one side (``sha`` of the row
    for the head side when it gives one)."""
    if side == "new" and f.get("sha"):
        return str(f["sha"])
    seed = hashlib.sha1(f"{f['filename']}\0{f.get('patch') or ''}\0{f.get('status')}".encode())
    return hashlib.sha1(side.encode() + seed.digest()).hexdigest()
