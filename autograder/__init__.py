"""llmkit: a graded course kit on large language models, and its sandboxed autograder."""

__version__ = "0.1.0"
