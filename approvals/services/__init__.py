"""Business rules of approvals: requests, decisions, step-up, effects, notifications."""
