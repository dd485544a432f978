-- The classroom schema on SQLite. `IF NOT EXISTS` throughout: a database created before
-- migrations existed (same tables) adopts this migration as it is.

CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('student', 'instructor')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- Logins look emails up by `lower(email)`, as on PostgreSQL.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower ON users (lower(email));

CREATE TABLE IF NOT EXISTS refresh_tokens (
    jti            TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family         TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT CHECK (revoked_reason IN ('rotated', 'logout', 'reuse'))
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family);

CREATE TABLE IF NOT EXISTS lectures (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    instructor_id INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE IF NOT EXISTS enrollments (
    lecture_id INTEGER NOT NULL REFERENCES lectures (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (lecture_id, user_id)
);

-- A lecture with sessions cannot be deleted: the history of its sessions stays. (NO ACTION,
-- not RESTRICT: SQLite reports RESTRICT as a trigger failure, NO ACTION as a foreign key one.)
CREATE TABLE IF NOT EXISTS sessions (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    lecture_id   INTEGER NOT NULL REFERENCES lectures (id),
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'IN_PROGRESS', 'ENDED')),
    current_step INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    started_at   TEXT,
    ended_at     TEXT
);

CREATE TABLE IF NOT EXISTS participants (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    joined_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (session_id, device_id)
);

CREATE TABLE IF NOT EXISTS completions (
    session_id     INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    completed_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (session_id, step, participant_id)
);

CREATE TABLE IF NOT EXISTS images (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
