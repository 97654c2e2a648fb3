drop table if exists ops.log_deliveries;
drop table if exists ops.logs;
drop sequence if exists ops.logs_id_seq;
