"""Each module here adds its commands to the CLI by defining ``register(app: typer.Typer)``.

New command groups are new files; ``serving/cli/main.py`` never changes.
"""
