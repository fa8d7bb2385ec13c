"""Experiments built from several trainings: single-task baselines (Δm) and the relatedness study."""
