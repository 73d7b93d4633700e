-- The audit cross-check reads every record in (kind, id) order compared bytewise, whatever the
-- database's collation (railyard_store::Store::scan_records): this index serves that order.
CREATE INDEX records_kind_id_bytewise ON records (kind COLLATE "C", id COLLATE "C");
