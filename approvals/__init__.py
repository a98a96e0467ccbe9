"""Elevated multi-party approvals: quorum policies, separation of duties, step-up, signed decisions."""
