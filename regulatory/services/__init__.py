"""Regulatory services: the catalogue, assessments of incidents, filings."""
