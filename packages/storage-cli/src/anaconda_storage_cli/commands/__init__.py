"""The commands of ``anaconda storage``, one module per group.

Each module exposes ``COMMANDS``: name → (function, examples for its ``--help``), which
``app.py`` registers.
"""
