"""Instructor-side tools around nbgrader (never imported by a student notebook)."""
