class BookError(Exception):
    """A refused event: names the field at fault and why, so callers can show it as-is."""

    def __init__(self, field: str, reason: str, *, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status

    def as_dict(self) -> dict:
        return {"field": self.field, "reason": self.reason}
