"""Sign-in with the organisation's identity provider (OpenID Connect, authorization code flow + PKCE).

``config`` reads the environment; ``backend`` verifies the ID token (mozilla-django-oidc does the
protocol); ``webapp.services.oidc_accounts`` decides who the person is and which roles they hold;
``views`` are the thin start, callback and refusal pages."""
