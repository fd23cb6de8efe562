"""Print the case workflow as a Mermaid diagram, or rewrite it in the docs.

    python manage.py workflow_diagram           # print it
    python manage.py workflow_diagram --write   # rewrite docs/architecture.md's block and docs/workflow.mmd
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from disputes.workflow.diagram import END_MARKER, START_MARKER, render_mermaid, replace_block

DOCS_DIR = Path(settings.BASE_DIR) / "docs"


class Command(BaseCommand):
    help = (
        "Print the case workflow (read off disputes.Case's state machine) as a Mermaid "
        f"stateDiagram-v2; with --write, rewrite the block between {START_MARKER} and "
        f"{END_MARKER} in docs/architecture.md and the file docs/workflow.mmd."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="Rewrite the docs instead of printing.")
        parser.add_argument(
            "--docs-dir", default=str(DOCS_DIR), help="Folder holding architecture.md (default: the project's docs/)."
        )

    def handle(self, *args, write: bool, docs_dir: str, **options) -> None:
        diagram = render_mermaid()
        if not write:
            self.stdout.write(diagram, ending="")
            return
        docs = Path(docs_dir)
        architecture = docs / "architecture.md"
        try:
            document = architecture.read_text(encoding="utf-8")
            updated = replace_block(document, diagram)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{architecture}: {exc}") from exc
        changed = []
        if updated != document:
            architecture.write_text(updated, encoding="utf-8")
            changed.append(architecture)
        mmd = docs / "workflow.mmd"
        if not mmd.exists() or mmd.read_text(encoding="utf-8") != diagram:
            mmd.write_text(diagram, encoding="utf-8")
            changed.append(mmd)
        if changed:
            self.stdout.write(self.style.SUCCESS("Rewrote " + ", ".join(str(p) for p in changed)))
        else:
            self.stdout.write("The workflow diagram is up to date.")
