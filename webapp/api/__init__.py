"""REST plumbing shared by every app: authentication, the error handler, health and identity views."""
