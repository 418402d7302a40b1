"""ORM models; importing this package registers every table on ``Base.metadata``."""

from app.models.audit import AuditEvent, AuditHead
from app.models.base import Base
from app.models.staff import ApiToken, Role, StaffUser
from app.models.throttle import LoginFailure

__all__ = ["ApiToken", "AuditEvent", "AuditHead", "Base", "LoginFailure", "Role", "StaffUser"]
