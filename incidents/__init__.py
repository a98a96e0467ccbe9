"""Incidents: compromise signals in, incidents with their keys, timeline, and the commander's view."""
