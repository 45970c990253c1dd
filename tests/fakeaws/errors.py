"""The one exception handlers raise to answer with an AWS error."""


class AwsError(Exception):
    """An AWS error response: code, message and (optionally) HTTP status.

    When status is None the wire layer picks the protocol's usual client-error
    status (400, or 404/403 for the S3 codes that AWS sends with those)."""

    def __init__(self, code, message="", status=None, sender=True, headers=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.headers = headers or {}

