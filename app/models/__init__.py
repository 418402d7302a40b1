"""ORM models; importing this package registers every table on ``Base.metadata``."""

from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.audit import AuditEvent, AuditHead
from app.models.bank import BankImport, BankSection, ItemVersion, MediaBlob
from app.models.base import Base
from app.models.calibration import Calibration, CalibrationItem
from app.models.exam import ExamPoolItem, ExamVersion
from app.models.integrity import IntegrityDecision, ItemViewBatch, RosterDetail
from app.models.practice import PracticeAttempt, PracticeSitting
from app.models.result import KeyCorrection, RankingSnapshot, Result
from app.models.sitting import Registration, Sitting, SittingProctor
from app.models.staff import ApiToken, Role, StaffUser
from app.models.throttle import LoginFailure

__all__ = [
    "ApiToken",
    "Attempt",
    "AuditEvent",
    "AuditHead",
    "BankImport",
    "BankSection",
    "Base",
    "Calibration",
    "CalibrationItem",
    "ExamPoolItem",
    "ExamVersion",
    "IntegrityDecision",
    "ItemVersion",
    "ItemViewBatch",
    "KeyCorrection",
    "LoginFailure",
    "MediaBlob",
    "PracticeAttempt",
    "PracticeSitting",
    "RankingSnapshot",
    "Registration",
    "Response",
    "ResponseEvent",
    "Result",
    "Role",
    "RosterDetail",
    "Sitting",
    "SittingProctor",
    "StaffUser",
]
