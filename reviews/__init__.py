"""Expert pool, conflicts, assignment, review rounds and the committee (see the review issue)."""
