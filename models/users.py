"""Users: one login, who may reach many panels."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import DEFAULT_LANGUAGE, LANGUAGES, UTCDateTime, db, utcnow


class User(db.Model):
    """A login: one person, who may reach many panels."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"language IN ({', '.join(map(repr, LANGUAGES))})", name="language"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness ignores case
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default=DEFAULT_LANGUAGE)
    is_staff: Mapped[bool] = mapped_column(default=False)
    #: bumped on logout, password or email change: every older session cookie stops working
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the user proved to read mail at ``email`` (a link from it); None until then
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def email_verified(self):
        return self.email_verified_at is not None

    # Flask-Login protocol: the session holds "<id>.<version>", so a bumped version logs out.
    is_active = True
    is_anonymous = False
    is_authenticated = True

    def get_id(self):
        return f"{self.id}.{self.session_version}"

    def __repr__(self):
        return f"<User {self.id} {self.email}>"
