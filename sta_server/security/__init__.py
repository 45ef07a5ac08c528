"""Authentication, authorisation by role and grants, the audit trail, the broker's user files."""
