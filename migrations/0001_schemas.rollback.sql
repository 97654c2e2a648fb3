-- Only drops schemas that are empty.
drop schema if exists ops;
drop schema if exists strategy;
drop schema if exists market;
drop schema if exists trading;
drop schema if exists core;
