-- Responses to creates sent with an Idempotency-Key, so a client's retry answers exactly as the first time.
-- Keys are per caller: two clients cannot collide or read each other's responses.
CREATE TABLE idempotency_keys (
    actor_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    location TEXT,
    etag TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, idempotency_key)
);
