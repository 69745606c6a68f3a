"""Review: a person reads, accepts, rejects and edits examples, and ``prepare`` honours it.

:class:`Review` is the review file (:mod:`ftprep.review.store`); ``check --review`` and
``prepare --review`` apply it (:mod:`ftprep.review.data`); ``ftprep review`` serves the
page that writes it (:mod:`ftprep.review.server`).
"""

from ftprep.review.store import REASONS, Decision, Review, ReviewConflict, ReviewError

__all__ = ["REASONS", "Decision", "Review", "ReviewConflict", "ReviewError"]
