drop table if exists ops.inbox;
