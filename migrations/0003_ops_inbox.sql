-- Applied-event inbox: a consumer records each event id it has applied in the same
-- transaction as the effect, so at-least-once delivery gives exactly-once effects.
-- depends: 0001_schemas

create table ops.inbox (
    consumer   text        not null,
    event_id   text        not null,
    applied_at timestamptz not null default now(),
    primary key (consumer, event_id)
);

-- Pruning old entries (older than the longest possible redelivery window) scans by time.
create index inbox_applied_at_idx on ops.inbox (applied_at);

comment on table ops.inbox is 'Event ids each consumer has applied; see tradeplane.inbox.claim';
