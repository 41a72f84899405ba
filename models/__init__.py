"""SQLAlchemy records. Importing this package registers every table on Base.metadata."""

from .audit import AuditCheckpoint, AuditEvent, AuditHead, AuditPending, AuditTreeNode
from .auth import ApiToken, LoginThrottle, Role, User, UserSession, user_roles
from .base import Base, UTCDateTime
from .lot import Alarm, Bay, DispatchEstimate, Lot, QueueEntry, Release, Unloading, Zone
from .park import (
    Camera,
    Dock,
    Enterprise,
    EnterpriseMaterialScope,
    Gate,
    Lane,
    Park,
    Plant,
    VendorRejection,
    enterprise_carriers,
)
from .passage import Passage, PassageImage, PassageRead, PassageReason, Presence
from .registry import (
    BlacklistEntry,
    Carrier,
    FixedRegistration,
    Material,
    Person,
    Qualification,
    Vehicle,
)
from .trip import CargoLine, Trip

__all__ = [
    "Alarm",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuditPending",
    "AuditTreeNode",
    "Base",
    "Bay",
    "BlacklistEntry",
    "Camera",
    "CargoLine",
    "Carrier",
    "DispatchEstimate",
    "Dock",
    "Enterprise",
    "EnterpriseMaterialScope",
    "FixedRegistration",
    "Gate",
    "Lane",
    "LoginThrottle",
    "Lot",
    "Material",
    "Park",
    "Passage",
    "PassageImage",
    "PassageRead",
    "PassageReason",
    "Person",
    "Plant",
    "Presence",
    "Qualification",
    "QueueEntry",
    "Release",
    "Role",
    "Trip",
    "UTCDateTime",
    "Unloading",
    "User",
    "UserSession",
    "Vehicle",
    "VendorRejection",
    "Zone",
    "enterprise_carriers",
    "user_roles",
]
