"""`python -m pipelines board-pack`: scheduled board packs (dashboard.exports.boardpack)."""
