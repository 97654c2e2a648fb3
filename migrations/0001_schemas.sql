-- One schema per concern (docs/architecture.md, "Data ownership").
-- depends:

create schema if not exists core;
create schema if not exists trading;
create schema if not exists market;
create schema if not exists strategy;
create schema if not exists ops;
