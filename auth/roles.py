"""The roles of DESIGN §7."""

from __future__ import annotations

from enum import StrEnum

from kernel.errors import N_


class Role(StrEnum):
    ADMIN = "admin"
    GATE_OPERATOR = "gate_operator"
    DISPATCHER = "dispatcher"
    ENTERPRISE = "enterprise_logistics"  # sees only its own enterprise
    PLANT_RECEIVER = "plant_receiver"
    AUDITOR = "auditor"  # read-only
    DEVICE = "device"  # one token per lane / gate agent


ROLE_LABELS = {
    Role.ADMIN: N_("Park administrator"),
    Role.GATE_OPERATOR: N_("Gate operator"),
    Role.DISPATCHER: N_("Lot dispatcher"),
    Role.ENTERPRISE: N_("Enterprise logistics"),
    Role.PLANT_RECEIVER: N_("Plant receiver"),
    Role.AUDITOR: N_("Auditor"),
    Role.DEVICE: N_("Device"),
}

# Roles whose view of the park is limited to their own enterprise.
ENTERPRISE_SCOPED = frozenset({Role.ENTERPRISE, Role.PLANT_RECEIVER})
