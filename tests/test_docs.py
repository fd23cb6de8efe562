"""The docs tell the truth about this repository: they cite the contract in
docs/design.md (not a file outside the repository), their links stay inside it,
every `manage.py <command>` they name exists unless docs/design.md marks it as
not built yet, and the sample CSVs have the columns the models have."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands

from transactions.models import LEDGER_COLUMNS, SETTLEMENT_COLUMNS

ROOT = Path(settings.BASE_DIR).resolve()
DOCS = ROOT / "docs"
DESIGN = DOCS / "design.md"
NOT_BUILT = "not built yet"

# Written in pieces so that this file does not match itself.
OUTSIDE_REFERENCES = [
    (re.compile("DESIGN" + r"\.md"), "cites the old contract file instead of docs/design.md"),
    (re.compile(r"\.\./" + "shared" + r"\b"), "points outside the repository"),
    (re.compile(r"/work/" + "shared" + r"\b"), "points outside the repository"),
]
MANAGE_COMMAND = re.compile(r"manage\.py\s+([a-z_][a-z0-9_]*)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
SKIPPED_DIRS = {".git", ".venv", "var", "staticfiles", "node_modules", "__pycache__", ".pytest_cache", ".hypothesis",
                "mutants"}


def tracked_files() -> list[Path]:
    """The files git tracks here; every file under the root outside local state when git cannot say."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
        names = [name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        names = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
                 if path.is_file() and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # binary (compiled catalogue, images)
    return data.decode("utf-8", errors="replace")


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def commands_marked_not_built() -> set[str]:
    """The commands of docs/design.md's tables whose row (command first, status
    last) says "not built yet"."""
    marked = set()
    for line in DESIGN.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and len(cells) > 1 and NOT_BUILT in cells[-1]:
            marked.update(MANAGE_COMMAND.findall(cells[0]))
    return marked


def test_the_listing_of_tracked_files_sees_the_docs():
    files = set(tracked_files())
    assert ROOT / "README.md" in files and ROOT / "docs" / "architecture.md" in files


def test_no_tracked_file_cites_a_contract_or_path_outside_the_repository():
    problems = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern, why in OUTSIDE_REFERENCES:
                if pattern.search(line):
                    problems.append(f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()[:120]}")
    assert not problems, "\n".join(problems)


def test_relative_links_in_markdown_lead_to_files_inside_the_repository():
    problems = []
    for page in [p for p in tracked_files() if p.suffix == ".md"]:
        for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            resolved = (page.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT):
                problems.append(f"{page.relative_to(ROOT)}: {target} is outside the repository")
            elif not resolved.exists():
                problems.append(f"{page.relative_to(ROOT)}: {target} does not exist")
    assert not problems, "\n".join(problems)


def test_every_manage_py_command_in_the_docs_exists_unless_marked_not_built_yet():
    commands = set(get_commands())
    planned = commands_marked_not_built()
    named = {(page.name, name) for page in doc_pages() for name in MANAGE_COMMAND.findall(page.read_text(encoding="utf-8"))}
    assert named, "the docs name no manage.py command: the pattern is broken"
    missing = sorted((page, name) for page, name in named if name not in commands and name not in planned)
    assert not missing, f"named in the docs but neither a command nor marked '{NOT_BUILT}' in docs/design.md: {missing}"


def test_a_command_marked_not_built_yet_is_really_missing():
    built = commands_marked_not_built() & set(get_commands())
    assert not built, f"{built} exist now: update their status in docs/design.md ('Commands')"


def test_the_sample_files_and_the_design_have_the_models_columns():
    design = DESIGN.read_text(encoding="utf-8")
    for sample, columns in (("ledger.csv", LEDGER_COLUMNS), ("settlement.csv", SETTLEMENT_COLUMNS)):
        header = ",".join(columns)
        lines = (DOCS / "samples" / sample).read_text(encoding="utf-8").splitlines()
        assert lines[0] == header, sample
        assert len(lines) > 1 and all(line.count(",") == len(columns) - 1 for line in lines), sample
        assert f"\n{header}\n" in design, f"docs/design.md does not show the {sample} header"
