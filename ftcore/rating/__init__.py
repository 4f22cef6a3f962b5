"""Blind A/B human rating: rubrics, sessions, assignment of items to raters, votes, export.

No torch and no gradio here: a rater-only server imports this package without loading a
model. Modules, from the rubric to the CSV:

- rubrics: rubric YAML files, validated with file, line and field in every error
- plan: SessionPlan, the settings of a session, each with its help text
- material: the texts a session copies, from an evaluation folder, a predictions file or gold pairs
- sessions: create, list, status, close, invite (admin side; may show model names)
- assignment: which item a rater sees next (quotas, reservations, repeats, sides)
- votes: checking and storing a vote
- service: the rater API (join, next_item, vote, session_view); never returns a model name
- export: votes.csv and session.json
- clock: the injectable clock and the timestamp format
- backup_folder, journal, replay, snapshots, durability: FTSTUDIO_BACKUP_DIR (a Space's
  bucket) gets every rating write journaled and periodic snapshots; a lost workspace
  database is restored from them
"""
