"""Import every model so Base.metadata (Alembic, create_all) sees all tables."""

from web.accounts.models import Invite, Membership, Organisation, Role, User
from web.panel.models import (
    Chunk,
    Clip,
    ClipStatus,
    ConsentDecision,
    ConsentRecord,
    DeletionAudit,
    PanelSession,
    PlaybackEvent,
    PlaybackEventKind,
    SessionStatus,
)
from web.reports.models import ReportLink
from web.results.models import (
    CURVE_METRICS,
    AdAggregate,
    AnalysisProvenance,
    ClipEmotionSecond,
    ClipSecond,
)
from web.studies.models import Ad, AdOrder, ConsentText, Integration, IntegrationKind, Study

__all__ = [
    "CURVE_METRICS",
    "Ad",
    "AdAggregate",
    "AdOrder",
    "AnalysisProvenance",
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
