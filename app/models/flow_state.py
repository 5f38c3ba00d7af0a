"""Short-lived state of a sign-in in progress, kept server-side (issue #16): the pending
second factor and the passkey challenge. The browser holds only an opaque handle in its
signed cookie; the row is found by the handle's SHA-256 digest, within its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class FlowState(TenantOwned, db.Model):
    """``kind`` is ``mfa_pending`` or ``webauthn``; ``data`` what that step needs."""

    __tablename__ = "flow_states"

    id: Mapped[str] = id_column("fls")
    handle_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)
