"""The names of the actions that need an approval (pure constants: workflows import them too)."""

CONFIRM_COMPROMISE = "confirm_compromise"
RESTORE_FALSE_POSITIVE = "restore_false_positive"
ENCRYPTION_EXCEPTION = "encryption_exception"
COMPROMISED_KEY_DECRYPT_ACCESS = "compromised_key_decrypt_access"
REGULATORY_FILING_SIGNOFF = "regulatory_filing_signoff"
KEY_DESTRUCTION = "key_destruction"
CLOSE_INCIDENT = "close_incident"
