"""Training side of the task models (torch). Never imported by the live analysis path."""
