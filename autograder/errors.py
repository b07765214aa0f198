"""Errors meant for the user of the kit.

A :class:`KitError` is printed by the command line as one line, ``llmkit: error: <message>``, never as a
traceback. Its message must therefore say what went wrong and, where it helps, where and how to fix it.
"""

from __future__ import annotations


class KitError(Exception):
    """An error the user can act on; the CLI prints its message on one line."""


class CourseError(KitError):
    """``course.yml`` is missing or invalid."""


class BuildError(KitError):
    """A reference file cannot be turned into a starter file."""


class SubmissionError(KitError):
    """A submission (folder, zip or notebook) cannot be staged."""
