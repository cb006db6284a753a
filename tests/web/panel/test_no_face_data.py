"""No frames, thumbnails or face embeddings of panelists are stored: the schema has no place for
them, and what the pipeline stores per clip is per-second numbers only."""

from __future__ import annotations

from sqlalchemy import ARRAY, JSON, LargeBinary, PickleType

from candor.quality import SECOND_FLAGS
from web.clips.models import Clip, ClipEmotionSecond, ClipRestLevel, ClipSecond, PanelSession
from web.db import Base

# Tables that hold something about a panelist, and the only JSON columns they may have.
PANELIST_TABLES = {
    "panel_session",
    "consent_record",
    "clip",
    "chunk",
    "playback_event",
    "clip_second",
    "clip_emotion_second",
    "clip_rest_level",
    "deletion_audit",
}
ALLOWED_JSON = {("panel_session", "passthrough"), ("panel_session", "ad_order")}


def test_no_column_can_hold_an_image_or_a_vector() -> None:
    for table in Base.metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, LargeBinary | PickleType | ARRAY), (
                f"{table.name}.{column.name} could hold image bytes or an embedding"
            )


def test_panelist_tables_hold_no_free_form_structure_beyond_survey_variables() -> None:
    for name in PANELIST_TABLES:
        table = Base.metadata.tables[name]
        for column in table.columns:
            if isinstance(column.type, JSON):
                assert (name, column.name) in ALLOWED_JSON, f"{name}.{column.name} is JSON"


def test_per_second_curves_are_scalars() -> None:
    for model in (ClipSecond, ClipEmotionSecond):
        columns = {c.name: c for c in model.__table__.columns}
        if model is ClipSecond:
            # The one text column is a mark from a fixed vocabulary (candor.quality.SECOND_FLAGS),
            # too short to hold anything of a face.
            flag = columns.pop("flag")
            assert flag.type.python_type is str
            assert max(map(len, SECOND_FLAGS)) <= flag.type.length <= 10
        numeric = {name: c.type.python_type for name, c in columns.items()}
        assert set(numeric.values()) <= {int, float}, model.__tablename__
    # A rest level is one number per expression, named from the fixed list.
    rest = {c.name: c for c in ClipRestLevel.__table__.columns}
    assert rest.pop("metric").type.length <= 40
    assert {c.type.python_type for c in rest.values()} <= {int, float}
    # The clip row keeps quality figures and provenance, never landmarks or pixels.
    clip_columns = {c.name for c in Clip.__table__.columns}
    assert not clip_columns & {"landmarks", "mesh", "frames", "thumbnail", "embedding", "poster"}
    assert "respondent_id" not in {c.name for c in PanelSession.__table__.columns}
