"""Shapes of what the accounts API and forms accept and return."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from web.accounts.models import Role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MIN_PASSWORD_LENGTH = 10


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("enter an email address like name@example.org")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=1000)
]  # long passphrases welcome; argon2 takes any length


class SignupIn(BaseModel):
    email: Email
    name: Name
    password: Password
    organisation_name: Name


class LoginIn(BaseModel):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class NewAccountIn(BaseModel):
    """A new user accepting an invitation."""

    email: Email
    name: Name
    password: Password


class OrganisationIn(BaseModel):
    name: Name


class InviteIn(BaseModel):
    role: Role = Role.DESIGNER
    # Optional: when given, only this address may accept.
    email: Email | None = None
    expires_in_days: int = Field(default=7, ge=1, le=30)


class InviteAcceptIn(BaseModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class InviteAcceptNewIn(NewAccountIn):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RoleChangeIn(BaseModel):
    role: Role


class OrganisationOut(BaseModel):
    id: int
    name: str
    role: Role


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    organisations: list[OrganisationOut]
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on unsafe requests")


class CsrfOut(BaseModel):
    csrf_token: str


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    membership_id: int
    user_id: int
    email: str
    name: str
    role: Role
    joined_at: datetime


class InviteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: Role
    email: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class InviteCreatedOut(InviteOut):
    token: str = Field(description="Shown once; only its hash is stored")
    url: str
