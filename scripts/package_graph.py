"""Print gpuledger's package graph (who imports whom) as Markdown, from the code itself.

``make graph`` runs this and writes the result between the markers of
docs/architecture.md, so the picture there is never drawn by hand. The graph is
built by grimp (the library behind import-linter) and collapsed to the top-level
rooms of the package (``gpuledger.ledger``, ``gpuledger.cli``...).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import grimp

BEGIN = "<!-- package-graph:begin -->"
END = "<!-- package-graph:end -->"


def rooms_graph(package: str) -> dict[str, set[str]]:
    """Room -> the rooms it imports (a room is a top-level module or subpackage)."""
    graph = grimp.build_graph(package)
    prefix = package + "."

    def room(module: str) -> str:
        return module[len(prefix) :].split(".", 1)[0] if module.startswith(prefix) else module

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith(prefix):
            continue
        src = room(module)
        edges.setdefault(src, set())
        for imported in graph.find_modules_directly_imported_by(module):
            dst = room(imported)
            if imported.startswith(prefix) and dst != src:
                edges[src].add(dst)
    return edges


def markdown(edges: dict[str, set[str]]) -> str:
    """A Mermaid flowchart and a plain list of the same arrows."""
    lines = ["```mermaid", "flowchart TD"]
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            lines.append(f"  {src} --> {dst}")
    lines += ["```", "", "| room | imports |", "|---|---|"]
    for src in sorted(edges):
        lines.append(f"| `{src}` | {', '.join(f'`{d}`' for d in sorted(edges[src])) or '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the graph, or write it into a Markdown file between the markers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="Markdown file to update between the markers")
    args = parser.parse_args(argv)
    text = markdown(rooms_graph("gpuledger"))
    if args.write is None:
        print(text)
        return 0
    doc = args.write.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        print(f"{args.write}: markers {BEGIN} ... {END} not found", file=sys.stderr)
        return 2
    args.write.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
