"""Offline sync for the mobile app (DESIGN.md section 5, docs/sync.md).

- `log`: writes the change log (`recovery.models.SyncChange`), one row per change, in the writing
  transaction; `capture` connects the model signals that call it (RecoveryConfig.ready()).
- `cursor`: opaque pull cursors and the snapshot horizon they stand for.
- `pull`: what changed for a user since a cursor (or everything, without one), rendered as now.
- `push`: a batch of records created in one transaction, with a result per record.
"""
