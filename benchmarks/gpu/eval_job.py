"""``evorec eval`` without the rest of the CLI: for hosts that have the training stack but not the serving
stack (a lent GPU machine whose image lacks openai, chromadb, fastapi ...). Same options, same run folders.

    python benchmarks/gpu/eval_job.py --dataset ml-100k --models sasrec_ce,forecaster --seed 0
"""

from __future__ import annotations

import sys

import typer

from evorec.errors import EvorecError
from evorec.serving.cli.commands import eval as eval_command


def main() -> None:
    app = typer.Typer(add_completion=False)
    eval_command.register(app)
    args = sys.argv[1:]
    sys.argv = [sys.argv[0], "eval", *args]  # the report's repeat line then reads `evorec eval ...`
    try:
        app(args=args, standalone_mode=False)
    except EvorecError as e:  # the CLI's one-line errors
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
