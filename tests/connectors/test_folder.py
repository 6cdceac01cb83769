"""Walking folders: order, filters, hidden and skipped folders, symlinks, single-file roots."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from connectors.folder import iter_files, matches


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)


def _rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in paths]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    _tree(
        root,
        [
            "b.md",
            "a.txt",
            "sub/c.md",
            "sub/deeper/d.md",
            "sub/deeper/e.txt",
            "sub-x/f.md",
            ".hidden.md",
            ".secret/g.md",
            "__pycache__/h.pyc",
            "node_modules/pkg/i.js",
            "store/j.txt",
        ],
    )
    return root


def test_walk_is_sorted_and_skips_hidden(tree: Path) -> None:
    files = list(iter_files([tree]))
    assert _rel(files, tree) == [
        "a.txt",
        "b.md",
        "store/j.txt",
        "sub/c.md",
        "sub/deeper/d.md",
        "sub/deeper/e.txt",
        "sub-x/f.md",
    ]
    assert files == sorted(files)
    assert all(p.is_absolute() for p in files)


def test_skip_dirs(tree: Path) -> None:
    files = _rel(list(iter_files([tree], skip_dirs=[tree / "store"])), tree)
    assert "store/j.txt" not in files and "a.txt" in files


def test_include_and_exclude_globs(tree: Path) -> None:
    assert _rel(list(iter_files([tree], include=["*.md"])), tree) == [
        "b.md",
        "sub/c.md",
        "sub/deeper/d.md",
        "sub-x/f.md",
    ]
    assert _rel(list(iter_files([tree], include=["sub/**/*.md"])), tree) == ["sub/c.md", "sub/deeper/d.md"]
    assert _rel(list(iter_files([tree], exclude=["sub", "*.txt"])), tree) == ["b.md", "sub-x/f.md"]
    assert _rel(list(iter_files([tree], include=["*.md"], exclude=["**/deeper/**"])), tree) == [
        "b.md",
        "sub/c.md",
        "sub-x/f.md",
    ]
    kept = ["a.txt", "b.md", "store/j.txt", "sub-x/f.md"]
    assert _rel(list(iter_files([tree], exclude=["sub/**"])), tree) == kept


def test_matches() -> None:
    assert matches("a/b/c.md", "*.md")
    assert matches("a/b/c.md", "a/**/*.md")
    assert matches("a/c.md", "a/**/*.md")
    assert matches("a/b/c.md", "c.md")
    assert not matches("a/b/c.md", "b/*.txt")
    assert not matches("a/b/c.md", "b/**")  # a pattern with a folder part is anchored at the root
    assert matches("b/", "b/**")


def test_single_file_root(tree: Path) -> None:
    assert list(iter_files([tree / "sub" / "c.md"])) == [(tree / "sub" / "c.md").resolve()]
    assert list(iter_files([tree / ".hidden.md"])) == [(tree / ".hidden.md").resolve()]
    assert list(iter_files([tree / "a.txt"], include=["*.md"])) == []


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list(iter_files([tmp_path / "nope"]))


def test_symlink_loop_terminates_and_files_come_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(root, ["a/x.md", "b/y.md"])
    os.symlink(root, root / "a" / "loop")  # a/loop -> root
    os.symlink(root / "b", root / "c")  # c -> b: same folder twice
    os.symlink(root / "gone", root / "broken")  # broken link
    os.symlink(root / "b" / "y.md", root / "z-link.md")  # link to a file already found
    files = list(iter_files([root, root / "b"]))
    assert files == [(root / "a" / "x.md").resolve(), (root / "b" / "y.md").resolve()]


def test_without_dedupe_a_file_reached_twice_comes_twice(tmp_path: Path) -> None:
    """``dedupe=False`` (for a caller that dedupes itself, like ``ragkit index``'s scan log) keeps no
    set of paths: a file linked inside its root comes once per way to it; folders are still visited once."""
    root = tmp_path / "root"
    _tree(root, ["a/x.md", "b/y.md"])
    os.symlink(root / "b", root / "c")  # c -> b: the folder is visited once either way
    os.symlink(root / "b" / "y.md", root / "z-link.md")
    y = (root / "b" / "y.md").resolve()
    assert list(iter_files([root], dedupe=False)) == [(root / "a" / "x.md").resolve(), y, y]
    assert list(iter_files([root])) == [(root / "a" / "x.md").resolve(), y]


def test_symlinks_out_of_the_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _tree(outside, ["o.md", "deep/p.md"])
    root = tmp_path / "root"
    _tree(root, ["r.md", "sub/s.md"])
    os.symlink(outside, root / "linked")  # folder out of the root
    os.symlink(outside / "o.md", root / "file-link.md")  # file out of the root
    os.symlink("../../outside/deep", root / "sub" / "relative")  # relative link out of the root
    os.symlink(root / "sub", root / "inside")  # a link that stays inside is followed (folder seen once)
    os.symlink(root / "r.md", root / "sub" / "again.md")  # same file twice: once
    assert list(iter_files([root])) == [(root / "r.md").resolve(), (root / "sub" / "s.md").resolve()]
    # the folder itself, given as a root, is indexed
    assert list(iter_files([outside])) == [(outside / "deep" / "p.md").resolve(), (outside / "o.md").resolve()]


def test_symlinked_folder_inside_the_root_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(root, ["data/d.md"])
    os.symlink(root / "data", root / "alias")
    os.symlink("alias", root / "alias2")  # a chain of links inside the root
    assert list(iter_files([root])) == [(root / "data" / "d.md").resolve()]


def test_self_referencing_and_mutual_symlinks_end(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _tree(root, ["a.md"])
    os.symlink(root / "self", root / "self")  # ELOOP
    os.symlink(root / "m2", root / "m1")
    os.symlink(root / "m1", root / "m2")
    os.symlink(root, root / "up")  # the root itself
    assert list(iter_files([root])) == [(root / "a.md").resolve()]


def test_unreadable_folder_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, ["ok.md", "locked/no.md"])
    real_scandir = os.scandir

    def scandir(path: str) -> Any:
        if Path(path).name == "locked":  # as for a folder without read permission (tests may run as root)
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors: list[tuple[str, str]] = []
    assert _rel(list(iter_files([tmp_path], on_error=lambda p, why: errors.append((p, why)))), tmp_path) == ["ok.md"]
    assert errors == [(str(tmp_path / "locked"), "cannot read folder: Permission denied")]
