-- Rows leave the log, their views stay counted. The access total is every view
-- ever logged: the rows in access_log plus the rows pruned from it, which this
-- one-row table counts. Pruning never changes the total. (A table of its own,
-- not a column of access_totals: a prune then never holds the row every page
-- view's transaction raises, and views do not wait for it.)
CREATE TABLE access_log_pruned (
    id   smallint PRIMARY KEY CHECK (id = 1),
    rows bigint NOT NULL CHECK (rows >= 0)
);

INSERT INTO access_log_pruned (id, rows) VALUES (1, 0);

-- Whatever deletes rows from the log (`tally prune`, or an operator's own
-- DELETE) counts them as pruned in the same transaction.
CREATE FUNCTION access_log_pruned() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    deleted bigint := (SELECT count(*) FROM gone);
BEGIN
    IF deleted > 0 THEN
        UPDATE access_log_pruned SET rows = rows + deleted WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_deleted_rows_as_pruned
    AFTER DELETE ON access_log
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT
    EXECUTE FUNCTION access_log_pruned();

-- Emptying the log with TRUNCATE still starts the count again from nothing.
CREATE OR REPLACE FUNCTION access_log_emptied() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE access_totals SET total = 0 WHERE id = 1;
    UPDATE access_log_pruned SET rows = 0 WHERE id = 1;
    RETURN NULL;
END
$$;
