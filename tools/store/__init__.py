"""The history store: Chroma collections of items and per-user events, embedded with the bundled MiniLM."""
