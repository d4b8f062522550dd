"""The repository stands on its own: what a clone holds is all a reader needs.

A clone has no sibling directories and no access to the tracker the work was planned in, so no
tracked file may point at a path outside the repository, cite a tracker's issue or defect by
number, or link to a file (or a heading) the repository does not have. A public tracker outside
the project may be cited, by a link to the issue or in the form `<tracker> issue N`, for a tracker
named in EXTERNAL_TRACKERS.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()
# A relative path that climbs ("../"), read from the file it is written in: one that leaves the
# repository names something a clone does not have.
CLIMBING_PATH = re.compile(r"(?<![\w./])(?:\.\./)+[\w.-]+")
TRACKER_NUMBER = re.compile(r"\b(?:issues?|defects?)\s*(?:#|no\.?)?\s*\d+", re.IGNORECASE)
# Public trackers a file may cite an issue of, by name: "cloudformation-coverage-roadmap issue 2502"
# (AWS's public CloudFormation roadmap, github.com/aws-cloudformation/cloudformation-coverage-roadmap).
EXTERNAL_TRACKERS = ("cloudformation-coverage-roadmap",)
CITATION = re.compile(rf"(?:[\w.-]+/)?(?:{'|'.join(map(re.escape, EXTERNAL_TRACKERS))})\s+$")
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
EXTERNAL_LINK = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # https:, mailto:, ...


@cache
def tracked() -> tuple[str, ...]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return tuple(sorted(path for path in listed.split("\0") if path))


def text_of(path: str) -> str | None:
    try:
        return (ROOT / path).read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return None  # binary, or deleted in the work tree and not yet committed


def texts() -> dict[str, str]:
    found = {}
    for path in tracked():
        text = text_of(path)
        if path != THIS_FILE and text is not None:
            found[path] = text
    return found


def line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def leaves_the_repository(path: str, relative: str) -> bool:
    climbs = relative.count("../")
    return climbs > len(Path(path).parent.parts)


def test_no_file_points_outside_the_repository() -> None:
    found = [
        f"{path}:{line_of(text, match.start())}: {match[0]}"
        for path, text in texts().items()
        for match in CLIMBING_PATH.finditer(text)
        if leaves_the_repository(path, match[0])
    ]
    assert not found, "paths a clone does not have:\n" + "\n".join(found)


def test_a_path_that_climbs_out_is_found_and_one_that_stays_in_is_not() -> None:
    assert leaves_the_repository("README.md", "../notes")
    assert leaves_the_repository("docs/api.md", "../../notes")
    assert not leaves_the_repository("docs/api.md", "../README.md")


def test_no_file_cites_an_issue_or_defect_number() -> None:
    found = [
        f"{path}:{line_of(text, match.start())}: {match[0]}"
        for path, text in texts().items()
        for match in TRACKER_NUMBER.finditer(text)
        if not CITATION.search(text[max(0, match.start() - 100) : match.start()])
    ]
    assert not found, (
        "issue or defect numbers (say what the change is, or cite a public tracker of "
        "EXTERNAL_TRACKERS as '<tracker> issue N'):\n" + "\n".join(found)
    )


def test_the_citation_form_is_the_only_exception() -> None:
    def cited(text: str) -> bool:
        match = TRACKER_NUMBER.search(text)
        assert match is not None
        return bool(CITATION.search(text[: match.start()]))

    assert cited("(cloudformation-coverage-roadmap issue 2502)")
    assert cited("aws-cloudformation/cloudformation-coverage-roadmap issue 2502")
    assert not cited("each figure of issue 8")
    assert not cited("the race of Defect #4")
    assert not cited("another-roadmap issue 12")


# Links in the documentation ------------------------------------------------------------------


def without_code(markdown: str) -> str:
    """The text outside fenced blocks and code spans, where a `[x](y)` is a link."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", markdown)


def anchors(markdown: str) -> set[str]:
    """The ids GitHub gives a file's headings: lower case, punctuation dropped, spaces to '-',
    repeats numbered."""
    found: set[str] = set()
    outside_code = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    for heading in re.findall(r"^#{1,6} (.+)$", outside_code, flags=re.MULTILINE):
        anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        candidate, count = anchor, 0
        while candidate in found:
            count += 1
            candidate = f"{anchor}-{count}"
        found.add(candidate)
    return found


def test_every_link_of_the_documentation_is_to_a_file_it_has() -> None:
    files = set(tracked())
    directories = {parent.as_posix() for path in files for parent in Path(path).parents}
    broken = []
    for path, text in texts().items():
        if not path.endswith(".md"):
            continue
        for target in MARKDOWN_LINK.findall(without_code(text)):
            if EXTERNAL_LINK.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (ROOT / path).parent / file_part if file_part else ROOT / path
            try:
                relative = resolved.resolve().relative_to(ROOT).as_posix()
            except ValueError:
                broken.append(f"{path}: {target} (outside the repository)")
                continue
            if relative not in files and relative not in directories:
                broken.append(f"{path}: {target} (no such file)")
            elif anchor and relative.endswith(".md") and anchor not in anchors((ROOT / relative).read_text()):
                broken.append(f"{path}: {target} (no such heading)")
    assert not broken, "links to what the repository does not have:\n" + "\n".join(broken)
