"""The schema is defined once, as Core tables (daemon/store/tables.py); the ORM classes of daemon/store/models.py
are mapped onto them. A class annotation without a column (or a column the class does not name) would be
silently unmapped or untyped: each class names exactly its table's columns."""

from __future__ import annotations

from daemon.store import models, tables


def test_every_table_is_mapped_once_and_every_class_names_exactly_its_columns() -> None:
    mapped = {m.local_table.name: m.class_ for m in models.Base.registry.mappers}
    assert sorted(mapped) == sorted(tables.metadata.tables), "a table without its ORM class, or the reverse"
    assert models.Base.metadata is tables.metadata  # migrations are generated from the tables
    for name, cls in mapped.items():
        columns = set(tables.metadata.tables[name].c.keys())
        annotated = {k for k, v in cls.__annotations__.items() if v.startswith("Mapped[")}
        assert annotated == columns, (cls.__name__, sorted(annotated ^ columns))


def test_nullable_columns_are_optional_in_their_class() -> None:
    for m in models.Base.registry.mappers:
        for column in m.local_table.c:
            # The annotations are strings (`from __future__ import annotations`): "Mapped[date | None]".
            optional = m.class_.__annotations__[column.key].replace(" ", "").endswith("|None]")
            assert optional == (column.nullable and not column.primary_key), (m.class_.__name__, column.key)
