-- The access log: one row per page view, kept for good.
CREATE TABLE access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    accessed_at timestamptz NOT NULL DEFAULT now(),
    path        text NOT NULL,
    user_agent  text NOT NULL
);

-- The number of rows in access_log, raised in the same statement that inserts
-- them, so a page view reads its total in O(1) instead of counting the log.
CREATE TABLE access_totals (
    id    smallint PRIMARY KEY CHECK (id = 1),
    total bigint NOT NULL CHECK (total >= 0)
);

INSERT INTO access_totals (id, total) VALUES (1, 0);
