"""No IP address is stored or logged, and the schema has nowhere to put one."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, inspect, text
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from web.db import Base

PANELIST_IP = "203.0.113.77"


def test_no_column_is_meant_for_an_address() -> None:
    for table in Base.metadata.tables.values():
        for column in table.columns:
            words = set(column.name.lower().split("_"))
            assert not words & {"ip", "addr", "address", "remote", "agent"}, (
                f"{table.name}.{column.name}"
            )


def test_a_whole_panelist_flow_leaves_no_ip_address_in_the_database_or_logs(
    client: TestClient, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    client.headers.update({"X-Forwarded-For": PANELIST_IP, "X-Real-IP": PANELIST_IP})
    started = panel.start(client, integration, passthrough={"age": "18-24"})
    panel.consent(client, started)
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, [b"chunk zero", b"chunk one"])
    client.post(
        f"{panel.API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    client.post(
        f"{panel.API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )

    bind = db_session.get_bind()
    for table in inspect(bind).get_table_names():
        for column in inspect(bind).get_columns(table):
            if not isinstance(column["type"], String | Text | JSON):
                continue
            name = column["name"]
            for needle in (PANELIST_IP, "testclient"):
                hits = db_session.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE CAST("{name}" AS TEXT) LIKE :v'),
                    {"v": f"%{needle}%"},
                ).scalar_one()
                assert hits == 0, f"{needle} stored in {table}.{column['name']}"
    assert PANELIST_IP not in caplog.text and "testclient" not in caplog.text
