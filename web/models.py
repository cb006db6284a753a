"""Import every model so Base.metadata (Alembic, create_all) sees all tables."""

from candor.metrics import CURVE_METRICS
from candor.statuses import ClipStatus, ConsentDecision, PlaybackEventKind, SessionStatus
from web.accounts.models import Invite, Membership, Organisation, Role, User
from web.accounts.tokens import ApiToken
from web.clips.models import (
    AdAggregate,
    AnalysisProvenance,
    Chunk,
    Clip,
    ClipEmotionSecond,
    ClipSecond,
    ConsentRecord,
    DeletionAudit,
    PanelSession,
    PlaybackEvent,
)
from web.reports.models import ReportLink
from web.studies.models import Ad, AdOrder, ConsentText, Integration, IntegrationKind, Study

__all__ = [
    "CURVE_METRICS",
    "Ad",
    "AdAggregate",
    "AdOrder",
    "AnalysisProvenance",
    "ApiToken",
    "Chunk",
    "Clip",
    "ClipEmotionSecond",
    "ClipSecond",
    "ClipStatus",
    "ConsentDecision",
    "ConsentRecord",
    "ConsentText",
    "DeletionAudit",
    "Integration",
    "IntegrationKind",
    "Invite",
    "Membership",
    "Organisation",
    "PanelSession",
    "PlaybackEvent",
    "PlaybackEventKind",
    "ReportLink",
    "Role",
    "SessionStatus",
    "Study",
    "User",
]
