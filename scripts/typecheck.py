"""Run mypy over the ``evorec.*`` packages or modules named on the command line (``agent tools evals.x``).

setup.py maps top-level folders onto ``evorec.*`` and the editable install resolves them with an
import hook, which mypy cannot follow. This script lays out the same mapping as a tree of symlinks
(``build/typecheck/evorec/<folder> -> <repo>/<folder>``), points mypy at it (``mypy_path`` in
pyproject.toml) and checks the named packages; the rest of the repository is followed for types,
not reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREE = REPO / "build" / "typecheck" / "evorec"
TOP = ["agent", "tools", "prompts", "serving", "evals"]  # as in setup.py


def link_tree() -> None:
    TREE.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in (REPO / "evorec").iterdir() if p.suffix in (".py", ".typed") or p.is_dir()}
    wanted.update({t: REPO / t for t in TOP})
    for name, target in wanted.items():
        if name == "__pycache__":
            continue
        link = TREE / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


def main(argv: list[str]) -> int:
    folders = [a for a in argv if not a.startswith("-")] or ["agent", "tools"]
    known = TOP + [p.name for p in (REPO / "evorec").iterdir() if (p / "__init__.py").is_file()]
    unknown = [f for f in folders if f.split(".")[0] not in known]
    if unknown:
        print(f"typecheck: not an evorec package folder: {', '.join(unknown)}", file=sys.stderr)
        return 2
    link_tree()
    args = [a for a in argv if a.startswith("-")]
    for f in folders:  # a folder is checked as a package; "evals.toolbox_double" as one module
        args += ["-m" if "." in f else "-p", f"evorec.{f}"]
    return subprocess.call([sys.executable, "-m", "mypy", *args], cwd=REPO)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
